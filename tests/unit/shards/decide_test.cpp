#include <doctest/doctest.h>

#include "shards/decide.hpp"
#include "decide_support.hpp"

using namespace chronicle;
using chronicle::testing::must;
using chronicle::testing::t0;

namespace {

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
struct run : testing::decided_run {
  static run started() {
    pb::StartWorkflowRequest req;
    req.set_namespace_("default");
    req.set_workflow_id("g1");
    req.set_workflow_type("Greeting");
    req.set_task_queue("greetings");
    return {decided_run::started(req)};
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

TEST_CASE("greeting: activity - timer - completion give a dense Temporal-shaped history") {
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
  REQUIRE(t.events.size() == 1);  // the retry is transient: no WorkflowTaskScheduled yet
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
  CHECK(r.state.workflow_task().attempt() == 2);
  CHECK(r.state.workflow_task().transient());
  CHECK(r.state.workflow_task().scheduled_event_id() == r.state.next_event_id());
  CHECK(r.state.last_workflow_task_failure().type() == "TimeoutError");
  CHECK(t.transfers_removed.size() == 1);
  CHECK(t.transfers_added.size() == 1);
  check_dense(r.history);
}

pb::Failure failure(const std::string& message) {
  pb::Failure f;
  f.set_message(message);
  return f;
}

TEST_CASE("transient workflow tasks: only the first failure in a row is written - a retry's events when it completes") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_failed{r.wt(), failure("bug 1"), "w1"});
  REQUIRE(t.events.size() == 1);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  auto length = r.history.size();
  for (int attempt = 2; attempt <= 5; ++attempt) {
    CHECK(r.state.workflow_task().attempt() == attempt);
    CHECK(r.state.workflow_task().transient());
    auto started = r.step(input::workflow_task_started{r.wt(), "w1"});
    CHECK(started.memory_only);
    t = r.step(input::workflow_task_failed{r.wt(), failure("bug " + std::to_string(attempt)), "w1"});
    CHECK(t.events.empty());
    CHECK(t.transfers_removed.empty());
    REQUIRE(t.transfers_added.size() == 1);  // the same record, rewritten: dispatched again
    CHECK(t.transfers_added[0].scheduled_event_id() == r.wt());
    CHECK(r.state.last_workflow_task_failure().message() == "bug " + std::to_string(attempt));
  }
  CHECK(r.history.size() == length);  // four failed attempts, no event
  // The sixth attempt completes: its Scheduled (attempt 6) and Started are written before it.
  r.take_task();
  t = r.step(input::workflow_task_completed{r.wt(), {timer_cmd("t", 1000)}, "w1"});
  REQUIRE(t.events.size() == 4);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(t.events[0].workflow_task_scheduled().attempt() == 6);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  CHECK(t.events[2].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  CHECK(t.events[3].event_type() == pb::EVENT_TYPE_TIMER_STARTED);
  CHECK_FALSE(r.state.has_workflow_task());
  CHECK_FALSE(r.state.has_last_workflow_task_failure());
  REQUIRE(t.transfers_removed.size() == 1);
  CHECK(t.transfers_removed[0].scheduled_event_id() == t.events[0].event_id());
  check_dense(r.history);
  pb::MutableState folded;
  for (const auto& ev : r.history) apply(folded, ev);
  CHECK(folded.next_event_id() == r.state.next_event_id());
}

TEST_CASE("transient workflow tasks: a new event makes the waiting retry a normal task - a running one is written") {
  auto r = run::started();
  r.step(input::workflow_task_failed{r.wt(), failure("bug"), "w1"});
  REQUIRE(r.state.workflow_task().transient());
  int64_t transient_id = r.wt();
  // Not started: replaced by a normal task after the signal (attempt 1: the code sees news).
  auto t = r.step(input::signal_workflow{"go", {}, "client", ""});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK_FALSE(r.state.workflow_task().transient());
  CHECK(r.state.workflow_task().attempt() == 1);
  REQUIRE(t.transfers_removed.size() == 1);
  CHECK(t.transfers_removed[0].scheduled_event_id() == transient_id);
  check_dense(r.history);
  // Started: its Scheduled and Started are written, the signal is buffered behind them; its
  // failure is then written like a first one.
  r.take_task();
  r.step(input::workflow_task_failed{r.wt(), failure("bug"), "w1"});
  r.take_task();
  t = r.step(input::signal_workflow{"again", {}, "client", ""});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  CHECK(r.state.buffered_events_size() == 1);
  t = r.step(input::workflow_task_failed{r.wt(), failure("bug"), "w1"});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  CHECK(r.state.workflow_task().transient());
  CHECK(r.state.workflow_task().attempt() == 3);
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

  // The retries are transient: their failures are kept in the state, not written.
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", -5)}, "w1"});
  CHECK(t.events.empty());
  CHECK(r.state.last_workflow_task_failure().message().find("bad commands") != std::string::npos);
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {pb::Command{}}, "w1"});
  CHECK(t.events.empty());
  CHECK(r.state.last_workflow_task_failure().message().find("unknown command") != std::string::npos);
  CHECK(r.state.workflow_task().attempt() == 4);
}

TEST_CASE("activity result for a closed execution is stale") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A")}, "w1"});
  pb::MutableState closed = r.state;
  closed.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  must_reject(decide(closed, input::activity_completed{5, {}, "w1", 1}, t0));
}

// --- signals, cancellation, termination ---

namespace {

input::signal_workflow sig(const std::string& name, const std::string& data = "1",
                           const std::string& request_id = {}) {
  input::signal_workflow s;
  s.signal_name = name;
  s.input.set_data(data);
  s.identity = "cli";
  s.request_id = request_id;
  return s;
}

pb::Command cancel_activity_cmd(int64_t scheduled_id) {
  pb::Command c;
  c.mutable_request_cancel_activity_task()->set_scheduled_event_id(scheduled_id);
  return c;
}

pb::Command cancel_timer_cmd(const std::string& id) {
  pb::Command c;
  c.mutable_cancel_timer()->set_timer_id(id);
  return c;
}

pb::Command cancel_workflow_cmd() {
  pb::Command c;
  c.mutable_cancel_workflow_execution();
  return c;
}

std::vector<pb::EventType> types(const std::vector<pb::HistoryEvent>& evs) {
  std::vector<pb::EventType> out;
  for (auto& ev : evs) out.push_back(ev.event_type());
  return out;
}

// A started run whose first task scheduled nothing: it waits (no workflow task pending).
run waiting() {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  REQUIRE_FALSE(r.state.has_workflow_task());
  return r;
}

void check_fold(const run& r) {
  pb::MutableState folded;
  folded.set_run_id(r.state.run_id());
  for (auto& ev : r.history) apply(folded, ev);
  folded.mutable_buffered_events()->CopyFrom(r.state.buffered_events());
  CHECK(folded.SerializeAsString() == r.state.SerializeAsString());
}

}  // namespace

TEST_CASE("signal to a waiting workflow is recorded and schedules a workflow task") {
  auto r = waiting();
  auto t = r.step(sig("approve", "{\"by\":\"ada\"}"));
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  auto& a = t.events[0].workflow_execution_signaled();
  CHECK(a.signal_name() == "approve");
  CHECK(a.input().data() == "{\"by\":\"ada\"}");
  CHECK(a.identity() == "cli");
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(t.transfers_added[0].kind() == pb::TRANSFER_KIND_WORKFLOW_TASK);
  check_dense(r.history);
}

TEST_CASE("signal while a workflow task is scheduled joins it without a second task") {
  auto r = waiting();
  r.step(sig("a"));
  auto t = r.step(sig("b"));
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED});
  CHECK(t.transfers_added.empty());
}

TEST_CASE("signals during a started workflow task are buffered and written in arrival order") {
  auto r = run::started();
  auto t1 = r.step(sig("ping", "1"));
  auto t2 = r.step(sig("ping", "2"));
  CHECK(t1.events.empty());
  CHECK(t2.events.empty());
  CHECK(r.state.buffered_events_size() == 2);
  auto t = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{
                               pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                               pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                               pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  CHECK(t.events[1].workflow_execution_signaled().input().data() == "1");
  CHECK(t.events[2].workflow_execution_signaled().input().data() == "2");
  check_dense(r.history);
}

TEST_CASE("signal to a closed workflow is rejected as not found - naming it closed") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {complete_cmd("1")}, "w1"});
  auto rej = must_reject(decide(r.state, sig("approve"), t0));
  CHECK(rej.code == errc::not_found);
  CHECK(rej.message == "workflow 'g1' is closed (Completed)");
}

TEST_CASE("signal without a name is rejected") {
  auto r = waiting();
  CHECK(must_reject(decide(r.state, sig(""), t0)).code == errc::invalid_argument);
}

TEST_CASE("a retried signal with the same request ID is recorded once") {
  SUBCASE("already in history") {
    auto r = waiting();
    r.step(sig("a", "1", "req-1"));
    auto t = r.step(sig("a", "1", "req-1"));
    CHECK(t.events.empty());
    CHECK(t.transfers_added.empty());
  }
  SUBCASE("still buffered") {
    auto r = run::started();
    r.step(sig("a", "1", "req-1"));
    r.step(sig("a", "1", "req-1"));
    CHECK(r.state.buffered_events_size() == 1);
  }
}

TEST_CASE("completing while a signal is buffered is rejected as UnhandledCommand and retried") {
  auto r = run::started();
  r.step(sig("approve"));
  auto t = r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), complete_cmd("\"done\"")}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_FAILED,
                                                         pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  auto& failed = t.events[0].workflow_task_failed();
  CHECK(failed.cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  CHECK(failed.failure().type() == "UnhandledCommand");
  CHECK_FALSE(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(r.state.pending_activities().empty());  // none of the task's commands was recorded
  CHECK(r.state.workflow_task().attempt() == 1);
  CHECK(r.state.buffered_events_size() == 0);
  // The next task saw the signal: its completion closes the workflow.
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {complete_cmd("\"done\"")}, "w1"});
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  check_dense(r.history);
}

TEST_CASE("failing or canceling the workflow with buffered events is rejected the same way") {
  pb::Command fail;
  fail.mutable_fail_workflow_execution()->mutable_failure()->set_message("boom");
  for (auto& close : {fail, cancel_workflow_cmd()}) {
    auto r = run::started();
    r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 100)}, "w1"});
    r.step(input::timer_fired{5});
    r.step(input::workflow_task_started{r.wt(), "w1"});
    r.step(sig("late"));  // buffered
    auto t = r.step(input::workflow_task_completed{r.wt(), {close}, "w1"});
    CHECK(t.events[0].workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
    CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
    check_dense(r.history);
  }
}

TEST_CASE("signal-with-start of a new workflow writes Started - Signaled - WorkflowTaskScheduled at once") {
  input::signal_with_start in;
  in.request.set_namespace_("default");
  in.request.set_workflow_id("g1");
  in.request.set_workflow_type("Approval");
  in.request.set_task_queue("greetings");
  in.run_id = "run-1";
  in.signal = sig("approve");
  auto t = must(decide(pb::MutableState{}, in, t0));
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                                                         pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  CHECK(t.events[1].event_time_ms() == t0);
  CHECK(t.state.run_id() == "run-1");
  CHECK(t.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  REQUIRE(t.transfers_added.size() == 1);
  check_dense(t.events);

  SUBCASE("a running workflow is only signaled") {
    in.run_id = "run-2";
    auto again = must(decide(t.state, in, t0));
    CHECK(again.state.run_id() == "run-1");
    CHECK(types(again.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED});
  }
  SUBCASE("a closed workflow gets a new run") {
    pb::MutableState closed = t.state;
    closed.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    in.run_id = "run-2";
    auto fresh = must(decide(closed, in, t0));
    CHECK(fresh.state.run_id() == "run-2");
    CHECK(fresh.events[0].event_id() == 1);
    CHECK(fresh.events.size() == 3);
  }
  SUBCASE("without workflow type it is rejected") {
    in.request.clear_workflow_type();
    CHECK(must_reject(decide(pb::MutableState{}, in, t0)).code == errc::invalid_argument);
  }
}

TEST_CASE("terminate a waiting workflow: Terminated - status and failure - pending work dropped") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), timer_cmd("1", 100)}, "w1"});
  auto t = r.step(input::terminate_workflow{"stuck", "cli"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED});
  CHECK(t.events[0].workflow_execution_terminated().reason() == "stuck");
  CHECK(t.events[0].workflow_execution_terminated().identity() == "cli");
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(r.state.failure().message() == "stuck");
  CHECK(r.state.pending_activities().empty());
  REQUIRE(t.transfers_removed.size() == 1);
  CHECK(t.transfers_removed[0].kind() == pb::TRANSFER_KIND_ACTIVITY_TASK);
  CHECK(t.timers_removed.size() == 1);
  // the activity's late result and the timer are stale now
  CHECK(must_reject(decide(r.state, input::activity_completed{5, {}, "w1", 1}, t0)).code
        == errc::stale_task);
  must_reject(decide(r.state, input::timer_fired{6}, t0));
  // and a second terminate names the workflow closed
  auto rej = must_reject(decide(r.state, input::terminate_workflow{"again", "cli"}, t0));
  CHECK(rej.code == errc::not_found);
  CHECK(rej.message.find("closed (Terminated)") != std::string::npos);
}

TEST_CASE("terminate drops a scheduled workflow task's transfer") {
  auto r = waiting();
  r.step(sig("a"));
  auto t = r.step(input::terminate_workflow{"r", "cli"});
  REQUIRE(t.transfers_removed.size() == 1);
  CHECK(t.transfers_removed[0].kind() == pb::TRANSFER_KIND_WORKFLOW_TASK);
  CHECK_FALSE(r.state.has_workflow_task());
  // the worker that picks the task up finds it stale
  must_reject(decide(r.state, input::workflow_task_started{3, "w1"}, t0));
}

TEST_CASE("terminate during a started workflow task fails it (ForceCloseCommand) and keeps buffered events") {
  auto r = run::started();
  r.step(sig("approve"));
  auto t = r.step(input::terminate_workflow{"r", "cli"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_FAILED,
                                                         pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
                                                         pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED});
  CHECK(t.events[0].workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
  REQUIRE(t.transfers_removed.size() == 1);
  CHECK(t.transfers_removed[0].kind() == pb::TRANSFER_KIND_WORKFLOW_TASK);
  CHECK(t.transfers_added.empty());
  check_dense(r.history);
  // the worker's late answer is stale
  must_reject(decide(r.state, input::workflow_task_completed{2, {complete_cmd("1")}, "w1"}, t0));
}

TEST_CASE("cancel request is recorded - schedules a workflow task and is idempotent") {
  auto r = waiting();
  auto t = r.step(input::request_cancel_workflow{"no longer needed", "cli", ""});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  CHECK(t.events[0].workflow_execution_cancel_requested().cause() == "no longer needed");
  CHECK(r.state.cancel_requested());
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  t = r.step(input::request_cancel_workflow{"again", "cli", ""});
  CHECK(t.events.empty());
  CHECK(t.transfers_added.empty());
}

TEST_CASE("cancel request during a started task is buffered - closing then is UnhandledCommand") {
  auto r = run::started();
  r.step(input::request_cancel_workflow{"r", "cli", ""});
  r.step(input::request_cancel_workflow{"r", "cli", ""});
  CHECK(r.state.buffered_events_size() == 1);
  CHECK_FALSE(r.state.cancel_requested());
  auto t = r.step(input::workflow_task_completed{r.wt(), {complete_cmd("1")}, "w1"});
  CHECK(t.events[0].workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  CHECK(r.state.cancel_requested());
  r.step(input::workflow_task_started{r.wt(), "w1"});
  t = r.step(input::workflow_task_completed{r.wt(), {cancel_workflow_cmd()}, "w1"});
  CHECK(t.closed);
  CHECK(t.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  check_dense(r.history);
}

TEST_CASE("cancel request to a closed workflow is rejected") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {complete_cmd("1")}, "w1"});
  CHECK(must_reject(decide(r.state, input::request_cancel_workflow{"r", "cli", ""}, t0)).code
        == errc::not_found);
}

TEST_CASE("RequestCancelActivityTask records CancelRequested and Canceled at once (TRY_CANCEL)") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A")}, "w1"});
  r.step(input::request_cancel_workflow{"r", "cli", ""});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_activity_cmd(5)}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                         pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
                                                         pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED});
  auto& requested = t.events[1];
  CHECK(requested.activity_task_cancel_requested().scheduled_event_id() == 5);
  CHECK(requested.activity_task_cancel_requested().workflow_task_completed_event_id() == t.events[0].event_id());
  CHECK(t.events[2].activity_task_canceled().latest_cancel_requested_event_id() == requested.event_id());
  CHECK(t.events[2].activity_task_canceled().scheduled_event_id() == 5);
  CHECK(r.state.pending_activities().empty());
  // the workflow task's transfer and the activity's
  REQUIRE(t.transfers_removed.size() == 2);
  CHECK(t.transfers_removed[1].kind() == pb::TRANSFER_KIND_ACTIVITY_TASK);
  CHECK(t.transfers_removed[1].scheduled_event_id() == 5);
  CHECK_FALSE(r.state.has_workflow_task());  // the SDK already resolved it: no new task
  // the worker's late result is stale
  CHECK(must_reject(decide(r.state, input::activity_completed{5, {}, "w1", 1}, t0)).code
        == errc::stale_task);
  check_dense(r.history);
  check_fold(r);
}

TEST_CASE("RequestCancelActivityTask after its result was buffered keeps the result") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A")}, "w1"});
  r.step(input::request_cancel_workflow{"r", "cli", ""});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  r.step(input::activity_completed{5, {}, "w1", 1});  // buffered
  auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_activity_cmd(5)}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                         pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
                                                         pb::EVENT_TYPE_ACTIVITY_TASK_STARTED,
                                                         pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                                                         pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED});
  CHECK(r.state.pending_activities().empty());
  check_dense(r.history);
}

TEST_CASE("cancel commands naming nothing pending fail the workflow task") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), timer_cmd("1", 100)}, "w1"});
  r.step(sig("x"));
  r.step(input::workflow_task_started{r.wt(), "w1"});
  SUBCASE("unknown activity") {
    auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_activity_cmd(42)}, "w1"});
    CHECK(t.events[0].workflow_task_failed().cause()
          == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES);
    CHECK(t.events[0].workflow_task_failed().failure().message().find("scheduled event 42")
          != std::string::npos);
  }
  SUBCASE("the same activity twice") {
    auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_activity_cmd(5), cancel_activity_cmd(5)}, "w1"});
    CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
    CHECK(r.state.pending_activities().size() == 1);  // nothing of the task was recorded
  }
  SUBCASE("unknown timer") {
    auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_timer_cmd("9")}, "w1"});
    CHECK(t.events[0].workflow_task_failed().cause()
          == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES);
    CHECK(r.state.pending_timers().size() == 1);
  }
  CHECK(r.state.workflow_task().attempt() == 2);
}

TEST_CASE("CancelTimer records TimerCanceled and drops the timer record") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 100)}, "w1"});
  r.step(sig("stop"));
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_timer_cmd("1")}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                         pb::EVENT_TYPE_TIMER_CANCELED});
  CHECK(t.events[1].timer_canceled().timer_id() == "1");
  CHECK(t.events[1].timer_canceled().started_event_id() == 5);
  REQUIRE(t.timers_removed.size() == 1);
  CHECK(t.timers_removed[0].started_event_id() == 5);
  CHECK(r.state.pending_timers().empty());
  must_reject(decide(r.state, input::timer_fired{5}, t0));
  check_fold(r);
}

TEST_CASE("CancelTimer of a timer whose fire is buffered drops the fire - closing is then allowed") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 100)}, "w1"});
  r.step(sig("stop"));
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto fired = r.step(input::timer_fired{5}, t0 + 100);
  CHECK(fired.timers_removed.size() == 1);
  auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_timer_cmd("1"), complete_cmd("1")}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                         pb::EVENT_TYPE_TIMER_CANCELED,
                                                         pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED});
  CHECK(t.timers_removed.empty());  // its record went when it fired
  CHECK(t.closed);
}

TEST_CASE("CancelTimer of a timer started by the same task never arms it") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 100), cancel_timer_cmd("1")}, "w1"});
  REQUIRE(types(t.events) == std::vector<pb::EventType>{pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                                                         pb::EVENT_TYPE_TIMER_STARTED,
                                                         pb::EVENT_TYPE_TIMER_CANCELED});
  CHECK(t.timers_added.empty());
  CHECK(t.timers_removed.empty());
  CHECK(r.state.pending_timers().empty());
}

TEST_CASE("CancelWorkflowExecution closes as Canceled and drops pending work") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {activity_cmd("1", "A"), timer_cmd("1", 100)}, "w1"});
  r.step(input::request_cancel_workflow{"r", "cli", ""});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  auto t = r.step(input::workflow_task_completed{
    r.wt(), {cancel_activity_cmd(5), cancel_timer_cmd("1"), cancel_workflow_cmd()}, "w1"});
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  CHECK(r.state.failure().type() == "CanceledError");
  CHECK(t.events.back().workflow_execution_canceled().workflow_task_completed_event_id()
        == t.events[0].event_id());
  CHECK(t.timers_removed.size() == 1);
  CHECK(r.state.pending_activities().empty());
  check_dense(r.history);
}

TEST_CASE("folding apply over a history with signals and cancellation gives the stored state") {
  auto r = run::started();
  r.step(sig("a", "1", "req-1"));
  r.step(input::workflow_task_completed{r.wt(), {timer_cmd("1", 100)}, "w1"});
  r.step(input::workflow_task_started{r.wt(), "w1"});
  r.step(input::request_cancel_workflow{"r", "cli", ""});
  check_fold(r);
  r.step(input::workflow_task_completed{r.wt(), {cancel_timer_cmd("1")}, "w1"});
  check_fold(r);
  CHECK(r.state.signal_request_ids_size() == 1);
}
