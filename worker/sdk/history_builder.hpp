// history_builder: writes workflow histories by hand the way the server records them, for tests
// and tools (e.g. replaying a workflow against a recorded or hand-made history).
//
// Contract: event ids are dense from 1 and every append returns the new event's id. Events are
// stamped with the builder's clock, which only moves with advance(). workflow_task() wraps the
// whole history in the WorkflowTask the server would dispatch for the last WorkflowTaskStarted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::sdk {

class history_builder {
 public:
  // Appends WorkflowExecutionStarted(workflow_type, input).
  explicit history_builder(std::string workflow_type, const json& input = nullptr,
                           std::string workflow_id = "wf-1", std::string run_id = "run-1",
                           std::string task_queue = "default", int64_t start_ms = 1'000'000);

  void advance(int64_t ms) { clock_ms_ += ms; }
  int64_t now_ms() const { return clock_ms_; }

  int64_t workflow_task_scheduled();
  int64_t workflow_task_started();  // of the last WorkflowTaskScheduled
  int64_t workflow_task_completed();
  // The next attempt is 1 after cause UnhandledCommand (the server's rule), else one more.
  int64_t workflow_task_failed(const std::string& message = "workflow task failed",
                               pb::WorkflowTaskFailedCause cause =
                                   pb::WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED);
  int64_t workflow_task_timed_out(const std::string& cause = "worker lost");
  // WorkflowTaskScheduled then WorkflowTaskStarted; returns the started event's id.
  int64_t new_workflow_task();
  // What the server writes when the started task completes with `response`: WorkflowTaskCompleted
  // then one event per command, in order (RequestCancelActivityTask gives two:
  // ActivityTaskCancelRequested and ActivityTaskCanceled). Returns the ids of the command events
  // (the first of the two for a cancel).
  std::vector<int64_t> complete_workflow_task(const pb::RespondWorkflowTaskCompleted& response);

  int64_t activity_scheduled(const std::string& activity_id, const std::string& type,
                             const json& input = nullptr);
  int64_t activity_started(int64_t scheduled_event_id);
  int64_t activity_completed(int64_t scheduled_event_id, const json& result);
  int64_t activity_failed(int64_t scheduled_event_id, const pb::Failure& failure);
  int64_t timer_started(const std::string& timer_id, int64_t duration_ms);
  int64_t timer_fired(int64_t started_event_id);
  int64_t workflow_completed(const pb::Payload& result);
  int64_t workflow_failed(const pb::Failure& failure);
  int64_t workflow_canceled();
  int64_t signaled(const std::string& name, const json& input = nullptr);
  int64_t cancel_requested(const std::string& reason = {});
  int64_t activity_cancel_requested(int64_t scheduled_event_id);
  int64_t activity_canceled(int64_t scheduled_event_id, int64_t cancel_requested_event_id);
  int64_t timer_canceled(const std::string& timer_id);
  int64_t marker_recorded(const pb::RecordMarkerCommandAttributes& command);
  // Workflow Update, as the server records the commands.
  int64_t update_accepted(const pb::AcceptWorkflowUpdateCommandAttributes& command);
  int64_t update_completed(const pb::CompleteWorkflowUpdateCommandAttributes& command);
  int64_t terminated(const std::string& reason);
  // Children and continue-as-new, as the server records them.
  int64_t child_initiated(const pb::StartChildWorkflowExecutionCommandAttributes& command);
  int64_t child_started(int64_t initiated_event_id, const std::string& run_id);
  int64_t child_start_failed(int64_t initiated_event_id, const std::string& cause);
  // `type`: one of the five ChildWorkflowExecution* close types; result for Completed, else failure.
  int64_t child_closed(pb::EventType type, int64_t initiated_event_id, const json& result,
                       const pb::Failure& failure = {});
  // Messages to other workflows, as the server records them: the Initiated event of the command,
  // then its answer (ExternalWorkflowExecutionSignaled / CancelRequested by the initiated kind, or
  // Signal/RequestCancelExternalWorkflowExecutionFailed).
  int64_t signal_external_initiated(
      const pb::SignalExternalWorkflowExecutionCommandAttributes& command);
  int64_t cancel_external_initiated(
      const pb::RequestCancelExternalWorkflowExecutionCommandAttributes& command);
  int64_t external_delivered(int64_t initiated_event_id, const std::string& run_id = "run-t");
  int64_t external_failed(int64_t initiated_event_id,
                          const std::string& cause = "ExternalWorkflowExecutionNotFound",
                          const std::string& message = "workflow not found");
  int64_t continued_as_new(const pb::ContinueAsNewWorkflowExecutionCommandAttributes& command,
                           const std::string& new_run_id = "run-2");

  // The ActivityTaskScheduled event of `activity_id` / TimerStarted of `timer_id`; 0 if none.
  int64_t activity_scheduled_id(const std::string& activity_id) const;
  int64_t timer_started_id(const std::string& timer_id) const;

  pb::WorkflowTask workflow_task() const;
  const std::vector<pb::HistoryEvent>& events() const { return events_; }

 private:
  pb::HistoryEvent& append(pb::EventType type);

  std::string workflow_type_;
  std::string workflow_id_;
  std::string run_id_;
  std::string task_queue_;
  int64_t clock_ms_;
  std::vector<pb::HistoryEvent> events_;
  int64_t last_wt_scheduled_ = 0;
  int64_t last_wt_started_ = 0;
  int64_t last_wt_completed_ = 0;
  int32_t wt_attempt_ = 1;
  std::map<std::string, int64_t> activities_;  // activity_id -> scheduled event id
  std::map<int64_t, int64_t> activity_started_;  // scheduled event id -> started event id
  std::map<std::string, int64_t> timers_;      // timer_id -> started event id
  std::map<int64_t, std::string> children_;    // initiated event id -> child workflow ID
  std::map<std::string, int64_t> updates_;     // update ID -> accepted event id
  std::map<int64_t, std::string> externals_;   // initiated event id -> target workflow ID
};

}  // namespace chronicle::sdk
