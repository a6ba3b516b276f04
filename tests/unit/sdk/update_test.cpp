// Workflow Update in the SDK: validators, handlers, acceptance and outcome commands, rejections,
// replay of accepted updates, and the sticky cache.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"
#include "worker/sdk/workflow_cache.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

// Sums the "add" updates (validator: positive integers) until the "finish" update; "slow" runs
// the Step activity on its input and answers with its result.
task<json> counting(workflow_context& ctx, json) {
  auto total = std::make_shared<int64_t>(0);
  auto done = std::make_shared<bool>(false);
  ctx.on_update(
    "add",
    [](const json& a) {
      if (!a.is_number_integer() || a.get<int64_t>() <= 0)
        throw std::invalid_argument("add needs a positive integer");
    },
    [total](json a) -> task<json> {
      *total += a.get<int64_t>();
      co_return *total;
    });
  ctx.on_update("finish", nullptr, [done, total](json) -> task<json> {
    *done = true;
    co_return *total;
  });
  ctx.on_update("slow", nullptr, [&ctx](json a) -> task<json> {
    json r = co_await ctx.activity("Step", a);
    if (r == "boom") throw application_error("Boom", "the step said boom");
    co_return r;
  });
  co_await ctx.wait_condition([done] { return *done; });
  co_return json{{"total", *total}};
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Counting", counting);
  return reg;
}

pb::UpdateRequest request(const std::string& id, const std::string& name, const json& input) {
  pb::UpdateRequest r;
  r.set_update_id(id);
  r.set_name(name);
  *r.mutable_input() = to_payload(input);
  r.set_identity("client");
  return r;
}

pb::WorkflowTask with_updates(const history_builder& h, std::vector<pb::UpdateRequest> updates) {
  auto task = h.workflow_task();
  for (auto& u : updates) *task.add_updates() = u;
  return task;
}

pb::RespondWorkflowTaskCompleted completed(const registry& reg, const pb::WorkflowTask& task) {
  auto result = run_workflow_task(reg, task, "w");
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

// A run of Counting whose first task completed (it waits for "finish").
history_builder waiting(const registry& reg) {
  history_builder h("Counting");
  h.new_workflow_task();
  auto first = completed(reg, h.workflow_task());
  REQUIRE(first.commands_size() == 0);
  h.complete_workflow_task(first);
  return h;
}

}  // namespace

TEST_CASE("update: the validator accepts and the handler's result is recorded after the acceptance") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto r = completed(reg, with_updates(h, {request("u1", "add", 5)}));
  CHECK(r.update_rejections_size() == 0);
  REQUIRE(r.commands_size() == 2);
  REQUIRE(r.commands(0).has_accept_workflow_update());
  CHECK(r.commands(0).accept_workflow_update().update_id() == "u1");
  CHECK(r.commands(0).accept_workflow_update().name() == "add");
  CHECK(r.commands(0).accept_workflow_update().identity() == "client");
  REQUIRE(r.commands(1).has_complete_workflow_update());
  CHECK(from_payload(r.commands(1).complete_workflow_update().result()) == 5);
}

TEST_CASE("update: a validator that throws rejects the update and produces no command") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto r = completed(reg, with_updates(h, {request("u1", "add", -3), request("u2", "add", 2)}));
  REQUIRE(r.update_rejections_size() == 1);
  CHECK(r.update_rejections(0).update_id() == "u1");
  CHECK(r.update_rejections(0).failure().message() == "add needs a positive integer");
  REQUIRE(r.commands_size() == 2);  // u2 only
  CHECK(r.commands(0).accept_workflow_update().update_id() == "u2");
  CHECK(from_payload(r.commands(1).complete_workflow_update().result()) == 2);
}

TEST_CASE("update: an unknown update name is rejected naming the registered ones") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto r = completed(reg, with_updates(h, {request("u1", "subtract", 1)}));
  REQUIRE(r.update_rejections_size() == 1);
  CHECK(r.update_rejections(0).failure().message()
        == "unknown update 'subtract' (known: add, finish, slow)");
  CHECK(r.commands_size() == 0);
}

TEST_CASE("update: input that is not JSON is rejected as PayloadError") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto bad = request("u1", "add", 1);
  bad.mutable_input()->set_data("{not json");
  auto r = completed(reg, with_updates(h, {bad}));
  REQUIRE(r.update_rejections_size() == 1);
  CHECK(r.update_rejections(0).failure().type() == "PayloadError");
}

TEST_CASE("update: a handler awaiting an activity completes in a later task and replays the same") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto second = completed(reg, with_updates(h, {request("s1", "slow", "x")}));
  REQUIRE(second.commands_size() == 2);
  CHECK(second.commands(0).has_accept_workflow_update());
  REQUIRE(second.commands(1).has_schedule_activity_task());
  h.complete_workflow_task(second);
  h.activity_completed(h.activity_scheduled_id("1"), "done");
  h.new_workflow_task();
  auto third = completed(reg, h.workflow_task());
  REQUIRE(third.commands_size() == 1);
  REQUIRE(third.commands(0).has_complete_workflow_update());
  CHECK(from_payload(third.commands(0).complete_workflow_update().result()) == "done");
  h.complete_workflow_task(third);
  // A full replay of the history (e.g. another worker) gives no new command: deterministic.
  h.signaled("nothing");
  h.new_workflow_task();
  CHECK(completed(reg, h.workflow_task()).commands_size() == 0);
}

TEST_CASE("update: a handler that throws application_error completes the update with its failure") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto second = completed(reg, with_updates(h, {request("s1", "slow", "x")}));
  h.complete_workflow_task(second);
  h.activity_completed(h.activity_scheduled_id("1"), "boom");
  h.new_workflow_task();
  auto third = completed(reg, h.workflow_task());
  REQUIRE(third.commands_size() == 1);
  const auto& c = third.commands(0).complete_workflow_update();
  REQUIRE(c.has_failure());
  CHECK(c.failure().type() == "Boom");
  CHECK(c.failure().message() == "the step said boom");
}

TEST_CASE("update: a handler that changes state lets the workflow close after the update's outcome") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto r = completed(reg, with_updates(h, {request("u1", "add", 4), request("u2", "finish", nullptr)}));
  REQUIRE(r.commands_size() == 5);
  CHECK(r.commands(2).accept_workflow_update().update_id() == "u2");
  CHECK(from_payload(r.commands(3).complete_workflow_update().result()) == 4);
  REQUIRE(r.commands(4).has_complete_workflow_execution());
  CHECK(from_payload(r.commands(4).complete_workflow_execution().result()) == json{{"total", 4}});
}

TEST_CASE("update: replay delivers accepted updates where they were accepted without the validator") {
  auto reg = make_registry();
  auto h = waiting(reg);
  h.new_workflow_task();
  auto r = completed(reg, with_updates(h, {request("u1", "add", 7)}));
  h.complete_workflow_task(r);
  h.new_workflow_task();
  // Updates delivered again (a redelivery) are ignored: accepted once.
  auto again = completed(reg, with_updates(h, {request("u1", "add", 7), request("u3", "finish", 0)}));
  REQUIRE(again.commands_size() == 3);
  CHECK(again.commands(0).accept_workflow_update().update_id() == "u3");
  CHECK(from_payload(again.commands(1).complete_workflow_update().result()) == 7);
  CHECK(from_payload(again.commands(2).complete_workflow_execution().result()) == json{{"total", 7}});
}

TEST_CASE("update: the sticky cache answers a task with only new events as a whole replay does") {
  auto reg = make_registry();
  workflow_cache cache(10);
  history_builder h("Counting");
  h.new_workflow_task();
  auto first = cache.run(reg, h.workflow_task(), "w");
  h.complete_workflow_task(std::get<pb::RespondWorkflowTaskCompleted>(first));
  int64_t seen = h.events().back().event_id() + 1;
  h.new_workflow_task();
  auto tail = with_updates(h, {request("u1", "add", 2), request("u2", "add", 0)});
  pb::WorkflowTask partial = tail;
  partial.clear_history();
  for (auto& e : tail.history())
    if (e.event_id() >= seen - 1) *partial.add_history() = e;
  partial.set_first_event_id(seen - 1);
  auto cached = cache.run(reg, partial, "w");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskCompleted>(cached));
  auto& c = std::get<pb::RespondWorkflowTaskCompleted>(cached);
  auto whole = completed(reg, tail);
  CHECK(c.SerializeAsString() == whole.SerializeAsString());
  CHECK(c.update_rejections_size() == 1);
  CHECK(cache.stats().resumed == 1);
}
