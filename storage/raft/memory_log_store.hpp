// memory_log_store — a log_store in memory for the simulation, honest about durability.
//
// append / truncate / put_snapshot are queued in submission order and become durable one at a
// time when the owner (the simulator's "disk") calls complete_next(); only then does an
// operation's `done` callback run. crash() drops every operation not yet durable and never
// calls their callbacks, as a process crash would. set_term / set_vote / bootstrap are durable
// at once. The object outlives the replicas that use it: it is the replica's disk.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <variant>

#include "storage/raft/log_store.hpp"

namespace chronicle::raft {

class memory_log_store final : public log_store {
 public:
  // Fault to break durability on purpose (the simulation's self-test): an append is acknowledged
  // when complete_next() reaches it but only becomes durable at the following complete_next().
  bool ack_before_durable = false;
  // Called after each operation is queued (the simulator schedules a completion for it).
  std::function<void()> on_submit;

  loaded_state load() override;
  bool bootstrap(const stored_entry& first) override;
  bool set_term(uint64_t term) override;
  bool set_vote(uint64_t server_id) override;
  void append(uint64_t first_index, std::vector<stored_entry> entries, done_fn done) override;
  void truncate(uint64_t index) override;
  void put_snapshot(stored_snapshot snapshot, unsigned trailing, done_fn done) override;
  std::optional<stored_snapshot> get_snapshot() override;

  // Makes the oldest queued operation durable and runs its callback. False if none is queued.
  bool complete_next();
  void crash();
  size_t queued() const { return queue_.size(); }

  // The log as the running replica sees it: durable state with every queued operation applied.
  // Returns the entry at `index`, if that log holds one (not covered by the snapshot).
  std::optional<stored_entry> visible_entry(uint64_t index) const;
  uint64_t visible_last_index() const;
  uint64_t visible_snapshot_index() const;

 private:
  struct append_op { uint64_t first; std::vector<stored_entry> entries; done_fn done; };
  struct truncate_op { uint64_t index; };
  struct snapshot_op { stored_snapshot snapshot; unsigned trailing; done_fn done; };
  using op = std::variant<append_op, truncate_op, snapshot_op>;
  struct image {
    uint64_t term = 0, vote = 0, start = 1;
    std::optional<stored_snapshot> snapshot;
    std::deque<stored_entry> entries;
    void apply(const op& o);
  };

  image durable_;
  std::deque<op> queue_;
  std::deque<op> unsynced_;  // ack_before_durable only
};

}  // namespace chronicle::raft
