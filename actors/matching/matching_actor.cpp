#include "actors/matching/matching_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "actors/routing/routing.hpp"
#include "actors/routing/validation.hpp"

namespace chronicle {

struct matching_state {
  std::map<std::string, caf::actor> queues;  // key: kind '\0' ns '\0' queue
  // Workers connected here whose task queue lives on another node: that node may not learn of
  // their death (CAF does not relay a lost connection through this node), so this node monitors
  // them and tells it ("gone" notes, sent to the peer node actor).
  std::map<caf::actor_addr, std::vector<std::pair<caf::actor, std::string>>> forwarded;
  // Replicated clusters: every registration made through this node, so that it can be placed
  // again when a task queue's owner changes (a peer went down or came back).
  struct registration {
    caf::actor worker;
    pb::RegisterWorkerRequest req;
  };
  std::map<std::pair<caf::actor_addr, std::string>, registration> registrations;  // (worker, ns/queue)
};

namespace {

caf::actor& queue_for(caf::stateful_actor<matching_state>* self, const env_ptr& env,
                      const std::string& ns, const std::string& queue, task_kind kind) {
  auto key = std::string(kind == task_kind::workflow ? "w" : "a") + '\0' + ns + '\0' + queue;
  auto& q = self->state.queues[key];
  if (!q) q = spawn_task_queue(self, env, ns, queue, kind);
  return q;
}

// The queue actors this node has for the queue a DescribeTaskQueueRequest names (none spawned:
// a queue nobody used is described as empty).
std::vector<caf::actor> local_queues(caf::stateful_actor<matching_state>* self,
                                     const std::string& bytes) {
  std::vector<caf::actor> found;
  auto req = decode<pb::DescribeTaskQueueRequest>(bytes, "DescribeTaskQueueRequest");
  if (!req) return found;
  auto ns = req->namespace_().empty() ? std::string(default_namespace) : req->namespace_();
  for (auto kind : {"w", "a"}) {
    auto it = self->state.queues.find(std::string(kind) + '\0' + ns + '\0' + req->task_queue());
    if (it != self->state.queues.end()) found.push_back(it->second);
  }
  return found;
}

}  // namespace

namespace {

// Validates a registration and fills in defaults.
caf::expected<pb::RegisterWorkerRequest> check_registration(const std::string& bytes) {
  auto req = decode_queue_request<pb::RegisterWorkerRequest>(bytes, "RegisterWorkerRequest");
  if (!req) return req.error();
  if (!req->workflows() && !req->activities())
    return make_error(errc::invalid_argument, "a worker must serve workflows or activities");
  if (req->workflow_slots() < 0 || req->activity_slots() < 0 || req->workflow_slots() > 10000
      || req->activity_slots() > 10000)
    return make_error(errc::invalid_argument, "slots must be in 0..10000");
  if (!(req->task_queue_activities_per_second() >= 0)
      || req->task_queue_activities_per_second() > 1e6)
    return make_error(errc::invalid_argument,
                      "task_queue_activities_per_second must be in 0..1000000");
  if (req->max_running_activities_per_key() < 0 || req->max_running_activities_per_key() > 100000)
    return make_error(errc::invalid_argument, "max_running_activities_per_key must be in 0..100000");
  if (!req->build_id().empty())
    if (auto why = check_id("build ID", req->build_id()); !why.empty())
      return make_error(errc::invalid_argument, why);
  return req;
}

// Registers `worker` with the local task queues.
caf::expected<std::string> register_local(caf::stateful_actor<matching_state>* self,
                                        const env_ptr& env, const pb::RegisterWorkerRequest& req,
                                        const caf::actor& worker) {
  if (!worker) return make_error(errc::invalid_argument, "anonymous worker");
  auto fwd = encode(req);
  if (req.workflows())
    self->send(queue_for(self, env, req.namespace_(), req.task_queue(), task_kind::workflow),
               register_atom::value, fwd, worker);
  if (req.activities())
    self->send(queue_for(self, env, req.namespace_(), req.task_queue(), task_kind::activity),
               register_atom::value, fwd, worker);
  pb::RegisterWorkerResponse resp;
  resp.set_node(env->config.name);
  return encode(resp);
}

void dispatch_local(caf::stateful_actor<matching_state>* self, const env_ptr& env,
                    const pb::DispatchRequest& req, const std::string& bytes) {
  auto kind = req.has_activity_task() ? task_kind::activity : task_kind::workflow;
  self->send(queue_for(self, env, req.namespace_(), req.task_queue(), kind), dispatch_atom::value,
             bytes);
}

// Remembers that `worker`, registered through this node, is served by `peer`: the peer is told
// when the worker dies (CAF does not relay a lost connection through this node).
void note_forwarded(caf::stateful_actor<matching_state>* self, const caf::actor& worker,
                    const caf::actor& peer, const pb::RegisterWorkerRequest& req) {
  auto& notes = self->state.forwarded[worker.address()];
  if (notes.empty()) self->monitor(worker);
  pb::WorkerGone gone;
  gone.set_namespace_(req.namespace_());
  gone.set_task_queue(req.task_queue());
  gone.set_identity(req.identity());
  gone.set_actor_id(worker.id());
  auto note = encode(gone);
  for (auto& [p, n] : notes)
    if (p == peer && n == note) return;
  notes.emplace_back(peer, std::move(note));
}

// Replicated clusters: places every registration made through this node again (a task queue's
// owner changed): registered with the local queue or sent to the new owner on the worker's
// behalf. Registering twice with the same queue is harmless (its workers are keyed by actor).
void replace_registrations(caf::stateful_actor<matching_state>* self, const env_ptr& env) {
  for (auto& [key, r] : self->state.registrations) {
    auto where = place_task_queue(*env, r.req.namespace_(), r.req.task_queue());
    if (where.error) continue;
    if (where.local) {
      register_local(self, env, r.req, r.worker);
    } else {
      note_forwarded(self, r.worker, where.peer, r.req);
      self->send(where.peer, register_atom::value, encode(r.req), r.worker);
    }
  }
}

// The task queue actor a request is for: a query goes to the workflow tasks' queue, a new
// leader's QueueHoldsRequest to the kind it asks about.
task_kind kind_of(const pb::QueryTask&) { return task_kind::workflow; }
task_kind kind_of(const pb::QueueHoldsRequest& r) {
  return r.activity() ? task_kind::activity : task_kind::workflow;
}

// A request for one of a queue's task queue actors (a query, a new leader's QueueHoldsRequest):
// delegated to it here, or to the node that owns the queue (`here`: a peer sent it, this node
// owns it).
template <class Request>
caf::result<caf::message> to_task_queue(caf::stateful_actor<matching_state>* self,
                                        const env_ptr& env, caf::atom_value atom,
                                        std::string bytes, const char* type, bool here = false) {
  auto req = decode<Request>(bytes, type);
  if (!req) return req.error();
  auto where = place_task_queue(*env, req->namespace_(), req->task_queue());
  if (here || where.local) {
    self->delegate(queue_for(self, env, req->namespace_(), req->task_queue(), kind_of(*req)),
                   atom, std::move(bytes));
  } else {
    if (where.error) return where.error;
    self->delegate(where.peer, fwd_atom::value, atom, std::move(bytes));
  }
  return caf::delegated<caf::message>{};
}

caf::behavior matching_actor(caf::stateful_actor<matching_state>* self, env_ptr env) {
  harden(self, "matching");
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& regs = self->state.registrations;
    for (auto r = regs.begin(); r != regs.end();)
      r = r->first.first == msg.source ? regs.erase(r) : std::next(r);
    auto it = self->state.forwarded.find(msg.source);
    if (it == self->state.forwarded.end()) return;
    for (auto& [peer, note] : it->second)
      self->send(peer, fwd_atom::value, caf::atom_value{gone_atom::value}, note);
    self->state.forwarded.erase(it);
  });
  return {
    [=](register_atom, const std::string& bytes) -> caf::result<caf::message> {
      auto req = check_registration(bytes);
      if (!req) return req.error();
      req->set_via_node(env->config.name);  // the worker is connected here
      auto where = place_task_queue(*env, req->namespace_(), req->task_queue());
      if (where.error) return where.error;
      if (where.local) {
        auto worker = caf::actor_cast<caf::actor>(self->current_sender());
        if (env->replicated() && worker) {
          if (!self->state.forwarded.count(worker.address())) {
            self->state.forwarded[worker.address()];  // monitored: forgotten when it dies
            self->monitor(worker);
          }
          self->state.registrations[{worker.address(), req->namespace_() + "/" + req->task_queue()}] =
            {worker, *req};
        }
        auto res = register_local(self, env, *req, worker);
        if (!res) return res.error();
        return caf::make_message(std::move(*res));
      }
      if (auto worker = caf::actor_cast<caf::actor>(self->current_sender())) {
        note_forwarded(self, worker, where.peer, *req);
        if (env->replicated())
          self->state.registrations[{worker.address(), req->namespace_() + "/" + req->task_queue()}] =
            {worker, *req};
      }
      self->delegate(where.peer, fwd_atom::value, caf::atom_value{register_atom::value},
                     encode(*req));
      return caf::delegated<caf::message>{};
    },
    [=](redispatch_atom) {
      // The node actor: a peer went down or came back, task queue owners may have moved.
      if (env->replicated()) replace_registrations(self, env);
    },
    [=](register_atom, const std::string& bytes, const caf::actor& worker) {
      // Another node registers `worker` (connected there) with a queue this node now owns.
      auto req = check_registration(bytes);
      if (req) register_local(self, env, *req, worker);
    },
    [=](gone_atom, const std::string& bytes) {
      // From the node the worker was connected to: tell the local task queues.
      auto gone = decode<pb::WorkerGone>(bytes, "WorkerGone");
      if (!gone) return;
      for (auto kind : {task_kind::workflow, task_kind::activity})
        self->send(queue_for(self, env, gone->namespace_(), gone->task_queue(), kind),
                   gone_atom::value, gone->identity(), caf::actor_id{gone->actor_id()});
    },
    [=](dispatch_atom, const std::string& bytes) {
      auto req = decode<pb::DispatchRequest>(bytes, "DispatchRequest");
      if (!req) return;
      auto where = place_task_queue(*env, req->namespace_(), req->task_queue());
      if (where.local) dispatch_local(self, env, *req, bytes);
      else if (where.peer) self->send(where.peer, fwd_atom::value, caf::atom_value{dispatch_atom::value}, bytes);
      // Owner down: the task stays in the transfers table and is dispatched again when it is up.
    },
    [=](overload_atom, const std::string& ns, const std::string& queue, bool on) {
      // From a local task queue: record it here and tell every peer; once it has drained, every
      // shard dispatches that queue's pending tasks again (the dropped ones are among them).
      env->overloaded->set(ns, queue, on);
      pb::OverloadNote msg;
      msg.set_namespace_(ns);
      msg.set_task_queue(queue);
      msg.set_overloaded(on);
      auto note = encode(msg);
      for (auto& m : env->config.members) {
        if (m.name == env->config.name) continue;
        if (auto peer = env->peers->peer(m.name)) {
          self->send(*peer, fwd_atom::value, caf::atom_value{overload_atom::value}, note);
          if (!on) self->send(*peer, fwd_atom::value, caf::atom_value{redispatch_atom::value}, note);
        }
      }
      if (!on)
        for (auto& shard : env->shards)
          if (shard) self->send(shard, redispatch_atom::value, redispatch_scope::of_queue(ns, queue));
    },
    [=](tq_describe_atom, const std::string& bytes) {
      describe_task_queue(self, env, local_queues(self, bytes), bytes);
    },
    [=](tq_config_atom, const std::string& ns) {
      // admin: a record of namespace `ns` changed: its activity queues here read their operator
      // limits again.
      auto prefix = std::string("a") + '\0' + ns + '\0';
      for (auto it = self->state.queues.lower_bound(prefix);
           it != self->state.queues.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
        self->send(it->second, tq_config_atom::value);
    },
    [=](qtask_atom atom, std::string& bytes) -> caf::result<caf::message> {
      return to_task_queue<pb::QueryTask>(self, env, atom, std::move(bytes), "QueryTask");
    },
    [=](tq_holds_atom atom, std::string& bytes) -> caf::result<caf::message> {
      return to_task_queue<pb::QueueHoldsRequest>(self, env, atom, std::move(bytes),
                                                  "QueueHoldsRequest");
    },
    [=](fwd_atom, caf::atom_value kind, std::string& bytes) -> caf::result<caf::message> {
      if (kind == register_atom::value) {
        auto req = check_registration(bytes);
        if (!req) return req.error();
        auto res = register_local(self, env, *req,
                                  caf::actor_cast<caf::actor>(self->current_sender()));
        if (!res) return res.error();
        return caf::make_message(std::move(*res));
      }
      if (kind == qtask_atom::value)  // this node owns the task queue
        return to_task_queue<pb::QueryTask>(self, env, kind, std::move(bytes), "QueryTask",
                                            true);
      if (kind == tq_holds_atom::value)
        return to_task_queue<pb::QueueHoldsRequest>(self, env, kind, std::move(bytes),
                                                    "QueueHoldsRequest", true);
      if (kind == tq_describe_atom::value) {  // a peer asks for this node's part
        describe_task_queue_here(self, env, local_queues(self, bytes), bytes);
        return caf::delegated<caf::message>{};
      }
      return make_error(errc::bad_message, "matching cannot serve " + caf::to_string(kind));
    },
  };
}

}  // namespace

caf::actor spawn_matching(caf::actor_system& sys, env_ptr env) {
  return sys.spawn(matching_actor, std::move(env));
}

}  // namespace chronicle
