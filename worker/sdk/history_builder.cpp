#include "worker/sdk/history_builder.hpp"

#include <stdexcept>
#include <utility>

namespace chronicle::sdk {

history_builder::history_builder(std::string workflow_type, const json& input,
                                 std::string workflow_id, std::string run_id,
                                 std::string task_queue, int64_t start_ms)
    : workflow_type_(std::move(workflow_type)),
      workflow_id_(std::move(workflow_id)),
      run_id_(std::move(run_id)),
      task_queue_(std::move(task_queue)),
      clock_ms_(start_ms) {
  auto* attrs = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).mutable_workflow_execution_started();
  attrs->mutable_workflow_type()->set_name(workflow_type_);
  attrs->set_task_queue(task_queue_);
  *attrs->mutable_input() = to_payload(input);
  attrs->set_workflow_id(workflow_id_);
  attrs->set_namespace_("default");
}

pb::HistoryEvent& history_builder::append(pb::EventType type) {
  pb::HistoryEvent event;
  event.set_event_id(static_cast<int64_t>(events_.size()) + 1);
  event.set_event_time_ms(clock_ms_);
  event.set_event_type(type);
  events_.push_back(std::move(event));
  return events_.back();
}

int64_t history_builder::workflow_task_scheduled() {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  event.mutable_workflow_task_scheduled()->set_task_queue(task_queue_);
  event.mutable_workflow_task_scheduled()->set_attempt(wt_attempt_);
  return last_wt_scheduled_ = event.event_id();
}

int64_t history_builder::workflow_task_started() {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  event.mutable_workflow_task_started()->set_scheduled_event_id(last_wt_scheduled_);
  event.mutable_workflow_task_started()->set_identity("test-worker");
  return last_wt_started_ = event.event_id();
}

int64_t history_builder::workflow_task_completed() {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  event.mutable_workflow_task_completed()->set_scheduled_event_id(last_wt_scheduled_);
  event.mutable_workflow_task_completed()->set_started_event_id(last_wt_started_);
  wt_attempt_ = 1;
  return last_wt_completed_ = event.event_id();
}

int64_t history_builder::workflow_task_failed(const std::string& message,
                                              pb::WorkflowTaskFailedCause cause) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  auto* attrs = event.mutable_workflow_task_failed();
  attrs->set_scheduled_event_id(last_wt_scheduled_);
  attrs->set_started_event_id(last_wt_started_);
  attrs->mutable_failure()->set_message(message);
  attrs->set_cause(cause);
  wt_attempt_ = cause == pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND ? 1 : wt_attempt_ + 1;
  return event.event_id();
}

int64_t history_builder::workflow_task_timed_out(const std::string& cause) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  auto* attrs = event.mutable_workflow_task_timed_out();
  attrs->set_scheduled_event_id(last_wt_scheduled_);
  attrs->set_started_event_id(last_wt_started_);
  attrs->set_cause(cause);
  ++wt_attempt_;
  return event.event_id();
}

int64_t history_builder::new_workflow_task() {
  workflow_task_scheduled();
  return workflow_task_started();
}

std::vector<int64_t> history_builder::complete_workflow_task(
    const pb::RespondWorkflowTaskCompleted& response) {
  workflow_task_completed();
  std::vector<int64_t> ids;
  for (const auto& command : response.commands()) {
    switch (command.attributes_case()) {
      case pb::Command::kScheduleActivityTask: {
        const auto& c = command.schedule_activity_task();
        ids.push_back(activity_scheduled(c.activity_id(), c.activity_type().name(),
                                         from_payload(c.input())));
        break;
      }
      case pb::Command::kStartTimer:
        ids.push_back(timer_started(command.start_timer().timer_id(),
                                    command.start_timer().start_to_fire_timeout_ms()));
        break;
      case pb::Command::kCompleteWorkflowExecution:
        ids.push_back(workflow_completed(command.complete_workflow_execution().result()));
        break;
      case pb::Command::kFailWorkflowExecution:
        ids.push_back(workflow_failed(command.fail_workflow_execution().failure()));
        break;
      case pb::Command::kRequestCancelActivityTask: {
        int64_t scheduled = command.request_cancel_activity_task().scheduled_event_id();
        ids.push_back(activity_cancel_requested(scheduled));
        activity_canceled(scheduled, ids.back());
        break;
      }
      case pb::Command::kCancelTimer:
        ids.push_back(timer_canceled(command.cancel_timer().timer_id()));
        break;
      case pb::Command::kCancelWorkflowExecution:
        ids.push_back(workflow_canceled());
        break;
      case pb::Command::kStartChildWorkflowExecution:
        ids.push_back(child_initiated(command.start_child_workflow_execution()));
        break;
      case pb::Command::kContinueAsNewWorkflowExecution:
        ids.push_back(continued_as_new(command.continue_as_new_workflow_execution()));
        break;
      case pb::Command::kRecordMarker:
        ids.push_back(marker_recorded(command.record_marker()));
        break;
      case pb::Command::kAcceptWorkflowUpdate:
        ids.push_back(update_accepted(command.accept_workflow_update()));
        break;
      case pb::Command::kCompleteWorkflowUpdate:
        ids.push_back(update_completed(command.complete_workflow_update()));
        break;
      case pb::Command::kSignalExternalWorkflowExecution:
        ids.push_back(signal_external_initiated(command.signal_external_workflow_execution()));
        break;
      case pb::Command::kRequestCancelExternalWorkflowExecution:
        ids.push_back(
            cancel_external_initiated(command.request_cancel_external_workflow_execution()));
        break;
      default:
        throw std::invalid_argument("history_builder: empty command");
    }
  }
  return ids;
}

int64_t history_builder::activity_scheduled(const std::string& activity_id,
                                            const std::string& type, const json& input) {
  auto& event = append(pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  auto* attrs = event.mutable_activity_task_scheduled();
  attrs->set_activity_id(activity_id);
  attrs->mutable_activity_type()->set_name(type);
  attrs->set_task_queue(task_queue_);
  *attrs->mutable_input() = to_payload(input);
  attrs->set_workflow_task_completed_event_id(last_wt_completed_);
  return activities_[activity_id] = event.event_id();
}

int64_t history_builder::activity_started(int64_t scheduled_event_id) {
  auto& event = append(pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  event.mutable_activity_task_started()->set_scheduled_event_id(scheduled_event_id);
  event.mutable_activity_task_started()->set_attempt(1);
  event.mutable_activity_task_started()->set_identity("test-worker");
  return activity_started_[scheduled_event_id] = event.event_id();
}

int64_t history_builder::activity_completed(int64_t scheduled_event_id, const json& result) {
  auto& event = append(pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  auto* attrs = event.mutable_activity_task_completed();
  *attrs->mutable_result() = to_payload(result);
  attrs->set_scheduled_event_id(scheduled_event_id);
  attrs->set_started_event_id(activity_started_[scheduled_event_id]);
  return event.event_id();
}

int64_t history_builder::activity_failed(int64_t scheduled_event_id, const pb::Failure& failure) {
  auto& event = append(pb::EVENT_TYPE_ACTIVITY_TASK_FAILED);
  auto* attrs = event.mutable_activity_task_failed();
  *attrs->mutable_failure() = failure;
  attrs->set_scheduled_event_id(scheduled_event_id);
  attrs->set_started_event_id(activity_started_[scheduled_event_id]);
  return event.event_id();
}

int64_t history_builder::timer_started(const std::string& timer_id, int64_t duration_ms) {
  auto& event = append(pb::EVENT_TYPE_TIMER_STARTED);
  event.mutable_timer_started()->set_timer_id(timer_id);
  event.mutable_timer_started()->set_start_to_fire_timeout_ms(duration_ms);
  event.mutable_timer_started()->set_workflow_task_completed_event_id(last_wt_completed_);
  return timers_[timer_id] = event.event_id();
}

int64_t history_builder::timer_fired(int64_t started_event_id) {
  std::string timer_id;
  if (started_event_id >= 1 && started_event_id <= static_cast<int64_t>(events_.size()))
    timer_id = events_[static_cast<size_t>(started_event_id - 1)].timer_started().timer_id();
  auto& event = append(pb::EVENT_TYPE_TIMER_FIRED);
  event.mutable_timer_fired()->set_timer_id(timer_id);
  event.mutable_timer_fired()->set_started_event_id(started_event_id);
  return event.event_id();
}

int64_t history_builder::workflow_completed(const pb::Payload& result) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  *event.mutable_workflow_execution_completed()->mutable_result() = result;
  event.mutable_workflow_execution_completed()->set_workflow_task_completed_event_id(
      last_wt_completed_);
  return event.event_id();
}

int64_t history_builder::workflow_failed(const pb::Failure& failure) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
  *event.mutable_workflow_execution_failed()->mutable_failure() = failure;
  event.mutable_workflow_execution_failed()->set_workflow_task_completed_event_id(
      last_wt_completed_);
  return event.event_id();
}

int64_t history_builder::workflow_canceled() {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
  event.mutable_workflow_execution_canceled()->set_workflow_task_completed_event_id(
      last_wt_completed_);
  return event.event_id();
}

int64_t history_builder::signaled(const std::string& name, const json& input) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  auto* attrs = event.mutable_workflow_execution_signaled();
  attrs->set_signal_name(name);
  *attrs->mutable_input() = to_payload(input);
  attrs->set_identity("test-client");
  return event.event_id();
}

int64_t history_builder::cancel_requested(const std::string& reason) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  event.mutable_workflow_execution_cancel_requested()->set_cause(reason);
  event.mutable_workflow_execution_cancel_requested()->set_identity("test-client");
  return event.event_id();
}

int64_t history_builder::activity_cancel_requested(int64_t scheduled_event_id) {
  auto& event = append(pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  auto* attrs = event.mutable_activity_task_cancel_requested();
  attrs->set_scheduled_event_id(scheduled_event_id);
  attrs->set_workflow_task_completed_event_id(last_wt_completed_);
  return event.event_id();
}

int64_t history_builder::activity_canceled(int64_t scheduled_event_id,
                                           int64_t cancel_requested_event_id) {
  auto& event = append(pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  auto* attrs = event.mutable_activity_task_canceled();
  attrs->set_scheduled_event_id(scheduled_event_id);
  attrs->set_latest_cancel_requested_event_id(cancel_requested_event_id);
  return event.event_id();
}

int64_t history_builder::marker_recorded(const pb::RecordMarkerCommandAttributes& command) {
  auto& event = append(pb::EVENT_TYPE_MARKER_RECORDED);
  auto* attrs = event.mutable_marker_recorded();
  attrs->set_marker_name(command.marker_name());
  *attrs->mutable_details() = command.details();
  if (command.has_failure()) *attrs->mutable_failure() = command.failure();
  attrs->set_workflow_task_completed_event_id(last_wt_completed_);
  return event.event_id();
}

int64_t history_builder::timer_canceled(const std::string& timer_id) {
  auto& event = append(pb::EVENT_TYPE_TIMER_CANCELED);
  auto* attrs = event.mutable_timer_canceled();
  attrs->set_timer_id(timer_id);
  attrs->set_started_event_id(timer_started_id(timer_id));
  attrs->set_workflow_task_completed_event_id(last_wt_completed_);
  return event.event_id();
}

int64_t history_builder::terminated(const std::string& reason) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  event.mutable_workflow_execution_terminated()->set_reason(reason);
  return event.event_id();
}

int64_t history_builder::child_initiated(
    const pb::StartChildWorkflowExecutionCommandAttributes& command) {
  auto& event = append(pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
  auto* attrs = event.mutable_start_child_workflow_execution_initiated();
  attrs->set_workflow_id(command.workflow_id());
  attrs->mutable_workflow_type()->set_name(command.workflow_type());
  attrs->set_task_queue(command.task_queue());
  *attrs->mutable_input() = command.input();
  attrs->set_parent_close_policy(command.parent_close_policy());
  children_[event.event_id()] = command.workflow_id();
  return event.event_id();
}

int64_t history_builder::signal_external_initiated(
    const pb::SignalExternalWorkflowExecutionCommandAttributes& command) {
  auto& event = append(pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto* attrs = event.mutable_signal_external_workflow_execution_initiated();
  attrs->mutable_workflow_execution()->set_workflow_id(command.workflow_id());
  attrs->mutable_workflow_execution()->set_run_id(command.run_id());
  attrs->set_signal_name(command.signal_name());
  *attrs->mutable_input() = command.input();
  attrs->set_workflow_task_completed_event_id(last_wt_completed_);
  externals_[event.event_id()] = command.workflow_id();
  return event.event_id();
}

int64_t history_builder::cancel_external_initiated(
    const pb::RequestCancelExternalWorkflowExecutionCommandAttributes& command) {
  auto& event = append(pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto* attrs = event.mutable_request_cancel_external_workflow_execution_initiated();
  attrs->mutable_workflow_execution()->set_workflow_id(command.workflow_id());
  attrs->mutable_workflow_execution()->set_run_id(command.run_id());
  attrs->set_reason(command.reason());
  attrs->set_workflow_task_completed_event_id(last_wt_completed_);
  externals_[event.event_id()] = command.workflow_id();
  return event.event_id();
}

int64_t history_builder::external_delivered(int64_t initiated_event_id,
                                            const std::string& run_id) {
  const bool signal = events_[static_cast<size_t>(initiated_event_id - 1)].event_type() ==
                      pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED;
  pb::WorkflowExecution target;
  target.set_workflow_id(externals_[initiated_event_id]);
  target.set_run_id(run_id);
  if (signal) {
    auto& event = append(pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
    auto* attrs = event.mutable_external_workflow_execution_signaled();
    attrs->set_initiated_event_id(initiated_event_id);
    *attrs->mutable_workflow_execution() = target;
    return event.event_id();
  }
  auto& event = append(pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  auto* attrs = event.mutable_external_workflow_execution_cancel_requested();
  attrs->set_initiated_event_id(initiated_event_id);
  *attrs->mutable_workflow_execution() = target;
  return event.event_id();
}

int64_t history_builder::external_failed(int64_t initiated_event_id, const std::string& cause,
                                         const std::string& message) {
  const bool signal = events_[static_cast<size_t>(initiated_event_id - 1)].event_type() ==
                      pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED;
  pb::WorkflowExecution target;
  target.set_workflow_id(externals_[initiated_event_id]);
  if (signal) {
    auto& event = append(pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    auto* attrs = event.mutable_signal_external_workflow_execution_failed();
    attrs->set_initiated_event_id(initiated_event_id);
    *attrs->mutable_workflow_execution() = target;
    attrs->set_cause(cause);
    attrs->set_message(message);
    return event.event_id();
  }
  auto& event = append(pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
  auto* attrs = event.mutable_request_cancel_external_workflow_execution_failed();
  attrs->set_initiated_event_id(initiated_event_id);
  *attrs->mutable_workflow_execution() = target;
  attrs->set_cause(cause);
  attrs->set_message(message);
  return event.event_id();
}

int64_t history_builder::child_started(int64_t initiated_event_id, const std::string& run_id) {
  auto& event = append(pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  auto* attrs = event.mutable_child_workflow_execution_started();
  attrs->set_initiated_event_id(initiated_event_id);
  attrs->mutable_workflow_execution()->set_workflow_id(children_[initiated_event_id]);
  attrs->mutable_workflow_execution()->set_run_id(run_id);
  return event.event_id();
}

int64_t history_builder::child_start_failed(int64_t initiated_event_id, const std::string& cause) {
  auto& event = append(pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED);
  auto* attrs = event.mutable_start_child_workflow_execution_failed();
  attrs->set_initiated_event_id(initiated_event_id);
  attrs->set_workflow_id(children_[initiated_event_id]);
  attrs->set_cause(cause);
  return event.event_id();
}

int64_t history_builder::child_closed(pb::EventType type, int64_t initiated_event_id,
                                      const json& result, const pb::Failure& failure) {
  auto& event = append(type);
  auto* attrs = event.mutable_child_workflow_execution_closed();
  attrs->set_initiated_event_id(initiated_event_id);
  attrs->mutable_workflow_execution()->set_workflow_id(children_[initiated_event_id]);
  if (type == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    *attrs->mutable_result() = to_payload(result);
  else
    *attrs->mutable_failure() = failure;
  return event.event_id();
}

int64_t history_builder::continued_as_new(
    const pb::ContinueAsNewWorkflowExecutionCommandAttributes& command,
    const std::string& new_run_id) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  auto* attrs = event.mutable_workflow_execution_continued_as_new();
  attrs->set_new_execution_run_id(new_run_id);
  attrs->mutable_workflow_type()->set_name(command.workflow_type());
  attrs->set_task_queue(command.task_queue());
  *attrs->mutable_input() = command.input();
  return event.event_id();
}

int64_t history_builder::activity_scheduled_id(const std::string& activity_id) const {
  auto it = activities_.find(activity_id);
  return it == activities_.end() ? 0 : it->second;
}

int64_t history_builder::timer_started_id(const std::string& timer_id) const {
  auto it = timers_.find(timer_id);
  return it == timers_.end() ? 0 : it->second;
}

pb::WorkflowTask history_builder::workflow_task() const {
  pb::WorkflowTask task;
  auto* token = task.mutable_token();
  token->set_namespace_("default");
  token->set_workflow_id(workflow_id_);
  token->set_run_id(run_id_);
  token->set_scheduled_event_id(last_wt_scheduled_);
  token->set_attempt(wt_attempt_);
  task.set_workflow_type(workflow_type_);
  for (const auto& event : events_) *task.add_history() = event;
  task.set_started_event_id(events_.empty() ? 0 : events_.back().event_id());
  return task;
}

}  // namespace chronicle::sdk

namespace chronicle::sdk {

int64_t history_builder::update_accepted(const pb::AcceptWorkflowUpdateCommandAttributes& command) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
  auto* a = event.mutable_workflow_execution_update_accepted();
  a->set_update_id(command.update_id());
  a->set_name(command.name());
  *a->mutable_input() = command.input();
  a->set_identity(command.identity());
  a->set_workflow_task_completed_event_id(last_wt_completed_);
  updates_[command.update_id()] = event.event_id();
  return event.event_id();
}

int64_t history_builder::update_completed(
    const pb::CompleteWorkflowUpdateCommandAttributes& command) {
  auto& event = append(pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
  auto* a = event.mutable_workflow_execution_update_completed();
  a->set_update_id(command.update_id());
  a->set_accepted_event_id(updates_[command.update_id()]);
  if (command.has_failure()) *a->mutable_failure() = command.failure();
  else *a->mutable_result() = command.result();
  a->set_workflow_task_completed_event_id(last_wt_completed_);
  return event.event_id();
}

}  // namespace chronicle::sdk
