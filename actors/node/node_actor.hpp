// The node actor: the one actor a node publishes. Clients, CLIs and workers talk to it; it hands
// every message to the local actor that serves it (frontend, admin, matching).
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"

namespace chronicle {

// Spawns the node's actors over an opened store and fills env's handles. Returns the node actor.
caf::actor start_node(caf::actor_system& sys, std::shared_ptr<node_env> env);

}  // namespace chronicle
