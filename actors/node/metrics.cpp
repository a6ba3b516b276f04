#include "actors/node/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace chronicle::metrics {

histogram::histogram(std::vector<double> bounds)
  : bounds_(std::move(bounds)),
    buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void histogram::observe(double value) {
  auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[static_cast<size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void histogram::render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  auto sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size()) std::snprintf(le, sizeof(le), "%g", bounds_[i]);
    else std::snprintf(le, sizeof(le), "+Inf");
    render_sample(out, name + "_bucket", labels + sep + "le=\"" + le + "\"",
                  static_cast<double>(cumulative));
  }
  render_sample(out, name + "_sum", labels, sum_.load(std::memory_order_relaxed));
  render_sample(out, name + "_count", labels,
                static_cast<double>(count_.load(std::memory_order_relaxed)));
}

std::vector<double> latency_buckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,     0.25,   0.5,     1,      2.5,   5,      10};
}

void render_header(std::string& out, const std::string& name, const char* type,
                   const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void render_sample(std::string& out, const std::string& name, const std::string& labels,
                   double value) {
  char num[48];
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(num, sizeof(num), "%.0f", value);
  else
    std::snprintf(num, sizeof(num), "%.9g", value);
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " ";
  out += num;
  out += "\n";
}

std::string label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

registry::registry()
  : storage_write_seconds_(latency_buckets()),
    dispatch_workflow_seconds_(latency_buckets()),
    dispatch_activity_seconds_(latency_buckets()) {}

void registry::on_transition(bool new_run, bool closed, pb::WorkflowExecutionStatus status,
                             size_t events) {
  transitions_.inc();
  events_.inc(events);
  if (new_run) started_.inc();
  if (closed && status >= 0 && static_cast<size_t>(status) < closed_.size())
    closed_[static_cast<size_t>(status)].inc();
}

gauge& registry::backlog(const std::string& ns, const std::string& queue, bool workflow) {
  auto key = "namespace=\"" + label_value(ns) + "\",task_queue=\"" + label_value(queue)
             + "\",kind=\"" + (workflow ? "workflow" : "activity") + "\"";
  std::lock_guard<std::mutex> lock(backlog_mutex_);
  auto& g = backlog_[key];
  if (!g) g = std::make_unique<gauge>();
  return *g;
}

void registry::on_task_queued(const std::string& ns, const std::string& queue, bool workflow,
                              size_t backlog_size) {
  backlog(ns, queue, workflow).set(static_cast<int64_t>(backlog_size));
}

void registry::on_task_dispatched(const std::string& ns, const std::string& queue, bool workflow,
                                  size_t backlog_size,
                                  std::chrono::steady_clock::time_point queued_at) {
  backlog(ns, queue, workflow).set(static_cast<int64_t>(backlog_size));
  std::chrono::duration<double> waited = std::chrono::steady_clock::now() - queued_at;
  (workflow ? dispatch_workflow_seconds_ : dispatch_activity_seconds_).observe(waited.count());
}

void registry::on_storage_write(std::chrono::nanoseconds took, size_t batches, bool synced) {
  storage_writes_.inc();
  if (synced) storage_syncs_.inc();
  storage_batches_.inc(batches);
  storage_write_seconds_.observe(std::chrono::duration<double>(took).count());
}

void registry::on_http_request(unsigned status) {
  auto cls = std::min<size_t>(status / 100, http_.size() - 1);
  http_[cls].inc();
}

std::string registry::render(const std::string& node) const {
  std::string out;
  auto n = "node=\"" + label_value(node) + "\"";
  auto count = [&](const char* name, const char* help, const counter& c) {
    render_header(out, name, "counter", help);
    render_sample(out, name, n, static_cast<double>(c.value()));
  };
  count("chronicle_workflows_started_total", "Workflow runs started on this node's shards.",
        started_);
  render_header(out, "chronicle_workflows_closed_total", "counter",
                "Workflow runs closed on this node's shards, by status.");
  for (size_t s = 2; s < closed_.size(); ++s) {  // Completed .. TimedOut
    // "WORKFLOW_EXECUTION_STATUS_TIMED_OUT" -> "timed_out"
    auto status = pb::WorkflowExecutionStatus_Name(static_cast<pb::WorkflowExecutionStatus>(s))
                    .substr(std::string_view("WORKFLOW_EXECUTION_STATUS_").size());
    for (auto& ch : status) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    render_sample(out, "chronicle_workflows_closed_total", n + ",status=\"" + status + "\"",
                  static_cast<double>(closed_[s].value()));
  }
  count("chronicle_state_transitions_total",
        "Durable workflow state transitions (one RocksDB batch each).", transitions_);
  count("chronicle_history_events_total", "History events appended.", events_);
  count("chronicle_rocksdb_writes_total",
        "RocksDB writes (each a group of transitions sharing one sync, or an unsynced apply "
        "of replicated entries).", storage_writes_);
  count("chronicle_rocksdb_synced_writes_total",
        "RocksDB writes synced to disk (one fsync each under durability fsync).", storage_syncs_);
  count("chronicle_rocksdb_write_batches_total", "Transition batches written to RocksDB.",
        storage_batches_);
  render_header(out, "chronicle_rocksdb_write_seconds", "histogram",
                "Duration of one RocksDB write (synced under durability fsync).");
  storage_write_seconds_.render(out, "chronicle_rocksdb_write_seconds", n);
  render_header(out, "chronicle_task_dispatch_latency_seconds", "histogram",
                "Time a task waited in its task queue before it was handed to a worker.");
  dispatch_workflow_seconds_.render(out, "chronicle_task_dispatch_latency_seconds",
                                    n + ",kind=\"workflow\"");
  dispatch_activity_seconds_.render(out, "chronicle_task_dispatch_latency_seconds",
                                    n + ",kind=\"activity\"");
  render_header(out, "chronicle_workflow_tasks_sent_total", "counter",
                "Started workflow tasks sent to workers, by the history they carried: whole, only "
                "the new events (sticky cache), or whole again for a worker lacking the start.");
  const char* histories[] = {"whole", "new_events", "refetched"};
  for (size_t k = 0; k < workflow_tasks_.size(); ++k)
    render_sample(out, "chronicle_workflow_tasks_sent_total",
                  n + ",history=\"" + histories[k] + "\"",
                  static_cast<double>(workflow_tasks_[k].value()));
  render_header(out, "chronicle_task_queue_backlog", "gauge",
                "Tasks waiting in a task queue hosted by this node for a free worker slot.");
  {
    std::lock_guard<std::mutex> lock(backlog_mutex_);
    for (auto& [labels, g] : backlog_)
      render_sample(out, "chronicle_task_queue_backlog", n + "," + labels,
                    static_cast<double>(g->value()));
  }
  // One unlabelled gauge or counter: its header and its sample.
  auto one = [&](const char* type, const char* name, const char* help, const auto& metric) {
    render_header(out, name, type, help);
    render_sample(out, name, n, static_cast<double>(metric.value()));
  };
  auto level = [&](const char* name, const char* help, const gauge& g) { one("gauge", name, help, g); };
  auto total = [&](const char* name, const char* help, const counter& c) { one("counter", name, help, c); };
  level("chronicle_timers_queued",
        "Durable timers in this node's shard memory queues (waiting to fire).", timers_queued_);
  level("chronicle_executions_active",
        "Workflow execution actors in memory (not passivated).", executions_active_);
  level("chronicle_http_event_streams",
        "Open HTTP event streams (GET .../events: server-sent events).", http_streams_);
  level("chronicle_shards_led",
        "Replicated shards whose leader is this node (replication_factor > 1).", shards_led_);
  total("chronicle_leader_changes_total",
        "Times a replica on this node started or stopped leading its shard.", leader_changes_);
  total("chronicle_snapshots_installed_total",
        "Snapshots a replica on this node installed from its leader (catch-up).",
        snapshots_installed_);
  total("chronicle_snapshot_bytes_installed_total",
        "Bytes of the snapshots installed (chronicle_snapshots_installed_total).", snapshot_bytes_);
  total("chronicle_snapshots_sent_total",
        "Snapshots a leader on this node sent to a replica that needed one.", snapshots_sent_);
  total("chronicle_snapshot_bytes_sent_total",
        "Bytes of the snapshots sent (chronicle_snapshots_sent_total).", snapshot_bytes_sent_);
  total("chronicle_raft_entries_proposed_total",
        "Raft entries the shard leaders on this node proposed.", entries_proposed_);
  total("chronicle_raft_transitions_proposed_total",
        "Transitions in those entries (queued transitions go as one entry).",
        transitions_proposed_);
  total("chronicle_raft_elections_total",
        "Elections this node's replicas started: times one became a candidate (pre-vote rounds "
        "included; won: chronicle_leader_changes_total counts leading starts and ends).",
        elections_);
  total("chronicle_raft_apply_ops_total",
        "Operations (puts, deletes, merges) in the raft entries this node's replicas applied.",
        apply_ops_);
  total("chronicle_raft_apply_ops_written_total",
        "What the applies wrote of them: a follower applies in windows and writes a record "
        "rewritten or removed within one window once or not at all.", apply_ops_written_);
  total("chronicle_raft_messages_sent_total",
        "Raft messages this node's replicas sent to peers.", raft_messages_);
  total("chronicle_raft_sends_total",
        "CAF messages that carried them (the raft outbox joins the messages to one peer that "
        "wait together).", raft_sends_);
  render_header(out, "chronicle_http_requests_total", "counter",
                "HTTP requests answered by the gateway, by status class.");
  for (size_t c = 1; c < http_.size(); ++c)
    render_sample(out, "chronicle_http_requests_total",
                  n + ",code=\"" + std::to_string(c) + "xx\"",
                  static_cast<double>(http_[c].value()));
  return out;
}

}  // namespace chronicle::metrics
