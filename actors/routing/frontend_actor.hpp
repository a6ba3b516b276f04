// The frontend actor: validates client requests and routes every shard-routed message of the
// catalog (catalog.hpp) to the shard that owns its workflow (shard = stable_hash(namespace,
// workflow_id) % num_shards), on this node or through the owning node.
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"

namespace chronicle {

caf::behavior frontend_actor(caf::event_based_actor* self, env_ptr env);

}  // namespace chronicle
