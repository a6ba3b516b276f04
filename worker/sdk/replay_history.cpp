// Replaying a recorded history: see replay_history.hpp for the contract.
#include "worker/sdk/replay_history.hpp"

#include <exception>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_check.hpp"
#include "worker/sdk/replay_machine.hpp"
#include "worker/sdk/workflow_task.hpp"

namespace chronicle::sdk {

namespace {

// The history closed by a synthetic workflow task (WorkflowTaskScheduled + Started), as a query
// replays it: the commands of the last completed task are then checked when it starts.
// REQUIRES: `events` is not empty.
pb::WorkflowTask synthetic_task(const std::vector<pb::HistoryEvent>& events,
                                const std::string& run_id) {
  pb::WorkflowTask task;
  task.mutable_token()->set_run_id(run_id);
  for (const auto& event : events) *task.add_history() = event;
  int64_t next = events.back().event_id() + 1;
  int64_t now = events.back().event_time_ms();  // the code's ctx.now_ms() in that task
  auto* scheduled = task.add_history();
  scheduled->set_event_id(next);
  scheduled->set_event_time_ms(now);
  scheduled->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  scheduled->mutable_workflow_task_scheduled();
  auto* started = task.add_history();
  started->set_event_id(next + 1);
  started->set_event_time_ms(now);
  started->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  started->mutable_workflow_task_started()->set_scheduled_event_id(next);
  return task;
}

replay_result failed(std::string type, std::string message, int64_t event_id = 0) {
  return replay_result{std::move(type), std::move(message), event_id};
}

}  // namespace

bool replay_result::nondeterministic() const { return error_type == nondeterminism_type; }

replay_result replay_history(const registry& reg, const std::vector<pb::HistoryEvent>& events,
                             const std::string& run_id) {
  if (events.empty())
    return failed(invalid_history_type, "invalid history: it has no events");
  pb::WorkflowTask task = synthetic_task(events, run_id);
  try {
    std::string workflow_type = detail::validate_history(task);
    const workflow_fn& fn = detail::find_workflow(reg, workflow_type);
    task.mutable_token()->set_workflow_id(
        events.front().workflow_execution_started().workflow_id());
    detail::replay_machine machine(task.history(), task.token(), workflow_type, fn);
    machine.run();
    return {};
  } catch (const detail::task_failure& e) {
    return failed(e.type(), e.what());
  } catch (const nondeterminism_error& e) {
    return failed(nondeterminism_type, e.what(), e.event_id());
  } catch (const std::exception& e) {
    return failed(workflow_task_error_type, e.what());
  }
}

replay_result replay_history(const registry& reg, const pb::GetHistoryResponse& history) {
  return replay_history(reg, {history.events().begin(), history.events().end()},
                        history.run_id());
}

std::string describe(const replay_result& result) {
  if (result.ok()) return "replays clean";
  std::string where =
      result.event_id != 0 ? " at event " + std::to_string(result.event_id) : std::string();
  return result.error_type + where + ": " + result.message;
}

}  // namespace chronicle::sdk
