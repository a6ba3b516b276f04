// What every actor of a node shares: configuration, the store, the placement ring and the handles
// of the node's long-lived actors. Filled once at start-up before any message flows, then read-only.
#pragma once

#include <caf/all.hpp>

#include <atomic>

#include <memory>
#include <string>
#include <vector>

#include "actors/config.hpp"
#include "actors/membership.hpp"
#include "actors/metrics.hpp"
#include "actors/overload.hpp"
#include "shards/ring.hpp"
#include "storage/store.hpp"

namespace chronicle {

struct node_env {
  node_config config;
  std::shared_ptr<storage::store> store;
  std::unique_ptr<hash_ring> ring;
  caf::actor frontend;
  caf::actor admin;
  caf::actor matching;
  caf::actor handoff;
  std::vector<caf::actor> shards;  // index = shard ID; invalid for shards owned by other nodes
  std::shared_ptr<membership> peers = std::make_shared<membership>();
  std::shared_ptr<overload_registry> overloaded = std::make_shared<overload_registry>();
  std::shared_ptr<metrics::registry> metrics = std::make_shared<metrics::registry>();
  int64_t started_at_ms = 0;
  // Per shard: its actor has recovered and serves requests (set by the shard actor).
  std::unique_ptr<std::atomic<bool>[]> shard_ready;

  [[nodiscard]] bool owns_shard(uint32_t shard) const;
};

// Where a message must go: this node, or the node actor of the owning peer; `error` says why it
// cannot go anywhere (owner down).
struct placement {
  bool local = false;
  caf::actor peer;
  caf::error error;
};

placement place_shard(const node_env& env, uint32_t shard);
placement place_task_queue(const node_env& env, const std::string& ns, const std::string& queue);

using env_ptr = std::shared_ptr<const node_env>;

// Namespace and workflow ID a message is addressed to.
struct route_key {
  std::string ns;
  std::string workflow_id;
};

// Makes a long-lived actor robust against garbage: an unexpected message is logged and dropped
// (answered with a bad_message error when it was a request), and a stray error message is logged
// instead of stopping the actor (CAF's default).
void harden(caf::scheduled_actor* self, const char* name);

// Extracts the task token of a worker's answer or of a node-internal task message.
caf::expected<pb::TaskToken> token_of(caf::atom_value kind, const std::string& bytes);

// Extracts the route key of a message for the shard layer (workflow-addressed messages only).
caf::expected<route_key> route_of(caf::atom_value kind, const std::string& bytes);

// The namespace used when a request names none.
inline const std::string default_namespace = "default";

// Limits on identifiers (bytes).
inline constexpr size_t max_id_length = 1000;

// Returns an empty string when `value` is a valid identifier (non-empty, at most max_id_length
// bytes, no control characters), else the reason naming `what`.
std::string check_id(const std::string& what, const std::string& value);

}  // namespace chronicle
