// End-to-end: workflow versioning (patched) across a worker deploy mid-run, and the escape
// hatches (side_effect, uuid, wait_condition) against a real chronicle-node and a real
// versioning-worker process (samples/versioning_worker.cpp).
#include <doctest/doctest.h>

#include <regex>
#include <thread>

#include "deployment.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

void start_versioning_worker(single_node& d, const std::string& code, const std::string& sticky) {
  d.worker = process(VERSIONING_WORKER_BIN,
                     {"--address", d.address(), "--task-queue", "greetings", "--code", code,
                      "--sticky-cache", sticky},
                     (d.dir.path() / ("worker-" + code + ".log")).string());
  REQUIRE(d.worker.wait_for_output("serving task queue", 20s));
}

std::string start(client& c, const std::string& wid, const std::string& type, const json& in) {
  auto resp = c.start(start_request(wid, type, in));
  REQUIRE_MESSAGE(resp, error_text(resp));
  return resp->run_id();
}

pb::GetHistoryResponse history_of(client& c, const std::string& wid) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h));
  return *h;
}

int count(const pb::GetHistoryResponse& h, pb::EventType type) {
  int n = 0;
  for (auto& ev : h.events()) n += ev.event_type() == type;
  return n;
}

// Until the run's activity completed and its workflow task after it completed (it waits).
void wait_charged(client& c, const std::string& wid) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = history_of(c, wid);
    if (count(h, pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1 &&
        count(h, pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2)
      return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("timed out waiting until " << wid << " was charged");
}

json completed_value(client& c, const std::string& wid) {
  auto res = c.result("", wid, "", 30s);
  REQUIRE_MESSAGE(res, error_text(res));
  REQUIRE_MESSAGE(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED, res->DebugString());
  return sdk::from_payload(res->result());
}

void signal(client& c, const std::string& wid, const std::string& name) {
  auto resp = c.signal("", wid, "", name, sdk::to_payload(nullptr));
  REQUIRE_MESSAGE(resp, error_text(resp));
}

}  // namespace

TEST_CASE("versioning: a run started on v1 finishes on v2 in the old branch - a v2 run takes the new") {
  single_node d;
  d.start_node();
  start_versioning_worker(d, "v1", "100");
  auto c = d.connect();

  start(c, "order-old", "Order", "book");
  wait_charged(c, "order-old");
  CHECK(d.worker.terminate() == 0);  // deploy: v1 stops, v2 (no cache: replays from the start)
  start_versioning_worker(d, "v2", "0");

  start(c, "order-new", "Order", "pen");
  wait_charged(c, "order-new");
  signal(c, "order-old", "ship");
  signal(c, "order-new", "ship");

  json old_result = completed_value(c, "order-old");
  CHECK(old_result["branch"] == "old");
  CHECK(old_result["charged"] == "charged \"book\"");
  json new_result = completed_value(c, "order-new");
  CHECK(new_result["branch"] == "new");
  CHECK(new_result["charged"] == "charged with receipt \"pen\"");

  CHECK(count(history_of(c, "order-old"), pb::EVENT_TYPE_MARKER_RECORDED) == 0);
  auto h = history_of(c, "order-new");
  REQUIRE(count(h, pb::EVENT_TYPE_MARKER_RECORDED) == 1);
  for (auto& ev : h.events())
    if (ev.event_type() == pb::EVENT_TYPE_MARKER_RECORDED) {
      CHECK(ev.marker_recorded().marker_name() == "core_patch");
      CHECK(sdk::from_payload(ev.marker_recorded().details().at("patch_id")) == "charge-with-receipt");
    }
  CHECK(count(h, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0);
  CHECK(count(history_of(c, "order-old"), pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0);
}

TEST_CASE("versioning: v3 (deprecate_patch) finishes a run started on v2") {
  single_node d;
  d.start_node();
  start_versioning_worker(d, "v2", "100");
  auto c = d.connect();
  start(c, "order-v2", "Order", "lamp");
  wait_charged(c, "order-v2");
  CHECK(d.worker.terminate() == 0);
  start_versioning_worker(d, "v3", "0");
  signal(c, "order-v2", "ship");
  CHECK(completed_value(c, "order-v2")["branch"] == "new");
  CHECK(count(history_of(c, "order-v2"), pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0);
}

TEST_CASE("escape hatches: side_effect replayed from its marker - uuid - wait_condition with timeout") {
  single_node d;
  d.start_node();
  start_versioning_worker(d, "v2", "0");  // every task replays the whole history
  auto c = d.connect();

  start(c, "escape-signaled", "Escape", json{{"timeout_ms", 60000}});
  start(c, "escape-timed-out", "Escape", json{{"timeout_ms", 300}});
  wait_until(c, "escape-signaled",
             [](const pb::DescribeWorkflowResponse& r) {
               return r.pending_workflow_task().empty() && r.history_length() >= 6;
             },
             "escape-signaled waits");
  signal(c, "escape-signaled", "go");

  json signaled = completed_value(c, "escape-signaled");
  CHECK(signaled["signaled"] == true);
  json timed_out = completed_value(c, "escape-timed-out");
  CHECK(timed_out["signaled"] == false);

  std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  CHECK(std::regex_match(signaled["uuid"].get<std::string>(), v4));
  CHECK(signaled["uuid"] != timed_out["uuid"]);  // seeded by different run IDs

  auto h = history_of(c, "escape-signaled");
  json recorded;
  for (auto& ev : h.events())
    if (ev.event_type() == pb::EVENT_TYPE_MARKER_RECORDED &&
        ev.marker_recorded().marker_name() == "SideEffect")
      recorded = sdk::from_payload(ev.marker_recorded().details().at("data"));
  CHECK(recorded == signaled["stamp"]);  // the last task replayed it, not a new clock reading
  CHECK(count(h, pb::EVENT_TYPE_TIMER_CANCELED) == 1);
  CHECK(count(h, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0);
  auto t = history_of(c, "escape-timed-out");
  CHECK(count(t, pb::EVENT_TYPE_TIMER_FIRED) == 1);
  CHECK(count(t, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 0);
}
