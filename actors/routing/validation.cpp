#include "actors/routing/validation.hpp"

#include "actors/node/namespaces.hpp"
#include "actors/node/overload.hpp"
#include "actors/routing/catalog.hpp"
#include "shards/flow_control.hpp"

namespace chronicle {

namespace {

using limits = validation_limits;

// Returns an empty string when the payload fits the limit, else the reason naming `what`.
std::string check_payload(const std::string& what, const pb::Payload& p, size_t limit) {
  auto size = p.ByteSizeLong();
  if (size <= limit) return {};
  return what + " is " + std::to_string(size) + " bytes, more than max_payload_bytes ("
         + std::to_string(limit) + ")";
}

// Refuses a start for a task queue whose owner reported it overloaded.
caf::error check_overload(const limits& lim, const std::string& ns, const std::string& queue) {
  if (!lim.overloaded || !lim.overloaded->contains(ns, queue)) return caf::none;
  return make_error(errc::overloaded, "overloaded: task queue '" + queue + "' has "
                                        + std::to_string(lim.backlog)
                                        + " tasks waiting for workers; try again later");
}

pb::Failure too_large(const std::string& reason) {
  pb::Failure f;
  f.set_message(reason);
  f.set_type("PayloadTooLarge");
  f.set_non_retryable(true);
  f.set_source("server");
  return f;
}

// A start's search attributes against its namespace's schema, and its memo's size.
std::string check_start_attributes(const limits& lim, const std::string& ns,
                                   const pb::SearchAttributes& sa, const pb::Memo& memo) {
  if (!lim.config) return {};
  if (auto why = search::check(sa, lim.config->search_attributes_of(ns), false); !why.empty())
    return why + " (namespace '" + ns + "')";
  return search::check_memo(memo);
}

// Validates a start request and fills in defaults; returns the bytes to forward.
caf::expected<std::string> validate_start(const std::string& bytes, const limits& lim) {
  auto req = decode<pb::StartWorkflowRequest>(bytes, "StartWorkflowRequest");
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  for (auto& [what, value] : {std::pair{"namespace", &req->namespace_()},
                              std::pair{"workflow ID", &req->workflow_id()},
                              std::pair{"workflow type", &req->workflow_type()},
                              std::pair{"task queue", &req->task_queue()}}) {
    auto reason = check_id(what, *value);
    if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  }
  if (!req->fairness_key().empty())  // shown by task-queue describe: checked like an ID
    if (auto reason = check_id("fairness key", req->fairness_key()); !reason.empty())
      return make_error(errc::invalid_argument, reason);
  if (auto reason = check_priority(req->priority()); !reason.empty())
    return make_error(errc::invalid_argument, reason);
  if (auto reason = check_payload("workflow input", req->input(), lim.payload); !reason.empty())
    return make_error(errc::invalid_argument, reason);
  if (lim.config && !lim.config->namespace_known(req->namespace_()))
    return make_error(errc::invalid_argument, unknown_namespace(req->namespace_()));
  if (auto reason = check_start_attributes(lim, req->namespace_(), req->search_attributes(),
                                           req->memo());
      !reason.empty())
    return make_error(errc::invalid_argument, reason);
  if (auto err = check_overload(lim, req->namespace_(), req->task_queue())) return err;
  return encode(*req);
}

caf::expected<std::string> validate_result(const std::string& bytes, const limits&) {
  auto req = decode<pb::GetResultRequest>(bytes, "GetResultRequest");
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  auto reason = check_id("workflow ID", req->workflow_id());
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  return encode(*req);
}

// Signal, terminate and cancel requests: defaults the namespace; checks the workflow ID, the run
// ID when given, the signal name when `signal` (and the input's size), then the request as Msg.

template <class Msg>
caf::expected<std::string> validate_addressed(const std::string& bytes, const char* what,
                                              const limits& lim) {
  auto req = decode<Msg>(bytes, what);
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  auto reason = check_id("workflow ID", req->workflow_id());
  if (reason.empty() && !req->run_id().empty()) reason = check_id("run ID", req->run_id());
  if constexpr (std::is_same_v<Msg, pb::SignalWorkflowRequest>) {
    if (reason.empty()) reason = check_id("signal name", req->signal_name());
    if (reason.empty()) reason = check_payload("signal input", req->input(), lim.payload);
  }
  if constexpr (std::is_same_v<Msg, pb::ResetWorkflowRequest>) {
    if (reason.empty() && req->event_id() < 0) reason = "reset event ID must not be negative";
    if (reason.empty() && !pb::ResetType_IsValid(req->reset_type())) reason = "unknown reset type";
    if (reason.empty() && !pb::ResetReapplyType_IsValid(req->reapply_type()))
      reason = "unknown reapply type";
    if (reason.empty() && req->reset_type() == pb::RESET_TYPE_UNSPECIFIED && req->event_id() == 0)
      reason = "a reset needs an event ID or a reset type (first, last)";
    if (reason.empty() && req->reset_type() != pb::RESET_TYPE_UNSPECIFIED && req->event_id() != 0)
      reason = "a reset takes an event ID or a reset type, not both";
    if (reason.empty() && req->reason().size() > 1000) reason = "reset reason is over 1000 bytes";
  }
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  return encode(*req);
}

caf::expected<std::string> validate_signal(const std::string& bytes, const limits& lim) {
  return validate_addressed<pb::SignalWorkflowRequest>(bytes, "SignalWorkflowRequest", lim);
}
caf::expected<std::string> validate_terminate(const std::string& bytes, const limits& lim) {
  return validate_addressed<pb::TerminateWorkflowRequest>(bytes, "TerminateWorkflowRequest", lim);
}
caf::expected<std::string> validate_reset(const std::string& bytes, const limits& lim) {
  return validate_addressed<pb::ResetWorkflowRequest>(bytes, "ResetWorkflowRequest", lim);
}
caf::expected<std::string> validate_delete(const std::string& bytes, const limits& lim) {
  return validate_addressed<pb::DeleteWorkflowRequest>(bytes, "DeleteWorkflowRequest", lim);
}
caf::expected<std::string> validate_cancel(const std::string& bytes, const limits& lim) {
  return validate_addressed<pb::RequestCancelWorkflowRequest>(bytes, "RequestCancelWorkflowRequest",
                                                              lim);
}

// Pause / unpause: as terminate, and a reason of at most 1000 bytes (recorded in history and
// shown by describe).
template <class Msg>
caf::expected<std::string> validate_pause_request(const std::string& bytes, const char* what,
                                                  const limits& lim) {
  auto checked = validate_addressed<Msg>(bytes, what, lim);
  if (!checked) return checked;
  auto req = decode<Msg>(*checked, what);
  if (!req) return req.error();
  if (req->reason().size() > 1000)
    return make_error(errc::invalid_argument, "the reason is longer than 1000 bytes");
  return checked;
}
caf::expected<std::string> validate_pause(const std::string& bytes, const limits& lim) {
  return validate_pause_request<pb::PauseWorkflowRequest>(bytes, "PauseWorkflowRequest", lim);
}
caf::expected<std::string> validate_unpause(const std::string& bytes, const limits& lim) {
  return validate_pause_request<pb::UnpauseWorkflowRequest>(bytes, "UnpauseWorkflowRequest", lim);
}

// An activity's outcome or heartbeat by task token: the routing fields must be the token's (the
// namespace picks the API key's role), the payload within the limit.
caf::expected<std::string> validate_by_token(const std::string& bytes, const limits& lim) {
  auto req = decode<pb::RespondActivityByTokenRequest>(bytes, "RespondActivityByTokenRequest");
  if (!req) return req.error();
  const auto& tok = req->token();
  if (tok.workflow_id().empty() || tok.run_id().empty() || tok.scheduled_event_id() <= 0
      || tok.attempt() <= 0)
    return make_error(errc::invalid_argument, "the task token does not name an activity attempt");
  auto ns = tok.namespace_().empty() ? std::string(default_namespace) : tok.namespace_();
  if ((!req->namespace_().empty() && req->namespace_() != ns)
      || req->workflow_id() != tok.workflow_id())
    return make_error(errc::invalid_argument,
                      "the request's namespace and workflow ID are not its task token's");
  req->set_namespace_(ns);
  const pb::Payload* p = req->has_result()              ? &req->result()
                         : req->has_heartbeat_details() ? &req->heartbeat_details()
                                                        : nullptr;
  if (p)
    if (auto reason = check_payload("activity result or details", *p, lim.payload); !reason.empty())
      return make_error(errc::invalid_argument, reason);
  if (req->outcome_case() == pb::RespondActivityByTokenRequest::OUTCOME_NOT_SET)
    return make_error(errc::invalid_argument, "no result, failure or heartbeat given");
  return encode(*req);
}

caf::expected<std::string> validate_sigstart(const std::string& bytes, const limits& lim) {
  auto req = decode<pb::SignalWithStartWorkflowRequest>(bytes, "SignalWithStartWorkflowRequest");
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  for (auto& [what, value] : {std::pair{"namespace", &req->namespace_()},
                              std::pair{"workflow ID", &req->workflow_id()},
                              std::pair{"workflow type", &req->workflow_type()},
                              std::pair{"task queue", &req->task_queue()},
                              std::pair{"signal name", &req->signal_name()}}) {
    auto reason = check_id(what, *value);
    if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  }
  for (auto& [what, p] : {std::pair{"workflow input", &req->input()},
                          std::pair{"signal input", &req->signal_input()}})
    if (auto reason = check_payload(what, *p, lim.payload); !reason.empty())
      return make_error(errc::invalid_argument, reason);
  if (lim.config && !lim.config->namespace_known(req->namespace_()))
    return make_error(errc::invalid_argument, unknown_namespace(req->namespace_()));
  if (auto err = check_overload(lim, req->namespace_(), req->task_queue())) return err;
  return encode(*req);
}

// A worker's activity result over the limit becomes a non-retryable activity failure.
caf::error check_activity_answer(caf::atom_value& kind, std::string& bytes, size_t limit) {
  if (bytes.size() <= limit) return caf::none;  // no part is larger than the whole (decoded later)
  auto msg = decode<pb::RespondActivityTaskCompleted>(bytes, "RespondActivityTaskCompleted");
  if (!msg) return msg.error();
  auto reason = check_payload("activity result", msg->result(), limit);
  if (reason.empty()) return caf::none;
  pb::RespondActivityTaskFailed failed;
  *failed.mutable_token() = msg->token();
  failed.set_identity(msg->identity());
  *failed.mutable_failure() = too_large(reason);
  kind = act_fail_atom::value;
  bytes = encode(failed);
  return caf::none;
}

// A workflow task answer whose commands carry a payload over the limit fails the workflow task.
caf::error check_workflow_answer(caf::atom_value& kind, std::string& bytes, size_t limit) {
  if (bytes.size() <= limit) return caf::none;  // no command is larger than the whole
  auto msg = decode<pb::RespondWorkflowTaskCompleted>(bytes, "RespondWorkflowTaskCompleted");
  if (!msg) return msg.error();
  for (int i = 0; i < msg->commands_size(); ++i) {
    auto size = msg->commands(i).ByteSizeLong();
    if (size <= limit) continue;
    pb::RespondWorkflowTaskFailed failed;
    *failed.mutable_token() = msg->token();
    failed.set_identity(msg->identity());
    *failed.mutable_failure() =
      too_large("command " + std::to_string(i + 1) + " is " + std::to_string(size)
                + " bytes, more than max_payload_bytes (" + std::to_string(limit) + ")");
    kind = wf_fail_atom::value;
    bytes = encode(failed);
    return caf::none;
  }
  return caf::none;
}

// An update: namespace defaulted; workflow ID, update ID and name checked, the input's size; an
// update-with-start's start is the request's workflow (its namespace and workflow ID are filled
// in) and is validated as a start.
caf::expected<std::string> validate_update(const std::string& bytes, const limits& lim) {
  auto req = decode<pb::UpdateWorkflowRequest>(bytes, "UpdateWorkflowRequest");
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  auto reason = check_id("workflow ID", req->workflow_id());
  if (reason.empty() && !req->run_id().empty()) reason = check_id("run ID", req->run_id());
  if (reason.empty()) reason = check_id("update ID", req->update_id());
  if (reason.empty()) reason = check_id("update name", req->name());
  if (reason.empty()) reason = check_payload("update input", req->input(), lim.payload);
  if (reason.empty() && req->wait_ms() < 0) reason = "wait_ms must not be negative";
  if (reason.empty() && req->has_start() && !req->run_id().empty())
    reason = "an update-with-start names no run ID";
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  if (req->has_start()) {
    auto* start = req->mutable_start();
    if ((!start->namespace_().empty() && start->namespace_() != req->namespace_())
        || (!start->workflow_id().empty() && start->workflow_id() != req->workflow_id()))
      return make_error(errc::invalid_argument,
                        "the start of an update-with-start must name the update's workflow");
    start->set_namespace_(req->namespace_());
    start->set_workflow_id(req->workflow_id());
    auto checked = validate_start(encode(*start), lim);
    if (!checked) return checked.error();
    start->ParseFromString(*checked);
  }
  return encode(*req);
}

// A validator that returns the bytes to forward, as the catalog's rewrite-in-place form.
template <caf::expected<std::string> (*Validate)(const std::string&, const limits&)>
caf::error rewrite(const limits& lim, caf::atom_value&, std::string& bytes) {
  auto checked = Validate(bytes, lim);
  if (!checked) return checked.error();
  bytes = std::move(*checked);
  return caf::none;
}

}  // namespace

namespace validators {

caf::error start(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_start>(lim, kind, bytes);
}
caf::error result(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_result>(lim, kind, bytes);
}
caf::error signal(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_signal>(lim, kind, bytes);
}
caf::error signal_with_start(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_sigstart>(lim, kind, bytes);
}
caf::error terminate(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_terminate>(lim, kind, bytes);
}
caf::error cancel(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_cancel>(lim, kind, bytes);
}
caf::error reset(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_reset>(lim, kind, bytes);
}
caf::error delete_workflow(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_delete>(lim, kind, bytes);
}
caf::error pause(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_pause>(lim, kind, bytes);
}
caf::error unpause(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_unpause>(lim, kind, bytes);
}
caf::error update(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_update>(lim, kind, bytes);
}
caf::error activity_by_token(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return rewrite<validate_by_token>(lim, kind, bytes);
}
caf::error activity_answer(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return check_activity_answer(kind, bytes, lim.payload);
}
caf::error workflow_answer(const limits& lim, caf::atom_value& kind, std::string& bytes) {
  return check_workflow_answer(kind, bytes, lim.payload);
}

}  // namespace validators

caf::error validate_request(const node_config& config, const overload_registry* overloaded,
                            caf::atom_value& kind, std::string& bytes) {
  auto* entry = find_message(kind);
  if (!entry || !entry->validate) return caf::none;  // checked where decided
  const limits lim{config.max_payload_bytes, overloaded, config.max_task_queue_backlog, &config};
  return entry->validate(lim, kind, bytes);
}

std::string check_id(const std::string& what, const std::string& value) {
  if (value.empty()) return what + " is empty";
  if (value.size() > max_id_length)
    return what + " is " + std::to_string(value.size()) + " bytes long (at most "
           + std::to_string(max_id_length) + ")";
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return what + " contains a control character";
  return {};
}

}  // namespace chronicle
