// End-to-end: a 3-node cluster of real processes on loopback. Workflows whose shards live on each
// node complete with workers connected to different nodes; a killed node makes only its own shards
// unavailable; nodes whose configs disagree refuse each other.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include <fstream>
#include <thread>

#include "harness.hpp"
#include "node_cluster.hpp"
#include "shards/ring.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t test_shards = 12;

struct cluster : node_cluster {
  cluster() : node_cluster(test_shards) {}

  // Workflow IDs whose shards node `owner` owns.
  std::vector<std::string> ids_on(const std::string& owner, size_t count, const std::string& prefix) {
    std::vector<std::string> out;
    for (int i = 0; out.size() < count && i < 10000; ++i) {
      auto id = prefix + std::to_string(i);
      if (ring.shard_owner(shard_of("default", id, num_shards)) == owner) out.push_back(id);
    }
    return out;
  }

  // A task queue name the ring places on a node other than `avoid`.
  std::string queue_not_on(const std::string& avoid) {
    for (int i = 0;; ++i) {
      auto q = "greetings" + std::to_string(i);
      if (ring.task_queue_owner("default", q) != avoid) return q;
    }
  }
};

caf::expected<pb::StartWorkflowResponse> start(client& c, const std::string& wid,
                                               const std::string& queue) {
  return start_greeting(c, wid, queue);
}

void check_done(client& c, const std::string& wid) { check_greeting_done(c, wid); }

}  // namespace

TEST_CASE("three nodes: workflows on every node's shards complete - workers on different nodes") {
  cluster cl;
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0, 3, 20s);
  cl.start_worker(0, "greetings");
  cl.start_worker(2, "greetings");
  std::vector<client> clients;
  for (size_t i = 0; i < 3; ++i) clients.push_back(cl.connect(i));
  std::vector<std::string> all;
  for (auto& owner : cl.names)
    for (auto& id : cl.ids_on(owner, 2, "w-" + owner + "-")) all.push_back(id);
  for (size_t i = 0; i < all.size(); ++i) {
    auto r = start(clients[i % 3], all[i], "greetings");  // started through any node
    REQUIRE_MESSAGE(r, error_text(r));
  }
  for (size_t i = 0; i < all.size(); ++i) check_done(clients[(i + 1) % 3], all[i]);
  // describe works from any node, and names the owner
  for (auto& id : all) {
    auto d = clients[2].describe("", id);
    REQUIRE(d);
    CHECK(d->owner_node() == cl.ring.shard_owner(static_cast<uint32_t>(d->shard())));
  }
  auto st = clients[1].cluster_status(true);
  REQUIRE(st);
  uint64_t closed = 0, shards = 0;
  for (auto& n : st->nodes()) {
    CHECK(n.up());
    closed += n.workflows_closed();
    shards += n.shards_size();
  }
  CHECK(closed == all.size());
  CHECK(shards == test_shards);

  // list from any node merges every node's shards: all runs, newest first, paged across nodes.
  for (auto& c : clients) {
    pb::ListWorkflowsRequest req;
    req.set_page_size(4);
    std::vector<std::string> listed;
    int64_t last_start = INT64_MAX;
    while (true) {
      auto l = c.list(req);
      REQUIRE_MESSAGE(l, error_text(l));
      CHECK(l->missing_nodes_size() == 0);
      for (auto& e : l->executions()) {
        listed.push_back(e.workflow_id());
        CHECK(e.start_time_ms() <= last_start);
        last_start = e.start_time_ms();
        CHECK(e.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
      }
      if (l->next_page_token().empty()) break;
      req.set_next_page_token(l->next_page_token());
    }
    std::sort(listed.begin(), listed.end());
    auto expected = all;
    std::sort(expected.begin(), expected.end());
    CHECK(listed == expected);
  }

  // A parent whose children live on other nodes' shards.
  pb::StartWorkflowRequest parent;
  parent.set_workflow_id("family");
  parent.set_workflow_type("ParentGreeting");
  parent.set_task_queue("greetings");
  *parent.mutable_input() = sdk::to_payload({{"names", {"a", "b", "c", "d"}}});
  REQUIRE(clients[0].start(parent));
  auto r = clients[1].result("", "family", "", 30s);
  REQUIRE_MESSAGE(r, error_text(r));
  REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto out = sdk::from_payload(r->result());
  REQUIRE(out["children"].size() == 4);
  CHECK(out["children"][3]["greeting"] == "Hello, d!");
  std::set<std::string> owners;
  for (int i = 1; i <= 4; ++i) {
    auto d = clients[0].describe("", "family-child-" + std::to_string(i));
    REQUIRE(d);
    owners.insert(d->owner_node());
  }
  CHECK(owners.size() > 1);  // the children were spread over several nodes
}

TEST_CASE("a killed node makes only its shards unavailable - after restart everything completes") {
  cluster cl;
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0, 3, 20s);
  auto queue = cl.queue_not_on("node2");
  cl.start_worker(0, queue);
  auto c1 = cl.connect(0);
  // one workflow on node2 waits on its timer when node2 dies
  auto on2 = cl.ids_on("node2", 2, "k2-");
  REQUIRE(start(c1, on2[0], queue));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = c1.describe("", on2[0]);
    if (d && d->pending_timers_size() == 1) break;
    std::this_thread::sleep_for(20ms);
  }
  cl.nodes[1].kill9();
  std::this_thread::sleep_for(300ms);

  auto refused = start(c1, on2[1], queue);
  REQUIRE_FALSE(refused);
  CHECK(chronicle_code(refused.error()) == static_cast<uint8_t>(errc::unavailable));
  CHECK_MESSAGE(error_text(refused).find("unavailable (owner node2 down") != std::string::npos,
                error_text(refused.error()));
  // the other nodes keep working
  for (auto& owner : {"node1", "node3"})
    for (auto& id : cl.ids_on(owner, 1, std::string("k-") + owner + "-")) {
      REQUIRE(start(c1, id, queue));
      check_done(c1, id);
    }
  auto st = c1.cluster_status(false);
  REQUIRE(st);
  for (auto& n : st->nodes()) CHECK(n.up() == (n.node() != "node2"));
  // list answers from the live nodes and names the missing one.
  auto l = c1.list(pb::ListWorkflowsRequest{});
  REQUIRE_MESSAGE(l, error_text(l));
  REQUIRE(l->missing_nodes_size() == 1);
  CHECK(l->missing_nodes(0) == "node2");
  CHECK(l->executions_size() == 2);

  cl.start(1);
  cl.wait_all_up(0, 3, 20s);
  REQUIRE(start(c1, on2[1], queue));
  check_done(c1, on2[0]);
  check_done(c1, on2[1]);
}

TEST_CASE("a worker connected to one node dies - the task queue on another node retries its activity at once") {
  cluster cl;
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0, 3, 20s);
  auto queue = cl.queue_not_on("node1");  // the worker connects to node1, its queue lives elsewhere
  process slow(GREETING_WORKER_BIN,
               {"--address", cl.address(0), "--task-queue", queue, "--identity", "slow",
                "--activity-delay-ms", "600000"},
               (cl.dir.path() / "slow.log").string());
  REQUIRE(slow.wait_for_output("serving task queue", 20s));
  auto c = cl.connect(0);
  auto id = cl.ids_on("node3", 1, "gone-")[0];
  REQUIRE(start(c, id, queue));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool running = false;
  while (!running && std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe("", id);
    running = d && d->pending_activities_size() == 1
              && d->pending_activities(0).state() == "started";
    if (!running) std::this_thread::sleep_for(20ms);
  }
  REQUIRE(running);
  slow.kill9();
  process fast(GREETING_WORKER_BIN,
               {"--address", cl.address(0), "--task-queue", queue, "--identity", "fast"},
               (cl.dir.path() / "fast.log").string());
  REQUIRE(fast.wait_for_output("serving task queue", 20s));
  // The activity's start-to-close timeout is 10 minutes: only the death notice gets it retried.
  check_done(c, id);
  auto d = c.describe("", id);
  REQUIRE(d);
  auto h = c.history("", id);
  REQUIRE(h);
  for (auto& ev : h->events())
    if (ev.has_activity_task_started()) {
      CHECK(ev.activity_task_started().identity() == "fast");
      CHECK(ev.activity_task_started().attempt() == 2);
    }
}

TEST_CASE("nodes whose configs disagree refuse the handshake on both sides") {
  cluster cl;
  cl.names = {"node1", "node2"};
  cl.ports = {free_port(), free_port()};
  cl.nodes = std::vector<process>(2);
  cl.nodes[0] = process(CHRONICLE_NODE_BIN, {"--config", cl.config(0, 8)},
                        (cl.dir.path() / "node1.log").string());
  cl.nodes[1] = process(CHRONICLE_NODE_BIN, {"--config", cl.config(1, 4)},
                        (cl.dir.path() / "node2.log").string());
  REQUIRE(cl.nodes[0].wait_for_output("refus", 20s));
  REQUIRE(cl.nodes[1].wait_for_output("refus", 20s));
  for (auto& n : cl.nodes) CHECK_MESSAGE(n.output().find("num_shards differs") != std::string::npos, n.output());
  auto c = cl.connect(0);
  auto st = c.cluster_status(false);
  REQUIRE(st);
  for (auto& n : st->nodes())
    if (n.node() == "node2") {
      CHECK_FALSE(n.up());
      CHECK_MESSAGE(n.error().find("num_shards differs") != std::string::npos, n.error());
    }
}

TEST_CASE("membership change: a fourth node takes over its shards with their data") {
  cluster cl;
  cl.names.push_back("node4");
  cl.ports.push_back(free_port());
  cl.nodes.resize(4);
  for (size_t i = 0; i < 3; ++i) cl.start(i, 3);
  cl.wait_all_up(0, 3, 20s);
  hash_ring old_ring{{"node1", "node2", "node3"}};
  hash_ring new_ring{cl.names};
  auto c = cl.connect(0);
  // phase 1: workflows that complete under the old membership
  std::vector<std::string> done_before, pending;
  for (int i = 0; i < 24; ++i) done_before.push_back("m-done-" + std::to_string(i));
  cl.start_worker(0, "greetings");
  for (auto& id : done_before) REQUIRE(start(c, id, "greetings"));
  for (auto& id : done_before) check_done(c, id);
  // phase 2: workflows stuck at their first workflow task (no worker) when the membership changes
  cl.workers.clear();  // kills the worker
  for (int i = 0; i < 24; ++i) pending.push_back("m-open-" + std::to_string(i));
  for (auto& id : pending) REQUIRE(start(c, id, "greetings"));
  size_t moving = 0;
  for (auto& id : pending)
    moving += new_ring.shard_owner(shard_of("default", id, test_shards))
              != old_ring.shard_owner(shard_of("default", id, test_shards));
  CHECK(moving > 0);  // some of them live on shards that move to node4

  // rolling restart with the 4-member list, then the new node
  for (size_t i = 0; i < 3; ++i) {
    CHECK(cl.nodes[i].terminate() == 0);
    cl.start(i, 4);
  }
  cl.start(3, 4);
  cl.wait_all_up(0, 4, 20s);
  auto c4 = cl.connect(3);
  cl.start_worker(3, "greetings");
  for (auto& id : pending) check_done(c4, id);
  for (auto& id : done_before) check_done(c4, id);
  // every workflow is now served by its new owner, exactly once
  for (auto& id : done_before) {
    auto d = c4.describe("", id);
    REQUIRE(d);
    CHECK(d->owner_node() == new_ring.shard_owner(shard_of("default", id, test_shards)));
  }
  auto st = c4.cluster_status(true);
  REQUIRE(st);
  uint64_t closed = 0, open = 0, node4_shards = 0;
  for (auto& n : st->nodes()) {
    CHECK(n.up());
    closed += n.workflows_closed();
    open += n.workflows_open();
    if (n.node() == "node4") node4_shards = n.shards_owned();
  }
  CHECK(node4_shards > 0);
  CHECK(open == 0);
  CHECK(closed == done_before.size() + pending.size());  // old copies were dropped: no double count
}
