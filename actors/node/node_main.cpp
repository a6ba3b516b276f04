// chronicle-node --config <file.yaml>: runs one Chronicle node until SIGINT or SIGTERM.
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <thread>
#include <iostream>

#include "actors/http/gateway.hpp"
#include "actors/node/memory_release.hpp"
#include "actors/node/namespaces.hpp"
#include "actors/node/node_actor.hpp"
#include "protocol/runtime.hpp"
#include "shards/ring.hpp"

using namespace chronicle;

namespace {

// SIGTERM of a node with replicated shards: every shard it leads hands leadership to another
// replica first (planned, no election timeout for clients to wait out), at most 3 s in all.
void hand_over_leadership(caf::actor_system& sys, const node_env& env) {
  caf::scoped_actor self{sys};
  size_t asked = 0;
  for (auto& shard : env.shards)
    if (shard) {
      self->send(shard, transfer_atom::value, std::string{});
      ++asked;
    }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  size_t handed = 0;
  for (size_t i = 0; i < asked; ++i) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    bool timed_out = false;
    self->receive([&](bool ok) { handed += ok; },
                  caf::after(left) >> [&] { timed_out = true; });
    if (timed_out) break;
  }
  spdlog::info("handed over the leadership of {} shard(s) before stopping", handed);
}

// SIGHUP: the config file is read again and its api_keys and http_tls take effect (a revoked
// key is refused from the next request on). A config that does not load, or a certificate that
// does not, changes nothing of what it concerns; the reason is logged. Other keys need a restart.
void reload(const std::string& path, node_env& env, http::gateway* gateway) {
  std::string error;
  auto config = load_config(path, &error);
  if (!config) {
    spdlog::error("SIGHUP: config not reloaded, keeping the API keys and certificate in use: {}",
                  error);
    return;
  }
  auto keys = config->api_keys.keys.size();
  env.keys->replace(std::move(config->api_keys));
  spdlog::info("SIGHUP: {} API key(s) in force{}", keys, keys ? "" : " (none: the node is open)");
  if (!gateway) return;
  if (config->http_tls_certificate.empty()) {
    if (gateway->https())
      spdlog::error("SIGHUP: http_tls was removed from the config; HTTPS stays on until a restart");
    return;
  }
  if (gateway->reload_tls(config->http_tls_certificate, config->http_tls_key, &error))
    spdlog::info("SIGHUP: http_tls certificate reloaded from {}", config->http_tls_certificate);
  else
    spdlog::error("SIGHUP: keeping the http_tls certificate in use: {}", error);
}

// The namespaces: the config's, then the records in the data dir (registered or updated in the
// cluster: they win over the config's).
std::shared_ptr<namespace_registry> load_namespaces(const node_config& config,
                                                    const storage::store& store,
                                                    std::string* error) {
  auto registry = std::make_shared<namespace_registry>(
    config.configured_namespaces, config.namespace_search_attributes, config.namespace_retention_ms);
  std::vector<std::string> stored;
  auto st = store.load_namespaces(&stored);
  if (!st.ok()) {
    *error = st.message();
    return nullptr;
  }
  for (auto& bytes : stored) {
    pb::NamespaceInfo info;
    if (!info.ParseFromString(bytes) || info.name().empty()) {
      *error = "a namespace record in " + config.data_dir + " is corrupt";
      return nullptr;
    }
    registry->merge(info);
  }
  return registry;
}

// --convert-to-replicated: every shard whose data this data dir holds must be one the ring of
// the member list places here with replication_factor 1 (that member seeds the shard's group,
// replica.cpp seed_converted). Empty when so, else what is wrong.
std::string check_single_copies(const node_config& config, const storage::store& store) {
  std::vector<std::string> names;
  for (auto& m : config.members) names.push_back(m.name);
  auto single = place_shards(hash_ring(names), config.num_shards, 1);
  for (uint32_t shard = 0; shard < config.num_shards; ++shard) {
    storage::status st;
    bool here = store.holds_shard_copy(shard, &st);
    if (!st.ok()) return st.message();
    auto& owner = single.at(shard).preferred_leader;
    if (here && owner != config.name)
      return "data_dir " + config.data_dir + " holds data of shard " + std::to_string(shard) +
             ", which the member list places on " + owner + " with replication_factor 1: "
             "convert with the member list the cluster ran with (no data dir was changed)";
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chronicle node: hosts shards of workflow executions and their task queues"};
  std::string config_path;
  app.add_option("-c,--config", config_path, "YAML config file (see deploy/single-node.yaml)")
    ->required();
  bool convert = false;
  app.add_flag("--convert-to-replicated", convert,
               "convert this data dir, written with replication_factor 1, to serve a replicated "
               "cluster (every node of the cluster, once, with the same member list; "
               "docs/operations.md)");
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals in every thread; main waits for them with sigwait. Before anything
  // starts a thread: RocksDB's background threads, started when the store opens, inherited an
  // unblocked mask, so a SIGTERM right after start could land on one and kill the node (exit
  // 143 instead of a clean stop; seen once in CI).
  auto stop_signals = block_stop_signals();
  sigaddset(&stop_signals, SIGHUP);  // reload (see reload above), waited for with the others
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

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
  if (convert) {  // before anything is recorded: the data must be where the ring put it
    if (auto where = check_single_copies(*config, *store); !where.empty()) {
      std::cerr << "chronicle-node: " << where << "\n";
      return 1;
    }
  }
  bool converting = false;
  if (auto kind = store->check_replication(config->replication_factor > 1, convert, &converting);
      !kind.ok()) {
    std::cerr << "chronicle-node: " << kind.message() << "\n";
    return 1;
  }
  if (converting)
    spdlog::warn("data_dir {} converted to replication: this node seeds the groups of the shards "
                 "whose single copy it holds; the other members join them and catch up",
                 config->data_dir);
  bool converted = store->converted(&st);
  if (!st.ok()) {
    std::cerr << "chronicle-node: " << st.message() << "\n";
    return 1;
  }

  auto namespaces = load_namespaces(*config, *store, &error);
  if (!namespaces) {
    std::cerr << "chronicle-node: " << error << "\n";
    return 1;
  }

  caf::actor_system_config cfg;
  configure_network(cfg, tls_files{config->tls_certificate, config->tls_key, config->tls_ca});
  if (config->scheduler_threads > 0) cfg.set("scheduler.max-threads", config->scheduler_threads);
  // Work sharing: idle scheduler threads block on a condition variable instead of polling with
  // 50 us sleeps (work stealing), which wastes CPU on a small machine shared with workers
  // (docs/performance.md). One thread per core unless scheduler_threads says otherwise.
  cfg.set("scheduler.policy", caf::atom("sharing"));
  if (config->scheduler_threads == 0)
    cfg.set("scheduler.max-threads", size_t{std::max(2u, std::thread::hardware_concurrency())});
  caf::actor_system sys{cfg};

  auto env = std::make_shared<node_env>();
  env->config = *config;
  env->config.namespaces = namespaces;
  env->store = store;
  env->converted = converted;
  env->keys = std::make_shared<key_registry>(config->api_keys);
  store->set_write_observer(
    [m = env->metrics](std::chrono::nanoseconds took, size_t batches, bool synced) {
      m->on_storage_write(took, batches, synced);
    });
  auto node = start_node(sys, env);
  auto port = publish_actor(sys, node, config->port, config->host);
  if (!port) {
    std::cerr << "chronicle-node: cannot listen on " << config->host << ":" << config->port << ": "
              << sys.render(port.error()) << "\n";
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    std::_Exit(1);
  }
  std::unique_ptr<http::gateway> gateway;
  if (config->http_port != 0) {
    std::string http_error;
    gateway = http::gateway::start(sys, node, env, &http_error);
    if (!gateway) {
      std::cerr << "chronicle-node: " << http_error << "\n";
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      std::_Exit(1);
    }
    std::cout << "chronicle-node " << config->name << " serving HTTP on "
              << (gateway->https() ? "https://" : "http://")
              << config->http_host << ":" << gateway->port() << "/" << std::endl;
  }
  std::cout << "chronicle-node " << config->name << " listening on " << config->host << ":"
            << *port << " (data_dir " << config->data_dir << ", " << config->num_shards
            << " shards" << (cfg.openssl_certificate.empty() ? "" : ", TLS") << ")" << std::endl;

  memory_releaser releaser;  // gives memory freed by passivation back to the OS
  if (config->api_keys.open())
    spdlog::info("no api_keys configured: every client may do everything (docs/security.md)");
  int sig = 0;
  while ((sig = wait_for_stop_signal(stop_signals)) == SIGHUP)
    reload(config_path, *env, gateway.get());
  spdlog::info("signal {}: stopping", sig);
  if (env->replicated()) hand_over_leadership(sys, *env);
  if (gateway) gateway->stop();
  sys.middleman().unpublish(node, *port);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  // Every actor the node spawned must stop: the actor system's destructor waits for them (an
  // actor left running keeps the process alive, its connections up, after its node stopped).
  for (auto& a : {env->frontend, env->admin, env->matching, env->handoff, env->raft_outbox,
                  env->copy_cleanup})
    if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& s : env->shards)
    if (s) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  env.reset();
  // The committer's callbacks send to actors: the writes queued by the actors that just stopped
  // must be done before the actor system is destroyed (a callback after that aborted a node
  // with "pure virtual method called" once in CI).
  sys.await_all_actors_done();
  store->drain_async_writes();
  return 0;
}
