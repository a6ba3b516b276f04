// A deterministic simulation of one raft group: real chronicle::raft::io + group + libraft over
// a simulated network, disk and clock, all driven by one seeded PRNG. Same seed, same run.
#pragma once

#include <cstdint>
#include <string>

namespace chronicle::sim {

struct config {
  uint64_t seed = 1;
  int replicas = 3;
  uint64_t chaos_ms = 20000;   // faults injected during this much simulated time
  uint64_t settle_ms = 20000;  // then healed: liveness and convergence must follow within this
  // chronicle::raft::io's guards against libraft 0.15 bugs, a bit each:
  // 1 hold_results, 2 drop_stale_results, 4 cap_results (safety); 8 prevote_term,
  // 16 repair_progress, 32 repair_configuration (liveness); 64 rollback_configuration (crash).
  unsigned io_guards = 127;
  bool break_durability = false;  // self-test: disks acknowledge appends before they are durable
  bool verbose = false;        // print the event trace to stderr
  // Also wipe replicas: a crashed replica's disk is replaced by an empty one and it comes back
  // under a new Raft ID with no configuration; the serving leader removes the old ID, adds the
  // new one and promotes it (actors/shard/replica.cpp reconcile). One wipe at a time, only
  // while every replica is a voter of the leader's configuration.
  bool wipes = false;
  // Self-test: a wiped replica comes back under its old ID and bootstraps the initial
  // configuration, as before incarnations (must break the invariants in some seeds).
  bool wipe_keeps_id = false;
  // Non-empty: each replica's disk is also a real rocks_log_store in a database under this
  // directory (n1, n2, ...), written when the model makes an operation durable, reopened at each
  // crash, and raft loads from it (tests/sim/sim_disk.hpp). The directory must be fresh.
  std::string rocks_dir;
  // io's cut of AppendEntries (0: libraft's whole tail per message), as a node sets it.
  size_t max_append_bytes = 0;
  // Snapshots as a node takes them (shard_state_machine::take_reference): the stored snapshot
  // is a reference to the state machine, which is durable data of its own — every disk write
  // made durable also makes the state machine as applied when that write was submitted durable
  // (RocksDB: a synced write syncs every earlier one), a crash brings the replica back with that
  // state, and a leader sends its state as of now (past the snapshot's index) for a reference.
  bool reference_snapshots = false;
  // Entries between two snapshots and kept behind one (small, so lagging replicas need
  // snapshots), and the group's byte bound on its in-memory log (0: none).
  unsigned snapshot_threshold = 24, snapshot_trailing = 6;
  size_t snapshot_log_bytes = 0;
  unsigned first_snapshot_entries = 0;  // group_options::first_snapshot_entries
  // reference_snapshots: snapshots are sent under their data's index (state_machine::sent_index)
  bool reindex_snapshots = true;
  // Followers hear that their leader is gone (raft::group::leader_gone, as a node's replicas do
  // when the leader's connection drops): the live replicas after every crash, with a delay and
  // a campaign delay drawn at random, and the replicas cut off from another by a partition
  // (a leader that is in fact alive: the hint is wrong there).
  bool leader_gone = false;
};

struct result {
  bool ok = true;
  std::string violation;   // the first invariant broken, with the simulated time
  uint64_t proposals = 0, acked = 0, crashes = 0, partitions = 0, transfers = 0;
  uint64_t wipes = 0, membership_changes = 0, watchdog_restarts = 0;
  uint64_t elections = 0;  // distinct (term, leader) pairs seen
  uint64_t max_term = 0, last_index = 0, snapshots_installed = 0, messages = 0;
  uint64_t held_results = 0, stale_results = 0, capped_results = 0;
  uint64_t rolled_back = 0, not_rolled_back = 0;  // rollback_configuration guard
  uint64_t split_appends = 0;  // AppendEntries cut to max_append_bytes
  uint64_t reindexed_snapshots = 0;  // snapshots sent at their data's index (io)
  uint64_t leaders_forgotten = 0;    // leader_gone calls that made a follower forget its leader
  uint64_t sim_ms = 0;
};

result run(const config& c);

}  // namespace chronicle::sim
