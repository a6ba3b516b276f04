// Answering a workflow task: its history is replayed through the registered workflow function.
//
// run_workflow_task contract (deterministic: no threads, clocks or randomness):
//  - The history must start with WorkflowExecutionStarted and end with WorkflowTaskStarted (the
//    task being answered), with increasing event ids; task.started_event_id, when set, must be the
//    last event's id. Otherwise: failed, type "InvalidHistory".
//  - A fresh coroutine runs the workflow function on the started event's input, starting at the
//    first WorkflowTaskStarted that was not failed/timed out. Events are applied in order:
//    command events (ActivityTaskScheduled, TimerStarted, ActivityTaskCancelRequested,
//    TimerCanceled, WorkflowExecutionCompleted/Failed/Canceled) must match the next command the
//    code produced (kind, activity_id + type / timer_id / scheduled_event_id), else failed with
//    type "NonDeterminismError" and a message naming the event id and both sides;
//    ActivityTaskCompleted/Failed/Canceled and TimerFired resolve the operation and resume the code
//    there (ignored for an operation the code canceled); WorkflowExecutionSignaled delivers the
//    signal; WorkflowExecutionCancelRequested cancels (workflow_context.hpp says what).
//    Every command produced before a WorkflowTaskCompleted must be recorded before the next
//    WorkflowTaskStarted, else "NonDeterminismError" too.
//  - Completed response: the commands produced but not matched by history, in order; when the
//    code returned, CompleteWorkflowExecution(result); when it threw application_error (including
//    activity_failure), FailWorkflowExecution(its failure); when it threw canceled_error,
//    CancelWorkflowExecution if the cancel was requested, else FailWorkflowExecution (type
//    "CanceledError").
//  - Failed response: unknown workflow type ("UnknownWorkflowType"), undecodable input
//    ("PayloadError"), any other exception escaping workflow code ("WorkflowTaskError", message =
//    what()). Failures carry source "worker" and are retryable.
//  - Workflow Update: the task's updates are delivered at its WorkflowTaskStarted (see
//    workflow_context.hpp); the completed response carries the rejected ones.
//  - The token is copied from the task, identity set on every response. No exception escapes.
#pragma once

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk {

using workflow_task_result =
    std::variant<pb::RespondWorkflowTaskCompleted, pb::RespondWorkflowTaskFailed>;

workflow_task_result run_workflow_task(const registry& reg, const pb::WorkflowTask& task,
                                       const std::string& identity);

namespace detail {

// Runs `body` (which returns the commands or throws) and builds the response to the task as the
// contract above says: Completed with the commands, or Failed (task_failure: its type;
// nondeterminism_error: "NonDeterminismError"; any other std::exception: "WorkflowTaskError").
// `rejections` (may be null), read once body returned: the update rejections to send with the
// commands (Workflow Update).
workflow_task_result answer_task(const pb::TaskToken& token, const std::string& identity,
                                 const std::function<std::vector<pb::Command>()>& body,
                                 const std::vector<pb::UpdateRejection>* rejections = nullptr);

// The function registered for `workflow_type`; throws task_failure("UnknownWorkflowType", naming
// the registered types) when there is none.
const workflow_fn& find_workflow(const registry& reg, const std::string& workflow_type);

}  // namespace detail

}  // namespace chronicle::sdk
