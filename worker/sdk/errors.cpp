#include "worker/sdk/errors.hpp"

#include <utility>

namespace chronicle::sdk {

application_error::application_error(std::string type, std::string message, bool non_retryable)
    : std::runtime_error(std::move(message)),
      type_(std::move(type)),
      non_retryable_(non_retryable) {}

pb::Failure worker_failure(const std::string& type, const std::string& message,
                           bool non_retryable) {
  pb::Failure failure;
  failure.set_message(message);
  failure.set_type(type);
  failure.set_non_retryable(non_retryable);
  failure.set_source("worker");
  return failure;
}

pb::Failure application_error::to_failure() const {
  return worker_failure(type_, what(), non_retryable_);
}

activity_failure::activity_failure(pb::Failure failure)
    : application_error(failure.type(), failure.message(), failure.non_retryable()),
      failure_(std::move(failure)) {}

child_workflow_failure::child_workflow_failure(std::string how, pb::Failure failure)
    : application_error(failure.type().empty() ? how : failure.type(),
                        how + ": " + failure.message(), failure.non_retryable()),
      how_(std::move(how)),
      failure_(std::move(failure)) {}

external_workflow_failure::external_workflow_failure(std::string workflow_id,
                                                     const std::string& what_sent,
                                                     std::string cause, const std::string& message)
    : application_error(cause,
                        what_sent + " to workflow '" + workflow_id + "' failed: " + cause
                          + (message.empty() ? "" : " (" + message + ")"),
                        true),
      workflow_id_(std::move(workflow_id)) {}

}  // namespace chronicle::sdk
