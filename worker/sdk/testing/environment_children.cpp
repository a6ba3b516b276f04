// The test environment's child workflows: each runs in an environment of its own (same registry
// and mocks) from the virtual time it was initiated at; the parent hears of its start at once and
// of its close at the child's virtual close time. See environment.hpp.
#include <exception>

#include "worker/sdk/testing/environment_impl.hpp"

namespace chronicle::sdk::testing {

namespace {

pb::ChildWorkflowClosed closed_notice(const pb::ParentInfo& parent, const std::string& child_id,
                                      const std::string& child_run, const std::string& type,
                                      const workflow_outcome& outcome) {
  pb::ChildWorkflowClosed closed;
  *closed.mutable_parent() = parent;
  closed.set_namespace_(test_namespace);
  closed.mutable_child()->set_workflow_id(child_id);
  closed.mutable_child()->set_run_id(child_run);
  closed.set_workflow_type(type);
  closed.set_status(outcome.status);
  if (outcome.completed()) *closed.mutable_result() = to_payload(outcome.result);
  else *closed.mutable_failure() = outcome.failure;
  return closed;
}

}  // namespace

void environment::impl::run_child(const pb::TransferRecord& r) {
  const int64_t initiated = r.scheduled_event_id();
  auto it = state.pending_children().find(initiated);
  if (it == state.pending_children().end()) return;  // stale
  const pb::PendingChild child = it->second;
  const std::string label = "child workflow '" + child.workflow_id() + "'";
  environment env(reg, now);
  env.impl_->mocks = mocks;
  env.impl_->run_id = run_id + "-child-" + std::to_string(initiated);
  json input;
  try {
    input = from_payload(child.input());
  } catch (const std::exception& e) {
    error = label + ": input: " + e.what();
    return;
  }
  start_options options;
  options.workflow_id = child.workflow_id();
  options.task_queue = child.task_queue();
  options.execution_timeout = std::chrono::milliseconds(child.workflow_execution_timeout_ms());
  if (step(input::child_started{initiated, env.impl_->run_id})) return;  // stale
  // The parent knows the child by its first run (a chain of continue-as-new is the same child).
  const std::string first_run = env.impl_->run_id;
  workflow_outcome outcome = env.execute(child.workflow_type(), input, options);
  if (!outcome.error.empty()) {
    error = label + ": " + outcome.error;
    return;
  }
  pb::ParentInfo parent;
  parent.set_namespace_(test_namespace);
  parent.set_workflow_id(workflow_id);
  parent.set_run_id(run_id);
  parent.set_initiated_event_id(initiated);
  // The parent hears of the close when the child's clock got there.
  callbacks.emplace(env.now_ms(), [this, closed = closed_notice(parent, child.workflow_id(),
                                                                 first_run,
                                                                 child.workflow_type(), outcome)] {
    step(input::child_closed{closed});
  });
}

}  // namespace chronicle::sdk::testing
