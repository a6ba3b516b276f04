// batch_coalescer — many write_batches as one batch with the same effect on the store, in fewer
// operations: a follower replica applies a window of committed entries at once
// (docs/replication.md "Followers apply in windows"), and within a window most of a short run's
// records are written and then overwritten or removed again (its state rewritten per transition,
// its visibility record at start and close, timers and tasks put and deleted).
//
// Per key (table and key), in the order the batches were added:
//   - a put or a delete: the key's puts and merges since its last delete go (the new operation
//     overwrites or removes them); a delete right after a delete is not written twice;
//   - a merge after a merge: one merge of the sum (merges are run counters' i64 deltas, added by
//     the visibility table's merge operator: addition is associative, and a merge of 0 still
//     creates the key, as the two would);
//   - a SingleDelete right after a put: both go. A SingleDelete is only written for a key put
//     exactly once since it was last removed (keys::put_once_visibility_key), so that put is the
//     key's only value and nothing is left of either;
//   - anything else is kept, in order (e.g. a SingleDelete, then a put of the key again).
// Operations on different keys commute inside one RocksDB write, so the result keeps each key's
// operations in order and the keys in the order they first appeared. Replicas that apply the
// same entries in different windows end with the same data (their digests are equal).
// Not for range deletions (raft entries never carry one: write_batch::to_bytes refuses them).
#pragma once

#include <cstddef>
#include <memory>

#include "storage/store.hpp"

namespace chronicle::storage {

class batch_coalescer {
 public:
  batch_coalescer();
  ~batch_coalescer();
  batch_coalescer(const batch_coalescer&) = delete;
  batch_coalescer& operator=(const batch_coalescer&) = delete;

  // Adds a batch's operations after those added before. REQUIRES: no range deletion.
  void add(write_batch batch);
  // The net operations of everything added, as one batch (and the first serialization error of
  // the batches added, if any); the coalescer is empty again.
  write_batch take();
  [[nodiscard]] size_t ops_added() const;  // operations added since the last take
  [[nodiscard]] size_t ops_held() const;   // operations take would return now
  [[nodiscard]] bool empty() const { return ops_added() == 0; }

 private:
  struct state;
  std::unique_ptr<state> s_;
};

}  // namespace chronicle::storage
