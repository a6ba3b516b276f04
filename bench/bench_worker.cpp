// bench-worker: the bench's workflows (bench/bench_workflows.hpp) served from a process of their
// own, as a user's worker runs: chronicle-bench --worker-process starts it next to the node.
//
//   bench-worker --address 127.0.0.1:7233 --task-queue bench --workflow-slots 64 --activity-slots 64
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "bench/bench_workflows.hpp"
#include "protocol/runtime.hpp"
#include "worker/worker.hpp"

using namespace chronicle;

int main(int argc, char** argv) {
  CLI::App app{"Chronicle bench worker: serves the Bench* workflows on a task queue"};
  std::string address = "127.0.0.1:7233";
  worker_options opts;
  opts.task_queue = "bench";
  std::string log_level = "warn";
  app.add_option("--address", address,
                 "node to connect to, host:port (or several, comma-separated, tried in turn)")->capture_default_str();
  app.add_option("--namespace", opts.ns, "namespace")->capture_default_str();
  app.add_option("--task-queue", opts.task_queue, "task queue to serve")->capture_default_str();
  app.add_option("--workflow-slots", opts.workflow_slots, "workflow tasks in flight at once")
    ->check(CLI::Range(1, 10'000))->capture_default_str();
  app.add_option("--activity-slots", opts.activity_slots, "activities running at once")
    ->check(CLI::Range(1, 10'000))->capture_default_str();
  app.add_option("--sticky-cache", opts.sticky_cache_size, "runs kept in the sticky cache")
    ->capture_default_str();
  app.add_option("--log-level", log_level, "log level (stderr)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (auto bad = parse_addresses(address, &opts.host, &opts.port, &opts.addresses); !bad.empty()) {
    std::cerr << "bench-worker: --address '" << bad << "' is not host:port\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  opts.identity = "bench-worker:" + std::to_string(::getpid());

  auto stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  configure_network(cfg);
  // Same scheduler as the node and the bench: no polling threads competing for the cores.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  auto worker = spawn_worker(sys, opts, bench::make_registry());
  std::cout << "bench-worker serving task queue '" << opts.task_queue << "' via " << address
            << std::endl;
  wait_for_stop_signal(stop_signals);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  return 0;
}
