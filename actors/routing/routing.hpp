// Where a message goes: the shard of a workflow (this node's shard actor or the owning node),
// the owner of a task queue, and the routing fields of a message read through the catalog
// (catalog.hpp). Every actor that passes a message on (frontend, task queue, matching, shard)
// routes through these functions.
#pragma once

#include <caf/all.hpp>

#include <string>

#include "actors/node/node_env.hpp"
#include "actors/routing/catalog.hpp"
#include "actors/routing/forwarding.hpp"

namespace chronicle {

// Where a message must go: this node, or the node actor of the owning peer; `error` says why it
// cannot go anywhere (owner down).
struct placement {
  bool local = false;
  caf::actor peer;
  caf::error error;
};

placement place_shard(const node_env& env, uint32_t shard);
placement place_task_queue(const node_env& env, const std::string& ns, const std::string& queue);
// Replicated clusters: every member in the order a task queue's ownership falls to them (the
// first that is up holds it), on the ring membership::queue_ring says (this node's, or while
// member lists differ the ring of every listed member).
std::vector<std::string> task_queue_owners(const node_env& env, const std::string& ns,
                                           const std::string& queue);
// Whether the task queue lives on `member`, or did until `member` went down: the first of its
// owners that is up, counting `member` as up, is `member`. When `member` comes up or goes down,
// only these queues move, so only their tasks need dispatching again (redispatch_atom).
bool task_queue_on(const node_env& env, const std::string& ns, const std::string& queue,
                   const std::string& member);

// Which pending tasks a shard dispatches again (redispatch_atom): every one (all empty); those of
// the task queues that live on `member` or did until it went down (task_queue_on), plus the
// run's messages to other runs; or those of one task queue (`ns`/`queue`: it dropped tasks while
// overloaded and has drained its backlog).
struct redispatch_scope {
  std::string member;
  std::string ns, queue;

  static redispatch_scope of_member(std::string member) { return {std::move(member), {}, {}}; }
  static redispatch_scope of_queue(std::string ns, std::string queue) {
    return {{}, std::move(ns), std::move(queue)};
  }
  [[nodiscard]] bool all() const { return member.empty() && queue.empty(); }
  // Whether a task of `queue` is in scope.
  [[nodiscard]] bool covers(const node_env& env, const std::string& task_ns,
                            const std::string& task_queue) const;
  // Whether messages to other runs (transfers without a task queue) are.
  [[nodiscard]] bool covers_messages() const { return queue.empty(); }
  [[nodiscard]] std::string describe() const;
};

// Namespace and workflow ID a message is addressed to.
struct route_key {
  std::string ns;
  std::string workflow_id;
};

// The task token of a message routed by token (a worker's answer, a node-internal task message).
caf::expected<pb::TaskToken> token_of(caf::atom_value kind, const std::string& bytes);

// The workflow a shard-routed message is addressed to (by its ID, its parent's or its token).
caf::expected<route_key> route_of(caf::atom_value kind, const std::string& bytes);

// Where a shard-routed message goes: this node's shard actor, or the owning node's node actor
// (`forward`: the message goes there as (fwd_atom, kind, bytes)). The message is validated as a
// client's is first (validate_request), which may rewrite `kind` and `bytes`.
struct shard_destination {
  caf::actor actor;
  bool forward = false;
};
caf::expected<shard_destination> shard_destination_of(const node_env& env, caf::atom_value& kind,
                                                      std::string& bytes);

// Passes (kind, bytes) to its workflow's shard: a local shard answers the current sender
// (delegate); a request for another node goes through `fwd` (forwarding.hpp), so that node going
// down fails it at once instead of leaving the sender waiting.
caf::result<caf::message> delegate_to_shard(caf::event_based_actor* self, const node_env& env,
                                            forwards& fwd, caf::atom_value kind,
                                            std::string& bytes);

// Sends (kind, bytes) to its workflow's shard, one-way (a message that cannot be routed is
// logged and dropped).
void tell_shard(const node_env& env, caf::atom_value kind, std::string bytes);

// The catalog entry of `kind` when it is routed to a workflow's shard, else a bad_message error
// naming the kind (a message no shard serves).
caf::expected<const message_kind*> shard_message(caf::atom_value kind);

}  // namespace chronicle

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chronicle::redispatch_scope)  // local messages only
