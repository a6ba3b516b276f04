// End-to-end: cancellation seen from history, from the workflow's result and from describe (client,
// CLI, HTTP), with a real chronicle-node and a real activity-worker (samples/activity_worker.cpp):
// the three activity cancellation types, cancellation scopes (a scope canceled by the code, a
// shielded block under the workflow's cancel request).
#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "activity_deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

// The event IDs of `type` in the run's history, in order.
std::vector<int64_t> ids_of(client& c, const std::string& wid, pb::EventType type) {
  std::vector<int64_t> ids;
  for (auto& ev : events_of(c, wid, type)) ids.push_back(ev.event_id());
  return ids;
}

int64_t completed_id(client& c, const std::string& wid) {
  auto ids = ids_of(c, wid, pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  REQUIRE(ids.size() == 1);
  return ids[0];
}

// The activity of `wid` was handed to the worker (and, for Beating, heartbeats).
void wait_started(activity_deployment& d, client& c, const std::string& wid, bool heartbeating) {
  d.wait_until(c, wid, [&](const pb::DescribeWorkflowResponse& x) {
    return x.pending_activities_size() == 1 && x.pending_activities(0).state() == "started"
           && (!heartbeating || x.pending_activities(0).last_heartbeat_time_ms() > 0);
  }, "the activity runs");
}

// Waits until a workflow task completed after the first event of `type` (the code handled it).
void wait_handled(client& c, const std::string& wid, pb::EventType type) {
  auto event = wait_event(c, wid, type);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto id : ids_of(c, wid, pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED))
      if (id > event.event_id()) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("no workflow task completed after " << event_type_name(type) << " in " << wid);
}

void signal(client& c, const std::string& wid, const std::string& name) {
  auto r = c.signal("", wid, "", name, sdk::to_payload(nullptr));
  REQUIRE_MESSAGE(r, error_text(r.error()));
}

// Starts CancelType `wid` (its heartbeating Beating activity, cancellation type `type`, waiting
// for "finish" after the await when `finish`) and signals "cancel" once the activity runs.
void start_and_cancel(activity_deployment& d, client& c, const std::string& wid,
                      const std::string& type, bool finish = false) {
  d.start(c, wid, "CancelType", {{"type", type}, {"finish", finish}});
  wait_started(d, c, wid, true);
  signal(c, wid, "cancel");
}

}  // namespace

TEST_CASE("cancel: try_cancel - the await ends at once - the workflow completes before the activity hears of it") {
  activity_deployment d;
  auto c = d.connect();
  start_and_cancel(d, c, "ct-try", "try_cancel");
  auto out = result_of(c, "ct-try");
  CHECK(out["await"] == "canceled");
  CHECK(out["message"] == "canceled by signal");
  CHECK(out["cancel_requested"] == false);
  // RequestCancelActivityTask and the completion came in one workflow task: nothing in between.
  auto requested = ids_of(c, "ct-try", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  REQUIRE(requested.size() == 1);
  CHECK(requested[0] + 1 == completed_id(c, "ct-try"));
  CHECK(ids_of(c, "ct-try", pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED).empty());
}

TEST_CASE("cancel: wait_cancellation_completed - the await ends with ActivityTaskCanceled") {
  activity_deployment d;
  auto c = d.connect();
  start_and_cancel(d, c, "ct-wait", "wait_cancellation_completed");
  auto out = result_of(c, "ct-wait");
  CHECK(out["await"] == "canceled");
  CHECK(out["message"] == "canceled by signal");
  auto requested = ids_of(c, "ct-wait", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  auto canceled = ids_of(c, "ct-wait", pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  REQUIRE(requested.size() == 1);
  REQUIRE(canceled.size() == 1);
  CHECK(requested[0] < canceled[0]);
  CHECK(canceled[0] < completed_id(c, "ct-wait"));
  CHECK(d.worker.output().find("activity saw cancellation") != std::string::npos);
}

TEST_CASE("cancel: wait_cancellation_completed on the workflow's cancel request - describe shows cancel_requested until the activity's result") {
  activity_deployment d;
  auto c = d.connect();
  const auto gate = (d.dir.path() / "gate").string();
  d.start(c, "ct-gate", "CancelType",
          {{"type", "wait_cancellation_completed"}, {"activity", "Gate"}, {"gate", gate}});
  wait_started(d, c, "ct-gate", false);
  auto before = c.describe("", "ct-gate");
  REQUIRE(before);
  CHECK_FALSE(before->pending_activities(0).cancel_requested());
  auto req = c.cancel("", "ct-gate", "", "test cancels");
  REQUIRE_MESSAGE(req, error_text(req.error()));
  // The Gate activity never heartbeats: it stays pending, marked, until it returns.
  auto desc = d.wait_until(c, "ct-gate", [](const pb::DescribeWorkflowResponse& x) {
    return x.pending_activities_size() == 1 && x.pending_activities(0).cancel_requested();
  }, "the activity is cancel-requested");
  const auto& act = desc.pending_activities(0);
  CHECK(act.state() == "started");
  auto requested = ids_of(c, "ct-gate", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  REQUIRE(requested.size() == 1);
  CHECK(act.cancel_requested_event_id() == requested[0]);
  int code = -1;
  auto text = d.cli({"workflow", "describe", "-w", "ct-gate"}, &code);
  CHECK(code == 0);
  CHECK_MESSAGE(text.find("cancel requested at event " + std::to_string(requested[0]))
                  != std::string::npos,
                text);
  auto http = http_get(d.http, "/api/v1/namespaces/default/workflows/ct-gate");
  REQUIRE_MESSAGE(http.status == 200, http.body);
  auto j = http.body_json();
  REQUIRE(j["pending_activities"].size() == 1);
  CHECK(j["pending_activities"][0]["cancel_requested"] == true);
  CHECK(j["pending_activities"][0]["cancel_requested_event_id"] == requested[0]);

  std::ofstream(gate) << "open";
  auto out = result_of(c, "ct-gate");
  CHECK(out["await"] == "result");
  CHECK(out["result"] == "gate opened");
  CHECK(out["cancel_requested"] == true);
  auto result_id = ids_of(c, "ct-gate", pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  REQUIRE(result_id.size() == 1);
  CHECK(requested[0] < result_id[0]);
  CHECK(result_id[0] < completed_id(c, "ct-gate"));
  CHECK(ids_of(c, "ct-gate", pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED).size() == 1);
}

TEST_CASE("cancel: abandon - nothing is sent - the await ends at once - the activity runs on") {
  activity_deployment d;
  auto c = d.connect();
  start_and_cancel(d, c, "ct-abandon", "abandon", true);
  // The workflow handled the signal and waits for "finish".
  wait_handled(c, "ct-abandon", pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  // Still running, never asked to cancel: its heartbeats keep coming.
  auto first = c.describe("", "ct-abandon");
  REQUIRE(first);
  REQUIRE(first->pending_activities_size() == 1);
  CHECK_FALSE(first->pending_activities(0).cancel_requested());
  d.wait_until(c, "ct-abandon", [&](const pb::DescribeWorkflowResponse& x) {
    return x.pending_activities_size() == 1
           && x.pending_activities(0).last_heartbeat_time_ms()
                > first->pending_activities(0).last_heartbeat_time_ms();
  }, "a later heartbeat");
  signal(c, "ct-abandon", "finish");
  auto out = result_of(c, "ct-abandon");
  CHECK(out["await"] == "canceled");
  CHECK(out["message"] == "canceled by signal");
  CHECK(ids_of(c, "ct-abandon", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED).empty());
  CHECK(ids_of(c, "ct-abandon", pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED).empty());
  CHECK(d.worker.output().find("activity saw cancellation") == std::string::npos);
}

TEST_CASE("cancel: scopes - a scope canceled by the code spares its shielded scope - a shielded block outlives the workflow's cancel request") {
  activity_deployment d;
  auto c = d.connect();
  const auto gate = (d.dir.path() / "gate").string();
  d.start(c, "scopes", "Scopes", {{"gate", gate}});
  wait_started(d, c, "scopes", false);
  auto req = c.cancel("", "scopes", "", "test cancels");
  REQUIRE_MESSAGE(req, error_text(req.error()));
  // The workflow's wait was canceled; the shielded activity was not (no RequestCancelActivityTask).
  wait_handled(c, "scopes", pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  auto desc = c.describe("", "scopes");
  REQUIRE(desc);
  REQUIRE(desc->pending_activities_size() == 1);
  CHECK_FALSE(desc->pending_activities(0).cancel_requested());
  CHECK(ids_of(c, "scopes", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED).empty());
  std::ofstream(gate) << "open";
  auto out = result_of(c, "scopes");
  CHECK(out["outer_timer"] == "canceled");
  CHECK(out["inner_timer"] == "fired");
  CHECK(out["wait"] == "canceled: workflow execution canceled: test cancels");
  CHECK(out["guarded"] == "gate opened");
  CHECK(out["cancel_requested"] == true);
  auto timer_canceled = events_of(c, "scopes", pb::EVENT_TYPE_TIMER_CANCELED);
  auto timer_fired = events_of(c, "scopes", pb::EVENT_TYPE_TIMER_FIRED);
  // Timer 1 (the scope's, 1 h) canceled; 2 (its shielded scope's) and 3 (the 50 ms before the
  // scope's cancel) fired.
  REQUIRE(timer_canceled.size() == 1);
  REQUIRE(timer_fired.size() == 2);
  CHECK(timer_canceled[0].timer_canceled().timer_id() == "1");
  std::set<std::string> fired{timer_fired[0].timer_fired().timer_id(),
                              timer_fired[1].timer_fired().timer_id()};
  CHECK(fired == std::set<std::string>{"2", "3"});
  CHECK(ids_of(c, "scopes", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED).empty());
  CHECK(ids_of(c, "scopes", pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED).size() == 1);
}
