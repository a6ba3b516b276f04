// Workflow task answers: see workflow_task.hpp for the contract.
#include "worker/sdk/workflow_task.hpp"

#include <utility>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_check.hpp"
#include "worker/sdk/replay_machine.hpp"

namespace chronicle::sdk {

namespace detail {

workflow_task_result answer_task(const pb::TaskToken& token, const std::string& identity,
                                 const std::function<std::vector<pb::Command>()>& body,
                                 const std::vector<pb::UpdateRejection>* rejections) {
  auto failed = [&](const std::string& type, const std::string& message) {
    pb::RespondWorkflowTaskFailed response;
    *response.mutable_token() = token;
    *response.mutable_failure() = worker_failure(type, message);
    response.set_identity(identity);
    return response;
  };
  try {
    std::vector<pb::Command> commands = body();
    pb::RespondWorkflowTaskCompleted response;
    *response.mutable_token() = token;
    for (auto& command : commands) *response.add_commands() = std::move(command);
    if (rejections)
      for (const auto& rejection : *rejections) *response.add_update_rejections() = rejection;
    response.set_identity(identity);
    return response;
  } catch (const task_failure& e) {
    return failed(e.type(), e.what());
  } catch (const nondeterminism_error& e) {
    return failed(nondeterminism_type, e.what());
  } catch (const std::exception& e) {
    return failed(workflow_task_error_type, e.what());
  }
}

const workflow_fn& find_workflow(const registry& reg, const std::string& workflow_type) {
  const workflow_fn* fn = reg.find_workflow(workflow_type);
  if (!fn)
    throw task_failure(unknown_workflow_type,
                       not_registered_message("workflow", workflow_type, reg.workflow_names()));
  return *fn;
}

}  // namespace detail

workflow_task_result run_workflow_task(const registry& reg, const pb::WorkflowTask& task,
                                       const std::string& identity) {
  std::vector<pb::UpdateRejection> rejections;
  return detail::answer_task(task.token(), identity, [&] {
    std::string workflow_type = detail::validate_history(task);
    const workflow_fn& fn = detail::find_workflow(reg, workflow_type);
    detail::replay_machine machine(task.history(), task.token(), workflow_type, fn);
    machine.set_update_requests({task.updates().begin(), task.updates().end()});
    auto commands = machine.run();
    rejections = machine.take_rejections();
    return commands;
  }, &rejections);
}

}  // namespace chronicle::sdk
