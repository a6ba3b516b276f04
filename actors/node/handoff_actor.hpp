// Shard handoff after a membership change. On start, a node owns some shards it has not owned
// under the current member list (its owner mark in meta differs). Before such a shard serves
// requests, the handoff actor asks every peer for the shard's data, copies what a peer still holds
// (chunk by chunk, each chunk synced), marks the shard as owned under the current membership, tells
// the peer to drop its copy, and only then lets the shard actor recover. Shards whose mark matches
// are ready at once. A peer that is down delays only the shards still pending.
#pragma once

#include <caf/all.hpp>

#include <vector>

#include "actors/node/node_env.hpp"

namespace chronicle {

// The membership fingerprint written as owner mark: sorted "name=host:port" list.
std::string membership_fingerprint(const node_config& config);

// Lets every owned shard that needs no handoff recover at once (its owner mark matches, or there
// are no peers that could hold its data), and returns the shards that must wait for peers.
std::vector<uint32_t> start_ready_shards(const node_env& env);

// Spawns the handoff actor for the `pending` shards; it sends recover_atom to each once no peer
// holds its data any more. The node actor tells it (hello_atom, name, actor) when peers come up.
caf::actor spawn_handoff(caf::actor_system& sys, std::shared_ptr<const node_env> env,
                         std::vector<uint32_t> pending);

// Serves a peer's handoff request from the local store (runs on the node actor).
caf::expected<std::string> serve_handoff(const node_env& env, const std::string& bytes);
// Drops a shard a peer has taken over, unless this node owns it.
caf::expected<std::string> serve_release(const node_env& env, const std::string& bytes);

}  // namespace chronicle
