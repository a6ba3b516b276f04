#include "actors/matching_actor.hpp"

#include <spdlog/spdlog.h>

#include <map>

namespace chronicle {

struct matching_state {
  std::map<std::string, caf::actor> queues;  // key: kind '\0' ns '\0' queue
};

namespace {

caf::actor& queue_for(caf::stateful_actor<matching_state>* self, const env_ptr& env,
                      const std::string& ns, const std::string& queue, task_kind kind) {
  auto key = std::string(kind == task_kind::workflow ? "w" : "a") + '\0' + ns + '\0' + queue;
  auto& q = self->state.queues[key];
  if (!q) q = spawn_task_queue(self, env, ns, queue, kind);
  return q;
}

}  // namespace

namespace {

caf::behavior matching_actor(caf::stateful_actor<matching_state>* self, env_ptr env) {
  return {
    [=](register_atom, const std::string& bytes) -> caf::result<std::string> {
      auto req = decode<pb::RegisterWorkerRequest>(bytes, "RegisterWorkerRequest");
      if (!req) return req.error();
      if (req->namespace_().empty()) req->set_namespace_(default_namespace);
      for (auto& [what, value] : {std::pair{"namespace", &req->namespace_()},
                                  std::pair{"task queue", &req->task_queue()}}) {
        auto reason = check_id(what, *value);
        if (!reason.empty()) return make_error(errc::invalid_argument, reason);
      }
      if (!req->workflows() && !req->activities())
        return make_error(errc::invalid_argument, "a worker must serve workflows or activities");
      if (req->workflow_slots() < 0 || req->activity_slots() < 0
          || req->workflow_slots() > 10000 || req->activity_slots() > 10000)
        return make_error(errc::invalid_argument, "slots must be in 0..10000");
      auto worker = caf::actor_cast<caf::actor>(self->current_sender());
      if (!worker) return make_error(errc::invalid_argument, "anonymous worker");
      auto fwd = encode(*req);
      if (req->workflows())
        self->send(queue_for(self, env, req->namespace_(), req->task_queue(), task_kind::workflow),
                   register_atom::value, fwd, worker);
      if (req->activities())
        self->send(queue_for(self, env, req->namespace_(), req->task_queue(), task_kind::activity),
                   register_atom::value, fwd, worker);
      spdlog::info("worker '{}' registered on {}/{}", req->identity(), req->namespace_(),
                   req->task_queue());
      pb::RegisterWorkerResponse resp;
      resp.set_node(env->config.name);
      return encode(resp);
    },
    [=](dispatch_atom, const std::string& bytes) {
      auto req = decode<pb::DispatchRequest>(bytes, "DispatchRequest");
      if (!req) return;
      auto kind = req->has_activity_task() ? task_kind::activity : task_kind::workflow;
      self->send(queue_for(self, env, req->namespace_(), req->task_queue(), kind),
                 dispatch_atom::value, bytes);
    },
  };
}

}  // namespace

caf::actor spawn_matching(caf::actor_system& sys, env_ptr env) {
  return sys.spawn(matching_actor, std::move(env));
}

}  // namespace chronicle
