// Activity task execution: see activity_runner.hpp for the contract of run_activity_task.
#include "worker/sdk/activity_runner.hpp"

#include <utility>

#include "protocol/task_token.hpp"
#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"

namespace chronicle::sdk {

void activity_info::heartbeat(const json& details) const {
  if (heartbeat_sink) heartbeat_sink(details);
  if (is_cancel_requested()) {
    auto reason = control->reason();
    throw activity_canceled_error(reason.empty() ? "activity canceled" : reason);
  }
}

namespace {

activity_info make_info(const pb::ActivityTask& task, std::shared_ptr<activity_control> control) {
  activity_info info;
  info.workflow_id = task.token().workflow_id();
  info.run_id = task.token().run_id();
  info.activity_id = task.activity_id();
  info.activity_type = task.activity_type();
  info.attempt = task.token().attempt();
  info.task_token = task_token_text(task.token());
  info.control = std::move(control);
  if (task.has_heartbeat_details()) {
    try {
      info.heartbeat_details = from_payload(task.heartbeat_details());
    } catch (const payload_error&) {
      info.heartbeat_details = nullptr;  // not JSON: the activity starts afresh
    }
  }
  return info;
}

}  // namespace

activity_task_result run_activity_task(const registry& reg, const pb::ActivityTask& task,
                                       const std::string& identity,
                                       std::function<void(const pb::Payload&)> heartbeat,
                                       std::shared_ptr<activity_control> control) {
  auto failed = [&](pb::Failure failure) {
    pb::RespondActivityTaskFailed response;
    *response.mutable_token() = task.token();
    *response.mutable_failure() = std::move(failure);
    response.set_identity(identity);
    return response;
  };
  const activity_fn* fn = reg.find_activity(task.activity_type());
  if (!fn)
    return failed(worker_failure(unknown_activity_type,
                                 not_registered_message("activity", task.activity_type(),
                                                        reg.activity_names())));
  json input;
  try {
    input = from_payload(task.input());
  } catch (const payload_error& e) {
    return failed(worker_failure(payload_error_type,
                                 std::string("invalid activity input: ") + e.what(), true));
  }
  if (!control) control = std::make_shared<activity_control>();
  activity_info info = make_info(task, control);
  if (heartbeat)
    info.heartbeat_sink = [heartbeat = std::move(heartbeat)](const json& details) {
      heartbeat(to_payload(details));
    };
  try {
    json result = (*fn)(info, input);
    if (control->completes_async) {
      pb::ActivityTaskAsync pending;
      *pending.mutable_token() = task.token();
      pending.set_identity(identity);
      return pending;
    }
    pb::RespondActivityTaskCompleted response;
    *response.mutable_result() = to_payload(result);
    *response.mutable_token() = task.token();
    response.set_identity(identity);
    return response;
  } catch (const activity_canceled_error& e) {
    if (!control->cancel_requested)  // thrown by the function itself: a failure like another
      return failed(worker_failure(canceled_error_type, e.what(), true));
    pb::RespondActivityTaskCanceled response;
    *response.mutable_token() = task.token();
    *response.mutable_details() = to_payload(json(e.what()));
    response.set_identity(identity);
    return response;
  } catch (const application_error& e) {
    return failed(e.to_failure());
  } catch (const std::exception& e) {
    return failed(worker_failure(activity_error_type, e.what()));
  } catch (...) {
    return failed(worker_failure(activity_error_type, "activity threw a non-standard exception"));
  }
}

}  // namespace chronicle::sdk
