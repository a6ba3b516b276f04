// The frontend actor: validates client requests and routes every workflow-addressed message to the
// shard that owns the workflow (shard = stable_hash(namespace, workflow_id) % num_shards).
#pragma once

#include <caf/all.hpp>

#include "actors/node_env.hpp"

namespace chronicle {

caf::behavior frontend_actor(caf::event_based_actor* self, env_ptr env);

// Where a workflow-addressed message goes: this node's shard actor, or the owning node's frontend
// (`forward`: the message goes there as (fwd_atom, kind, bytes)). The message is validated as a
// client's is first, which may rewrite `kind` and `bytes`.
struct shard_destination {
  caf::actor actor;
  bool forward = false;
};
caf::expected<shard_destination> shard_destination_of(const node_env& env, caf::atom_value& kind,
                                                      std::string& bytes);

// Delegates (kind, bytes) to its workflow's shard: the shard answers the current sender. Node
// actors that pass such a message on (the task queue) call this instead of sending it through
// the frontend actor, one hop less.
caf::result<caf::message> delegate_to_shard(caf::event_based_actor* self, const node_env& env,
                                            caf::atom_value kind, std::string& bytes);

// Sends (kind, bytes) to its workflow's shard, one-way (a message that cannot be routed is
// logged and dropped).
void tell_shard(const node_env& env, caf::atom_value kind, std::string bytes);

}  // namespace chronicle
