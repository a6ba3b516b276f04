// End-to-end: in-flight tasks are reconciled after the connection between a worker and its node
// drops and comes back, nobody restarting (issue 16 item 8). A user-space TCP proxy on loopback
// (tcp_proxy.hpp) sits between a real retry-worker process and a real chronicle-node; the test
// cuts every connection through it (both sides closed) and lets the worker reconnect.
#include <doctest/doctest.h>

#include <cstdlib>
#include <thread>

#include "harness.hpp"
#include "tcp_proxy.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

// CHRONICLE_E2E_BASELINE_BUILD=<build dir of another checkout> runs these tests against that
// checkout's node and retry-worker (how the tests were checked to fail without reconciliation).
std::string binary(const char* built, const std::string& relative) {
  const char* base = std::getenv("CHRONICLE_E2E_BASELINE_BUILD");
  return base ? std::string(base) + "/" + relative : std::string(built);
}

struct proxied_deployment {
  temp_dir dir;
  uint16_t port = free_port();
  std::string config;
  process node;
  std::unique_ptr<tcp_proxy> proxy;
  process worker;

  proxied_deployment() : config(write_node_config(dir.path(), port)) {
    node = process(binary(CHRONICLE_NODE_BIN, "bin/chronicle-node"), {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
    proxy = std::make_unique<tcp_proxy>(port);
    worker = process(binary(RETRY_WORKER_BIN, "bin/retry-worker"),
                     {"--address", "127.0.0.1:" + std::to_string(proxy->port()),
                      "--listed-addresses-only", "--identity",
                      "w-proxied"},
                     (dir.path() / "worker.log").string());
    REQUIRE_MESSAGE(worker.wait_for_output("registered on task queue", 20s), worker.output());
  }

  client connect() {
    auto c = client::connect(test_system(), "127.0.0.1", port);
    REQUIRE_MESSAGE(c, error_text(c));
    return std::move(*c);
  }

  void start(client& c, const std::string& wid, int activity_ms) {
    pb::StartWorkflowRequest req;
    req.set_workflow_id(wid);
    req.set_workflow_type("OneSecond");
    req.set_task_queue("retries");
    *req.mutable_input() = sdk::to_payload(sdk::json{{"ms", activity_ms}});
    auto resp = c.start(req);
    REQUIRE_MESSAGE(resp, error_text(resp));
  }

  // Times the worker logged that it registered (once per connection).
  size_t registrations() const {
    auto out = worker.output();
    size_t n = 0;
    for (auto pos = out.find("registered on task queue"); pos != std::string::npos;
         pos = out.find("registered on task queue", pos + 1))
      ++n;
    return n;
  }

  void wait_reconnected(size_t before) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (registrations() <= before && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    REQUIRE_MESSAGE(registrations() > before, worker.output());
  }
};

std::vector<pb::HistoryEvent> events_of(client& c, const std::string& wid, pb::EventType type) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h));
  std::vector<pb::HistoryEvent> out;
  for (auto& ev : h->events())
    if (ev.event_type() == type) out.push_back(ev);
  return out;
}

}  // namespace

TEST_CASE("partition: an activity whose completion is lost with a cut connection is retried at once after the worker reconnects") {
  proxied_deployment d;
  auto c = d.connect();
  d.start(c, "lost-completion", 1000);
  REQUIRE_MESSAGE(d.worker.wait_for_output("one-second activity attempt 1 started", 20s),
                  d.worker.output());
  // Cut while the attempt runs and keep the worker away (the proxy refuses it) until the
  // attempt has answered into the dead connection: its completion is lost.
  auto before = d.registrations();
  d.proxy->pause(true);
  auto cut_at = std::chrono::steady_clock::now();
  CHECK(d.proxy->cut() >= 1);
  REQUIRE_MESSAGE(d.worker.wait_for_output("one-second activity attempt 1 done", 20s),
                  d.worker.output());
  std::this_thread::sleep_for(300ms);
  d.proxy->pause(false);
  d.wait_reconnected(before);
  auto r = c.result("", "lost-completion", "", 30s);
  REQUIRE_MESSAGE(r, error_text(r));
  auto took = std::chrono::steady_clock::now() - cut_at;
  CHECK_MESSAGE(took < 15s, "completed "
                  << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                  << " ms after the cut");
  REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto result = sdk::from_payload(r->result());
  CHECK(result["attempt"] == 2);
  auto started = events_of(c, "lost-completion", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().attempt() == 2);
  CHECK(events_of(c, "lost-completion", pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED).size() == 1);
  CHECK(events_of(c, "lost-completion", pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED).size() == 1);
}

TEST_CASE("partition: an activity the worker still runs across a reconnect is not retried") {
  proxied_deployment d;
  auto c = d.connect();
  d.start(c, "held-across", 4000);
  REQUIRE_MESSAGE(d.worker.wait_for_output("one-second activity attempt 1 started", 20s),
                  d.worker.output());
  auto before = d.registrations();
  CHECK(d.proxy->cut() >= 1);
  d.wait_reconnected(before);
  auto r = c.result("", "held-across", "", 30s);
  REQUIRE_MESSAGE(r, error_text(r));
  REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(sdk::from_payload(r->result())["attempt"] == 1);
  CHECK(d.worker.output().find("attempt 2 started") == std::string::npos);
  auto started = events_of(c, "held-across", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().attempt() == 1);
  CHECK(events_of(c, "held-across", pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED).size() == 1);
}
