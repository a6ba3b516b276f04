// chronicle::raft::io — libraft's struct raft_io over Chronicle's log_store, transport and clock.
//
// Contract:
// - No threads. Every callback into libraft (tick, receive, completion of append / send /
//   snapshot) runs from the owner's loop: log_store completions, clock::every and clock::defer,
//   and the owner calling receive(). After each one, `after_event` runs (group uses it to
//   notice leadership changes, which libraft 0.15 does not report).
// - An append is reported to raft only when log_store says it is durable; set_term/set_vote
//   are durable when they return (log_store's contract).
// - close() cancels every pending request (raft sees RAFT_CANCELED) and then calls raft's close
//   callback; nothing reaches raft after that.
// - Two guards against libraft 0.15 safety bugs (docs/replication.md, "Findings"), on by default:
//   hold_results: a leader ignores AppendEntries results until an entry of its own term is
//     durable in its log, so it never commits an older term's entry by counting replicas. The
//     last such result of each follower is kept and handled once that entry is durable (a
//     follower's log only grows within one leader's term, so what it said still holds): a new
//     leader's first heartbeat answers would otherwise be lost, and each follower would wait a
//     heartbeat interval (probe mode) for the next, 100-200 ms of every failover.
//   drop_stale_results: an AppendEntries/InstallSnapshot result produced when a write that was
//     started in an older term completes is not sent (its "last stored" would speak for entries
//     of a leader the new one does not know).
//   prevote_term (liveness): a pre-vote refused because this replica's term is higher is
//     answered with that term, not the request's (libraft 0.15 echoes the request's term, so a
//     candidate with the longer log never learns the higher term, and a replica with the higher
//     term but a shorter log can never win: with two voters left the group stays leaderless for
//     good; found by the simulation with wiped replicas, docs/replication.md "Liveness").
//   repair_progress (liveness): a leader whose progress for a follower has next <= match (libraft
//     0.15 after a probe rejection with a low hint) sends from match + 1 again; otherwise every
//     result is ignored as stale and the follower never catches up (simulation, same section).
//   rollback_configuration (crash): a follower about to truncate an uncommitted configuration
//     whose committed predecessor is no longer in its in-memory log (compacted by a snapshot)
//     gets that predecessor from a copy kept here: libraft 0.15 asserts the entry exists
//     (membershipRollback; upstream fixed it in 0.16 with a backup configuration). A snapshot
//     taken while a configuration is uncommitted records the committed one (0.15 copies the
//     uncommitted one under the committed index). Found by the 5-replica simulation with wipes.
//   cap_results: a follower's successful AppendEntries result claims at most the entries that
//     request verified (prev_log_index + n_entries), never its whole log: libraft answers with
//     its last stored index, and the leader takes that as matching even when the follower's
//     tail holds entries of an older term that differ from the leader's (lost acknowledged
//     entries in the simulation, docs/replication.md).
#pragma once

#include "storage/raft/c_raft.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/raft/log_store.hpp"

namespace chronicle::raft {

struct io_options {
  uint64_t id = 0;
  std::string address;
  bool hold_results = true;
  bool drop_stale_results = true;
  bool cap_results = true;
  bool prevote_term = true;
  bool repair_progress = true;
  bool rollback_configuration = true;
  // libraft 0.15 puts every entry from a follower's next index to the end of the log into one
  // AppendEntries, and in probe mode sends it again every heartbeat: megabytes per 100 ms for a
  // follower thousands of entries behind. Above `max_append_bytes` (0: no limit) only the
  // first entries are sent (at least one) and the follower's next index is moved back to
  // just after them; the rest goes with the next message.
  size_t max_append_bytes = 0;
};

struct io_stats {
  uint64_t held_results = 0;    // results ignored by hold_results
  uint64_t stale_results = 0;   // results not sent by drop_stale_results
  uint64_t capped_results = 0;  // results whose last index cap_results lowered
  uint64_t prevote_terms = 0;   // refused pre-votes answered with this replica's higher term
  uint64_t repaired_progress = 0;  // followers' next index raised above their match index
  uint64_t malformed = 0;       // received messages refused by the decoder
  uint64_t rolled_back = 0;     // uncommitted configurations rolled back from the kept copy
  uint64_t not_rolled_back = 0; // AppendEntries dropped: a rollback with no committed copy known
  uint64_t snapshot_configurations = 0;  // snapshots given the committed configuration
  uint64_t split_appends = 0;   // AppendEntries cut to max_append_bytes
  uint64_t reindexed_snapshots = 0;  // snapshots sent at their data's index (sent_snapshot_index)
};

class io {
 public:
  io(io_options options, log_store& store, transport& net, clock& time);
  ~io();
  io(const io&) = delete;
  io& operator=(const io&) = delete;

  // The struct to pass to raft_init. Valid as long as this object.
  raft_io* raw() { return &raw_; }
  // Lets the guards read the raft instance's role, term and last stored index.
  void attach(struct raft* r) { raft_ = r; }
  // Delivers an encoded message from replica `from` (owner's loop only).
  void receive(uint64_t from, std::string_view bytes);
  // Term of the entry at `index` in raft's in-memory log (0 if unknown).
  uint64_t term_at(uint64_t index) const;

  // Keeps a copy of the committed configuration (rollback_configuration); group calls it after
  // every event.
  void note_configuration();

  std::function<void()> after_event;
  // What a leader sends for the stored snapshot's data (snapshot_get): set by group from
  // state_machine::snapshot_to_send. Empty: the stored bytes; nullopt from it: the snapshot
  // cannot be sent now (libraft tries again later).
  std::function<std::optional<std::string>(std::string_view stored)> expand_snapshot;
  // The index of the state expand_snapshot's bytes hold (0: unknown). When it is past the stored
  // snapshot's, committed, in raft's log, and the committed configuration is known at or below
  // it, the snapshot is sent under that index, its term and that configuration: the replica
  // that installs it then needs the entries after it, not every entry after the stored
  // snapshot (whose data it already has). A refusal of it is passed to raft as a refusal of the
  // snapshot raft sent (raft only knows that one's index).
  std::function<uint64_t(std::string_view sent)> sent_snapshot_index;
  const io_stats& stats() const { return stats_; }

 private:
  friend struct io_callbacks;
  using cancel_fn = std::function<void(int status)>;

  uint64_t add_pending(cancel_fn fn);
  // Removes and returns the pending request `id` (empty when close() took it already).
  cancel_fn take_pending(uint64_t id);
  void defer(std::function<void()> fn);
  void mirror_append(uint64_t first_index, const raft_entry* entries, unsigned n);
  void mirror_truncate(uint64_t index);
  void mirror_snapshot(uint64_t index, uint64_t term, unsigned trailing);
  void done_event();
  // rollback_configuration: false when the AppendEntries must not reach raft.
  bool before_append_entries(const raft_append_entries& a);
  // max_append_bytes: the entries of `a` to send (<= a.n_entries).
  unsigned entries_to_send(const raft_append_entries& a);
  // Moves leaders' next index for followers back to what was really sent (clamp_next_).
  void apply_clamps();
  // sent_snapshot_index: moves `s` to the index of the data it carries when that is safe.
  void reindex_snapshot(stored_snapshot& s);
  void note_change_entries(uint64_t first_index, const raft_entry* entries, size_t n);

  io_options options_;
  log_store& store_;
  transport& net_;
  clock& clock_;
  raft_io raw_{};
  struct raft* raft_ = nullptr;
  raft_io_tick_cb tick_cb_ = nullptr;
  raft_io_recv_cb recv_cb_ = nullptr;
  bool closed_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  uint64_t next_pending_ = 1;
  std::map<uint64_t, cancel_fn> pending_;
  std::optional<uint64_t> completing_term_;
  std::optional<uint64_t> result_bound_;  // highest index the result being produced verified
  std::map<uint64_t, std::string> addresses_;
  // Terms of raft's in-memory log: snapshot (index, term), then entries from mirror_start_.
  uint64_t snap_index_ = 0, snap_term_ = 0, mirror_start_ = 1;
  std::map<uint64_t, uint64_t> reindexed_to_;  // follower -> index of the last snapshot sent it
  std::deque<uint64_t> mirror_;
  // RAFT_CHANGE entries' payloads by index (the newest few), and the committed configuration
  // (this file's encoding) with its index.
  std::map<uint64_t, std::string> change_entries_;
  std::map<uint64_t, uint64_t> clamp_next_;  // follower -> next index after a cut AppendEntries
  // hold_results: follower -> its last AppendEntries result held, and the term it was held in.
  std::map<uint64_t, std::pair<uint64_t, std::string>> held_;
  void release_held();
  std::string committed_conf_;
  uint64_t committed_conf_index_ = 0;
  io_stats stats_;
};

}  // namespace chronicle::raft
