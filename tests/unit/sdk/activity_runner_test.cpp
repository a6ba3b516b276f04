// run_activity_task: results and failures of activity functions.
#include <doctest/doctest.h>

#include <stdexcept>

#include "protocol/task_token.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;

namespace {

registry make_registry() {
  registry reg;
  reg.register_activity("ComposeGreeting", [](const activity_info& info, const json& input) {
    return json{{"greeting", "Hello, " + input.at("name").get<std::string>() + "!"},
                {"activity_id", info.activity_id},
                {"workflow_id", info.workflow_id},
                {"run_id", info.run_id},
                {"type", info.activity_type},
                {"attempt", info.attempt}};
  });
  reg.register_activity("Declines", [](const activity_info&, const json&) -> json {
    throw application_error("PaymentDeclined", "card expired", true);
  });
  reg.register_activity("Crashes", [](const activity_info&, const json&) -> json {
    throw std::runtime_error("database unreachable");
  });
  return reg;
}

pb::ActivityTask make_task(const std::string& type, const json& input) {
  pb::ActivityTask task;
  task.mutable_token()->set_workflow_id("wf-1");
  task.mutable_token()->set_run_id("run-1");
  task.mutable_token()->set_scheduled_event_id(5);
  task.mutable_token()->set_attempt(2);
  task.set_activity_id("1");
  task.set_activity_type(type);
  *task.mutable_input() = to_payload(input);
  task.set_workflow_type("Greeting");
  return task;
}

pb::RespondActivityTaskFailed run_failed(const registry& reg, const pb::ActivityTask& task) {
  auto result = run_activity_task(reg, task, "worker-1");
  REQUIRE(std::holds_alternative<pb::RespondActivityTaskFailed>(result));
  auto failed = std::get<pb::RespondActivityTaskFailed>(result);
  CHECK(failed.identity() == "worker-1");
  CHECK(failed.token().scheduled_event_id() == 5);
  CHECK(failed.failure().source() == "worker");
  return failed;
}

}  // namespace

TEST_CASE("activity runner: success returns the JSON result") {
  registry reg = make_registry();
  auto result = run_activity_task(reg, make_task("ComposeGreeting", {{"name", "World"}}), "w");
  REQUIRE(std::holds_alternative<pb::RespondActivityTaskCompleted>(result));
  const auto& done = std::get<pb::RespondActivityTaskCompleted>(result);
  CHECK(done.identity() == "w");
  CHECK(done.token().workflow_id() == "wf-1");
  CHECK(from_payload(done.result()) == json{{"greeting", "Hello, World!"},
                                            {"activity_id", "1"},
                                            {"workflow_id", "wf-1"},
                                            {"run_id", "run-1"},
                                            {"type", "ComposeGreeting"},
                                            {"attempt", 2}});
}

TEST_CASE("activity runner: application_error keeps its type and non_retryable") {
  registry reg = make_registry();
  auto failed = run_failed(reg, make_task("Declines", nullptr));
  CHECK(failed.failure().type() == "PaymentDeclined");
  CHECK(failed.failure().message() == "card expired");
  CHECK(failed.failure().non_retryable());
}

TEST_CASE("activity runner: another exception becomes a retryable \"Error\"") {
  registry reg = make_registry();
  auto failed = run_failed(reg, make_task("Crashes", nullptr));
  CHECK(failed.failure().type() == "Error");
  CHECK(failed.failure().message() == "database unreachable");
  CHECK_FALSE(failed.failure().non_retryable());
  // A JSON error inside the function (missing field) is an exception like any other.
  auto missing = run_failed(reg, make_task("ComposeGreeting", json::object()));
  CHECK(missing.failure().type() == "Error");
}

TEST_CASE("activity runner: unknown activity type") {
  registry reg = make_registry();
  auto failed = run_failed(reg, make_task("Nope", nullptr));
  CHECK(failed.failure().type() == "UnknownActivityType");
  CHECK(failed.failure().message().find("'Nope'") != std::string::npos);
  CHECK(failed.failure().message().find("ComposeGreeting") != std::string::npos);
}

TEST_CASE("activity runner: undecodable input is a non-retryable PayloadError") {
  registry reg = make_registry();
  auto task = make_task("ComposeGreeting", nullptr);
  task.mutable_input()->set_data("{oops");
  auto failed = run_failed(reg, task);
  CHECK(failed.failure().type() == "PayloadError");
  CHECK(failed.failure().non_retryable());
}

namespace {

// Heartbeats until told to cancel; the worker's control says so after its third heartbeat.
registry cancel_registry(int* beats) {
  registry reg;
  reg.register_activity("Long", [beats](const activity_info& info, const json&) -> json {
    for (int i = 0; i < 1000; ++i) {
      ++*beats;
      info.heartbeat(i);
    }
    return "never canceled";
  });
  reg.register_activity("GivesUp", [](const activity_info&, const json&) -> json {
    throw activity_canceled_error("gave up by itself");
  });
  reg.register_activity("Elsewhere", [](const activity_info& info, const json&) -> json {
    info.do_not_complete_on_return();
    return info.task_token;
  });
  return reg;
}

}  // namespace

TEST_CASE("activity runner: a cancel seen by heartbeat answers Canceled") {
  int beats = 0;
  registry reg = cancel_registry(&beats);
  auto control = std::make_shared<activity_control>();
  auto sink = [&](const pb::Payload&) {
    if (beats == 3) control->request_cancel("the workflow canceled it");
  };
  auto result = run_activity_task(reg, make_task("Long", nullptr), "w", sink, control);
  REQUIRE(std::holds_alternative<pb::RespondActivityTaskCanceled>(result));
  auto& canceled = std::get<pb::RespondActivityTaskCanceled>(result);
  CHECK(beats == 3);
  CHECK(canceled.token().scheduled_event_id() == 5);
  CHECK(canceled.identity() == "w");
  CHECK(from_payload(canceled.details()) == "the workflow canceled it");
}

TEST_CASE("activity runner: activity_canceled_error without a cancel request is a failure") {
  int beats = 0;
  registry reg = cancel_registry(&beats);
  auto failed = run_failed(reg, make_task("GivesUp", nullptr));
  CHECK(failed.failure().type() == canceled_error_type);
  CHECK(failed.failure().message() == "gave up by itself");
}

TEST_CASE("activity runner: do_not_complete_on_return answers Async with the task token") {
  int beats = 0;
  registry reg = cancel_registry(&beats);
  auto task = make_task("Elsewhere", nullptr);
  auto result = run_activity_task(reg, task, "w");
  REQUIRE(std::holds_alternative<pb::ActivityTaskAsync>(result));
  CHECK(std::get<pb::ActivityTaskAsync>(result).token().SerializeAsString()
        == task.token().SerializeAsString());
  // The token the function saw decodes to its attempt.
  pb::TaskToken back;
  CHECK(parse_task_token(task_token_text(task.token()), &back) == "");
  CHECK(back.attempt() == 2);
}

TEST_CASE("activity info without a worker: heartbeat only checks for cancellation") {
  activity_info info;
  CHECK_NOTHROW(info.heartbeat(1));
  CHECK_FALSE(info.is_cancel_requested());
  info.control = std::make_shared<activity_control>();
  info.control->request_cancel("stop");
  CHECK(info.is_cancel_requested());
  CHECK_THROWS_AS(info.heartbeat(2), activity_canceled_error);
}
