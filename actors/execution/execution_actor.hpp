// The workflow execution actor: one per (namespace, workflow ID) while active. Loads the current
// run's mutable state on activation, runs every input through decide() (and the rules of
// shards/workflow_rules.hpp), queues the transition's records as one batch in its commit
// pipeline, performs internal effects at once (tasks, timers) and answers others once the batch
// is durable (see execution_state.hpp). Asks its shard to passivate it when idle (lifecycle.hpp).
//
// Rooms: execution_actor.cpp (the handlers), execution_state.cpp (step, commit, records,
// effects, dispatch), commit_pipeline (ordering of writes and acknowledgements), history_cache,
// lifecycle.cpp (ticks, passivation, workflow task deadline), outbound.cpp (messages to other
// workflows, retention).
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"
#include "storage/commit_log.hpp"

namespace chronicle {

struct execution_args {
  env_ptr env;
  caf::actor shard;
  uint32_t shard_id = 0;
  std::shared_ptr<storage::commit_log> log;  // where the shard's writes become durable
  std::string ns;
  std::string workflow_id;
};

caf::behavior execution_actor(caf::stateful_actor<struct execution_state>* self,
                              execution_args args);

}  // namespace chronicle
