// chronicle-schedule-bench: the scale figures of schedules on one node (docs/schedules.md,
// docs/performance.md), printed as one JSON line.
//
//   1. create:  N interval schedules ("s-<k>", every E ms; spread: schedule k at second k mod
//               E/1000 of the period, or --aligned: all at the same instant), each starting the
//               workflow "BenchNoop" (completes in one workflow task) served by a bench-worker
//               process; node RSS before and after;
//   2. fire:    after one period of warm-up, D seconds measured: the runs started in the window
//               (actions per second sustained, against the N * 1000 / E offered), the delay from
//               each action's nominal time (in its workflow ID) to its workflow's start (p50/p99),
//               node CPU over the window, RSS;
//   3. restart: the node stopped (SIGTERM) and started on the same data: time until it listens
//               and until every shard's scheduler logged its schedules loaded.
//
//   chronicle-schedule-bench --schedules 1000 --every-ms 5000 --seconds 60
//   chronicle-schedule-bench --schedules 10000 --every-ms 30000 --seconds 60 --durability os
//   chronicle-schedule-bench --schedules 10000 --every-ms 3600000 --aligned --warmup-ms 2000 --seconds 20
//   (idle: nothing fires in the window; RSS and CPU of the schedules alone)
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <thread>

#include "bench/child_process.hpp"
#include "bench/bench_util.hpp"
#include "bench/embedded_node.hpp"
#include "bench/proc_stats.hpp"
#include "protocol/runtime.hpp"
#include "worker/client.hpp"

using namespace chronicle;
using namespace chronicle::bench;
using ojson = nlohmann::ordered_json;

namespace {

struct options {
  int64_t schedules = 1000;
  int64_t every_ms = 5000;
  int seconds = 60;
  int64_t warmup_ms = -1;  // -1: one period + 1 s
  bool aligned = false;
  int create_threads = 8;
  int worker_slots = 64;
  std::string durability = "fsync";
  uint32_t num_shards = 16;
  std::string dir;  // set: the node's directory (kept); else a temp dir, removed at the end
  std::string node_binary;
};


int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// The p-th percentile (nearest rank) of sorted values; 0 when empty.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

ojson latency_json(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {{"n", ms.size()}, {"p50", round2(percentile(ms, 50))}, {"p90", round2(percentile(ms, 90))},
          {"p99", round2(percentile(ms, 99))}, {"max", round2(ms.empty() ? 0 : ms.back())}};
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = -1;
  in >> one;
  return one;
}

// The nominal time in a scheduled workflow ID "<schedule>-YYYY-MM-DDTHH:MM:SSZ"; -1 when it is
// not one.
int64_t nominal_of(const std::string& wid) {
  if (wid.size() < 21) return -1;
  std::tm tm{};
  auto text = wid.substr(wid.size() - 20);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::unique_ptr<embedded_node> start_node(const options& o, const std::string& dir, double* listen_ms) {
  embedded_options eo;
  eo.node_binary = o.node_binary.empty() ? executable_dir() + "/chronicle-node" : o.node_binary;
  eo.dir = dir;
  eo.num_shards = o.num_shards;
  eo.durability = o.durability;
  eo.log_level = "info";  // the schedulers' "N schedules loaded" lines
  std::string error;
  auto t0 = clock_type::now();
  auto node = embedded_node::start(eo, &error);
  *listen_ms = ms_since(t0);
  if (!node) std::cerr << "chronicle-schedule-bench: " << error << "\n";
  return node;
}

// The time of day (ms) of a node log line ("2026-12-04T16:19:00.123 info [...] ..."); -1 if none.
int64_t log_time_ms(const std::string& line) {
  int h = 0, m = 0, sec = 0, ms = 0;
  if (line.size() < 23 || std::sscanf(line.c_str() + 11, "%2d:%2d:%2d.%3d", &h, &m, &sec, &ms) != 4)
    return -1;
  return ((h * 60 + m) * 60 + sec) * int64_t{1000} + ms;
}

// The local time of day in ms (the node's log timestamps are local time).
int64_t local_ms_of_day(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return ((tm.tm_hour * 60 + tm.tm_min) * 60 + tm.tm_sec) * int64_t{1000} + ms % 1000;
}

struct loaded_times {
  double wall_ms = -1;  // from `t0` until the bench read the line that completed the count
  double log_ms = -1;   // from `spawned` (the node's start) to that line's own timestamp
};

// Waits until the node's log says that `count` schedules were loaded (the sum of its "shard S: K
// schedules loaded" lines); -1s after `limit`.
loaded_times wait_loaded(const embedded_node& node, int64_t count, clock_type::time_point t0,
                         std::chrono::system_clock::time_point spawned, std::chrono::seconds limit) {
  static const std::regex loaded_line(R"(shard \d+: (\d+) schedules loaded)");
  loaded_times out;
  while (clock_type::now() - t0 < limit) {
    std::ifstream in(node.log_path());
    std::string line;
    int64_t loaded = 0;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, loaded_line)) continue;
      loaded += std::stoll(m[1].str());
      if (loaded >= count) {
        out.wall_ms = ms_since(t0);
        auto at = log_time_ms(line);
        if (at >= 0) out.log_ms = static_cast<double>(at - local_ms_of_day(spawned));
        return out;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return out;
}


pb::CreateScheduleRequest schedule_request(const options& o, int64_t k) {
  pb::CreateScheduleRequest req;
  req.set_namespace_("default");
  req.set_schedule_id("s-" + std::to_string(k));
  auto* iv = req.mutable_definition()->mutable_spec()->add_interval();
  iv->set_every_ms(o.every_ms);
  int64_t slots = std::max<int64_t>(1, o.every_ms / 1000);
  iv->set_offset_ms(o.aligned ? 0 : (k % slots) * 1000);
  auto* action = req.mutable_definition()->mutable_action();
  action->set_workflow_type("BenchNoop");
  action->set_task_queue("bench");
  req.mutable_definition()->mutable_policies()->set_overlap(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL);
  return req;
}

// Creates the schedules from `threads` clients; the number that failed (first errors in *errors).
int64_t create_all(caf::actor_system& sys, uint16_t port, const options& o,
                   std::vector<std::string>* errors) {
  std::atomic<int64_t> next{0}, failed{0};
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < o.create_threads; ++t)
    pool.emplace_back([&] {
      auto c = client::connect(sys, "127.0.0.1", port);
      if (!c) {
        std::lock_guard lock(mu);
        errors->push_back(error_text(c.error()));
        return;
      }
      for (int64_t k = next++; k < o.schedules; k = next++) {
        for (int attempt = 0;; ++attempt) {
          auto r = c->create_schedule(schedule_request(o, k));
          if (r) break;
          auto code = static_cast<errc>(chronicle_code(r.error()));
          if (code == errc::already_started) break;  // a retry of one that was created
          if ((code != errc::overloaded && code != errc::unavailable) || attempt > 100) {
            ++failed;
            std::lock_guard lock(mu);
            if (errors->size() < 5) errors->push_back(error_text(r.error()));
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
  for (auto& t : pool) t.join();
  return failed;
}

// The runs started at or after `from_ms` (every page).
std::vector<pb::WorkflowExecutionInfo> runs_since(client& c, int64_t from_ms, std::string* error) {
  std::vector<pb::WorkflowExecutionInfo> out;
  pb::ListWorkflowsRequest req;
  req.set_namespace_("default");
  req.set_start_time_from_ms(from_ms);
  req.set_page_size(1000);
  while (true) {
    auto page = c.list(req);
    if (!page) {
      *error = error_text(page.error());
      return out;
    }
    for (auto& e : page->executions()) out.push_back(e);
    if (page->next_page_token().empty()) return out;
    req.set_next_page_token(page->next_page_token());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronicle-schedule-bench: N schedules on one node; actions/s, delay from the "
               "scheduled time to the workflow start, CPU and RSS, load time after a restart "
               "(one JSON line)"};
  options o;
  app.add_option("--schedules", o.schedules, "interval schedules to create")
    ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))->capture_default_str();
  app.add_option("--every-ms", o.every_ms, "each schedule's interval (a whole number of seconds)")
    ->check(CLI::Range(int64_t{1000}, int64_t{86'400'000}))->capture_default_str();
  app.add_option("--seconds", o.seconds, "measured window")->check(CLI::Range(1, 3600))
    ->capture_default_str();
  app.add_option("--warmup-ms", o.warmup_ms,
                 "wait after creating before the window (default: one period + 1 s)")
    ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}));
  app.add_flag("--aligned", o.aligned,
               "every schedule at the same instant of the period (default: spread over its seconds)");
  app.add_option("--create-threads", o.create_threads, "client threads creating the schedules")
    ->check(CLI::Range(1, 256))->capture_default_str();
  app.add_option("--worker-slots", o.worker_slots, "the bench-worker's workflow slots")
    ->check(CLI::Range(1, 10'000))->capture_default_str();
  app.add_option("--durability", o.durability, "the node's durability (fsync, os)")
    ->check(CLI::IsMember({"fsync", "os"}))->capture_default_str();
  app.add_option("--num-shards", o.num_shards, "the node's num_shards")->capture_default_str();
  app.add_option("--dir", o.dir, "node directory (config, data, log), kept (default: a temp dir)");
  app.add_option("--node-binary", o.node_binary, "chronicle-node to run");
  CLI11_PARSE(app, argc, argv);
  if (o.every_ms % 1000 != 0) {
    std::cerr << "chronicle-schedule-bench: --every-ms must be a whole number of seconds\n";
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("chronicle-schedule-bench"));
  spdlog::set_level(spdlog::level::warn);

  std::string dir = o.dir;
  bool temp = dir.empty();
  if (temp)
    dir = (std::filesystem::temp_directory_path()
           / ("chronicle-schedule-bench-" + std::to_string(::getpid())))
            .string();

  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{2});
  auto& sys = *std::make_unique<caf::actor_system>(cfg).release();  // see chronicle_bench.cpp

  ojson out;
  out["schedules"] = o.schedules;
  out["every_ms"] = o.every_ms;
  out["aligned"] = o.aligned;
  out["durability"] = o.durability;
  out["offered_actions_per_s"] = round2(o.schedules * 1000.0 / o.every_ms);
  out["load_average_start"] = load_average();
  double listen_ms = 0;
  auto node = start_node(o, dir, &listen_ms);
  if (!node) return 1;
  auto c = client::connect(sys, "127.0.0.1", node->port());
  if (!c || wait_shards_ready(*c, o.num_shards, 120'000) < 0) {
    std::cerr << "chronicle-schedule-bench: the node is not ready\n";
    return 1;
  }
  std::string error;
  auto worker = child_process::spawn(
    {executable_dir() + "/bench-worker", "--address", "127.0.0.1:" + std::to_string(node->port()),
     "--task-queue", "bench", "--workflow-slots", std::to_string(o.worker_slots)},
    dir + "/bench-worker.log", &error);
  if (!worker || !worker->wait_for_output("serving task queue", std::chrono::seconds(30))) {
    std::cerr << "chronicle-schedule-bench: bench-worker did not start: " << error << "\n";
    return 1;
  }
  auto base = sample_process(node->pid());

  std::cerr << "chronicle-schedule-bench: creating " << o.schedules << " schedules\n";
  std::vector<std::string> errors;
  auto t_create = clock_type::now();
  auto failed = create_all(sys, node->port(), o, &errors);
  double create_s = ms_since(t_create) / 1000;
  auto created = sample_process(node->pid());
  out["create"] = {{"seconds", round2(create_s)}, {"failed", failed},
                   {"per_s", round2(o.schedules / std::max(create_s, 1e-9))}};
  if (!errors.empty()) out["create"]["errors"] = errors;
  if (base && created)
    out["node_rss_mb"] = {{"before", round2(base->rss_mb)}, {"after_create", round2(created->rss_mb)},
                          {"per_1k_schedules_after_create",
                           round2((created->rss_mb - base->rss_mb) / (o.schedules / 1000.0))}};

  // Warm-up: one period (every schedule fired once), then the window.
  std::this_thread::sleep_for(std::chrono::milliseconds(o.warmup_ms >= 0 ? o.warmup_ms : o.every_ms + 1000));
  std::cerr << "chronicle-schedule-bench: measuring " << o.seconds << " s\n";
  const int64_t w0 = wall_ms();
  auto s0 = sample_process(node->pid());
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  const int64_t w1 = wall_ms();
  auto s1 = sample_process(node->pid());
  out["load_average_end_of_window"] = load_average();
  // The actions due in the window that started late are listed after a grace of one period (at
  // most 10 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(o.every_ms, 10'000)));
  auto runs = runs_since(*c, w0, &error);
  if (!error.empty()) out["list_error"] = error;
  int64_t started_in_window = 0, due_in_window = 0, completed = 0;
  std::vector<double> delay;
  for (auto& r : runs) {
    if (r.start_time_ms() < w1) ++started_in_window;
    auto nominal = nominal_of(r.workflow_id());
    if (nominal < w0 || nominal >= w1) continue;
    ++due_in_window;
    completed += r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED;
    delay.push_back(static_cast<double>(r.start_time_ms() - nominal));
  }
  // Actions due in the window: every schedule's times in [w0, w1).
  int64_t expected = 0;
  int64_t slots = std::max<int64_t>(1, o.every_ms / 1000);
  for (int64_t k = 0; k < o.schedules; ++k) {
    int64_t offset = o.aligned ? 0 : (k % slots) * 1000;
    auto first = ((w0 - offset + o.every_ms - 1) / o.every_ms) * o.every_ms + offset;
    if (first < w0) first += o.every_ms;
    if (first < w1) expected += (w1 - 1 - first) / o.every_ms + 1;
  }
  double window_s = (w1 - w0) / 1000.0;
  out["window"] = {{"seconds", round2(window_s)},
                   {"actions_due", expected},
                   {"due_actions_started", due_in_window},
                   {"due_actions_completed", completed},
                   {"started_per_s", round2(started_in_window / window_s)},
                   {"delay_ms", latency_json(delay)}};
  if (s0 && s1) {
    double cpu = s1->cpu_s - s0->cpu_s;
    out["window"]["node_cpu_s"] = round2(cpu);
    out["window"]["node_cpu_percent"] = round2(100 * cpu / window_s);
    out["window"]["node_cpu_percent_per_1k_schedules"] = round2(100 * cpu / window_s / (o.schedules / 1000.0));
    out["window"]["node_cpu_ms_per_action"] =
      round2(started_in_window ? 1000 * cpu / static_cast<double>(started_in_window) : 0);
    out["node_rss_mb"]["end_of_window"] = round2(s1->rss_mb);
    if (base)
      out["node_rss_mb"]["per_1k_schedules_end_of_window"] = round2((s1->rss_mb - base->rss_mb) / (o.schedules / 1000.0));
  }

  std::cerr << "chronicle-schedule-bench: restart\n";
  if (!node->stop(&error)) std::cerr << "chronicle-schedule-bench: stop: " << error << "\n";
  node.reset();
  auto t_restart = clock_type::now();
  auto spawned = std::chrono::system_clock::now();
  node = start_node(o, dir, &listen_ms);
  if (!node) return 1;
  auto loaded = wait_loaded(*node, o.schedules, t_restart, spawned, std::chrono::seconds(600));
  auto after = sample_process(node->pid());
  out["restart"] = {{"listening_ms", round2(listen_ms)},
                    {"schedules_loaded_ms", round2(loaded.wall_ms)},
                    {"schedules_loaded_ms_by_node_log", loaded.log_ms}};
  if (after) out["restart"]["node_rss_mb_loaded"] = round2(after->rss_mb);
  worker.reset();
  node->stop(&error);
  node.reset();
  if (temp) std::filesystem::remove_all(dir);
  std::cout << out.dump() << std::endl;
  std::_Exit(0);  // the actor system is never destroyed (see chronicle_bench.cpp)
}
