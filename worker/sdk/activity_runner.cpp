// Activity task execution: see replayer.hpp for the contract of run_activity_task.
#include <utility>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/replayer.hpp"

namespace chronicle::sdk {

namespace {

pb::Failure make_failure(const std::string& type, const std::string& message,
                         bool non_retryable) {
  pb::Failure failure;
  failure.set_type(type);
  failure.set_message(message);
  failure.set_non_retryable(non_retryable);
  failure.set_source("worker");
  return failure;
}

std::string registered(const registry& reg) {
  std::string out;
  for (const auto& name : reg.activity_names()) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

activity_task_result run_activity_task(const registry& reg, const pb::ActivityTask& task,
                                       const std::string& identity,
                                       std::function<void(const pb::Payload&)> heartbeat) {
  auto failed = [&](pb::Failure failure) {
    pb::RespondActivityTaskFailed response;
    *response.mutable_token() = task.token();
    *response.mutable_failure() = std::move(failure);
    response.set_identity(identity);
    return response;
  };
  const activity_fn* fn = reg.find_activity(task.activity_type());
  if (!fn)
    return failed(make_failure(unknown_activity_type,
                               "activity type '" + task.activity_type() +
                                   "' is not registered on this worker (registered: " +
                                   registered(reg) + ")",
                               false));
  json input;
  try {
    input = from_payload(task.input());
  } catch (const payload_error& e) {
    return failed(
        make_failure(payload_error_type, std::string("invalid activity input: ") + e.what(), true));
  }
  activity_info info;
  info.workflow_id = task.token().workflow_id();
  info.run_id = task.token().run_id();
  info.activity_id = task.activity_id();
  info.activity_type = task.activity_type();
  info.attempt = task.token().attempt();
  if (task.has_heartbeat_details()) {
    try {
      info.heartbeat_details = from_payload(task.heartbeat_details());
    } catch (const payload_error&) {
      info.heartbeat_details = nullptr;  // not JSON: the activity starts afresh
    }
  }
  if (heartbeat)
    info.heartbeat_sink = [heartbeat = std::move(heartbeat)](const json& details) {
      heartbeat(to_payload(details));
    };
  try {
    pb::RespondActivityTaskCompleted response;
    *response.mutable_result() = to_payload((*fn)(info, input));
    *response.mutable_token() = task.token();
    response.set_identity(identity);
    return response;
  } catch (const application_error& e) {
    return failed(e.to_failure());
  } catch (const std::exception& e) {
    return failed(make_failure(activity_error_type, e.what(), false));
  } catch (...) {
    return failed(make_failure(activity_error_type, "activity threw a non-standard exception", false));
  }
}

}  // namespace chronicle::sdk
