// workflow_cache: workflow tasks that carry only new events, answered by the cached replay
// machine, give what a replay of the whole history gives.
#include <doctest/doctest.h>

#include "tracked.hpp"

#include <chrono>
#include <string>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {

using chronicle::sdk::testing::tracked;

task<json> steps(workflow_context& ctx, json input) {
  tracked t;
  json sum = 0;
  for (int i = 0; i < input.get<int>(); ++i) {
    json r = co_await ctx.activity("Step", i);
    sum = sum.get<int>() + r.get<int>();
    co_await ctx.sleep(1s);
  }
  co_return sum;
}

task<json> signals(workflow_context& ctx, json) {
  tracked t;
  json got = json::array();
  for (int i = 0; i < 2; ++i) got.push_back(co_await ctx.wait_signal("add"));
  co_return got;
}

// is_replaying tells whether this code ran again: false all along when a cache resumed it.
task<json> replay_probe(workflow_context& ctx, json) {
  json seen = json::array();
  seen.push_back(ctx.is_replaying());
  co_await ctx.activity("Step", nullptr);
  seen.push_back(ctx.is_replaying());
  co_await ctx.activity("Step", nullptr);
  co_return seen;
}

// Throws in its first workflow task while `fail_once` is set (a bug fixed between attempts).
bool fail_once = false;
task<json> flaky(workflow_context& ctx, json) {
  tracked t;
  if (fail_once) {
    fail_once = false;
    throw std::logic_error("bug in workflow");
  }
  co_return co_await ctx.activity("Step", nullptr);
}

registry make_registry() {
  registry reg;
  reg.register_workflow("Steps", steps);
  reg.register_workflow("Signals", signals);
  reg.register_workflow("ReplayProbe", replay_probe);
  reg.register_workflow("Flaky", flaky);
  return reg;
}

const std::string identity = "worker-1";

// The task the server sends a worker that holds the events before `first_event_id`.
pb::WorkflowTask since(const history_builder& h, int64_t first_event_id) {
  auto task = h.workflow_task();
  if (first_event_id <= 1) return task;
  pb::WorkflowTask out = task;
  out.clear_history();
  for (const auto& e : task.history())
    if (e.event_id() >= first_event_id) *out.add_history() = e;
  out.set_first_event_id(first_event_id);
  return out;
}

pb::RespondWorkflowTaskCompleted completed(const workflow_task_result& result) {
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

// Answers the builder's current task through the cache (sent the events after `seen`) and by a
// whole replay, checks both give the same commands, records them; returns the last event id.
pb::RespondWorkflowTaskCompleted answer_both(const registry& reg, workflow_cache& cache,
                                             history_builder& h, int64_t seen) {
  auto task = since(h, seen + 1);
  REQUIRE(cache.can_answer(task));
  auto cached = completed(cache.run(reg, task, identity));
  auto whole = completed(run_workflow_task(reg, h.workflow_task(), identity));
  CHECK(cached.SerializeAsString() == whole.SerializeAsString());
  return cached;
}

int64_t last_id(const history_builder& h) {
  auto task = h.workflow_task();
  return task.history(task.history_size() - 1).event_id();
}

}  // namespace

TEST_CASE("workflow cache: tasks with only the new events resume the cached code") {
  registry reg = make_registry();
  workflow_cache cache(16);
  history_builder h("Steps", 5);
  h.new_workflow_task();
  int64_t seen = 0;
  int tasks = 0;
  for (;;) {
    auto response = answer_both(reg, cache, h, seen);
    ++tasks;
    seen = last_id(h);
    REQUIRE(response.commands_size() == 1);
    const auto& command = response.commands(0);
    if (command.has_complete_workflow_execution()) {
      CHECK(from_payload(command.complete_workflow_execution().result()) == 0 + 1 + 2 + 3 + 4);
      break;
    }
    h.complete_workflow_task(response);
    h.advance(10);
    if (command.has_schedule_activity_task()) {
      auto id = h.activity_scheduled_id(command.schedule_activity_task().activity_id());
      h.activity_started(id);
      h.activity_completed(id, from_payload(command.schedule_activity_task().input()));
    } else {
      REQUIRE(command.has_start_timer());
      h.timer_fired(h.timer_started_id(command.start_timer().timer_id()));
    }
    h.new_workflow_task();
  }
  CHECK(tasks == 11);
  CHECK(cache.stats().full == 1);
  CHECK(cache.stats().resumed == 10);
  CHECK(cache.stats().replayed == 0);
  CHECK(cache.size() == 0);  // the run finished: dropped, its frames destroyed
  CHECK(tracked::live == 0);
}

TEST_CASE("workflow cache: the cached code did not run again") {
  registry reg = make_registry();
  workflow_cache cache(16);
  history_builder h("ReplayProbe");
  h.new_workflow_task();
  auto r1 = completed(cache.run(reg, h.workflow_task(), identity));
  int64_t seen = last_id(h);
  h.complete_workflow_task(r1);
  h.activity_completed(h.activity_scheduled_id("1"), nullptr);
  h.new_workflow_task();
  auto r2 = completed(cache.run(reg, since(h, seen + 1), identity));
  seen = last_id(h);
  h.complete_workflow_task(r2);
  h.activity_completed(h.activity_scheduled_id("2"), nullptr);
  h.new_workflow_task();
  auto r3 = completed(cache.run(reg, since(h, seen + 1), identity));
  REQUIRE(r3.commands_size() == 1);
  // Replayed from the start, the first part would say true (see the replayer's clock test).
  CHECK(from_payload(r3.commands(0).complete_workflow_execution().result()) ==
        json::array({false, false}));
  auto whole = completed(run_workflow_task(reg, h.workflow_task(), identity));
  CHECK(from_payload(whole.commands(0).complete_workflow_execution().result()) ==
        json::array({true, true}));
}

TEST_CASE("workflow cache: a signal recorded while the task ran is delivered in the next task") {
  registry reg = make_registry();
  workflow_cache cache(16);
  history_builder h("Signals");
  h.new_workflow_task();
  auto r1 = answer_both(reg, cache, h, 0);
  int64_t seen = last_id(h);
  CHECK(r1.commands_size() == 0);
  h.signaled("add", 1);  // between WorkflowTaskStarted and WorkflowTaskCompleted
  h.complete_workflow_task(r1);
  h.new_workflow_task();
  auto r2 = answer_both(reg, cache, h, seen);
  seen = last_id(h);
  CHECK(r2.commands_size() == 0);
  h.complete_workflow_task(r2);
  h.signaled("add", 2);
  h.new_workflow_task();
  auto r3 = answer_both(reg, cache, h, seen);
  REQUIRE(r3.commands_size() == 1);
  CHECK(from_payload(r3.commands(0).complete_workflow_execution().result()) == json::array({1, 2}));
  CHECK(cache.stats().resumed == 2);
  CHECK(cache.stats().replayed == 0);
  CHECK(tracked::live == 0);
}

TEST_CASE("workflow cache: a task that did not complete is replayed from the cached events") {
  registry reg = make_registry();
  workflow_cache cache(16);
  history_builder h("Steps", 2);
  h.new_workflow_task();
  auto r1 = answer_both(reg, cache, h, 0);
  int64_t seen = last_id(h);
  // The answer came too late: the server timed the task out and started another attempt.
  h.advance(10000);
  h.workflow_task_timed_out();
  h.new_workflow_task();
  auto r2 = answer_both(reg, cache, h, seen);
  seen = last_id(h);
  CHECK(cache.stats().replayed == 1);
  h.complete_workflow_task(r2);
  auto id = h.activity_scheduled_id("1");
  h.activity_completed(id, 7);
  h.new_workflow_task();
  auto r3 = answer_both(reg, cache, h, seen);
  REQUIRE(r3.commands_size() == 1);
  CHECK(r3.commands(0).has_start_timer());
  CHECK(cache.stats().resumed == 1);
}

TEST_CASE("workflow cache: a task answered with a failure keeps the events but drops the code") {
  registry reg = make_registry();
  workflow_cache cache(16);
  history_builder h("Flaky");
  h.new_workflow_task();
  fail_once = true;
  auto result = cache.run(reg, h.workflow_task(), identity);
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(result));
  CHECK(std::get<pb::RespondWorkflowTaskFailed>(result).failure().type() ==
        workflow_task_error_type);
  int64_t seen = last_id(h);
  CHECK(cache.size() == 1);
  h.workflow_task_failed("bug in workflow");
  h.new_workflow_task();
  auto r2 = answer_both(reg, cache, h, seen);
  REQUIRE(r2.commands_size() == 1);
  CHECK(r2.commands(0).has_schedule_activity_task());
  CHECK(cache.stats().replayed == 1);
  CHECK(tracked::live == 1);  // the cached run's frames
}

TEST_CASE("workflow cache: events the worker does not hold are refused") {
  registry reg = make_registry();
  workflow_cache cache(1);
  history_builder a("Steps", 2, "wf-a", "run-a");
  history_builder b("Steps", 2, "wf-b", "run-b");
  a.new_workflow_task();
  b.new_workflow_task();
  auto ra = completed(cache.run(reg, a.workflow_task(), identity));
  int64_t seen_a = last_id(a);
  completed(cache.run(reg, b.workflow_task(), identity));  // evicts run a (capacity 1)
  CHECK(cache.stats().evicted == 1);
  CHECK(cache.size() == 1);
  a.complete_workflow_task(ra);
  a.activity_completed(a.activity_scheduled_id("1"), 1);
  a.new_workflow_task();
  auto partial = since(a, seen_a + 1);
  CHECK_FALSE(cache.can_answer(partial));
  auto refused = cache.run(reg, partial, identity);
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(refused));
  CHECK(std::get<pb::RespondWorkflowTaskFailed>(refused).failure().type() == invalid_history_type);
  // A gap (a task missed) is refused too.
  CHECK_FALSE(cache.can_answer(since(a, seen_a + 2)));
  // The whole history is always answered.
  auto whole = a.workflow_task();
  CHECK(cache.can_answer(whole));
  auto r = completed(cache.run(reg, whole, identity));
  REQUIRE(r.commands_size() == 1);
  CHECK(r.commands(0).has_start_timer());
  // Another run with the same workflow ID is another entry.
  history_builder a2("Steps", 2, "wf-a", "run-a2");
  a2.new_workflow_task();
  a2.complete_workflow_task(completed(run_workflow_task(reg, a2.workflow_task(), identity)));
  a2.activity_completed(a2.activity_scheduled_id("1"), 1);
  a2.new_workflow_task();
  CHECK_FALSE(cache.can_answer(since(a2, seen_a + 1)));
}

TEST_CASE("workflow cache: malformed new events fail the task and keep the cache usable") {
  registry reg = make_registry();
  workflow_cache cache(16);
  history_builder h("Steps", 2);
  h.new_workflow_task();
  auto r1 = completed(cache.run(reg, h.workflow_task(), identity));
  int64_t seen = last_id(h);
  h.complete_workflow_task(r1);
  h.activity_completed(h.activity_scheduled_id("1"), 1);
  h.new_workflow_task();
  auto good = since(h, seen + 1);

  auto not_ending = good;
  not_ending.mutable_history()->RemoveLast();
  auto bad = cache.run(reg, not_ending, identity);
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(bad));
  CHECK(std::get<pb::RespondWorkflowTaskFailed>(bad).failure().type() == invalid_history_type);

  auto wrong_first = good;
  wrong_first.set_first_event_id(seen);  // claims to start at an event the cache has
  CHECK_FALSE(cache.can_answer(wrong_first));

  auto wrong_type = good;
  wrong_type.set_workflow_type("Signals");
  auto bad_type = cache.run(reg, wrong_type, identity);
  REQUIRE(std::holds_alternative<pb::RespondWorkflowTaskFailed>(bad_type));
  CHECK(std::get<pb::RespondWorkflowTaskFailed>(bad_type).failure().type() == invalid_history_type);

  auto r2 = completed(cache.run(reg, good, identity));
  REQUIRE(r2.commands_size() == 1);
  CHECK(r2.commands(0).has_start_timer());
  CHECK(cache.stats().resumed == 1);
}
