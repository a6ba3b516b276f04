// The admin actor: answers questions about the node and about workflow state (describe, history),
// read from the store without activating execution actors.
#pragma once

#include <caf/all.hpp>

#include "actors/node/node_env.hpp"
#include "protocol/codec.hpp"

namespace chronicle {

caf::behavior admin_actor(caf::event_based_actor* self, env_ptr env);

// Namespaces as objects (namespaces.cpp, docs/operations.md "Namespaces"). Register and update
// answer the current request themselves (once every member up recorded the change).
void register_namespace(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes);
void update_namespace(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes);
caf::result<std::string> describe_namespace(const node_env& env, const std::string& bytes);
caf::result<std::string> list_namespaces(const node_env& env, const std::string& bytes);
// Operator flow limits of a task queue, kept in its namespace's record (a change of the record:
// version + 1, spread like an update; docs/semantics.md "Flow control").
void set_task_queue_config(caf::event_based_actor* self, const env_ptr& env,
                           const std::string& bytes);
caf::result<std::string> get_task_queue_config(const node_env& env, const std::string& bytes);
// A peer's records (NamespaceSync): each newer one recorded here.
caf::result<std::string> sync_namespaces(const node_env& env, const std::string& bytes);
// Sends this node's registered records to `member` (it just connected).
void push_namespaces(caf::event_based_actor* self, const env_ptr& env, const std::string& member);

// Describe (describe.cpp): the run's pending activities, timers, children and undelivered
// messages to other workflows, as its stored state lists them.
void describe_pending_work(const pb::MutableState& ms, pb::DescribeWorkflowResponse& resp);

// Schedules (schedules.cpp): the cluster's list, and this node's part of it (asked by a peer).
void list_schedules(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes);
caf::result<std::string> list_schedules_local(const node_env& env, const std::string& bytes);
// Batch jobs (batches.cpp): the cluster's list, and this node's part of it (asked by a peer).
void list_batch_jobs(caf::event_based_actor* self, const env_ptr& env, const std::string& bytes);
caf::result<std::string> list_batch_jobs_local(const node_env& env, const std::string& bytes);

}  // namespace chronicle
