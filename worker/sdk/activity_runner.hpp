// Running an activity task: calls the activity function registered for its type.
//
// run_activity_task contract: calls the function registered for task.activity_type() with the
// decoded input and an activity_info from the token (workflow_id, run_id, attempt, the token as
// text) and task. Returns Completed(result = to_payload(value)); Failed with: application_error ->
// its type/message/non_retryable; undecodable input -> "PayloadError" (non-retryable); unknown
// type -> "UnknownActivityType"; activity_canceled_error without a cancel request ->
// "CanceledError"; any other exception -> "Error" with what(). Canceled when
// activity_canceled_error escapes after the cancellation was requested (control); Async when the
// function called do_not_complete_on_return() and returned (its value is dropped). No exception
// escapes. The token is copied from the task, identity set on every response.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk {

using activity_task_result =
    std::variant<pb::RespondActivityTaskCompleted, pb::RespondActivityTaskFailed,
                 pb::RespondActivityTaskCanceled, pb::ActivityTaskAsync>;

// `heartbeat` receives the details of every activity_info::heartbeat() call (none: heartbeats
// are dropped). The activity_info carries task.heartbeat_details (decoded; null when absent).
// `control` is what the caller (the worker) sets when a heartbeat's answer says cancel; none:
// a fresh one.
activity_task_result run_activity_task(const registry& reg, const pb::ActivityTask& task,
                                       const std::string& identity,
                                       std::function<void(const pb::Payload&)> heartbeat = {},
                                       std::shared_ptr<activity_control> control = nullptr);

}  // namespace chronicle::sdk
