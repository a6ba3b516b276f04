// End-to-end: describing a task queue (chronicle task-queue describe, GET .../task-queues/{name},
// the web UI's task queue page) against real node and worker processes: pollers appear when a
// worker registers and disappear when it is killed, the backlog grows while no worker runs and
// drains once one does; on 3 nodes the parts come from the node hosting the queue.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "chromium.hpp"
#include "deployment.hpp"
#include "http_client.hpp"
#include "node_cluster.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const pb::TaskQueueBacklog& backlog_of(const pb::DescribeTaskQueueResponse& d, const char* kind) {
  for (auto& b : d.backlogs())
    if (b.kind() == kind) return b;
  FAIL("no backlog of kind " << kind);
  return d.backlogs(0);
}

// Describes `queue` through `c` until `pred` holds; fails the test after `timeout`.
template <class Pred>
pb::DescribeTaskQueueResponse describe_until(client& c, const std::string& queue, Pred pred,
                                             const char* what,
                                             std::chrono::seconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pb::DescribeTaskQueueResponse last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe_task_queue("default", queue);
    REQUIRE_MESSAGE(d, error_text(d.error()));
    last = *d;
    if (pred(last)) return last;
    std::this_thread::sleep_for(100ms);
  }
  FAIL("timed out waiting until " << what << "; last: " << last.ShortDebugString());
  return last;
}

process greeting_worker(const std::string& address, const std::string& identity,
                        const std::string& build_id, const std::filesystem::path& log) {
  process w(GREETING_WORKER_BIN, {"--address", address, "--task-queue", "greetings", "--identity",
                                  identity, "--build-id", build_id},
            log.string());
  REQUIRE(w.wait_for_output("serving task queue", 20s));
  return w;
}

}  // namespace

TEST_CASE("task queue describe: pollers come and go - backlog grows without workers and drains") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto c = d.connect();

  // An unknown queue is described as empty, not refused; a bad name is refused.
  std::string out;
  REQUIRE_MESSAGE(d.cli({"-o", "json", "task-queue", "describe", "-q", "nobody-polls"}, &out) == 0,
                  out);
  auto empty = json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(empty.is_object(), out);
  // (the CLI prints protobuf's JSON mapping: lowerCamel names, zero values left out)
  CHECK_FALSE(empty.contains("pollers"));
  REQUIRE(empty["backlogs"].size() == 2);
  CHECK(empty["backlogs"][0]["kind"] == "workflow");
  CHECK_FALSE(empty["backlogs"][0].contains("count"));
  CHECK(empty["ownerNode"] == "node1");
  CHECK(d.cli({"task-queue", "describe", "-q", ""}, &out) == 1);
  CHECK_MESSAGE(out.find("task queue is empty") != std::string::npos, out);
  auto bad = http_get(http, "/api/v1/namespaces/default/task-queues/a%01b");
  CHECK(bad.status == 400);
  CHECK_MESSAGE(bad.body.find("control character") != std::string::npos, bad.body);
  CHECK(http_get(http, "/api/v1/namespaces/default/task-queues/x?foo=1").status == 400);

  // No worker: the workflow tasks wait in the queue.
  for (auto id : {"tq-1", "tq-2", "tq-3"}) {
    auto r = c.start(start_request(id, "Greeting", {{"name", id}}));
    REQUIRE_MESSAGE(r, error_text(r.error()));
  }
  std::this_thread::sleep_for(300ms);
  auto waiting = describe_until(
    c, "greetings", [](auto& x) { return backlog_of(x, "workflow").count() == 3; },
    "three workflow tasks wait");
  CHECK(waiting.pollers().empty());
  CHECK(backlog_of(waiting, "workflow").oldest_age_ms() >= 300);
  CHECK(backlog_of(waiting, "activity").count() == 0);
  CHECK(waiting.nodes_size() == 1);

  // A worker registers: it is listed for both kinds, and the backlog drains.
  auto worker = greeting_worker(d.address(), "tq-worker-1", "build-7", d.dir.path() / "w1.log");
  for (auto id : {"tq-1", "tq-2", "tq-3"}) {
    auto r = c.result("", id, "", 30s);
    REQUIRE_MESSAGE(r, error_text(r.error()));
    CHECK(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
  auto served = describe_until(
    c, "greetings",
    [](auto& x) { return x.pollers_size() == 2 && backlog_of(x, "workflow").count() == 0; },
    "the worker is listed and the backlog drained");
  for (auto& p : served.pollers()) {
    CHECK(p.identity() == "tq-worker-1");
    CHECK(p.build_id() == "build-7");
    CHECK(p.node() == "node1");
    CHECK(p.queue_node() == "node1");
    CHECK(p.slots() == 16);
    CHECK(now_ms() - p.last_seen_ms() < 10'000);
  }
  CHECK(served.pollers(0).kind() == "workflow");
  CHECK(served.pollers(1).kind() == "activity");
  auto via_http = http_get(http, "/api/v1/namespaces/default/task-queues/greetings");
  REQUIRE(via_http.status == 200);
  auto j = via_http.body_json();
  CHECK(j["pollers"].size() == 2);
  CHECK(j["pollers"][0]["build_id"] == "build-7");
  REQUIRE(d.cli({"task-queue", "describe", "-q", "greetings"}, &out) == 0);
  CHECK_MESSAGE(out.find("tq-worker-1") != std::string::npos, out);
  CHECK_MESSAGE(out.find("build-7") != std::string::npos, out);

  // The web UI: the task queue page, linked from a workflow's page.
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto base = "http://127.0.0.1:" + std::to_string(http) + "/";
  auto profile = d.dir.path() / "chromium-profile";
  auto wf_page = render(chromium, profile, base + "#/workflow/default/tq-1");
  CHECK_MESSAGE(contains(wf_page, R"(href="#/task-queue/default/greetings")"), wf_page);
  auto tq_page = render(chromium, profile, base + "#/task-queue/default/greetings");
  CHECK_MESSAGE(contains(tq_page, R"(id="task-queue">greetings<)"), tq_page);
  CHECK_MESSAGE(contains(tq_page, "tq-worker-1"), tq_page);
  CHECK_MESSAGE(contains(tq_page, "build-7"), tq_page);
  CHECK_MESSAGE(contains(tq_page, R"(<tr id="backlog-workflow"><td>workflow</td><td class="count">0</td>)"),
                tq_page);
  render(chromium, profile, base + "#/task-queue/default/greetings",
         (std::filesystem::path(CHRONICLE_BUILD_DIR) / "http-ui-task-queue.png").string());

  // Killed: the worker is gone from the description; new work waits again.
  worker.kill9();
  describe_until(c, "greetings", [](auto& x) { return x.pollers().empty(); },
                 "the killed worker is gone", 15s);
  for (auto id : {"tq-4", "tq-5"}) REQUIRE(c.start(start_request(id, "Greeting", {{"name", id}})));
  describe_until(
    c, "greetings", [](auto& x) { return backlog_of(x, "workflow").count() == 2; },
    "two workflow tasks wait again");
  auto empty_page = render(chromium, profile, base + "#/task-queue/default/greetings");
  CHECK_MESSAGE(contains(empty_page, "No worker is registered with this task queue."), empty_page);
  CHECK_MESSAGE(contains(empty_page, R"(<td class="count">2</td>)"), empty_page);

  auto again = greeting_worker(d.address(), "tq-worker-2", "build-8", d.dir.path() / "w2.log");
  for (auto id : {"tq-4", "tq-5"}) {
    auto r = c.result("", id, "", 30s);
    REQUIRE_MESSAGE(r, error_text(r.error()));
  }
  auto drained = describe_until(
    c, "greetings",
    [](auto& x) {
      return backlog_of(x, "workflow").count() == 0 && backlog_of(x, "activity").count() == 0
             && x.pollers_size() == 2;
    },
    "the backlog drained with the new worker");
  CHECK(drained.pollers(0).identity() == "tq-worker-2");
}

TEST_CASE("task queue describe on three nodes: the hosting node answers for a worker connected elsewhere") {
  node_cluster cl(8);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  // The queue's owner, the node the worker connects to and the node asked are all different.
  auto owner = cl.ring.task_queue_owner("default", "greetings");
  size_t host = 0;
  while (cl.names[host] != owner) ++host;
  size_t via = (host + 1) % 3, asked = (host + 2) % 3;
  auto c = cl.connect(asked);
  cl.wait_all_up(asked, 3, 20s);  // every member up and every shard ready
  for (auto id : {"tq3-1", "tq3-2"}) {
    auto r = start_greeting(c, id, "greetings");
    REQUIRE_MESSAGE(r, error_text(r.error()));
  }
  auto waiting = describe_until(
    c, "greetings", [](auto& x) { return backlog_of(x, "workflow").count() == 2; },
    "two workflow tasks wait on the owner");
  CHECK(waiting.owner_node() == owner);
  REQUIRE(waiting.nodes_size() == 1);
  CHECK(waiting.nodes(0) == owner);
  CHECK(waiting.missing_nodes().empty());

  auto worker = greeting_worker(cl.address(via), "tq3-worker", "b3", cl.dir.path() / "w.log");
  for (auto id : {"tq3-1", "tq3-2"}) {
    auto r = c.result("", id, "", 30s);
    REQUIRE_MESSAGE(r, error_text(r.error()));
  }
  auto served = describe_until(
    c, "greetings",
    [](auto& x) { return x.pollers_size() == 2 && backlog_of(x, "workflow").count() == 0; },
    "the worker is listed");
  for (auto& p : served.pollers()) {
    CHECK(p.node() == cl.names[via]);
    CHECK(p.queue_node() == owner);
  }
  worker.kill9();  // its node tells the owner (WorkerGone)
  describe_until(c, "greetings", [](auto& x) { return x.pollers().empty(); },
                 "the killed worker is gone", 15s);
}
