// chronicle-bench: starts W workflows of one shape with concurrency C against a node (a running
// one, or one it starts itself as a child process) and prints one JSON line of figures.
//
//   chronicle-bench --embedded --shape one-activity --workflows 2000 --concurrency 64
//   chronicle-bench --address 127.0.0.1:7233 --node-pid 1234 --shape timer-100ms
//
// The bench runs its own worker (an in-process worker actor serving the Bench* workflows), or
// with --worker-process a bench-worker process next to the node, as a user's worker runs.
// --driver http / http-wait drive the node's HTTP gateway instead of the CAF client.
// Exit codes: 0 all workflows completed; 1 some failed or the node misbehaved; 2 bad arguments.
#include <CLI/CLI.hpp>
#include <memory>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include "protocol/runtime.hpp"
#include "bench/bench_workflows.hpp"
#include "bench/child_process.hpp"
#include "bench/driver.hpp"
#include "bench/embedded_node.hpp"
#include "bench/proc_stats.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace chronicle::bench;
using ojson = nlohmann::ordered_json;

namespace {

// The most task slots a node accepts from one worker.
constexpr int32_t max_slots = 10'000;

struct bench_options {
  std::string address;
  bool embedded = false;
  pid_t node_pid = 0;
  std::string shape = "one-activity";
  int64_t workflows = 1000;
  int concurrency = 16;
  std::string durability = "fsync";
  bool durability_given = false;
  uint32_t num_shards = 16;
  std::string node_log_level = "warn";
  size_t node_scheduler_threads = 0;  // embedded node's scheduler_threads (0: one per core)
  std::string log_level = "warn";
  int worker_slots = 0;    // workflow task slots per worker; 0: max(16, C)
  int activity_slots = 0;  // activity slots per worker; 0: max(16, C)
  int workers = 1;         // in-process workers
  size_t sticky_cache = 10000;  // runs in each worker's sticky cache (0: whole histories)
  std::string ns = "default";
  std::string task_queue = "bench";
  int64_t timeout_s = 60;
  int64_t max_seconds = 120;
  int64_t warmup = 5;
  std::string driver = "actor";
  uint16_t http_port = 0;       // with --address: the node's http_port (http drivers)
  bool worker_process = false;  // the worker in its own process (bench-worker)
  std::string tmp_dir;
  bool keep_tmp = false;
  std::string node_binary;
};

// Node (and bench) figures sampled when the clock starts and stops.
struct node_stats {
  std::optional<proc_sample> before, after;
  std::optional<proc_sample> self_before, self_after;
  std::optional<proc_sample> worker_before, worker_after;  // --worker-process
  // The workers' workflow tasks by how the sticky cache answered them (full, resumed, replayed,
  // fetched), summed over the workers, when the clock starts and stops.
  std::array<uint64_t, 4> tasks_before{}, tasks_after{};
};

std::array<uint64_t, 4> task_counts(const std::vector<std::shared_ptr<worker_stats>>& all) {
  std::array<uint64_t, 4> sum{};
  for (auto& w : all) {
    sum[0] += w->full;
    sum[1] += w->resumed;
    sum[2] += w->replayed;
    sum[3] += w->fetched;
  }
  return sum;
}

// The embedded node's pid, for the signal handler.
std::atomic<pid_t> child_pid{0};

void on_stop_signal(int sig) {
  pid_t pid = child_pid.load();
  if (pid > 0) ::kill(pid, SIGTERM);
  std::_Exit(128 + sig);
}

std::string run_tag() {
  std::random_device rd;
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08x", rd());
  return buf;
}

double round_to(double v, int digits) {
  double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

// Parses argv into *o. Returns the exit code to use now (help: 0, bad arguments: 2), or -1.
int parse_args(int argc, char** argv, bench_options* o) {
  CLI::App app{"Chronicle benchmark: runs W workflows of a shape with concurrency C against a "
               "node and prints one JSON line"};
  std::vector<std::string> shape_names;
  for (const auto& s : shapes()) shape_names.push_back(s.name);
  auto* address = app.add_option("--address", o->address, "a running node, host:port");
  auto* embedded = app.add_flag("--embedded", o->embedded,
                                "start a chronicle-node child process (temp data_dir, free port)");
  address->excludes(embedded);
  app.add_option("--node-pid", o->node_pid, "pid of the --address node, for node_cpu_s/node_rss_mb")
    ->needs(address)->check(CLI::PositiveNumber);
  app.add_option("--shape", o->shape, "workload")->check(CLI::IsMember(shape_names))
    ->capture_default_str();
  app.add_option("-w,--workflows", o->workflows, "workflows to run (W)")
    ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}))->capture_default_str();
  app.add_option("-c,--concurrency", o->concurrency, "workflows in flight at once (C client threads)")
    ->check(CLI::Range(1, 4096))->capture_default_str();
  auto* dur = app.add_option("--durability", o->durability,
                             "embedded node's durability (with --address: a label for the output)")
    ->check(CLI::IsMember({"fsync", "os"}))->capture_default_str();
  app.add_option("--num-shards", o->num_shards, "embedded node's num_shards")
    ->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--node-scheduler-threads", o->node_scheduler_threads,
                 "embedded node's scheduler_threads (0: one per core)")
    ->check(CLI::Range(size_t{0}, size_t{256}))->capture_default_str();
  app.add_option("--node-log-level", o->node_log_level, "embedded node's log_level")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  app.add_option("--log-level", o->log_level, "log level of the bench's own worker (to stderr)")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
    ->capture_default_str();
  app.add_option("--worker-slots", o->worker_slots,
                 "workflow task slots of each worker (default max(16, C))")
    ->check(CLI::Range(1, max_slots));
  app.add_option("--activity-slots", o->activity_slots,
                 "activity slots of each worker (default max(16, C))")
    ->check(CLI::Range(1, max_slots));
  app.add_option("--workers", o->workers, "in-process workers, each with those slots")
    ->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--sticky-cache", o->sticky_cache,
                 "runs each worker keeps in its sticky cache (0: every workflow task carries and "
                 "replays the whole history)")
    ->check(CLI::Range(size_t{0}, size_t{1'000'000}))->capture_default_str();
  app.add_option("--namespace", o->ns, "namespace")->capture_default_str();
  app.add_option("--task-queue", o->task_queue, "task queue of the bench's worker")
    ->capture_default_str();
  app.add_option("--timeout-s", o->timeout_s, "how long to wait for one workflow's result")
    ->check(CLI::Range(int64_t{1}, int64_t{3600}))->capture_default_str();
  app.add_option("--max-seconds", o->max_seconds,
                 "no workflow starts after this long (the rest count as failed)")
    ->check(CLI::Range(int64_t{1}, int64_t{86'400}))->capture_default_str();
  app.add_option("--driver", o->driver,
                 "load driver: actor (C request chains from one event-based actor) or threads "
                 "(C threads with a blocking client each), http (C keep-alive HTTP connections: "
                 "start, then long-poll the result) or http-wait (one start-and-wait request per "
                 "workflow); see bench/driver.hpp")
    ->check(CLI::IsMember({"actor", "threads", "http", "http-wait"}))->capture_default_str();
  app.add_option("--http-port", o->http_port,
                 "the --address node's http_port (http drivers; --embedded picks a free one)")
    ->needs(address);
  app.add_flag("--worker-process", o->worker_process,
               "run the worker as its own process (bench-worker next to chronicle-bench) instead "
               "of in the bench");
  app.add_option("--warmup", o->warmup, "workflows run one at a time before the clock starts")
    ->check(CLI::Range(int64_t{0}, int64_t{10'000}))->capture_default_str();
  app.add_option("--tmp-dir", o->tmp_dir,
                 "where the embedded node's temp dir goes (default <bin>/../bench-tmp)");
  app.add_flag("--keep-tmp", o->keep_tmp, "keep the embedded node's temp dir (config, data, log)");
  app.add_option("--node-binary", o->node_binary, "chronicle-node to run (default <bin>/chronicle-node)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (!o->embedded && o->address.empty()) {
    std::cerr << "chronicle-bench: give --address host:port or --embedded\n";
    return 2;
  }
  if (o->driver.rfind("http", 0) == 0 && !o->embedded && o->http_port == 0) {
    std::cerr << "chronicle-bench: --driver " << o->driver << " with --address needs --http-port\n";
    return 2;
  }
  o->durability_given = dur->count() > 0;
  return -1;
}

// Runs warm-up and measured workflows with an in-process worker; the actor system (and the
// worker) is gone when this returns, so the node can be stopped without reconnect noise.
run_result run_with_worker(const bench_options& o, const shape& s, const std::string& host,
                           uint16_t port, pid_t stats_pid, node_stats* stats,
                           std::string* warmup_error) {
  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  // Same scheduler as the node (actors/node_main.cpp): no polling threads competing for the cores.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{2});
  // Deliberately never destroyed: at C=64 with durability os, the destructor was seen waiting
  // forever for a detached activity-runner thread (a shutdown bug of the worker's runner pool, to
  // be fixed); the bench's figures must not depend on it. The process exits right after the run.
  auto& sys = *std::make_unique<caf::actor_system>(cfg).release();

  auto reg = make_registry();
  std::vector<caf::actor> workers;
  std::vector<std::shared_ptr<worker_stats>> counters;
  std::vector<std::unique_ptr<child_process>> worker_procs;
  for (int k = 0; k < o.workers && o.worker_process; ++k) {
    std::string error;
    auto log = (std::filesystem::temp_directory_path()
                / ("bench-worker-" + std::to_string(::getpid()) + "-" + std::to_string(k) + ".log"))
                 .string();
    std::filesystem::remove(log);
    auto p = child_process::spawn(
      {executable_dir() + "/bench-worker", "--address", host + ":" + std::to_string(port),
       "--namespace", o.ns, "--task-queue", o.task_queue, "--workflow-slots",
       std::to_string(o.worker_slots), "--activity-slots", std::to_string(o.activity_slots),
       "--sticky-cache", std::to_string(o.sticky_cache)},
      log, &error);
    if (!p || !p->wait_for_output("serving task queue", std::chrono::seconds(20))) {
      *warmup_error = p ? "bench-worker did not start (log " + log + ")" : error;
      return {};
    }
    worker_procs.push_back(std::move(p));
  }
  for (int k = 0; k < o.workers && !o.worker_process; ++k) {
    worker_options wo;
    wo.host = host;
    wo.port = port;
    wo.ns = o.ns;
    wo.task_queue = o.task_queue;
    wo.identity = "chronicle-bench:" + std::to_string(::getpid()) + ":" + std::to_string(k);
    wo.workflow_slots = o.worker_slots;
    wo.activity_slots = o.activity_slots;
    wo.sticky_cache_size = o.sticky_cache;
    wo.stats = std::make_shared<worker_stats>();
    counters.push_back(wo.stats);
    workers.push_back(spawn_worker(sys, wo, reg));
  }

  const std::string tag = run_tag();
  run_options ro;
  ro.host = host;
  ro.port = port;
  ro.ns = o.ns;
  ro.task_queue = o.task_queue;
  ro.workflow_type = s.workflow_type;
  ro.send_signal = s.name == "signal-roundtrip";
  ro.result_timeout = std::chrono::seconds(o.timeout_s);
  ro.max_duration = std::chrono::seconds(o.max_seconds);
  ro.driver = o.driver;
  ro.http_port = o.http_port;
  pid_t worker_pid = worker_procs.empty() ? 0 : worker_procs.front()->pid();

  run_result result;
  if (o.warmup > 0) {  // also waits for the worker to register
    run_options warm = ro;
    warm.id_prefix = "bench-" + tag + "-warmup";
    warm.workflows = o.warmup;
    warm.concurrency = 1;
    warm.count_events = false;
    auto r = run_workflows(sys, warm);
    if (r.failed > 0) *warmup_error = r.errors.empty() ? "warm-up failed" : r.errors.front();
  }
  if (warmup_error->empty()) {
    ro.id_prefix = "bench-" + tag;
    ro.workflows = o.workflows;
    ro.concurrency = o.concurrency;
    ro.on_timing_start = [=] {
      if (stats_pid > 0) stats->before = sample_process(stats_pid);
      stats->self_before = sample_process(::getpid());
      if (worker_pid > 0) stats->worker_before = sample_process(worker_pid);
      stats->tasks_before = task_counts(counters);
    };
    ro.on_timing_end = [=] {
      if (stats_pid > 0) stats->after = sample_process(stats_pid);
      stats->self_after = sample_process(::getpid());
      if (worker_pid > 0) stats->worker_after = sample_process(worker_pid);
      stats->tasks_after = task_counts(counters);
    };
    result = run_workflows(sys, ro);
  }
  for (auto& w : workers) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  for (auto& p : worker_procs) {
    auto log = p->log();
    p.reset();  // stops it
    std::filesystem::remove(log);
  }
  return result;
}

ojson to_json(const bench_options& o, const run_result& r, const node_stats& stats,
              std::optional<size_t> node_log_problems) {
  ojson out;
  out["shape"] = o.shape;
  out["workflows"] = o.workflows;
  out["concurrency"] = o.concurrency;
  if (o.embedded || o.durability_given) out["durability"] = o.durability;
  else out["durability"] = nullptr;
  out["seconds"] = round_to(r.seconds, 3);
  double secs = r.seconds > 0 ? r.seconds : 1e-9;
  out["workflows_per_s"] = round_to(static_cast<double>(r.completed) / secs, 1);
  out["events_per_s"] = round_to(static_cast<double>(r.events) / secs, 1);
  const auto& l = r.latencies_ms;
  out["latency_ms"] = {{"p50", round_to(percentile(l, 50), 2)},
                       {"p90", round_to(percentile(l, 90), 2)},
                       {"p99", round_to(percentile(l, 99), 2)},
                       {"max", round_to(l.empty() ? 0 : l.back(), 2)}};
  if (stats.before && stats.after) {
    out["node_cpu_s"] = round_to(stats.after->cpu_s - stats.before->cpu_s, 2);
    out["node_rss_mb"] = round_to(stats.after->rss_mb, 1);
    out["node_peak_rss_mb"] = round_to(stats.after->peak_rss_mb, 1);
  } else {
    out["node_cpu_s"] = nullptr;
    out["node_rss_mb"] = nullptr;
  }
  // The bench (clients + worker) shares the machine with the node: its CPU time says how much.
  if (stats.self_before && stats.self_after)
    out["bench_cpu_s"] = round_to(stats.self_after->cpu_s - stats.self_before->cpu_s, 2);
  if (stats.worker_before && stats.worker_after)
    out["worker_cpu_s"] = round_to(stats.worker_after->cpu_s - stats.worker_before->cpu_s, 2);
  if (stats.before && stats.after && r.completed > 0)
    out["node_cpu_ms_per_wf"] =
      round_to((stats.after->cpu_s - stats.before->cpu_s) * 1000.0 / static_cast<double>(r.completed), 3);
  out["completed"] = r.completed;
  out["failed"] = r.failed;
  out["events"] = r.events;
  if (r.events_unknown > 0) out["events_unknown"] = r.events_unknown;
  out["worker_slots"] = o.worker_slots;
  out["activity_slots"] = o.activity_slots;
  out["workers"] = o.workers;
  out["sticky_cache"] = o.sticky_cache;
  // Workflow tasks of the measured run by how the workers' sticky caches answered them.
  const char* kinds[] = {"full", "resumed", "replayed", "fetched"};
  ojson tasks;
  for (size_t i = 0; i < 4; ++i) tasks[kinds[i]] = stats.tasks_after[i] - stats.tasks_before[i];
  out["workflow_tasks"] = tasks;
  out["driver"] = o.driver;
  out["worker"] = o.worker_process ? "process" : "in-bench";
  out["node"] = o.embedded ? std::string("embedded") : o.address;
  if (node_log_problems) out["node_log_problems"] = *node_log_problems;
  if (r.retried > 0) out["retried_unavailable"] = r.retried;
  if (!r.errors.empty()) out["errors"] = r.errors;
  return out;
}

// Starts the embedded node. On failure prints why and sets *rc.
std::unique_ptr<embedded_node> start_embedded(const bench_options& o, int* rc) {
  const auto bin = executable_dir();
  embedded_options eo;
  eo.node_binary = o.node_binary.empty() ? bin + "/chronicle-node" : o.node_binary;
  eo.tmp_root = o.tmp_dir.empty()
                  ? (std::filesystem::path(bin).parent_path() / "bench-tmp").string()
                  : o.tmp_dir;
  eo.durability = o.durability;
  eo.num_shards = o.num_shards;
  eo.log_level = o.node_log_level;
  if (o.node_scheduler_threads > 0)
    eo.extra_config += "scheduler_threads: " + std::to_string(o.node_scheduler_threads) + "\n";
  eo.keep_dir = o.keep_tmp;
  if (o.http_port != 0)
    eo.extra_config += "http_host: 127.0.0.1\nhttp_port: " + std::to_string(o.http_port) + "\n";
  if (!std::filesystem::exists(eo.node_binary)) {
    std::cerr << "chronicle-bench: no node binary at " << eo.node_binary
              << " (build the chronicle-node target or pass --node-binary)\n";
    *rc = 2;
    return nullptr;
  }
  std::string error;
  auto node = embedded_node::start(eo, &error);
  if (!node) {
    std::cerr << "chronicle-bench: " << error << "\n";
    *rc = 1;
  }
  return node;
}

// Stops the embedded node and reports what went wrong with it on stderr. Returns false when it
// died during the run or did not stop cleanly. *problems: warning/error lines it logged.
bool stop_embedded(embedded_node& node, size_t* problems) {
  std::string error;
  bool ok = node.stop(&error);
  child_pid = 0;
  if (!ok)
    std::cerr << "chronicle-bench: " << error << "; node log (" << node.log_path() << "):\n"
              << node.log_tail() << std::flush;
  auto lines = node.log_problems();
  *problems = lines.size();
  for (size_t i = 0; i < lines.size() && i < 5; ++i)
    std::cerr << "chronicle-bench: node log: " << lines[i] << "\n";
  if (lines.size() > 5)
    std::cerr << "chronicle-bench: node log: ... " << lines.size() - 5 << " more\n";
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  if (int rc = parse_args(argc, argv, &o); rc >= 0) return rc;
  auto s = find_shape(o.shape);
  if (!s->missing.empty()) {
    std::cerr << "chronicle-bench: shape " << s->name << " " << s->missing << "\n";
    return 2;
  }
  if (o.worker_slots == 0) o.worker_slots = std::min(max_slots, std::max(16, o.concurrency));
  if (o.activity_slots == 0) o.activity_slots = std::min(max_slots, std::max(16, o.concurrency));
  // The worker's logs go to stderr: stdout carries only the JSON line.
  spdlog::set_default_logger(spdlog::stderr_color_mt("chronicle-bench"));
  spdlog::set_level(spdlog::level::from_str(o.log_level));

  int rc = 0;
  std::string host;
  uint16_t port = 0;
  pid_t stats_pid = o.node_pid;
  std::unique_ptr<embedded_node> node;
  if (o.embedded) {
    if (o.driver.rfind("http", 0) == 0) o.http_port = free_loopback_port();
    node = start_embedded(o, &rc);
    if (!node) return rc;
    child_pid = node->pid();
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    host = "127.0.0.1";
    port = node->port();
    stats_pid = node->pid();
  } else if (!parse_address(o.address, &host, &port)) {
    std::cerr << "chronicle-bench: --address '" << o.address << "' is not host:port\n";
    return 2;
  }

  node_stats stats;
  std::string warmup_error;
  auto result = run_with_worker(o, *s, host, port, stats_pid, &stats, &warmup_error);

  std::optional<size_t> node_log_problems;
  if (node) {
    size_t problems = 0;
    if (!stop_embedded(*node, &problems)) rc = 1;
    node_log_problems = problems;
  }
  if (!warmup_error.empty()) {
    std::cerr << "chronicle-bench: warm-up workflow failed: " << warmup_error << "\n";
    if (node && rc == 0) std::cerr << "node log (tail):\n" << node->log_tail();
    return 1;
  }
  std::cout << to_json(o, result, stats, node_log_problems).dump() << std::endl;
  if (result.failed > 0) {
    std::cerr << "chronicle-bench: " << result.failed << " of " << o.workflows
              << " workflows failed (first errors in \"errors\")\n";
    if (node && rc == 0) std::cerr << "node log (tail):\n" << node->log_tail();
    rc = 1;
  }
  return rc;
}
