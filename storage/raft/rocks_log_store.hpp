// rocks_log_store — one shard's raft log_store on the node's RocksDB (column family `raft`, keys
// in storage/keys.hpp: shard | 't' term, 'v' vote, 'e' | index entries, 's' / 'd' snapshot).
//
// Contract (log_store's, plus):
// - Owner's loop only: every method is called from one thread at a time (the shard actor's),
//   and every completion (`done` of append and put_snapshot) runs there too: the store hands it
//   to `post`, which is called on the node's committer thread and must carry the callable to the
//   owner's loop without running it inline (the shard actor sends itself a message with it).
//   Completions are posted in submission order; `post` must keep that order (one actor's
//   mailbox from one sender does).
// - append, truncate and put_snapshot go through the node's group committer
//   (store::write_async): every shard of the node shares each fsync, and they are written in
//   submission order. append's and put_snapshot's `done(true)` are posted once the write is
//   durable (under durability::os: written to RocksDB's log, which survives a process crash
//   but not a power loss). Once one of these writes failed, every later one fails unwritten
//   (done(false)), so the log never has a gap.
// - set_term, set_vote and bootstrap write synced, whatever the durability mode, and return
//   only once durable (false on failure).
// - load reads everything back; a corrupt record, a gap in the entries or entries that do not
//   join the snapshot is an error in loaded_state::error, never a crash.
// - Several rocks_log_stores (one per shard) share one store; each touches only its shard's keys.
//   The store must outlive this object; posted completions that run after it is destroyed do
//   nothing but call `done` (io ignores those once closed).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "storage/raft/log_store.hpp"
#include "storage/store.hpp"

namespace chronicle::raft {

class rocks_log_store final : public log_store {
 public:
  using post_fn = std::function<void(std::function<void()>)>;

  // `db`: the node's store (outlives this); `shard`: whose raft state this is; `post`: hands a
  // callable to the owner's loop (called on the committer thread, thread-safe).
  rocks_log_store(storage::store& db, uint32_t shard, post_fn post);
  ~rocks_log_store() override;
  rocks_log_store(const rocks_log_store&) = delete;
  rocks_log_store& operator=(const rocks_log_store&) = delete;

  loaded_state load() override;
  bool bootstrap(const stored_entry& first) override;
  bool set_term(uint64_t term) override;
  bool set_vote(uint64_t server_id) override;
  void append(uint64_t first_index, std::vector<stored_entry> entries, done_fn done) override;
  void truncate(uint64_t index) override;
  void put_snapshot(stored_snapshot snapshot, unsigned trailing, done_fn done) override;
  std::optional<stored_snapshot> get_snapshot() override;
  // Seeds an empty store with `snapshot` as its only state (term snapshot.term, no vote, no
  // entries) and the shard's applied index at snapshot.index, in one synced write: a converted
  // single-copy shard, whose data is already in the data tables (shard_state_machine::reference
  // bytes in snapshot.data). Returns false, changing nothing, when any state exists already.
  bool seed(const stored_snapshot& snapshot);

  // The first error of a write or read (empty while none); a failed write fails the later ones.
  [[nodiscard]] const std::string& error() const { return error_; }
  uint32_t shard() const { return shard_; }

  // Encodings of the stored values (exposed for tests).
  static std::string encode_entry(const stored_entry& e);
  static bool decode_entry(std::string_view bytes, stored_entry* out);

 private:
  void submit(storage::write_batch batch, done_fn done);
  void fail(const std::string& msg);

  storage::store& db_;
  uint32_t shard_;
  post_fn post_;
  storage::committer_chain chain_ = std::make_shared<std::atomic<bool>>(false);
  // The log as submitted (durable or queued): entries [start_, last_]; empty when last_ < start_.
  uint64_t start_ = 1, last_ = 0;
  bool submitted_ = false;  // anything written or queued by this incarnation
  // The last snapshot submitted and not yet durable (get_snapshot returns it meanwhile).
  std::shared_ptr<const stored_snapshot> pending_snapshot_;
  std::string error_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace chronicle::raft
