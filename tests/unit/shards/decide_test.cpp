#include <doctest/doctest.h>

#include "shards/decide.hpp"

using namespace chronicle;

namespace {

constexpr int64_t t0 = 1'700'000'000'000;

transition must(decide_result r) {
  if (auto* rej = std::get_if<rejection>(&r)) FAIL("rejected: " << rej->message);
  return std::get<transition>(std::move(r));
}

rejection must_reject(decide_result r) {
  REQUIRE(std::holds_alternative<rejection>(r));
  return std::get<rejection>(std::move(r));
}

pb::Command activity_cmd(const std::string& id, const std::string& type) {
  pb::Command c;
  auto* a = c.mutable_schedule_activity_task();
  a->set_activity_id(id);
  a->mutable_activity_type()->set_name(type);
  return c;
}

pb::Command timer_cmd(const std::string& id, int64_t ms) {
  pb::Command c;
  c.mutable_start_timer()->set_timer_id(id);
  c.mutable_start_timer()->set_start_to_fire_timeout_ms(ms);
  return c;
}

pb::Command complete_cmd(const std::string& data) {
  pb::Command c;
  c.mutable_complete_workflow_execution()->mutable_result()->set_data(data);
  return c;
}

// Runs a workflow to "first workflow task started" and keeps the whole history.
struct run {
  pb::MutableState state;
  std::vector<pb::HistoryEvent> history;

  transition step(const decide_input& in, int64_t now = t0) {
    auto t = must(decide(state, in, now));
    state = t.state;
    history.insert(history.end(), t.events.begin(), t.events.end());
    return t;
  }

  int64_t wt() const { return state.workflow_task().scheduled_event_id(); }

  static run started() {
    run r;
    pb::StartWorkflowRequest req;
    req.set_namespace_("default");
    req.set_workflow_id("g1");
    req.set_workflow_type("Greeting");
    req.set_task_queue("greetings");
    r.step(input::start_workflow{req, "run-1"});
    r.step(input::workflow_task_started{r.wt(), "w1"});
    return r;
  }
};

void check_dense(const std::vector<pb::HistoryEvent>& h) {
  for (size_t i = 0; i < h.size(); ++i) CHECK(h[i].event_id() == int64_t(i + 1));
}

}  // namespace

TEST_CASE("start writes WorkflowExecutionStarted and schedules a workflow task with a transfer") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("g1");
  req.set_workflow_type("Greeting");
  req.set_task_queue("greetings");
  auto t = must(decide(pb::MutableState{}, input::start_workflow{req, "run-1"}, t0));
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(t.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(t.state.next_event_id() == 3);
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(t.transfers_added[0].kind() == pb::TRANSFER_KIND_WORKFLOW_TASK);
  CHECK(t.transfers_added[0].scheduled_event_id() == 2);
}

TEST_CASE("start without workflow type is rejected") {
  pb::StartWorkflowRequest req;
  req.set_workflow_id("g1");
  req.set_task_queue("q");
  auto rej = must_reject(decide(pb::MutableState{}, input::start_workflow{req, "r"}, t0));
  CHECK(rej.code == errc::invalid_argument);
}

TEST_CASE("greeting: activity, timer, completion give a dense Temporal-shaped history") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "ComposeGreeting")}, "w1"});
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(t.transfers_added[0].kind() == pb::TRANSFER_KIND_ACTIVITY_TASK);
  CHECK(t.transfers_removed.size() == 1);  // the workflow task's transfer
  int64_t act = t.transfers_added[0].scheduled_event_id();
  CHECK(r.state.pending_activities().count(act) == 1);

  t = r.step(input::activity_completed{act, {}, "w1", 1});
  CHECK(r.state.pending_activities().empty());
  REQUIRE(t.transfers_added.size() == 1);  // next workflow task
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 1000)}, "w1"}, t0 + 10);
  REQUIRE(t.timers_added.size() == 1);
  CHECK(t.timers_added[0].fire_time_ms() == t0 + 10 + 1000);
  int64_t timer = t.timers_added[0].started_event_id();

  t = r.step(input::timer_fired{timer}, t0 + 1010);
  CHECK(t.timers_removed.size() == 1);
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {complete_cmd("\"hi\"")}, "w1"});
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(r.state.result().data() == "\"hi\"");

  std::vector<pb::EventType> expected = {
    pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,      pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,    pb::EVENT_TYPE_ACTIVITY_TASK_STARTED,
    pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED,    pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,      pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    pb::EVENT_TYPE_TIMER_STARTED,              pb::EVENT_TYPE_TIMER_FIRED,
    pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,    pb::EVENT_TYPE_WORKFLOW_TASK_STARTED,
    pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,    pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED};
  REQUIRE(r.history.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(r.history[i].event_type() == expected[i]);
  check_dense(r.history);
  CHECK(r.history[6].activity_task_completed().started_event_id() == 6);
}

TEST_CASE("folding apply over the history gives the stored state") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), timer_cmd("1", 5)}, "w1"});
  pb::MutableState folded;
  folded.set_run_id(r.state.run_id());
  for (auto& ev : r.history) apply(folded, ev);
  CHECK(folded.SerializeAsString() == r.state.SerializeAsString());
}

TEST_CASE("a second start of the same workflow task is stale") {
  auto r = run::started();
  auto rej = must_reject(decide(r.state, input::workflow_task_started{r.wt(), "w2"}, t0));
  CHECK(rej.code == errc::stale_task);
}

TEST_CASE("completion of an old workflow task is stale") {
  auto r = run::started();
  int64_t old = r.wt();
  r.step(input::workflow_task_timed_out{old, "worker lost"});
  auto rej = must_reject(decide(r.state, input::workflow_task_completed{old, {}, "w1"}, t0));
  CHECK(rej.code == errc::stale_task);
}

TEST_CASE("timed-out workflow task is rescheduled with the next attempt") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_timed_out{r.wt(), "node restarted"});
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(r.state.workflow_task().attempt() == 2);
  CHECK(t.transfers_removed.size() == 1);
  CHECK(t.transfers_added.size() == 1);
  check_dense(r.history);
}

TEST_CASE("activity result during a started workflow task is buffered until it completes") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), activity_cmd("2", "B")}, "w1"});
  int64_t a1 = 5, a2 = 6;
  r.step(input::activity_completed{a1, {}, "w1", 1});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::activity_completed{a2, {}, "w1", 1});
  CHECK(t.events.empty());
  CHECK(r.state.buffered_events_size() == 2);
  CHECK(t.transfers_removed.size() == 1);  // the activity's transfer goes at once
  // a duplicate delivery of the same result is rejected while buffered
  must_reject(decide(r.state, input::activity_completed{a2, {}, "w1", 1}, t0));
  t = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  CHECK(r.state.buffered_events_size() == 0);
  CHECK(t.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  auto& completed = t.events[t.events.size() - 2];
  CHECK(completed.event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  CHECK(completed.activity_task_completed().started_event_id() == completed.event_id() - 1);
  check_dense(r.history);
}

TEST_CASE("duplicate activity completion is stale") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A")}, "w1"});
  r.step(input::activity_completed{5, {}, "w1", 1});
  auto rej = must_reject(decide(r.state, input::activity_completed{5, {}, "w1", 1}, t0));
  CHECK(rej.code == errc::stale_task);
}

TEST_CASE("timer fired after workflow completed is dropped") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 100), complete_cmd("1")}, "w1"});
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  must_reject(decide(r.state, input::timer_fired{5}, t0));
}

TEST_CASE("closing drops the pending activities' transfers and timers") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), timer_cmd("1", 100)}, "w1"});
  r.step(input::activity_completed{5, {}, "w1", 1});  // not the timer
  r.step(input::workflow_task_started{r.wt(), "w1"});
  pb::Command fail;
  fail.mutable_fail_workflow_execution()->mutable_failure()->set_message("boom");
  auto t = r.step(input::workflow_task_completed{r.wt(), {fail}, "w1"});
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK(t.timers_removed.size() == 1);
  CHECK(r.state.pending_timers().empty());
}

TEST_CASE("invalid commands fail the workflow task and schedule another") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {complete_cmd("1"), timer_cmd("1", 5)}, "w1"});
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(t.events[0].workflow_task_failed().failure().message().find("not the last") != std::string::npos);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(r.state.workflow_task().attempt() == 2);

  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", -5)}, "w1"});
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {pb::Command{}}, "w1"});
  CHECK(t.events[0].workflow_task_failed().failure().message().find("unknown command") != std::string::npos);
}

TEST_CASE("activity result for a closed execution is stale") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A")}, "w1"});
  pb::MutableState closed = r.state;
  closed.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  must_reject(decide(closed, input::activity_completed{5, {}, "w1", 1}, t0));
}
