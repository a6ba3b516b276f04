// Running tasks: a workflow task is answered by replaying its history through the registered
// workflow function; an activity task by calling the registered activity function.
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
//  - The token is copied from the task, identity set on every response.
//
// run_activity_task contract: calls the function registered for task.activity_type() with the
// decoded input and an activity_info from the token (workflow_id, run_id, attempt) and task.
// Returns Completed(result = to_payload(value)), or Failed with: application_error -> its
// type/message/non_retryable; undecodable input -> "PayloadError" (non-retryable); unknown type ->
// "UnknownActivityType"; any other exception -> "Error" with what().
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk {

// Failure types of the responses built here.
inline constexpr const char* invalid_history_type = "InvalidHistory";
inline constexpr const char* unknown_workflow_type = "UnknownWorkflowType";
inline constexpr const char* nondeterminism_type = "NonDeterminismError";
inline constexpr const char* payload_error_type = "PayloadError";
inline constexpr const char* workflow_task_error_type = "WorkflowTaskError";
inline constexpr const char* unknown_activity_type = "UnknownActivityType";
inline constexpr const char* activity_error_type = "Error";
inline constexpr const char* canceled_error_type = "CanceledError";

using workflow_task_result =
    std::variant<pb::RespondWorkflowTaskCompleted, pb::RespondWorkflowTaskFailed>;

workflow_task_result run_workflow_task(const registry& reg, const pb::WorkflowTask& task,
                                       const std::string& identity);

namespace detail {
class replay_machine;
}

// A worker's cache of workflow runs (Temporal's sticky cache). Per run it keeps the history seen
// so far and the replay machine that answered the run's last workflow task, i.e. the workflow
// code suspended where that task left it. A workflow task that carries only the events after the
// cached ones (first_event_id > 1) is then answered by applying those events to the machine,
// instead of replaying the run from its first event. The result is the one run_workflow_task
// gives for the whole history:
//  - a task with the whole history (first_event_id 0 or 1) replaces what is cached for its run
//    and is answered as by run_workflow_task;
//  - a task whose events follow the cached ones: when the last task answered here completed (its
//    WorkflowTaskCompleted is among the new events), the machine goes on from there ("resumed");
//    otherwise (it failed, timed out, or was answered with a failure) the cached and new events
//    are replayed from the start ("replayed");
//  - a task whose events do not follow the cached ones (can_answer is false: nothing cached, an
//    evicted run, a task missed) fails with InvalidHistory: ask the server for the whole history
//    first.
// A run is dropped once its code has finished (its last task closes it); beyond `capacity` runs
// the least recently used is evicted (0: nothing is kept). Not thread-safe: one caller at a time.
class workflow_cache {
 public:
  struct counters {
    uint64_t full = 0;      // tasks with the whole history
    uint64_t resumed = 0;   // tasks with new events, applied to the cached machine
    uint64_t replayed = 0;  // tasks with new events, replayed with the cached ones from the start
    uint64_t evicted = 0;   // runs evicted for capacity
  };

  explicit workflow_cache(size_t capacity);
  ~workflow_cache();
  workflow_cache(const workflow_cache&) = delete;
  workflow_cache& operator=(const workflow_cache&) = delete;

  bool can_answer(const pb::WorkflowTask& task) const;
  workflow_task_result run(const registry& reg, pb::WorkflowTask task, const std::string& identity);
  size_t size() const { return lru_.size(); }
  const counters& stats() const { return stats_; }

 private:
  struct entry;
  void drop(const std::string& key);

  size_t capacity_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  counters stats_;
};

// Answers a query: replays the run's history through the workflow function (as for a workflow
// task, commands are discarded), then calls the handler the code registered with on_query.
// Returns the handler's result, or an error message (unknown workflow type, unknown query type
// naming the known ones, a handler that threw, invalid history, non-determinism).
std::variant<json, std::string> run_query(const registry& reg, const pb::QueryTask& task);

using activity_task_result =
    std::variant<pb::RespondActivityTaskCompleted, pb::RespondActivityTaskFailed>;

// `heartbeat` receives the details of every activity_info::heartbeat() call (none: heartbeats
// are dropped). The activity_info carries task.heartbeat_details (decoded; null when absent).
activity_task_result run_activity_task(const registry& reg, const pb::ActivityTask& task,
                                       const std::string& identity,
                                       std::function<void(const pb::Payload&)> heartbeat = {});

}  // namespace chronicle::sdk
