// End-to-end: activity cancellation delivered through heartbeats and asynchronous completion by
// task token (CLI, HTTP, client library, a stale token, kill -9 of the node), with a real
// chronicle-node and real activity-worker processes (samples/activity_worker.cpp).
#include <doctest/doctest.h>

#include "activity_deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

TEST_CASE("activity: a heartbeating activity canceled by its workflow sees it and ActivityTaskCanceled is recorded") {
  activity_deployment d;
  auto c = d.connect();
  d.start(c, "hb-cancel", "CancelHeartbeating");
  // Running and heartbeating: the node has its details.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool beating = false;
  while (!beating && std::chrono::steady_clock::now() < deadline) {
    auto desc = c.describe("", "hb-cancel");
    beating = desc && desc->pending_activities_size() == 1
              && desc->pending_activities(0).last_heartbeat_time_ms() > 0;
    if (!beating) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(beating);
  auto sig = c.signal("", "hb-cancel", "", "cancel", sdk::to_payload(nullptr));
  REQUIRE_MESSAGE(sig, error_text(sig.error()));
  REQUIRE_MESSAGE(d.worker.wait_for_output("activity saw cancellation", 20s), d.worker.output());
  auto canceled = wait_event(c, "hb-cancel", pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  auto requested = events_of(c, "hb-cancel", pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED);
  REQUIRE(requested.size() == 1);
  CHECK(canceled.activity_task_canceled().latest_cancel_requested_event_id()
        == requested[0].event_id());
  CHECK(canceled.activity_task_canceled().identity() == "act-worker");
  CHECK(canceled.event_id() > requested[0].event_id());
  CHECK(events_of(c, "hb-cancel", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED).size() == 1);
  // Every 50 ms for over a second, yet throttled to one heartbeat per 1.6 s: the activity made
  // many more calls than the node could have answered, and it still heard of the cancel.
  CHECK(d.worker.output().find("activity heartbeats: ") != std::string::npos);
  REQUIRE(c.signal("", "hb-cancel", "", "finish", sdk::to_payload(nullptr)));
  CHECK(result_of(c, "hb-cancel") == "finished");
}

TEST_CASE("activity: completed asynchronously from the CLI - then its token is stale") {
  activity_deployment d;
  auto c = d.connect();
  d.start(c, "async-cli", "Async");
  auto token = d.token(1);
  // The worker's slot is free meanwhile and the attempt waits: no result yet. (Waited for: the
  // task may reach the worker before the node's write of it is durable, which describe reads.)
  d.wait_until(c, "async-cli", [](auto& x) { return x.pending_activities_size() == 1; },
               "the activity is pending");
  int code = -1;
  auto out = d.cli({"activity", "complete", "--task-token", token, "--result", R"({"done":true})"},
                   &code);
  CHECK_MESSAGE(code == 0, out);
  CHECK(result_of(c, "async-cli") == sdk::json{{"done", true}});
  auto completed = events_of(c, "async-cli", pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  REQUIRE(completed.size() == 1);
  CHECK(completed[0].activity_task_completed().identity() == "chronicle-cli");
  // The run is closed: the same token again is refused, and says why.
  out = d.cli({"activity", "complete", "--task-token", token, "--result", "1"}, &code);
  CHECK(code == 1);
  CHECK_MESSAGE(out.find("is closed") != std::string::npos, out);
  // Garbage is a usage-level refusal, not a crash.
  out = d.cli({"activity", "fail", "--task-token", "not-a-token!", "--reason", "x"}, &code);
  CHECK(code == 1);
  CHECK_MESSAGE(out.find("not base64url") != std::string::npos, out);
}

TEST_CASE("activity: a timed-out attempt's token is stale - the retry's token completes it") {
  activity_deployment d;
  auto c = d.connect();
  d.start(c, "async-stale", "Async", {{"start_to_close_ms", 1000}, {"attempts", 2}});
  auto first = d.token(1);
  auto second = d.token(2);  // attempt 1 timed out after 1 s (start-to-close) and was retried
  CHECK(first != second);
  auto stale = c.complete_activity(first, sdk::to_payload("late"));
  REQUIRE_FALSE(stale);
  CHECK(chronicle_code(stale.error()) == static_cast<uint8_t>(errc::stale_task));
  CHECK_MESSAGE(error_text(stale.error()).find("attempt 1 is not the current one")
                  != std::string::npos,
                error_text(stale.error()));
  // A heartbeat by token keeps the attempt alive and says it is not asked to cancel.
  auto beat = c.heartbeat_activity(second, sdk::to_payload(sdk::json{{"progress", 50}}));
  REQUIRE_MESSAGE(beat, error_text(beat.error()));
  CHECK_FALSE(beat->cancel_requested());
  auto done = c.complete_activity(second, sdk::to_payload("on time"), "billing-system");
  REQUIRE_MESSAGE(done, error_text(done.error()));
  CHECK(result_of(c, "async-stale") == "on time");
}

TEST_CASE("activity: completed and failed asynchronously over HTTP") {
  activity_deployment d;
  auto c = d.connect();
  const std::string api = "/api/v1/namespaces/default/activities/";
  d.start(c, "async-http", "Async");
  auto token = d.token(1);
  // A token of another namespace, a missing token and a GET are refused with JSON errors.
  CHECK(http_post(d.http, "/api/v1/namespaces/other/activities/complete",
                  sdk::json{{"task_token", token}}.dump()).status == 400);
  CHECK(http_post(d.http, api + "complete", "{}").status == 400);
  CHECK(http_get(d.http, api + "complete").status == 405);
  auto beat = http_post(d.http, api + "heartbeat",
                        sdk::json{{"task_token", token}, {"details", {{"n", 1}}}}.dump());
  CHECK_MESSAGE(beat.status == 200, beat.body);
  CHECK(beat.body_json().value("cancel_requested", true) == false);
  auto done = http_post(d.http, api + "complete",
                        sdk::json{{"task_token", token}, {"result", {{"via", "http"}}}}.dump());
  CHECK_MESSAGE(done.status == 200, done.body);
  CHECK(result_of(c, "async-http") == sdk::json{{"via", "http"}});
  auto again = http_post(d.http, api + "complete", sdk::json{{"task_token", token}}.dump());
  CHECK_MESSAGE(again.status == 409, again.body);
  CHECK(again.body_json().value("code", "") == "stale_task");

  // A non-retryable failure fails the workflow with it.
  d.start(c, "async-http-fail", "Async");
  auto token2 = d.token(1, 2);
  auto failed = http_post(d.http, api + "fail",
                          sdk::json{{"task_token", token2},
                                    {"failure", {{"message", "card declined"},
                                                 {"type", "PaymentDeclined"},
                                                 {"non_retryable", true}}}}.dump());
  CHECK_MESSAGE(failed.status == 200, failed.body);
  auto r = c.result("", "async-http-fail", "", 30s);
  REQUIRE(r);
  CHECK(r->status() == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK_MESSAGE(r->failure().message().find("card declined") != std::string::npos,
                r->DebugString());
}

TEST_CASE("activity: asynchronous completion across kill -9 of the node") {
  activity_deployment d;
  std::string token;
  {
    auto c = d.connect();
    d.start(c, "async-crash", "Async");
    token = d.token(1);
    // The task reaches the worker write-behind (docs/semantics.md "Commit protocol"): kill only
    // once ActivityTaskScheduled is on disk (describe reads it), else the kill can take the
    // schedule back and the recovered run has no pending activity until the worker replays
    // ("activity is not pending", seen once in CI). What must survive is a durable schedule.
    d.wait_until(c, "async-crash", [](auto& x) { return x.pending_activities_size() == 1; },
                 "the activity's schedule is durable");
  }
  d.node.kill9();
  d.start_node();
  // The node recovers its shards; the worker reconnects (and may be handed the attempt again).
  auto c = d.connect();
  caf::expected<pb::RespondActivityByTokenResponse> done = caf::error{};
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    done = c.complete_activity(token, sdk::to_payload("after the crash"));
    if (done || chronicle_code(done.error()) != static_cast<uint8_t>(errc::unavailable)) break;
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE_MESSAGE(done, error_text(done.error()));
  CHECK(result_of(c, "async-crash") == "after the crash");
  CHECK(events_of(c, "async-crash", pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED).size() == 1);
}
