// Where a writer's batches go to become durable: the interface the commit path is written
// against. One implementation today (the node's store: group commit, one fsync for every batch
// queued meanwhile); replication puts a shard's consensus group behind the same interface
// ("durable" then means "committed by a majority").
#pragma once

#include <functional>

#include "storage/store.hpp"

namespace chronicle::storage {

class commit_log {
public:
  virtual ~commit_log() = default;
  // Queues `batch` and returns at once. Contract:
  // - `done` is called exactly once, from any thread, after the batch is durable or failed; it
  //   must be short and thread-safe (e.g. enqueue a message to an actor).
  // - Batches of one chain become durable in submission order; once one of them failed, the
  //   chain's later batches fail without being written (no gap in a writer's history).
  virtual void submit(write_batch batch, std::function<void(const status&)> done,
                      committer_chain chain) = 0;
};

// The single-copy commit log: the node's store and its group committer (store::write_async).
class store_log final : public commit_log {
public:
  explicit store_log(store& s) : store_(s) {}
  void submit(write_batch batch, std::function<void(const status&)> done,
              committer_chain chain) override {
    store_.write_async(std::move(batch), std::move(done), std::move(chain));
  }

private:
  store& store_;
};

}  // namespace chronicle::storage
