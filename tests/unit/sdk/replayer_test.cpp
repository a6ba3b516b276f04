// run_workflow_task: replay of hand-made histories through workflow coroutines.
#include <doctest/doctest.h>

#include "task_results.hpp"
#include "tracked.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using chronicle::sdk::testing::run_completed;
using namespace std::chrono_literals;

namespace {

using chronicle::sdk::testing::tracked;

task<json> greeting(workflow_context& ctx, json input) {
  tracked t;
  // Built apart: GCC 12 rejects a braced list inside a co_await expression.
  json args = {{"name", input["name"]}};
  json greeting = co_await ctx.activity("ComposeGreeting", args);
  co_await ctx.sleep(5s);
  co_return json{{"greeting", greeting}};
}

// Fails unless the activity failure is caught, in which case it falls back.
task<json> careful(workflow_context& ctx, json input) {
  tracked t;
  if (!input.value("catch", false)) co_return co_await ctx.activity("Risky", nullptr);
  json reason;
  std::string type;
  try {
    co_return co_await ctx.activity("Risky", nullptr);
  } catch (const activity_failure& e) {  // no co_await inside a handler: remember and go on
    reason = {{"reason", e.what()}};
    type = e.failure().type();
  }
  json fallback = co_await ctx.activity("Fallback", reason);
  co_return json{{"fallback", fallback}, {"type", type}};
}

task<json> compose(workflow_context& ctx, std::string name) {
  tracked t;
  json first = co_await ctx.activity("First", name);
  json second = co_await ctx.activity("Second", first);
  co_return first.get<std::string>() + "+" + second.get<std::string>();
}

task<void> pause(workflow_context& ctx) {
  tracked t;
  co_await ctx.sleep(1s);
}

task<json> nested(workflow_context& ctx, json input) {
  tracked t;
  json composed = co_await compose(ctx, input.get<std::string>());
  co_await pause(ctx);
  co_return composed;
}

task<json> parallel(workflow_context& ctx, json) {
  tracked t;
  auto a = ctx.activity("A", 1);
  auto b = ctx.activity("B", 2);
  json rb = co_await b;
  json ra = co_await a;
  co_return json::array({ra, rb});
}

task<json> clock_probe(workflow_context& ctx, json) {
  json seen = json::array();
  seen.push_back({ctx.now_ms(), ctx.is_replaying()});
  co_await ctx.activity("Step", nullptr);
  seen.push_back({ctx.now_ms(), ctx.is_replaying()});
  co_return seen;
}

task<json> identity_probe(workflow_context& ctx, json) {
  co_return json{ctx.workflow_id(), ctx.run_id(), ctx.workflow_type()};
}

task<json> throws_logic(workflow_context& ctx, json) {
  tracked t;
  co_await ctx.sleep(1s);
  throw std::logic_error("bug in workflow");
}

task<json> throws_application(workflow_context&, json) {
  throw application_error("InvalidOrder", "order is empty", true);
  co_return nullptr;
}

task<json> zero_sleep(workflow_context& ctx, json) {
  co_await ctx.sleep(0ms);
  co_await ctx.sleep(2s);
  co_return "slept";
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Greeting", greeting);
  reg.register_workflow("Careful", careful);
  reg.register_workflow("Nested", nested);
  reg.register_workflow("Parallel", parallel);
  reg.register_workflow("ClockProbe", clock_probe);
  reg.register_workflow("IdentityProbe", identity_probe);
  reg.register_workflow("ThrowsLogic", throws_logic);
  reg.register_workflow("ThrowsApplication", throws_application);
  reg.register_workflow("ZeroSleep", zero_sleep);
  return reg;
}

const std::string identity = "worker-1";

pb::RespondWorkflowTaskFailed run_failed(const registry& reg, const pb::WorkflowTask& task) {
  auto result = run_workflow_task(reg, task, identity);
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  return std::get<pb::RespondWorkflowTaskFailed>(result);
}

pb::Failure app_failure(const std::string& type, const std::string& message) {
  pb::Failure failure;
  failure.set_type(type);
  failure.set_message(message);
  return failure;
}

// Answers the current task, records its commands as the server would, and completes the activity
// scheduled with `activity_id` with `result`; then starts a new workflow task.
void complete_activity(const registry& reg, history_builder& h, const std::string& activity_id,
                       const json& result) {
  int64_t scheduled = h.activity_scheduled_id(activity_id);
  REQUIRE(scheduled != 0);
  h.advance(100);
  h.activity_started(scheduled);
  h.advance(100);
  h.activity_completed(scheduled, result);
  h.new_workflow_task();
}

}  // namespace

TEST_CASE("replayer: Greeting workflow - task by task") {
  registry reg = make_registry();
  history_builder h("Greeting", {{"name", "World"}});
  h.new_workflow_task();

  // First task: the activity.
  auto first = run_completed(reg, h);
  CHECK(first.identity() == identity);
  CHECK(first.token().workflow_id() == "wf-1");
  CHECK(first.token().run_id() == "run-1");
  REQUIRE(first.commands_size() == 1);
  REQUIRE(first.commands(0).has_schedule_activity_task());
  const auto& schedule = first.commands(0).schedule_activity_task();
  CHECK(schedule.activity_id() == "1");
  CHECK(schedule.activity_type().name() == "ComposeGreeting");
  CHECK(schedule.task_queue().empty());
  CHECK(from_payload(schedule.input()) == json{{"name", "World"}});

  // Activity completed: the timer.
  h.complete_workflow_task(first);
  complete_activity(reg, h, "1", "Hello, World!");
  auto second = run_completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  REQUIRE(second.commands(0).has_start_timer());
  CHECK(second.commands(0).start_timer().timer_id() == "1");
  CHECK(second.commands(0).start_timer().start_to_fire_timeout_ms() == 5000);

  // Timer fired: the result.
  h.complete_workflow_task(second);
  h.advance(5000);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  auto third = run_completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  REQUIRE(third.commands(0).has_complete_workflow_execution());
  CHECK(from_payload(third.commands(0).complete_workflow_execution().result()) ==
        json{{"greeting", "Hello, World!"}});
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: a workflow task with nothing new yields no commands") {
  registry reg = make_registry();
  history_builder h("Greeting", {{"name", "World"}});
  h.new_workflow_task();
  auto first = run_completed(reg, h);
  h.complete_workflow_task(first);
  h.activity_started(h.activity_scheduled_id("1"));
  h.new_workflow_task();  // e.g. scheduled again after a worker was lost
  auto second = run_completed(reg, h);
  CHECK(second.commands_size() == 0);
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: an uncaught activity failure fails the workflow") {
  registry reg = make_registry();
  history_builder h("Careful", {{"catch", false}});
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  int64_t scheduled = h.activity_scheduled_id("1");
  h.activity_started(scheduled);
  h.activity_failed(scheduled, app_failure("PaymentDeclined", "card expired"));
  h.new_workflow_task();
  auto response = run_completed(reg, h);
  REQUIRE(response.commands_size() == 1);
  REQUIRE(response.commands(0).has_fail_workflow_execution());
  const auto& failure = response.commands(0).fail_workflow_execution().failure();
  CHECK(failure.type() == "PaymentDeclined");
  CHECK(failure.message() == "card expired");
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: a caught activity failure lets the workflow continue") {
  registry reg = make_registry();
  history_builder h("Careful", {{"catch", true}});
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  int64_t scheduled = h.activity_scheduled_id("1");
  h.activity_started(scheduled);
  h.activity_failed(scheduled, app_failure("PaymentDeclined", "card expired"));
  h.new_workflow_task();
  auto response = run_completed(reg, h);
  REQUIRE(response.commands_size() == 1);
  REQUIRE(response.commands(0).has_schedule_activity_task());
  CHECK(response.commands(0).schedule_activity_task().activity_id() == "2");
  CHECK(response.commands(0).schedule_activity_task().activity_type().name() == "Fallback");
  CHECK(from_payload(response.commands(0).schedule_activity_task().input()) ==
        json{{"reason", "card expired"}});

  h.complete_workflow_task(response);
  complete_activity(reg, h, "2", "cash");
  auto last = run_completed(reg, h);
  REQUIRE(last.commands_size() == 1);
  REQUIRE(last.commands(0).has_complete_workflow_execution());
  CHECK(from_payload(last.commands(0).complete_workflow_execution().result()) ==
        json{{"fallback", "cash"}, {"type", "PaymentDeclined"}});
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: nested task<T> helpers - activities in sequence are numbered 1 - 2") {
  registry reg = make_registry();
  history_builder h("Nested", "x");
  h.new_workflow_task();
  auto r1 = run_completed(reg, h);
  REQUIRE(r1.commands_size() == 1);
  CHECK(r1.commands(0).schedule_activity_task().activity_id() == "1");
  CHECK(r1.commands(0).schedule_activity_task().activity_type().name() == "First");
  CHECK(from_payload(r1.commands(0).schedule_activity_task().input()) == "x");

  h.complete_workflow_task(r1);
  complete_activity(reg, h, "1", "one");
  auto r2 = run_completed(reg, h);
  REQUIRE(r2.commands_size() == 1);
  CHECK(r2.commands(0).schedule_activity_task().activity_id() == "2");
  CHECK(r2.commands(0).schedule_activity_task().activity_type().name() == "Second");
  CHECK(from_payload(r2.commands(0).schedule_activity_task().input()) == "one");

  h.complete_workflow_task(r2);
  complete_activity(reg, h, "2", "two");
  auto r3 = run_completed(reg, h);
  REQUIRE(r3.commands_size() == 1);
  REQUIRE(r3.commands(0).has_start_timer());
  CHECK(r3.commands(0).start_timer().timer_id() == "1");

  h.complete_workflow_task(r3);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  auto r4 = run_completed(reg, h);
  REQUIRE(r4.commands_size() == 1);
  REQUIRE(r4.commands(0).has_complete_workflow_execution());
  CHECK(from_payload(r4.commands(0).complete_workflow_execution().result()) == "one+two");
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: activities started before being awaited run in parallel") {
  registry reg = make_registry();
  history_builder h("Parallel");
  h.new_workflow_task();
  auto r1 = run_completed(reg, h);
  REQUIRE(r1.commands_size() == 2);
  CHECK(r1.commands(0).schedule_activity_task().activity_id() == "1");
  CHECK(r1.commands(1).schedule_activity_task().activity_id() == "2");

  // A completes first, while the code waits on B.
  h.complete_workflow_task(r1);
  h.activity_completed(h.activity_scheduled_id("1"), "a");
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);

  h.complete_workflow_task({});
  h.activity_completed(h.activity_scheduled_id("2"), "b");
  h.new_workflow_task();
  auto r3 = run_completed(reg, h);
  REQUIRE(r3.commands_size() == 1);
  CHECK(from_payload(r3.commands(0).complete_workflow_execution().result()) ==
        json::array({"a", "b"}));
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: now_ms and is_replaying follow the workflow task being processed") {
  registry reg = make_registry();
  history_builder h("ClockProbe");
  int64_t first_started = h.new_workflow_task();
  int64_t first_time = h.now_ms();
  h.complete_workflow_task(run_completed(reg, h));
  h.advance(60000);
  h.activity_completed(h.activity_scheduled_id("1"), nullptr);
  h.advance(1000);
  h.new_workflow_task();
  int64_t second_time = h.now_ms();
  CHECK(first_started == 3);
  auto response = run_completed(reg, h);
  REQUIRE(response.commands_size() == 1);
  CHECK(from_payload(response.commands(0).complete_workflow_execution().result()) ==
        json::array({json::array({first_time, true}), json::array({second_time, false})}));
}

TEST_CASE("replayer: a failed workflow task attempt is skipped") {
  registry reg = make_registry();
  history_builder h("ClockProbe");
  h.new_workflow_task();
  h.advance(10000);
  h.workflow_task_failed("worker crashed");
  h.advance(10000);
  h.workflow_task_timed_out();
  h.advance(10000);
  h.new_workflow_task();
  auto r1 = run_completed(reg, h);
  REQUIRE(r1.commands_size() == 1);
  CHECK(r1.commands(0).schedule_activity_task().activity_id() == "1");
  h.complete_workflow_task(r1);
  h.activity_completed(h.activity_scheduled_id("1"), nullptr);
  h.new_workflow_task();
  auto r2 = run_completed(reg, h);
  REQUIRE(r2.commands_size() == 1);
  auto seen = from_payload(r2.commands(0).complete_workflow_execution().result());
  CHECK(seen[0][0] == 1'030'000);  // the attempt that completed, not the failed one
}

TEST_CASE("replayer: the context exposes the execution's identity") {
  registry reg = make_registry();
  history_builder h("IdentityProbe", nullptr, "order-7", "run-abc");
  h.new_workflow_task();
  auto response = run_completed(reg, h);
  REQUIRE(response.commands_size() == 1);
  CHECK(from_payload(response.commands(0).complete_workflow_execution().result()) ==
        json::array({"order-7", "run-abc", "IdentityProbe"}));
}

TEST_CASE("replayer: a zero sleep records no timer") {
  registry reg = make_registry();
  history_builder h("ZeroSleep");
  h.new_workflow_task();
  auto response = run_completed(reg, h);
  REQUIRE(response.commands_size() == 1);
  CHECK(response.commands(0).start_timer().timer_id() == "1");
  CHECK(response.commands(0).start_timer().start_to_fire_timeout_ms() == 2000);
}

TEST_CASE("replayer: non-determinism names the event and both sides") {
  registry reg = make_registry();

  SUBCASE("history has a timer where the code schedules an activity") {
    history_builder h("Greeting", {{"name", "World"}});
    h.new_workflow_task();
    h.workflow_task_completed();
    h.timer_started("1", 5000);  // event 5
    h.new_workflow_task();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().type() == "NonDeterminismError");
    CHECK(failed.failure().message() ==
          "non-deterministic workflow: history event 5 is TimerStarted(timer_id=1) but workflow "
          "code produced ScheduleActivityTask(activity_id=1, type=ComposeGreeting)");
    CHECK(failed.identity() == identity);
    CHECK(failed.token().workflow_id() == "wf-1");
  }
  SUBCASE("history has another activity type") {
    history_builder h("Greeting", {{"name", "World"}});
    h.new_workflow_task();
    h.workflow_task_completed();
    h.activity_scheduled("1", "Farewell");
    h.new_workflow_task();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().type() == "NonDeterminismError");
    CHECK(failed.failure().message() ==
          "non-deterministic workflow: history event 5 is ActivityTaskScheduled(activity_id=1, "
          "type=Farewell) but workflow code produced ScheduleActivityTask(activity_id=1, "
          "type=ComposeGreeting)");
  }
  SUBCASE("history has a command the code no longer produces") {
    history_builder h("Greeting", {{"name", "World"}});
    h.new_workflow_task();
    h.workflow_task_completed();
    h.activity_scheduled("1", "ComposeGreeting");
    h.timer_started("1", 1000);  // event 6
    h.new_workflow_task();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().message() ==
          "non-deterministic workflow: history event 6 is TimerStarted(timer_id=1) but workflow "
          "code produced no further command");
  }
  SUBCASE("the code produces a command a completed task did not record") {
    history_builder h("Greeting", {{"name", "World"}});
    h.new_workflow_task();
    h.workflow_task_completed();  // event 4, no commands
    h.new_workflow_task();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().type() == "NonDeterminismError");
    CHECK(failed.failure().message() ==
          "non-deterministic workflow: workflow code produced ScheduleActivityTask(activity_id=1, "
          "type=ComposeGreeting) but history records no such event after the workflow task "
          "completed at event 4");
  }
  SUBCASE("abort while the coroutine waits deep in nested tasks") {
    history_builder h("Nested", "x");
    h.new_workflow_task();
    h.complete_workflow_task(run_completed(reg, h));
    complete_activity(reg, h, "1", "one");
    h.workflow_task_completed();
    h.timer_started("1", 1000);  // the code schedules activity "Second" instead
    h.new_workflow_task();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().type() == "NonDeterminismError");
    CHECK(failed.failure().message().find("TimerStarted(timer_id=1)") != std::string::npos);
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: unknown workflow type fails the task") {
  registry reg = make_registry();
  history_builder h("NoSuchWorkflow");
  h.new_workflow_task();
  auto failed = run_failed(reg, h.workflow_task());
  CHECK(failed.failure().type() == "UnknownWorkflowType");
  CHECK(failed.failure().message().find("'NoSuchWorkflow'") != std::string::npos);
  CHECK(failed.failure().source() == "worker");
}

TEST_CASE("replayer: invalid histories fail the task") {
  registry reg = make_registry();
  history_builder h("Greeting", {{"name", "World"}});
  h.new_workflow_task();

  SUBCASE("empty history") {
    auto task = h.workflow_task();
    task.clear_history();
    task.set_started_event_id(0);
    CHECK(run_failed(reg, task).failure().type() == "InvalidHistory");
  }
  SUBCASE("first event is not WorkflowExecutionStarted") {
    auto task = h.workflow_task();
    task.mutable_history()->DeleteSubrange(0, 1);
    CHECK(run_failed(reg, task).failure().type() == "InvalidHistory");
  }
  SUBCASE("last event is not WorkflowTaskStarted") {
    h.workflow_task_completed();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().type() == "InvalidHistory");
    CHECK(failed.failure().message().find("not WorkflowTaskStarted") != std::string::npos);
  }
  SUBCASE("started_event_id does not match the last event") {
    auto task = h.workflow_task();
    task.set_started_event_id(2);
    CHECK(run_failed(reg, task).failure().type() == "InvalidHistory");
  }
  SUBCASE("a completion refers to an unknown activity") {
    auto first = run_completed(reg, h);
    h.complete_workflow_task(first);
    h.activity_completed(99, "x");
    h.new_workflow_task();
    CHECK(run_failed(reg, h.workflow_task()).failure().type() == "InvalidHistory");
  }
  SUBCASE("the workflow input is not valid JSON") {
    auto task = h.workflow_task();
    task.mutable_history(0)->mutable_workflow_execution_started()->mutable_input()->set_data("{");
    auto failed = run_failed(reg, task);
    CHECK(failed.failure().type() == "PayloadError");
    CHECK(failed.failure().message().find("invalid workflow input") != std::string::npos);
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: exceptions escaping workflow code") {
  registry reg = make_registry();

  SUBCASE("a non-application exception fails the workflow task") {
    history_builder h("ThrowsLogic");
    h.new_workflow_task();
    h.complete_workflow_task(run_completed(reg, h));
    h.timer_fired(h.timer_started_id("1"));
    h.new_workflow_task();
    auto failed = run_failed(reg, h.workflow_task());
    CHECK(failed.failure().type() == "WorkflowTaskError");
    CHECK(failed.failure().message() == "bug in workflow");
  }
  SUBCASE("an application_error fails the workflow") {
    history_builder h("ThrowsApplication");
    h.new_workflow_task();
    auto response = run_completed(reg, h);
    REQUIRE(response.commands_size() == 1);
    REQUIRE(response.commands(0).has_fail_workflow_execution());
    const auto& failure = response.commands(0).fail_workflow_execution().failure();
    CHECK(failure.type() == "InvalidOrder");
    CHECK(failure.message() == "order is empty");
    CHECK(failure.non_retryable());

    // Replaying past the recorded failure matches it.
    h.complete_workflow_task(response);
    h.new_workflow_task();
    CHECK(run_completed(reg, h).commands_size() == 0);
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("replayer: a completed workflow replays against its WorkflowExecutionCompleted") {
  registry reg = make_registry();
  history_builder h("IdentityProbe");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
}
