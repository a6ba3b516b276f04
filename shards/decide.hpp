// The workflow state machine: a pure function from (mutable state, input, now) to the events to
// append, the new mutable state and the durable records that carry its effects. No actors, no I/O,
// no clock: "now" is an argument. The execution actor writes everything a transition returns in
// one WriteBatch and performs the effects (dispatch tasks, arm timers, answer waiters) only after
// that write succeeded.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/codec.hpp"
#include "protocol/search_attributes.hpp"

namespace chronicle {

namespace input {

struct start_workflow {
  pb::StartWorkflowRequest request;
  std::string run_id;
};
struct workflow_task_started {
  int64_t scheduled_event_id = 0;
  std::string identity;
};
struct workflow_task_completed {
  int64_t scheduled_event_id = 0;
  std::vector<pb::Command> commands;
  std::string identity;
  std::string new_run_id = {};  // the run ID a ContinueAsNewWorkflowExecution command starts
  // Workflow Update: updates admitted after this task started (the worker has not seen them).
  // A task that closes the workflow while some wait is rejected (UnhandledCommand), as Temporal
  // does, so that the next task delivers them.
  int undelivered_updates = 0;
  // The namespace's search attributes, which UpsertWorkflowSearchAttributes is checked against
  // (null: none registered). Must outlive the call.
  const search::schema* search_schema = nullptr;
  std::string build_id = {};  // the worker's build, recorded on WorkflowTaskCompleted
};
struct workflow_task_failed {
  int64_t scheduled_event_id = 0;
  pb::Failure failure;
  std::string identity;
};
// The started workflow task will never be answered (worker lost, node restarted).
struct workflow_task_timed_out {
  int64_t scheduled_event_id = 0;
  std::string cause;
};
struct activity_completed {
  int64_t scheduled_event_id = 0;
  pb::Payload result;
  std::string identity;
  int32_t attempt = 1;
};
// A failed attempt. Retried (no event: attempt + 1, last failure and backoff in mutable state,
// a durable timer dispatches the next attempt) unless the failure is non-retryable (flag or type
// listed in the policy), the policy's maximum attempts is reached, or the retry would start after
// the schedule-to-close deadline; then ActivityTaskStarted + ActivityTaskFailed are written.
struct activity_failed {
  int64_t scheduled_event_id = 0;
  pb::Failure failure;
  std::string identity;
  int32_t attempt = 1;
};
// The task queue handed attempt `attempt` to a worker that no longer holds it (the task or its
// answer was lost with a connection; the worker lives on). Treated exactly as the start-to-close
// timeout of that attempt firing now (a retry by the policy, or the final ActivityTaskTimedOut).
// Stale unless the attempt is the current one and not waiting for a retry; a scheduled attempt
// (its start notice lost too) counts as started.
struct activity_lost {
  int64_t scheduled_event_id = 0;
  int32_t attempt = 1;
  std::string cause;
};
// The worker stopped attempt `attempt` after its cancellation was requested (the workflow's
// RequestCancelActivityTask reached a started attempt): ActivityTaskStarted +
// ActivityTaskCanceled. Stale like activity_failed; refused (invalid_argument) when no
// cancellation was requested.
struct activity_canceled {
  int64_t scheduled_event_id = 0;
  int32_t attempt = 1;
  pb::Payload details;
  std::string identity;
};
struct timer_fired {
  int64_t started_event_id = 0;
};
// The task queue handed attempt `attempt` of the activity to a worker: the activity becomes
// started (no event: ActivityTaskStarted is written with its outcome, as Temporal does with
// retries); start-to-close and heartbeat deadlines count from now. Stale when the attempt is not
// the current one or the activity waits for a retry.
struct activity_started {
  int64_t scheduled_event_id = 0;
  int32_t attempt = 1;
  std::string identity;
};
// A heartbeat of the running attempt: its details and time are kept in mutable state (no event);
// the next attempt receives the details. Stale like activity_started.
struct activity_heartbeat {
  int64_t scheduled_event_id = 0;
  int32_t attempt = 1;
  pb::Payload details;
  std::string identity;
};
// The activity's durable timer record (kind ACTIVITY, fire time `fire_time_ms`) fired. Stale
// unless it is the record the activity armed last. Then, in this order: schedule-to-close expired
// -> final ActivityTaskTimedOut; backoff over -> the next attempt is dispatched; schedule-to-start
// expired -> final ActivityTaskTimedOut; start-to-close or heartbeat expired -> a retry (no event)
// or, when the policy is exhausted, ActivityTaskStarted + ActivityTaskTimedOut; otherwise the
// timer is re-armed for the next deadline.
struct activity_timer {
  int64_t scheduled_event_id = 0;
  int64_t fire_time_ms = 0;
};
// The execution / run timeout's timer record fired (stale unless it is the armed deadline):
// WorkflowExecutionTimedOut, status TimedOut, pending work dropped (a started workflow task is
// failed first with cause ForceCloseCommand, as for terminate).
struct workflow_timed_out {
  int64_t fire_time_ms = 0;
};
// A signal to the running run `state`: WorkflowExecutionSignaled, buffered while a workflow task is
// started, else appended (with a new workflow task when none is pending). A non-empty request_id
// already recorded (or buffered) makes it a no-op. Closed run: rejected with not_found.
struct signal_workflow {
  std::string signal_name;
  pb::Payload input;
  std::string identity;
  std::string request_id;
};
// `state` is the workflow's current run (default when there is none). Running: the same as
// signal_workflow. Otherwise a new run `run_id` starts with WorkflowExecutionStarted,
// WorkflowExecutionSignaled and WorkflowTaskScheduled, all in this one transition.
struct signal_with_start {
  pb::StartWorkflowRequest request;
  std::string run_id;
  signal_workflow signal;
};
// Closes the run at once: a started workflow task is failed (cause ForceCloseCommand), buffered
// events are written, then WorkflowExecutionTerminated; pending tasks and timers are dropped.
struct terminate_workflow {
  std::string reason;
  std::string identity;
};
// WorkflowExecutionCancelRequested, delivered like a signal. Idempotent: a second request while
// the first is recorded or buffered is a no-op.
struct request_cancel_workflow {
  std::string reason;
  std::string identity;
  std::string request_id;
};

// The child initiated at `initiated_event_id` started as run `run_id`: ChildWorkflowExecutionStarted
// (external event: buffered while a workflow task is started). Stale when the child is not pending
// or already started.
struct child_started {
  int64_t initiated_event_id = 0;
  std::string run_id;
};
// The child could not be started (`cause`, e.g. WorkflowExecutionAlreadyStarted):
// StartChildWorkflowExecutionFailed; the child is no longer pending.
struct child_start_failed {
  int64_t initiated_event_id = 0;
  std::string cause;
};
// A started (or, if its start was not yet acknowledged, initiated) child closed: the matching
// ChildWorkflowExecution* event (preceded by ChildWorkflowExecutionStarted when not yet recorded).
// A child that is not pending makes it a no-op (a repeated notification).
struct child_closed {
  pb::ChildWorkflowClosed closed;
};

// Messages to other workflows (SignalExternalWorkflowExecution / RequestCancelExternalWorkflowExecution
// commands): the target recorded the message initiated at `initiated_event_id` (its run `run_id`):
// ExternalWorkflowExecutionSignaled / ExternalWorkflowExecutionCancelRequested, by the message's
// kind. External events (buffered while a workflow task is started). The message leaves
// `outbound` and `pending_externals`. Stale when it is not pending (answered already) or the run
// is closed.
struct external_delivered {
  int64_t initiated_event_id = 0;
  std::string run_id;
};
// The target refused it for good (`cause`: ExternalWorkflowExecutionNotFound when there is no such
// workflow or it is closed): SignalExternalWorkflowExecutionFailed /
// RequestCancelExternalWorkflowExecutionFailed with the target's `message`. Stale like
// external_delivered.
struct external_failed {
  int64_t initiated_event_id = 0;
  std::string cause;
  std::string message;
};

// Workflow Update: an update was admitted for the running run (the execution keeps the request and
// its callers in memory; nothing is written). Without a pending workflow task a *speculative* one
// is scheduled (PendingWorkflowTask.speculative: in memory only, no event, no record; the
// transition is memory_only) to take the update to the worker's validator. With a workflow task
// pending, a no-op: the update goes with the next task handed out. Closed run: not_found.
struct update_admitted {};

// Pause (docs/semantics.md "Pause"): WorkflowExecutionPaused, buffered behind a started workflow
// task like a signal but with no workflow task of its own; MutableState.paused and the pause's
// reason, identity and time are set at once. While paused the execution hands no task to a worker,
// workflow_task_started and update_admitted are refused, everything else is recorded as usual (a
// signal or a fired timer schedules its workflow task, which waits). Closed run:
// failed_precondition; already paused: failed_precondition ("already paused").
struct pause_workflow {
  std::string reason;
  std::string identity;
};
// WorkflowExecutionUnpaused (buffered like the pause), paused cleared. The transition lists again,
// as transfers_added, the scheduled workflow task (not started) and the activities that wait for
// a worker (scheduled, not started, no cancel requested), so that the execution dispatches them.
// Not paused (or closed): failed_precondition.
struct unpause_workflow {
  std::string reason;
  std::string identity;
};

}  // namespace input

using decide_input =
  std::variant<input::start_workflow, input::workflow_task_started, input::workflow_task_completed,
               input::workflow_task_failed, input::workflow_task_timed_out,
               input::activity_completed, input::activity_failed, input::timer_fired,
               input::signal_workflow, input::signal_with_start, input::terminate_workflow,
               input::request_cancel_workflow, input::activity_started,
               input::activity_heartbeat, input::activity_timer, input::workflow_timed_out,
               input::child_started, input::child_start_failed, input::child_closed,
               input::update_admitted, input::activity_lost, input::external_delivered,
               input::external_failed, input::activity_canceled, input::pause_workflow,
               input::unpause_workflow>;

// Everything one transition produces. Added records are the effects to perform after the write
// (transfers: dispatch the task; timers: arm the timer); removed records are deleted in the batch.
struct transition {
  std::vector<pb::HistoryEvent> events;
  pb::MutableState state;
  std::vector<pb::TransferRecord> transfers_added;
  std::vector<pb::TransferRecord> transfers_removed;
  std::vector<pb::TimerRecord> timers_added;
  std::vector<pb::TimerRecord> timers_removed;
  bool closed = false;  // the execution reached a closed status in this transition
  // Continue-as-new: the new run of the same workflow ID, written in the same batch (its events,
  // state and records); the current-run record then names it.
  std::shared_ptr<transition> next_run;
  // States of other closed runs of the workflow ID rewritten in the same batch (reset: the base
  // run's link to the new run, shards/reset.hpp). Only their mutable state is written.
  std::vector<pb::MutableState> other_states;
  // Nothing to write: only the speculative workflow task changed (scheduled, started, or dropped
  // because its answer recorded nothing). The execution applies `state` in memory.
  bool memory_only = false;
};

// The same timer record (every field equal): how a removed timer finds the one that was added.
inline bool same_timer(const pb::TimerRecord& a, const pb::TimerRecord& b) {
  return a.fire_time_ms() == b.fire_time_ms() && a.started_event_id() == b.started_event_id() &&
         a.kind() == b.kind() && a.attempt() == b.attempt() && a.workflow_id() == b.workflow_id() &&
         a.run_id() == b.run_id() && a.namespace_() == b.namespace_();
}

// A rejected input: nothing is written. `code` says why (stale_task, invalid_argument, ...).
struct rejection {
  errc code = errc::invalid_argument;
  std::string message;
};

using decide_result = std::variant<transition, rejection>;

// REQUIRES: for start_workflow, `state` is a default (empty) MutableState; for signal_with_start
// the current run's state (default when none); otherwise the state of the run the input is
// addressed to.
//
// Workflow task completion: commands are checked first, all or nothing. Malformed commands, or
// RequestCancelActivityTask / CancelTimer naming no pending activity / timer, fail the task
// (WorkflowTaskFailed with the matching cause) and schedule the next attempt. A task whose last
// command closes the workflow (Complete/Fail/CancelWorkflowExecution) while events are buffered is
// rejected as Temporal does: WorkflowTaskFailed (cause UnhandledCommand), the buffered events, and a
// new workflow task (attempt 1), so that the code sees them; none of its commands is recorded.
// RequestCancelActivityTask records ActivityTaskCancelRequested and, unless the activity's result
// is already buffered or a worker runs the attempt (state STARTED), ActivityTaskCanceled at once
// (TRY_CANCEL) and drops its transfer; a started attempt stays pending, cancel-requested (its
// heartbeats are answered so, a failure is not retried, activity_canceled closes it). A second
// RequestCancelActivityTask of a cancel-requested activity is a bad command. CancelTimer
// records TimerCanceled, drops the timer record and a buffered TimerFired of that timer.
//
// UpsertWorkflowSearchAttributes records UpsertWorkflowSearchAttributes (each attribute must be
// registered in `search_schema` with a value of its type, or null to remove it), and
// ModifyWorkflowProperties records WorkflowPropertiesModified (a memo within its size limit);
// otherwise the task fails with cause BadSearchAttributes / BadModifyWorkflowPropertiesAttributes.
// apply() merges them into the run's search attributes / memo.
//
// Workflow Update: AcceptWorkflowUpdate records WorkflowExecutionUpdateAccepted (the update must
// not be accepted already in this run), CompleteWorkflowUpdate records
// WorkflowExecutionUpdateCompleted (the update must be accepted, by this task or an earlier one,
// and not completed); otherwise the task fails with cause BadUpdateWorkflowExecutionMessage. The
// run keeps every accepted update's outcome (MutableState.updates).
//
// Messages to other workflows: SignalExternalWorkflowExecution records
// SignalExternalWorkflowExecutionInitiated, RequestCancelExternalWorkflowExecution records
// RequestCancelExternalWorkflowExecutionInitiated; each queues an outbound message (its transfer
// record carries the target and the message) and a PendingExternal. Unlike child starts, these
// messages are still delivered when the run closes before they were (the answer is then not
// recorded); a continue-as-new carries the closing run's undelivered messages (and parent close
// policies) into the new run's `outbound`, so that they are re-sent after a crash (carry_outbound).
//
// Speculative workflow task (see update_admitted): its WorkflowTaskScheduled / Started are written
// (with the IDs and times the worker was given) only when needed: when its answer records an
// event, when it fails or times out, when the run is closed while it is started, or when another
// event arrives while it is started (the event is then buffered behind a normal task). An answer
// with no command drops it: no event, memory_only. An event that arrives while it is scheduled
// but not started replaces it with a normal workflow task after the event.
decide_result decide(const pb::MutableState& state, const decide_input& in, int64_t now_ms);

// Updates `state` with one event (the "apply" half: no validation). Folding apply over a history
// yields the stored mutable state, except for buffered events and dispatch bookkeeping.
void apply(pb::MutableState& state, const pb::HistoryEvent& event);

[[nodiscard]] bool is_running(const pb::MutableState& state);

// Pause and unpause events concern the server only: they need no workflow task, and a workflow
// task may close the run while they are buffered.
[[nodiscard]] bool pause_event(const pb::HistoryEvent& event);

// The build IDs a run keeps (MutableState.build_ids, the BuildIds list attribute): the newest
// distinct ones; an older one is dropped when a new one comes (Temporal caps its list too).
inline constexpr int max_build_ids = 20;
// The build IDs of a run's workflow tasks are recorded by apply(WorkflowTaskCompleted); whether
// the set changed between two states (the run's visibility record must be written again).
[[nodiscard]] bool build_ids_changed(const pb::MutableState& before, const pb::MutableState& after);

// Outbound messages that carry everything they need in their transfer record (parent close
// policies, signals and cancel requests to other workflows): they may outlive their run.
[[nodiscard]] bool self_contained_outbound(pb::TransferKind kind);
// A new run of the workflow ID replaces the closed run `closed`: its self-contained outbound
// messages not yet acknowledged are listed in `next.outbound` too (their records keep the run ID
// of their sender), so that recovery, which wakes the current run, sends them again.
void carry_outbound(const pb::MutableState& closed, pb::MutableState& next);
// The same queued message (kind, event, sending run).
[[nodiscard]] bool same_outbound(const pb::TransferRecord& a, const pb::TransferRecord& b);

}  // namespace chronicle
