// Replay of signals and cancellation: wait_signal/poll_signal in history order, cancel requests
// turning into canceled_error, cancel commands and CancelWorkflowExecution, and determinism.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"
#include "task_results.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using chronicle::sdk::testing::completed_result;
using chronicle::sdk::testing::run_completed;
using namespace std::chrono_literals;

namespace {

task<json> wait_once(workflow_context& ctx, json) {
  json approval = co_await ctx.wait_signal("approve");
  co_return approval;
}

// Collects `n` signals "x", waiting for each.
task<json> collect(workflow_context& ctx, json n) {
  json seen = json::array();
  for (int i = 0; i < n.get<int>(); ++i) {
    json value = co_await ctx.wait_signal("x");
    seen.push_back(value);
  }
  co_return seen;
}

// Waits for "b" before "a": signals of another name wait in their queue.
task<json> b_then_a(workflow_context& ctx, json) {
  json b = co_await ctx.wait_signal("b");
  json a = co_await ctx.wait_signal("a");
  co_return json::array({b, a});
}

// Waits for "go", then takes every "ping" received so far without waiting.
task<json> pings(workflow_context& ctx, json) {
  co_await ctx.wait_signal("go");
  json seen = json::array();
  while (auto ping = ctx.poll_signal("ping")) seen.push_back(*ping);
  co_return seen;
}

// Waits on one activity, or on a timer, or on a signal, as the input says; lets cancellation escape.
task<json> waits_on(workflow_context& ctx, json what) {
  if (what == "activity") co_return co_await ctx.activity("Slow", nullptr);
  if (what == "timer") {
    co_await ctx.sleep(10s);
    co_return "slept";
  }
  co_return co_await ctx.wait_signal("never");
}

// Catches the cancellation and cleans up with an activity under a shield, then completes.
task<json> cleans_up(workflow_context& ctx, json) {
  std::string message;
  try {
    co_await ctx.activity("Work", nullptr);
    co_return "worked";
  } catch (const canceled_error& e) {
    message = e.what();
  }
  bool requested = ctx.cancel_requested();
  auto shield = ctx.non_cancellable();
  json undone = co_await ctx.activity("Cleanup", nullptr);
  co_return json{{"message", message}, {"requested", requested}, {"undone", undone}};
}

// After the cancellation, an unshielded timer is canceled at once.
task<json> ignores_cancel(workflow_context& ctx, json) {
  bool caught = false;
  try {
    co_await ctx.wait_signal("never");
  } catch (const canceled_error&) {
    caught = true;
  }
  if (caught) co_await ctx.sleep(1s);  // throws canceled_error: no timer is recorded
  co_return "unreachable";
}

// Waits for "go", then starts an activity: a cancel in the same task drops its command.
task<json> go_then_work(workflow_context& ctx, json) {
  co_await ctx.wait_signal("go");
  co_return co_await ctx.activity("Work", nullptr);
}

task<json> throws_canceled(workflow_context&, json) {
  throw canceled_error("gave up");
  co_return nullptr;
}

registry make_registry() {
  registry reg;
  reg.register_workflow("WaitOnce", wait_once);
  reg.register_workflow("Collect", collect);
  reg.register_workflow("BThenA", b_then_a);
  reg.register_workflow("Pings", pings);
  reg.register_workflow("WaitsOn", waits_on);
  reg.register_workflow("CleansUp", cleans_up);
  reg.register_workflow("IgnoresCancel", ignores_cancel);
  reg.register_workflow("GoThenWork", go_then_work);
  reg.register_workflow("ThrowsCanceled", throws_canceled);
  return reg;
}

// Records the task's commands as the server would, then starts the next task.
void next_task(history_builder& h, const pb::RespondWorkflowTaskCompleted& r) {
  h.complete_workflow_task(r);
  h.new_workflow_task();
}

}  // namespace

TEST_CASE("signals: a signal recorded before the code waits is kept until it waits") {
  registry reg = make_registry();
  history_builder h("WaitOnce");
  h.signaled("approve", {{"by", "ada"}});  // signal-with-start: before the first task
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == json{{"by", "ada"}});
}

TEST_CASE("signals: a signal arriving while the code waits resumes it") {
  registry reg = make_registry();
  history_builder h("WaitOnce");
  h.new_workflow_task();
  auto first = run_completed(reg, h);
  CHECK(first.commands_size() == 0);
  h.workflow_task_completed();
  h.signaled("approve", "yes");
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == "yes");
}

TEST_CASE("signals: several of a name are delivered in history order - within and across tasks") {
  registry reg = make_registry();
  history_builder h("Collect", 4);
  h.signaled("x", 1);
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
  h.workflow_task_completed();
  h.signaled("x", 2);
  h.signaled("x", 3);
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
  h.workflow_task_completed();
  h.signaled("x", 4);
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == json::array({1, 2, 3, 4}));
}

TEST_CASE("signals: each name has its own queue") {
  registry reg = make_registry();
  history_builder h("BThenA");
  h.signaled("a", "first a");
  h.signaled("b", "first b");
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == json::array({"first b", "first a"}));
}

TEST_CASE("signals: poll_signal takes the received signals without waiting") {
  registry reg = make_registry();
  history_builder h("Pings");
  h.signaled("ping", 1);
  h.new_workflow_task();
  h.workflow_task_completed();
  h.signaled("ping", 2);
  h.signaled("go");
  h.signaled("ping", 3);  // after "go": not yet received when the code polls
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == json::array({1, 2}));
}

TEST_CASE("signals: replay is deterministic and matches the recorded commands") {
  registry reg = make_registry();
  history_builder h("GoThenWork");
  h.new_workflow_task();
  next_task(h, run_completed(reg, h));
  h.workflow_task_completed();
  h.signaled("go");
  h.new_workflow_task();
  auto a = run_completed(reg, h);
  auto b = run_completed(reg, h);
  CHECK(a.SerializeAsString() == b.SerializeAsString());
  REQUIRE(a.commands_size() == 1);
  CHECK(a.commands(0).schedule_activity_task().activity_type().name() == "Work");
  h.complete_workflow_task(a);
  h.activity_completed(h.activity_scheduled_id("1"), "done");
  h.new_workflow_task();
  auto last = run_completed(reg, h);
  CHECK(completed_result(last) == "done");
  next_task(h, last);  // replaying the whole history again finds nothing new
  CHECK(run_completed(reg, h).commands_size() == 0);
}

TEST_CASE("cancel: a wait_signal in progress throws - the escaping error cancels the workflow") {
  registry reg = make_registry();
  history_builder h("WaitsOn", "signal");
  h.new_workflow_task();
  next_task(h, run_completed(reg, h));
  h.workflow_task_completed();
  h.cancel_requested("user asked");
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).has_cancel_workflow_execution());
  next_task(h, r);
  CHECK(run_completed(reg, h).commands_size() == 0);  // replays against WorkflowExecutionCanceled
}

TEST_CASE("cancel: a pending activity gets RequestCancelActivityTask - then the workflow is canceled") {
  registry reg = make_registry();
  history_builder h("WaitsOn", "activity");
  h.new_workflow_task();
  auto first = run_completed(reg, h);
  h.complete_workflow_task(first);
  int64_t scheduled = h.activity_scheduled_id("1");
  h.cancel_requested();
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 2);
  CHECK(r.commands(0).request_cancel_activity_task().scheduled_event_id() == scheduled);
  CHECK(r.commands(1).has_cancel_workflow_execution());
  next_task(h, r);  // ActivityTaskCancelRequested, ActivityTaskCanceled, WorkflowExecutionCanceled
  CHECK(run_completed(reg, h).commands_size() == 0);
}

TEST_CASE("cancel: a pending timer gets CancelTimer") {
  registry reg = make_registry();
  history_builder h("WaitsOn", "timer");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  h.cancel_requested();
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 2);
  CHECK(r.commands(0).cancel_timer().timer_id() == "1");
  CHECK(r.commands(1).has_cancel_workflow_execution());
  next_task(h, r);
  CHECK(run_completed(reg, h).commands_size() == 0);
}

TEST_CASE("cancel: no cancel command for an activity whose result the task already carries") {
  registry reg = make_registry();
  history_builder h("WaitsOn", "activity");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  h.cancel_requested();
  h.activity_completed(h.activity_scheduled_id("1"), "late");  // same task, after the request
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).has_cancel_workflow_execution());
}

TEST_CASE("cancel: the code catches it and cleans up under a shield - then completes") {
  registry reg = make_registry();
  history_builder h("CleansUp");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  int64_t work = h.activity_scheduled_id("1");
  h.cancel_requested("shutting down");
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 2);
  CHECK(r.commands(0).request_cancel_activity_task().scheduled_event_id() == work);
  CHECK(r.commands(1).schedule_activity_task().activity_type().name() == "Cleanup");
  CHECK(r.commands(1).schedule_activity_task().activity_id() == "2");
  h.complete_workflow_task(r);
  h.activity_completed(h.activity_scheduled_id("2"), "undone");
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) ==
        json{{"message", "workflow execution canceled: shutting down"},
             {"requested", true},
             {"undone", "undone"}});
}

TEST_CASE("cancel: the result of an activity canceled while its result was buffered is ignored") {
  registry reg = make_registry();
  history_builder h("CleansUp");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  int64_t work = h.activity_scheduled_id("1");
  h.cancel_requested();
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  // What the server records when the result arrived during that task: the request, then the result.
  h.workflow_task_completed();
  h.activity_cancel_requested(work);
  h.activity_scheduled("2", "Cleanup");
  h.activity_started(work);
  h.activity_completed(work, "worked after all");
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
  CHECK(r.commands_size() == 2);
}

TEST_CASE("cancel: operations created after the request are canceled at once - without commands") {
  registry reg = make_registry();
  history_builder h("IgnoresCancel");
  h.cancel_requested();  // before the first task
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).has_cancel_workflow_execution());
}

TEST_CASE("cancel: the command of an activity started in the same task is dropped") {
  registry reg = make_registry();
  history_builder h("GoThenWork");
  h.new_workflow_task();
  next_task(h, run_completed(reg, h));
  h.workflow_task_completed();
  h.signaled("go");
  h.cancel_requested();
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).has_cancel_workflow_execution());
}

TEST_CASE("cancel: canceled_error thrown without a request fails the workflow") {
  registry reg = make_registry();
  history_builder h("ThrowsCanceled");
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 1);
  REQUIRE(r.commands(0).has_fail_workflow_execution());
  CHECK(r.commands(0).fail_workflow_execution().failure().type() == "CanceledError");
  CHECK(r.commands(0).fail_workflow_execution().failure().message() == "gave up");
}

TEST_CASE("cancel: history recording a cancel the code does not produce is non-deterministic") {
  registry reg = make_registry();
  history_builder h("WaitsOn", "timer");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  h.new_workflow_task();
  h.workflow_task_completed();
  h.timer_canceled("1");  // no cancel was requested
  h.new_workflow_task();
  auto result = run_workflow_task(reg, h.workflow_task(), "worker-1");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  auto& failed = std::get<pb::RespondWorkflowTaskFailed>(result);
  CHECK(failed.failure().type() == "NonDeterminismError");
  CHECK(failed.failure().message().find("TimerCanceled(timer_id=1)") != std::string::npos);
}

TEST_CASE("signals: after a close rejected as UnhandledCommand the next task sees the signal") {
  registry reg = make_registry();
  history_builder h("Pings");
  h.signaled("go");
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  CHECK(completed_result(r) == json::array());
  // A ping arrived during the task: the server rejected the completion, then wrote the ping.
  h.workflow_task_failed("unhandled command", pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  h.signaled("ping", 7);
  h.new_workflow_task();
  CHECK(h.workflow_task().token().attempt() == 1);
  auto again = run_completed(reg, h);
  REQUIRE(again.commands_size() == 1);
  // The rejected task never completed: the code runs from the start on the next one, with the
  // ping already received when it polls.
  CHECK(completed_result(again) == json::array({7}));
}
