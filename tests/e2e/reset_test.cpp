// End-to-end: reset and delete with a real chronicle-node and real retry-worker processes
// (samples/retry_worker.cpp: variant 1 has a bug in activity Ship, variant 2 the fix), through
// the CLI, the client library and HTTP, with kill -9 of the node between the steps.
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <thread>

#include "chromium.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "node_cluster.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"
#include "worker_deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

struct reset_deployment : worker_deployment {
  reset_deployment() : worker_deployment("retries", true) {}

  process worker(const std::string& identity, int variant) {
    return start_worker(RETRY_WORKER_BIN, identity, {"--variant", std::to_string(variant)});
  }
};

std::vector<pb::HistoryEvent> history_of(client& c, const std::string& wid,
                                         const std::string& run = "") {
  auto h = c.history("", wid, run);
  REQUIRE_MESSAGE(h, error_text(h));
  return {h->events().begin(), h->events().end()};
}

// The WorkflowTaskCompleted that follows the first ActivityTaskCompleted: the point "after the
// first activity".
int64_t after_first_activity(const std::vector<pb::HistoryEvent>& h) {
  bool seen = false;
  for (auto& ev : h) {
    if (ev.event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) seen = true;
    if (seen && ev.event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) return ev.event_id();
  }
  FAIL("no workflow task completed after an activity");
  return 0;
}

int count(const std::vector<pb::HistoryEvent>& h, pb::EventType type) {
  int n = 0;
  for (auto& ev : h) n += ev.event_type() == type;
  return n;
}

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

template <class Pred>
void wait_for(Pred pred, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("timed out waiting until " << what);
}

}  // namespace

TEST_CASE("reset after the first activity - the fixed worker completes the new run across kill -9") {
  reset_deployment d;
  auto c = d.connect();
  std::string old_run;
  {
    auto buggy = d.worker("buggy", 1);
    old_run = d.start(c, "order-1", "TwoSteps");
    auto r = d.result(c, "order-1");
    REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
    CHECK(occurrences(buggy.output(), "charge ran") == 1);
  }
  auto point = after_first_activity(history_of(c, "order-1"));
  // Bad points are refused with the reason, nothing changes.
  int code = 0;
  auto bad = d.cli({"workflow", "reset", "-w", "order-1", "--event-id", "1"}, &code);
  CHECK(code == 1);
  CHECK_MESSAGE(bad.find("a reset point is a WorkflowTaskCompleted") != std::string::npos, bad);
  bad = d.cli({"workflow", "reset", "-w", "order-1"}, &code);
  CHECK(code == 2);

  auto out = d.cli({"workflow", "reset", "-w", "order-1", "--event-id", std::to_string(point),
                    "--reason", "ship fixed", "--json"}, &code);
  REQUIRE_MESSAGE(code == 0, out);
  auto new_run = nlohmann::json::parse(out)["run_id"].get<std::string>();
  CHECK(new_run != old_run);
  // The reset was answered once durable: it survives kill -9 of the node at once.
  d.kill9_and_restart();
  c = d.connect();
  auto fixed = d.worker("fixed", 2);
  auto r = d.result(c, "order-1");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(r.run_id() == new_run);
  auto result = sdk::from_payload(r.result());
  CHECK(result["charge"] == "charged");
  CHECK(result["ship"] == "shipped");
  CHECK(occurrences(fixed.output(), "charge ran") == 0);  // Charge's result came with the prefix

  auto h = history_of(c, "order-1", new_run);
  auto old_h = history_of(c, "order-1", old_run);
  REQUIRE(h.size() > static_cast<size_t>(point));
  for (int64_t i = 0; i < point - 1; ++i)
    CHECK(h[i].SerializeAsString() == old_h[i].SerializeAsString());
  auto& failed = h[point - 1];
  REQUIRE(failed.has_workflow_task_failed());
  CHECK(failed.workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
  CHECK(failed.workflow_task_failed().base_run_id() == old_run);
  CHECK(failed.workflow_task_failed().failure().message() == "reset: ship fixed");
  CHECK(count(h, pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == 2);  // Charge (copied), Ship again

  auto old_d = c.describe("", "order-1", old_run);
  REQUIRE_MESSAGE(old_d, error_text(old_d));
  CHECK(old_d->reset_to_run_id() == new_run);
  auto new_d = c.describe("", "order-1");
  REQUIRE_MESSAGE(new_d, error_text(new_d));
  CHECK(new_d->run_id() == new_run);
  CHECK(new_d->reset_from_run_id() == old_run);
  CHECK(new_d->reset_event_id() == point - 1);
  auto text = d.cli({"workflow", "describe", "-w", "order-1", "-r", old_run});
  CHECK_MESSAGE(text.find("Reset to:        run " + new_run) != std::string::npos, text);
  // HTTP describe carries the links too.
  auto hd = http_get(d.http, "/api/v1/namespaces/default/workflows/order-1");
  REQUIRE(hd.status == 200);
  CHECK(hd.body_json()["reset_from_run_id"] == old_run);
  // The web UI's run page shows the link and the Reset / Delete buttons (also on a closed run).
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed (deploy/setup.sh)");
  auto page = render(chromium, d.dir.path() / "chromium-profile",
                     "http://127.0.0.1:" + std::to_string(d.http) + "/#/workflow/default/order-1");
  CHECK_MESSAGE(contains(page, R"(id="reset-from">)" + old_run + " (event "), page);
  CHECK_MESSAGE(contains(page, R"(id="reset-button")"), page);
  CHECK_MESSAGE(contains(page, R"(id="delete-button")"), page);
}

TEST_CASE("reset of a running run terminates it and re-applies signals - HTTP and the client") {
  reset_deployment d;
  auto c = d.connect();
  std::string old_run;
  int64_t point = 0;
  {
    auto buggy = d.worker("buggy", 1);
    old_run = d.start(c, "sig-1", "SignalSteps");
    // The signal comes after the point: once the task after Charge completed (the code waits).
    wait_for([&] {
      auto h = history_of(c, "sig-1");
      bool charged = count(h, pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1;
      return charged && h.back().event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
    }, "the workflow waits for its signal");
    point = after_first_activity(history_of(c, "sig-1"));
    buggy.kill9();  // the run stays running: Ship will be scheduled with no worker
  }
  auto sig = c.signal("", "sig-1", "", "address", sdk::to_payload("Main St 1"));
  REQUIRE_MESSAGE(sig, error_text(sig));
  // No worker runs the task the signal scheduled: the reset comes first, the fixed worker after.
  auto bad = http_post(d.http, "/api/v1/namespaces/default/workflows/sig-1/reset",
                       R"({"type": "sideways"})");
  CHECK(bad.status == 400);
  auto resp = http_post(d.http, "/api/v1/namespaces/default/workflows/sig-1/reset",
                        nlohmann::json{{"event_id", point}, {"reason", "fix"},
                                       {"request_id", "reset-sig-1"}}.dump());
  REQUIRE_MESSAGE(resp.status == 200, resp.body);
  auto new_run = resp.body_json()["run_id"].get<std::string>();
  // The same request again answers the same run.
  auto again = http_post(d.http, "/api/v1/namespaces/default/workflows/sig-1/reset",
                         nlohmann::json{{"event_id", point}, {"request_id", "reset-sig-1"}}.dump());
  REQUIRE(again.status == 200);
  CHECK(again.body_json()["run_id"] == new_run);
  auto fixed = d.worker("fixed", 2);

  auto old_r = d.result(c, "sig-1", old_run);
  CHECK(old_r.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(old_r.failure().message() == "reset");
  auto r = d.result(c, "sig-1");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(r.run_id() == new_run);
  CHECK(sdk::from_payload(r.result())["ship"] == "shipped to Main St 1");
  CHECK(count(history_of(c, "sig-1", new_run), pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1);

  // Reset the completed run again without the signals: the new run waits for one.
  pb::ResetWorkflowRequest req;
  req.set_workflow_id("sig-1");
  req.set_event_id(point);
  req.set_reapply_type(pb::RESET_REAPPLY_TYPE_NONE);
  auto third = c.reset(req);
  REQUIRE_MESSAGE(third, error_text(third));
  wait_for([&] {
    auto h = history_of(c, "sig-1", third->run_id());
    return h.back().event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED;
  }, "the third run waits for its signal");
  auto h3 = history_of(c, "sig-1", third->run_id());
  CHECK(count(h3, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 0);
  auto d3 = c.describe("", "sig-1");
  REQUIRE(d3);
  CHECK(d3->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  auto d2 = c.describe("", "sig-1", new_run);
  REQUIRE(d2);
  CHECK(d2->reset_to_run_id() == third->run_id());
}

TEST_CASE("delete removes a running run and a closed one - not found after kill -9 - HTTP DELETE") {
  reset_deployment d;
  auto c = d.connect();
  auto run = d.start(c, "del-1", "TwoSteps");  // no worker: it stays running
  int code = 0;
  auto out = d.cli({"workflow", "delete", "-w", "del-1"}, &code);
  REQUIRE_MESSAGE(code == 0, out);
  CHECK_MESSAGE(out.find("deleted workflow 'del-1' (run " + run + ")") != std::string::npos, out);
  auto gone = c.describe("", "del-1");
  REQUIRE(!gone);
  CHECK(chronicle_code(gone.error()) == static_cast<uint8_t>(errc::not_found));
  CHECK(!c.describe("", "del-1", run));
  CHECK(!c.history("", "del-1", run));

  // A closed run, deleted over HTTP by run ID.
  auto run2 = d.start(c, "del-2", "TwoSteps");
  auto t = c.terminate("", "del-2", "", "done");
  REQUIRE(t);
  auto del = http_call(d.http, boost::beast::http::verb::delete_,
                       "/api/v1/namespaces/default/workflows/del-2?run_id=" + run2);
  REQUIRE_MESSAGE(del.status == 200, del.body);
  CHECK(del.body_json()["run_id"] == run2);
  auto missing = http_call(d.http, boost::beast::http::verb::delete_,
                           "/api/v1/namespaces/default/workflows/del-2");
  CHECK(missing.status == 404);

  d.kill9_and_restart();
  c = d.connect();
  CHECK(!c.describe("", "del-1"));
  CHECK(!c.describe("", "del-2", run2));
  pb::CountWorkflowsRequest count_req;
  for (auto wid : {"del-1", "del-2"}) {
    count_req.set_query(std::string("WorkflowId = '") + wid + "'");
    auto n = c.count(count_req);
    REQUIRE_MESSAGE(n, error_text(n));
    CHECK(n->count() == 0);
  }
  // The ID is free again.
  auto again = d.start(c, "del-1", "TwoSteps");
  CHECK(again != run);
}

TEST_CASE("reset on a replicated cluster - the leader killed after the reset - the new run completes elsewhere") {
  node_cluster cl(6, 3);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  auto c = cl.connect(0);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = c.cluster_status(true);
    if (st && client::serving_leaders(*st).size() == 6) break;
    std::this_thread::sleep_for(50ms);
  }
  auto retry_worker = [&](size_t node, const std::string& id, int variant) {
    process p(RETRY_WORKER_BIN, {"--address", cl.address(node), "--identity", id, "--variant",
                                 std::to_string(variant)},
              (cl.dir.path() / (id + ".log")).string());
    REQUIRE(p.wait_for_output("registered on task queue", 20s));
    return p;
  };
  pb::StartWorkflowRequest req;
  req.set_workflow_id("rep-1");
  req.set_workflow_type("TwoSteps");
  req.set_task_queue("retries");
  std::string old_run;
  {
    auto buggy = retry_worker(0, "buggy", 1);
    auto started = c.start(req);
    REQUIRE_MESSAGE(started, error_text(started));
    old_run = started->run_id();
    auto r = c.result("", "rep-1", "", 30s);
    REQUIRE_MESSAGE(r, error_text(r));
    REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  }
  auto point = after_first_activity(history_of(c, "rep-1"));
  pb::ResetWorkflowRequest reset;
  reset.set_workflow_id("rep-1");
  reset.set_event_id(point);
  reset.set_reason("replicated");
  auto made = c.reset(reset);
  REQUIRE_MESSAGE(made, error_text(made));
  // Kill the node that leads the workflow's shard: the reset is committed on a majority.
  auto desc = c.describe("", "rep-1");
  REQUIRE_MESSAGE(desc, error_text(desc));
  size_t victim = 0;
  for (size_t i = 0; i < 3; ++i)
    if (cl.names[i] == desc->owner_node()) victim = i;
  cl.nodes[victim].kill9();
  size_t other = (victim + 1) % 3;
  auto c2 = cl.connect(other);
  auto fixed = retry_worker(other, "fixed", 2);
  auto r = c2.result("", "rep-1", "", 60s);
  REQUIRE_MESSAGE(r, error_text(r));
  CHECK(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(r->run_id() == made->run_id());
  auto d2 = c2.describe("", "rep-1");
  REQUIRE_MESSAGE(d2, error_text(d2));
  CHECK(d2->owner_node() != cl.names[victim]);
  CHECK(d2->reset_from_run_id() == old_run);
}
