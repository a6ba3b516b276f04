// Replay of child workflows and continue-as-new.
#include <doctest/doctest.h>

#include <chrono>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

task<json> two_children(workflow_context& ctx, json) {
  child_workflow_options named;
  named.workflow_id = "explicit-id";
  named.parent_close_policy = pb::PARENT_CLOSE_POLICY_ABANDON;
  auto a = ctx.child_workflow("Kid", json{{"n", 1}});
  auto b = ctx.child_workflow("Kid", json{{"n", 2}}, named);
  json out = json::array();
  out.push_back(co_await a);
  try {
    out.push_back(co_await b);
  } catch (const child_workflow_failure& e) {
    out.push_back(json{{"how", e.how()}, {"type", e.type()}, {"what", e.what()}});
  }
  co_return out;
}

task<json> counter(workflow_context& ctx, json input) {
  int n = input.value("n", 0);
  co_await ctx.sleep(1s);
  if (n < 2) ctx.continue_as_new(json{{"n", n + 1}});
  co_return n;
}

task<json> uncaught_child(workflow_context& ctx, json) {
  co_return co_await ctx.child_workflow("Kid", nullptr);
}

registry make_registry() {
  registry reg;
  reg.register_workflow("TwoChildren", two_children);
  reg.register_workflow("Counter", counter);
  reg.register_workflow("UncaughtChild", uncaught_child);
  return reg;
}

pb::RespondWorkflowTaskCompleted completed(const registry& reg, const history_builder& h) {
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": " << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

}  // namespace

TEST_CASE("sdk child: commands carry IDs and options - results and failures resolve the awaits") {
  auto reg = make_registry();
  history_builder h("TwoChildren");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 2);
  auto& a = first.commands(0).start_child_workflow_execution();
  auto& b = first.commands(1).start_child_workflow_execution();
  CHECK(a.workflow_id() == "wf-1-child-1");
  CHECK(a.workflow_type() == "Kid");
  CHECK(a.parent_close_policy() == pb::PARENT_CLOSE_POLICY_UNSPECIFIED);
  CHECK(b.workflow_id() == "explicit-id");
  CHECK(b.parent_close_policy() == pb::PARENT_CLOSE_POLICY_ABANDON);
  auto ids = h.complete_workflow_task(first);
  REQUIRE(ids.size() == 2);

  // Started events alone wake nobody: no new commands.
  h.child_started(ids[0], "kid-run-1");
  h.child_started(ids[1], "kid-run-2");
  h.new_workflow_task();
  auto second = completed(reg, h);
  CHECK(second.commands_size() == 0);
  h.complete_workflow_task(second);

  pb::Failure failure;
  failure.set_type("Oops");
  failure.set_message("kid broke");
  h.child_closed(pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, ids[0], json{{"ok", 1}});
  h.child_closed(pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED, ids[1], nullptr, failure);
  h.new_workflow_task();
  auto third = completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  REQUIRE(third.commands(0).has_complete_workflow_execution());
  auto out = from_payload(third.commands(0).complete_workflow_execution().result());
  CHECK(out[0] == json{{"ok", 1}});
  CHECK(out[1]["how"] == "ChildWorkflowExecutionFailed");
  CHECK(out[1]["type"] == "Oops");
  CHECK(out[1]["what"] == "ChildWorkflowExecutionFailed: kid broke");
}

TEST_CASE("sdk child: a child that cannot start fails the await - uncaught it fails the parent") {
  auto reg = make_registry();
  history_builder h("UncaughtChild");
  h.new_workflow_task();
  auto first = completed(reg, h);
  auto ids = h.complete_workflow_task(first);
  h.child_start_failed(ids[0], "WorkflowExecutionAlreadyStarted");
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  REQUIRE(second.commands(0).has_fail_workflow_execution());
  auto& f = second.commands(0).fail_workflow_execution().failure();
  CHECK(f.type() == "WorkflowExecutionAlreadyStarted");
  CHECK(f.message().find("could not start") != std::string::npos);
}

TEST_CASE("sdk child: a changed child type under a recorded history is non-determinism") {
  auto reg = make_registry();
  history_builder h("UncaughtChild");
  h.new_workflow_task();
  h.workflow_task_completed();
  pb::StartChildWorkflowExecutionCommandAttributes other;
  other.set_workflow_id("wf-1-child-1");
  other.set_workflow_type("OtherKid");
  h.child_initiated(other);
  h.new_workflow_task();
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  auto& f = std::get<pb::RespondWorkflowTaskFailed>(result).failure();
  CHECK(f.type() == nondeterminism_type);
  CHECK(f.message().find("OtherKid") != std::string::npos);
}

TEST_CASE("sdk continue-as-new: the escaping request becomes the closing command - replay matches it") {
  auto reg = make_registry();
  history_builder h("Counter", json{{"n", 0}});
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands(0).has_start_timer());
  h.complete_workflow_task(first);
  h.advance(1000);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  REQUIRE(second.commands(0).has_continue_as_new_workflow_execution());
  auto& can = second.commands(0).continue_as_new_workflow_execution();
  CHECK(from_payload(can.input()) == json{{"n", 1}});
  CHECK(can.workflow_type().empty());  // the same type
  // Recorded: a replay (e.g. for a query) matches the closing event.
  h.complete_workflow_task(second);
  pb::QueryTask q;
  q.set_workflow_type("Counter");
  q.set_query_type("none");
  for (auto& ev : h.events()) *q.add_history() = ev;
  auto answer = run_query(reg, q);
  REQUIRE(std::holds_alternative<std::string>(answer));
  CHECK(std::get<std::string>(answer).find("unknown query type") != std::string::npos);

  // The last run completes.
  history_builder last("Counter", json{{"n", 2}});
  last.new_workflow_task();
  auto t1 = completed(reg, last);
  last.complete_workflow_task(t1);
  last.advance(1000);
  last.timer_fired(last.timer_started_id("1"));
  last.new_workflow_task();
  auto t2 = completed(reg, last);
  REQUIRE(t2.commands(0).has_complete_workflow_execution());
  CHECK(from_payload(t2.commands(0).complete_workflow_execution().result()) == 2);
}
