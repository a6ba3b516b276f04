// Workflow Update through decide and apply: admission (speculative workflow tasks), the update
// commands, and what a speculative task becomes when other events arrive.
#include <doctest/doctest.h>

#include "decide_support.hpp"
#include "shards/decide.hpp"

using namespace chronicle;
using chronicle::testing::t0;

namespace {

// A run whose first workflow task completed with no command: idle, no task pending.
testing::decided_run idle() {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("u1");
  req.set_workflow_type("Updatable");
  req.set_task_queue("q");
  auto r = testing::decided_run::started(req);
  r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  return r;
}

pb::Command accept(const std::string& id, const std::string& name = "add") {
  pb::Command c;
  c.mutable_accept_workflow_update()->set_update_id(id);
  c.mutable_accept_workflow_update()->set_name(name);
  c.mutable_accept_workflow_update()->mutable_input()->set_data("1");
  return c;
}

pb::Command complete(const std::string& id, const std::string& result) {
  pb::Command c;
  c.mutable_complete_workflow_update()->set_update_id(id);
  c.mutable_complete_workflow_update()->mutable_result()->set_data(result);
  return c;
}

pb::Command timer(const std::string& id) {
  pb::Command c;
  c.mutable_start_timer()->set_timer_id(id);
  c.mutable_start_timer()->set_start_to_fire_timeout_ms(1000);
  return c;
}

// Events of the given types, in order?
bool types_are(const std::vector<pb::HistoryEvent>& evs, std::vector<pb::EventType> types) {
  if (evs.size() != types.size()) return false;
  for (size_t i = 0; i < evs.size(); ++i)
    if (evs[i].event_type() != types[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("an update admitted to an idle run schedules a speculative task with no event and no record") {
  auto r = idle();
  auto next = r.state.next_event_id();
  auto t = r.step(input::update_admitted{}, t0 + 5);
  CHECK(t.memory_only);
  CHECK(t.events.empty());
  CHECK(t.transfers_added.empty());
  REQUIRE(r.state.has_workflow_task());
  CHECK(r.state.workflow_task().speculative());
  CHECK(r.state.workflow_task().scheduled_event_id() == next);
  CHECK(r.state.workflow_task().scheduled_time_ms() == t0 + 5);
  CHECK(r.state.next_event_id() == next);
}

TEST_CASE("an update admitted while a workflow task is pending changes nothing") {
  auto r = idle();
  pb::Command c;
  r.step(input::signal_workflow{"s", {}, "", ""});
  auto before = r.state.SerializeAsString();
  auto t = r.step(input::update_admitted{});
  CHECK(t.memory_only);
  CHECK(r.state.SerializeAsString() == before);
  CHECK_FALSE(r.state.workflow_task().speculative());
}

TEST_CASE("an update to a closed run is refused as not_found") {
  auto r = idle();
  r.step(input::terminate_workflow{"done", ""});
  auto res = decide(r.state, input::update_admitted{}, t0);
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).code == errc::not_found);
}

TEST_CASE("a speculative task started and answered with no command leaves no event and no task") {
  auto r = idle();
  auto next = r.state.next_event_id();
  r.step(input::update_admitted{});
  auto started = r.step(input::workflow_task_started{r.wt(), "w1"});
  CHECK(started.memory_only);
  CHECK(started.events.empty());
  CHECK(r.state.workflow_task().started_event_id() == next + 1);
  auto t = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});  // the validator rejected it
  CHECK(t.memory_only);
  CHECK(t.events.empty());
  CHECK_FALSE(r.state.has_workflow_task());
  CHECK(r.state.next_event_id() == next);
}

TEST_CASE("a speculative task that accepts an update writes its Scheduled and Started events with the IDs the worker saw") {
  auto r = idle();
  auto next = r.state.next_event_id();
  r.step(input::update_admitted{}, t0 + 10);
  r.step(input::workflow_task_started{r.wt(), "w1"}, t0 + 20);
  auto t = r.step(input::workflow_task_completed{r.wt(), {accept("up-1"), complete("up-1", "42")}, "w1"},
                  t0 + 30);
  CHECK_FALSE(t.memory_only);
  REQUIRE(types_are(t.events, {pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED}));
  CHECK(t.events[0].event_id() == next);
  CHECK(t.events[0].event_time_ms() == t0 + 10);
  CHECK(t.events[1].event_id() == next + 1);
  CHECK(t.events[1].event_time_ms() == t0 + 20);
  CHECK(t.events[1].workflow_task_started().identity() == "w1");
  auto& accepted = t.events[3].workflow_execution_update_accepted();
  CHECK(accepted.update_id() == "up-1");
  CHECK(accepted.name() == "add");
  CHECK(accepted.workflow_task_completed_event_id() == t.events[2].event_id());
  auto& completed = t.events[4].workflow_execution_update_completed();
  CHECK(completed.accepted_event_id() == t.events[3].event_id());
  CHECK(completed.result().data() == "42");
  auto& info = r.state.updates().at("up-1");
  CHECK(info.completed_event_id() == t.events[4].event_id());
  CHECK(info.result().data() == "42");
  CHECK_FALSE(r.state.has_workflow_task());
  CHECK(t.transfers_added.empty());  // no transfer left behind for the ended task
}

TEST_CASE("an update completed in a later task names its accepted event and keeps its failure") {
  auto r = idle();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  r.step(input::workflow_task_completed{r.wt(), {accept("up-2"), timer("t")}, "w1"});
  auto accepted_id = r.state.updates().at("up-2").accepted_event_id();
  CHECK(r.state.updates().at("up-2").completed_event_id() == 0);
  r.step(input::timer_fired{r.state.pending_timers().begin()->first});
  r.take_task();
  pb::Command failed;
  failed.mutable_complete_workflow_update()->set_update_id("up-2");
  failed.mutable_complete_workflow_update()->mutable_failure()->set_message("no");
  auto t = r.step(input::workflow_task_completed{r.wt(), {failed}, "w1"});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[1].workflow_execution_update_completed().accepted_event_id() == accepted_id);
  CHECK(r.state.updates().at("up-2").failure().message() == "no");
}

TEST_CASE("accepting an update already accepted fails the workflow task as BadUpdateWorkflowExecutionMessage") {
  auto r = idle();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  r.step(input::workflow_task_completed{r.wt(), {accept("up-3")}, "w1"});
  r.step(input::signal_workflow{"s", {}, "", ""});
  r.take_task();
  auto t = r.step(input::workflow_task_completed{r.wt(), {accept("up-3")}, "w1"});
  REQUIRE(t.events.size() >= 1);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(t.events[0].workflow_task_failed().cause()
        == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE);
}

TEST_CASE("completing an update that was never accepted fails the workflow task") {
  auto r = idle();
  r.step(input::signal_workflow{"s", {}, "", ""});
  r.take_task();
  auto t = r.step(input::workflow_task_completed{r.wt(), {complete("nope", "1")}, "w1"});
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(t.events[0].workflow_task_failed().failure().message().find("not accepted") != std::string::npos);
  CHECK(r.state.updates().empty());
}

TEST_CASE("completing an update twice in one task fails the workflow task") {
  auto r = idle();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::workflow_task_completed{
    r.wt(), {accept("up-4"), complete("up-4", "1"), complete("up-4", "2")}, "w1"});
  // Materialized (a failed speculative task is written), then failed; the retry is transient.
  REQUIRE(types_are(t.events, {pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_FAILED}));
  CHECK(r.state.workflow_task().transient());
  CHECK(r.state.updates().empty());
}

TEST_CASE("a signal while a speculative task is started writes the task's events and buffers the signal") {
  auto r = idle();
  auto next = r.state.next_event_id();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::signal_workflow{"s", {}, "", ""});
  REQUIRE(types_are(t.events, {pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_STARTED}));
  CHECK(t.events[0].event_id() == next);
  REQUIRE(t.transfers_added.size() == 1);  // recovery finds the started task by it
  CHECK_FALSE(r.state.workflow_task().speculative());
  CHECK(r.state.buffered_events_size() == 1);
  // The worker's answer (rejection only) then completes a normal task: the signal follows it.
  auto done = r.step(input::workflow_task_completed{next, {}, "w1"});
  REQUIRE(types_are(done.events, {pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                  pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                  pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
}

TEST_CASE("a signal while a speculative task is only scheduled replaces it with a normal task after the signal") {
  auto r = idle();
  r.step(input::update_admitted{});
  auto speculative_id = r.wt();
  auto t = r.step(input::signal_workflow{"s", {}, "", ""});
  REQUIRE(types_are(t.events, {pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}));
  CHECK(t.events[0].event_id() == speculative_id);
  CHECK_FALSE(r.state.workflow_task().speculative());
  CHECK(r.wt() != speculative_id);
  // The speculative task's token is stale now.
  auto res = decide(r.state, input::workflow_task_started{speculative_id, "w1"}, t0);
  CHECK(std::holds_alternative<rejection>(res));
}

TEST_CASE("a speculative task that times out is written before WorkflowTaskTimedOut and a durable retry follows") {
  auto r = idle();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::workflow_task_timed_out{r.wt(), "node restarted"});
  REQUIRE(types_are(t.events, {pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}));
  CHECK(r.state.workflow_task().transient());  // attempt 2: written in the state, not as events
  CHECK(r.state.workflow_task().attempt() == 2);
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(t.transfers_added[0].scheduled_event_id() == r.wt());
}

TEST_CASE("terminate while a speculative task is started writes its events before WorkflowTaskFailed") {
  auto r = idle();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::terminate_workflow{"stop", ""});
  REQUIRE(types_are(t.events, {pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_FAILED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED}));
}

TEST_CASE("a task that closes the workflow while updates wait undelivered is failed as UnhandledCommand") {
  auto r = idle();
  r.step(input::signal_workflow{"s", {}, "", ""});
  r.take_task();
  pb::Command close;
  close.mutable_complete_workflow_execution();
  input::workflow_task_completed in{r.wt(), {close}, "w1"};
  in.undelivered_updates = 1;
  auto t = r.step(in);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(t.events[0].workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  CHECK(is_running(r.state));
}

TEST_CASE("folding apply over a history with updates yields the stored updates") {
  auto r = idle();
  r.step(input::update_admitted{});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  r.step(input::workflow_task_completed{r.wt(), {accept("a"), accept("b"), complete("a", "1")}, "w1"});
  pb::MutableState folded;
  for (auto& ev : r.history) apply(folded, ev);
  CHECK(folded.updates_size() == 2);
  CHECK(folded.updates().at("a").SerializeAsString() == r.state.updates().at("a").SerializeAsString());
  CHECK(folded.updates().at("b").SerializeAsString() == r.state.updates().at("b").SerializeAsString());
  CHECK(folded.next_event_id() == r.state.next_event_id());
}
