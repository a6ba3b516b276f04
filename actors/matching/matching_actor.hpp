// Matching: the node's task queues. The matching actor spawns one task queue actor per
// (namespace, queue name, kind) on demand and routes worker registrations and dispatches to it.
// A task queue actor holds ready tasks and the registered workers' free slots (credits), pushes a
// task to a worker with a free slot, and monitors workers so that a dead worker's tasks are handed
// out again at once.
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"

namespace chronicle {

enum class task_kind { workflow, activity };

caf::actor spawn_matching(caf::actor_system& sys, env_ptr env);

// Describing a task queue (describe.cpp). From a client: this node's part (`queues`: its queue
// actors for the queue named) and every other member's, merged; the answer goes to the current
// request. From a peer: this node's part only.
void describe_task_queue(caf::event_based_actor* self, const env_ptr& env,
                         std::vector<caf::actor> queues, const std::string& bytes);
void describe_task_queue_here(caf::event_based_actor* self, const env_ptr& env,
                              std::vector<caf::actor> queues, const std::string& bytes);

// Spawns a task queue actor linked to `parent`.
caf::actor spawn_task_queue(caf::event_based_actor* parent, env_ptr env, std::string ns,
                            std::string queue, task_kind kind);

}  // namespace chronicle
