// chronicle-node --config <file.yaml>: runs one Chronicle node until SIGINT or SIGTERM.
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "actors/node_actor.hpp"

using namespace chronicle;

int main(int argc, char** argv) {
  CLI::App app{"Chronicle node: hosts shards of workflow executions and their task queues"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "YAML config file (see deploy/single-node.yaml)")
    ->required();
  CLI11_PARSE(app, argc, argv);

  std::string error;
  auto config = load_config(config_path, &error);
  if (!config) {
    std::cerr << "chronicle-node: " << error << "\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [" + config->name + "] %v");

  storage::status st;
  std::shared_ptr<storage::store> store =
    storage::store::open(config->data_dir, config->num_shards, config->durability, &st);
  if (!store) {
    std::cerr << "chronicle-node: " << st.message() << "\n";
    return 1;
  }

  // Block the stop signals in every thread; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
  if (config->scheduler_threads > 0) cfg.set("scheduler.max-threads", config->scheduler_threads);
  caf::actor_system sys{cfg};

  auto env = std::make_shared<node_env>();
  env->config = *config;
  env->store = store;
  auto node = start_node(sys, env);
  auto port = sys.middleman().publish(node, config->port, config->host.c_str(), true);
  if (!port) {
    std::cerr << "chronicle-node: cannot listen on " << config->host << ":" << config->port << ": "
              << sys.render(port.error()) << "\n";
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    std::_Exit(1);
  }
  std::cout << "chronicle-node " << config->name << " listening on " << config->host << ":"
            << *port << " (data_dir " << config->data_dir << ", " << config->num_shards
            << " shards)" << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("signal {}: stopping", sig);
  sys.middleman().unpublish(node, *port);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  for (auto& a : {env->frontend, env->admin, env->matching, env->handoff})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& s : env->shards)
    if (s) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  env.reset();
  return 0;
}
