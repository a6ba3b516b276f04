#include "worker/sdk/describe.hpp"

namespace chronicle::sdk {

std::string describe_event(const pb::HistoryEvent& event) {
  std::string name = event_type_name(event.event_type());
  switch (event.event_type()) {
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      const auto& a = event.activity_task_scheduled();
      return name + "(activity_id=" + a.activity_id() + ", type=" + a.activity_type().name() + ")";
    }
    case pb::EVENT_TYPE_TIMER_STARTED:
      return name + "(timer_id=" + event.timer_started().timer_id() + ")";
    case pb::EVENT_TYPE_TIMER_FIRED:
      return name + "(timer_id=" + event.timer_fired().timer_id() + ")";
    case pb::EVENT_TYPE_TIMER_CANCELED:
      return name + "(timer_id=" + event.timer_canceled().timer_id() + ")";
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
      return name + "(scheduled_event_id=" +
             std::to_string(event.activity_task_cancel_requested().scheduled_event_id()) + ")";
    case pb::EVENT_TYPE_MARKER_RECORDED:
      return name + "(marker_name=" + event.marker_recorded().marker_name() + ")";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      return name + "(signal_name=" + event.workflow_execution_signaled().signal_name() + ")";
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
      const auto& a = event.start_child_workflow_execution_initiated();
      return name + "(workflow_id=" + a.workflow_id() + ", type=" + a.workflow_type().name() + ")";
    }
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: {
      const auto& a = event.workflow_execution_update_accepted();
      return name + "(update_id=" + a.update_id() + ", name=" + a.name() + ")";
    }
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return name + "(update_id=" + event.workflow_execution_update_completed().update_id() + ")";
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      const auto& a = event.signal_external_workflow_execution_initiated();
      return name + "(workflow_id=" + a.workflow_execution().workflow_id() +
             ", signal_name=" + a.signal_name() + ")";
    }
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return name + "(workflow_id=" +
             event.request_cancel_external_workflow_execution_initiated()
                 .workflow_execution()
                 .workflow_id() +
             ")";
    default:
      return name;
  }
}

std::string describe_command(const pb::Command& command) {
  switch (command.attributes_case()) {
    case pb::Command::kScheduleActivityTask: {
      const auto& a = command.schedule_activity_task();
      return "ScheduleActivityTask(activity_id=" + a.activity_id() +
             ", type=" + a.activity_type().name() + ")";
    }
    case pb::Command::kStartTimer:
      return "StartTimer(timer_id=" + command.start_timer().timer_id() + ")";
    case pb::Command::kCompleteWorkflowExecution:
      return "CompleteWorkflowExecution";
    case pb::Command::kFailWorkflowExecution:
      return "FailWorkflowExecution";
    case pb::Command::kRequestCancelActivityTask:
      return "RequestCancelActivityTask(scheduled_event_id=" +
             std::to_string(command.request_cancel_activity_task().scheduled_event_id()) + ")";
    case pb::Command::kCancelTimer:
      return "CancelTimer(timer_id=" + command.cancel_timer().timer_id() + ")";
    case pb::Command::kCancelWorkflowExecution:
      return "CancelWorkflowExecution";
    case pb::Command::kRecordMarker:
      return "RecordMarker(marker_name=" + command.record_marker().marker_name() + ")";
    case pb::Command::kContinueAsNewWorkflowExecution:
      return "ContinueAsNewWorkflowExecution";
    case pb::Command::kStartChildWorkflowExecution: {
      const auto& a = command.start_child_workflow_execution();
      return "StartChildWorkflowExecution(workflow_id=" + a.workflow_id() +
             ", type=" + a.workflow_type() + ")";
    }
    case pb::Command::kAcceptWorkflowUpdate:
      return "AcceptWorkflowUpdate(update_id=" + command.accept_workflow_update().update_id() +
             ", name=" + command.accept_workflow_update().name() + ")";
    case pb::Command::kCompleteWorkflowUpdate:
      return "CompleteWorkflowUpdate(update_id=" + command.complete_workflow_update().update_id() +
             ")";
    case pb::Command::kSignalExternalWorkflowExecution: {
      const auto& a = command.signal_external_workflow_execution();
      return "SignalExternalWorkflowExecution(workflow_id=" + a.workflow_id() +
             ", signal_name=" + a.signal_name() + ")";
    }
    case pb::Command::kRequestCancelExternalWorkflowExecution:
      return "RequestCancelExternalWorkflowExecution(workflow_id=" +
             command.request_cancel_external_workflow_execution().workflow_id() + ")";
    case pb::Command::kUpsertWorkflowSearchAttributes:
      return "UpsertWorkflowSearchAttributes";
    case pb::Command::kModifyWorkflowProperties:
      return "ModifyWorkflowProperties";
    default:
      return "EmptyCommand";
  }
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

std::string not_registered_message(const std::string& kind, const std::string& type,
                                   const std::vector<std::string>& known) {
  return kind + " type '" + type + "' is not registered on this worker (registered: " +
         join_names(known) + ")";
}

}  // namespace chronicle::sdk
