// Exceptions of the SDK.
//
//  - application_error: thrown by user code (activity or workflow) to fail with an application
//    error; to_failure() turns it into the wire Failure (source "worker").
//  - activity_failure: what `co_await ctx.activity(...)` throws when the activity failed. It is an
//    application_error carrying the activity's type/message/non_retryable, so a workflow that does
//    not catch it fails with the activity's failure.
//  - canceled_error: what awaiting an activity, timer or signal throws once the workflow execution
//    was asked to cancel (see workflow_context). It is NOT an application_error: a workflow that
//    lets it escape ends Canceled (CancelWorkflowExecution), not Failed.
//  - child_workflow_failure: what `co_await ctx.child_workflow(...)` throws when the child could
//    not start or did not complete (failed, timed out, canceled, terminated). An application_error
//    with the child's failure, so a parent that does not catch it fails with it.
//  - continue_as_new_error: thrown by ctx.continue_as_new(); ends the run with ContinueAsNew when
//    it escapes the workflow function (do not swallow it in a catch (std::exception&)).
//  - activity_canceled_error: what activity_info::heartbeat() throws in an activity once the
//    workflow asked to cancel it (or its attempt is no longer current). Letting it escape the
//    activity function answers RespondActivityTaskCanceled (ActivityTaskCanceled in history).
//    Derived from canceled_error.
//  - nondeterminism_error: workflow code did not produce the commands its history records; the
//    message names the event and both sides, event_id() is that event's id (0: not known).
//
// Also the failure types of the responses the SDK builds (workflow_task.hpp, activity_runner.hpp
// say when each is used) and worker_failure(), the one way those failures are made.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "protocol/messages.hpp"

namespace chronicle::sdk {

// Failure types of the responses built by the SDK.
inline constexpr const char* invalid_history_type = "InvalidHistory";
inline constexpr const char* unknown_workflow_type = "UnknownWorkflowType";
inline constexpr const char* nondeterminism_type = "NonDeterminismError";
inline constexpr const char* payload_error_type = "PayloadError";
inline constexpr const char* workflow_task_error_type = "WorkflowTaskError";
inline constexpr const char* unknown_activity_type = "UnknownActivityType";
inline constexpr const char* activity_error_type = "Error";
inline constexpr const char* canceled_error_type = "CanceledError";

// A failure raised by this worker: type, message, non_retryable and source "worker".
pb::Failure worker_failure(const std::string& type, const std::string& message,
                           bool non_retryable = false);

class application_error : public std::runtime_error {
 public:
  application_error(std::string type, std::string message, bool non_retryable = false);

  const std::string& type() const { return type_; }
  bool non_retryable() const { return non_retryable_; }

  // message = what(), type, non_retryable, source = "worker".
  pb::Failure to_failure() const;

 private:
  std::string type_;
  bool non_retryable_;
};

class activity_failure : public application_error {
 public:
  explicit activity_failure(pb::Failure failure);

  // The failure recorded in history (ActivityTaskFailed), unchanged.
  const pb::Failure& failure() const { return failure_; }

 private:
  pb::Failure failure_;
};

class child_workflow_failure : public application_error {
 public:
  // `how`: the close event's name (e.g. "ChildWorkflowExecutionFailed").
  child_workflow_failure(std::string how, pb::Failure failure);

  const std::string& how() const { return how_; }
  const pb::Failure& failure() const { return failure_; }

 private:
  std::string how_;
  pb::Failure failure_;
};

// A signal or cancel request to another workflow (signal_external / cancel_external) that the
// target refused: type() is the cause (ExternalWorkflowExecutionNotFound when the workflow does
// not exist or is closed), what() says what was sent to whom and the target's answer.
class external_workflow_failure : public application_error {
 public:
  external_workflow_failure(std::string workflow_id, const std::string& what_sent,
                            std::string cause, const std::string& message);

  const std::string& workflow_id() const { return workflow_id_; }
  const std::string& cause() const { return type(); }

 private:
  std::string workflow_id_;
};

class continue_as_new_error : public std::exception {
 public:
  explicit continue_as_new_error(pb::Command command) : command_(std::move(command)) {}
  const char* what() const noexcept override { return "workflow continues as new"; }
  const pb::Command& command() const { return command_; }

 private:
  pb::Command command_;
};

class canceled_error : public std::exception {
 public:
  explicit canceled_error(std::string message = "workflow execution canceled")
      : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

class activity_canceled_error : public canceled_error {
 public:
  explicit activity_canceled_error(std::string message = "activity canceled")
      : canceled_error(std::move(message)) {}
};

class nondeterminism_error : public std::runtime_error {
 public:
  explicit nondeterminism_error(const std::string& message, int64_t event_id = 0)
      : std::runtime_error(message), event_id_(event_id) {}
  // The history event at which code and history diverged (replay_history reports it).
  int64_t event_id() const { return event_id_; }

 private:
  int64_t event_id_;
};

}  // namespace chronicle::sdk
