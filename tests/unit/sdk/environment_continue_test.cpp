// The time-skipping test environment and continue-as-new: the next run runs in the same
// environment (a chain closes with its last run's outcome), also for a child workflow.
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

// Sleeps a day, then continues as new with n - 1 until n is 0; counts the signals "tick" each run
// got into the next run's input.
task<json> countdown(workflow_context& ctx, json input) {
  co_await ctx.sleep(24h);
  int ticks = input.value("ticks", 0);
  while (ctx.poll_signal("tick")) ++ticks;
  int n = input.value("n", 0);
  if (n > 0) ctx.continue_as_new(json{{"n", n - 1}, {"ticks", ticks}});
  co_return json{{"ticks", ticks}, {"run", ctx.run_id()}};
}

task<json> parent_of_countdown(workflow_context& ctx, json) {
  json args = {{"n", 2}};
  co_return co_await ctx.child_workflow("Countdown", args);
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Countdown", countdown);
  reg.register_workflow("ParentOfCountdown", parent_of_countdown);
  return reg;
}

}  // namespace

TEST_CASE("test environment: continue-as-new runs the next runs until the chain closes") {
  registry reg = make_registry();
  environment env(reg);
  const int64_t start = env.now_ms();
  env.at(36h, [&] { CHECK(env.signal("tick")); });  // reaches the second run
  env.at(60h, [&] { CHECK(env.signal("tick")); });  // the third
  auto outcome = env.execute("Countdown", json{{"n", 3}});
  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(outcome.result == json{{"ticks", 2}, {"run", "test-run-1-4"}});
  CHECK(env.now_ms() - start == 4 * day_ms);
  // history() is the last run's: it started from the run before it.
  REQUIRE(!env.history().empty());
  const auto& started = env.history().front();
  REQUIRE(started.has_workflow_execution_started());
  CHECK(started.workflow_execution_started().continued_execution_run_id() == "test-run-1-3");
  CHECK(replay_history(reg, env.history()).ok());
}

TEST_CASE("test environment: a child that continues as new reaches its parent with its last run's result") {
  registry reg = make_registry();
  environment env(reg);
  auto outcome = env.execute("ParentOfCountdown");
  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(outcome.result["ticks"] == 0);
  CHECK(outcome.result["run"].get<std::string>().find("-3") != std::string::npos);
  CHECK(replay_history(reg, env.history()).ok());
}
