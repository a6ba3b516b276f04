// decide: messages to other workflows (SignalExternalWorkflowExecution,
// RequestCancelExternalWorkflowExecution), their answers, and how a continue-as-new carries the
// undelivered ones.
#include <doctest/doctest.h>

#include "decide_support.hpp"
#include "shards/decide.hpp"
#include "shards/workflow_rules.hpp"

using namespace chronicle;
using chronicle::testing::must;
using chronicle::testing::t0;

namespace {

pb::Command signal_cmd(const std::string& wid, const std::string& name = "ping") {
  pb::Command c;
  auto* a = c.mutable_signal_external_workflow_execution();
  a->set_workflow_id(wid);
  a->set_signal_name(name);
  a->mutable_input()->set_data("{\"n\":7}");
  return c;
}

pb::Command cancel_cmd(const std::string& wid) {
  pb::Command c;
  auto* a = c.mutable_request_cancel_external_workflow_execution();
  a->set_workflow_id(wid);
  a->set_reason("not needed");
  return c;
}

pb::Command complete_cmd() {
  pb::Command c;
  c.mutable_complete_workflow_execution()->mutable_result()->set_data("\"done\"");
  return c;
}

struct run : testing::decided_run {
  static run started(const std::string& wid = "sender") {
    pb::StartWorkflowRequest req;
    req.set_namespace_("default");
    req.set_workflow_id(wid);
    req.set_workflow_type("Sender");
    req.set_task_queue("q");
    return {decided_run::started(req)};
  }
  // Completes the started task with `commands`; returns the last event's ID.
  int64_t complete(std::vector<pb::Command> commands) {
    step(input::workflow_task_completed{wt(), std::move(commands), "w1"});
    return state.next_event_id() - 1;
  }
};

bool stale(const decide_result& r) {
  auto* rej = std::get_if<rejection>(&r);
  return rej && rej->code == errc::stale_task;
}

const pb::HistoryEvent* find_event(const std::vector<pb::HistoryEvent>& evs, pb::EventType type) {
  for (auto& ev : evs)
    if (ev.event_type() == type) return &ev;
  return nullptr;
}

}  // namespace

TEST_CASE("external: SignalExternalWorkflowExecution records Initiated and queues the signal with its input") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {signal_cmd("target-1")}, "w1"});
  REQUIRE(t.events.size() == 2);
  auto& ev = t.events[1];
  REQUIRE(ev.event_type() == pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto& a = ev.signal_external_workflow_execution_initiated();
  CHECK(a.namespace_() == "default");  // the sender's
  CHECK(a.workflow_execution().workflow_id() == "target-1");
  CHECK(a.signal_name() == "ping");
  CHECK(a.workflow_task_completed_event_id() == t.events[0].event_id());
  REQUIRE(r.state.pending_externals().count(ev.event_id()) == 1);
  CHECK(r.state.pending_externals().at(ev.event_id()).kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL);
  REQUIRE(r.state.outbound_size() == 1);
  auto& rec = r.state.outbound(0);
  CHECK(rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL);
  CHECK(rec.scheduled_event_id() == ev.event_id());
  CHECK(rec.target_workflow_id() == "target-1");
  CHECK(rec.signal_name() == "ping");
  CHECK(rec.input().data() == "{\"n\":7}");
  REQUIRE(t.transfers_added.size() == 1);
  CHECK(same_outbound(t.transfers_added[0], rec));
}

TEST_CASE("external: initiated then delivered records ExternalWorkflowExecutionSignaled and a workflow task") {
  auto r = run::started();
  int64_t initiated = r.complete({signal_cmd("target-1")});
  auto t = r.step(input::external_delivered{initiated, "target-run"});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED);
  auto& a = t.events[0].external_workflow_execution_signaled();
  CHECK(a.initiated_event_id() == initiated);
  CHECK(a.workflow_execution().workflow_id() == "target-1");
  CHECK(a.workflow_execution().run_id() == "target-run");
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(r.state.pending_externals().empty());
  CHECK(r.state.outbound().empty());
  REQUIRE(t.transfers_removed.size() == 1);
  CHECK(t.transfers_removed[0].kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL);
  // A repeated answer (the message was sent again after a crash) is stale: recorded once.
  CHECK(stale(decide(r.state, input::external_delivered{initiated, "target-run"}, t0)));
  CHECK(stale(decide(r.state, input::external_failed{initiated, "ExternalWorkflowExecutionNotFound", "x"}, t0)));
}

TEST_CASE("external: a signal to a missing or closed workflow records SignalExternalWorkflowExecutionFailed") {
  auto r = run::started();
  int64_t initiated = r.complete({signal_cmd("nobody")});
  auto t = r.step(input::external_failed{initiated, "ExternalWorkflowExecutionNotFound",
                                         "workflow not found"});
  REQUIRE(!t.events.empty());
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
  auto& a = t.events[0].signal_external_workflow_execution_failed();
  CHECK(a.cause() == "ExternalWorkflowExecutionNotFound");
  CHECK(a.message() == "workflow not found");
  CHECK(a.initiated_event_id() == initiated);
  CHECK(a.workflow_execution().workflow_id() == "nobody");
  CHECK(r.state.pending_externals().empty());
  CHECK(r.state.outbound().empty());
}

TEST_CASE("external: cancel_external records Initiated then ExternalWorkflowExecutionCancelRequested or Failed") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {cancel_cmd("target-1"), cancel_cmd("gone")}, "w1"});
  int64_t first = r.state.next_event_id() - 2;
  int64_t second = r.state.next_event_id() - 1;
  CHECK(r.history[static_cast<size_t>(first - 1)].event_type()
        == pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  CHECK(r.history[static_cast<size_t>(first - 1)]
          .request_cancel_external_workflow_execution_initiated()
          .reason()
        == "not needed");
  CHECK(r.state.outbound_size() == 2);
  CHECK(r.state.outbound(0).kind() == pb::TRANSFER_KIND_CANCEL_EXTERNAL);
  CHECK(r.state.outbound(0).reason() == "not needed");
  auto ok = r.step(input::external_delivered{first, "target-run"});
  CHECK(ok.events[0].event_type() == pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  r.take_task();
  // The second answer arrives while a workflow task is started: buffered, written after it.
  auto failed = r.step(input::external_failed{second, "ExternalWorkflowExecutionNotFound", "no"});
  CHECK(failed.events.empty());
  CHECK(r.state.outbound().empty());  // answered: not sent again
  CHECK(stale(decide(r.state, input::external_failed{second, "ExternalWorkflowExecutionNotFound", "no"}, t0)));
  auto done = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  CHECK(find_event(done.events, pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED));
  CHECK(r.state.pending_externals().empty());
}

TEST_CASE("external: malformed commands fail the workflow task with the matching cause") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {signal_cmd("")}, "w1"});
  auto* failed = find_event(t.events, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  REQUIRE(failed);
  CHECK(failed->workflow_task_failed().cause()
        == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES);
  CHECK(r.state.outbound().empty());
  // The retries are transient: their failures write no event, the state keeps the last one.
  r.take_task();
  auto t2 = r.step(input::workflow_task_completed{r.wt(), {signal_cmd("x", "")}, "w1"});
  CHECK(t2.events.empty());
  CHECK(r.state.workflow_task().attempt() == 3);
  CHECK(r.state.last_workflow_task_failure().message().find("SignalExternal") != std::string::npos);
  r.take_task();
  auto t3 = r.step(input::workflow_task_completed{r.wt(), {cancel_cmd("")}, "w1"});
  CHECK(t3.events.empty());
  CHECK(r.state.last_workflow_task_failure().message().find("RequestCancelExternal")
        != std::string::npos);
  // A fresh run: the first failure of a cancel command is written with its cause.
  auto r2 = run::started();
  auto t4 = r2.step(input::workflow_task_completed{r2.wt(), {cancel_cmd("")}, "w1"});
  failed = find_event(t4.events, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  REQUIRE(failed);
  CHECK(failed->workflow_task_failed().cause()
        == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES);
}

TEST_CASE("external: a signal initiated by the closing task is still delivered and its answer is not recorded") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {signal_cmd("target-1"), complete_cmd()}, "w1"});
  CHECK(t.closed);
  int n_signal = 0;
  for (auto& rec : t.transfers_added) n_signal += rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL;
  CHECK(n_signal == 1);
  CHECK(r.state.outbound_size() == 1);
  CHECK(r.state.pending_externals().empty());
  int64_t initiated = r.state.outbound(0).scheduled_event_id();
  CHECK(stale(decide(r.state, input::external_delivered{initiated, "target-run"}, t0)));
}

TEST_CASE("external: continue-as-new carries the undelivered messages into the new run") {
  auto r = run::started("counter");
  r.complete({signal_cmd("target-1")});
  int64_t initiated = r.state.next_event_id() - 1;
  r.step(input::signal_workflow{"next", {}, "cli", ""});  // a new workflow task
  r.take_task();
  pb::Command can;
  can.mutable_continue_as_new_workflow_execution()->mutable_input()->set_data("{}");
  auto t = r.step(input::workflow_task_completed{r.wt(), {cancel_cmd("target-2"), can}, "w1", "run-2"});
  REQUIRE(t.next_run);
  auto& next = *t.next_run;
  // The new run lists both (sent by run-1), so that recovery, which wakes it, sends them again.
  REQUIRE(next.state.outbound_size() == 2);
  for (auto& rec : next.state.outbound()) CHECK(rec.run_id() == "run-1");
  CHECK(next.state.outbound(0).scheduled_event_id() == initiated);
  CHECK(next.state.outbound(1).kind() == pb::TRANSFER_KIND_CANCEL_EXTERNAL);
  // Their records are written once, by the closing run's part (the cancel is new, the signal's
  // record exists already); the new run adds only its workflow task.
  int cancels = 0;
  for (auto& rec : t.transfers_added) cancels += rec.kind() == pb::TRANSFER_KIND_CANCEL_EXTERNAL;
  CHECK(cancels == 1);
  for (auto& rec : next.transfers_added) CHECK(rec.kind() == pb::TRANSFER_KIND_WORKFLOW_TASK);
  // The new run's own messages do not collide with the carried ones of the same event IDs.
  CHECK(stale(decide(next.state, input::external_delivered{initiated, "x"}, t0)));
}

TEST_CASE("external: a new run started over a closed run lists its undelivered messages") {
  auto r = run::started("sender");
  r.step(input::workflow_task_completed{r.wt(), {signal_cmd("target-1"), complete_cmd()}, "w1"});
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("sender");
  req.set_workflow_type("Sender");
  req.set_task_queue("q");
  auto started = decide_start(&r.state, req, "run-2", t0);
  auto* t = std::get_if<transition>(&started);
  REQUIRE(t);
  REQUIRE(t->state.outbound_size() == 1);
  CHECK(t->state.outbound(0).run_id() == "run-1");
  CHECK(t->state.outbound(0).kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL);
}

TEST_CASE("external: the target records a signal sent twice with the same request ID once") {
  // A crash between Initiated and the sender's answer: the message is sent again with the same
  // request ID (the sender's run and initiated event), and the target records it once.
  auto target = run::started("target-1");
  target.complete({});
  input::signal_workflow sig{"ping", {}, "workflow sender", "run-1/5"};
  auto first = target.step(sig);
  CHECK(find_event(first.events, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED));
  auto again = target.step(sig);
  CHECK(again.events.empty());
  target.take_task();
  auto buffered = target.step(input::signal_workflow{"ping", {}, "workflow sender", "run-1/6"});
  CHECK(buffered.events.empty());
  CHECK(target.step(input::signal_workflow{"ping", {}, "workflow sender", "run-1/6"}).events.empty());
  CHECK(target.state.buffered_events_size() == 1);
  int signaled = 0;
  target.step(input::workflow_task_completed{target.wt(), {}, "w1"});
  for (auto& ev : target.history) signaled += ev.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED;
  CHECK(signaled == 2);
}

TEST_CASE("external: folding apply over the history gives the pending messages of the state") {
  auto r = run::started();
  int64_t a = r.complete({signal_cmd("t1"), cancel_cmd("t2")});
  r.step(input::external_delivered{a, "run-t2"});
  pb::MutableState folded;
  for (auto& ev : r.history) apply(folded, ev);
  CHECK(folded.pending_externals_size() == 1);
  CHECK(folded.pending_externals().count(a - 1) == 1);
  CHECK(r.state.pending_externals().count(a - 1) == 1);
  CHECK(folded.pending_externals().at(a - 1).workflow_id() == "t1");
}
