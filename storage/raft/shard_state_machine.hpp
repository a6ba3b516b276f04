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
//   makes for one). The pending batch is a batch_coalescer: of a record written several times
//   in the staged entries only the net effect is written. Whoever stages must flush before
//   anything relies on the data: a leading replica flushes at the end of each message it handles
//   and before acknowledging a staged write, a follower once its window of staged entries is
//   full or old enough, and before it leads (actors/shard/replica.cpp). take_reference,
//   take_snapshot, restore, digest and open_stream flush first. A failed flush is fatal, as a
//   failed apply. Entries staged and not flushed when the process dies are applied again from
//   the log at the next start (the applied index written is that of the last flush).
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
//   One buffer (take_snapshot) or, as replicas send it, a stream read in chunks (below).
// - restore(bytes): replaces the shard's data with the snapshot's and sets the applied index,
//   in one unsynced write (libraft stores the snapshot durably in the log store before it
//   restores). A snapshot whose applied index is at or below ours is a no-op: libraft restores
//   its last snapshot on every start, and our data is already at or past it. A reference ahead
//   of our data is an error (it cannot happen unless the disk lost synced writes).
// - Streams (a snapshot sent in chunks, docs/replication.md "Snapshots in chunks"): a leader's
//   open_stream holds a RocksDB snapshot of the store and returns a token (17 bytes: the applied
//   index j the view is at, a random stream ID) that goes to the follower in libraft's
//   InstallSnapshot in place of the data. The follower pulls the data with read_stream (from
//   any replica holding the stream) and stages each chunk with stage_chunk: its entries go into
//   RocksDB table files of the stream's stage (store::stage_writer, one file per data table); the
//   last chunk closes them and writes the complete marker, synced. Only then is the
//   InstallSnapshot handed to libraft, which stores the token (synced) and restores it: restore
//   deletes the shard's keys, ingests the files into the data tables (linked, so the stage stays),
//   then writes the applied index (synced) and removes the stage. A crash in between leaves the
//   applied index below j and the stage in place: libraft restores the stored token at the next
//   start and the ingestion runs again from the start. A view unused for stream_idle_ms is
//   released (expire_streams).
// - digest(): FNV-1a 64 over every (table, key, value) of the shard's data in order, read at
//   one snapshot with the applied index: replicas at the same applied index have equal digests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "storage/batch_coalescer.hpp"
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
  [[nodiscard]] size_t staged_ops() const { return pending_.ops_added(); }  // of staged entries
  // Operations of the entries flushed so far, and what the flushes wrote of them
  // (batch_coalescer: a window's overwritten and removed records are not written).
  [[nodiscard]] uint64_t ops_staged() const { return ops_staged_; }
  [[nodiscard]] uint64_t ops_written() const { return ops_written_; }
  [[nodiscard]] uint64_t applied_index() const { return applied_; }
  storage::status take_reference(std::string* out);
  storage::status take_snapshot(std::string* out);
  storage::status restore(std::string_view bytes);
  storage::status digest(shard_digest* out);
  uint32_t shard() const { return shard_; }

  // Streams (see above). open_stream reuses a stream read or opened less than 10 s ago whose view
  // is at or past `at_least`.
  storage::status open_stream(uint64_t at_least, std::string* token);
  storage::status read_stream(uint64_t stream, uint32_t table_index, const std::string& after_key,
                              size_t max_bytes, pb::HandoffChunk* out);
  // The view of `stream`, marked used (null and `*st` set when it is not held): its chunks can
  // be read with the store's read_chunk on another thread (a RocksDB snapshot is thread-safe
  // and the view lives while it is referenced), so that a read does not hold up the replica.
  std::shared_ptr<const storage::store::read_view> stream_view(uint64_t stream,
                                                               storage::status* st);
  void expire_streams();
  [[nodiscard]] size_t streams() const { return streams_.size(); }
  // A stream was read (or opened) less than within_ms ago: a replica is pulling it.
  [[nodiscard]] bool stream_active(int64_t within_ms = 5000) const;
  struct stream_token {
    uint64_t applied_index = 0;
    uint64_t stream = 0;
  };
  static std::optional<stream_token> parse_token(std::string_view bytes);
  // A received chunk of `token`'s stream, staged (one unsynced write; the last one marks it
  // complete). The first chunk of a stream drops every other stream's stage but `keep`'s (the
  // token libraft stores, whose restore may still need it).
  storage::status stage_chunk(const stream_token& token, const pb::HandoffChunk& chunk, bool first,
                              uint64_t keep);
  // Drops what was staged of `stream` (a pull abandoned half way), or of every stream but `keep`
  // (0: all; a replica that pulls nothing: stages libraft refused or a crash left behind).
  storage::status drop_stage(uint64_t stream);
  storage::status drop_stages_except(uint64_t keep);
  // True when the stage of `token` is complete (every chunk written).
  bool stage_complete(const stream_token& token);

  // The applied index a snapshot's bytes carry (nullopt when the header is malformed).
  static std::optional<uint64_t> snapshot_applied_index(std::string_view bytes);
  // take_reference's bytes for the data at `applied_index` (a converted shard's seed).
  static std::string reference(uint64_t applied_index);
  // True for take_reference's bytes (they carry no data).
  static bool is_reference(std::string_view bytes);

 private:
  shard_state_machine(storage::store& db, uint32_t shard, uint64_t applied)
      : db_(db), shard_(shard), applied_(applied) {}

  storage::store& db_;
  uint32_t shard_;
  uint64_t applied_;
  storage::status restore_stage(const stream_token& token);
  storage::status restore_raft_stage(const stream_token& token);
  std::unique_ptr<storage::store::stage_writer> stage_;  // the stream being staged (stage_chunk)

  storage::batch_coalescer pending_;  // staged entries' writes (stage), written by flush
  uint64_t ops_staged_ = 0, ops_written_ = 0;  // operations of entries flushed / as written
  size_t staged_ = 0;             // entries staged since the last flush
  struct held_stream {
    std::shared_ptr<const storage::store::read_view> view;
    uint64_t applied_index = 0;
    int64_t used_ms = 0;
  };
  std::map<uint64_t, held_stream> streams_;  // streams this replica serves, by ID
};

}  // namespace chronicle::raft
