// shard_state_machine — the raft state machine of one shard on the node's store: applying a
// committed entry writes its batch; a snapshot is the shard's key range in every data table.
//
// Contract:
// - Owner's loop only (the shard actor's), like group: no method is called concurrently.
// - apply(index, entry): the entry is a write_batch's bytes (write_batch::to_bytes) of this
//   shard. It is written together with the applied index in ONE unsynced RocksDB write: the raft
//   log is the durable copy, and RocksDB's log keeps writes in order, so after a crash the data
//   and the applied index are both as of the same entry. An index at or below the applied index
//   is skipped (libraft applies again from its last snapshot after a restart: a no-op). An empty
//   entry only advances the applied index. An error (corrupt bytes, another shard's keys, a
//   failed write) changes nothing and is fatal for this replica: stop its group, never apply a
//   later entry over a missing one.
// - stage(index, entry) + flush(): apply in two steps, for many entries in one write: stage
//   checks the entry and adds it to a pending batch (the applied index moves at once), flush
//   writes every staged entry and the applied index in one unsynced write (the same write apply
//   makes for one). Whoever stages must flush before anything relies on the data: the replica
//   flushes at the end of each message it handles and before acknowledging a staged write.
//   take_reference, take_snapshot, restore and digest flush first. A failed flush is fatal, as a
//   failed apply.
// - take_reference: what this replica stores as its snapshot when libraft takes one: only the
//   applied index (9 bytes), no copy of the data. It stands for the data tables themselves,
//   which are at or past that index and durable once the reference is stored: the log store
//   writes it synced, and a synced RocksDB write makes every earlier write durable too (one
//   WAL; the applies were written before it).
// - take_snapshot: what a leader sends for a reference (or any stored snapshot): the shard's
//   keys in every data table (history, executions, timers, transfers, visibility; not raft, not
//   meta: the owner mark is this node's, not the shard's) and the applied index, read at one
//   RocksDB snapshot — as of now, at or past the stored snapshot's index, which is fine: the
//   receiver skips the entries up to its applied index when libraft applies them again.
//   One buffer: chunking comes later.
// - restore(bytes): replaces the shard's data with the snapshot's and sets the applied index,
//   in one unsynced write (libraft stores the snapshot durably in the log store before it
//   restores). A snapshot whose applied index is at or below ours is a no-op: libraft restores
//   its last snapshot on every start, and our data is already at or past it. A reference ahead
//   of our data is an error (it cannot happen unless the disk lost synced writes).
// - digest(): FNV-1a 64 over every (table, key, value) of the shard's data in order, read at
//   one snapshot with the applied index: replicas at the same applied index have equal digests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace chronicle::raft {

struct shard_digest {
  uint64_t applied_index = 0;
  uint64_t digest = 0;  // FNV-1a 64 (see shard_state_machine.cpp for the exact bytes hashed)
  uint64_t keys = 0;
  uint64_t bytes = 0;   // keys + values
};

class shard_state_machine {
 public:
  // Reads the shard's applied index; nullptr with *st set when it cannot be read.
  static std::unique_ptr<shard_state_machine> open(storage::store& db, uint32_t shard,
                                                   storage::status* st);

  storage::status apply(uint64_t index, std::string_view entry);
  storage::status stage(uint64_t index, std::string_view entry);
  storage::status flush();
  [[nodiscard]] size_t staged() const { return staged_; }  // entries staged, not yet flushed
  [[nodiscard]] uint64_t applied_index() const { return applied_; }
  storage::status take_reference(std::string* out);
  storage::status take_snapshot(std::string* out);
  storage::status restore(std::string_view bytes);
  storage::status digest(shard_digest* out);
  uint32_t shard() const { return shard_; }

  // The applied index a snapshot's bytes carry (nullopt when the header is malformed).
  static std::optional<uint64_t> snapshot_applied_index(std::string_view bytes);
  // True for take_reference's bytes (they carry no data).
  static bool is_reference(std::string_view bytes);

 private:
  shard_state_machine(storage::store& db, uint32_t shard, uint64_t applied)
      : db_(db), shard_(shard), applied_(applied) {}

  storage::store& db_;
  uint32_t shard_;
  uint64_t applied_;
  storage::write_batch pending_;  // staged entries' writes (stage), written by flush
  size_t staged_ = 0;             // entries staged since the last flush
};

}  // namespace chronicle::raft
