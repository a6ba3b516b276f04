// Node configuration, read from a YAML file. Every problem is reported as one line naming it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/node/api_keys.hpp"
#include "protocol/search_attributes.hpp"
#include "storage/store.hpp"

namespace chronicle {

class namespace_registry;

struct member_config {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

struct node_config {
  std::string name;             // this node's member name
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string data_dir;
  uint32_t num_shards = 16;
  // Copies of each shard: 1 keeps today's single-copy path; more makes each shard a Raft group
  // over the first replication_factor members clockwise on the ring (docs/replication.md).
  uint32_t replication_factor = 1;
  // Replicated shards: entries applied between two snapshots of a shard (half as many are kept
  // behind each snapshot for lagging replicas); a replica further behind catches up from one.
  uint32_t raft_snapshot_entries = 16384;
  // A replica catching up from a snapshot pulls it from the leader in chunks of about this many
  // bytes, one at a time (docs/replication.md "Snapshots in chunks").
  uint32_t raft_snapshot_chunk_bytes = 1u << 20;
  // At most this many snapshots are pulled at once by a node's replicas (the others wait their
  // turn): a node that rejoins empty does not take the CPU and disk of N shards' installs at once
  // (docs/replication.md "One snapshot pull at a time"). 0: no limit.
  uint32_t raft_snapshot_pulls = 1;
  // The bytes per second a node's snapshot pulls take in together at most (the next chunk is
  // asked for once the last one's bytes fit this rate). 0: no limit.
  uint64_t raft_snapshot_bytes_per_s = 0;
  // A bound on the bytes of a shard's log each replica keeps in memory (libraft 0.15 keeps the
  // log since the last snapshot, and half a threshold behind it, in memory and counts only
  // entries): with large entries snapshots come after fewer than raft_snapshot_entries.
  // 0: no byte bound. 8 MiB: 16 shards' logs stay under ~130 MB per node (32 MiB let an RF=3
  // node grow to ~500 MB over 60 000 workflows), and at 1 KB entries about 2 500 stay behind
  // a snapshot for a lagging replica (docs/replication.md "Memory").
  uint64_t raft_snapshot_log_bytes = uint64_t{8} << 20;
  std::vector<member_config> members;  // defaults to this node alone
  storage::durability durability = storage::durability::fsync;
  std::string log_level = "info";
  int64_t passivate_after_ms = 30'000;  // idle execution actors are stopped after this
  int64_t workflow_task_timeout_ms = 10'000;  // a started workflow task not answered by then is
                                              // timed out and scheduled again (Temporal's default)
  size_t scheduler_threads = 0;
  size_t max_payload_bytes = 2 * 1024 * 1024;
  size_t max_history_events = 51'200;  // a run that would pass it is terminated (Temporal's limit)
  std::string cluster_secret;
  std::string tls_certificate, tls_key, tls_ca;  // PEM files; all empty: plain TCP
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;   // closed runs are deleted after this
  std::map<std::string, int64_t> namespace_retention_ms;  // per-namespace override
  int64_t retention_sweep_ms = 60'000;             // how often each shard deletes expired runs
  // Custom search attributes per namespace (config namespaces.<ns>.search_attributes: name ->
  // type); a namespace without any has none. docs/semantics.md "Search attributes".
  std::map<std::string, search::schema> namespace_search_attributes;
  std::set<std::string> configured_namespaces;  // the names under `namespaces:`
  // The namespaces of the cluster (actors/node/namespaces.hpp), made at start from the above and
  // the records in the data dir; the three below read it when set, else the config alone.
  std::shared_ptr<namespace_registry> namespaces;
  // The retention of namespace `ns`.
  [[nodiscard]] int64_t retention_of(const std::string& ns) const;
  [[nodiscard]] const search::schema& search_attributes_of(const std::string& ns) const;
  // Whether `ns` is registered ("default" always is).
  [[nodiscard]] bool namespace_known(const std::string& ns) const;
  uint16_t http_port = 0;               // HTTP/JSON gateway and web UI; 0 (key absent): none
  std::string http_host;                // empty (key absent): the node's host
  size_t http_max_body_bytes = 1024 * 1024;  // larger request bodies are refused (413)
  // HTTPS for the gateway (config http_tls): PEM files, both empty: plain HTTP. Re-read on SIGHUP.
  std::string http_tls_certificate, http_tls_key;
  // API keys (config api_keys, docs/security.md); empty: every request is allowed. Re-read on SIGHUP.
  key_table api_keys;
  size_t max_task_queue_backlog = 100'000;  // tasks a task queue keeps in memory; beyond: overloaded  // when set, every peer, worker and client must present it  // per payload, like Temporal's default limit         // 0: CAF's default (number of cores)
};

// Parses the file at `path`. On failure returns nullopt and sets *error to one line naming the
// problem (missing file, bad YAML, unknown key, bad value).
std::optional<node_config> load_config(const std::string& path, std::string* error);

}  // namespace chronicle
