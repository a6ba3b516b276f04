// Running an activity task: calls the activity function registered for its type.
//
// run_activity_task contract: calls the function registered for task.activity_type() with the
// decoded input and an activity_info from the token (workflow_id, run_id, attempt) and task.
// Returns Completed(result = to_payload(value)), or Failed with: application_error -> its
// type/message/non_retryable; undecodable input -> "PayloadError" (non-retryable); unknown type ->
// "UnknownActivityType"; any other exception -> "Error" with what(). No exception escapes.
// The token is copied from the task, identity set on every response.
#pragma once

#include <functional>
#include <string>
#include <variant>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk {

using activity_task_result =
    std::variant<pb::RespondActivityTaskCompleted, pb::RespondActivityTaskFailed>;

// `heartbeat` receives the details of every activity_info::heartbeat() call (none: heartbeats
// are dropped). The activity_info carries task.heartbeat_details (decoded; null when absent).
activity_task_result run_activity_task(const registry& reg, const pb::ActivityTask& task,
                                       const std::string& identity,
                                       std::function<void(const pb::Payload&)> heartbeat = {});

}  // namespace chronicle::sdk
