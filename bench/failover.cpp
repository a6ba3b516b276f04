// chronicle-failover: how long a replicated shard (replication_factor 3) is unavailable when its
// leader dies. 3 real chronicle-node processes on loopback; each trial picks a shard, kill -9s
// the node leading it and measures, from the kill to the first acknowledged start of a new
// workflow on that shard (sent to another node, retried with the same request ID until
// acknowledged). The victim is then restarted and the cluster allowed to settle (every shard led,
// replicas' digests equal) before the next trial. Prints one JSON line per trial and a summary
// (p50/p90/p99/max ms) to stdout. Not a test: figures for docs/replication.md.
//
//   chronicle-failover [--trials 25] [--num-shards 6] [--durability fsync] [--seed 1]
//                      [--planned] [--load-clients N]
//
// --planned: SIGTERM instead of kill -9 (the node hands its leaderships over first).
// --load-clients N: N clients start workflows through every node during the trials.
// CHRONICLE_BENCH_NODE_BIN=path runs that node binary instead of this build's (A/B of versions).
// --catch-up instead measures a replica catching up: the cluster is filled with --fill starts,
// the start throughput of --clients concurrent clients is measured for --load-s seconds, then
// node3 is killed, its data dir deleted and it is restarted (it rejoins every group as a new
// member, docs/replication.md "Wiped nodes") while the same load runs. Prints the time until
// every shard's group has node3 back as a voter, the bytes it took in (snapshots installed, its
// data dir) per second, and the throughput during the catch-up against the one before.
// --snapshot-entries N sets raft_snapshot_entries (small: the catch-up is from snapshots).
// --node3-dir DIR puts node3's data dir under DIR (a tmpfs: node3 does not share the leaders' disk).
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <filesystem>
#include <atomic>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "../tests/e2e/harness.hpp"
#include "protocol/runtime.hpp"
#include "shards/ring.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  int trials = 25;
  uint32_t num_shards = 6;
  std::string durability = "fsync";
  uint32_t seed = 1;
  int settle_ms = 1000;  // after the cluster looks settled, before the next kill
  int request_timeout_ms = 10000;  // the client library's default
  bool catch_up = false;
  bool planned = false;  // SIGTERM (the node hands its leaderships over, then exits), not kill -9
  int fill = 20000;
  int load_s = 10;
  int clients = 16;
  int snapshot_entries = 0;  // 0: the node's default
  int snapshot_chunk_bytes = 0;  // 0: the node's default
  int snapshot_pulls = -1;  // raft_snapshot_pulls (-1: the node's default)
  int load_clients = 0;  // failover trials: clients starting workflows throughout (under load)
  // --node3-dir: node3's data dir goes there (e.g. a tmpfs: node3's writes then do not share the
  // leaders' disk, as on 3 machines; a measurement of how much of a catch-up's cost is that).
  std::string node3_dir;
};

struct cluster {
  options opts;
  temp_dir dir;
  std::filesystem::path data_dir(size_t i) const {
    if (i == 2 && !opts.node3_dir.empty()) return std::filesystem::path(opts.node3_dir) / names[i];
    return dir.path() / names[i];
  }
  std::vector<std::string> names{"node1", "node2", "node3"};
  std::vector<uint16_t> ports{free_port(), free_port(), free_port()};
  std::vector<process> nodes{3};
  std::vector<int> starts{0, 0, 0};

  std::string config(size_t i) {
    auto path = (dir.path() / (names[i] + ".yaml")).string();
    std::ofstream out(path);
    out << "node:\n  name: " << names[i] << "\n  host: 127.0.0.1\n  port: " << ports[i] << "\n"
        << "data_dir: " << data_dir(i).string() << "\n"
        << "num_shards: " << opts.num_shards << "\nreplication_factor: 3\n"
        << "durability: " << opts.durability << "\nlog_level: info\n";
    if (opts.snapshot_entries > 0) out << "raft_snapshot_entries: " << opts.snapshot_entries << "\n";
    if (opts.snapshot_chunk_bytes > 0)
      out << "raft_snapshot_chunk_bytes: " << opts.snapshot_chunk_bytes << "\n";
    if (opts.snapshot_pulls >= 0) out << "raft_snapshot_pulls: " << opts.snapshot_pulls << "\n";
    // No worker takes the tasks: under --load-clients the queue's backlog must not refuse starts.
    if (opts.load_clients > 0) out << "max_task_queue_backlog: 10000000\n";
    out << "members:\n";
    for (size_t j = 0; j < names.size(); ++j)
      out << "  - name: " << names[j] << "\n    address: 127.0.0.1:" << ports[j] << "\n";
    return path;
  }

  bool start(size_t i) {
    // CHRONICLE_BENCH_NODE_BIN: another build's node (A/B runs of two versions, one bench).
    const char* other = std::getenv("CHRONICLE_BENCH_NODE_BIN");
    nodes[i] = process(other != nullptr && *other ? other : CHRONICLE_NODE_BIN, {"--config", config(i)},
                       (dir.path() / (names[i] + "." + std::to_string(++starts[i]) + ".log")).string());
    return nodes[i].wait_for_output("listening on", 20s);
  }

  int index_of(const std::string& name) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<int>(i);
    return -1;
  }
};

// Shard -> serving leader, and whether every shard's 3 replicas report one digest.
struct view {
  std::map<uint32_t, std::string> leaders;
  bool digests_equal = false;
};

view look(client& c, uint32_t num_shards) {
  view v;
  auto st = c.cluster_status(true, true);
  if (!st) return v;
  std::map<uint32_t, std::vector<std::pair<uint64_t, uint64_t>>> d;
  for (auto& n : st->nodes()) {
    if (!n.up()) continue;
    for (auto& s : n.shards()) {
      if (s.available() && s.replication().leader() == n.node()) v.leaders[s.shard()] = n.node();
      d[s.shard()].emplace_back(s.replication().digest_index(), s.replication().digest());
    }
  }
  v.digests_equal = d.size() == num_shards;
  for (auto& [shard, x] : d)
    v.digests_equal = v.digests_equal && x.size() == 3
                      && std::all_of(x.begin(), x.end(), [&](auto& y) { return y == x.front(); });
  return v;
}

pb::StartWorkflowRequest start_request(const std::string& wid) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type("Greeting");
  req.set_task_queue("failover");  // no worker: the start's commit is what is measured
  req.set_request_id("req-" + wid);
  *req.mutable_input() = sdk::to_payload({{"name", wid}});
  return req;
}

// Concurrent clients starting new workflows (each its own connection, to node1 or node2) until
// stopped; counts the acknowledged starts. `any_node`: each client knows all three addresses
// (first node1, node2 or node3 in turn) and moves to the next when its node goes away (the
// failover trials' background load).
struct start_load {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::atomic<int> next{0};
  std::vector<std::thread> threads;

  void run(caf::actor_system& sys, const cluster& cl, int clients, const std::string& prefix,
           bool any_node = false) {
    for (int t = 0; t < clients; ++t)
      threads.emplace_back([this, &sys, &cl, t, prefix, any_node] {
        std::vector<std::string> addresses;
        for (size_t i = 0; i < 3; ++i)
          addresses.push_back("127.0.0.1:" + std::to_string(cl.ports[(t + i) % 3]));
        auto c = any_node ? client::connect(sys, addresses, 2s)
                          : client::connect(sys, "127.0.0.1", cl.ports[t % 2], 2s);
        if (!c) return;
        c->set_request_timeout(10s);
        while (!stop) {
          auto wid = prefix + std::to_string(next++);
          if (c->start(start_request(wid))) ++ok;
          else ++failed;
        }
      });
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }
  ~start_load() { finish(); }
};

uint64_t dir_bytes(const std::filesystem::path& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) n += e.file_size(ec);
  return n;
}

// Every shard's serving leader reports its group as exactly node1..3, all voters.
bool all_voters(client& c, uint32_t num_shards) {
  auto st = c.cluster_status(true);
  if (!st) return false;
  std::set<uint32_t> done;
  for (auto& n : st->nodes())
    for (auto& s : n.shards()) {
      auto& r = s.replication();
      std::set<std::string> members(r.members().begin(), r.members().end());
      if (r.role() == "leader" && members == std::set<std::string>{"node1", "node2", "node3"})
        done.insert(s.shard());
    }
  return done.size() == num_shards;
}

int catch_up(cluster& cl, caf::actor_system& sys, const options& opts) {
  auto c = client::connect(sys, "127.0.0.1", cl.ports[0], 2s);
  if (!c) return 1;
  auto until = clock_type::now() + 60s;
  while (!all_voters(*c, opts.num_shards) && clock_type::now() < until) std::this_thread::sleep_for(100ms);
  {
    start_load fill;
    fill.run(sys, cl, opts.clients, "fill-");
    while (fill.ok < static_cast<uint64_t>(opts.fill)) std::this_thread::sleep_for(50ms);
    fill.finish();
  }
  // Acknowledged starts per second of the load for --load-s seconds.
  auto rate = [&](const std::string& prefix) {
    start_load load;
    auto t0 = clock_type::now();
    load.run(sys, cl, opts.clients, prefix);
    std::this_thread::sleep_for(std::chrono::seconds(opts.load_s));
    double r = load.ok / std::chrono::duration<double>(clock_type::now() - t0).count();
    load.finish();
    return r;
  };
  double before = rate("steady-");
  // node3 dies (kill -9); once every shard is served by node1 and node2 again, the throughput
  // with one replica down is measured, then node3 comes back with an empty data dir.
  cl.nodes[2].kill9();
  std::filesystem::remove_all(cl.data_dir(2));
  auto served = [&] {
    auto st = c->cluster_status(true);
    std::set<uint32_t> led;
    if (st)
      for (auto& n : st->nodes())
        for (auto& s : n.shards())
          if (n.up() && s.available() && s.replication().leader() == n.node()) led.insert(s.shard());
    return led.size() == opts.num_shards;
  };
  until = clock_type::now() + 30s;
  while (!served() && clock_type::now() < until) std::this_thread::sleep_for(100ms);
  double degraded = rate("two-");
  start_load during;
  during.run(sys, cl, opts.clients, "during-");
  std::this_thread::sleep_for(2s);  // the load is running before node3 returns
  uint64_t at_restart = during.ok;
  if (!cl.start(2)) return 1;
  auto t0 = clock_type::now();
  double caught = -1;
  // The acknowledged starts of each second of the catch-up (stderr): where the time goes. A
  // thread of its own samples them (a cluster status can take longer than a second).
  std::atomic<bool> sampling{true}, mark{false};
  std::string timeline;
  std::vector<uint64_t> per_second;  // the same counts (read after the sampler's join)
  std::thread sampler([&] {
    uint64_t last_ok = during.ok;
    auto next = clock_type::now() + 1s;
    while (sampling) {
      std::this_thread::sleep_until(next);
      next += 1s;
      uint64_t ok = during.ok;
      if (mark.exchange(false)) timeline += " |";
      timeline += " " + std::to_string(ok - last_ok);
      per_second.push_back(ok - last_ok);
      last_ok = ok;
    }
  });
  while (clock_type::now() < t0 + 300s) {
    if (all_voters(*c, opts.num_shards)) {
      caught = std::chrono::duration<double>(clock_type::now() - t0).count();
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  uint64_t during_ok = during.ok - at_restart;
  // The --load-s seconds after it (what the catch-up leaves behind: leadership going back to
  // node3, its recovery), still sampled: "|" in the timeline marks where the catch-up ended.
  mark = true;
  auto after_t0 = clock_type::now();
  uint64_t at_caught = during.ok;
  if (caught > 0) std::this_thread::sleep_for(std::chrono::seconds(opts.load_s));
  double after_rate =
    (during.ok - at_caught) / std::chrono::duration<double>(clock_type::now() - after_t0).count();
  sampling = false;
  sampler.join();
  std::cerr << "starts per second during the catch-up and after:" << timeline << std::endl;
  during.finish();
  double during_rate = caught > 0 ? during_ok / caught : 0;
  // A window of fixed length from the restart (--load-s seconds, or the whole catch-up when it
  // is longer): a short catch-up's window is mostly its first second (node3 joining), so the
  // ratio over the catch-up alone favours a slow catch-up; this one does not.
  size_t window = std::max<size_t>(static_cast<size_t>(opts.load_s),
                                   static_cast<size_t>(std::ceil(std::max(caught, 0.0))));
  window = std::min(window, per_second.size());
  uint64_t window_ok = 0;
  for (size_t i = 0; i < window; ++i) window_ok += per_second[i];
  double window_rate = window > 0 ? static_cast<double>(window_ok) / static_cast<double>(window) : 0;
  // Streamed snapshots also say how long each pull took ("... (stream S: N chunks in T ms)"):
  // their bytes over the sum of those times is one stream's pull rate.
  uint64_t snapshots = 0, snapshot_bytes = 0, streamed_bytes = 0, stream_ms = 0, chunks = 0;
  {
    std::ifstream log(cl.dir.path() / ("node3." + std::to_string(cl.starts[2]) + ".log"));
    std::string line, marker = "installing a snapshot of ";
    while (std::getline(log, line))
      if (auto at = line.find(marker); at != std::string::npos) {
        ++snapshots;
        auto bytes = std::stoull(line.substr(at + marker.size()));
        snapshot_bytes += bytes;
        auto c = line.find(" chunks in "), colon = line.rfind(": ", c);
        if (c != std::string::npos && colon != std::string::npos) {
          streamed_bytes += bytes;
          chunks += std::stoull(line.substr(colon + 2));
          stream_ms += std::stoull(line.substr(c + 11));
        }
      }
  }
  auto data = dir_bytes(cl.data_dir(2));
  std::cout << "{\"catch_up_s\":" << caught << ",\"fill\":" << opts.fill
            << ",\"snapshots_installed\":" << snapshots << ",\"snapshot_bytes\":" << snapshot_bytes
            << ",\"snapshot_mb_per_s\":" << (caught > 0 ? snapshot_bytes / 1e6 / caught : 0)
            << ",\"chunks\":" << chunks << ",\"stream_pull_mb_per_s\":"
            << (stream_ms > 0 ? streamed_bytes / 1e3 / stream_ms : 0)
            << ",\"node3_data_dir_bytes\":" << data
            << ",\"data_dir_mb_per_s\":" << (caught > 0 ? data / 1e6 / caught : 0)
            << ",\"starts_per_s_before\":" << before << ",\"starts_per_s_node3_down\":" << degraded
            << ",\"starts_per_s_during\":" << during_rate << ",\"starts_per_s_after\":" << after_rate
            << ",\"ratio\":" << (before > 0 ? during_rate / before : 0)
            << ",\"window_s\":" << window << ",\"starts_per_s_window\":" << window_rate
            << ",\"window_ratio\":" << (before > 0 ? window_rate / before : 0)
            << ",\"clients\":" << opts.clients
            << ",\"snapshot_entries\":" << opts.snapshot_entries
            << ",\"snapshot_chunk_bytes\":" << opts.snapshot_chunk_bytes << "}" << std::endl;
  return caught > 0 ? 0 : 1;
}

// HH:MM:SS.mmm (UTC) of `t`, as the nodes' logs print it: to find a trial in them.
std::string wall_time(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto idx = static_cast<size_t>(std::ceil(p / 100.0 * v.size())) - 1;
  return v[std::min(idx, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chronicle-failover: kill -9 of a shard's leader to the first acknowledged start"};
  options opts;
  app.add_option("--trials", opts.trials)->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--num-shards", opts.num_shards)->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--durability", opts.durability)->check(CLI::IsMember({"fsync", "os"}))
    ->capture_default_str();
  app.add_option("--seed", opts.seed)->capture_default_str();
  app.add_option("--settle-ms", opts.settle_ms)->capture_default_str();
  app.add_option("--request-timeout-ms", opts.request_timeout_ms,
                 "the client's timeout per start (the client library itself asks again while "
                 "the answer is unavailable); a timed-out start is sent again at once")
    ->check(CLI::Range(100, 60000))->capture_default_str();
  app.add_flag("--catch-up", opts.catch_up, "measure a wiped replica catching up instead");
  app.add_flag("--planned", opts.planned,
               "SIGTERM the leader instead of kill -9: a planned leadership transfer");
  app.add_option("--fill", opts.fill, "--catch-up: starts before the measurement")
    ->check(CLI::Range(0, 100000000))->capture_default_str();
  app.add_option("--load-s", opts.load_s)->check(CLI::Range(1, 3600))->capture_default_str();
  app.add_option("--clients", opts.clients)->check(CLI::Range(1, 512))->capture_default_str();
  app.add_option("--snapshot-chunk-bytes", opts.snapshot_chunk_bytes,
                 "raft_snapshot_chunk_bytes (0: default)")->check(CLI::Range(0, 67108864));
  app.add_option("--load-clients", opts.load_clients,
                 "failover trials: clients starting workflows on every node throughout")
    ->check(CLI::Range(0, 512))->capture_default_str();
  app.add_option("--snapshot-pulls", opts.snapshot_pulls,
                 "raft_snapshot_pulls (0: no limit; default: the node's)")->check(CLI::Range(0, 1024));
  app.add_option("--snapshot-entries", opts.snapshot_entries, "raft_snapshot_entries (0: default)")
    ->check(CLI::Range(0, 100000000))->capture_default_str();
  app.add_option("--node3-dir", opts.node3_dir,
                 "--catch-up: node3's data dir under this directory (e.g. /dev/shm: its writes "
                 "do not share the leaders' disk)");
  CLI11_PARSE(app, argc, argv);

  caf::actor_system_config cfg;
  chronicle::configure_network(cfg);
  cfg.set("logger.console", caf::atom("none"));
  caf::actor_system sys{cfg};

  cluster cl;
  cl.opts = opts;
  for (size_t i = 0; i < 3; ++i)
    if (!cl.start(i)) {
      std::cerr << "failover: node" << i + 1 << " did not start\n";
      return 1;
    }
  // CHRONICLE_BENCH_KEEP_LOGS=dir: the nodes' logs are copied there (the cluster's dir goes).
  auto keep_logs = [&] {
    if (const char* keep = std::getenv("CHRONICLE_BENCH_KEEP_LOGS"); keep != nullptr && *keep) {
      std::filesystem::create_directories(keep);
      for (auto& e : std::filesystem::directory_iterator(cl.dir.path()))
        if (e.path().extension() == ".log")
          std::filesystem::copy_file(e.path(), std::filesystem::path(keep) / e.path().filename(),
                                     std::filesystem::copy_options::overwrite_existing);
    }
  };
  if (opts.catch_up) {
    int rc = catch_up(cl, sys, opts);
    keep_logs();
    if (!opts.node3_dir.empty()) {  // outside the cluster's temp dir: removed here
      cl.nodes[2].kill9();
      std::filesystem::remove_all(cl.data_dir(2));
    }
    return rc;
  }
  std::vector<std::optional<client>> conns(3);
  auto conn = [&](int i) -> client* {
    if (!conns[i]) {
      auto c = client::connect(sys, "127.0.0.1", cl.ports[i], 1s);
      if (!c) return nullptr;
      c->set_request_timeout(std::chrono::milliseconds(opts.request_timeout_ms));
      conns[i].emplace(std::move(*c));
    }
    return &*conns[i];
  };
  // Waits until every shard is led and (when `digests`) every replica's digest is equal.
  auto settle = [&](int via, bool digests, std::chrono::seconds timeout) {
    auto until = clock_type::now() + timeout;
    view v;
    while (clock_type::now() < until) {
      if (auto* c = conn(via)) {
        v = look(*c, opts.num_shards);
        if (v.leaders.size() == opts.num_shards && (!digests || v.digests_equal)) return v;
        if (v.leaders.empty()) conns[via].reset();
      }
      std::this_thread::sleep_for(50ms);
    }
    std::cerr << "failover: cluster did not settle (" << v.leaders.size() << " shards led, digests "
              << (v.digests_equal ? "equal" : "different") << ")\n";
    return v;
  };

  std::mt19937 rng{opts.seed};
  std::vector<double> ms;
  int failed = 0, id = 0;
  start_load background;  // --load-clients: the trials run under this load
  if (opts.load_clients > 0) background.run(sys, cl, opts.load_clients, "background-", true);
  auto trials_t0 = clock_type::now();
  for (int t = 0; t < opts.trials; ++t) {
    // Under load the replicas' applied indexes never meet, so neither do their digests.
    auto v = settle(0, opts.load_clients == 0, 60s);
    if (v.leaders.size() != opts.num_shards) return 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(opts.settle_ms));
    v = settle(0, false, 20s);
    uint32_t shard = static_cast<uint32_t>(rng() % opts.num_shards);
    int victim = cl.index_of(v.leaders[shard]);
    int via = (victim + 1 + static_cast<int>(rng() % 2)) % 3;
    // A workflow ID on that shard, never used before.
    std::string wid;
    do wid = "failover-" + std::to_string(id++);
    while (shard_of("default", wid, opts.num_shards) != shard);
    auto req = start_request(wid);
    if (!conn(via)) {
      std::cerr << "failover: cannot connect to node" << via + 1 << "\n";
      return 1;
    }
    // Planned: SIGTERM, which makes the node hand its leaderships over before it exits (the
    // stopper waits for the exit while the starts are tried).
    std::thread stopper;
    if (opts.planned) stopper = std::thread([&cl, victim] { cl.nodes[victim].terminate(); });
    else cl.nodes[victim].kill9();
    auto killed = clock_type::now();
    auto killed_wall = std::chrono::system_clock::now();
    bool ok = false;
    int attempts = 0;
    std::string last_error, first_error;
    double first_error_ms = 0;
    while (clock_type::now() < killed + 30s) {
      ++attempts;
      auto* c = conn(via);
      if (!c) continue;
      auto r = c->start(req);
      if (r) {
        ok = true;
        break;
      }
      last_error = error_text(r.error());
      if (first_error.empty()) {
        first_error = last_error;
        first_error_ms = std::chrono::duration<double, std::milli>(clock_type::now() - killed).count();
      }
      std::this_thread::sleep_for(10ms);
    }
    double took = std::chrono::duration<double, std::milli>(clock_type::now() - killed).count();
    std::cout << "{\"trial\":" << t + 1 << ",\"shard\":" << shard << ",\"killed\":\""
              << cl.names[victim] << "\",\"at\":\"" << wall_time(killed_wall) << "\",\"via\":\""
              << cl.names[via] << "\",\"ms\":"
              << static_cast<int64_t>(took) << ",\"attempts\":" << attempts << ",\"ok\":"
              << (ok ? "true" : "false");
    if (!first_error.empty())  // what the attempts before the acknowledged one got, and when
      std::cout << ",\"first_error_ms\":" << static_cast<int64_t>(first_error_ms)
                << ",\"first_error\":\"" << first_error << "\"";
    if (!ok) std::cout << ",\"error\":\"" << last_error << "\"";
    std::cout << "}" << std::endl;
    if (stopper.joinable()) stopper.join();
    if (ok) ms.push_back(took);
    else ++failed;
    if (!cl.start(victim)) {
      std::cerr << "failover: restart of " << cl.names[victim] << " failed\n";
      return 1;
    }
  }
  double background_rate =
    background.ok / std::chrono::duration<double>(clock_type::now() - trials_t0).count();
  background.finish();
  keep_logs();
  std::cout << "{\"trials\":" << opts.trials << ",\"planned\":" << (opts.planned ? "true" : "false")
            << ",\"load_clients\":" << opts.load_clients << ",\"background_starts_per_s\":"
            << background_rate
            << ",\"failed\":" << failed << ",\"num_shards\":"
            << opts.num_shards << ",\"durability\":\"" << opts.durability
            << "\",\"p50_ms\":" << percentile(ms, 50) << ",\"p90_ms\":" << percentile(ms, 90)
            << ",\"p99_ms\":" << percentile(ms, 99) << ",\"max_ms\":" << percentile(ms, 100)
            << ",\"min_ms\":" << (ms.empty() ? 0 : *std::min_element(ms.begin(), ms.end()))
            << "}" << std::endl;
  return failed == 0 ? 0 : 1;
}
