// One replica of a replicated shard (replication_factor > 1): the shard's Raft group
// (storage/raft/group.hpp) hosted by its shard actor, with the node's RocksDB as log store and
// state machine (storage/raft/rocks_log_store.hpp, shard_state_machine.hpp), CAF messages between
// node actors as transport, and the shard actor's mailbox as the group's loop. Its commit log is
// what the shard's executions write through: a batch is acknowledged once committed by a
// majority and applied here (docs/replication.md).
//
// Contract (what the shard actor may rely on):
// - Single-threaded: every method runs on the shard actor; completions from the committer
//   thread and the executions' submissions come back through the actor's mailbox
//   (run_posted, on propose_atom).
// - on_leadership(serving) is called whenever the leader this replica knows changes: serving is
//   true once this replica leads and its term's barrier is applied (every committed entry is in
//   the store: the moment to recover and serve), false otherwise. Entries proposed while not
//   serving fail with "not the leader".
// - A deposed leader never acknowledges: a write is answered ok only by the group's commit.
#pragma once

#include <caf/all.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "actors/node/node_env.hpp"
#include "storage/commit_log.hpp"

namespace chronicle {

namespace raft {
class group;
}  // namespace raft

class shard_replica {
public:
  shard_replica(caf::event_based_actor* self, env_ptr env, uint32_t shard,
                std::function<void(bool serving)> on_leadership);
  ~shard_replica();

  // Loads (or bootstraps) the group and starts it; false (logged) when the replica cannot run.
  bool start();
  // The commit log the shard's executions write through.
  std::shared_ptr<storage::commit_log> log() const { return log_; }

  // Messages of the shard actor's mailbox.
  void receive(uint64_t from, const std::string& bytes);  // raft_atom from a peer
  void run_posted();                                       // raft_run_atom
  void tick();                                             // raft_tick_atom
  void propose_queued();                                   // propose_atom
  // snapchunk_atom from a peer's replica: the read of a chunk of a snapshot stream this replica
  // holds, to run off the shard actor's thread (it reads up to a chunk's bytes of RocksDB: ~10 ms
  // for 1 MB, during which the shard's commits would wait).
  using chunk_read = std::function<caf::expected<std::string>()>;
  caf::expected<chunk_read> chunk_reader(const std::string& request);
  // snapchunk_atom from the shard actor to itself: a chunk request paced by
  // raft_snapshot_bytes_per_s is due (`generation`: of the pull's chunk before it).
  void paced_chunk_due(uint64_t generation);

  [[nodiscard]] bool serving() const;
  // The member leading the shard (empty: none known).
  [[nodiscard]] std::string leader() const;
  // The shard's replication view for the admin actor (leader, term, commit/applied index; with
  // with_digest a digest of the data: at the applied index, or an earlier one while computing it
  // again would take more than a tenth of the shard's thread, see digest_cost_factor).
  void describe(pb::ShardReplication* out, bool with_digest) const;
  // The group's configuration as this replica knows it, for a node deciding whether it may
  // delete its copy of the shard (members_atom, actors/node/copy_cleanup.hpp).
  void members(pb::ShardMembersResponse* out) const;
  // Hands leadership to `member` (empty: the most up-to-date other replica); done(true) once
  // another replica leads, done(false) when this one does not lead or the transfer failed.
  void transfer_leadership(const std::string& member, std::function<void(bool)> done);
  // Peer `member` went down (its connection dropped): when this replica follows it as leader, it
  // forgets it and campaigns soon instead of after the election timeout; the live voters take
  // turns (the preferred leader first, then ring order; leader_gone_delay_ms apart) so that two
  // followers do not split the vote (raft::group::leader_gone).
  void leader_gone(const std::string& member);
  // Leading while the preferred leader (place_shards) is another replica that is up: true when
  // the shard should hand leadership back to it (rebalancing after a failover).
  [[nodiscard]] bool should_rebalance() const;

  // Thread-safe: runs fn on the shard actor, after what was posted before it.
  void post(std::function<void()> fn);

private:
  [[nodiscard]] bool is_voter(uint64_t id) const;  // a voter of the group's configuration
  void reconcile();                                // leader: membership toward the replicas
  void release_hold();                             // proposals held for a promotion go
  void watchdog();                                 // leader: restarts a wedged group
  bool seed_converted();                           // start(): a converted shard's seed

  struct parts;
  std::unique_ptr<parts> p_;
  std::shared_ptr<storage::commit_log> log_;
};

}  // namespace chronicle
