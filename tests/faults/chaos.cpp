// chronicle-chaos: crash under load. Starts a cluster of real nodes and workers, starts workflows
// (an activity and a 1 s timer each) while a chaos loop kill -9s a random node every few seconds
// and restarts it, and kills and restarts workers. At the end every workflow whose start was
// acknowledged must have completed exactly once with the right result, and no history may have a
// gap, a duplicate event ID or an activity result recorded twice. Prints the counts.
//
//   chronicle-chaos --workflows 200 --duration-s 60 --kill-interval-ms 3000 [--seed N]
//
// Replicated shards (issue 16): --replication-factor 3 makes every shard a Raft group of the 3
// nodes. Then, besides the kill -9 loop (interval drawn in [--kill-interval-ms,
// --kill-interval-max-ms]):
//   --stop-leader N   N times, SIGSTOP the node leading the most shards for --stop-ms (past the
//                     ~1 s election timeout), then SIGCONT it: the others elect, the paused
//                     leader comes back deposed and must not acknowledge anything stale;
//   --wipe N          N times: SIGSTOP node L for --stop-ms (entries commit on W and K only),
//                     kill -9 W and delete its data dir, kill -9 K, restart W empty under the
//                     same name, SIGCONT L, 3 s later restart K. Under its old Raft ID the empty
//                     W would let L win elections without the entries only W and K held; its new
//                     data dir makes it a new member instead (fenced old ID, joined Raft ID,
//                     caught up and promoted by the leaders: docs/replication.md "Wiped nodes"),
//                     and its replicas must end with the others' digests;
// and at the end every shard's replicas must report the same digest at the same applied index
// (ClusterStatus with_shards: ShardReplication digest / digest_index).
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "protocol/messages.hpp"
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
  int replication_factor = 1;
  int kill_interval_max_ms = 0;  // 0: always kill_interval_ms
  int stop_leader = 0;           // SIGSTOP/SIGCONT events
  int stop_ms = 3000;
  int wipe = 0;                  // kill -9 + wipe + restart events
  int digest_wait_s = 60;
  int snapshot_entries = 0;      // raft_snapshot_entries (0: the node's default)
  int snapshot_chunk_bytes = 0;  // raft_snapshot_chunk_bytes (0: the node's default)
};

class cluster {
public:
  cluster(const options& opts) : opts_(opts) {
    for (int i = 0; i < opts.nodes; ++i) {
      names_.push_back("node" + std::to_string(i + 1));
      ports_.push_back(free_port());
    }
    nodes_.resize(opts.nodes);
    starts_.resize(opts.nodes);
    workers_.resize(opts.workers);
  }

  std::string config(int i) {
    auto path = (dir_.path() / (names_[i] + ".yaml")).string();
    std::ofstream out(path);
    out << "node:\n  name: " << names_[i] << "\n  host: 127.0.0.1\n  port: " << ports_[i] << "\n"
        << "data_dir: " << (dir_.path() / names_[i]).string() << "\n"
        << "num_shards: " << opts_.num_shards << "\nworkflow_task_timeout_ms: 2000\n"
        << "replication_factor: " << opts_.replication_factor << "\n";
    if (opts_.snapshot_entries > 0) out << "raft_snapshot_entries: " << opts_.snapshot_entries << "\n";
    if (opts_.snapshot_chunk_bytes > 0)
      out << "raft_snapshot_chunk_bytes: " << opts_.snapshot_chunk_bytes << "\n";
    out << "log_level: " << (opts_.replication_factor > 1 ? "info" : "warn") << "\nmembers:\n";
    for (size_t j = 0; j < names_.size(); ++j)
      out << "  - name: " << names_[j] << "\n    address: 127.0.0.1:" << ports_[j] << "\n";
    return path;
  }

  bool start_node(int i) {
    // One log per start: the harness appends, so an old "listening on" would end the wait at once.
    nodes_[i] = process(CHRONICLE_NODE_BIN, {"--config", config(i)},
                        (dir_.path() / (names_[i] + "." + std::to_string(++starts_[i]) + ".log")).string());
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
  void stop_node(int i) { ::kill(nodes_[i].pid(), SIGSTOP); }
  void cont_node(int i) { ::kill(nodes_[i].pid(), SIGCONT); }
  // Deletes a (killed) node's data dir: it restarts empty under its old name and Raft ID.
  void wipe_node(int i) { std::filesystem::remove_all(dir_.path() / names_[i]); }
  int index_of(const std::string& name) const {
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return static_cast<int>(i);
    return -1;
  }
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
  std::vector<int> starts_;
  std::vector<process> workers_;
};

struct counters {
  std::atomic<int> acknowledged{0}, start_attempts{0}, kills{0}, restarts{0}, worker_kills{0};
  std::atomic<int> leader_stops{0}, wipes{0};
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

// Shard -> serving leader, as the replicas of the live nodes report it.
std::map<uint32_t, std::string> leaders(client& c) {
  auto st = c.cluster_status(true);
  return st ? client::serving_leaders(*st) : std::map<uint32_t, std::string>{};
}

// The member that leads the most shards ("" when none is known).
std::string busiest_leader(const std::map<uint32_t, std::string>& l) {
  std::map<std::string, int> count;
  for (auto& [shard, node] : l) ++count[node];
  std::string best;
  for (auto& [node, k] : count)
    if (best.empty() || k > count[best]) best = node;
  return best;
}

struct replica_row {
  std::string node, role;
  uint64_t term = 0, commit = 0, applied = 0, digest = 0, digest_index = 0;
};

// Per shard, every up node's replica row.
std::map<uint32_t, std::vector<replica_row>> replica_rows(client& c) {
  std::map<uint32_t, std::vector<replica_row>> out;
  auto st = c.cluster_status(true, true);
  if (!st) return out;
  for (auto& n : st->nodes())
    if (n.up())
      for (auto& s : n.shards()) {
        auto& r = s.replication();
        out[s.shard()].push_back({n.node(), r.role(), r.term(), r.commit_index(), r.applied_index(),
                                  r.digest(), r.digest_index()});
      }
  return out;
}

// "" when every shard has `rf` replica rows with one (digest_index, digest), else what differs.
std::string digest_mismatch(const std::map<uint32_t, std::vector<replica_row>>& rows,
                            uint32_t num_shards, int rf) {
  if (rows.size() != num_shards)
    return "rows for " + std::to_string(rows.size()) + " of " + std::to_string(num_shards) + " shards";
  std::string out;
  for (auto& [shard, v] : rows) {
    bool equal = v.size() == static_cast<size_t>(rf);
    for (auto& r : v)
      equal = equal && r.digest == v.front().digest && r.digest_index == v.front().digest_index;
    if (equal) continue;
    out += "shard " + std::to_string(shard) + ":";
    for (auto& r : v)
      out += " " + r.node + "(" + r.role + " t" + std::to_string(r.term) + " c"
             + std::to_string(r.commit) + " a" + std::to_string(r.applied) + " d"
             + std::to_string(r.digest) + "@" + std::to_string(r.digest_index) + ")";
    out += "\n";
  }
  return out;
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
  app.add_option("--num-shards", opts.num_shards)->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--replication-factor", opts.replication_factor)->check(CLI::Range(1, 9))
    ->capture_default_str();
  app.add_option("--kill-interval-max-ms", opts.kill_interval_max_ms,
                 "kill interval drawn in [kill-interval-ms, this] (0: fixed)")->capture_default_str();
  app.add_option("--stop-leader", opts.stop_leader,
                 "SIGSTOP the busiest leader for --stop-ms, then SIGCONT it (this many times)")
    ->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--snapshot-entries", opts.snapshot_entries,
                 "raft_snapshot_entries (small: replicas catch up from snapshots; 0: default)")
    ->check(CLI::Range(0, 100000000));
  app.add_option("--snapshot-chunk-bytes", opts.snapshot_chunk_bytes,
                 "raft_snapshot_chunk_bytes (0: default)")->check(CLI::Range(0, 67108864));
  app.add_option("--stop-ms", opts.stop_ms)->check(CLI::Range(100, 600000))->capture_default_str();
  app.add_option("--wipe", opts.wipe,
                 "kill -9 a node, wipe its data dir, restart it, then kill -9 another leader "
                 "(this many times; the wiped node rejoins as a new member)")
    ->check(CLI::Range(0, 1000))->capture_default_str();
  app.add_option("--digest-wait-s", opts.digest_wait_s)->check(CLI::Range(1, 3600))
    ->capture_default_str();
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

  auto log = [&](const std::string& what) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
    std::cerr << "chaos: +" << ms << " ms " << what << std::endl;
  };
  auto mark_down = [&](int i, bool is_down) {
    std::lock_guard<std::mutex> g{mtx};
    if (is_down) down.insert(i);
    else down.erase(i);
  };
  auto restart = [&](int i) {
    if (!cl.start_node(i)) std::cerr << "chaos: restart of node " << i + 1 << " failed\n";
    ++n.restarts;
    mark_down(i, false);
  };
  // The node leading the most shards, asked of a node that is up (-1 if none is known).
  auto find_leader = [&](clients& cs, int not_this) {
    for (int i = 0; i < opts.nodes; ++i) {
      {
        std::lock_guard<std::mutex> g{mtx};
        if (down.count(i)) continue;
      }
      auto* c = cs.get(i);
      if (!c) continue;
      auto l = leaders(*c);
      if (l.empty()) {
        cs.drop(i);
        continue;
      }
      std::map<uint32_t, std::string> others;
      for (auto& [shard, node] : l)
        if (cl.index_of(node) != not_this) others[shard] = node;
      return cl.index_of(busiest_leader(others));
    }
    return -1;
  };

  std::thread chaos([&] {
    std::mt19937 rng{opts.seed};
    clients cs(sys, cl);
    // Special events (leader stops, wipes) are spread over the phase, between plain kills.
    std::vector<char> specials(opts.stop_leader, 's');
    specials.insert(specials.end(), opts.wipe, 'w');
    std::shuffle(specials.begin(), specials.end(), rng);
    int rounds = 0;
    while (clock_type::now() < chaos_end && !stop_chaos) {
      int interval = opts.kill_interval_ms;
      if (opts.kill_interval_max_ms > opts.kill_interval_ms)
        interval += static_cast<int>(rng() % (opts.kill_interval_max_ms - opts.kill_interval_ms + 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(interval));
      if (clock_type::now() >= chaos_end) break;
      ++rounds;
      char special = 0;
      if (!specials.empty() && rounds % 3 == 0) {
        special = specials.back();
        specials.pop_back();
      }
      if (special == 's') {
        int victim = find_leader(cs, -1);
        if (victim < 0) victim = static_cast<int>(rng() % opts.nodes);
        mark_down(victim, true);
        log("SIGSTOP node" + std::to_string(victim + 1) + " for " + std::to_string(opts.stop_ms) + " ms");
        cl.stop_node(victim);
        ++n.leader_stops;
        std::this_thread::sleep_for(std::chrono::milliseconds(opts.stop_ms));
        cl.cont_node(victim);
        log("SIGCONT node" + std::to_string(victim + 1));
        mark_down(victim, false);
        continue;
      }
      if (special == 'w') {
        // The case incarnations exist for: entries committed by W and K only (L paused), then W
        // loses its disk and K dies, and L comes back: L and the empty W are a majority.
        int w = static_cast<int>(rng() % opts.nodes), k = (w + 1) % opts.nodes,
            l = (w + 2) % opts.nodes;
        mark_down(l, true);
        cl.stop_node(l);
        log("wipe scenario: SIGSTOP node" + std::to_string(l + 1) + " (falls behind)");
        std::this_thread::sleep_for(std::chrono::milliseconds(opts.stop_ms));
        mark_down(w, true);
        cl.kill_node(w);
        ++n.kills;
        cl.wipe_node(w);
        ++n.wipes;
        log("wipe scenario: kill -9 + wipe node" + std::to_string(w + 1));
        mark_down(k, true);
        cl.kill_node(k);
        ++n.kills;
        log("wipe scenario: kill -9 node" + std::to_string(k + 1));
        restart(w);
        log("wipe scenario: node" + std::to_string(w + 1) + " restarted empty (a new data dir: it rejoins as a new member)");
        cl.cont_node(l);
        mark_down(l, false);
        log("wipe scenario: SIGCONT node" + std::to_string(l + 1));
        std::this_thread::sleep_for(3s);
        restart(k);
        log("wipe scenario: node" + std::to_string(k + 1) + " restarted");
        continue;
      }
      int victim = static_cast<int>(rng() % opts.nodes);
      mark_down(victim, true);
      cl.kill_node(victim);
      ++n.kills;
      log("kill -9 node" + std::to_string(victim + 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1200));
      restart(victim);
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
    // "not found" for 10 s is a verdict (the acknowledged start is gone), not a reason to spend
    // everyone's deadline on this one workflow.
    std::optional<clock_type::time_point> not_found_since;
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
        if (chronicle_code(r.error()) == static_cast<uint8_t>(errc::not_found)) {
          if (!not_found_since) not_found_since = clock_type::now();
          if (clock_type::now() - *not_found_since > 10s) break;
          std::this_thread::sleep_for(250ms);
          continue;
        }
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
  // Replicated: every shard's replicas converge to one digest at one applied index.
  std::string digests = "n/a";
  bool digests_equal = true;
  if (opts.replication_factor > 1) {
    auto until = clock_type::now() + std::chrono::seconds(opts.digest_wait_s);
    std::string why = "no cluster status";
    while (clock_type::now() < until) {
      auto* c = cs.get(0);
      if (c) {
        auto rows = replica_rows(*c);
        why = rows.empty() ? "no cluster status" : digest_mismatch(rows, opts.num_shards, opts.replication_factor);
        if (why.empty()) break;
        if (rows.empty()) cs.drop(0);
      }
      std::this_thread::sleep_for(250ms);
    }
    digests_equal = why.empty();
    digests = digests_equal ? "equal" : "different";
    if (!digests_equal) std::cerr << "chaos: replicas differ after " << opts.digest_wait_s << " s:\n" << why;
  }
  // With small snapshot thresholds the run must have exercised snapshots (else it proves
  // nothing about them): count the ones installed, streamed or not, in every node's logs.
  int snapshots = 0, streamed = 0;
  for (auto& e : std::filesystem::directory_iterator(cl.logs_dir())) {
    if (e.path().extension() != ".log") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      if (line.find("installing a snapshot of ") != std::string::npos) ++snapshots;
      if (line.find("pulling a snapshot at index") != std::string::npos) ++streamed;
    }
  }
  const bool snapshots_seen = opts.snapshot_entries == 0 || snapshots > 0;
  if (!snapshots_seen) std::cerr << "chaos: no replica installed a snapshot\n";
  std::cout << "{\"workflows\":" << opts.workflows << ",\"acknowledged\":" << n.acknowledged
            << ",\"start_attempts\":" << n.start_attempts << ",\"completed_exactly_once\":"
            << completed << ",\"failed_checks\":" << wrong << ",\"node_kills\":" << n.kills
            << ",\"node_restarts\":" << n.restarts << ",\"worker_kills\":" << n.worker_kills
            << ",\"leader_stops\":" << n.leader_stops << ",\"wipes\":" << n.wipes
            << ",\"replication_factor\":" << opts.replication_factor << ",\"digests\":\"" << digests
            << "\",\"snapshots_installed\":" << snapshots << ",\"snapshot_streams_started\":" << streamed
            << ",\"seed\":" << opts.seed
            << ",\"chaos_seconds\":" << static_cast<int>(chaos_seconds) << "}" << std::endl;
  bool pass = wrong == 0 && completed == n.acknowledged && n.acknowledged > 0 && digests_equal &&
              snapshots_seen;
  if (!pass) {
    // The cluster's temp dir goes with it: keep the logs.
    auto kept = std::filesystem::temp_directory_path()
                / ("chronicle-chaos-failed-seed" + std::to_string(opts.seed) + "-"
                   + std::to_string(::getpid()));
    std::filesystem::create_directories(kept);
    for (auto& e : std::filesystem::directory_iterator(cl.logs_dir()))
      if (e.path().extension() == ".log")
        std::filesystem::copy_file(e.path(), kept / e.path().filename(),
                                   std::filesystem::copy_options::overwrite_existing);
    std::cerr << "chaos: FAILED (logs kept in " << kept.string() << ")\n";
  }
  return pass ? 0 : 1;
}
