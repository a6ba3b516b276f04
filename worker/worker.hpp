// The worker: a CAF actor in the user's actor system that connects to a Chronicle node (any node),
// registers for a task queue with a number of free slots, and runs the workflow and activity tasks
// pushed to it. It reconnects with backoff when the node goes away.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "worker/sdk/registry.hpp"

namespace chronicle {

// What a worker's sticky cache did (see sdk::workflow_cache), readable while the worker runs.
struct worker_stats {
  std::atomic<uint64_t> full{0};      // workflow tasks that came with the whole history
  std::atomic<uint64_t> resumed{0};   // ... with only new events, applied to the cached code
  std::atomic<uint64_t> replayed{0};  // ... with only new events, replayed with the cached ones
  std::atomic<uint64_t> fetched{0};   // ... with only new events the cache lacked the start of:
                                      //     the whole history was asked of the node
  std::atomic<uint64_t> evicted{0};   // runs evicted from the cache for its size
  std::atomic<bool> registered{false};  // a node accepted the worker's registration
};

struct worker_options {
  std::string host = "127.0.0.1";
  uint16_t port = 7233;
  // More nodes ("host:port") to try, in turn, when the node the worker is connected to cannot be
  // reached. The worker also learns every member's address from the first node that accepts it,
  // so one reachable address is enough to start; this list matters when that node is down.
  std::vector<std::string> addresses;
  // False: only host:port and `addresses` are used (e.g. a worker that must reach the cluster
  // through a proxy, not at the members' own addresses).
  bool learn_members = true;
  std::string ns = "default";
  std::string task_queue;
  std::string identity;          // defaults to "<hostname>:<pid>"
  // The worker's build (optional): shown by task-queue describe, recorded on each workflow task
  // it completes (WorkflowTaskCompleted; workflow describe, list --build-id).
  std::string build_id;
  int32_t workflow_slots = 16;   // workflow tasks in flight at once
  int32_t activity_slots = 16;   // activities running at once (each on its own thread)
  // Flow control of the activity task queue, enforced by the queue across the cluster
  // (docs/semantics.md "Flow control"; 0: none): activities handed out per second (Temporal's
  // TaskQueueActivitiesPerSecond) and activities running at once per fairness key (the
  // StartWorkflowRequest.fairness_key of their run). The smallest value of the queue's workers
  // applies.
  double task_queue_activities_per_second = 0;
  int32_t max_running_activities_per_key = 0;
  std::string secret;            // cluster secret; defaults to env CHRONICLE_CLUSTER_SECRET
  // API key (docs/security.md; a worker needs write in its namespace); defaults to env
  // CHRONICLE_API_KEY.
  std::string api_key;
  // Runs kept in the sticky cache: a workflow task of a cached run carries only the events since
  // the run's previous task, and the suspended workflow code goes on from there instead of
  // replaying the history (0: no cache, every task carries and replays the whole history).
  size_t sticky_cache_size = 10000;
  // The nodes' workflow_task_timeout_ms: a workflow task whose local activities run is answered
  // within 80 % of it (see docs/semantics.md "Local activities").
  std::chrono::milliseconds workflow_task_timeout{10'000};
  std::shared_ptr<worker_stats> stats;  // filled when set
};

// The cluster secret from the environment (CHRONICLE_CLUSTER_SECRET), or "".
std::string secret_from_env();
// The API key from the environment (CHRONICLE_API_KEY), or "".
std::string api_key_from_env();

// Spawns the worker actor. It keeps running (reconnecting as needed) until it is sent an exit.
// REQUIRES: sys has the io middleman loaded; reg outlives nothing (shared).
caf::actor spawn_worker(caf::actor_system& sys, worker_options opts,
                        std::shared_ptr<const sdk::registry> reg);

// Splits "host:port"; returns false when malformed.
bool parse_address(const std::string& address, std::string* host, uint16_t* port);
// Splits a comma-separated list of "host:port" (e.g. a --address option naming several nodes):
// the first into host/port, the others into *more. Returns the malformed entry, or "" when all
// parse.
std::string parse_addresses(const std::string& list, std::string* host, uint16_t* port,
                            std::vector<std::string>* more);

// Requests a connection to a node's published actor, failing after `timeout`, and presents the
// cluster secret and the API key when they are given (an unknown or revoked key: unauthenticated).
caf::expected<caf::actor> connect_node(caf::actor_system& sys, const std::string& host,
                                       uint16_t port, std::chrono::milliseconds timeout,
                                       const std::string& secret = secret_from_env(),
                                       const std::string& api_key = api_key_from_env());

}  // namespace chronicle
