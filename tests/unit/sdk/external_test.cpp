// Replay of messages to other workflows (signal_external, cancel_external) and of cancellation
// scopes (cancel a scope, shield a block, a parent's cancel reaching its child awaits).
#include <doctest/doctest.h>

#include <chrono>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

task<json> notifier(workflow_context& ctx, json) {
  json ping = {{"n", 1}};
  co_await ctx.signal_external("target-1", "ping", ping);
  try {
    co_await ctx.cancel_external("missing");
  } catch (const external_workflow_failure& e) {
    co_return json{{"cause", e.cause()}, {"what", e.what()}, {"wid", e.workflow_id()}};
  }
  co_return "no failure";
}

// Starts a timer and an activity inside a scope, cancels the scope when a signal arrives.
task<json> scoped(workflow_context& ctx, json) {
  std::optional<timer_awaitable> timer;
  std::optional<activity_awaitable> act;
  auto scope = ctx.cancellation_scope([&] {
    timer.emplace(ctx.sleep(1h));
    act.emplace(ctx.activity("Slow", nullptr));
  });
  auto stop = ctx.wait_signal("stop");
  co_await stop;
  scope.cancel("stopped by signal");
  json out = json::array();
  try {
    co_await *timer;
  } catch (const canceled_error& e) {
    out.push_back(e.what());
  }
  try {
    co_await *act;
  } catch (const canceled_error& e) {
    out.push_back(e.what());
  }
  // Created in the canceled scope afterwards: canceled at once, no command.
  auto late = scope.run([&] { return ctx.sleep(1s); });
  try {
    co_await late;
  } catch (const canceled_error&) {
    out.push_back("late canceled");
  }
  co_return out;
}

// The workflow's cancel request cancels the wait; the cleanup in a shielded scope still runs.
task<json> shielded_cleanup(workflow_context& ctx, json) {
  bool canceled = false;
  try {
    co_await ctx.sleep(1h);
  } catch (const canceled_error&) {
    canceled = true;
  }
  std::optional<activity_awaitable> cleanup;
  ctx.shielded_scope([&] { cleanup.emplace(ctx.activity("Cleanup", nullptr)); });
  json r = co_await *cleanup;
  co_return json{{"canceled", canceled}, {"cleanup", r}};
}

// A parent's cancel request reaches its child await: the child is asked to cancel.
task<json> parent_of_one(workflow_context& ctx, json) {
  try {
    co_return co_await ctx.child_workflow("Kid", nullptr);
  } catch (const child_workflow_failure& e) {
    co_return e.how();
  }
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Notifier", notifier);
  reg.register_workflow("Scoped", scoped);
  reg.register_workflow("ShieldedCleanup", shielded_cleanup);
  reg.register_workflow("ParentOfOne", parent_of_one);
  return reg;
}

pb::RespondWorkflowTaskCompleted completed(const registry& reg, const history_builder& h) {
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

}  // namespace

TEST_CASE("sdk external: signal_external records its command - Signaled resumes the await - a failed cancel throws") {
  auto reg = make_registry();
  history_builder h("Notifier");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 1);
  REQUIRE(first.commands(0).has_signal_external_workflow_execution());
  auto& sig = first.commands(0).signal_external_workflow_execution();
  CHECK(sig.workflow_id() == "target-1");
  CHECK(sig.signal_name() == "ping");
  CHECK(from_payload(sig.input()) == json{{"n", 1}});
  auto ids = h.complete_workflow_task(first);

  // Initiated alone (not delivered yet) wakes nobody.
  h.new_workflow_task();
  auto second = completed(reg, h);
  CHECK(second.commands_size() == 0);
  h.complete_workflow_task(second);

  h.external_delivered(ids[0], "target-run");
  h.new_workflow_task();
  auto third = completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  REQUIRE(third.commands(0).has_request_cancel_external_workflow_execution());
  CHECK(third.commands(0).request_cancel_external_workflow_execution().workflow_id() == "missing");
  auto cancel_ids = h.complete_workflow_task(third);

  h.external_failed(cancel_ids[0], "ExternalWorkflowExecutionNotFound", "workflow not found");
  h.new_workflow_task();
  auto fourth = completed(reg, h);
  REQUIRE(fourth.commands_size() == 1);
  REQUIRE(fourth.commands(0).has_complete_workflow_execution());
  auto out = from_payload(fourth.commands(0).complete_workflow_execution().result());
  CHECK(out["cause"] == "ExternalWorkflowExecutionNotFound");
  CHECK(out["wid"] == "missing");
  CHECK(out["what"] == "cancel request to workflow 'missing' failed: "
                       "ExternalWorkflowExecutionNotFound (workflow not found)");
  // The whole history replays to the same answer (no sticky cache): deterministic.
  h.complete_workflow_task(fourth);
  CHECK(h.events().back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_CASE("sdk external: an uncaught failed signal fails the workflow with the cause as its type") {
  registry reg;
  reg.register_workflow("Uncaught", [](workflow_context& ctx, json) -> task<json> {
    co_await ctx.signal_external("nobody", "ping", nullptr);
    co_return nullptr;
  });
  history_builder h("Uncaught");
  h.new_workflow_task();
  auto ids = h.complete_workflow_task(completed(reg, h));
  h.external_failed(ids[0]);
  h.new_workflow_task();
  auto r = completed(reg, h);
  REQUIRE(r.commands(0).has_fail_workflow_execution());
  auto& f = r.commands(0).fail_workflow_execution().failure();
  CHECK(f.type() == "ExternalWorkflowExecutionNotFound");
  CHECK(f.message().find("signal to workflow 'nobody' failed") != std::string::npos);
}

TEST_CASE("sdk external: a history recording another signal target is non-determinism") {
  auto reg = make_registry();
  history_builder h("Notifier");
  h.new_workflow_task();
  h.workflow_task_completed();
  pb::SignalExternalWorkflowExecutionCommandAttributes other;
  other.set_workflow_id("target-2");
  other.set_signal_name("ping");
  h.signal_external_initiated(other);
  h.new_workflow_task();
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  auto& f = std::get<pb::RespondWorkflowTaskFailed>(result).failure();
  CHECK(f.type() == nondeterminism_type);
  CHECK(f.message().find("target-2") != std::string::npos);
}

TEST_CASE("sdk scope: cancel() sends CancelTimer and RequestCancelActivityTask - the awaits throw - replay matches") {
  auto reg = make_registry();
  history_builder h("Scoped");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 2);
  CHECK(first.commands(0).has_start_timer());
  CHECK(first.commands(1).has_schedule_activity_task());
  h.complete_workflow_task(first);
  h.signaled("stop");
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 3);
  CHECK(second.commands(0).has_cancel_timer());
  CHECK(second.commands(1).has_request_cancel_activity_task());
  REQUIRE(second.commands(2).has_complete_workflow_execution());
  auto out = from_payload(second.commands(2).complete_workflow_execution().result());
  CHECK(out == json{"stopped by signal", "stopped by signal", "late canceled"});
  // Replayed over the recorded commands: the same commands match, nothing is left over.
  h.complete_workflow_task(second);
  h.signaled("again");  // a later task, as after a cache eviction
  h.new_workflow_task();
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskCompleted>(result));
  CHECK(std::get<pb::RespondWorkflowTaskCompleted>(result).commands_size() == 0);
}

TEST_CASE("sdk scope: a shielded scope's activity is not canceled by the workflow's cancel request") {
  auto reg = make_registry();
  history_builder h("ShieldedCleanup");
  h.new_workflow_task();
  h.complete_workflow_task(completed(reg, h));
  h.cancel_requested("stop");
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 2);
  CHECK(second.commands(0).has_cancel_timer());
  REQUIRE(second.commands(1).has_schedule_activity_task());
  CHECK(second.commands(1).schedule_activity_task().activity_type().name() == "Cleanup");
  h.complete_workflow_task(second);
  auto scheduled = h.activity_scheduled_id("1");
  h.activity_started(scheduled);
  h.activity_completed(scheduled, "cleaned");
  h.new_workflow_task();
  auto third = completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  REQUIRE(third.commands(0).has_complete_workflow_execution());
  CHECK(from_payload(third.commands(0).complete_workflow_execution().result()) ==
        json{{"canceled", true}, {"cleanup", "cleaned"}});
}

TEST_CASE("sdk scope: a parent's cancel request asks its started child to cancel - the child's close resolves the await") {
  auto reg = make_registry();
  history_builder h("ParentOfOne");
  h.new_workflow_task();
  auto ids = h.complete_workflow_task(completed(reg, h));
  h.child_started(ids[0], "kid-run");
  h.cancel_requested("stop");
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  REQUIRE(second.commands(0).has_request_cancel_external_workflow_execution());
  auto& c = second.commands(0).request_cancel_external_workflow_execution();
  CHECK(c.workflow_id() == "wf-1-child-1");
  CHECK(c.run_id() == "kid-run");
  auto cancel_ids = h.complete_workflow_task(second);
  h.external_delivered(cancel_ids[0], "kid-run");
  h.child_closed(pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, ids[0], nullptr);
  h.new_workflow_task();
  auto third = completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  REQUIRE(third.commands(0).has_complete_workflow_execution());
  CHECK(from_payload(third.commands(0).complete_workflow_execution().result()) ==
        "ChildWorkflowExecutionCanceled");
}

TEST_CASE("sdk scope: a child canceled before it started is asked to cancel once it starts") {
  auto reg = make_registry();
  history_builder h("ParentOfOne");
  h.new_workflow_task();
  auto ids = h.complete_workflow_task(completed(reg, h));
  h.cancel_requested("stop");
  h.new_workflow_task();
  auto second = completed(reg, h);
  CHECK(second.commands_size() == 0);  // initiated, not started: the request waits
  h.complete_workflow_task(second);
  h.child_started(ids[0], "kid-run");
  h.new_workflow_task();
  auto third = completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  CHECK(third.commands(0).has_request_cancel_external_workflow_execution());
}

TEST_CASE("sdk scope: a child created after the cancel request is canceled at once without a command") {
  registry reg;
  reg.register_workflow("Late", [](workflow_context& ctx, json) -> task<json> {
    try {
      co_await ctx.sleep(1h);
    } catch (const canceled_error&) {
    }
    try {
      co_await ctx.child_workflow("Kid", nullptr);
    } catch (const canceled_error& e) {
      co_return e.what();
    }
    co_return "not canceled";
  });
  history_builder h("Late");
  h.new_workflow_task();
  h.complete_workflow_task(completed(reg, h));
  h.cancel_requested("go away");
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 2);
  CHECK(second.commands(0).has_cancel_timer());
  REQUIRE(second.commands(1).has_complete_workflow_execution());
  CHECK(from_payload(second.commands(1).complete_workflow_execution().result()) ==
        "workflow execution canceled: go away");
}
