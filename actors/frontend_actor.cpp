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
    self->delegate(env->shards.at(shard), atom, std::move(bytes));
    return caf::delegated<caf::message>{};
  };
}

}  // namespace

caf::behavior frontend_actor(caf::event_based_actor* self, env_ptr env) {
  return {
    route<start_atom>(self, env, validate_start),
    route<result_atom>(self, env, validate_result),
    route<wt_start_atom>(self, env),
    route<wt_lost_atom>(self, env),
    route<wf_done_atom>(self, env),
    route<wf_fail_atom>(self, env),
    route<act_done_atom>(self, env),
    route<act_fail_atom>(self, env),
  };
}

}  // namespace chronicle
