// Describing a task queue (see matching_actor.hpp): its pollers and backlog, gathered from every
// node that hosts it. A queue normally lives on one node (the ring places it), but a replicated
// cluster moves it when its owner goes down or comes back, and a registration may still sit in
// the old owner's queue for a moment: every member is asked, and each answers for the queue
// actors it has.
#include <algorithm>
#include <memory>
#include <tuple>

#include "actors/matching/matching_actor.hpp"
#include "actors/node/namespaces.hpp"
#include "actors/routing/routing.hpp"
#include "actors/routing/validation.hpp"
#include "shards/ring.hpp"

namespace chronicle {

namespace {

constexpr auto node_answer_timeout = std::chrono::seconds(3);

// The request with its namespace defaulted, or why it is refused (a bad name).
caf::expected<pb::DescribeTaskQueueRequest> check_request(const std::string& bytes) {
  return decode_queue_request<pb::DescribeTaskQueueRequest>(bytes, "DescribeTaskQueueRequest");
}

// An empty description: both kinds with nothing waiting.
pb::DescribeTaskQueueResponse empty_description(const pb::DescribeTaskQueueRequest& req) {
  pb::DescribeTaskQueueResponse resp;
  resp.set_namespace_(req.namespace_());
  resp.set_task_queue(req.task_queue());
  for (auto kind : {"workflow", "activity"}) resp.add_backlogs()->set_kind(kind);
  return resp;
}

// Adds a node's part (or a queue actor's) to `into`: pollers appended, backlogs of the same
// kind summed (the oldest task is the oldest of both), nodes listed once.
void merge(pb::DescribeTaskQueueResponse& into, const pb::DescribeTaskQueueResponse& part) {
  for (auto& p : part.pollers()) *into.add_pollers() = p;
  for (auto& b : part.backlogs()) {
    for (auto& mine : *into.mutable_backlogs()) {
      if (mine.kind() != b.kind()) continue;
      mine.set_count(mine.count() + b.count());
      mine.set_oldest_age_ms(std::max(mine.oldest_age_ms(), b.oldest_age_ms()));
      mine.set_in_flight(mine.in_flight() + b.in_flight());
      mine.set_capped(mine.capped() || b.capped());
      for (auto& p : b.priorities()) {
        pb::PriorityCount* into_p = nullptr;
        for (auto& have : *mine.mutable_priorities())
          if (have.priority() == p.priority()) into_p = &have;
        if (!into_p) {
          into_p = mine.add_priorities();
          into_p->set_priority(p.priority());
        }
        into_p->set_count(into_p->count() + p.count());
      }
      std::sort(mine.mutable_priorities()->begin(), mine.mutable_priorities()->end(),
                [](auto& a, auto& b) { return a.priority() < b.priority(); });
    }
  }
  for (auto& fc : part.flow_control()) *into.add_flow_control() = fc;
  for (auto& n : part.nodes())
    if (std::find(into.nodes().begin(), into.nodes().end(), n) == into.nodes().end())
      into.add_nodes(n);
  for (auto& n : part.missing_nodes()) into.add_missing_nodes(n);
}

// The member routing places the queue on now: the ring's owner, or with replication the first
// of its owners that is up (as place_task_queue does); empty when none is.
std::string owner_now(const node_env& env, const std::string& ns, const std::string& queue) {
  std::vector<std::string> owners;
  if (env.replicated()) owners = task_queue_owners(env, ns, queue);
  else owners.push_back(env.ring->task_queue_owner(ns, queue));
  for (auto& owner : owners)
    if (owner == env.config.name || env.peers->peer(owner)) return owner;
  return {};
}

// Pollers by kind, then identity; nodes by name: the same queue reads the same way each time.
void sort_description(pb::DescribeTaskQueueResponse& resp) {
  auto& ps = *resp.mutable_pollers();
  auto key = [](const pb::TaskQueuePoller& p) {
    return std::make_tuple(p.kind() != "workflow", p.identity(), p.node());
  };
  std::sort(ps.begin(), ps.end(), [&](auto& a, auto& b) { return key(a) < key(b); });
  std::sort(resp.mutable_nodes()->begin(), resp.mutable_nodes()->end());
  std::sort(resp.mutable_missing_nodes()->begin(), resp.mutable_missing_nodes()->end());
}

// This node's part: asks its queue actors (at most one per kind) and merges their answers.
void describe_here(caf::event_based_actor* self, const env_ptr& env,
                   const pb::DescribeTaskQueueRequest& req, std::vector<caf::actor> queues,
                   std::function<void(pb::DescribeTaskQueueResponse)> done) {
  struct gather {
    pb::DescribeTaskQueueResponse resp;
    size_t pending = 0;
  };
  auto g = std::make_shared<gather>();
  g->resp = empty_description(req);
  g->pending = queues.size();
  if (queues.empty()) return done(std::move(g->resp));
  g->resp.add_nodes(env->config.name);
  for (auto& q : queues)
    self->request(q, node_answer_timeout, tq_describe_atom::value)
      .then(
        [=](const std::string& bytes) {
          auto part = decode<pb::DescribeTaskQueueResponse>(bytes, "DescribeTaskQueueResponse");
          if (part) merge(g->resp, *part);
          if (--g->pending == 0) done(std::move(g->resp));
        },
        [=](caf::error&) {
          if (--g->pending == 0) done(std::move(g->resp));
        });
}

}  // namespace

void describe_task_queue_here(caf::event_based_actor* self, const env_ptr& env,
                              std::vector<caf::actor> queues, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto req = check_request(bytes);
  if (!req) return rp.deliver(req.error());
  describe_here(self, env, *req, std::move(queues),
                [rp](pb::DescribeTaskQueueResponse resp) mutable { rp.deliver(encode(resp)); });
}

void describe_task_queue(caf::event_based_actor* self, const env_ptr& env,
                         std::vector<caf::actor> queues, const std::string& bytes) {
  auto rp = self->make_response_promise();
  auto req = check_request(bytes);
  if (!req) return rp.deliver(req.error());
  struct gather {
    pb::DescribeTaskQueueResponse resp;
    size_t pending = 0;
  };
  auto g = std::make_shared<gather>();
  g->resp = empty_description(*req);
  g->resp.set_owner_node(owner_now(*env, req->namespace_(), req->task_queue()));
  if (auto c = env->config.namespaces->task_queue_config(req->namespace_(), req->task_queue()))
    *g->resp.mutable_config() = *c;
  std::vector<std::pair<std::string, caf::actor>> asks;
  for (auto& m : env->config.members) {
    if (m.name == env->config.name) continue;
    if (auto peer = env->peers->peer(m.name)) asks.emplace_back(m.name, *peer);
    else g->resp.add_missing_nodes(m.name);
  }
  g->pending = asks.size() + 1;  // the peers asked and this node
  auto one_done = [g, rp]() mutable {
    if (--g->pending > 0) return;
    sort_description(g->resp);
    rp.deliver(encode(g->resp));
  };
  describe_here(self, env, *req, std::move(queues), [g, one_done](auto part) mutable {
    merge(g->resp, part);
    one_done();
  });
  auto fwd = encode(*req);
  for (auto& [name, peer] : asks) {
    auto member = name;
    self->request(peer, node_answer_timeout, fwd_atom::value,
                  caf::atom_value{tq_describe_atom::value}, fwd)
      .then(
        [=](const std::string& reply) mutable {
          auto part = decode<pb::DescribeTaskQueueResponse>(reply, "DescribeTaskQueueResponse");
          if (part) merge(g->resp, *part);
          else g->resp.add_missing_nodes(member);
          one_done();
        },
        [=](caf::error&) mutable {
          g->resp.add_missing_nodes(member);
          one_done();
        });
  }
}

}  // namespace chronicle
