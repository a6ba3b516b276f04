// The frontend actor: validates client requests and routes every shard-routed message of the
// catalog (catalog.hpp) to the shard that owns its workflow (shard = stable_hash(namespace,
// workflow_id) % num_shards), on this node or through the owning node.
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"
#include "actors/routing/forwarding.hpp"

namespace chronicle {

struct frontend_state {
  forwards forwarded;  // requests passed to other nodes (routing.hpp: delegate_to_shard)
  static inline const char* name = "frontend";
};

caf::behavior frontend_actor(caf::stateful_actor<frontend_state>* self, env_ptr env);

}  // namespace chronicle
