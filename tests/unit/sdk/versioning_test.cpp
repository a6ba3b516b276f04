// Markers on replay: patched / deprecate_patch (versioning) and side_effect.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

task<json> old_code(workflow_context& ctx, json) {
  json r = co_await ctx.activity("Old", nullptr);
  co_await ctx.sleep(1s);
  co_return r;
}

task<json> patched_code(workflow_context& ctx, json) {
  json r;
  if (ctx.patched("use-new"))
    r = co_await ctx.activity("New", nullptr);
  else
    r = co_await ctx.activity("Old", nullptr);
  co_await ctx.sleep(1s);
  co_return r;
}

task<json> deprecated_code(workflow_context& ctx, json) {
  ctx.deprecate_patch("use-new");
  json r = co_await ctx.activity("New", nullptr);
  co_await ctx.sleep(1s);
  co_return r;
}

task<json> final_code(workflow_context& ctx, json) {  // the patch call removed
  json r = co_await ctx.activity("New", nullptr);
  co_await ctx.sleep(1s);
  co_return r;
}

task<json> unsafe_change(workflow_context& ctx, json) {
  json r = co_await ctx.activity("New", nullptr);
  co_await ctx.sleep(1s);
  co_return r;
}

int side_effect_calls = 0;
int side_effect_value = 7;

task<json> side_effecting(workflow_context& ctx, json) {
  json v = ctx.side_effect([] {
    ++side_effect_calls;
    return json(side_effect_value);
  });
  co_await ctx.sleep(1s);
  co_return v;
}

registry with(const std::string& name, workflow_fn fn) {
  registry reg;
  reg.register_workflow(name, std::move(fn));
  return reg;
}

pb::RespondWorkflowTaskCompleted completed(const registry& reg, const history_builder& h) {
  auto result = run_workflow_task(reg, h.workflow_task(), "w");
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

// Records the answer, completes activity "1" with `result` and starts the next task.
void finish_activity(history_builder& h, const pb::RespondWorkflowTaskCompleted& answer,
                     const json& result) {
  h.complete_workflow_task(answer);
  int64_t scheduled = h.activity_scheduled_id("1");
  REQUIRE(scheduled != 0);
  h.activity_started(scheduled);
  h.activity_completed(scheduled, result);
  h.new_workflow_task();
}

std::string activity_type(const pb::Command& c) {
  return c.has_schedule_activity_task() ? c.schedule_activity_task().activity_type().name() : "";
}

}  // namespace

TEST_CASE("patched: a new run records a core_patch marker and takes the new branch") {
  auto reg = with("Flow", patched_code);
  history_builder h("Flow");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 2);
  REQUIRE(first.commands(0).has_record_marker());
  const auto& marker = first.commands(0).record_marker();
  CHECK(marker.marker_name() == "core_patch");
  CHECK(from_payload(marker.details().at("patch_id")) == "use-new");
  CHECK(from_payload(marker.details().at("deprecated")) == false);
  CHECK(activity_type(first.commands(1)) == "New");

  finish_activity(h, first, "new result");  // replay: the marker is in history, still new
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  CHECK(second.commands(0).has_start_timer());
}

TEST_CASE("patched: a run started on the old code replays the old branch after the deploy") {
  history_builder h("Flow");
  h.new_workflow_task();
  auto first = completed(with("Flow", old_code), h);
  REQUIRE(first.commands_size() == 1);
  finish_activity(h, first, "old result");
  auto reg = with("Flow", patched_code);  // the new code replays the old run
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  CHECK(second.commands(0).has_start_timer());
  h.complete_workflow_task(second);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  auto third = completed(reg, h);
  REQUIRE(third.commands_size() == 1);
  CHECK(from_payload(third.commands(0).complete_workflow_execution().result()) == "old result");
}

TEST_CASE("patched: an unpatched change of an old run is a non-determinism error") {
  history_builder h("Flow");
  h.new_workflow_task();
  auto first = completed(with("Flow", old_code), h);
  finish_activity(h, first, "old result");
  auto result = run_workflow_task(with("Flow", unsafe_change), h.workflow_task(), "w");
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  CHECK(std::get<pb::RespondWorkflowTaskFailed>(result).failure().message().find("non-deterministic")
        != std::string::npos);
}

TEST_CASE("deprecate_patch: replays runs with the marker and records it on new runs") {
  history_builder h("Flow");
  h.new_workflow_task();
  auto first = completed(with("Flow", patched_code), h);
  finish_activity(h, first, "new result");
  auto second = completed(with("Flow", deprecated_code), h);
  REQUIRE(second.commands_size() == 1);
  CHECK(second.commands(0).has_start_timer());

  history_builder fresh("Flow");
  fresh.new_workflow_task();
  auto started = completed(with("Flow", deprecated_code), fresh);
  REQUIRE(started.commands_size() == 2);
  CHECK(started.commands(0).has_record_marker());
  CHECK(from_payload(started.commands(0).record_marker().details().at("deprecated")) == true);
}

TEST_CASE("patched: code without the patch call skips the recorded patch marker") {
  history_builder h("Flow");
  h.new_workflow_task();
  auto first = completed(with("Flow", patched_code), h);
  finish_activity(h, first, "new result");
  auto second = completed(with("Flow", final_code), h);
  REQUIRE(second.commands_size() == 1);
  CHECK(second.commands(0).has_start_timer());
}

TEST_CASE("side_effect: runs once - recorded as a SideEffect marker - replayed from history") {
  side_effect_calls = 0;
  side_effect_value = 7;
  auto reg = with("Side", side_effecting);
  history_builder h("Side");
  h.new_workflow_task();
  auto first = completed(reg, h);
  REQUIRE(first.commands_size() == 2);
  REQUIRE(first.commands(0).has_record_marker());
  CHECK(first.commands(0).record_marker().marker_name() == "SideEffect");
  CHECK(from_payload(first.commands(0).record_marker().details().at("data")) == 7);
  CHECK(side_effect_calls == 1);

  side_effect_value = 99;  // a replay must not see this
  h.complete_workflow_task(first);
  h.timer_fired(h.timer_started_id("1"));
  h.new_workflow_task();
  auto second = completed(reg, h);
  REQUIRE(second.commands_size() == 1);
  CHECK(from_payload(second.commands(0).complete_workflow_execution().result()) == 7);
  CHECK(side_effect_calls == 1);
}
