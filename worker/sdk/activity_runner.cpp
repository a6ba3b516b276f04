// Activity task execution: see activity_runner.hpp for the contract of run_activity_task.
#include "worker/sdk/activity_runner.hpp"

#include <utility>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"

namespace chronicle::sdk {

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
    return failed(worker_failure(activity_error_type, e.what()));
  } catch (...) {
    return failed(worker_failure(activity_error_type, "activity threw a non-standard exception"));
  }
}

}  // namespace chronicle::sdk
