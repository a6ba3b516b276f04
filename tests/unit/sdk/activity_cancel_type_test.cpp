// Activity cancellation types (Temporal's ActivityCancellationType): which command a canceled
// activity sends and when its await ends, for TRY_CANCEL, WAIT_CANCELLATION_COMPLETED and ABANDON,
// replayed against histories shaped as the server records them.
#include <doctest/doctest.h>

#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"
#include "task_results.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using chronicle::sdk::testing::completed_result;
using chronicle::sdk::testing::run_completed;

namespace {

activity_cancellation_type type_of(const json& name) {
  if (name == "wait") return activity_cancellation_type::wait_cancellation_completed;
  if (name == "abandon") return activity_cancellation_type::abandon;
  return activity_cancellation_type::try_cancel;
}

// Runs "Work" in a scope with the cancellation type the input names; on signal "cancel" cancels
// the scope and awaits the activity; returns how the await ended once signal "finish" came.
task<json> cancels_work(workflow_context& ctx, json input) {
  activity_options opts;
  opts.cancellation_type = type_of(input);
  std::optional<activity_awaitable> work;
  auto scope = ctx.cancellation_scope([&] { work.emplace(ctx.activity("Work", nullptr, opts)); });
  co_await ctx.wait_signal("cancel");
  scope.cancel("no longer needed");
  std::string how;
  try {
    json r = co_await *work;
    how = "result " + r.dump();
  } catch (const canceled_error& e) {
    how = std::string("canceled: ") + e.what();
  }
  co_await ctx.wait_signal("finish");
  co_return how;
}

// The workflow's own cancel request reaching an activity of the input's type; the await's end
// is returned (the code catches canceled_error).
task<json> awaits_work(workflow_context& ctx, json input) {
  activity_options opts;
  opts.cancellation_type = type_of(input);
  try {
    json r = co_await ctx.activity("Work", nullptr, opts);
    co_return "result " + r.dump();
  } catch (const canceled_error& e) {
    co_return std::string("canceled: ") + e.what();
  }
}

registry make_registry() {
  registry reg;
  reg.register_workflow("CancelsWork", cancels_work);
  reg.register_workflow("AwaitsWork", awaits_work);
  return reg;
}

// CancelsWork of `type` up to the task that handles signal "cancel": `r` is that task's answer,
// `scheduled` the activity's ActivityTaskScheduled.
struct cancel_signaled {
  registry reg = make_registry();
  history_builder h;
  int64_t scheduled = 0;
  pb::RespondWorkflowTaskCompleted r;

  explicit cancel_signaled(const char* type) : h("CancelsWork", type) {
    h.new_workflow_task();
    h.complete_workflow_task(run_completed(reg, h));
    scheduled = h.activity_scheduled_id("1");
    h.signaled("cancel");
    h.new_workflow_task();
    r = run_completed(reg, h);
  }
};

}  // namespace

TEST_CASE("cancellation types: try_cancel sends the request and ends the await at once") {
  cancel_signaled c("try");
  auto& [reg, h, scheduled, r] = c;
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).request_cancel_activity_task().scheduled_event_id() == scheduled);
  h.complete_workflow_task(r);  // ActivityTaskCancelRequested + ActivityTaskCanceled
  h.signaled("finish");
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == "canceled: no longer needed");
}

TEST_CASE("cancellation types: wait_cancellation_completed waits for ActivityTaskCanceled") {
  cancel_signaled c("wait");
  auto& [reg, h, scheduled, r] = c;
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).request_cancel_activity_task().scheduled_event_id() == scheduled);
  // A started activity: the server records the request; the activity stops later.
  h.workflow_task_completed();
  int64_t requested = h.activity_cancel_requested(scheduled);
  h.signaled("finish");  // the await has not ended: the code does not wait for "finish" yet
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
  h.workflow_task_completed();
  h.activity_started(scheduled);
  h.activity_canceled(scheduled, requested);
  h.new_workflow_task();
  auto done = run_completed(reg, h);
  REQUIRE(done.commands_size() == 1);
  CHECK(completed_result(done) == "canceled: no longer needed");
  // The whole history replays to the same commands (no second cancel request).
  h.complete_workflow_task(done);
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
}

TEST_CASE("cancellation types: wait_cancellation_completed ends with a result recorded after the request") {
  cancel_signaled c("wait");
  auto& [reg, h, scheduled, r] = c;
  REQUIRE(r.commands_size() == 1);
  h.workflow_task_completed();
  h.activity_cancel_requested(scheduled);
  h.activity_started(scheduled);
  h.activity_completed(scheduled, "done anyway");
  h.signaled("finish");
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == "result \"done anyway\"");
}

TEST_CASE("cancellation types: wait_cancellation_completed sends no request for a result the task carries") {
  registry reg = make_registry();
  history_builder h("CancelsWork", "wait");
  h.new_workflow_task();
  h.complete_workflow_task(run_completed(reg, h));
  int64_t scheduled = h.activity_scheduled_id("1");
  h.signaled("cancel");
  h.activity_started(scheduled);
  h.activity_completed(scheduled, "raced");  // same task, after the signal
  h.signaled("finish");
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 1);
  CHECK(completed_result(r) == "result \"raced\"");
}

TEST_CASE("cancellation types: abandon sends nothing - the await ends at once - the late result is ignored") {
  cancel_signaled c("abandon");
  auto& [reg, h, scheduled, r] = c;
  CHECK(r.commands_size() == 0);  // no RequestCancelActivityTask: the code waits for "finish"
  h.complete_workflow_task(r);
  h.activity_started(scheduled);
  h.activity_completed(scheduled, "ignored");
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);
  h.workflow_task_completed();
  h.signaled("finish");
  h.new_workflow_task();
  CHECK(completed_result(run_completed(reg, h)) == "canceled: no longer needed");
}

TEST_CASE("cancellation types: the workflow's cancel request follows each type") {
  registry reg = make_registry();
  for (const char* type : {"try", "wait", "abandon"}) {
    CAPTURE(type);
    history_builder h("AwaitsWork", type);
    h.new_workflow_task();
    h.complete_workflow_task(run_completed(reg, h));
    int64_t scheduled = h.activity_scheduled_id("1");
    h.cancel_requested("stop");
    h.new_workflow_task();
    auto r = run_completed(reg, h);
    const std::string t = type;
    if (t == "wait") {  // the request only: the code still awaits the activity
      REQUIRE(r.commands_size() == 1);
      CHECK(r.commands(0).request_cancel_activity_task().scheduled_event_id() == scheduled);
      h.workflow_task_completed();
      int64_t requested = h.activity_cancel_requested(scheduled);
      h.activity_started(scheduled);
      h.activity_canceled(scheduled, requested);
      h.new_workflow_task();
      r = run_completed(reg, h);
      REQUIRE(r.commands_size() == 1);
    } else if (t == "try") {
      REQUIRE(r.commands_size() == 2);
      CHECK(r.commands(0).has_request_cancel_activity_task());
    } else {
      REQUIRE(r.commands_size() == 1);  // abandon: no request
    }
    CHECK(completed_result(r) == "canceled: workflow execution canceled: stop");
  }
}

TEST_CASE("cancellation types: a scope canceled then the workflow canceled asks the server once") {
  cancel_signaled c("wait");
  auto& [reg, h, scheduled, r] = c;
  REQUIRE(r.commands_size() == 1);
  h.workflow_task_completed();
  h.activity_cancel_requested(scheduled);
  h.cancel_requested("stop");
  h.new_workflow_task();
  CHECK(run_completed(reg, h).commands_size() == 0);  // a second request would fail the task
}

namespace {

task<json> prioritized(workflow_context& ctx, json) {
  activity_options urgent;
  urgent.priority = 1;
  auto a = ctx.activity("Work", "urgent", urgent);
  auto b = ctx.activity("Work", "plain");  // the run's priority
  co_await a;
  co_await b;
  co_return "done";
}

}  // namespace

TEST_CASE("activity options: the priority key goes on ScheduleActivityTask - 0 means the run's") {
  registry reg;
  reg.register_workflow("Prioritized", prioritized);
  history_builder h("Prioritized", nullptr);
  h.new_workflow_task();
  auto r = run_completed(reg, h);
  REQUIRE(r.commands_size() == 2);
  CHECK(r.commands(0).schedule_activity_task().priority() == 1);
  CHECK(r.commands(1).schedule_activity_task().priority() == 0);
}
