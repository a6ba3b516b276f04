// The commit pipeline of one writer (one workflow execution): its writes go to a commit log
// (storage/commit_log.hpp) write-behind, numbered in submission order, and whoever waits for
// durability is told in order. No CAF here: the owner (the execution actor) feeds the log's
// completions back on its own thread, so the pipeline can be driven by a fake log in unit tests
// (tests/unit/actors/commit_pipeline_test.cpp), and replication puts consensus behind the log.
//
// Contract (what the owner may rely on):
// - Ordering: a waiter registered when writes 1..N were submitted is called only once every one
//   of 1..N is durable, even if the log reports N before N-1. Waiters are called in the order
//   they were registered.
// - Failure: once a write failed, every waiter still pending, and every waiter registered later,
//   is called with that error; a write the log reports durable after the failure acknowledges
//   nothing (the owner's memory is ahead of the disk and must be reloaded).
// - Exactly once: each waiter is called once. when_durable with nothing pending calls at once.
// - Not thread-safe: every call, on_committed included, comes from the owner's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "storage/commit_log.hpp"

namespace chronicle {

class commit_pipeline {
public:
  using waiter = std::function<void(const storage::status&)>;
  // Hands the log's completion of write `seq` back to the owner's thread, where the owner calls
  // on_committed(seq, st). Called on the log's thread.
  using post_fn = std::function<void(uint64_t seq, const storage::status& st)>;

  explicit commit_pipeline(storage::commit_log* log) : log_(log) {}

  // Queues `batch` (write-behind) and returns its sequence number; `post` brings its completion
  // back (see post_fn). After a failure the batch is not written and its completion is a failure.
  uint64_t submit(storage::write_batch batch, post_fn post);
  // The log's answer for write `seq` (on the owner's thread). Returns true iff this answer
  // failed the pipeline (its first failure): the owner then stops acknowledging anything and
  // reloads from durable state.
  bool on_committed(uint64_t seq, const storage::status& st);
  // Calls fn once every write submitted so far is durable (at once when none is pending), or
  // with the error once one failed.
  void when_durable(waiter fn);
  // Calls fn once write `seq` and every one before it are durable (or with the error).
  void after(uint64_t seq, waiter fn);
  // Fails the pipeline with `st` from outside (the writer stops: its log no longer accepts its
  // writes): every waiter pending is called with it, as on a failed write. No-op once failed.
  void abandon(const storage::status& st) {
    if (!failed()) fail(st);
  }

  [[nodiscard]] bool all_durable() const { return durable_seq_ == write_seq_; }
  [[nodiscard]] bool failed() const { return !failure_.ok(); }
  [[nodiscard]] const storage::status& failure() const { return failure_; }
  [[nodiscard]] uint64_t last_submitted() const { return write_seq_; }
  [[nodiscard]] uint64_t durable_through() const { return durable_seq_; }

private:
  void run_ready();
  void fail(const storage::status& st);

  storage::commit_log* log_;
  storage::committer_chain chain_ = std::make_shared<std::atomic<bool>>(false);
  uint64_t write_seq_ = 0;      // the last write submitted
  uint64_t durable_seq_ = 0;    // every write up to this one is durable
  std::set<uint64_t> early_;    // writes reported durable while an earlier one is not yet
  std::deque<std::pair<uint64_t, waiter>> waiters_;  // (write it waits for, fn), in order
  storage::status failure_;     // the first failure
};

}  // namespace chronicle
