// The workflow execution actor: one per (namespace, workflow ID) while active. Loads the current
// run's mutable state on activation, runs every input through decide(), writes the transition in
// one batch and only then performs its effects. Asks its shard to passivate it when idle.
#pragma once

#include <caf/all.hpp>

#include "actors/node_env.hpp"

namespace chronicle {

struct execution_args {
  env_ptr env;
  caf::actor shard;
  uint32_t shard_id = 0;
  std::string ns;
  std::string workflow_id;
};

caf::behavior execution_actor(caf::stateful_actor<struct execution_state>* self,
                              execution_args args);

}  // namespace chronicle
