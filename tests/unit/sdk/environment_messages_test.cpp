// The time-skipping test environment with several workflows (worker/sdk/testing/environment.hpp):
// signals and cancel requests between a parent and its children (signal_external,
// cancel_external, the parent's cancel request), and the parent close policies applied when the
// parent closes, all through decide on both sides and in virtual time.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/replay_history.hpp"
#include "worker/sdk/testing/environment.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;
using chronicle::sdk::testing::environment;

namespace {

constexpr int64_t day_ms = 24 * 3600 * 1000;

child_workflow_options child_named(const std::string& id,
                                   pb::ParentClosePolicy policy = pb::PARENT_CLOSE_POLICY_TERMINATE) {
  child_workflow_options options;
  options.workflow_id = id;
  options.parent_close_policy = policy;
  return options;
}

// Waits for the signal "hello", tells its parent ("test-workflow") with the signal "back", and
// returns what it was told.
task<json> listener(workflow_context& ctx, json) {
  json said = co_await ctx.wait_signal("hello");
  co_await ctx.signal_external("test-workflow", "back", said);
  co_return json{{"heard", said}};
}

task<json> sleeps_a_month(workflow_context& ctx, json) {
  co_await ctx.sleep(30 * 24h);
  co_return "woke";
}

task<json> sleeps_two_days(workflow_context& ctx, json) {
  co_await ctx.sleep(48h);
  co_return "rested";
}

// Starts "Listener" and "SleepsAMonth"; an hour later signals the first and asks the second to
// cancel, then waits for the first's answer and both children's ends.
task<json> talker(workflow_context& ctx, json) {
  auto listening = ctx.child_workflow("Listener", nullptr, child_named("listener"));
  auto sleeping = ctx.child_workflow("SleepsAMonth", nullptr, child_named("sleeper"));
  co_await ctx.sleep(1h);
  json greeting = std::string("hi there");
  co_await ctx.signal_external("listener", "hello", greeting);
  co_await ctx.cancel_external("sleeper");
  json back = co_await ctx.wait_signal("back");
  json heard = co_await listening;
  json out = {{"back", back}, {"listener", heard}};
  try {
    co_await sleeping;
  } catch (const child_workflow_failure& e) {
    out["sleeper"] = e.how();
  }
  std::string missing;
  try {
    co_await ctx.signal_external("nobody", "hello", nullptr);
  } catch (const external_workflow_failure& e) {
    missing = e.cause();
  }
  out["nobody"] = missing;
  co_return out;
}

// Starts three month-long children, one per parent close policy, and one of two days (abandoned),
// then completes after an hour without waiting for them.
task<json> leaves_children(workflow_context& ctx, json) {
  [[maybe_unused]] auto a = ctx.child_workflow("SleepsAMonth", nullptr, child_named("terminated"));
  [[maybe_unused]] auto b = ctx.child_workflow(
    "SleepsAMonth", nullptr, child_named("canceled", pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL));
  [[maybe_unused]] auto c = ctx.child_workflow(
    "SleepsTwoDays", nullptr, child_named("abandoned", pb::PARENT_CLOSE_POLICY_ABANDON));
  co_await ctx.sleep(1h);
  co_return "left";
}

// Awaits a month-long child; the parent's cancel request reaches the child.
task<json> waits_for_child(workflow_context& ctx, json) {
  json out;
  try {
    json r = co_await ctx.child_workflow("SleepsAMonth", nullptr, child_named("kid"));
    out = json{{"child", "completed"}, {"result", r}};
  } catch (const child_workflow_failure& e) {
    out = json{{"child", e.how()}};
  }
  out["cancel_requested"] = ctx.cancel_requested();
  co_return out;
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Listener", listener);
  reg.register_workflow("SleepsAMonth", sleeps_a_month);
  reg.register_workflow("SleepsTwoDays", sleeps_two_days);
  reg.register_workflow("Talker", talker);
  reg.register_workflow("LeavesChildren", leaves_children);
  reg.register_workflow("WaitsForChild", waits_for_child);
  return reg;
}

// An environment over this file's registry, its start time, and execute expecting completion.
struct fixture {
  registry reg = make_registry();
  environment env{reg};
  const int64_t start = env.now_ms();

  testing::workflow_outcome completed(const std::string& type) {
    auto outcome = env.execute(type);
    INFO(outcome.error);
    REQUIRE(outcome.completed());
    return outcome;
  }
};

int count(const std::vector<pb::HistoryEvent>& history, pb::EventType type) {
  int n = 0;
  for (const auto& e : history) n += e.event_type() == type;
  return n;
}

}  // namespace

TEST_CASE("test environment: signal_external and cancel_external reach the workflows of the environment - both ways") {
  fixture f;
  auto& env = f.env;
  auto outcome = f.completed("Talker");
  CHECK(outcome.result["back"] == "hi there");
  CHECK(outcome.result["listener"] == json{{"heard", "hi there"}});
  CHECK(outcome.result["sleeper"] == "ChildWorkflowExecutionCanceled");
  CHECK(outcome.result["nobody"] == "ExternalWorkflowExecutionNotFound");
  CHECK(env.now_ms() - f.start == 3600 * 1000);  // the month-long child was canceled after an hour

  const auto& parent = env.history();
  CHECK(count(parent, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED) == 1);
  CHECK(count(parent, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1);
  CHECK(count(parent, pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED) == 1);
  CHECK(count(parent, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1);  // "back", from the child
  CHECK(count(parent, pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED) == 1);
  for (const auto& e : parent)
    if (e.has_workflow_execution_signaled())
      CHECK(e.workflow_execution_signaled().identity() == "workflow listener");

  auto listener = env.history_of("listener");
  REQUIRE_FALSE(listener.empty());
  CHECK(count(listener, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1);
  CHECK(count(listener, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED) == 1);
  CHECK(env.outcome_of("listener").completed());
  auto sleeper = env.outcome_of("sleeper");
  CHECK(sleeper.status == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  CHECK(count(env.history_of("sleeper"), pb::EVENT_TYPE_TIMER_CANCELED) == 1);
  CHECK(env.outcome_of("nobody").error.find("no workflow 'nobody'") == 0);
  // Every workflow's history replays clean against the same code.
  CHECK(replay_history(f.reg, parent).ok());
  CHECK(replay_history(f.reg, listener).ok());
  CHECK(replay_history(f.reg, env.history_of("sleeper")).ok());
}

TEST_CASE("test environment: parent close policies - terminate - request cancel - abandon - applied when the parent closes") {
  fixture f;
  auto& env = f.env;
  auto outcome = f.completed("LeavesChildren");
  CHECK(outcome.result == "left");

  auto terminated = env.outcome_of("terminated");
  CHECK(terminated.status == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(terminated.failure.message() ==
        "parent workflow test-workflow closed (parent close policy: terminate)");
  auto canceled = env.outcome_of("canceled");
  CHECK(canceled.status == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  auto requests = env.history_of("canceled");
  REQUIRE(count(requests, pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1);
  for (const auto& e : requests)
    if (e.has_workflow_execution_cancel_requested())
      CHECK(e.workflow_execution_cancel_requested().cause() ==
            "parent workflow test-workflow closed (parent close policy: request cancel)");
  // The abandoned child runs on to its own end, two virtual days after the start; the month-long
  // ones did not hold the clock.
  auto abandoned = env.outcome_of("abandoned");
  CHECK(abandoned.completed());
  CHECK(abandoned.result == "rested");
  CHECK(env.now_ms() - f.start == 2 * day_ms);
  // The parent heard of none of their ends after it closed.
  CHECK(count(env.history(), pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED) == 0);
  CHECK(replay_history(f.reg, env.history_of("canceled")).ok());
}

TEST_CASE("test environment: a parent's cancel request cancels the child it awaits") {
  fixture f;
  auto& env = f.env;
  env.at(2h, [&] { CHECK(env.cancel("stop")); });
  auto outcome = f.completed("WaitsForChild");
  CHECK(outcome.result["child"] == "ChildWorkflowExecutionCanceled");
  CHECK(outcome.result["cancel_requested"] == true);
  CHECK(env.outcome_of("kid").status == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  CHECK(count(env.history(), pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) == 1);
  CHECK(count(env.history(), pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1);
  CHECK(replay_history(f.reg, env.history()).ok());
}
