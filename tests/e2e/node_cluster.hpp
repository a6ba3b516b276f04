// A cluster of real chronicle-node processes on loopback for multi-node tests: configs, start,
// workers, clients. `replication_factor` > 1 makes every shard a Raft group over the members.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "shards/ring.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::testing {

struct node_cluster {
  temp_dir dir;
  std::vector<std::string> names{"node1", "node2", "node3"};
  std::vector<uint16_t> ports{free_port(), free_port(), free_port()};
  std::vector<process> nodes{3};
  std::vector<process> workers;
  hash_ring ring{names};
  uint32_t num_shards;
  uint32_t replication_factor;
  // Non-empty: the members every config lists (indexes into names), instead of the first N.
  std::vector<size_t> listed;
  // Appended to every node's config (YAML lines ending in a newline), and to node i's only.
  std::string extra_config;
  std::map<size_t, std::string> node_config;

  explicit node_cluster(uint32_t shards, uint32_t rf = 1)
      : num_shards(shards), replication_factor(rf) {}

  // Config of node i with `shards` shards, listing the first `members` nodes (default: all).
  std::string config(size_t i, uint32_t shards = 0, size_t members = 0) {
    if (shards == 0) shards = num_shards;
    if (members == 0) members = names.size();
    auto path = (dir.path() / (names[i] + ".yaml")).string();
    std::ofstream out(path);
    out << "node:\n  name: " << names[i] << "\n  host: 127.0.0.1\n  port: " << ports[i] << "\n"
        << "data_dir: " << (dir.path() / names[i]).string() << "\n"
        << "num_shards: " << shards << "\n" << extra_config << node_config[i];
    if (replication_factor > 1) out << "replication_factor: " << replication_factor << "\n";
    out << "members:\n";
    std::vector<size_t> which = listed;
    if (which.empty())
      for (size_t j = 0; j < members; ++j) which.push_back(j);
    for (auto j : which)
      out << "  - name: " << names[j] << "\n    address: 127.0.0.1:" << ports[j] << "\n";
    return path;
  }

  void start(size_t i, size_t members = 0) {
    nodes[i] = process(CHRONICLE_NODE_BIN, {"--config", config(i, num_shards, members)},
                       (dir.path() / (names[i] + ".log")).string());
    REQUIRE_MESSAGE(nodes[i].wait_for_output("listening on", std::chrono::seconds(20)),
                    nodes[i].output());
  }

  void start_worker(size_t node, const std::string& queue, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--address", address(node), "--task-queue", queue};
    args.insert(args.end(), extra.begin(), extra.end());
    workers.emplace_back(GREETING_WORKER_BIN, std::move(args),
                         (dir.path() / ("worker" + std::to_string(workers.size()) + ".log")).string());
    REQUIRE(workers.back().wait_for_output("serving task queue", std::chrono::seconds(20)));
  }

  std::string address(size_t i) const { return "127.0.0.1:" + std::to_string(ports[i]); }

  client connect(size_t i) {
    auto c = client::connect(test_system(), "127.0.0.1", ports[i]);
    REQUIRE_MESSAGE(c, error_text(c));
    return std::move(*c);
  }

  // Waits until node i sees `members` members up and every shard served; fails after `limit`.
  void wait_all_up(size_t i, int members = 3, std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto c = connect(i);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto st = c.cluster_status(true)) {
        int up = 0;
        size_t available = 0;
        for (auto& n : st->nodes()) {
          up += n.up();
          for (auto& s : n.shards()) available += s.available();
        }
        if (up == members && available == num_shards) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("the cluster did not come up: " << members << " members up and " << num_shards
                                         << " shards served, as seen from " << names[i]);
  }
};

// Starts the sample Greeting workflow `wid` on `queue` (with a request ID when given: a retry
// after an unknown outcome is then idempotent).
inline caf::expected<pb::StartWorkflowResponse> start_greeting(client& c, const std::string& wid,
                                                               const std::string& queue,
                                                               const std::string& request_id = {}) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type("Greeting");
  req.set_task_queue(queue);
  req.set_request_id(request_id);
  *req.mutable_input() = sdk::to_payload({{"name", wid}});
  return c.start(req);
}

// Describes `wid`, asking again while the answer is `unavailable` (an election, a member
// catching up) until `timeout`; the last answer.
inline caf::expected<pb::DescribeWorkflowResponse> describe_when_served(
  client& c, const std::string& wid, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  caf::expected<pb::DescribeWorkflowResponse> d = caf::error{};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    d = c.describe("default", wid);
    if (d || chronicle_code(d.error()) != static_cast<uint8_t>(errc::unavailable)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return d;
}

// Waits until every one of `shards` shards has `replicas` live replicas reporting the same applied
// index and digest (replicated clusters); on failure prints each replica's role and digest.
inline void wait_equal_digests(client& c, uint32_t shards, size_t replicas,
                               std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<uint32_t, std::vector<std::string>> seen;
  while (std::chrono::steady_clock::now() < deadline) {
    std::map<uint32_t, std::vector<std::pair<uint64_t, uint64_t>>> d;
    seen.clear();
    if (auto st = c.cluster_status(true, true))
      for (auto& n : st->nodes())
        if (n.up())
          for (auto& s : n.shards()) {
            d[s.shard()].emplace_back(s.replication().digest_index(), s.replication().digest());
            seen[s.shard()].push_back(n.node() + " " + s.replication().role() + " "
                                      + std::to_string(s.replication().digest()) + "@"
                                      + std::to_string(s.replication().digest_index()));
          }
    bool equal = d.size() == shards;
    for (auto& [shard, v] : d)
      equal = equal && v.size() == replicas
              && std::all_of(v.begin(), v.end(), [&](auto& x) { return x == v.front(); });
    if (equal) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& [shard, rows] : seen)
    for (auto& r : rows) MESSAGE("shard " << shard << ": " << r);
  FAIL("replicas did not converge to equal digests");
}

// Waits for Greeting `wid` to complete with its greeting and checks its history is dense.
inline void check_greeting_done(client& c, const std::string& wid,
                                std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto res = c.result("", wid, "", timeout);
  REQUIRE_MESSAGE(res, wid << ": " << error_text(res));
  CHECK(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(sdk::from_payload(res->result())["greeting"] == "Hello, " + wid + "!");
  auto h = c.history("", wid);
  REQUIRE(h);
  for (int i = 0; i < h->events_size(); ++i) CHECK(h->events(i).event_id() == i + 1);
}

}  // namespace chronicle::testing
