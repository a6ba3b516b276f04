// Group commit for store::write_async. One thread takes every batch queued since its last write,
// writes them all with ONE RocksDB write (one fsync under durability fsync), then calls each
// batch's callback in submission order with the result. Transitions that arrive while a synced
// write is in flight therefore share the next sync instead of each paying for one.
//
// Contracts:
// - A callback is called exactly once, after its batch is durable (or failed), on the committer
//   thread: it must be short and thread-safe (e.g. enqueue a message to an actor).
// - A batch whose serialization failed is reported alone and never written; the others of the
//   group are unaffected. A failed RocksDB write fails the whole group (nothing of it was applied).
// - drain() waits until every batch submitted before it was written and its callback returned.
//   A process calls it once its actors have stopped and before the actor system goes (callbacks
//   enqueue messages: after the system is destroyed that is a call into a dead object).
// - The destructor writes everything still queued, then stops the thread. Destroying the
//   committer from inside one of its callbacks is allowed: queued batches then fail with
//   "store closed".
// - A chain (optional, shared by the batches of one writer, e.g. one workflow execution): once a
//   batch of the chain failed, the chain's later batches fail without being written, so that a
//   writer whose batches are queued one after another never gets a later batch applied after a
//   lost one (a gap in its history).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "storage/store.hpp"

namespace chronicle::storage {

class committer {
public:
  // Writes a group atomically (one WriteBatch); called on the committer thread only.
  using write_fn = std::function<status(std::vector<write_batch*>&)>;
  using done_fn = std::function<void(const status&)>;

  explicit committer(write_fn fn);
  ~committer();
  committer(const committer&) = delete;
  committer& operator=(const committer&) = delete;

  using chain = std::shared_ptr<std::atomic<bool>>;  // true: a batch of the chain failed

  void submit(write_batch batch, done_fn done, chain ch = nullptr);

  // Blocks until the batches submitted so far are done (callbacks returned). Never call it
  // from a callback (the committer thread would wait for itself).
  void drain();

private:
  struct shared;
  std::shared_ptr<shared> shared_;
};

}  // namespace chronicle::storage
