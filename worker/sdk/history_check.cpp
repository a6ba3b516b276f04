// History checks: see history_check.hpp for the contract.
#include "worker/sdk/history_check.hpp"

#include <utility>

#include "worker/sdk/errors.hpp"

namespace chronicle::sdk::detail {

task_failure::task_failure(std::string type, const std::string& message)
    : std::runtime_error(message), type_(std::move(type)) {}

void invalid_history(const std::string& message) {
  throw task_failure(invalid_history_type, "invalid workflow task history: " + message);
}

std::string event_label(const pb::HistoryEvent& event) {
  return "event " + std::to_string(event.event_id()) + " (" +
         event_type_name(event.event_type()) + ")";
}

namespace {

// The attributes an event of `type` carries, or NOT_SET for types this SDK does not know.
pb::HistoryEvent::AttributesCase attributes_of(pb::EventType type) {
  using E = pb::HistoryEvent;
  switch (type) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: return E::kWorkflowExecutionStarted;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: return E::kWorkflowExecutionCompleted;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: return E::kWorkflowExecutionFailed;
    case pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: return E::kWorkflowTaskScheduled;
    case pb::EVENT_TYPE_WORKFLOW_TASK_STARTED: return E::kWorkflowTaskStarted;
    case pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED: return E::kWorkflowTaskCompleted;
    case pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: return E::kWorkflowTaskTimedOut;
    case pb::EVENT_TYPE_WORKFLOW_TASK_FAILED: return E::kWorkflowTaskFailed;
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: return E::kActivityTaskScheduled;
    case pb::EVENT_TYPE_ACTIVITY_TASK_STARTED: return E::kActivityTaskStarted;
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: return E::kActivityTaskCompleted;
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED: return E::kActivityTaskFailed;
    case pb::EVENT_TYPE_TIMER_STARTED: return E::kTimerStarted;
    case pb::EVENT_TYPE_TIMER_FIRED: return E::kTimerFired;
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: return E::kActivityTaskCancelRequested;
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED: return E::kActivityTaskCanceled;
    case pb::EVENT_TYPE_TIMER_CANCELED: return E::kTimerCanceled;
    case pb::EVENT_TYPE_MARKER_RECORDED: return E::kMarkerRecorded;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: return E::kWorkflowExecutionSignaled;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return E::kWorkflowExecutionCancelRequested;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: return E::kWorkflowExecutionCanceled;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: return E::kWorkflowExecutionTerminated;
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: return E::kActivityTaskTimedOut;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: return E::kWorkflowExecutionTimedOut;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return E::kWorkflowExecutionContinuedAsNew;
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      return E::kStartChildWorkflowExecutionInitiated;
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      return E::kStartChildWorkflowExecutionFailed;
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: return E::kChildWorkflowExecutionStarted;
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return E::kChildWorkflowExecutionClosed;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      return E::kWorkflowExecutionUpdateAccepted;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return E::kWorkflowExecutionUpdateCompleted;
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return E::kSignalExternalWorkflowExecutionInitiated;
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return E::kSignalExternalWorkflowExecutionFailed;
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
      return E::kExternalWorkflowExecutionSignaled;
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return E::kRequestCancelExternalWorkflowExecutionInitiated;
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return E::kRequestCancelExternalWorkflowExecutionFailed;
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return E::kExternalWorkflowExecutionCancelRequested;
    case pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      return E::kUpsertWorkflowSearchAttributes;
    case pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: return E::kWorkflowPropertiesModified;
    // The server's own bookkeeping (the code sees nothing of them).
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED: return E::kWorkflowExecutionPaused;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED: return E::kWorkflowExecutionUnpaused;
    default: return E::ATTRIBUTES_NOT_SET;
  }
}

// Events whose attributes the replayer reads: they must be present.
bool attributes_required(pb::EventType type) {
  switch (type) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case pb::EVENT_TYPE_TIMER_STARTED:
    case pb::EVENT_TYPE_TIMER_FIRED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
    case pb::EVENT_TYPE_TIMER_CANCELED:
    case pb::EVENT_TYPE_MARKER_RECORDED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return true;
    default:
      return false;
  }
}

}  // namespace

void validate_events(const history_t& history, int from, int64_t previous_id,
                     int64_t started_event_id) {
  if (history.size() <= from) invalid_history("the task carries no new event");
  const auto& last = history[history.size() - 1];
  if (last.event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_STARTED)
    invalid_history("the last event is " + event_label(last) + ", not WorkflowTaskStarted");
  if (started_event_id != 0 && started_event_id != last.event_id())
    invalid_history("the task's started_event_id " + std::to_string(started_event_id) +
                    " is not the last event id " + std::to_string(last.event_id()));
  for (int i = from; i < history.size(); ++i) {
    const auto& event = history[i];
    if (event.event_id() <= previous_id)
      invalid_history("event ids are not increasing at " + event_label(event));
    previous_id = event.event_id();
    auto expected = attributes_of(event.event_type());
    if (expected == pb::HistoryEvent::ATTRIBUTES_NOT_SET)
      invalid_history(event_label(event) + " has an unsupported event type " +
                      std::to_string(static_cast<int>(event.event_type())));
    auto actual = event.attributes_case();
    if (actual != expected &&
        (actual != pb::HistoryEvent::ATTRIBUTES_NOT_SET || attributes_required(event.event_type())))
      invalid_history(event_label(event) + " lacks its attributes");
  }
}

std::string validate_history(const pb::WorkflowTask& task) {
  const history_t& history = task.history();
  if (history.empty()) invalid_history("the history is empty");
  if (history[0].event_type() != pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    invalid_history("the first event is " + event_label(history[0]) +
                    ", not WorkflowExecutionStarted");
  validate_events(history, 0, 0, task.started_event_id());
  const std::string& recorded = history[0].workflow_execution_started().workflow_type().name();
  if (!task.workflow_type().empty() && !recorded.empty() && task.workflow_type() != recorded)
    invalid_history("the task's workflow type '" + task.workflow_type() +
                    "' differs from the started event's '" + recorded + "'");
  return task.workflow_type().empty() ? recorded : task.workflow_type();
}

}  // namespace chronicle::sdk::detail
