#include "actors/routing/routing.hpp"

#include <spdlog/spdlog.h>

#include "actors/routing/validation.hpp"
#include "shards/ring.hpp"

namespace chronicle {

namespace {

placement place_on(const node_env& env, const std::string& owner, const std::string& what) {
  placement p;
  if (owner == env.config.name) {
    p.local = true;
    return p;
  }
  std::string why;
  if (auto peer = env.peers->peer(owner, &why)) {
    p.peer = *peer;
  } else {
    p.error = make_error(errc::unavailable, what + " unavailable (owner " + owner + " down"
                                              + (why.empty() ? "" : ": " + why) + ")");
  }
  return p;
}

}  // namespace

placement place_shard(const node_env& env, uint32_t shard) {
  auto what = "shard " + std::to_string(shard);
  if (!env.replicated()) return place_on(env, env.ring->shard_owner(shard), what);
  // Replicated: to the leader this node knows. When none is known (an election) or the leader's
  // node is unreachable, to this node's replica, which holds the request until a leader is
  // known (actors/shard/shard_actor.cpp); a node without a replica asks the first one that is up.
  // A node whose replica is not a voter of its group (its data dir was wiped and it is
  // rejoining: node_actor.cpp, replica.cpp) asks the other replicas.
  bool local = env.owns_shard(shard) && !env.peers->refused() && !env.shard_outside[shard].load();
  auto leader = env.member_by_id(env.shard_leader[shard].load());
  if (!leader.empty()) {
    auto p = place_on(env, leader, what);
    if (!p.error || !local) return p;
  }
  if (local) return placement{true, {}, {}};
  placement last;
  last.error = make_error(errc::unavailable, what + " unavailable: this node's replica is fenced "
                                                    "out and no other replica is up");
  for (auto& replica : env.placement.at(shard).replicas) {
    if (replica == env.config.name) continue;
    last = place_on(env, replica, what);
    if (!last.error) return last;
  }
  return last;
}

std::vector<std::string> task_queue_owners(const node_env& env, const std::string& ns,
                                           const std::string& queue) {
  if (auto ring = env.peers->queue_ring()) return ring->task_queue_owners(ns, queue);
  return env.ring->task_queue_owners(ns, queue);
}

placement place_task_queue(const node_env& env, const std::string& ns, const std::string& queue) {
  auto what = "task queue '" + queue + "'";
  if (!env.replicated()) return place_on(env, env.ring->task_queue_owner(ns, queue), what);
  // Replicated clusters: a task queue is soft state (its tasks are rebuilt from the shards'
  // transfer records), so it lives on the first member clockwise that is up; when that changes,
  // matching registers its workers again and the shards dispatch their pending tasks again.
  placement last;
  for (auto& owner : task_queue_owners(env, ns, queue)) {
    last = place_on(env, owner, what);
    if (!last.error) return last;
  }
  return last;
}

bool task_queue_on(const node_env& env, const std::string& ns, const std::string& queue,
                   const std::string& member) {
  if (!env.replicated()) return env.ring->task_queue_owner(ns, queue) == member;
  for (auto& owner : task_queue_owners(env, ns, queue)) {
    if (owner == member) return true;
    if (owner == env.config.name || env.peers->peer(owner)) return false;
  }
  return false;
}

bool redispatch_scope::covers(const node_env& env, const std::string& task_ns,
                              const std::string& task_queue) const {
  if (!queue.empty()) return task_ns == ns && task_queue == queue;
  return member.empty() || task_queue_on(env, task_ns, task_queue, member);
}

std::string redispatch_scope::describe() const {
  if (!queue.empty()) return "task queue " + ns + "/" + queue;
  if (!member.empty()) return "the task queues of " + member;
  return "every task";
}

caf::expected<const message_kind*> shard_message(caf::atom_value kind) {
  auto* entry = find_message(kind);
  if (!entry || !entry->to_shard())
    return make_error(errc::bad_message, "no shard serves messages of kind " + caf::to_string(kind));
  return entry;
}

caf::expected<pb::TaskToken> token_of(caf::atom_value kind, const std::string& bytes) {
  auto* entry = find_message(kind);
  if (!entry || entry->route != route_by::token)
    return make_error(errc::bad_message, "message kind carries no task token");
  std::string ns, wid;
  pb::TaskToken tok;
  if (!entry->peek(bytes, &ns, &wid, &tok))
    return make_error(errc::bad_message, std::string("malformed ") + entry->type + " message");
  return tok;
}

caf::expected<route_key> route_of(caf::atom_value kind, const std::string& bytes) {
  auto entry = shard_message(kind);
  if (!entry) return entry.error();
  route_key key;
  pb::TaskToken tok;
  if (!(*entry)->peek(bytes, &key.ns, &key.workflow_id, &tok))
    return make_error(errc::bad_message, std::string("malformed ") + (*entry)->type + " message");
  return key;
}

caf::expected<shard_destination> shard_destination_of(const node_env& env, caf::atom_value& kind,
                                                      std::string& bytes) {
  if (auto err = validate_request(env.config, env.overloaded.get(), kind, bytes)) return err;
  auto key = route_of(kind, bytes);
  if (!key) return key.error();
  auto shard = shard_of(key->ns, key->workflow_id, env.config.num_shards);
  auto where = place_shard(env, shard);
  if (where.error) return where.error;
  if (where.local) return shard_destination{env.shards.at(shard), false};
  return shard_destination{where.peer, true};
}

caf::result<caf::message> delegate_to_shard(caf::event_based_actor* self, const node_env& env,
                                            forwards& fwd, caf::atom_value kind,
                                            std::string& bytes) {
  auto dest = shard_destination_of(env, kind, bytes);
  if (!dest) return dest.error();
  if (dest->forward) return fwd.forward(self, dest->actor, kind, std::move(bytes));
  self->delegate(dest->actor, kind, std::move(bytes));
  return caf::delegated<caf::message>{};
}

void tell_shard(const node_env& env, caf::atom_value kind, std::string bytes) {
  auto dest = shard_destination_of(env, kind, bytes);
  if (!dest) {
    spdlog::warn("cannot route {} message: {}", caf::to_string(kind), error_text(dest.error()));
    return;
  }
  if (dest->forward) caf::anon_send(dest->actor, fwd_atom::value, kind, std::move(bytes));
  else caf::anon_send(dest->actor, kind, std::move(bytes));
}

}  // namespace chronicle
