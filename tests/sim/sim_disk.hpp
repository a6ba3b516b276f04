// The simulation's disk of one replica: memory_log_store is the model (what is durable when,
// what a crash loses); with `rocks` on, every operation is also written to a real
// rocks_log_store at the moment the model makes it durable, raft loads its state from RocksDB
// after every crash (the database closed and reopened: nothing synced is lost), and every load
// and snapshot read is checked against the model. Any difference is a conformance failure.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "storage/raft/memory_log_store.hpp"
#include "storage/raft/rocks_log_store.hpp"
#include "storage/store.hpp"

namespace chronicle::sim {

class sim_disk final : public raft::log_store {
 public:
  // rocks_path empty: the model alone (memory_log_store).
  explicit sim_disk(std::string rocks_path, uint32_t shard = 0);
  ~sim_disk() override;

  raft::loaded_state load() override;
  bool bootstrap(const raft::stored_entry& first) override;
  bool set_term(uint64_t term) override;
  bool set_vote(uint64_t server_id) override;
  void append(uint64_t first_index, std::vector<raft::stored_entry> entries, done_fn done) override;
  void truncate(uint64_t index) override;
  void put_snapshot(raft::stored_snapshot snapshot, unsigned trailing, done_fn done) override;
  std::optional<raft::stored_snapshot> get_snapshot() override;

  // memory_log_store's simulator surface.
  bool complete_next();
  void crash();
  size_t queued() const { return model_.queued(); }
  std::optional<raft::stored_entry> visible_entry(uint64_t i) const { return model_.visible_entry(i); }
  uint64_t visible_last_index() const { return model_.visible_last_index(); }
  uint64_t visible_snapshot_index() const { return model_.visible_snapshot_index(); }
  void set_ack_before_durable(bool on) { model_.ack_before_durable = on; }
  void set_on_submit(std::function<void()> fn) { model_.on_submit = std::move(fn); }

  // The first difference between RocksDB and the model (empty: none).
  const std::string& mismatch() const { return mismatch_; }

 private:
  void open_rocks();
  // Runs a rocks_log_store operation whose completion is posted; waits for the completion.
  bool run_posted(const std::function<void(raft::log_store::done_fn)>& op);
  void differ(const std::string& what);

  raft::memory_log_store model_;
  std::string path_;
  uint32_t shard_;
  std::unique_ptr<storage::store> db_;
  std::unique_ptr<raft::rocks_log_store> rocks_;
  std::deque<std::function<void()>> rocks_ops_;  // one per queued model operation, in order
  struct posted;
  std::shared_ptr<posted> posted_;
  std::string mismatch_;
};

}  // namespace chronicle::sim
