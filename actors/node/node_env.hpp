// What every actor of a node shares: configuration, the store, the placement ring and the handles
// of the node's long-lived actors. Filled once at start-up before any message flows, then read-only.
#pragma once

#include <caf/all.hpp>

#include <atomic>

#include <memory>
#include <string>
#include <vector>

#include "actors/node/api_keys.hpp"
#include "actors/node/config.hpp"
#include "actors/node/membership.hpp"
#include "actors/node/metrics.hpp"
#include "actors/node/overload.hpp"
#include "shards/ring.hpp"
#include "storage/store.hpp"

namespace chronicle {

struct node_env {
  node_config config;
  std::shared_ptr<storage::store> store;
  std::unique_ptr<hash_ring> ring;
  caf::actor frontend;
  caf::actor admin;
  caf::actor matching;
  caf::actor handoff;
  // Replicated clusters: the replicas' Raft messages to peers go through it (raft_outbox.hpp).
  caf::actor raft_outbox;
  // Replicated clusters: deletes copies of shards this node no longer replicates (invalid when
  // there are none, or once it deleted them all; copy_cleanup.hpp).
  caf::actor copy_cleanup;
  std::vector<caf::actor> shards;  // index = shard ID; invalid for shards owned by other nodes
  std::shared_ptr<membership> peers = std::make_shared<membership>();
  std::shared_ptr<overload_registry> overloaded = std::make_shared<overload_registry>();
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
  // The API keys in force (config api_keys, replaced on SIGHUP); empty table: no keys needed.
  std::shared_ptr<key_registry> keys = std::make_shared<key_registry>();
  int64_t started_at_ms = 0;
  // The data dir was converted from single copy (store::converted): each shard's group is seeded
  // by the member that held its single copy, alone, and never bootstrapped with every replica.
  bool converted = false;
  // Per shard: its actor has recovered and serves requests (set by the shard actor).
  std::unique_ptr<std::atomic<bool>[]> shard_ready;
  // Per shard: its replicas and preferred leader (shards/ring.hpp place_shards).
  std::vector<shard_placement> placement;
  // config.members as "name=host:port", sorted: what the handshake compares with a peer's.
  std::vector<std::string> member_list;
  // Per shard, replication_factor > 1: the Raft ID of the leader this node knows (0: none),
  // set by the local replica (actors/shard/replica.hpp); read by routing.
  std::unique_ptr<std::atomic<uint64_t>[]> shard_leader;
  // Per shard, replication_factor > 1: this node's replica is not a voter of its group (a
  // joined replica before its promotion), so routing asks the other replicas.
  std::unique_ptr<std::atomic<bool>[]> shard_outside;
  // Per shard, replication_factor > 1, while this node's replica leads it: the most entries a
  // member of its group lacks (set every Raft tick; /metrics chronicle_raft_replication_lag_entries).
  std::unique_ptr<std::atomic<uint64_t>[]> shard_lag;
  // Snapshot streams this node's replicas pull right now (config.raft_snapshot_pulls).
  mutable std::atomic<uint32_t> snapshot_pulls{0};
  // config.raft_snapshot_bytes_per_s: when (steady µs) the pulls' next chunk may be asked for.
  mutable std::atomic<int64_t> snapshot_pace_us{0};

  [[nodiscard]] bool replicated() const { return config.replication_factor > 1; }
  // Raft IDs (docs/replication.md "Raft identities"). A founding member's replicas use its
  // position in the founders' sorted list, plus one (member_id; 0: not a founder; before the
  // founders are recorded, the position in today's member list). A node whose data dir was
  // created after the cluster (wiped, replaced, added) joins the groups as a new member under
  // joined_raft_id(name, incarnation), which has the top bit set.
  [[nodiscard]] uint64_t member_id(const std::string& name) const;
  [[nodiscard]] static bool is_joined_id(uint64_t id) { return (id >> 63) != 0; }
  [[nodiscard]] static uint64_t joined_raft_id(const std::string& name, uint64_t incarnation);
  // The member a Raft ID belongs to ("" none): a founding ID's position, or the member (or this
  // node) that announced the joined ID.
  [[nodiscard]] std::string member_by_id(uint64_t id) const;
  // Whether Raft traffic to or from `id` may flow: a founding ID only while its member is not
  // fenced (its data dir is the one first seen) and announced nothing else, a joined ID once
  // announced.
  [[nodiscard]] bool raft_peer_ok(uint64_t id) const;
  // The Raft ID `name` uses now: this node's own, or what a peer announced (0: unknown).
  [[nodiscard]] uint64_t current_raft_id(const std::string& name) const;
  // Whether this node holds a copy of `shard`: its owner (replication_factor 1) or one of its
  // replicas.
  [[nodiscard]] bool owns_shard(uint32_t shard) const;
  // Whether this node answers for `shard` in cluster-wide reads (list, count, run counts,
  // schedules): its owner, or with replication_factor > 1 only the replica whose shard actor
  // serves (the leader, shard_ready), so that each run is listed and counted once. During an
  // election no node answers for the shard until its new leader is ready.
  [[nodiscard]] bool answers_for(uint32_t shard) const;
  // Replicated clusters, during a rolling restart with a new member list: the first peer that is
  // up and runs another list ("" none). Meanwhile each list's ring places the shards elsewhere,
  // so leaders make no membership change that follows the ring and do not hand leadership over
  // to spread load (docs/replication.md "Nodes with different member lists").
  [[nodiscard]] std::string other_member_list() const { return peers->other_member_list(member_list); }
  // A member up whose list leaves this node out ("" none): this node is being removed.
  [[nodiscard]] std::string leaves_this_node_out() const {
    return peers->leaves_out(config.name, member_list);
  }
};

using env_ptr = std::shared_ptr<const node_env>;

// Makes a long-lived actor robust against garbage: an unexpected message is logged and dropped
// (answered with a bad_message error when it was a request), and a stray error message is logged
// instead of stopping the actor (CAF's default).
void harden(caf::scheduled_actor* self, const char* name);

}  // namespace chronicle
