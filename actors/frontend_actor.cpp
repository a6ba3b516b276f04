#include "actors/frontend_actor.hpp"

#include "shards/ring.hpp"

namespace chronicle {

namespace {

// Validates a start request and fills in defaults; returns the bytes to forward.
caf::expected<std::string> validate_start(const std::string& bytes) {
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
  return encode(*req);
}

caf::expected<std::string> validate_result(const std::string& bytes) {
  auto req = decode<pb::GetResultRequest>(bytes, "GetResultRequest");
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  auto reason = check_id("workflow ID", req->workflow_id());
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  return encode(*req);
}

// Signal, terminate and cancel requests: defaults the namespace; checks the workflow ID, the run
// ID when given, the signal name when `signal` (and the input's size), then the request as Msg.
constexpr size_t max_signal_input_bytes = 2 * 1024 * 1024;

template <class Msg>
caf::expected<std::string> validate_addressed(const std::string& bytes, const char* what) {
  auto req = decode<Msg>(bytes, what);
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  auto reason = check_id("workflow ID", req->workflow_id());
  if (reason.empty() && !req->run_id().empty()) reason = check_id("run ID", req->run_id());
  if constexpr (std::is_same_v<Msg, pb::SignalWorkflowRequest>) {
    if (reason.empty()) reason = check_id("signal name", req->signal_name());
    if (reason.empty() && req->input().ByteSizeLong() > max_signal_input_bytes)
      reason = "signal input is larger than 2 MiB";
  }
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  return encode(*req);
}

caf::expected<std::string> validate_signal(const std::string& bytes) {
  return validate_addressed<pb::SignalWorkflowRequest>(bytes, "SignalWorkflowRequest");
}
caf::expected<std::string> validate_terminate(const std::string& bytes) {
  return validate_addressed<pb::TerminateWorkflowRequest>(bytes, "TerminateWorkflowRequest");
}
caf::expected<std::string> validate_cancel(const std::string& bytes) {
  return validate_addressed<pb::RequestCancelWorkflowRequest>(bytes, "RequestCancelWorkflowRequest");
}

caf::expected<std::string> validate_sigstart(const std::string& bytes) {
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
  if (req->signal_input().ByteSizeLong() > max_signal_input_bytes)
    return make_error(errc::invalid_argument, "signal input is larger than 2 MiB");
  return encode(*req);
}

// Routes (atom, bytes) to the owning shard; `validate` may rewrite the bytes first.
template <class Atom>
auto route(caf::event_based_actor* self, env_ptr env,
           caf::expected<std::string> (*validate)(const std::string&) = nullptr) {
  return [=](Atom atom, std::string& bytes) -> caf::result<caf::message> {
    if (validate) {
      auto checked = validate(bytes);
      if (!checked) return checked.error();
      bytes = std::move(*checked);
    }
    auto key = route_of(atom, bytes);
    if (!key) return key.error();
    auto shard = shard_of(key->ns, key->workflow_id, env->config.num_shards);
    auto where = place_shard(*env, shard);
    if (where.error) return where.error;
    if (where.local) self->delegate(env->shards.at(shard), atom, std::move(bytes));
    else self->delegate(where.peer, fwd_atom::value, caf::atom_value{atom}, std::move(bytes));
    return caf::delegated<caf::message>{};
  };
}

// A message another node forwarded because this node owns the shard: handled here or refused,
// never forwarded again.
caf::result<caf::message> route_local(caf::event_based_actor* self, const env_ptr& env,
                                      caf::atom_value kind, std::string& bytes) {
  auto key = route_of(kind, bytes);
  if (!key) return key.error();
  auto shard = shard_of(key->ns, key->workflow_id, env->config.num_shards);
  if (!env->owns_shard(shard))
    return make_error(errc::unavailable, "shard " + std::to_string(shard) + " is not owned by "
                                           + env->config.name);
  self->delegate(env->shards.at(shard), kind, std::move(bytes));
  return caf::delegated<caf::message>{};
}

}  // namespace

caf::behavior frontend_actor(caf::event_based_actor* self, env_ptr env) {
  harden(self, "frontend");
  return {
    [=](fwd_atom, caf::atom_value kind, std::string& bytes) {
      return route_local(self, env, kind, bytes);
    },
    route<start_atom>(self, env, validate_start),
    route<result_atom>(self, env, validate_result),
    route<signal_atom>(self, env, validate_signal),
    route<sigstart_atom>(self, env, validate_sigstart),
    route<terminate_atom>(self, env, validate_terminate),
    route<cancel_atom>(self, env, validate_cancel),
    route<wt_start_atom>(self, env),
    route<wt_lost_atom>(self, env),
    route<wf_done_atom>(self, env),
    route<wf_fail_atom>(self, env),
    route<act_done_atom>(self, env),
    route<act_fail_atom>(self, env),
  };
}

}  // namespace chronicle
