// Local activities: run inside the workflow task, recorded as LocalActivity markers, replayed
// from them; retries here and on a fallback timer; cancellation; the retry rule itself.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/replay_history.hpp"
#include "worker/sdk/replayer.hpp"
#include "worker/sdk/testing/environment.hpp"
#include "worker/sdk/workflow_cache.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

int calls = 0;
int failures_before_success = 0;
int last_attempt = 0;

task<json> add_then_sleep(workflow_context& ctx, json input) {
  json r = co_await ctx.local_activity("Add", input);
  co_await ctx.sleep(1s);
  co_return r;
}

task<json> catches_failure(workflow_context& ctx, json) {
  try {
    co_await ctx.local_activity("Broken", nullptr);
  } catch (const activity_failure& e) {
    co_return json{{"type", e.type()}, {"message", e.what()}};
  }
  co_return "no failure";
}

local_activity_options quick_retries() {
  local_activity_options options;
  options.retry.initial_interval = 10ms;
  options.retry.backoff_coefficient = 1.0;
  return options;
}

task<json> flaky_flow(workflow_context& ctx, json) {
  co_return co_await ctx.local_activity("Flaky", nullptr, quick_retries());
}

local_activity_options long_backoff() {
  local_activity_options options;
  options.retry.initial_interval = 2min;  // over the 1 min local retry threshold
  return options;
}

task<json> long_backoff_flow(workflow_context& ctx, json) {
  co_return co_await ctx.local_activity("Flaky", nullptr, long_backoff());
}

task<json> canceled_flow(workflow_context& ctx, json) {
  try {
    co_await ctx.local_activity("Flaky", nullptr, long_backoff());
  } catch (const canceled_error&) {
    co_return "canceled";
  }
  co_return "not canceled";
}

task<json> scope_flow(workflow_context& ctx, json) {
  std::optional<activity_awaitable> la;
  auto scope = ctx.cancellation_scope([&] { la.emplace(ctx.local_activity("Add", 1)); });
  scope.cancel("not needed");
  try {
    co_await *la;
  } catch (const canceled_error& e) {
    co_return std::string("canceled: ") + e.what();
  }
  co_return "not canceled";
}

task<json> other_type(workflow_context& ctx, json input) {
  json r = co_await ctx.local_activity("Other", input);
  co_await ctx.sleep(1s);
  co_return r;
}

registry make_registry() {
  registry reg;
  reg.register_workflow("AddThenSleep", add_then_sleep);
  reg.register_workflow("CatchesFailure", catches_failure);
  reg.register_workflow("FlakyFlow", flaky_flow);
  reg.register_workflow("LongBackoff", long_backoff_flow);
  reg.register_workflow("Canceled", canceled_flow);
  reg.register_workflow("Scope", scope_flow);
  reg.register_workflow("OtherType", other_type);
  reg.register_activity("Add", [](const activity_info&, const json& in) {
    ++calls;
    return json(in.get<int>() + 1);
  });
  reg.register_activity("Other", [](const activity_info&, const json& in) { return in; });
  reg.register_activity("Broken", [](const activity_info&, const json&) -> json {
    ++calls;
    throw application_error("Broken", "it broke", true);
  });
  reg.register_activity("Flaky", [](const activity_info& info, const json&) -> json {
    ++calls;
    last_attempt = info.attempt;
    if (calls <= failures_before_success) throw application_error("Flaky", "not yet");
    return "ok";
  });
  return reg;
}

// A cache that keeps nothing between tasks: every task replays its whole history.
pb::RespondWorkflowTaskCompleted answer(const registry& reg, const history_builder& h) {
  workflow_cache cache(0);
  auto result = run_workflow_task_inline(cache, reg, h.workflow_task(), "w", 10'000);
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  CHECK(cache.size() == 0);
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

json marker_detail(const pb::Command& c, const std::string& key) {
  return from_payload(c.record_marker().details().at(key));
}

void reset(int fail_first = 0) {
  calls = 0;
  last_attempt = 0;
  failures_before_success = fail_first;
}

// A test's start: the counters reset (`fail_first`), the registry, and the history of `type`
// with its first workflow task answered (`first`, nothing cached).
struct first_task {
  registry reg = make_registry();
  history_builder h;
  pb::RespondWorkflowTaskCompleted first;

  explicit first_task(const std::string& type, const json& input = nullptr, int fail_first = 0)
      : h(type, input) {
    reset(fail_first);
    h.new_workflow_task();
    first = answer(reg, h);
  }

  // AddThenSleep: the first task's commands recorded, its timer fired, the next task scheduled.
  void fire_timer() {
    h.complete_workflow_task(first);
    h.timer_fired(h.timer_started_id("1"));
    h.new_workflow_task();
  }
};

}  // namespace

TEST_CASE("local activity: its result is recorded as a LocalActivity marker before the next command") {
  first_task t("AddThenSleep", 41);
  const auto& first = t.first;
  REQUIRE(first.commands_size() == 2);
  REQUIRE(first.commands(0).has_record_marker());
  CHECK(first.commands(0).record_marker().marker_name() == "LocalActivity");
  CHECK(marker_detail(first.commands(0), "activity_id") == "1");
  CHECK(marker_detail(first.commands(0), "activity_type") == "Add");
  CHECK(marker_detail(first.commands(0), "attempt") == 1);
  CHECK(marker_detail(first.commands(0), "data") == 42);
  CHECK(first.commands(1).has_start_timer());
  CHECK(calls == 1);
}

TEST_CASE("local activity: replay uses the marker and does not call the function again") {
  first_task t("AddThenSleep", 41);
  auto& [reg, h, first] = t;
  t.fire_timer();
  auto second = answer(reg, h);
  REQUIRE(second.commands_size() == 1);
  CHECK(from_payload(second.commands(0).complete_workflow_execution().result()) == 42);
  CHECK(calls == 1);
  // Plain replay of the whole history (a query, the replayer) does not run it either.
  CHECK(std::holds_alternative<pb::RespondWorkflowTaskCompleted>(
      run_workflow_task(reg, h.workflow_task(), "w")));
  CHECK(calls == 1);
}

TEST_CASE("local activity: the sticky cache resumes past its own marker") {
  reset();
  auto reg = make_registry();
  workflow_cache cache(10);
  history_builder h("AddThenSleep", 1);
  h.new_workflow_task();
  auto first = std::get<pb::RespondWorkflowTaskCompleted>(
      run_workflow_task_inline(cache, reg, h.workflow_task(), "w", 10'000));
  REQUIRE(first.commands_size() == 2);
  const int64_t seen = h.events().back().event_id();
  h.complete_workflow_task(first);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  pb::WorkflowTask next = h.workflow_task();
  pb::WorkflowTask only_new = next;
  only_new.clear_history();
  for (const auto& e : next.history())
    if (e.event_id() > seen) *only_new.add_history() = e;
  only_new.set_first_event_id(seen + 1);
  auto second = std::get<pb::RespondWorkflowTaskCompleted>(
      run_workflow_task_inline(cache, reg, only_new, "w", 10'000));
  REQUIRE(second.commands_size() == 1);
  CHECK(from_payload(second.commands(0).complete_workflow_execution().result()) == 2);
  CHECK(cache.stats().resumed == 1);
  CHECK(calls == 1);
}

TEST_CASE("local activity: a final failure is recorded in the marker and thrown as activity_failure") {
  first_task t("CatchesFailure");
  auto& [reg, h, first] = t;
  REQUIRE(first.commands_size() == 2);
  const auto& marker = first.commands(0).record_marker();
  CHECK(marker.failure().type() == "Broken");
  CHECK(marker.details().count("data") == 0);
  CHECK(marker.details().count("backoff_ms") == 0);
  json result = from_payload(first.commands(1).complete_workflow_execution().result());
  CHECK(result["type"] == "Broken");
  CHECK(calls == 1);
  h.complete_workflow_task(first);  // replayed: the same failure, no call
  auto replayed = replay_history(reg, h.events());
  CHECK_MESSAGE(replayed.ok(), describe(replayed));
  CHECK(calls == 1);
}

TEST_CASE("local activity: failed attempts are retried in the worker and the marker counts them") {
  first_task t("FlakyFlow", nullptr, 2);
  const auto& first = t.first;
  REQUIRE(first.commands_size() == 2);
  CHECK(marker_detail(first.commands(0), "attempt") == 3);
  CHECK(marker_detail(first.commands(0), "data") == "ok");
  CHECK(from_payload(first.commands(1).complete_workflow_execution().result()) == "ok");
  CHECK(calls == 3);
  CHECK(last_attempt == 3);
}

TEST_CASE("local activity: a backoff over the threshold falls back to a durable timer") {
  first_task t("LongBackoff", nullptr, 1);
  auto& [reg, h, first] = t;
  REQUIRE(first.commands_size() == 2);
  CHECK(marker_detail(first.commands(0), "attempt") == 1);
  CHECK(marker_detail(first.commands(0), "backoff_ms") == 120'000);
  CHECK(first.commands(0).record_marker().failure().type() == "Flaky");
  REQUIRE(first.commands(1).has_start_timer());
  CHECK(first.commands(1).start_timer().start_to_fire_timeout_ms() == 120'000);
  CHECK(calls == 1);

  h.complete_workflow_task(first);
  h.advance(120'000);
  h.timer_fired(h.timer_started_id(first.commands(1).start_timer().timer_id()));
  h.new_workflow_task();
  auto second = answer(reg, h);  // attempt 2 runs in the task of the timer's fire
  REQUIRE(second.commands_size() == 2);
  CHECK(marker_detail(second.commands(0), "attempt") == 2);
  CHECK(marker_detail(second.commands(0), "data") == "ok");
  CHECK(from_payload(second.commands(1).complete_workflow_execution().result()) == "ok");
  CHECK(last_attempt == 2);
  CHECK(calls == 2);

  h.complete_workflow_task(second);  // the whole closed history replays without a call
  auto replayed = replay_history(reg, h.events());
  CHECK_MESSAGE(replayed.ok(), describe(replayed));
  CHECK(calls == 2);
}

TEST_CASE("local activity: a cancel request cancels one waiting on its fallback timer") {
  first_task t("Canceled", nullptr, 1);
  auto& [reg, h, first] = t;
  REQUIRE(first.commands_size() == 2);
  h.complete_workflow_task(first);
  h.cancel_requested("stop");
  h.new_workflow_task();
  auto second = answer(reg, h);
  REQUIRE(second.commands_size() == 2);
  REQUIRE(second.commands(0).has_cancel_timer());
  CHECK(second.commands(0).cancel_timer().timer_id() == first.commands(1).start_timer().timer_id());
  CHECK(from_payload(second.commands(1).complete_workflow_execution().result()) == "canceled");
  CHECK(calls == 1);
}

TEST_CASE("local activity: a canceled scope cancels it before it runs") {
  first_task t("Scope");
  const auto& first = t.first;
  REQUIRE(first.commands_size() == 1);
  CHECK(from_payload(first.commands(0).complete_workflow_execution().result()) ==
        "canceled: not needed");
  CHECK(calls == 0);
}

TEST_CASE("local activity: a marker of another activity type is a non-determinism error") {
  first_task t("AddThenSleep", 1);
  t.fire_timer();
  const auto& h = t.h;
  registry changed;
  changed.register_workflow("AddThenSleep", other_type);
  changed.register_activity("Other", [](const activity_info&, const json& in) { return in; });
  auto result = run_workflow_task(changed, h.workflow_task(), "w");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  CHECK(std::get<pb::RespondWorkflowTaskFailed>(result).failure().type() == "NonDeterminismError");
}

TEST_CASE("local activity retry rule: threshold - task deadline - attempts - schedule-to-close") {
  detail::local_activity_request r;
  r.attempt = 1;
  r.scheduled_time_ms = 1'000;
  pb::Failure failure;
  failure.set_type("Boom");
  auto step = detail::next_step(r, failure, 1'000, 100'000);
  CHECK(step.kind == detail::retry_step::retry_here);
  CHECK(step.backoff_ms == 1'000);
  r.attempt = 4;  // 8 s backoff, past the task's deadline
  CHECK(detail::next_step(r, failure, 1'000, 5'000).kind == detail::retry_step::retry_on_timer);
  r.attempt = 7;  // 64 s: over the 1 min threshold
  CHECK(detail::next_step(r, failure, 1'000, 1'000'000).kind == detail::retry_step::retry_on_timer);
  r.options.retry.maximum_attempts = 7;
  CHECK(detail::next_step(r, failure, 1'000, 1'000'000).kind == detail::retry_step::fail);
  r.options.retry.maximum_attempts = 0;
  r.options.schedule_to_close_timeout = 30s;
  CHECK(detail::next_step(r, failure, 1'000, 1'000'000).kind == detail::retry_step::fail);
  r.options.schedule_to_close_timeout = 0ms;
  r.options.retry.non_retryable_error_types = {"Boom"};
  CHECK(detail::next_step(r, failure, 1'000, 1'000'000).kind == detail::retry_step::fail);
}

TEST_CASE("local activity session: an attempt past the task budget moves to a timer") {
  detail::local_activity_session session(10'000);
  detail::local_activity_request r;
  r.activity_id = std::string("1");  // not = "1": g++ 12's false -Wrestrict warning on that here
  r.activity_type = std::string("Slow");
  session.add({r}, 1'000);
  auto started = session.start_due(1'000);
  REQUIRE(started.size() == 1);
  CHECK(session.next_wakeup() == 10'000);
  std::vector<std::string> timed_out;
  auto outcomes = session.expire(10'000, &timed_out);
  REQUIRE(outcomes.size() == 1);
  CHECK(timed_out == std::vector<std::string>{"1"});
  CHECK(outcomes[0].attempt == 1);
  CHECK(outcomes[0].failure.type() == "TimeoutError");
  CHECK(outcomes[0].backoff_ms == 1'000);
  CHECK_FALSE(session.busy());
  // The late result of that attempt is not current any more.
  detail::attempt_result late;
  late.ok = true;
  CHECK_FALSE(session.finish("1", 1, late, 10'500).has_value());
}

TEST_CASE("local activity: the time-skipping environment runs a mocked one and its timer fallback") {
  reset();
  auto reg = make_registry();
  sdk::testing::environment env(reg);
  const int64_t start = env.now_ms();
  int mocked = 0;
  env.mock_activity("Flaky", [&mocked](const activity_info& info, const json&) -> json {
    ++mocked;
    if (info.attempt == 1) throw application_error("Flaky", "first attempt fails");
    return json{{"attempt", info.attempt}};
  });
  auto outcome = env.execute("LongBackoff");
  REQUIRE(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(outcome.result["attempt"] == 2);
  CHECK(mocked == 2);
  CHECK(calls == 0);  // the registry's function is not called
  CHECK(env.now_ms() - start >= 120'000);  // the 2 min backoff waited on a (virtual) timer
}
