// The node's outbox of Raft messages (replication_factor > 1): every replica on the node sends its
// messages to peers through it, and it joins the messages to one peer that wait in its mailbox
// together into one CAF message (raft_batch_atom), sent once the mailbox holds nothing more for
// it. With 16 shards, each leader's appends and each follower's answers are small messages to
// the same two peers; one CAF message each cost the sender's and the receiver's BASP and
// multiplexer threads about as much CPU as the replicas' Raft work itself (docs/replication.md
// "A node's Raft messages to a peer sent together: the raft outbox").
//
// Order: messages to one peer leave in the order the outbox got them (one shard's messages in
// the order the shard sent them). A peer whose handshake did not say it takes batches
// (HelloRequest/HelloResponse.raft_batches: an older version) gets each message alone, as
// before.
#pragma once

#include <caf/all.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/node/node_env.hpp"

namespace chronicle {

// One replica's message: (shard, the sending replica's Raft ID, libraft's message bytes).
struct raft_envelope {
  uint32_t shard = 0;
  uint64_t from = 0;
  std::string bytes;
};

// raft_batch_atom's bytes, version 1 (integers big-endian): version (u8 = 1) | count (u32) |
// count x (shard (u32) | from (u64) | length (u32) | bytes).
std::string pack_raft_batch(const std::vector<raft_envelope>& messages);
// The messages of pack_raft_batch's bytes; nullopt and *why set when the bytes are not such
// (short, another version, trailing bytes).
std::optional<std::vector<raft_envelope>> unpack_raft_batch(std::string_view bytes,
                                                            std::string* why);

// Messages it takes: (raft_atom, shard, from, to Raft ID, bytes) from the node's replicas.
caf::actor spawn_raft_outbox(caf::actor_system& sys, env_ptr env);

}  // namespace chronicle
