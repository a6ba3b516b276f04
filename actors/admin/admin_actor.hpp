// The admin actor: answers questions about the node and about workflow state (describe, history),
// read from the store without activating execution actors.
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"

namespace chronicle {

caf::behavior admin_actor(caf::event_based_actor* self, env_ptr env);

}  // namespace chronicle
