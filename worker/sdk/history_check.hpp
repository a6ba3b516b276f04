// Checks of a workflow task's history before any workflow code runs, and the failure that turns
// into RespondWorkflowTaskFailed. Internal to the SDK (namespace detail).
//
// Contract:
//  - task_failure is the one exception the SDK throws for "this workflow task cannot be answered
//    with commands"; answer_task (workflow_task.hpp) turns it into a failure of its type().
//  - validate_history accepts a history that starts with WorkflowExecutionStarted, has
//    increasing event ids, only event types this SDK knows, each with its attributes (required
//    for the events the replay machine reads), and ends with the WorkflowTaskStarted that is
//    task.started_event_id when that is set; the task's workflow type, when set, must match the
//    started event's. It returns the workflow type to run; anything else throws task_failure of
//    type "InvalidHistory" whose message starts "invalid workflow task history: ".
//  - validate_events checks the same of the events [from, size) that follow `previous_id` (a
//    sticky cache task's new events). Neither changes the history.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "protocol/messages.hpp"

namespace chronicle::sdk::detail {

using history_t = google::protobuf::RepeatedPtrField<pb::HistoryEvent>;

// The workflow task cannot be answered with commands: becomes RespondWorkflowTaskFailed.
class task_failure : public std::runtime_error {
 public:
  task_failure(std::string type, const std::string& message);
  const std::string& type() const { return type_; }

 private:
  std::string type_;
};

// Throws task_failure(InvalidHistory, "invalid workflow task history: " + message).
[[noreturn]] void invalid_history(const std::string& message);

// "event 7 (TimerFired)": how history errors name an event.
std::string event_label(const pb::HistoryEvent& event);

// Checks events [from, size) of `history`: ids increasing (from `previous_id` on), known types
// with their attributes, the last one a WorkflowTaskStarted that is `started_event_id` when set.
void validate_events(const history_t& history, int from, int64_t previous_id,
                     int64_t started_event_id);

// Checks the shape of a whole history; returns the workflow type to run.
std::string validate_history(const pb::WorkflowTask& task);

}  // namespace chronicle::sdk::detail
