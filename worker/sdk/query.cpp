// Queries: see query.hpp for the contract.
#include "worker/sdk/query.hpp"

#include <exception>
#include <vector>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/history_check.hpp"
#include "worker/sdk/replay_machine.hpp"

namespace chronicle::sdk {

std::variant<json, std::string> run_query(const registry& reg, const pb::QueryTask& query) {
  // The recorded history, closed by a synthetic workflow task so that it replays like one.
  pb::WorkflowTask task;
  task.set_workflow_type(query.workflow_type());
  task.mutable_token()->set_workflow_id(query.workflow_id());
  task.mutable_token()->set_run_id(query.run_id());
  *task.mutable_history() = query.history();
  int64_t next =
      query.history().empty() ? 1 : query.history(query.history_size() - 1).event_id() + 1;
  auto* scheduled = task.add_history();
  scheduled->set_event_id(next);
  scheduled->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  scheduled->mutable_workflow_task_scheduled();
  auto* started = task.add_history();
  started->set_event_id(next + 1);
  started->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  started->mutable_workflow_task_started()->set_scheduled_event_id(next);
  try {
    std::string workflow_type = detail::validate_history(task);
    const workflow_fn* fn = reg.find_workflow(workflow_type);
    if (!fn)
      return "workflow type '" + workflow_type + "' is not registered on this worker";
    detail::replay_machine machine(task.history(), task.token(), workflow_type, *fn);
    machine.run();
    auto& handlers = machine.context().query_handlers();
    auto it = handlers.find(query.query_type());
    if (it == handlers.end()) {
      std::vector<std::string> known;
      for (auto& [name, h] : handlers) known.push_back(name);
      return "unknown query type '" + query.query_type() + "' (known: " + join_names(known) + ")";
    }
    return it->second(from_payload(query.args()));
  } catch (const std::exception& e) {
    return std::string("query failed: ") + e.what();
  }
}

}  // namespace chronicle::sdk
