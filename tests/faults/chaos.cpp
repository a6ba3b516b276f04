// chronicle-chaos: crash under load. Starts a cluster of real nodes and workers, starts workflows
// (an activity and a 1 s timer each) while a chaos loop kill -9s a random node every few seconds
// and restarts it, and kills and restarts workers. At the end every workflow whose start was
// acknowledged must have completed exactly once with the right result, and no history may have a
// gap, a duplicate event ID or an activity result recorded twice. Prints the counts.
//
//   chronicle-chaos --workflows 200 --duration-s 60 --kill-interval-ms 3000 [--seed N]
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "protocol/runtime.hpp"
#include "../e2e/harness.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  int nodes = 3;
  int workers = 2;
  int workflows = 200;
  int duration_s = 60;
  int kill_interval_ms = 3000;
  uint32_t seed = 1;
  uint32_t num_shards = 12;
};

class cluster {
public:
  cluster(const options& opts) : opts_(opts) {
    for (int i = 0; i < opts.nodes; ++i) {
      names_.push_back("node" + std::to_string(i + 1));
      ports_.push_back(free_port());
    }
    nodes_.resize(opts.nodes);
    workers_.resize(opts.workers);
  }

  std::string config(int i) {
    auto path = (dir_.path() / (names_[i] + ".yaml")).string();
    std::ofstream out(path);
    out << "node:\n  name: " << names_[i] << "\n  host: 127.0.0.1\n  port: " << ports_[i] << "\n"
        << "data_dir: " << (dir_.path() / names_[i]).string() << "\n"
        << "num_shards: " << opts_.num_shards << "\nworkflow_task_timeout_ms: 2000\n"
        << "log_level: warn\nmembers:\n";
    for (size_t j = 0; j < names_.size(); ++j)
      out << "  - name: " << names_[j] << "\n    address: 127.0.0.1:" << ports_[j] << "\n";
    return path;
  }

  bool start_node(int i) {
    nodes_[i] = process(CHRONICLE_NODE_BIN, {"--config", config(i)},
                        (dir_.path() / (names_[i] + ".log")).string());
    return nodes_[i].wait_for_output("listening on", 20s);
  }

  bool start_worker(int w) {
    auto node = w % opts_.nodes;
    workers_[w] = process(GREETING_WORKER_BIN,
                          {"--address", "127.0.0.1:" + std::to_string(ports_[node]),
                           "--task-queue", "chaos", "--identity", "worker" + std::to_string(w)},
                          (dir_.path() / ("worker" + std::to_string(w) + ".log")).string());
    return workers_[w].wait_for_output("serving task queue", 20s);
  }

  void kill_node(int i) { nodes_[i].kill9(); }
  void kill_worker(int w) { workers_[w].kill9(); }
  uint16_t port(int i) const { return ports_[i]; }
  int size() const { return opts_.nodes; }
  std::string logs_dir() const { return dir_.path().string(); }

private:
  options opts_;
  temp_dir dir_;
  std::vector<std::string> names_;
  std::vector<uint16_t> ports_;
  std::vector<process> nodes_;
  std::vector<process> workers_;
};

struct counters {
  std::atomic<int> acknowledged{0}, start_attempts{0}, kills{0}, restarts{0}, worker_kills{0};
};

// Clients per node, reconnected after failures. Each thread keeps its own.
class clients {
public:
  clients(caf::actor_system& sys, const cluster& cl) : sys_(sys), cl_(cl) {
    conns_.resize(cl.size());
  }
  client* get(int i) {
    if (!conns_[i]) {
      auto c = client::connect(sys_, "127.0.0.1", cl_.port(i), 1s);
      if (!c) return nullptr;
      c->set_request_timeout(2s);
      conns_[i].emplace(std::move(*c));
    }
    return &*conns_[i];
  }
  void drop(int i) { conns_[i].reset(); }

private:
  caf::actor_system& sys_;
  const cluster& cl_;
  std::vector<std::optional<client>> conns_;
};

pb::StartWorkflowRequest start_request(const std::string& wid) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type("Greeting");
  req.set_task_queue("chaos");
  req.set_request_id("req-" + wid);  // retries of the same start are deduplicated
  *req.mutable_input() = sdk::to_payload({{"name", wid}});
  return req;
}

// Returns "" when the history of a completed Greeting is sound, else what is wrong.
std::string check_history(const pb::GetHistoryResponse& h) {
  std::map<pb::EventType, int> counts;
  std::set<int64_t> activity_results;
  for (int i = 0; i < h.events_size(); ++i) {
    auto& ev = h.events(i);
    if (ev.event_id() != i + 1) return "event IDs not dense at position " + std::to_string(i + 1);
    ++counts[ev.event_type()];
    if (ev.has_activity_task_completed()
        && !activity_results.insert(ev.activity_task_completed().scheduled_event_id()).second)
      return "activity result recorded twice";
  }
  if (counts[pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED] != 1) return "not exactly one start";
  if (counts[pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED] != 1) return "not exactly one completion";
  if (counts[pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] != 1) return "activity scheduled more than once";
  if (counts[pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED] != 1) return "not exactly one activity result";
  if (counts[pb::EVENT_TYPE_TIMER_FIRED] != 1) return "not exactly one timer fired";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronicle-chaos: crash a cluster under load and check that nothing acknowledged is lost"};
  options opts;
  app.add_option("--nodes", opts.nodes)->check(CLI::Range(1, 9))->capture_default_str();
  app.add_option("--workers", opts.workers)->check(CLI::Range(1, 16))->capture_default_str();
  app.add_option("--workflows", opts.workflows)->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--duration-s", opts.duration_s, "length of the chaos phase")
    ->check(CLI::Range(1, 86400))->capture_default_str();
  app.add_option("--kill-interval-ms", opts.kill_interval_ms)->check(CLI::Range(200, 600000))
    ->capture_default_str();
  app.add_option("--seed", opts.seed)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};

  cluster cl(opts);
  for (int i = 0; i < opts.nodes; ++i)
    if (!cl.start_node(i)) {
      std::cerr << "chaos: node " << i + 1 << " did not start\n";
      return 1;
    }
  for (int w = 0; w < opts.workers; ++w)
    if (!cl.start_worker(w)) {
      std::cerr << "chaos: worker " << w << " did not start\n";
      return 1;
    }
  std::this_thread::sleep_for(2s);  // peers connect, shards become ready

  counters n;
  std::mutex mtx;
  std::set<int> down;  // nodes currently killed
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop_chaos{false};
  auto t0 = clock_type::now();
  auto chaos_end = t0 + std::chrono::seconds(opts.duration_s);

  std::thread chaos([&] {
    std::mt19937 rng{opts.seed};
    while (clock_type::now() < chaos_end && !stop_chaos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(opts.kill_interval_ms));
      if (clock_type::now() >= chaos_end) break;
      int victim = static_cast<int>(rng() % opts.nodes);
      {
        std::lock_guard<std::mutex> g{mtx};
        down.insert(victim);
      }
      cl.kill_node(victim);
      ++n.kills;
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
      if (!cl.start_node(victim)) std::cerr << "chaos: restart of node " << victim + 1 << " failed\n";
      ++n.restarts;
      {
        std::lock_guard<std::mutex> g{mtx};
        down.erase(victim);
      }
      if (n.kills % 2 == 0) {
        int w = static_cast<int>(rng() % opts.workers);
        cl.kill_worker(w);
        ++n.worker_kills;
        std::this_thread::sleep_for(200ms);
        cl.start_worker(w);
      }
    }
  });

  // Starts spread over 70% of the chaos phase; each retried (same request ID) until acknowledged.
  std::thread starter([&] {
    clients cs(sys, cl);
    auto start_window = std::chrono::milliseconds(opts.duration_s * 700);
    std::mt19937 rng{opts.seed + 1};
    for (int i = 0; i < opts.workflows; ++i) {
      auto due = t0 + start_window * i / opts.workflows;
      std::this_thread::sleep_until(due);
      auto wid = "chaos-" + std::to_string(i);
      auto req = start_request(wid);
      auto give_up = clock_type::now() + 60s;
      while (clock_type::now() < give_up) {
        int node = static_cast<int>(rng() % opts.nodes);
        {
          std::lock_guard<std::mutex> g{mtx};
          if (down.count(node)) continue;
        }
        ++n.start_attempts;
        auto* c = cs.get(node);
        if (c) {
          auto r = c->start(req);
          if (r) {
            ++n.acknowledged;
            std::lock_guard<std::mutex> g{mtx};
            acknowledged.push_back(wid);
            break;
          }
          cs.drop(node);
        }
        std::this_thread::sleep_for(100ms);
      }
    }
  });
  starter.join();
  chaos.join();
  auto chaos_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();

  // Everything is up again: every acknowledged workflow must complete, exactly once.
  clients cs(sys, cl);
  int completed = 0, wrong = 0;
  auto deadline = clock_type::now() + 120s;
  for (auto& wid : acknowledged) {
    bool ok = false;
    std::string why = "no result before the deadline";
    while (clock_type::now() < deadline && !ok) {
      int node = static_cast<int>(std::hash<std::string>{}(wid) % opts.nodes);
      auto* c = cs.get(node);
      if (!c) {
        std::this_thread::sleep_for(200ms);
        continue;
      }
      auto r = c->result("", wid, "", 10s);
      if (!r) {
        why = error_text(r.error());
        cs.drop(node);
        continue;
      }
      auto value = sdk::from_payload(r->result());
      if (r->status() != pb::WORKFLOW_EXECUTION_STATUS_COMPLETED
          || value.value("greeting", "") != "Hello, " + wid + "!") {
        why = "wrong result " + value.dump();
        break;
      }
      auto h = c->history("", wid);
      if (!h) {
        why = error_text(h.error());
        continue;
      }
      why = check_history(*h);
      ok = why.empty();
      break;
    }
    if (ok) ++completed;
    else {
      ++wrong;
      std::cerr << "chaos: " << wid << ": " << why << "\n";
    }
  }
  std::cout << "{\"workflows\":" << opts.workflows << ",\"acknowledged\":" << n.acknowledged
            << ",\"start_attempts\":" << n.start_attempts << ",\"completed_exactly_once\":"
            << completed << ",\"failed_checks\":" << wrong << ",\"node_kills\":" << n.kills
            << ",\"node_restarts\":" << n.restarts << ",\"worker_kills\":" << n.worker_kills
            << ",\"chaos_seconds\":" << static_cast<int>(chaos_seconds) << "}" << std::endl;
  bool pass = wrong == 0 && completed == n.acknowledged && n.acknowledged > 0;
  if (!pass) std::cerr << "chaos: FAILED (logs in " << cl.logs_dir() << ")\n";
  return pass ? 0 : 1;
}
