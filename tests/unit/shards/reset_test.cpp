// Reset: the reset point, the new run's history and records, the one transition of a reset.
#include <doctest/doctest.h>

#include "shards/reset.hpp"
#include "decide_support.hpp"

using namespace chronicle;
using chronicle::testing::decided_run;
using chronicle::testing::must;
using chronicle::testing::t0;

namespace {

pb::Command activity(const std::string& id) {
  pb::Command c;
  auto* a = c.mutable_schedule_activity_task();
  a->set_activity_id(id);
  a->mutable_activity_type()->set_name("Step");
  a->set_start_to_close_timeout_ms(10'000);
  a->set_schedule_to_close_timeout_ms(60'000);
  return c;
}

// 1 Started, 2 WTScheduled, 3 WTStarted, 4 WTCompleted, 5 ActivityScheduled(a1),
// 6 ActivityStarted, 7 ActivityCompleted, 8 WTScheduled, 9 WTStarted, 10 WTCompleted,
// 11 ActivityScheduled(a2), 12 Signaled("fix"), 13 WTScheduled, 14 WTStarted, 15 WTCompleted.
decided_run two_steps() {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("r1");
  req.set_workflow_type("TwoSteps");
  req.set_task_queue("q");
  auto r = decided_run::started(req);
  r.step(input::workflow_task_completed{r.wt(), {activity("a1")}, "w1"});
  r.step(input::activity_started{5, 1, "w1"});
  r.step(input::activity_completed{5, {}, "w1", 1});
  r.take_task();
  r.step(input::workflow_task_completed{r.wt(), {activity("a2")}, "w1"});
  r.step(input::signal_workflow{"fix", {}, "cli", "sig-1"});
  r.take_task();
  r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  REQUIRE(r.history.size() == 15);
  return r;
}

int64_t point_of(const std::vector<pb::HistoryEvent>& h, pb::ResetType type, int64_t id = 0) {
  auto p = find_reset_point(h, type, id);
  if (auto* rej = std::get_if<rejection>(&p)) FAIL("rejected: " << rej->message);
  return std::get<int64_t>(p);
}

bool refused(const std::vector<pb::HistoryEvent>& h, pb::ResetType type, int64_t id) {
  return std::holds_alternative<rejection>(find_reset_point(h, type, id));
}

transition reset_of(const decided_run& r, int64_t point, bool signals = true) {
  input::reset_workflow in;
  in.reason = "bug fixed";
  in.identity = "cli";
  in.request_id = "req-1";
  in.reapply_signals = signals;
  auto res = reset_run(r.history, "run-1", point, in, "run-2", t0 + 1000);
  if (auto* rej = std::get_if<rejection>(&res)) FAIL("rejected: " << rej->message);
  return std::get<transition>(std::move(res));
}

}  // namespace

TEST_CASE("reset point: a workflow task's finish or started event - first and last") {
  auto r = two_steps();
  CHECK(point_of(r.history, pb::RESET_TYPE_UNSPECIFIED, 10) == 9);   // WorkflowTaskCompleted
  CHECK(point_of(r.history, pb::RESET_TYPE_UNSPECIFIED, 9) == 9);    // WorkflowTaskStarted
  CHECK(point_of(r.history, pb::RESET_TYPE_FIRST_WORKFLOW_TASK) == 3);
  CHECK(point_of(r.history, pb::RESET_TYPE_LAST_WORKFLOW_TASK) == 14);
  CHECK(refused(r.history, pb::RESET_TYPE_UNSPECIFIED, 7));   // an activity's event
  CHECK(refused(r.history, pb::RESET_TYPE_UNSPECIFIED, 8));   // WorkflowTaskScheduled
  CHECK(refused(r.history, pb::RESET_TYPE_UNSPECIFIED, 16));  // past the end
  CHECK(refused(r.history, pb::RESET_TYPE_UNSPECIFIED, 0));   // no point at all
}

TEST_CASE("reset run copies the prefix then fails the task with cause reset and reapplies signals") {
  auto r = two_steps();
  auto t = reset_of(r, 9);
  REQUIRE(t.events.size() == 12);
  for (int i = 0; i < 9; ++i) CHECK(t.events[i].SerializeAsString() == r.history[i].SerializeAsString());
  auto& failed = t.events[9];
  CHECK(failed.event_id() == 10);
  REQUIRE(failed.has_workflow_task_failed());
  CHECK(failed.workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
  CHECK(failed.workflow_task_failed().started_event_id() == 9);
  CHECK(failed.workflow_task_failed().scheduled_event_id() == 8);
  CHECK(failed.workflow_task_failed().base_run_id() == "run-1");
  CHECK(failed.workflow_task_failed().new_run_id() == "run-2");
  CHECK(failed.workflow_task_failed().failure().message() == "reset: bug fixed");
  CHECK(t.events[10].event_id() == 11);
  CHECK(t.events[10].workflow_execution_signaled().signal_name() == "fix");
  CHECK(t.events[11].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(t.state.run_id() == "run-2");
  CHECK(is_running(t.state));
  CHECK(t.state.next_event_id() == 13);
  CHECK(t.state.workflow_task().scheduled_event_id() == 12);
  CHECK(t.state.reset_from_run_id() == "run-1");
  CHECK(t.state.reset_event_id() == 9);
  CHECK(t.state.reset_request_id() == "req-1");
  CHECK(t.state.start_time_ms() == t0 + 1000);
  CHECK(t.state.pending_activities().empty());  // a2 was scheduled after the point: runs again
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(t.transfers_added[0].kind() == pb::TRANSFER_KIND_WORKFLOW_TASK);
  CHECK(t.transfers_added[0].run_id() == "run-2");
  // The state is the fold of apply over the new history (but for the reset fields and times).
  pb::MutableState folded;
  folded.set_run_id("run-2");
  for (auto& ev : t.events) apply(folded, ev);
  CHECK(folded.next_event_id() == t.state.next_event_id());
  CHECK(folded.signal_request_ids_size() == 1);
  CHECK(t.state.signal_request_ids_size() == 1);
}

TEST_CASE("reset run without reapplied signals leaves them out") {
  auto r = two_steps();
  auto t = reset_of(r, 9, false);
  REQUIRE(t.events.size() == 11);
  CHECK(t.events[10].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(t.state.signal_request_ids().empty());
}

TEST_CASE("reset run schedules the activities pending at the point again from attempt 1") {
  auto r = two_steps();
  auto t = reset_of(r, 14);  // a2 (11) is pending there
  REQUIRE(t.state.pending_activities().count(11) == 1);
  auto& pa = t.state.pending_activities().at(11);
  CHECK(pa.attempt() == 1);
  CHECK(pa.state() == pb::ACTIVITY_STATE_SCHEDULED);
  CHECK(pa.scheduled_time_ms() == t0 + 1000);
  CHECK(pa.timer_fire_ms() == t0 + 1000 + 60'000);  // schedule-to-close counted from the reset
  int activities = 0;
  for (auto& tr : t.transfers_added)
    activities += tr.kind() == pb::TRANSFER_KIND_ACTIVITY_TASK && tr.scheduled_event_id() == 11;
  CHECK(activities == 1);
  CHECK(t.timers_added.size() == 1);
  CHECK(t.events.back().event_id() == 16);  // 14 copied, 15 WorkflowTaskFailed, 16 scheduled
}

TEST_CASE("reset of the running current run terminates it with reason reset in the same transition") {
  auto r = two_steps();
  input::reset_workflow in;
  in.event_id = 10;
  auto t = must(decide_reset(r.state, r.state, r.history, in, "run-2", t0 + 1000));
  REQUIRE(!t.events.empty());
  CHECK(t.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  CHECK(t.events.back().workflow_execution_terminated().reason() == "reset");
  CHECK(t.closed);
  CHECK(t.state.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(t.state.reset_to_run_id() == "run-2");
  CHECK(t.other_states.empty());
  REQUIRE(t.next_run);
  CHECK(t.next_run->state.run_id() == "run-2");
  CHECK(t.next_run->state.reset_from_run_id() == "run-1");
}

TEST_CASE("reset of a closed earlier run links it and leaves a closed current run unchanged") {
  auto base = two_steps();
  auto closed = must(decide(base.state, input::terminate_workflow{"done", "cli"}, t0));
  pb::MutableState base_state = closed.state;
  pb::MutableState current = closed.state;
  current.set_run_id("run-9");
  input::reset_workflow in;
  in.type = pb::RESET_TYPE_LAST_WORKFLOW_TASK;
  auto t = must(decide_reset(current, base_state, base.history, in, "run-2", t0 + 1000));
  CHECK(t.events.empty());
  CHECK(t.state.run_id() == "run-9");
  CHECK(t.state.reset_to_run_id().empty());
  REQUIRE(t.other_states.size() == 1);
  CHECK(t.other_states[0].run_id() == "run-1");
  CHECK(t.other_states[0].reset_to_run_id() == "run-2");
  REQUIRE(t.next_run);
  CHECK(t.next_run->state.reset_event_id() == 14);
}

TEST_CASE("reset to a point with a pending child workflow is refused") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("p1");
  req.set_workflow_type("Parent");
  req.set_task_queue("q");
  auto r = decided_run::started(req);
  pb::Command c;
  c.mutable_start_child_workflow_execution()->set_workflow_id("c1");
  c.mutable_start_child_workflow_execution()->set_workflow_type("Child");
  r.step(input::workflow_task_completed{r.wt(), {c}, "w1"});
  r.step(input::signal_workflow{"go", {}, "cli", ""});
  r.take_task();
  input::reset_workflow in;
  auto last = r.history.back().event_id();  // the second task's WorkflowTaskStarted
  auto res = reset_run(r.history, "run-1", last, in, "run-2", t0);
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).message.find("child workflow") != std::string::npos);
}
