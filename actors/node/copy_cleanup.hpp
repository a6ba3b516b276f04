// Copies of replicated shards a node no longer replicates. When the member list changes (a node
// added or removed), the ring may stop placing a shard on a node that holds a copy of it; that node
// no longer starts the shard's replica, and the shard's leader removes it from the group once
// every replica of today's ring is a voter (actors/shard/replica.cpp, reconcile). Until then the
// copy is a voter's log (the group may still count it), so it stays; afterwards nothing would
// ever read it. The copy cleanup deletes it then: it asks the replicas the ring places on the
// shard for their view of the group (members_atom) and deletes the copy
// (storage::store::drop_shard_copy: data, log, snapshot; the term and vote stay) once a serving
// leader, with no membership change in progress and a term no lower than the one this node
// recorded, reports a configuration without this node's Raft ID. Such a configuration is
// committed, and every later leader's configuration descends from it, so the group can count this
// node again only by adding it as a new, empty server. docs/replication.md "Copies a node no
// longer replicates".
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <vector>

#include "actors/node/node_env.hpp"

namespace chronicle {

// The shards this node does not replicate under today's ring but holds a copy of (replicated
// clusters only; empty otherwise). Reads the store: call it at start-up.
std::vector<uint32_t> left_copies(const node_env& env);

// Spawns the copy cleanup for `shards` (left_copies). It asks every copy_cleanup_interval until
// each copy is deleted, then stops.
caf::actor spawn_copy_cleanup(caf::actor_system& sys, env_ptr env, std::vector<uint32_t> shards);

}  // namespace chronicle
