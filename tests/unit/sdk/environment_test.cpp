// The time-skipping test environment (worker/sdk/testing/environment.hpp): workflows with long
// timers run against the real decide in virtual time, with mocked activities and client calls
// made at virtual times.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
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

// Charges once a day for input.days days (an update "extend" adds days; its validator refuses
// anything but a positive integer; the query "status" reads the counters), then waits for the
// signal "finish" and returns.
task<json> subscription(workflow_context& ctx, json input) {
  auto state = std::make_shared<json>(json{{"charged", 0}, {"days", input.value("days", 1)}});
  ctx.on_query("status", [state](const json&) { return *state; });
  ctx.on_update(
      "extend",
      [](const json& days) {
        if (!days.is_number_integer() || days.get<int>() <= 0)
          throw application_error("InvalidDays", "extend needs a positive number of days");
      },
      [state](json days) -> task<json> {
        (*state)["days"] = (*state)["days"].get<int>() + days.get<int>();
        co_return (*state)["days"];
      });
  while ((*state)["charged"].get<int>() < (*state)["days"].get<int>()) {
    json args = {{"day", (*state)["charged"]}};
    json receipt = co_await ctx.activity("Charge", args);
    (*state)["charged"] = (*state)["charged"].get<int>() + 1;
    (*state)["receipt"] = receipt;
    co_await ctx.sleep(24h);
  }
  json note = co_await ctx.wait_signal("finish");
  co_return json{{"charged", (*state)["charged"]}, {"note", note}, {"receipt", (*state)["receipt"]}};
}

task<json> sleeps_for_a_month(workflow_context& ctx, json) {
  co_await ctx.sleep(30 * 24h);
  co_return "woke";
}

task<json> waits_forever(workflow_context& ctx, json) { co_return co_await ctx.wait_signal("never"); }

task<json> buggy(workflow_context& ctx, json) {
  co_await ctx.sleep(1h);
  throw std::logic_error("bug in workflow code");
}

task<json> flaky_caller(workflow_context& ctx, json) {
  activity_options options;
  options.retry.initial_interval = 10s;
  options.retry.backoff_coefficient = 2;
  options.retry.maximum_attempts = 5;
  co_return co_await ctx.activity("Flaky", nullptr, options);
}

task<json> greets(workflow_context& ctx, json input) {
  co_return co_await ctx.activity("Greet", input);
}

task<json> napper(workflow_context& ctx, json input) {
  co_await ctx.sleep(48h);
  co_return "rested " + input.get<std::string>();
}

// A child that sleeps two days, one that greets at once, a day between them.
task<json> parent(workflow_context& ctx, json) {
  auto napping = ctx.child_workflow("Napper", "a");
  co_await ctx.sleep(24h);
  json greeted = co_await ctx.child_workflow("Greets", "Ada");
  json rested = co_await napping;
  co_return json::array({rested, greeted});
}

task<json> parent_of_flaky(workflow_context& ctx, json) {
  co_return co_await ctx.child_workflow("FlakyCaller", nullptr);
}

task<json> parent_of_buggy(workflow_context& ctx, json) {
  co_return co_await ctx.child_workflow("Buggy", nullptr);
}

task<json> signals_a_stranger(workflow_context& ctx, json) {
  co_await ctx.signal_external("stranger", "hello", nullptr);
  co_return nullptr;
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Subscription", subscription);
  reg.register_workflow("SleepsForAMonth", sleeps_for_a_month);
  reg.register_workflow("WaitsForever", waits_forever);
  reg.register_workflow("Buggy", buggy);
  reg.register_workflow("FlakyCaller", flaky_caller);
  reg.register_workflow("Greets", greets);
  reg.register_workflow("Parent", parent);
  reg.register_workflow("Napper", napper);
  reg.register_workflow("ParentOfFlaky", parent_of_flaky);
  reg.register_workflow("ParentOfBuggy", parent_of_buggy);
  reg.register_workflow("SignalsAStranger", signals_a_stranger);
  reg.register_activity("Charge", [](const activity_info&, const json&) -> json {
    throw std::runtime_error("the real payment service is not reachable from a unit test");
  });
  reg.register_activity("Greet", [](const activity_info&, const json& in) {
    return json("Hello, " + in.get<std::string>() + "!");
  });
  return reg;
}

}  // namespace

TEST_CASE("test environment: day-long timers - a mocked activity - a signal - a query and an update in milliseconds") {
  registry reg = make_registry();
  environment env(reg);
  const int64_t start = env.now_ms();
  int charges = 0;
  env.mock_activity("Charge", [&charges](const activity_info& info, const json& in) {
    ++charges;
    CHECK(info.attempt == 1);
    return json("receipt-" + in["day"].dump());
  });
  std::variant<json, std::string> status, unknown_query;
  std::shared_ptr<const sdk::testing::update_outcome> extended, refused;
  int64_t query_time = 0;
  env.at(36h, [&] {  // between the second charge and the third day
    query_time = env.now_ms() - start;
    status = env.query("status");
    unknown_query = env.query("no-such-query");
    extended = env.update("extend", 1);
    refused = env.update("extend", -1);
  });
  env.at(10 * 24h, [&] { CHECK(env.signal("finish", "paid up")); });

  const auto wall_start = std::chrono::steady_clock::now();
  auto outcome = env.execute("Subscription", json{{"days", 2}});
  const auto wall = std::chrono::steady_clock::now() - wall_start;

  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(outcome.result == json{{"charged", 3}, {"note", "paid up"}, {"receipt", "receipt-2"}});
  CHECK(charges == 3);
  CHECK(env.now_ms() - start == 10 * day_ms);  // virtual time: ten days
  CHECK(wall < 5s);                             // real time: milliseconds
  CHECK(query_time == 36 * 3600 * 1000);
  REQUIRE(std::holds_alternative<json>(status));
  CHECK(std::get<json>(status) == json{{"charged", 2}, {"days", 2}, {"receipt", "receipt-1"}});
  REQUIRE(std::holds_alternative<std::string>(unknown_query));
  CHECK(std::get<std::string>(unknown_query).find("unknown query type") != std::string::npos);
  REQUIRE(extended);
  CHECK(extended->accepted);
  CHECK(extended->completed);
  CHECK(!extended->rejected);
  CHECK(extended->result == 3);
  REQUIRE(refused);
  CHECK(refused->rejected);
  CHECK(refused->failure.type() == "InvalidDays");
  // The history is a node's: it replays clean, and records the timers, the update and the signal.
  CHECK(replay_history(reg, env.history()).ok());
  int fired = 0, accepted = 0, signaled = 0;
  for (const auto& e : env.history()) {
    fired += e.event_type() == pb::EVENT_TYPE_TIMER_FIRED;
    accepted += e.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED;
    signaled += e.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED;
  }
  CHECK(fired == 3);
  CHECK(accepted == 1);
  CHECK(signaled == 1);
  // Queries answer after the run closed too, from its whole history.
  auto after = env.query("status");
  REQUIRE(std::holds_alternative<json>(after));
  CHECK(std::get<json>(after)["days"] == 3);
}

TEST_CASE("test environment: the registered activity runs when none is mocked") {
  registry reg = make_registry();
  environment env(reg);
  auto outcome = env.execute("Greets", "Ada");
  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(outcome.result == "Hello, Ada!");
}

TEST_CASE("test environment: a failing activity is retried by its policy after backoffs skipped in virtual time") {
  registry reg = make_registry();
  environment env(reg);
  const int64_t start = env.now_ms();
  std::vector<int> attempts;
  env.mock_activity("Flaky", [&attempts](const activity_info& info, const json&) -> json {
    attempts.push_back(info.attempt);
    if (info.attempt < 3) throw application_error("Busy", "try again later");
    return "done on attempt " + std::to_string(info.attempt);
  });
  auto outcome = env.execute("FlakyCaller");
  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(outcome.result == "done on attempt 3");
  CHECK(attempts == std::vector<int>{1, 2, 3});
  CHECK(env.now_ms() - start == 30'000);  // backoffs of 10 s and 20 s
}

TEST_CASE("test environment: a retried activity finds the heartbeat details of the failed attempt") {
  registry reg = make_registry();
  environment env(reg);
  std::vector<json> seen;
  env.mock_activity("Flaky", [&seen](const activity_info& info, const json&) -> json {
    seen.push_back(info.heartbeat_details);
    info.heartbeat(json{{"progress", info.attempt * 10}});
    if (info.attempt == 1) throw application_error("Busy", "try again later");
    return info.heartbeat_details;
  });
  auto outcome = env.execute("FlakyCaller");
  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(seen == std::vector<json>{nullptr, json{{"progress", 10}}});
  CHECK(outcome.result == json{{"progress", 10}});
}

TEST_CASE("test environment: an activity that keeps failing fails the workflow") {
  registry reg = make_registry();
  environment env(reg);
  env.mock_activity("Flaky", [](const activity_info&, const json&) -> json {
    throw application_error("Declined", "card declined", true);
  });
  auto outcome = env.execute("FlakyCaller");
  CHECK(outcome.error.empty());
  CHECK(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK(outcome.failure.type() == "Declined");
}

TEST_CASE("test environment: the execution timeout fires in virtual time") {
  registry reg = make_registry();
  environment env(reg);
  const int64_t start = env.now_ms();
  sdk::testing::start_options options;
  options.execution_timeout = 24h;
  auto outcome = env.execute("SleepsForAMonth", nullptr, options);
  CHECK(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  CHECK(env.now_ms() - start == day_ms);
}

TEST_CASE("test environment: a cancel request at a virtual time cancels a month-long sleep") {
  registry reg = make_registry();
  environment env(reg);
  const int64_t start = env.now_ms();
  env.at(2h, [&] { CHECK(env.cancel("not needed any more")); });
  auto outcome = env.execute("SleepsForAMonth");
  CHECK(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  CHECK(env.now_ms() - start == 2 * 3600 * 1000);
  CHECK(!env.signal("late", nullptr));  // closed: nothing done
}

TEST_CASE("test environment: a workflow waiting for something that cannot happen is reported blocked") {
  registry reg = make_registry();
  environment env(reg);
  auto outcome = env.execute("WaitsForever");
  CHECK(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(outcome.error.find("blocked") != std::string::npos);
}

TEST_CASE("test environment: a failing workflow task stops the environment with its error") {
  registry reg = make_registry();
  environment env(reg);
  auto outcome = env.execute("Buggy");
  CHECK(outcome.error.find("WorkflowTaskError") != std::string::npos);
  CHECK(outcome.error.find("bug in workflow code") != std::string::npos);
  environment unknown(reg);
  CHECK(unknown.execute("NoSuchWorkflow").error.find("UnknownWorkflowType") != std::string::npos);
}

TEST_CASE("test environment: child workflows run in virtual time and their results reach the parent") {
  registry reg = make_registry();
  environment env(reg);
  const int64_t start = env.now_ms();
  auto outcome = env.execute("Parent");
  INFO(outcome.error);
  REQUIRE(outcome.completed());
  CHECK(outcome.result == json::array({"rested a", "Hello, Ada!"}));
  CHECK(env.now_ms() - start == 2 * day_ms);  // the napping child's two days
  int started = 0, completed = 0;
  for (const auto& e : env.history()) {
    started += e.event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED;
    completed += e.event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED;
  }
  CHECK(started == 2);
  CHECK(completed == 2);
  CHECK(replay_history(reg, env.history()).ok());
}

TEST_CASE("test environment: a failed child fails its parent - a child's failing task stops the environment") {
  registry reg = make_registry();
  environment env(reg);
  env.mock_activity("Flaky", [](const activity_info&, const json&) -> json {
    throw application_error("Declined", "card declined", true);
  });
  auto outcome = env.execute("ParentOfFlaky");
  INFO(outcome.error);
  CHECK(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK(outcome.failure.message().find("card declined") != std::string::npos);
  environment buggy(reg);
  auto stopped = buggy.execute("ParentOfBuggy");
  CHECK(stopped.error.find("child workflow 'test-workflow-child-1'") == 0);
  CHECK(stopped.error.find("bug in workflow code") != std::string::npos);
}

TEST_CASE("test environment: a signal to a workflow that is not in the environment fails the await - one execute per environment") {
  registry reg = make_registry();
  environment env(reg);
  auto outcome = env.execute("SignalsAStranger");
  INFO(outcome.error);
  CHECK(outcome.status == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK(outcome.failure.type() == "ExternalWorkflowExecutionNotFound");
  CHECK(outcome.failure.message().find("stranger") != std::string::npos);
  CHECK(env.execute("SignalsAStranger").error.find("called already") != std::string::npos);
}
