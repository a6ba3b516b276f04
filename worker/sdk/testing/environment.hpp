// A time-skipping test environment for workflow code (Temporal's TestWorkflowEnvironment): one
// workflow runs in-process against the server's own state machine (shards/decide.hpp: the same
// decide and apply a node runs) and the SDK's own replay (run_workflow_task), with a virtual
// clock. No node, no actors, no threads: a workflow that sleeps for days finishes in
// milliseconds inside a doctest case.
//
// Contract:
//  - execute(type, input) starts the workflow at the virtual time the environment was made with
//    and runs it until it closes: every workflow task is answered at once by the registry's
//    code; every activity task runs at once, by its mock (mock_activity) or else by the
//    registry's activity, and its result is recorded as a worker's would be (failures go through
//    the activity's retry policy, the backoff skipped like any timer; heartbeats are recorded,
//    so a retry finds the last details in activity_info::heartbeat_details).
//  - Time skips: when nothing is left to run, the clock jumps to the earliest of the durable
//    timers decide armed (user timers, activity retries and timeouts, the workflow's timeouts)
//    and the callbacks registered with at(); callbacks come first at equal times.
//  - at(delay, fn): fn runs when the virtual clock reaches start + delay (before execute, or from
//    another callback). In it, signal / cancel / update / query act on the running workflow at
//    that virtual time, as a client's calls would (signal and cancel: recorded at once; update:
//    validated and run by the next workflow task; query: answered from the replayed history).
//  - The outcome: the close status with the result (Completed) or failure, or `error` when the
//    environment had to stop: a workflow task failed (a bug in the code, a non-determinism
//    error: its type and message), or it waits for nothing that can happen (blocked with no
//    timer and no callback left). Continue-as-new goes on with the next run in the same
//    environment (its history, timers and the client calls are then the new run's, as on a node
//    that follows the current-run record); execute ends with the last run's outcome.
//  - Child workflows start when initiated, as more workflows of this environment (same registry
//    and mocks, the same virtual clock: parent and children interleave as on a cluster); the
//    parent records their start at once and their close when they close. A child's own stop
//    ("child workflow 'id': ...") stops the environment. When the parent closes, each child's
//    parent close policy is applied (terminate, request cancel; abandon leaves it running), and
//    execute returns once the other workflows closed too or nothing can move them any more (a
//    child waiting for a signal that never comes); outcome_of / history_of read them.
//  - Messages to other workflows (signal_external, cancel_external, a parent's cancel request to
//    its child) reach the workflow of that ID in this environment through decide, as a node's
//    do (request ID, identity "workflow <sender>"), and the sender records the answer at once:
//    ...Signaled / ...CancelRequested, or ...Failed with ExternalWorkflowExecutionNotFound when
//    no running workflow of that ID (and run) is here.
//  - history() is the (current or last) run's history as a node would have recorded it (replay_history and the
//    JSON loaders read it the same way), now_ms() the virtual clock.
//  - Search attribute upserts are checked against no schema (they fail the workflow task, as on
//    a namespace without registered attributes). One execute per environment; its workflow's
//    children are the only other workflows in it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk::testing {

struct workflow_outcome {
  pb::WorkflowExecutionStatus status = pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
  json result;          // Completed: the workflow's result
  pb::Failure failure;  // Failed, TimedOut, Canceled, Terminated: why
  std::string error;    // non-empty: the environment stopped (see the contract); status Running

  bool completed() const { return status == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED; }
};

// An update's progress, filled in as the workflow handles it.
struct update_outcome {
  bool accepted = false;   // the validator passed: WorkflowExecutionUpdateAccepted recorded
  bool completed = false;  // the handler finished (or the validator rejected it)
  bool rejected = false;   // the validator refused it: nothing recorded; failure says why
  json result;
  pb::Failure failure;
};

struct start_options {
  std::string workflow_id = "test-workflow";
  std::string task_queue = "test";
  std::chrono::milliseconds execution_timeout{0};  // 0: none
};

class environment {
 public:
  // `reg` must outlive the environment. The clock starts at `start_time_ms` (epoch ms).
  explicit environment(const registry& reg, int64_t start_time_ms = 1'767'225'600'000);
  ~environment();
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  // Activities of `type` run `fn` instead of the registry's (or in addition to it).
  void mock_activity(const std::string& type, activity_fn fn);
  // Runs `fn` at virtual time start + delay.
  void at(std::chrono::milliseconds delay, std::function<void()> fn);

  workflow_outcome execute(const std::string& workflow_type, const json& input = nullptr,
                           const start_options& options = {});

  // Client calls on the running workflow (from a callback, or after execute for query).
  // False (and nothing done) when the workflow is not running.
  bool signal(const std::string& name, const json& input = nullptr);
  bool cancel(const std::string& reason = "canceled by the test");
  std::shared_ptr<const update_outcome> update(const std::string& name,
                                               const json& input = nullptr);
  // The query handler's answer, or the error run_query gives (query.hpp).
  std::variant<json, std::string> query(const std::string& name, const json& args = nullptr);

  int64_t now_ms() const;
  const std::vector<pb::HistoryEvent>& history() const;
  // Another workflow of this environment (a child, by its workflow ID): its outcome (status
  // Running while it runs; `error` "no workflow ..." when there is none) and its (current or last)
  // run's history (empty when there is none).
  workflow_outcome outcome_of(const std::string& workflow_id) const;
  std::vector<pb::HistoryEvent> history_of(const std::string& workflow_id) const;

 private:
  struct impl;
  struct world;  // what the workflows of one environment share (environment_impl.hpp)
  std::unique_ptr<impl> impl_;
};

}  // namespace chronicle::sdk::testing
