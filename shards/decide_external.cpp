// decide for messages to other workflows: the SignalExternalWorkflowExecution and
// RequestCancelExternalWorkflowExecution commands (Initiated events, outbound messages) and the
// answers that close them (ExternalWorkflowExecutionSignaled / CancelRequested, or *Failed).
// See decide.hpp for the contract; the delivery is actors/execution/outbound.cpp.
#include "shards/transition_builder.hpp"

namespace chronicle::detail {

namespace {

// Queues the message initiated by the event just committed; its record carries the target and
// the message (it may be sent after the run closed).
void queue_external(builder& b, pb::TransferKind kind, const std::string& ns,
                    const pb::WorkflowExecution& target, const std::string& signal_name,
                    const pb::Payload* input, const std::string& reason) {
  int64_t id = b.state().next_event_id() - 1;
  auto rec = b.transfer(kind, id, "");
  rec.set_target_namespace(ns);
  rec.set_target_workflow_id(target.workflow_id());
  rec.set_target_run_id(target.run_id());
  rec.set_signal_name(signal_name);
  if (input) *rec.mutable_input() = *input;
  rec.set_reason(reason);
  b.add_outbound(std::move(rec));
}

// This run's queued message initiated at `id`, or null (answered already).
const pb::TransferRecord* queued_external(const pb::MutableState& s, int64_t id) {
  for (auto& rec : s.outbound())
    if ((rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL
         || rec.kind() == pb::TRANSFER_KIND_CANCEL_EXTERNAL)
        && rec.scheduled_event_id() == id && rec.run_id() == s.run_id())
      return &rec;
  return nullptr;
}

void set_target(pb::WorkflowExecution* target, const pb::TransferRecord& rec,
                const std::string& run_id) {
  target->set_workflow_id(rec.target_workflow_id());
  target->set_run_id(run_id);
}

pb::HistoryEvent answer_event(const pb::TransferRecord& rec, bool ok, const std::string& run_id,
                              const std::string& cause, const std::string& message) {
  pb::HistoryEvent ev;
  int64_t id = rec.scheduled_event_id();
  const auto& ns = rec.target_namespace();
  bool signal = rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL;
  if (signal && ok) {
    ev.set_event_type(pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
    auto* a = ev.mutable_external_workflow_execution_signaled();
    a->set_namespace_(ns);
    set_target(a->mutable_workflow_execution(), rec, run_id);
    a->set_initiated_event_id(id);
  } else if (signal) {
    ev.set_event_type(pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    auto* a = ev.mutable_signal_external_workflow_execution_failed();
    a->set_namespace_(ns);
    set_target(a->mutable_workflow_execution(), rec, rec.target_run_id());
    a->set_cause(cause);
    a->set_initiated_event_id(id);
    a->set_message(message);
  } else if (ok) {
    ev.set_event_type(pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    auto* a = ev.mutable_external_workflow_execution_cancel_requested();
    a->set_namespace_(ns);
    set_target(a->mutable_workflow_execution(), rec, run_id);
    a->set_initiated_event_id(id);
  } else {
    ev.set_event_type(pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
    auto* a = ev.mutable_request_cancel_external_workflow_execution_failed();
    a->set_namespace_(ns);
    set_target(a->mutable_workflow_execution(), rec, rec.target_run_id());
    a->set_cause(cause);
    a->set_initiated_event_id(id);
    a->set_message(message);
  }
  return ev;
}

}  // namespace

std::string check_external_command(const pb::Command& c) {
  const std::string* wid = nullptr;
  if (c.has_signal_external_workflow_execution()) {
    auto& a = c.signal_external_workflow_execution();
    if (a.signal_name().empty() || a.signal_name().size() > 1000)
      return "SignalExternalWorkflowExecution needs a signal name of 1 to 1000 bytes";
    wid = &a.workflow_id();
  } else {
    wid = &c.request_cancel_external_workflow_execution().workflow_id();
  }
  if (wid->empty() || wid->size() > 1000)
    return std::string(c.has_signal_external_workflow_execution()
                         ? "SignalExternalWorkflowExecution"
                         : "RequestCancelExternalWorkflowExecution")
           + " needs a workflow ID of 1 to 1000 bytes";
  return {};
}

void signal_external(builder& b, const pb::SignalExternalWorkflowExecutionCommandAttributes& ca,
                     int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
              .mutable_signal_external_workflow_execution_initiated();
  a->set_namespace_(ca.namespace_().empty() ? b.state().namespace_() : ca.namespace_());
  a->mutable_workflow_execution()->set_workflow_id(ca.workflow_id());
  a->mutable_workflow_execution()->set_run_id(ca.run_id());
  a->set_signal_name(ca.signal_name());
  *a->mutable_input() = ca.input();
  a->set_workflow_task_completed_event_id(completed_id);
  const auto ns = a->namespace_();
  const auto target = a->workflow_execution();
  b.commit();
  queue_external(b, pb::TRANSFER_KIND_SIGNAL_EXTERNAL, ns, target, ca.signal_name(), &ca.input(),
                 "");
}

void cancel_external(builder& b,
                     const pb::RequestCancelExternalWorkflowExecutionCommandAttributes& ca,
                     int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
              .mutable_request_cancel_external_workflow_execution_initiated();
  a->set_namespace_(ca.namespace_().empty() ? b.state().namespace_() : ca.namespace_());
  a->mutable_workflow_execution()->set_workflow_id(ca.workflow_id());
  a->mutable_workflow_execution()->set_run_id(ca.run_id());
  a->set_reason(ca.reason());
  a->set_workflow_task_completed_event_id(completed_id);
  const auto ns = a->namespace_();
  const auto target = a->workflow_execution();
  b.commit();
  queue_external(b, pb::TRANSFER_KIND_CANCEL_EXTERNAL, ns, target, "", nullptr, ca.reason());
}

decide_result on_external_answer(const pb::MutableState& s, int64_t initiated_id, bool ok,
                                 const std::string& run_id, const std::string& cause,
                                 const std::string& message, int64_t now) {
  if (!is_running(s)) return reject(errc::stale_task, "workflow execution is closed");
  const auto* rec = queued_external(s, initiated_id);
  if (!rec || !s.pending_externals().count(initiated_id))
    return reject(errc::stale_task, "no message to another workflow is pending at event "
                                      + std::to_string(initiated_id));
  auto ev = answer_event(*rec, ok, run_id, cause, message);
  builder without(s, 0);
  without.remove_outbound(rec->kind(), initiated_id);
  transition removed;
  removed.transfers_removed = without.result().transfers_removed;
  return on_external_events(without.state(), {std::move(ev)}, now, std::move(removed));
}

}  // namespace chronicle::detail
