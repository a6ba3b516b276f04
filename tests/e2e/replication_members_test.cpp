// End-to-end: the members of a replicated cluster change (replication_factor 3, real node
// processes on loopback). A fourth node is added and then one of the founders removed by the
// procedure of docs/operations.md (every node restarted with the new member list, one at a time),
// while a client keeps starting workflows: nodes on the old and the new list talk meanwhile (with
// one node down the shards keep their majority), the shards' groups follow the new ring (new
// replicas added, caught up and promoted, the replica that left removed), nothing acknowledged
// is lost, the replicas end with equal digests, and a node deletes its copy of a shard its group
// removed it from.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "chromium.hpp"
#include "harness.hpp"
#include "node_cluster.hpp"
#include "shards/ring.hpp"
#include "storage/store.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

constexpr uint32_t shards = 6;

// Per shard, the replicas the ring of `members` places (sorted).
std::map<uint32_t, std::set<std::string>> placement_of(const std::vector<std::string>& members) {
  std::map<uint32_t, std::set<std::string>> out;
  auto placed = place_shards(hash_ring(members), shards, 3);
  for (uint32_t s = 0; s < shards; ++s)
    out[s] = std::set<std::string>(placed[s].replicas.begin(), placed[s].replicas.end());
  return out;
}

// Per shard, the group as its serving leader reports it (members with their marks).
std::map<uint32_t, std::set<std::string>> groups(client& c) {
  std::map<uint32_t, std::set<std::string>> out;
  auto st = c.cluster_status(true);
  if (!st) return out;
  for (auto& n : st->nodes())
    for (auto& s : n.shards())
      if (s.replication().role() == "leader")
        out[s.shard()] = {s.replication().members().begin(), s.replication().members().end()};
  return out;
}

// Waits until every shard's group is exactly its replicas under `members`, every one a voter.
void wait_groups(client& c, const std::vector<std::string>& members, std::chrono::seconds timeout) {
  auto want = placement_of(members);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<uint32_t, std::set<std::string>> have;
  while (std::chrono::steady_clock::now() < deadline) {
    have = groups(c);
    if (have == want) return;
    std::this_thread::sleep_for(200ms);
  }
  for (auto& [shard, g] : have) {
    std::string line;
    for (auto& m : g) line += m + " ";
    MESSAGE("shard " << shard << ": " << line);
  }
  FAIL("the groups did not follow the new member list");
}

// Gives `cl` a fourth node, node4, that the configs do not list yet (cl.listed = the first 3).
void add_fourth_unlisted(node_cluster& cl) {
  cl.names.push_back("node4");
  cl.ports.push_back(free_port());
  cl.nodes.emplace_back();
  cl.listed = {0, 1, 2};
}

}  // namespace

TEST_CASE("replicated shards: a fourth node joins and a founder leaves under load - nodes on the old and the new member list serve together - nothing acknowledged is lost - copies the groups dropped are deleted") {
  node_cluster cl(shards, 3);
  add_fourth_unlisted(cl);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  auto restart = [&](size_t i) {
    if (cl.nodes[i].running()) cl.nodes[i].terminate();  // SIGTERM: hands leaderships over
    std::filesystem::remove(cl.dir.path() / (cl.names[i] + ".log"));
    cl.start(i);
  };

  // Load: a client of node2 (restarted too: the client library reconnects) starts workflows
  // with request IDs, asking again while the answer is `unavailable`.
  std::atomic<bool> stop{false};
  std::mutex mtx;
  std::vector<std::string> acknowledged;
  struct joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  };
  std::thread load([&] {
    auto c = client::connect(test_system(), "127.0.0.1", cl.ports[1]);
    if (!c) return;
    c->set_request_timeout(3s);
    for (int i = 0; !stop; ++i) {
      auto id = "load-" + std::to_string(i);
      if (start_greeting(*c, id, "nobody-serves-this", "req-" + id)) {
        std::lock_guard<std::mutex> lock(mtx);
        acknowledged.push_back(id);
      }
      std::this_thread::sleep_for(20ms);
    }
  });

  joiner join_load{stop, load};
  // Each phase ends only once the load has had starts acknowledged after it.
  auto load_goes_on = [&](const char* phase) {
    auto count = [&] {
      std::lock_guard<std::mutex> lock(mtx);
      return acknowledged.size();
    };
    auto before = count();
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (count() < before + 5 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    CHECK_MESSAGE(count() >= before + 5, "no starts acknowledged " << phase);
  };
  auto c = cl.connect(1);
  c.set_request_timeout(3s);
  wait_groups(c, {"node1", "node2", "node3"}, 20s);
  load_goes_on("before the changes");

  // Add node4: every member restarted with the 4-member list, then node4 started.
  // Nodes on the old and the new list keep talking meanwhile: with node1 on the new list, node2
  // on the old one and node3 down between its restarts, node1 and node2 are a majority of every
  // group (if they refused each other's handshake, no shard could commit).
  cl.listed = {0, 1, 2, 3};
  restart(0);
  for (size_t i : {1, 2}) {
    auto up = "peer " + cl.names[i] + " (127.0.0.1:" + std::to_string(cl.ports[i]) + ") is up";
    REQUIRE_MESSAGE(cl.nodes[0].wait_for_output(up, 20s), cl.nodes[0].output());
  }
  CHECK(cl.nodes[0].wait_for_output("runs with another member list", 5s));
  {
    // `chronicle cluster status` asked of node2 marks node1's list (4 members) as another one.
    std::string out;
    CHECK(run(CHRONICLE_CLI_BIN, {"--address", "127.0.0.1:" + std::to_string(cl.ports[1]),
                                  "cluster", "status"}, &out) == 0);
    CHECK_MESSAGE(out.find("another member list (4 members)") != std::string::npos, out);
    CHECK_MESSAGE(out.find("Member lists differ") != std::string::npos, out);
  }
  cl.nodes[2].terminate();
  load_goes_on("with node3 down, node1 on the new member list and node2 on the old one");
  cl.start(2);
  restart(1);
  cl.start(3);
  REQUIRE(cl.nodes[3].wait_for_output("not one of its founders", 20s));
  c = cl.connect(1);
  c.set_request_timeout(3s);
  wait_groups(c, {"node1", "node2", "node3", "node4"}, 60s);
  load_goes_on("after node4 joined");
  // Each founder deletes its copy of the shards the 4-node ring no longer places on it, once
  // their groups removed it (actors/node/copy_cleanup.hpp); node1's data dir is checked below.
  auto four = placement_of({"node1", "node2", "node3", "node4"});
  size_t left = 0;
  for (size_t i = 0; i < 3; ++i)
    for (auto& [shard, replicas] : four)
      if (!replicas.count(cl.names[i])) {
        ++left;
        auto line = "shard " + std::to_string(shard) + ": its group (leader ";
        CHECK_MESSAGE(cl.nodes[i].wait_for_output(line, 20s),
                      cl.names[i] << " kept its copy of shard " << shard);
      }
  CHECK(left > 0);

  // Remove node1 (a founder): the others restarted with a list without it, then it stops.
  // node1, whose list still names them, is the guest of the nodes on the new list: with node2 on
  // the new list and a node that shares a shard with node1 and node2 down, that shard still has
  // its majority. While node3 and node4 still run the list with node1, no group removes it (each
  // list's ring places the shards elsewhere: changes that follow the ring wait until the lists
  // agree); once they all run the new list, the groups move off node1 while it still runs.
  cl.listed = {1, 2, 3};
  std::vector<size_t> seen;  // what each node logged before: the 4-node ring's changes
  for (size_t i = 0; i < 4; ++i) seen.push_back(cl.nodes[i].output().size());
  restart(1);
  seen[1] = 0;
  size_t held = 0;
  uint32_t shared = 0;  // a shard whose replicas are node1, node2 and `held`
  for (auto& [shard, replicas] : four)
    if (replicas.count("node1") && replicas.count("node2"))
      for (size_t i : {2, 3})
        if (replicas.count(cl.names[i])) held = i, shared = shard;
  REQUIRE_MESSAGE(held != 0, "no shard of the 4-node ring has node1, node2 and another replica");
  REQUIRE(cl.nodes[1].wait_for_output("connected as a guest", 20s));
  cl.nodes[held].terminate();
  load_goes_on(("with " + cl.names[held] + " down, node2 on the list without node1 and node1 "
                "still running").c_str());
  {
    // That shard needs node1 and node2 to talk: a start on it is acknowledged.
    std::string id;
    for (int i = 0; id.empty(); ++i)
      if (shard_of("default", "shared-" + std::to_string(i), shards) == shared)
        id = "shared-" + std::to_string(i);
    auto c2 = cl.connect(1);
    c2.set_request_timeout(3s);
    caf::expected<pb::StartWorkflowResponse> r = caf::error{};
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < deadline;) {
      r = start_greeting(c2, id, "nobody-serves-this", "req-" + id);
      if (r) break;
      std::this_thread::sleep_for(200ms);
    }
    CHECK_MESSAGE(r, "shard " << shared << " (node1, node2, " << cl.names[held]
                              << ") did not serve with " << cl.names[held] << " down: "
                              << error_text(r));
    if (r) {
      std::lock_guard<std::mutex> lock(mtx);
      acknowledged.push_back(id);
    }
  }
  for (size_t i = 0; i < 4; ++i) {
    auto log = cl.nodes[i].output().substr(std::min(seen[i], cl.nodes[i].output().size()));
    CHECK_MESSAGE(log.find("removed the replica that left, node1") == std::string::npos,
                  cl.names[i] << " removed node1 from a group before every node ran the list "
                                 "without it");
  }
  cl.start(held);
  restart(held == 2 ? 3 : 2);
  c = cl.connect(1);
  c.set_request_timeout(3s);
  wait_groups(c, {"node2", "node3", "node4"}, 60s);
  CHECK_MESSAGE(cl.nodes[0].running(), "node1 stopped before the groups moved off it");
  cl.nodes[0].terminate();
  load_goes_on("after node1 left");

  stop = true;
  if (load.joinable()) load.join();
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mtx);
    ids = acknowledged;
  }
  MESSAGE(ids.size() << " starts acknowledged during the changes");
  CHECK(ids.size() >= 15);
  auto logs = cl.nodes[1].output() + cl.nodes[2].output() + cl.nodes[3].output();
  CHECK(logs.find("removed the replica that left, node1") != std::string::npos);
  for (auto& id : ids) {
    auto d = describe_when_served(c, id, 20s);
    CHECK_MESSAGE(d, id << ": " << error_text(d));
  }
  wait_equal_digests(c, shards, 3);

  // node1 (stopped) holds the shards the 4-node ring placed on it and no copy of the others;
  // the raft term of every shard it ever replicated stays.
  storage::status st;
  auto store = storage::store::open((cl.dir.path() / "node1").string(), shards,
                                    storage::durability::fsync, &st);
  REQUIRE_MESSAGE(store, st.message());
  for (auto& [shard, replicas] : four) {
    CHECK_MESSAGE(store->holds_shard_copy(shard, &st) == (replicas.count("node1") > 0),
                  "node1, shard " << shard);
    CHECK(store->has_raft_state(shard, &st));
  }
  store.reset();

  // node1 comes back later under its name with its old data dir: added to the list again
  // (node2..4 restarted with the 4-member list), it rejoins the groups the ring places it in.
  // Every run is then described through node2, which holds no replica of some shards: a
  // follower it asks passes the question on to its leader (admin_actor.cpp
  // leader_for_non_replica; before, it answered "does not lead it now" again and again).
  cl.listed = {0, 1, 2, 3};
  for (size_t i : {1, 2, 3}) restart(i);
  cl.start(0);
  c = cl.connect(1);
  c.set_request_timeout(3s);
  wait_groups(c, {"node1", "node2", "node3", "node4"}, 60s);
  for (auto& id : ids) {
    auto d = describe_when_served(c, id, 20s);
    CHECK_MESSAGE(d, id << ": " << error_text(d));
  }
  wait_equal_digests(c, shards, 3);
}

TEST_CASE("replicated shards: while member lists differ every node places a task queue on the same member - a worker on a node of the new list serves the tasks that leaders on the old list dispatch") {
  node_cluster cl(shards, 3);
  add_fourth_unlisted(cl);
  auto http = free_port();
  cl.node_config[1] = "http_port: " + std::to_string(http) + "\n";
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  auto c = cl.connect(1);
  c.set_request_timeout(3s);
  wait_groups(c, {"node1", "node2", "node3"}, 20s);
  // A queue the 4-member ring places on node4 (which the 3-member ring cannot).
  hash_ring four({"node1", "node2", "node3", "node4"});
  std::string queue;
  for (int i = 0; queue.empty(); ++i)
    if (four.task_queue_owner("default", "mixed-" + std::to_string(i)) == "node4")
      queue = "mixed-" + std::to_string(i);

  // node1 restarted with the 4-member list and node4 started with it; node2 and node3 keep the
  // old list (node4 is their guest). Their leaders place the queue on the ring of all 4 names,
  // as node1 does: on node4, where the worker connected to node1 is registered. With each
  // node's own ring, node2's and node3's leaders would dispatch to a queue no worker polls.
  cl.listed = {0, 1, 2, 3};
  cl.nodes[0].terminate();
  cl.start(0);
  cl.start(3);
  for (size_t i : {1, 2}) {
    CHECK(cl.nodes[i].wait_for_output("connected as a guest", 20s));
    CHECK_MESSAGE(cl.nodes[i].wait_for_output("task queues are placed on the ring of all 4 members",
                                              20s),
                  cl.nodes[i].output());
  }
  for (size_t i : {1, 2, 3}) {
    auto up = "peer " + cl.names[i] + " (127.0.0.1:" + std::to_string(cl.ports[i]) + ") is up";
    REQUIRE_MESSAGE(cl.nodes[0].wait_for_output(up, 20s), cl.nodes[0].output());
  }
  cl.start_worker(0, queue);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto id = "mixed-run-" + std::to_string(i);
    caf::expected<pb::StartWorkflowResponse> r = caf::error{};
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         !r && std::chrono::steady_clock::now() < deadline;) {
      r = start_greeting(c, id, queue, "req-" + id);
      if (!r) std::this_thread::sleep_for(200ms);
    }
    REQUIRE_MESSAGE(r, id << ": " << error_text(r));
    ids.push_back(id);
  }
  // Which node leads each run's shard (the old list's nodes lead them all after node1's restart,
  // unless an election since gave node1 one).
  auto leaders = [&] {
    std::map<uint32_t, std::string> out;
    if (auto st = c.cluster_status(true))
      for (auto& n : st->nodes())
        for (auto& s : n.shards())
          if (s.replication().role() == "leader") out[s.shard()] = n.node();
    return out;
  }();
  size_t by_old_list = 0;
  for (auto& id : ids) {
    auto leader = leaders[shard_of("default", id, shards)];
    if (leader == "node2" || leader == "node3") ++by_old_list;
    auto r = c.result("", id, "", 20s);
    CHECK_MESSAGE(r, id << " (shard led by " << leader << "): " << error_text(r));
    if (r)
      CHECK_MESSAGE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED, r->DebugString());
  }
  CHECK_MESSAGE(by_old_list > 0, "no run's shard was led by a node on the old list");

  // The web UI's cluster page, asked of node2, marks node1's list as another one.
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto page = render(chromium, cl.dir.path() / "chromium-profile",
                     "http://127.0.0.1:" + std::to_string(http) + "/#/cluster");
  CHECK_MESSAGE(contains(page, "<td>node1</td>"), page);
  CHECK_MESSAGE(contains(page, "another member list (4 members)"), page);
}

TEST_CASE("replicated shards: a new node under another name takes the place of a member killed for good - the groups add it and drop the dead one - nothing acknowledged is lost") {
  node_cluster cl(shards, 3);
  add_fourth_unlisted(cl);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  auto c = cl.connect(0);
  c.set_request_timeout(3s);
  wait_groups(c, {"node1", "node2", "node3"}, 20s);
  std::vector<std::string> ids;
  // Asks again while the answer is `unavailable` (an election; a survivor restarting while
  // node3 is dead leaves one replica of three up): the request ID makes it idempotent.
  auto start = [&](client& via, const std::string& id) {
    caf::expected<pb::StartWorkflowResponse> r = caf::error{};
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         !r && std::chrono::steady_clock::now() < deadline;) {
      r = start_greeting(via, id, "nobody-serves-this", "req-" + id);
      if (!r) std::this_thread::sleep_for(200ms);
    }
    CHECK_MESSAGE(r, id << ": " << error_text(r));
    if (r) ids.push_back(id);
  };
  for (int i = 0; i < 8; ++i) start(c, "before-" + std::to_string(i));

  // node3's machine is lost: kill -9, never started again. node4 replaces it: node1 and node2
  // are restarted with the list node1, node2, node4 (each restart leaves one of three replicas
  // up for a moment: starts wait), then node4 is started.
  cl.nodes[2].kill9();
  for (int i = 0; i < 4; ++i) start(c, "dead-" + std::to_string(i));
  cl.listed = {0, 1, 3};
  for (size_t i : {0, 1}) {
    cl.nodes[i].terminate();
    cl.start(i);
  }
  cl.start(3);
  REQUIRE(cl.nodes[3].wait_for_output("not one of its founders", 20s));
  c = cl.connect(0);
  c.set_request_timeout(3s);
  wait_groups(c, {"node1", "node2", "node4"}, 60s);
  for (int i = 0; i < 4; ++i) start(c, "after-" + std::to_string(i));
  CHECK(ids.size() == 16);
  for (auto& id : ids) {
    auto d = describe_when_served(c, id, 20s);
    CHECK_MESSAGE(d, id << ": " << error_text(d));
  }
  wait_equal_digests(c, shards, 3);
  auto logs = cl.nodes[0].output() + cl.nodes[1].output() + cl.nodes[3].output();
  CHECK_MESSAGE(logs.find("removed the replica that left, node3") != std::string::npos, logs);
}

TEST_CASE("replicated shards: nodes whose data dirs hold single-copy data refuse to start with replication - with replication_factor 1 again every run is there") {
  node_cluster cl(shards, 1);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0);
  auto c = cl.connect(0);
  std::vector<std::string> ids;
  for (int i = 0; i < 9; ++i) {
    ids.push_back("single-" + std::to_string(i));
    REQUIRE_MESSAGE(start_greeting(c, ids.back(), "nobody-serves-this"), ids.back());
  }
  for (size_t i = 0; i < 3; ++i) cl.nodes[i].terminate();
  // With replication each shard's group would be founded without the data its single owner
  // holds: after a failover its runs would be "not found". Every node refuses instead.
  cl.replication_factor = 3;
  for (size_t i = 0; i < 3; ++i) {
    auto log = (cl.dir.path() / (cl.names[i] + "-rf3.log")).string();
    process p(CHRONICLE_NODE_BIN, {"--config", cl.config(i)}, log);
    CHECK(p.wait_exit(20s) == 1);
    CHECK_MESSAGE(p.output().find("holds the data of a node without replication") != std::string::npos,
                  p.output());
  }
  cl.replication_factor = 1;
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0);
  c = cl.connect(0);
  for (auto& id : ids) {
    auto d = c.describe("default", id);
    CHECK_MESSAGE(d, id << ": " << error_text(d));
  }
}

TEST_CASE("replicated shards: a single-copy cluster converted with --convert-to-replicated - every run is there on every replica - it survives kill -9 of a member") {
  node_cluster cl(shards, 1);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0);
  cl.start_worker(0, "greet");
  auto c = cl.connect(0);
  std::vector<std::string> done, waiting;
  for (int i = 0; i < 12; ++i) {
    done.push_back("conv-done-" + std::to_string(i));
    REQUIRE_MESSAGE(start_greeting(c, done.back(), "greet"), done.back());
  }
  for (int i = 0; i < 6; ++i) {  // no worker serves this queue yet: their tasks wait
    waiting.push_back("conv-wait-" + std::to_string(i));
    REQUIRE_MESSAGE(start_greeting(c, waiting.back(), "later"), waiting.back());
  }
  for (auto& id : done) {
    auto r = c.result("", id, "", 20s);
    REQUIRE_MESSAGE(r, id << ": " << error_text(r));
  }
  cl.workers.clear();
  for (size_t i = 0; i < 3; ++i) cl.nodes[i].terminate();

  // Every node once with the flag: the member that held a shard's single copy seeds its group,
  // the others join it and catch up from a snapshot of the data.
  cl.replication_factor = 3;
  for (size_t i = 0; i < 3; ++i) {
    cl.nodes[i] = process(CHRONICLE_NODE_BIN, {"--config", cl.config(i), "--convert-to-replicated"},
                          (cl.dir.path() / (cl.names[i] + "-convert.log")).string());
    REQUIRE_MESSAGE(cl.nodes[i].wait_for_output("listening on", 20s), cl.nodes[i].output());
  }
  cl.wait_all_up(0);
  c = cl.connect(0);
  wait_groups(c, cl.names, 60s);
  wait_equal_digests(c, shards, 3, 60s);
  for (auto& id : done) {
    auto d = describe_when_served(c, id);
    REQUIRE_MESSAGE(d, id << ": " << error_text(d));
    CHECK(d->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
  // The waiting runs' tasks were dispatched again by their new leaders: a worker now serves them.
  cl.start_worker(1, "later");
  for (auto& id : waiting) {
    auto r = c.result("", id, "", 30s);
    CHECK_MESSAGE(r, id << ": " << error_text(r));
    if (r) CHECK(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }

  // The data has three copies now: with node1 killed, node2 describes every run (node1 led some).
  cl.nodes[0].kill9();
  auto c2 = cl.connect(1);
  for (auto& id : done) {
    auto d = describe_when_served(c2, id);
    CHECK_MESSAGE(d, id << ": " << error_text(d));
  }
  // node1 comes back without the flag (the conversion is recorded) and catches up.
  cl.start(0);
  cl.wait_all_up(1);
  wait_equal_digests(c2, shards, 3, 60s);
  for (auto& id : waiting) {
    auto d = describe_when_served(c2, id);
    REQUIRE_MESSAGE(d, id << ": " << error_text(d));
    CHECK(d->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
}
