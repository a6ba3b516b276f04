// chronicle::raft::group — one replica of one raft group (libraft 0.15 behind a narrow API).
//
// Contract (what the shard actor may rely on):
// - Single-threaded: every method and every callback runs on the owner's loop.
// - apply(index, entry) runs for each committed command in index order, exactly once per
//   incarnation; after a restart it runs again from the last snapshot, so it must be idempotent
//   (store the applied index with the applied data and skip index <= applied).
// - propose(entry, done): done(ok, index) only once the entry is committed by a majority and
//   applied here; otherwise done(not_leader | leadership_lost | shutdown | error, 0). A deposed
//   leader never reports ok for an entry it does not know is committed. leadership_lost and
//   shutdown mean "outcome unknown": the entry may still commit under the next leader.
// - on_leadership(leader, term): the leader this replica knows changed (0 = none known). For
//   this replica as leader it fires only after a barrier of its term is applied, i.e. when every
//   entry committed by earlier leaders is applied here: the moment to start serving.
// - take_snapshot() returns the state machine as bytes as of the last applied index, or a
//   reference to it (the shard's: its data tables are durable at or past that index once the
//   snapshot is stored, docs/replication.md "Snapshots"), which snapshot_to_send turns into the
//   bytes a lagging replica is sent; restore(bytes) replaces the state machine (a replica
//   catching up from a snapshot) and is a no-op for state this replica already has.
#pragma once

#include "storage/raft/c_raft.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/raft/io.hpp"
#include "storage/raft/log_store.hpp"

namespace chronicle::raft {

enum class status { ok, not_leader, leadership_lost, shutdown, error, not_yet };
const char* to_string(status s);

struct member {
  uint64_t id = 0;
  std::string address;
};

// A server of the group's current configuration (the last one appended, committed or not).
enum class role { voter, standby, spare };
struct config_member {
  uint64_t id = 0;
  std::string address;
  raft::role role = role::voter;
};

struct group_options {
  uint64_t id = 0;
  // The initial voters, used to bootstrap an empty store. Empty: a replica joining an existing
  // group (it waits, with no configuration, until the leader adds it and replicates to it).
  std::vector<member> members;
  unsigned election_timeout_ms = 1000;
  unsigned heartbeat_ms = 100;
  // A snapshot sent to a follower whose answer is lost is sent again after this long
  // (libraft's default, 30 s, stalls catch-up for that long when one message drops).
  unsigned install_snapshot_timeout_ms = 5000;
  unsigned snapshot_threshold = 1024;  // entries applied between two snapshots
  unsigned snapshot_trailing = 128;    // entries kept behind a snapshot for lagging followers
  // > 0: a bound on the bytes of entries libraft 0.15 keeps in memory (it counts only entries):
  // while snapshot_threshold + snapshot_trailing entries of the recent average size would hold
  // more, both are scaled down (to at least min_snapshot_threshold entries), see tune_snapshots.
  size_t snapshot_log_bytes = 0;
  // > 0: while the group has no snapshot yet, its first comes after this many applied entries
  // (when below snapshot_threshold). libraft sends a replica that joins empty (a new member, a
  // wiped node) a snapshot only when the leader has one; otherwise the whole log since the
  // group began, entry by entry. With a snapshot (a reference to the data: cheap) it gets the
  // data in chunks, then the log after it (docs/replication.md "Snapshots as table files").
  unsigned first_snapshot_entries = 0;
  bool pre_vote = true;
  bool hold_results = true;        // io guards, see io.hpp; off only to show the bugs they fix
  bool drop_stale_results = true;
  bool cap_results = true;
  bool prevote_term = true;        // io liveness guards, see io.hpp
  bool repair_progress = true;
  bool repair_configuration = true;  // group: a committed configuration is not "uncommitted"
  bool rollback_configuration = true;  // io: see io.hpp
  size_t max_append_bytes = 0;  // io: see io.hpp (0: libraft's whole tail per message)
};

struct state_machine {
  std::function<void(uint64_t index, std::string_view entry)> apply;
  std::function<std::string()> take_snapshot;
  // What a leader sends to a replica that needs a snapshot, given the stored one (the bytes
  // take_snapshot returned, or those a leader sent). Empty: the stored bytes. It may send the
  // state as of a later applied index than the snapshot's (restore must then skip the entries
  // up to that index when libraft applies them again); nullopt: not now.
  std::function<std::optional<std::string>(std::string_view stored)> snapshot_to_send;
  // The applied index of the state snapshot_to_send's bytes hold (0: unknown). Set: the snapshot
  // is sent under that index when safe (io::sent_snapshot_index), so the replica installing it
  // is sent only the entries after it.
  std::function<uint64_t(std::string_view sent)> sent_index;
  std::function<void(std::string_view bytes)> restore;
  // True: not now (libraft takes its next snapshot, and compacts its log, at a later apply).
  std::function<bool()> postpone_snapshot;
  std::function<void(uint64_t leader_id, uint64_t term)> on_leadership;
};

class group {
 public:
  using done_fn = std::function<void(status, uint64_t index)>;

  group(group_options options, log_store& store, transport& net, clock& time, state_machine sm);
  ~group();  // closes raft if still open (pending callbacks get shutdown)
  group(const group&) = delete;
  group& operator=(const group&) = delete;

  // Loads the store (bootstrapping it with options.members when empty) and starts raft.
  [[nodiscard]] status start();
  void propose(std::string entry, done_fn done);
  // Commits a no-op of the current term; done(ok, index) once everything before it is applied.
  void barrier(done_fn done);
  // Asks the leader to hand over to `to` (0: the most up-to-date follower). done(ok) once
  // another replica leads, else an error.
  void transfer_leadership(uint64_t to, std::function<void(status)> done);
  // Membership changes (leader only; one at a time: an error while another is in progress).
  // add: a new server as a spare (no votes, no log); promote: a spare becomes a standby (it
  // receives the log, no vote); a standby whose log has caught up with the leader's last index
  // becomes a voter; otherwise done(not_yet) and the caller asks again later. (libraft's own
  // catch-up rounds, raft_assign(VOTER) of a lagging server, crashed libraft 0.15 in the
  // simulation, seed 18540 of the wipe mode.) remove: out of the configuration.
  // done(ok) once the new configuration is committed.
  void add_member(uint64_t id, const std::string& address, std::function<void(status)> done);
  void promote(uint64_t id, std::function<void(status)> done);
  void remove_member(uint64_t id, std::function<void(status)> done);
  // The current configuration (empty before a joining replica received one).
  [[nodiscard]] std::vector<config_member> configuration() const;
  // A membership change is in progress (proposed and not yet committed, or a promotion still
  // catching the server up).
  [[nodiscard]] bool changing() const;

  // The leader `leader_id` is known to be gone (its node's connection dropped, e.g. a kill -9):
  // a follower that knows it as leader forgets it, so it grants another replica's (pre-)vote,
  // and starts an election after `campaign_in_ms` (when that is sooner than its election timer)
  // instead of waiting out the election timeout (1-2 s). Always safe: Raft's safety does not
  // depend on when elections start; a leader that is in fact alive keeps the followers that
  // still hear it (they refuse the pre-vote) and reaches this one again with its next append.
  // False when this replica is not a follower of `leader_id`.
  bool leader_gone(uint64_t leader_id, unsigned campaign_in_ms);
  // An encoded message from replica `from`, delivered by the transport's owner.
  void receive(uint64_t from, std::string_view bytes);

  bool is_leader() const;    // raft leader of the current term (may not serve yet)
  bool serving() const;      // leader and its term's barrier applied
  uint64_t leader_id() const;
  uint64_t term() const;
  uint64_t commit_index() const;
  uint64_t last_index() const;  // of the log, committed or not
  // Leader only: how many entries of its log member `id` lacks (last index - its match index);
  // nullopt when this replica does not lead or `id` is not in the configuration.
  std::optional<uint64_t> behind(uint64_t id) const;
  // Leader only: the most entries any other member of the configuration lacks (0 otherwise).
  uint64_t most_behind() const;
  // Elections this replica started: times it became a candidate (pre-vote rounds included).
  uint64_t campaigns() const { return campaigns_; }
  uint64_t applied_index() const;
  // Entries applied between two snapshots now (snapshot_threshold, or less under
  // snapshot_log_bytes).
  unsigned snapshot_threshold() const { return threshold_now_; }
  uint64_t id() const { return options_.id; }
  const io& raw_io() const { return io_; }
  struct raft* raw() { return raft_.get(); }

 private:
  friend struct group_callbacks;
  void after_event();
  void close_now();
  void note_applied(size_t entry_bytes);  // tune_snapshots every tune_every applies
  void tune_snapshots();

  group_options options_;
  state_machine sm_;
  io io_;
  raft_fsm fsm_{};
  std::unique_ptr<struct raft> raft_;
  bool started_ = false;
  bool closed_ = false;
  uint64_t seen_leader_ = 0, seen_term_ = 0;
  uint64_t serving_term_ = 0;   // term whose barrier applied while leader
  uint64_t repaired_configurations_ = 0;
  uint64_t campaigns_ = 0;
  bool was_candidate_ = false;
  uint64_t barrier_term_ = 0;   // term a leadership barrier was submitted in
  double entry_bytes_avg_ = 0;  // moving average of applied entries' sizes (snapshot_log_bytes)
  unsigned applies_since_tune_ = 0;
  unsigned threshold_now_ = 0, trailing_now_ = 0;
  bool first_snapshot_pending_ = false;  // first_snapshot_entries applies until one is taken
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace chronicle::raft
