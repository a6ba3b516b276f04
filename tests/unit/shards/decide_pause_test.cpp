// decide for pause / unpause (docs/semantics.md "Pause").
#include <doctest/doctest.h>

#include "shards/decide.hpp"
#include "decide_support.hpp"

using namespace chronicle;
using chronicle::testing::must;
using chronicle::testing::t0;

namespace {

struct run : testing::decided_run {
  // Started, its first workflow task started.
  static run started() {
    pb::StartWorkflowRequest req;
    req.set_namespace_("default");
    req.set_workflow_id("p1");
    req.set_workflow_type("Waiter");
    req.set_task_queue("q");
    return {decided_run::started(req)};
  }
  // Started, its first task completed with `commands` (nothing pending but what they add).
  static run waiting(std::vector<pb::Command> commands = {}) {
    auto r = started();
    r.step(input::workflow_task_completed{r.wt(), std::move(commands), "w1"});
    return r;
  }
};

rejection must_reject(decide_result r) {
  REQUIRE(std::holds_alternative<rejection>(r));
  return std::get<rejection>(std::move(r));
}

std::vector<pb::EventType> types(const std::vector<pb::HistoryEvent>& evs) {
  std::vector<pb::EventType> out;
  for (auto& ev : evs) out.push_back(ev.event_type());
  return out;
}

input::signal_workflow sig(const std::string& name) { return {name, {}, "cli", ""}; }

pb::Command timer_cmd(const std::string& id, int64_t ms) {
  pb::Command c;
  c.mutable_start_timer()->set_timer_id(id);
  c.mutable_start_timer()->set_start_to_fire_timeout_ms(ms);
  return c;
}

pb::Command activity_cmd(const std::string& id) {
  pb::Command c;
  auto* a = c.mutable_schedule_activity_task();
  a->set_activity_id(id);
  a->mutable_activity_type()->set_name("Work");
  a->set_start_to_close_timeout_ms(10'000);
  return c;
}

pb::Command complete_cmd() {
  pb::Command c;
  c.mutable_complete_workflow_execution();
  return c;
}

size_t count_kind(const std::vector<pb::TransferRecord>& recs, pb::TransferKind kind) {
  size_t n = 0;
  for (auto& r : recs) n += r.kind() == kind ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("pause of a waiting workflow records WorkflowExecutionPaused and no workflow task") {
  auto r = run::waiting();
  auto t = r.step(input::pause_workflow{"maintenance", "ops"}, t0 + 5);
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED});
  CHECK(t.events[0].workflow_execution_paused().reason() == "maintenance");
  CHECK(t.events[0].workflow_execution_paused().identity() == "ops");
  CHECK(t.transfers_added.empty());
  CHECK(r.state.paused());
  CHECK(r.state.pause_reason() == "maintenance");
  CHECK(r.state.pause_identity() == "ops");
  CHECK(r.state.pause_time_ms() == t0 + 5);
  CHECK_FALSE(r.state.has_workflow_task());
}

TEST_CASE("pause then signal - the workflow task is scheduled but not startable until unpause") {
  auto r = run::waiting();
  r.step(input::pause_workflow{"", "ops"});
  auto t = r.step(sig("go"));
  // Recorded as usual: the signal and its workflow task (which the paused execution does not
  // dispatch; a worker's start of it is refused).
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  auto rej = must_reject(decide(r.state, input::workflow_task_started{r.wt(), "w1"}, t0));
  CHECK(rej.code == errc::stale_task);
  CHECK(rej.message == "workflow is paused");
  auto u = r.step(input::unpause_workflow{"done", "ops"});
  REQUIRE(types(u.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED});
  CHECK_FALSE(r.state.paused());
  CHECK(r.state.pause_reason().empty());
  // Exactly one workflow task goes out, the one after the signal.
  REQUIRE(count_kind(u.transfers_added, pb::TRANSFER_KIND_WORKFLOW_TASK) == 1);
  CHECK(u.transfers_added[0].scheduled_event_id() == r.wt());
  auto started = r.step(input::workflow_task_started{r.wt(), "w1"});
  CHECK(types(started.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_STARTED});
}

TEST_CASE("timer fired while paused is recorded and its workflow task waits for the unpause") {
  auto r = run::waiting({timer_cmd("t1", 1000)});
  r.step(input::pause_workflow{"", "ops"});
  auto started_id = r.state.pending_timers().begin()->first;
  auto t = r.step(input::timer_fired{started_id}, t0 + 1000);
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_TIMER_FIRED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  CHECK(r.state.paused());
  CHECK(must_reject(decide(r.state, input::workflow_task_started{r.wt(), "w1"}, t0)).code
        == errc::stale_task);
  auto u = r.step(input::unpause_workflow{"", "ops"});
  CHECK(count_kind(u.transfers_added, pb::TRANSFER_KIND_WORKFLOW_TASK) == 1);
}

TEST_CASE("pause during a started workflow task is buffered behind it and needs no task of its own") {
  auto r = run::started();
  auto t = r.step(input::pause_workflow{"why", "ops"});
  CHECK(t.events.empty());
  CHECK(r.state.paused());  // at once
  CHECK(r.state.buffered_events_size() == 1);
  // The task may even close the run: the pause is nothing the code must see.
  auto done = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  REQUIRE(types(done.events) == std::vector<pb::EventType>{
                                  pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                  pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED});
  CHECK_FALSE(r.state.has_workflow_task());
  CHECK(r.state.paused());
  CHECK(r.state.pause_reason() == "why");
}

TEST_CASE("a workflow task that closes the run while only a pause is buffered completes") {
  auto r = run::started();
  r.step(input::pause_workflow{"", "ops"});
  auto t = r.step(input::workflow_task_completed{r.wt(), {complete_cmd()}, "w1"});
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK_FALSE(r.state.paused());  // a closed run is not paused
  CHECK(t.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_CASE("signal buffered behind the task with a pause - the next workflow task waits for unpause") {
  auto r = run::started();
  r.step(input::pause_workflow{"", "ops"});
  r.step(sig("go"));
  auto t = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{
                               pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  CHECK(r.state.paused());
  CHECK(must_reject(decide(r.state, input::workflow_task_started{r.wt(), "w1"}, t0)).message
        == "workflow is paused");
}

TEST_CASE("update refused while paused") {
  auto r = run::waiting();
  r.step(input::pause_workflow{"", "ops"});
  auto rej = must_reject(decide(r.state, input::update_admitted{}, t0));
  CHECK(rej.code == errc::invalid_argument);
  CHECK(rej.message.find("is paused") != std::string::npos);
}

TEST_CASE("pause of a closed run is refused with failed_precondition") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {complete_cmd()}, "w1"});
  auto rej = must_reject(decide(r.state, input::pause_workflow{"", "ops"}, t0));
  CHECK(rej.code == errc::failed_precondition);
  CHECK(rej.message == "workflow 'p1' is closed (Completed): only a running workflow can be paused");
}

TEST_CASE("pause twice and unpause of a running run are refused") {
  auto r = run::waiting();
  auto not_paused = must_reject(decide(r.state, input::unpause_workflow{"", "ops"}, t0));
  CHECK(not_paused.code == errc::failed_precondition);
  CHECK(not_paused.message == "workflow 'p1' is not paused");
  r.step(input::pause_workflow{"first", "ops"});
  auto twice = must_reject(decide(r.state, input::pause_workflow{"", "ops"}, t0));
  CHECK(twice.code == errc::failed_precondition);
  CHECK(twice.message == "workflow 'p1' is already paused (reason: first)");
}

TEST_CASE("unpause lists the activities that wait for a worker - not the started ones") {
  auto r = run::waiting({activity_cmd("a1"), activity_cmd("a2")});
  auto ids = std::vector<int64_t>{};
  for (auto& [id, pa] : r.state.pending_activities()) ids.push_back(id);
  REQUIRE(ids.size() == 2);
  r.step(input::activity_started{ids[0], 1, "w1"});
  r.step(input::pause_workflow{"", "ops"});
  // The started one completes while paused: recorded, its workflow task waits.
  auto done = r.step(input::activity_completed{ids[0], {}, "w1", 1});
  CHECK(done.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  auto u = r.step(input::unpause_workflow{"", "ops"});
  REQUIRE(count_kind(u.transfers_added, pb::TRANSFER_KIND_ACTIVITY_TASK) == 1);
  CHECK(count_kind(u.transfers_added, pb::TRANSFER_KIND_WORKFLOW_TASK) == 1);
  for (auto& rec : u.transfers_added)
    if (rec.kind() == pb::TRANSFER_KIND_ACTIVITY_TASK) CHECK(rec.scheduled_event_id() == ids[1]);
}

TEST_CASE("terminate works while paused") {
  auto r = run::waiting();
  r.step(input::pause_workflow{"", "ops"});
  r.step(input::terminate_workflow{"stop", "ops"});
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK_FALSE(r.state.paused());
}

TEST_CASE("pause and unpause fold through apply to the stored state") {
  auto r = run::waiting();
  r.step(input::pause_workflow{"r1", "ops"}, t0 + 7);
  pb::MutableState folded;
  folded.set_run_id(r.state.run_id());
  for (auto& ev : r.history) apply(folded, ev);
  CHECK(folded.paused());
  CHECK(folded.pause_reason() == "r1");
  CHECK(folded.pause_time_ms() == t0 + 7);
  r.step(input::unpause_workflow{"", "ops"});
  apply(folded, r.history.back());
  CHECK_FALSE(folded.paused());
  CHECK(folded.SerializeAsString() == r.state.SerializeAsString());
}
