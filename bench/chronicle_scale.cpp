// chronicle-scale: the scale figures of one node (issue #7 part 4), printed as one JSON line.
//
//   1. fill:    W completed `one-activity` workflows (default 1,000,000) through the bench driver;
//   2. idle:    I open workflows (default 100,000) that wait on a one-hour durable timer; waits
//               until their first workflow task is done and the node passivated them;
//   3. probe:   node RSS; describe and list latency (several filters) from a client;
//   4. restart: stops the node and starts it again on the same data: time until it listens and
//               until every shard is ready, RSS after.
//
//   chronicle-scale --dir /tmp/scale [--completed 1000000] [--idle 100000] [-c 64]
//   chronicle-scale --dir /tmp/scale --skip-fill ...   (reuse the data of an earlier run)
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "bench/bench_workflows.hpp"
#include "bench/driver.hpp"
#include "bench/bench_util.hpp"
#include "bench/embedded_node.hpp"
#include "bench/proc_stats.hpp"
#include "protocol/runtime.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace chronicle::bench;
using ojson = nlohmann::ordered_json;

namespace {

struct scale_options {
  std::string dir;
  int64_t completed = 1'000'000;
  int64_t idle = 100'000;
  int concurrency = 64;
  bool skip_fill = false;
  uint32_t num_shards = 16;
  int64_t passivate_after_ms = 5000;
  std::string node_binary;
};


ojson latency_json(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {{"n", ms.size()}, {"p50", round2(percentile(ms, 50))}, {"p99", round2(percentile(ms, 99))},
          {"max", round2(ms.empty() ? 0 : ms.back())}};
}

double rss_mb(pid_t pid) {
  auto s = sample_process(pid);
  return s ? round2(s->rss_mb) : -1;
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

// Starts `count` BenchSleepHour workflows from `threads` clients; retries starts refused as
// overloaded. Returns the number that failed for good.
int64_t start_idle(caf::actor_system& sys, uint16_t port, int64_t count, int threads,
                   std::vector<std::string>* errors) {
  std::atomic<int64_t> next{0}, failed{0};
  std::mutex mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      auto c = client::connect(sys, "127.0.0.1", port);
      if (!c) {
        std::lock_guard lock(mu);
        errors->push_back(error_text(c.error()));
        return;
      }
      for (int64_t k = next++; k < count; k = next++) {
        pb::StartWorkflowRequest req;
        req.set_workflow_id("idle-" + std::to_string(k));
        req.set_workflow_type("BenchSleepHour");
        req.set_task_queue("bench");
        req.set_request_id("idle-" + std::to_string(k));
        *req.mutable_input() = sdk::to_payload(k);
        for (int attempt = 0;; ++attempt) {
          auto r = c->start(req);
          if (r) break;
          bool overloaded = chronicle_code(r.error()) == static_cast<uint8_t>(errc::overloaded);
          if (!overloaded || attempt > 200) {
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

// Waits until sampled idle workflows have recorded their timer (first workflow task done).
bool wait_idle_settled(client& c, int64_t count, std::chrono::seconds limit) {
  auto deadline = clock_type::now() + limit;
  int64_t step = std::max<int64_t>(1, count / 200);
  for (int64_t k = count - 1; k >= 0; k -= step) {
    while (true) {
      auto d = c.describe("", "idle-" + std::to_string(k));
      if (d && d->pending_timers_size() == 1 && d->pending_workflow_task().empty()) break;
      if (clock_type::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  return true;
}

ojson probe(client& c, const scale_options& o) {
  std::mt19937_64 rng{42};
  std::vector<double> describe_ms;
  int describe_errors = 0;
  for (int i = 0; i < 400; ++i) {
    bool idle = (i % 2) && o.idle > 0;
    int64_t n = idle ? o.idle : o.completed;
    if (n <= 0) continue;
    auto id = std::string(idle ? "idle-" : "fill-") + std::to_string(rng() % n);
    auto t0 = clock_type::now();
    auto d = c.describe("", id);
    describe_ms.push_back(ms_since(t0));
    if (!d) ++describe_errors;
  }
  ojson out;
  out["describe_ms"] = latency_json(describe_ms);
  out["describe_errors"] = describe_errors;
  struct list_case {
    const char* name;
    std::function<void(pb::ListWorkflowsRequest&)> set;
  };
  std::vector<list_case> cases = {
    {"first_page_100", [](auto&) {}},
    {"status_running_100", [](auto& r) { r.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING); }},
    {"status_completed_100", [](auto& r) { r.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED); }},
    {"type_one_activity_100", [](auto& r) { r.set_workflow_type("BenchOneActivity"); }},
    {"id_prefix_fill-12345", [](auto& r) { r.set_workflow_id_prefix("fill-12345"); }},
    // A wide prefix (about 111,000 runs), and filters combined: type and status that go together
    // (both indexes dense) and that never do (no run: the worst case of the index choice).
    {"id_prefix_fill-1_100", [](auto& r) { r.set_workflow_id_prefix("fill-1"); }},
    {"type_sleep_running_100",
     [](auto& r) {
       r.set_workflow_type("BenchSleepHour");
       r.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
     }},
    {"type_one_activity_completed_prefix_fill-9_100",
     [](auto& r) {
       r.set_workflow_type("BenchOneActivity");
       r.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
       r.set_workflow_id_prefix("fill-9");
     }},
    {"type_one_activity_running_none",
     [](auto& r) {
       r.set_workflow_type("BenchOneActivity");
       r.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
     }},
    {"page_1000", [](auto& r) { r.set_page_size(1000); }},
  };
  for (auto& lc : cases) {
    std::vector<double> ms;
    int found = 0;
    std::string error;
    for (int i = 0; i < 5; ++i) {
      pb::ListWorkflowsRequest req;
      lc.set(req);
      auto t0 = clock_type::now();
      auto l = c.list(req);
      ms.push_back(ms_since(t0));
      if (l) found = l->executions_size();
      else error = error_text(l.error());
    }
    ojson j = latency_json(ms);
    j["runs"] = found;
    if (!error.empty()) j["error"] = error;
    out["list_ms"][lc.name] = j;
  }
  // Paging through the first 10 pages of 100.
  {
    pb::ListWorkflowsRequest req;
    std::vector<double> ms;
    for (int i = 0; i < 10; ++i) {
      auto t0 = clock_type::now();
      auto l = c.list(req);
      ms.push_back(ms_since(t0));
      if (!l || l->next_page_token().empty()) break;
      req.set_next_page_token(l->next_page_token());
    }
    out["list_ms"]["next_pages_100"] = latency_json(ms);
  }
  return out;
}

std::unique_ptr<embedded_node> start_node(const scale_options& o, double* listen_ms) {
  embedded_options eo;
  eo.node_binary = o.node_binary.empty() ? executable_dir() + "/chronicle-node" : o.node_binary;
  eo.dir = o.dir;
  eo.num_shards = o.num_shards;
  eo.extra_config = "passivate_after_ms: " + std::to_string(o.passivate_after_ms) + "\n"
                    + "max_task_queue_backlog: 200000\n";
  std::string error;
  auto t0 = clock_type::now();
  auto node = embedded_node::start(eo, &error);
  *listen_ms = ms_since(t0);
  if (!node) std::cerr << "chronicle-scale: " << error << "\n";
  return node;
}


}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronicle-scale: completed and idle workflows in one node; list/describe latency, "
               "RSS, start-up time (one JSON line)"};
  scale_options o;
  app.add_option("--dir", o.dir, "node directory (config, data, log); kept")->required();
  app.add_option("--completed", o.completed, "completed one-activity workflows to create")
    ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  app.add_option("--idle", o.idle, "open workflows waiting on a 1-hour timer to create")
    ->check(CLI::Range(int64_t{0}, int64_t{10'000'000}));
  app.add_option("-c,--concurrency", o.concurrency, "client threads")->check(CLI::Range(1, 512));
  app.add_flag("--skip-fill", o.skip_fill, "do not create workflows: probe the data in --dir");
  app.add_option("--num-shards", o.num_shards, "the node's num_shards (fixed at creation)");
  app.add_option("--passivate-after-ms", o.passivate_after_ms, "the node's passivate_after_ms");
  app.add_option("--node-binary", o.node_binary, "chronicle-node to run");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("chronicle-scale"));
  spdlog::set_level(spdlog::level::warn);

  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{2});
  auto& sys = *std::make_unique<caf::actor_system>(cfg).release();  // see chronicle_bench.cpp

  ojson out;
  out["completed_target"] = o.completed;
  out["idle_target"] = o.idle;
  double listen_ms = 0;
  auto node = start_node(o, &listen_ms);
  if (!node) return 1;
  auto c = client::connect(sys, "127.0.0.1", node->port());
  if (!c) {
    std::cerr << "chronicle-scale: " << error_text(c.error()) << "\n";
    return 1;
  }
  wait_shards_ready(*c, o.num_shards, 600'000);

  worker_options wo;
  wo.host = "127.0.0.1";
  wo.port = node->port();
  wo.task_queue = "bench";
  wo.workflow_slots = 64;
  wo.activity_slots = 64;
  auto worker = spawn_worker(sys, wo, make_registry());

  if (!o.skip_fill) {
    std::cerr << "chronicle-scale: fill: " << o.completed << " one-activity workflows\n";
    run_options ro;
    ro.host = "127.0.0.1";
    ro.port = node->port();
    ro.task_queue = "bench";
    ro.workflow_type = "BenchOneActivity";
    ro.id_prefix = "fill";
    ro.workflows = o.completed;
    ro.concurrency = o.concurrency;
    ro.count_events = false;
    ro.max_duration = std::chrono::seconds(24 * 3600);
    auto r = run_workflows(sys, ro);
    out["fill"] = {{"seconds", round2(r.seconds)}, {"completed", r.completed}, {"failed", r.failed},
                   {"workflows_per_s", round2(r.completed / std::max(r.seconds, 1e-9))}};
    out["rss_mb_after_fill"] = rss_mb(node->pid());

    std::cerr << "chronicle-scale: idle: " << o.idle << " workflows on a 1-hour timer\n";
    std::vector<std::string> errors;
    auto t0 = clock_type::now();
    auto failed = start_idle(sys, node->port(), o.idle, o.concurrency, &errors);
    double start_s = ms_since(t0) / 1000;
    bool settled = wait_idle_settled(*c, o.idle, std::chrono::seconds(600));
    out["idle"] = {{"start_seconds", round2(start_s)}, {"failed", failed},
                   {"starts_per_s", round2(o.idle / std::max(start_s, 1e-9))},
                   {"settled", settled}};
    if (!errors.empty()) out["idle"]["errors"] = errors;
    out["rss_mb_idle_before_passivation"] = rss_mb(node->pid());
  }
  // Passivation: wait 2 x passivate_after_ms (+2 s) so the idle executions are stopped.
  std::this_thread::sleep_for(std::chrono::milliseconds(2 * o.passivate_after_ms + 2000));
  out["rss_mb_idle_passivated"] = rss_mb(node->pid());
  out["data_dir_mb"] = round2(dir_bytes(o.dir + "/data") / 1048576.0);
  std::cerr << "chronicle-scale: probing list and describe\n";
  out["probe"] = probe(*c, o);

  std::cerr << "chronicle-scale: restart\n";
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  std::string error;
  if (!node->stop(&error)) std::cerr << "chronicle-scale: stop: " << error << "\n";
  node.reset();
  node = start_node(o, &listen_ms);
  if (!node) return 1;
  auto c2 = client::connect(sys, "127.0.0.1", node->port());
  if (!c2) return 1;
  double ready_ms = wait_shards_ready(*c2, o.num_shards, 600'000);
  out["restart"] = {{"listening_ms", round2(listen_ms)},
                    {"all_shards_ready_ms", round2(listen_ms + ready_ms)},
                    {"rss_mb_when_ready", rss_mb(node->pid())}};
  std::this_thread::sleep_for(std::chrono::seconds(5));
  out["restart"]["rss_mb_after_5s"] = rss_mb(node->pid());
  out["restart"]["probe"] = probe(*c2, o);
  node->stop(&error);
  std::cout << out.dump() << std::endl;
  std::_Exit(0);  // the actor system is never destroyed (see chronicle_bench.cpp)
}
