// The frontend actor: validates client requests and routes every workflow-addressed message to the
// shard that owns the workflow (shard = stable_hash(namespace, workflow_id) % num_shards).
#pragma once

#include <caf/all.hpp>

#include "actors/node_env.hpp"

namespace chronicle {

caf::behavior frontend_actor(caf::event_based_actor* self, env_ptr env);

}  // namespace chronicle
