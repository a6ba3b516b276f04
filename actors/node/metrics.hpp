// A node's metrics: lock-free counters, gauges and fixed-bucket histograms, rendered in the
// Prometheus text format (version 0.0.4) by the HTTP gateway's /metrics endpoint.
//
// Contracts:
// - Every hook may be called from any thread at any time (atomics; the per-task-queue gauges take
//   a short mutex). Hooks never throw and never allocate on the hot path except for a task queue's
//   first appearance.
// - Values only grow (counters) or are set (gauges); nothing is ever reset while the node runs.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace chronicle::metrics {

class counter {
public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> value_{0};
};

class gauge {
public:
  void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  [[nodiscard]] int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> value_{0};
};

// Cumulative buckets with fixed upper bounds (seconds), plus +Inf, sum and count.
class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket, _sum and _count lines of metric `name` with `labels` (`k="v",...`).
  void render(std::string& out, const std::string& name, const std::string& labels) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, non-cumulative; last: +Inf
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Bounds for latencies from 50 us to 10 s.
std::vector<double> latency_buckets();

// Appends a "# HELP" and "# TYPE" header.
void render_header(std::string& out, const std::string& name, const char* type, const char* help);
// Appends one sample line `name{labels} value`.
void render_sample(std::string& out, const std::string& name, const std::string& labels,
                   double value);
// Escapes a label value (backslash, double quote, newline).
std::string label_value(const std::string& value);

class registry {
public:
  registry();

  // --- hooks (one line each at the call sites) ---
  // A transition was committed: `new_run` when it started a run, `closed` with the run's status
  // when it closed one, `events` the number of history events it appended.
  void on_transition(bool new_run, bool closed, pb::WorkflowExecutionStatus status, size_t events);
  // A task entered a task queue's backlog, which now holds `backlog` tasks.
  void on_task_queued(const std::string& ns, const std::string& queue, bool workflow,
                      size_t backlog);
  // A task left the backlog for a worker after waiting since `queued_at`.
  void on_task_dispatched(const std::string& ns, const std::string& queue, bool workflow,
                          size_t backlog, std::chrono::steady_clock::time_point queued_at);
  // One RocksDB write (a group of `batches` transitions; synced or not) took `took`.
  void on_storage_write(std::chrono::nanoseconds took, size_t batches, bool synced);
  // The HTTP gateway answered a request with `status`.
  void on_http_request(unsigned status);
  // HTTP event streams (server-sent events) opened (+1) or ended (-1).
  void on_http_streams(int64_t delta) { http_streams_.add(delta); }
  // Shards' in-memory timer queues grew (+) or shrank (-) by `delta` entries.
  void on_timers_queued(int64_t delta) { timers_queued_.add(delta); }
  // Execution actors were activated (+) or passivated / stopped (-).
  void on_executions_active(int64_t delta) { executions_active_.add(delta); }
  // A replica of `shard` on this node started (true) or stopped (false) leading it.
  void on_leader_change(uint32_t shard, bool leading) {
    leader_changes_.inc();
    shards_led_.add(leading ? 1 : -1);
  }
  // A replica on this node installed a snapshot sent by its leader (catching up).
  void on_snapshot_installed(size_t bytes) {
    snapshots_installed_.inc();
    snapshot_bytes_.inc(static_cast<uint64_t>(bytes));
  }
  // A leader on this node read its shard's data to send a replica that needs a snapshot.
  void on_snapshot_sent(size_t bytes) {
    snapshots_sent_.inc();
    snapshot_bytes_sent_.inc(static_cast<uint64_t>(bytes));
  }
  // A leader on this node proposed one raft entry holding `transitions` transitions' writes.
  void on_entry_proposed(size_t transitions) {
    entries_proposed_.inc();
    transitions_proposed_.inc(static_cast<uint64_t>(transitions));
  }
  // Replicas on this node became candidates `n` more times (raft::group::campaigns).
  void on_campaigns(uint64_t n) { elections_.inc(n); }
  // A replica on this node wrote applied entries holding `ops` operations as `written` ones
  // (storage::batch_coalescer: a follower's window writes a record rewritten in it once).
  void on_entries_applied(uint64_t ops, uint64_t written) {
    apply_ops_.inc(ops);
    apply_ops_written_.inc(written);
  }
  // The raft outbox sent `messages` Raft messages to a peer in one CAF message (1: alone).
  void on_raft_messages_sent(size_t messages) {
    raft_sends_.inc();
    raft_messages_.inc(static_cast<uint64_t>(messages));
  }
  // A started workflow task was sent to a worker: with its run's whole history, with only the
  // events since the worker's previous task of the run (sticky cache), or whole again because
  // the worker lacked the earlier events.
  enum class task_history { whole, new_events, refetched };
  void on_workflow_task_sent(task_history kind) {
    workflow_tasks_[static_cast<size_t>(kind)].inc();
  }

  // Every metric in the Prometheus text format, each sample labelled node="<node>".
  [[nodiscard]] std::string render(const std::string& node) const;

private:
  counter started_;
  std::array<counter, 8> closed_;  // index: WorkflowExecutionStatus
  counter transitions_;
  counter events_;
  counter storage_writes_;
  counter storage_syncs_;
  counter storage_batches_;
  histogram storage_write_seconds_;
  histogram dispatch_workflow_seconds_;
  histogram dispatch_activity_seconds_;
  std::array<counter, 6> http_;                // index: status / 100 (1xx..5xx)
  gauge timers_queued_;
  gauge executions_active_;
  gauge http_streams_;
  counter leader_changes_;
  counter snapshots_installed_;
  counter snapshot_bytes_;
  counter snapshots_sent_;
  counter snapshot_bytes_sent_;
  counter entries_proposed_;
  counter transitions_proposed_;
  counter raft_sends_;
  counter raft_messages_;
  counter apply_ops_;
  counter apply_ops_written_;
  counter elections_;
  gauge shards_led_;
  std::array<counter, 3> workflow_tasks_;  // index: task_history

  mutable std::mutex backlog_mutex_;
  std::map<std::string, std::unique_ptr<gauge>> backlog_;  // key: rendered labels
  gauge& backlog(const std::string& ns, const std::string& queue, bool workflow);
};

}  // namespace chronicle::metrics
