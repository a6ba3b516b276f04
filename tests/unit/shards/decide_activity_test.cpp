// decide: activity retries, timeouts, heartbeats, and the workflow execution timeout.
#include <doctest/doctest.h>

#include "shards/activity_policy.hpp"
#include "shards/decide.hpp"
#include "decide_support.hpp"

using namespace chronicle;
using chronicle::testing::must;
using chronicle::testing::t0;

namespace {

pb::Failure app_failure(const std::string& type, bool non_retryable = false) {
  pb::Failure f;
  f.set_type(type);
  f.set_message("boom");
  f.set_non_retryable(non_retryable);
  return f;
}

struct run {
  pb::MutableState state;
  std::vector<pb::HistoryEvent> history;

  transition step(const decide_input& in, int64_t now) {
    auto t = must(decide(state, in, now));
    state = t.state;
    history.insert(history.end(), t.events.begin(), t.events.end());
    return t;
  }
  int64_t wt() const { return state.workflow_task().scheduled_event_id(); }
  const pb::PendingActivity& act(int64_t id) const { return state.pending_activities().at(id); }

  // Started workflow, first workflow task completed with one ScheduleActivityTask `ca`; returns
  // the activity's scheduled event ID. The activity is handed to worker "w1" at t0 + 10.
  static run with_activity(pb::ScheduleActivityTaskCommandAttributes ca, int64_t* id,
                           pb::StartWorkflowRequest req = {}) {
    run r;
    req.set_namespace_("default");
    req.set_workflow_id("a1");
    req.set_workflow_type("Retry");
    req.set_task_queue("q");
    r.step(input::start_workflow{req, "run-1"}, t0);
    r.step(input::workflow_task_started{r.wt(), "w1"}, t0);
    ca.set_activity_id("1");
    ca.mutable_activity_type()->set_name("Flaky");
    pb::Command c;
    *c.mutable_schedule_activity_task() = ca;
    r.step(input::workflow_task_completed{r.wt(), {c}, "w1"}, t0);
    *id = r.history.back().event_id();
    r.step(input::activity_started{*id, 1, "w1"}, t0 + 10);
    return r;
  }
};

int count(const std::vector<pb::HistoryEvent>& h, pb::EventType type) {
  int n = 0;
  for (auto& ev : h) n += ev.event_type() == type;
  return n;
}

}  // namespace

TEST_CASE("retry policy defaults are Temporal's and start-to-close defaults to 10 minutes") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  pb::ActivityTaskScheduledEventAttributes ev;
  fill_activity_options(ca, &ev);
  CHECK(ev.retry_policy().initial_interval_ms() == 1000);
  CHECK(ev.retry_policy().backoff_coefficient() == 2.0);
  CHECK(ev.retry_policy().maximum_interval_ms() == 100'000);
  CHECK(ev.retry_policy().maximum_attempts() == 0);
  CHECK(ev.start_to_close_timeout_ms() == 10 * 60 * 1000);
  ca.set_schedule_to_close_timeout_ms(5000);
  fill_activity_options(ca, &ev);
  CHECK(ev.start_to_close_timeout_ms() == 5000);
}

TEST_CASE("backoff grows by the coefficient and is capped at the maximum interval") {
  pb::RetryPolicy p;
  p.set_initial_interval_ms(1000);
  p.set_backoff_coefficient(2.0);
  p.set_maximum_interval_ms(5000);
  CHECK(retry_backoff_ms(p, 1) == 1000);
  CHECK(retry_backoff_ms(p, 2) == 2000);
  CHECK(retry_backoff_ms(p, 3) == 4000);
  CHECK(retry_backoff_ms(p, 4) == 5000);
  CHECK(retry_backoff_ms(p, 60) == 5000);
}

TEST_CASE("invalid activity options fail the workflow task") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.mutable_retry_policy()->set_backoff_coefficient(0.5);
  CHECK_FALSE(check_activity_options(ca).empty());
  ca.mutable_retry_policy()->set_backoff_coefficient(2);
  ca.set_start_to_close_timeout_ms(-1);
  CHECK_FALSE(check_activity_options(ca).empty());
}

TEST_CASE("a retryable failure writes no event: attempt + 1 - last failure - a backoff timer") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto before = r.history.size();
  auto t = r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 1}, t0 + 100);
  CHECK(t.events.empty());
  CHECK(r.history.size() == before);
  auto& pa = r.act(id);
  CHECK(pa.attempt() == 2);
  CHECK(pa.state() == pb::ACTIVITY_STATE_BACKOFF);
  CHECK(pa.last_failure().type() == "Flaky");
  CHECK(pa.retry_time_ms() == t0 + 100 + 1000);
  REQUIRE(t.timers_added.size() == 1);
  CHECK(t.timers_added[0].kind() == pb::TIMER_KIND_ACTIVITY);
  CHECK(t.timers_added[0].fire_time_ms() == t0 + 1100);
  CHECK(t.timers_removed.size() == 1);  // the start-to-close deadline of attempt 1
  CHECK(t.transfers_added.empty());     // nothing dispatched before the backoff ends
}

TEST_CASE("the backoff timer dispatches the next attempt - success writes Started(attempt 3) + Completed") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 1}, t0 + 100);
  auto t = r.step(input::activity_timer{id, t0 + 1100}, t0 + 1100);
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(r.act(id).state() == pb::ACTIVITY_STATE_SCHEDULED);
  CHECK(r.act(id).attempt() == 2);
  r.step(input::activity_started{id, 2, "w2"}, t0 + 1200);
  r.step(input::activity_failed{id, app_failure("Flaky"), "w2", 2}, t0 + 1300);
  CHECK(r.act(id).retry_time_ms() == t0 + 1300 + 2000);  // coefficient 2
  r.step(input::activity_timer{id, t0 + 3300}, t0 + 3300);
  r.step(input::activity_started{id, 3, "w1"}, t0 + 3400);
  t = r.step(input::activity_completed{id, {}, "w1", 3}, t0 + 3500);
  REQUIRE(t.events.size() == 3);  // Started, Completed, WorkflowTaskScheduled
  CHECK(t.events[0].activity_task_started().attempt() == 3);
  CHECK(t.events[0].activity_task_started().last_failure().type() == "Flaky");
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  CHECK(count(r.history, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 0);
  CHECK(r.state.pending_activities().empty());
}

TEST_CASE("an answer of an earlier attempt is stale") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 1}, t0 + 100);
  auto res = decide(r.state, input::activity_completed{id, {}, "w1", 1}, t0 + 200);
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).code == errc::stale_task);
}

TEST_CASE("a non-retryable failure (flag or listed type) is written at once") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto t = r.step(input::activity_failed{id, app_failure("Fatal", true), "w1", 1}, t0 + 100);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 1);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_STARTED) == 1);
  CHECK(t.timers_removed.size() == 1);

  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.mutable_retry_policy()->add_non_retryable_error_types("Declined");
  auto r2 = run::with_activity(ca, &id);
  t = r2.step(input::activity_failed{id, app_failure("Declined"), "w1", 1}, t0 + 100);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 1);
}

TEST_CASE("maximum attempts exhausted writes ActivityTaskFailed with the last attempt") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.mutable_retry_policy()->set_maximum_attempts(2);
  int64_t id = 0;
  auto r = run::with_activity(ca, &id);
  r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 1}, t0 + 100);
  r.step(input::activity_timer{id, t0 + 1100}, t0 + 1100);
  auto t = r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 2}, t0 + 1200);
  REQUIRE(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 1);
  CHECK(t.events[0].activity_task_started().attempt() == 2);
}

TEST_CASE("start-to-close timeout retries the attempt - exhausted it writes ActivityTaskTimedOut") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.set_start_to_close_timeout_ms(2000);
  ca.mutable_retry_policy()->set_maximum_attempts(2);
  int64_t id = 0;
  auto r = run::with_activity(ca, &id);
  CHECK(r.act(id).timer_fire_ms() == t0 + 10 + 2000);
  auto t = r.step(input::activity_timer{id, t0 + 2010}, t0 + 2010);
  CHECK(t.events.empty());
  CHECK(r.act(id).attempt() == 2);
  CHECK(r.act(id).last_failure().timeout_type() == pb::TIMEOUT_TYPE_START_TO_CLOSE);
  r.step(input::activity_timer{id, t0 + 3010}, t0 + 3010);
  r.step(input::activity_started{id, 2, "w2"}, t0 + 3020);
  t = r.step(input::activity_timer{id, t0 + 5020}, t0 + 5020);
  REQUIRE(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) == 1);
  CHECK(t.events[1].activity_task_timed_out().failure().type() == "TimeoutError");
  CHECK(t.events[1].activity_task_timed_out().started_event_id() == t.events[0].event_id());
  CHECK(r.state.pending_activities().empty());
}

TEST_CASE("a stale activity timer (not the armed one) is rejected") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto res = decide(r.state, input::activity_timer{id, t0 + 5}, t0 + 5);
  CHECK(std::holds_alternative<rejection>(res));
}

TEST_CASE("schedule-to-start timeout is final and writes only ActivityTaskTimedOut") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.set_schedule_to_start_timeout_ms(500);
  int64_t id = 0;
  run r;
  {
    pb::StartWorkflowRequest req;
    req.set_namespace_("default");
    req.set_workflow_id("a1");
    req.set_workflow_type("Retry");
    req.set_task_queue("q");
    r.step(input::start_workflow{req, "run-1"}, t0);
    r.step(input::workflow_task_started{r.wt(), "w1"}, t0);
    ca.set_activity_id("1");
    ca.mutable_activity_type()->set_name("Flaky");
    pb::Command c;
    *c.mutable_schedule_activity_task() = ca;
    r.step(input::workflow_task_completed{r.wt(), {c}, "w1"}, t0);
    id = r.history.back().event_id();
  }
  auto t = r.step(input::activity_timer{id, t0 + 500}, t0 + 500);
  REQUIRE(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) == 1);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_STARTED) == 0);
  CHECK(t.events[0].activity_task_timed_out().failure().timeout_type()
        == pb::TIMEOUT_TYPE_SCHEDULE_TO_START);
}

TEST_CASE("schedule-to-close stops retries: no retry is scheduled past the deadline") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.set_schedule_to_close_timeout_ms(1500);
  int64_t id = 0;
  auto r = run::with_activity(ca, &id);
  // attempt 1 fails at t0+600: the retry would start at t0+1600 >= t0+1500
  auto t = r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 1}, t0 + 600);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 1);
}

TEST_CASE("heartbeats keep details - push the heartbeat deadline - and reach the next attempt") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.set_heartbeat_timeout_ms(1000);
  int64_t id = 0;
  auto r = run::with_activity(ca, &id);
  CHECK(r.act(id).timer_fire_ms() == t0 + 10 + 1000);
  pb::Payload details;
  details.set_data("42");
  auto t = r.step(input::activity_heartbeat{id, 1, details, "w1"}, t0 + 900);
  CHECK(t.events.empty());
  CHECK(r.act(id).last_heartbeat_details().data() == "42");
  // The armed timer fires; the deadline moved to t0+1900: it is re-armed, nothing times out.
  t = r.step(input::activity_timer{id, t0 + 1010}, t0 + 1010);
  CHECK(r.act(id).attempt() == 1);
  CHECK(r.act(id).timer_fire_ms() == t0 + 1900);
  t = r.step(input::activity_timer{id, t0 + 1900}, t0 + 1900);
  CHECK(r.act(id).attempt() == 2);
  CHECK(r.act(id).last_failure().timeout_type() == pb::TIMEOUT_TYPE_HEARTBEAT);
  CHECK(r.act(id).last_failure().last_heartbeat_details().data() == "42");
  CHECK(r.act(id).last_heartbeat_details().data() == "42");  // handed to attempt 2
}

TEST_CASE("a heartbeat of another attempt is stale") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto res = decide(r.state, input::activity_heartbeat{id, 2, {}, "w1"}, t0 + 20);
  CHECK(std::holds_alternative<rejection>(res));
}

TEST_CASE("workflow execution timeout: timer armed at start - WorkflowExecutionTimedOut drops pending work") {
  pb::StartWorkflowRequest req;
  req.set_workflow_execution_timeout_ms(5000);
  req.set_workflow_run_timeout_ms(3000);
  int64_t id = 0;
  auto r = run::with_activity({}, &id, req);
  CHECK(r.state.workflow_timeout_fire_ms() == t0 + 3000);  // the earlier of the two
  CHECK(r.state.workflow_timeout_kind() == "run");
  auto res = decide(r.state, input::workflow_timed_out{t0 + 1}, t0 + 3000);
  CHECK(std::holds_alternative<rejection>(res));  // not the armed deadline
  auto t = r.step(input::workflow_timed_out{t0 + 3000}, t0 + 3000);
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  CHECK(t.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT);
  CHECK(t.transfers_removed.size() == 1);  // the activity's
  CHECK(t.timers_removed.size() == 2);     // the activity's and the workflow timeout's
}

TEST_CASE("completing the workflow removes the workflow timeout timer") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("a1");
  req.set_workflow_type("Retry");
  req.set_task_queue("q");
  req.set_workflow_execution_timeout_ms(5000);
  run r;
  auto t = r.step(input::start_workflow{req, "run-1"}, t0);
  REQUIRE(t.timers_added.size() == 1);
  CHECK(t.timers_added[0].kind() == pb::TIMER_KIND_WORKFLOW_TIMEOUT);
  r.step(input::workflow_task_started{r.wt(), "w1"}, t0);
  pb::Command c;
  c.mutable_complete_workflow_execution();
  t = r.step(input::workflow_task_completed{r.wt(), {c}, "w1"}, t0 + 5);
  CHECK(t.timers_removed.size() == 1);
}

TEST_CASE("a failed workflow task is remembered as the last failure until a task completes") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("a1");
  req.set_workflow_type("Retry");
  req.set_task_queue("q");
  run r;
  r.step(input::start_workflow{req, "run-1"}, t0);
  r.step(input::workflow_task_started{r.wt(), "w1"}, t0);
  pb::Failure f;
  f.set_message("nondeterminism: event 5");
  r.step(input::workflow_task_failed{r.wt(), f, "w1"}, t0 + 1);
  CHECK(r.state.workflow_task().attempt() == 2);
  CHECK(r.state.last_workflow_task_failure().message() == "nondeterminism: event 5");
  r.step(input::workflow_task_started{r.wt(), "w1"}, t0 + 2);
  r.step(input::workflow_task_completed{r.wt(), {}, "w1"}, t0 + 3);
  CHECK_FALSE(r.state.has_last_workflow_task_failure());
}

TEST_CASE("a lost attempt is retried at once as a start-to-close timeout of that attempt") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto before = r.history.size();
  // Long before the 10-minute start-to-close deadline.
  auto t = r.step(input::activity_lost{id, 1, "worker reconnected without it"}, t0 + 500);
  CHECK(t.events.empty());
  CHECK(r.history.size() == before);
  auto& pa = r.act(id);
  CHECK(pa.attempt() == 2);
  CHECK(pa.state() == pb::ACTIVITY_STATE_BACKOFF);
  CHECK(pa.last_failure().type() == "TimeoutError");
  CHECK(pa.last_failure().timeout_type() == pb::TIMEOUT_TYPE_START_TO_CLOSE);
  CHECK(pa.last_failure().message().find("lost in flight") != std::string::npos);
  CHECK(pa.retry_time_ms() == t0 + 500 + 1000);
  CHECK(t.timers_removed.size() == 1);  // attempt 1's start-to-close deadline
}

TEST_CASE("a lost report of an attempt that is no longer current is stale") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  r.step(input::activity_failed{id, app_failure("Flaky"), "w1", 1}, t0 + 100);
  auto res = decide(r.state, input::activity_lost{id, 1, "late"}, t0 + 200);  // waits for attempt 2
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).code == errc::stale_task);
  r.step(input::activity_timer{id, t0 + 1100}, t0 + 1100);
  r.step(input::activity_started{id, 2, "w1"}, t0 + 1200);
  res = decide(r.state, input::activity_lost{id, 1, "late"}, t0 + 1300);  // attempt 2 runs
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(r.act(id).attempt() == 2);
}

TEST_CASE("a lost report after the attempt completed is stale and completes nothing twice") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  r.step(input::activity_completed{id, {}, "w1", 1}, t0 + 100);
  auto res = decide(r.state, input::activity_lost{id, 1, "late"}, t0 + 200);
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).code == errc::stale_task);
  CHECK(count(r.history, pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1);
}

TEST_CASE("a completion that arrives after its attempt was reported lost is refused as stale") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  r.step(input::activity_lost{id, 1, "lost"}, t0 + 100);
  auto res = decide(r.state, input::activity_completed{id, {}, "w1", 1}, t0 + 200);
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).code == errc::stale_task);
}

TEST_CASE("a lost last attempt times out with its Started event") {
  pb::ScheduleActivityTaskCommandAttributes ca;
  ca.mutable_retry_policy()->set_maximum_attempts(1);
  int64_t id = 0;
  auto r = run::with_activity(ca, &id);
  // Attempt 1 is started (with_activity); the final outcome of a lost last attempt is a timeout.
  auto t = r.step(input::activity_lost{id, 1, "lost"}, t0 + 100);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_STARTED) == 1);
  REQUIRE(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) == 1);
  CHECK(r.state.pending_activities().empty());
}

namespace {

// A new workflow task (by a signal), started and answered with RequestCancelActivityTask of `id`.
transition cancel_by_workflow(run& r, int64_t id, int64_t now) {
  r.step(input::signal_workflow{"stop", {}, "cli", ""}, now);
  r.step(input::workflow_task_started{r.wt(), "w1"}, now);
  pb::Command c;
  c.mutable_request_cancel_activity_task()->set_scheduled_event_id(id);
  return r.step(input::workflow_task_completed{r.wt(), {c}, "w1"}, now);
}

}  // namespace

TEST_CASE("cancel of a started attempt records only CancelRequested - the worker's canceled answer closes it") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto t = cancel_by_workflow(r, id, t0 + 100);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) == 1);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED) == 0);
  REQUIRE(r.state.pending_activities().count(id) == 1);
  int64_t requested = r.act(id).cancel_requested_event_id();
  CHECK(requested == r.history.back().event_id());
  CHECK(t.transfers_removed.size() == 1);  // the workflow task's only: the attempt runs on
  // Heartbeats still count (the execution answers them "cancel requested").
  r.step(input::activity_heartbeat{id, 1, {}, "w1"}, t0 + 200);
  pb::Payload details;
  details.set_data("\"stopped at 7\"");
  t = r.step(input::activity_canceled{id, 1, details, "w1"}, t0 + 300);
  REQUIRE(t.events.size() >= 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED);
  CHECK(t.events[1].activity_task_canceled().latest_cancel_requested_event_id() == requested);
  CHECK(t.events[1].activity_task_canceled().details().data() == "\"stopped at 7\"");
  CHECK(r.state.pending_activities().empty());
  CHECK(count(t.events, pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) == 1);
  // A late completion of the same attempt is stale.
  CHECK(std::holds_alternative<rejection>(
    decide(r.state, input::activity_completed{id, {}, "w1", 1}, t0 + 400)));
}

TEST_CASE("a cancel-requested attempt that fails or times out is not retried") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  cancel_by_workflow(r, id, t0 + 100);
  auto t = r.step(input::activity_failed{id, app_failure("Boom"), "w1", 1}, t0 + 200);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 1);
  CHECK(r.state.pending_activities().empty());

  auto r2 = run::with_activity({}, &id);
  cancel_by_workflow(r2, id, t0 + 100);
  t = r2.step(input::activity_lost{id, 1, "worker died"}, t0 + 200);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT) == 1);
  CHECK(r2.state.pending_activities().empty());
}

TEST_CASE("a canceled answer without a cancel request is refused - the attempt runs on") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  auto res = decide(r.state, input::activity_canceled{id, 1, {}, "w1"}, t0 + 20);
  REQUIRE(std::holds_alternative<rejection>(res));
  CHECK(std::get<rejection>(res).code == errc::invalid_argument);
  CHECK(r.state.pending_activities().count(id) == 1);
}

TEST_CASE("a second RequestCancelActivityTask of a cancel-requested activity fails the workflow task") {
  int64_t id = 0;
  auto r = run::with_activity({}, &id);
  cancel_by_workflow(r, id, t0 + 100);
  auto t = cancel_by_workflow(r, id, t0 + 200);
  CHECK(count(t.events, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 1);
  CHECK(count(t.events, pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) == 0);
}
