// End-to-end: a real chronicle-node and a real greeting-worker process on loopback run the Greeting
// workflow, including kill -9 of the node and of the worker in the middle of a run.
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <atomic>
#include <map>
#include <thread>

#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

// One node and one worker, each a real process.
struct deployment {
  temp_dir dir;
  uint16_t port = free_port();
  std::string config;
  process node;
  process worker;

  explicit deployment(const std::string& extra_config = {}) {
    config = write_node_config(dir.path(), port, extra_config);
  }

  void start_node() {
    node = process(CHRONICLE_NODE_BIN, {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  }

  void start_worker(int64_t activity_delay_ms = 0) {
    worker = process(GREETING_WORKER_BIN,
                     {"--address", "127.0.0.1:" + std::to_string(port), "--task-queue", "greetings",
                      "--activity-delay-ms", std::to_string(activity_delay_ms)},
                     (dir.path() / "worker.log").string());
    REQUIRE(worker.wait_for_output("serving task queue", 20s));
  }

  client connect() {
    auto c = client::connect(test_system(), "127.0.0.1", port);
    REQUIRE_MESSAGE(c, error_text(c));
    return std::move(*c);
  }

  std::string start(client& c, const std::string& wid, const std::string& name) {
    pb::StartWorkflowRequest req;
    req.set_workflow_id(wid);
    req.set_workflow_type("Greeting");
    req.set_task_queue("greetings");
    *req.mutable_input() = sdk::to_payload({{"name", name}});
    auto resp = c.start(req);
    REQUIRE_MESSAGE(resp, error_text(resp));
    return resp->run_id();
  }

  // Polls describe until `pred` holds (or fails the test after 20 s).
  template <class Pred>
  void wait_until(client& c, const std::string& wid, Pred pred, const char* what) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = c.describe("", wid);
      if (d && pred(*d)) return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL("timed out waiting until " << what);
  }
};

std::map<pb::EventType, int> count_events(const pb::GetHistoryResponse& h) {
  std::map<pb::EventType, int> counts;
  for (auto& ev : h.events()) ++counts[ev.event_type()];
  return counts;
}

// The history of a completed Greeting: dense IDs, each step recorded exactly once.
void check_greeting_history(const pb::GetHistoryResponse& h) {
  for (int i = 0; i < h.events_size(); ++i) CHECK(h.events(i).event_id() == i + 1);
  auto counts = count_events(h);
  CHECK(counts[pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED] == 1);
  CHECK(counts[pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED] == 1);
  CHECK(counts[pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED] == 1);
  CHECK(counts[pb::EVENT_TYPE_TIMER_STARTED] == 1);
  CHECK(counts[pb::EVENT_TYPE_TIMER_FIRED] == 1);
  CHECK(counts[pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED] == 1);
  CHECK(h.events(h.events_size() - 1).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  // every scheduled workflow task ends exactly once (completed, failed or timed out)
  int scheduled = counts[pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED];
  int ended = counts[pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED] + counts[pb::EVENT_TYPE_WORKFLOW_TASK_FAILED]
              + counts[pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT];
  CHECK(scheduled == ended);
}

void check_result(client& c, const std::string& wid, const std::string& name) {
  auto res = c.result("", wid, "", 30s);
  REQUIRE_MESSAGE(res, error_text(res));
  CHECK(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto value = sdk::from_payload(res->result());
  CHECK(value["greeting"] == "Hello, " + name + "!");
  CHECK(value["workflow_id"] == wid);
}

}  // namespace

TEST_CASE("greeting workflow completes with its result and a Temporal-shaped history") {
  deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto run_id = d.start(c, "g1", "Ada");
  CHECK(run_id.size() == 36);
  check_result(c, "g1", "Ada");
  auto h = c.history("", "g1");
  REQUIRE(h);
  CHECK(h->events_size() == 16);
  check_greeting_history(*h);
  auto desc = c.describe("", "g1");
  REQUIRE(desc);
  CHECK(desc->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(desc->history_length() == 16);
  CHECK(desc->run_id() == run_id);
}

TEST_CASE("a second start of a running workflow ID is refused") {
  deployment d;
  d.start_node();
  auto c = d.connect();  // no worker: the workflow stays running
  d.start(c, "dup", "Ada");
  pb::StartWorkflowRequest req;
  req.set_workflow_id("dup");
  req.set_workflow_type("Greeting");
  req.set_task_queue("greetings");
  auto again = c.start(req);
  REQUIRE_FALSE(again);
  CHECK(chronicle_code(again.error()) == static_cast<uint8_t>(errc::already_started));
  CHECK(error_text(again.error()).find("already running") != std::string::npos);
}

TEST_CASE("node killed with -9 while the workflow waits on its timer: completes after restart") {
  deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  d.start(c, "t1", "Ada");
  d.wait_until(c, "t1", [](auto& x) { return x.pending_timers_size() == 1; }, "timer pending");
  d.node.kill9();
  d.start_node();
  auto c2 = d.connect();
  check_result(c2, "t1", "Ada");
  auto h = c2.history("", "t1");
  REQUIRE(h);
  check_greeting_history(*h);
}

TEST_CASE("node killed with -9 while the activity runs: completes after restart") {
  deployment d;
  d.start_node();
  d.start_worker(1500);
  auto c = d.connect();
  d.start(c, "a1", "Bob");
  d.wait_until(c, "a1", [](auto& x) { return x.pending_activities_size() == 1; }, "activity pending");
  d.node.kill9();
  d.start_node();
  auto c2 = d.connect();
  check_result(c2, "a1", "Bob");
  auto h = c2.history("", "a1");
  REQUIRE(h);
  check_greeting_history(*h);
}

// Recovery wakes the executions with pending tasks a window at a time (shard_actor.cpp
// reactivate_window, 64): a backlog several windows long is recovered whole, requests are served
// meanwhile, and each run completes once a worker comes.
TEST_CASE("a backlog of 300 runs with no worker survives kill -9 - recovered a window at a time - all complete") {
  deployment d;
  d.start_node();
  auto c = d.connect();
  const int n = 300;
  auto wid = [](int i) { return "backlog-" + std::to_string(i); };
  auto name = [](int i) { return std::string("N").append(std::to_string(i)); };
  for (int i = 0; i < n; ++i) d.start(c, wid(i), name(i));
  d.node.kill9();
  d.start_node();
  auto c2 = d.connect();
  d.start(c2, "backlog-new", "New");  // served while the backlog is being recovered
  auto out = d.node.output();
  size_t recovered = 0;
  for (size_t at = out.find("timers, "); at != std::string::npos; at = out.find("timers, ", at + 1))
    recovered += std::stoul(out.substr(at + 8));
  CHECK_MESSAGE(recovered == n, out);  // "recovered T timers, N executions with pending tasks"
  d.start_worker();
  check_result(c2, "backlog-new", "New");
  for (int i = 0; i < n; ++i) check_result(c2, wid(i), name(i));
  auto h = c2.history("", wid(n - 1));
  REQUIRE(h);
  check_greeting_history(*h);
}

TEST_CASE("worker killed with -9 while the activity runs: completes after the worker restarts") {
  deployment d;
  d.start_node();
  d.start_worker(1500);
  auto c = d.connect();
  d.start(c, "w1", "Cy");
  d.wait_until(c, "w1", [](auto& x) { return x.pending_activities_size() == 1; }, "activity pending");
  std::this_thread::sleep_for(200ms);  // the activity is running in the worker now
  d.worker.kill9();
  d.start_worker(0);
  check_result(c, "w1", "Cy");
  auto h = c.history("", "w1");
  REQUIRE(h);
  check_greeting_history(*h);
}

TEST_CASE("idle executions are passivated and reactivated by their timer") {
  deployment d("passivate_after_ms: 100\n");
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  d.start(c, "p1", "Di");
  check_result(c, "p1", "Di");
  auto h = c.history("", "p1");
  REQUIRE(h);
  check_greeting_history(*h);
}

TEST_CASE("durability os: kill -9 of the node loses nothing (the WAL is in the OS page cache)") {
  deployment d("durability: os\n");
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  d.start(c, "os1", "Eve");
  d.wait_until(c, "os1", [](auto& x) { return x.pending_timers_size() == 1; }, "timer pending");
  d.node.kill9();
  d.start_node();
  auto c2 = d.connect();
  check_result(c2, "os1", "Eve");
  auto h = c2.history("", "os1");
  REQUIRE(h);
  check_greeting_history(*h);
}

TEST_CASE("a workflow task a worker never answers times out (start-to-close) and runs on another worker") {
  deployment d("workflow_task_timeout_ms: 500\n");
  d.start_node();
  auto node = test_system().middleman().remote_actor("127.0.0.1", d.port);
  REQUIRE(node);
  // A worker that takes workflow tasks and never answers them.
  auto taken = std::make_shared<std::atomic<int>>(0);
  auto silent = test_system().spawn([taken](caf::event_based_actor*) -> caf::behavior {
    return {
      [taken](wf_task_atom, const std::string&) { ++*taken; },
      [](const std::string&) {},  // the registration's answer
    };
  });
  pb::RegisterWorkerRequest reg;
  reg.set_task_queue("greetings");
  reg.set_identity("silent");
  reg.set_workflows(true);
  reg.set_workflow_slots(1);
  caf::send_as(silent, *node, register_atom::value, encode(reg));
  auto c = d.connect();
  auto begin = std::chrono::steady_clock::now();
  d.start(c, "wt-timeout", "Ada");
  auto deadline = begin + 10s;
  while (taken->load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE(taken->load() == 1);
  d.start_worker();  // the retried task goes here: the silent worker's only slot stays taken
  check_result(c, "wt-timeout", "Ada");
  CHECK(std::chrono::steady_clock::now() - begin >= 500ms);
  auto h = c.history("", "wt-timeout");
  REQUIRE(h);
  auto counts = count_events(*h);
  CHECK(counts[pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT] == 1);
  check_greeting_history(*h);
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}
