// wait_condition (with and without a timeout) and the deterministic random() / uuid().
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <string>

#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

// Waits up to 10 s for the signal "go" (the predicate reads whether it arrived).
task<json> approval(workflow_context& ctx, json) {
  auto go = ctx.wait_signal("go");
  bool ok = co_await ctx.wait_condition([&go] { return go.await_ready(); }, 10s);
  co_return ok;
}

task<json> approval_forever(workflow_context& ctx, json) {
  auto go = ctx.wait_signal("go");
  co_await ctx.wait_condition([&go] { return go.await_ready(); });
  co_return "approved";
}

task<json> already_true(workflow_context& ctx, json) {
  bool ok = co_await ctx.wait_condition([] { return true; }, 5s);
  co_return ok;
}

task<json> dice(workflow_context& ctx, json) {
  json before = {ctx.random(), ctx.uuid()};
  co_await ctx.sleep(1s);
  json after = {ctx.random(), ctx.uuid()};
  co_return json{before, after};
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Approval", approval);
  reg.register_workflow("ApprovalForever", approval_forever);
  reg.register_workflow("AlreadyTrue", already_true);
  reg.register_workflow("Dice", dice);
  return reg;
}

pb::RespondWorkflowTaskCompleted completed(const registry& reg, const history_builder& h) {
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

json result_of(const pb::RespondWorkflowTaskCompleted& r) {
  REQUIRE(r.commands_size() >= 1);
  const auto& last = r.commands(r.commands_size() - 1);
  REQUIRE(last.has_complete_workflow_execution());
  return from_payload(last.complete_workflow_execution().result());
}

}  // namespace

TEST_CASE("wait_condition: a signal before the timeout cancels the timer and yields true") {
  auto reg = make_registry();
  history_builder h("Approval");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 1);
  REQUIRE(first.commands(0).has_start_timer());
  CHECK(first.commands(0).start_timer().start_to_fire_timeout_ms() == 10000);
  h.complete_workflow_task(first);
  h.signaled("go", "yes");
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 2);
  REQUIRE(second.commands(0).has_cancel_timer());
  CHECK(second.commands(0).cancel_timer().timer_id() == "1");
  CHECK(result_of(second) == true);

  h.complete_workflow_task(second);  // the whole history replays the same way
  h.new_workflow_task();
  CHECK(completed(reg, h).commands_size() == 0);
}

TEST_CASE("wait_condition: the timer firing first yields false") {
  auto reg = make_registry();
  history_builder h("Approval");
  h.new_workflow_task();
  auto first = completed(reg, h);
  h.complete_workflow_task(first);
  h.advance(10000);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  CHECK(result_of(second) == false);
}

TEST_CASE("wait_condition: re-evaluated after every event - without a timeout records nothing") {
  auto reg = make_registry();
  history_builder h("ApprovalForever");
  h.new_workflow_task();
  auto first = completed(reg, h);
  CHECK(first.commands_size() == 0);
  h.complete_workflow_task(first);
  h.signaled("other");
  h.new_workflow_task();
  CHECK(completed(reg, h).commands_size() == 0);
  h.workflow_task_completed();
  h.signaled("go");
  h.new_workflow_task();
  CHECK(result_of(completed(reg, h)) == "approved");
}

TEST_CASE("wait_condition: a predicate true at once starts no timer") {
  auto reg = make_registry();
  history_builder h("AlreadyTrue");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 1);
  CHECK(result_of(first) == true);
}

TEST_CASE("random and uuid: seeded by the run ID - the same on every replay") {
  auto reg = make_registry();
  history_builder h("Dice");
  h.new_workflow_task();
  auto first = completed(reg, h);
  h.complete_workflow_task(first);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  json once = result_of(completed(reg, h));
  json again = result_of(completed(reg, h));
  CHECK(once == again);
  CHECK(once[0][0] != once[1][0]);
  std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  CHECK(std::regex_match(once[0][1].get<std::string>(), v4));
  CHECK(once[0][1] != once[1][1]);
}
