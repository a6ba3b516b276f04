// The test environment's messages between workflows: child workflows (each an execution of the
// same world, from the virtual time it was initiated at; the parent hears of its start at once and
// of its close when it closes), parent close policies applied when a parent closes, and signals /
// cancel requests to other workflows of the environment, answered to the sender at once. Each goes
// through decide on both sides, as a node's messages do (actors/execution/outbound.cpp). See
// environment.hpp.
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

// Is `target` (running) the run a message names? An empty run ID names the current run; a child's
// first run ID names its chain (the parent knows the child by it).
bool names_run(const std::string& run_id, const std::string& current_run,
               const std::string& first_run) {
  return run_id.empty() || run_id == current_run || run_id == first_run;
}

}  // namespace

void environment::impl::run_child(const pb::TransferRecord& r) {
  const int64_t initiated = r.scheduled_event_id();
  auto it = state.pending_children().find(initiated);
  if (it == state.pending_children().end()) return;  // stale
  const pb::PendingChild child = it->second;
  auto env = std::make_unique<environment>(reg, now);
  env->impl_ = std::make_unique<impl>(reg, now, &w);
  impl& c = *env->impl_;
  w.children.push_back(std::move(env));
  c.mocks = mocks;
  c.run_id = run_id + "-child-" + std::to_string(initiated);
  c.label = "child workflow '" + child.workflow_id() + "'";
  json input;
  try {
    input = from_payload(child.input());
  } catch (const std::exception& e) {
    c.error = std::string("input: ") + e.what();
    return;
  }
  if (step(input::child_started{initiated, c.run_id})) return;  // stale
  start_options options;
  options.workflow_id = child.workflow_id();
  options.task_queue = child.task_queue();
  options.execution_timeout = std::chrono::milliseconds(child.workflow_execution_timeout_ms());
  pb::ParentInfo parent;
  parent.set_namespace_(test_namespace);
  parent.set_workflow_id(workflow_id);
  parent.set_run_id(run_id);
  parent.set_initiated_event_id(initiated);
  if (auto refused = c.start(child.workflow_type(), input, options, &parent,
                             child.parent_close_policy());
      !refused.empty())
    c.error = refused;
}

// This child's run closed (not continued as new): its parent records how.
void environment::impl::notify_parent() {
  if (!state.has_parent()) return;
  impl* parent = w.find(state.parent().workflow_id());
  if (!parent || parent->run_id != state.parent().run_id()) return;  // the parent moved on
  parent->step(input::child_closed{
    closed_notice(state.parent(), workflow_id, first_run_id, workflow_type, outcome())});
}

// This parent closed: its child gets the parent close policy (terminate or request cancel; abandon
// queues nothing), on the child's current run, with a node's reasons.
void environment::impl::apply_close_policy(const pb::TransferRecord& r) {
  impl* child = w.find(r.target_workflow_id());
  if (!child || !is_running(child->state)) return;
  const std::string reason = "parent workflow " + r.workflow_id() + " closed";
  if (r.policy() == pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL)
    child->step(input::request_cancel_workflow{
      reason + " (parent close policy: request cancel)", "chronicle",
      r.run_id() + "/" + std::to_string(r.scheduled_event_id())});
  else if (r.policy() == pb::PARENT_CLOSE_POLICY_TERMINATE)
    child->step(
      input::terminate_workflow{reason + " (parent close policy: terminate)", "chronicle"});
}

void environment::impl::deliver_external(const pb::TransferRecord& r) {
  const int64_t initiated = r.scheduled_event_id();
  const std::string request_id = r.run_id() + "/" + std::to_string(initiated);
  const std::string identity = "workflow " + r.workflow_id();
  impl* target = w.find(r.target_workflow_id());
  const bool same_namespace =
    r.target_namespace().empty() || r.target_namespace() == test_namespace;
  if (!target || !same_namespace || !is_running(target->state) ||
      !names_run(r.target_run_id(), target->run_id, target->first_run_id)) {
    step(input::external_failed{initiated, "ExternalWorkflowExecutionNotFound",
                                "workflow '" + r.target_workflow_id() + "' not found"});
    return;
  }
  std::optional<rejection> refused;
  if (r.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL)
    refused =
      target->step(input::signal_workflow{r.signal_name(), r.input(), identity, request_id});
  else
    refused = target->step(input::request_cancel_workflow{
      r.reason().empty() ? "requested by workflow " + r.workflow_id() : r.reason(), identity,
      request_id});
  if (refused)
    step(input::external_failed{initiated,
                                refused->code == errc::not_found
                                  ? "ExternalWorkflowExecutionNotFound"
                                  : "ExternalWorkflowExecutionRefused",
                                refused->message});
  else
    step(input::external_delivered{initiated, target->run_id});
}

}  // namespace chronicle::sdk::testing
