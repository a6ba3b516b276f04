// decide: child workflows, parent close policies and continue-as-new.
#include <doctest/doctest.h>

#include "shards/decide.hpp"
#include "decide_support.hpp"

using namespace chronicle;
using chronicle::testing::must;
using chronicle::testing::t0;

namespace {

pb::Command child_cmd(const std::string& wid, pb::ParentClosePolicy policy) {
  pb::Command c;
  auto* a = c.mutable_start_child_workflow_execution();
  a->set_workflow_id(wid);
  a->set_workflow_type("Greeting");
  a->set_parent_close_policy(policy);
  a->mutable_input()->set_data("{\"name\":\"kid\"}");
  return c;
}

pb::Command complete_cmd() {
  pb::Command c;
  c.mutable_complete_workflow_execution()->mutable_result()->set_data("\"done\"");
  return c;
}

pb::Command can_cmd(const std::string& input) {
  pb::Command c;
  c.mutable_continue_as_new_workflow_execution()->mutable_input()->set_data(input);
  return c;
}

struct run : testing::decided_run {
  static run started(const std::string& wid = "parent", const pb::ParentInfo* parent = nullptr) {
    pb::StartWorkflowRequest req;
    req.set_namespace_("default");
    req.set_workflow_id(wid);
    req.set_workflow_type("Parent");
    req.set_task_queue("q");
    if (parent) *req.mutable_parent() = *parent;
    return {decided_run::started(req)};
  }
};

int count_outbound(const pb::MutableState& s, pb::TransferKind kind) {
  int n = 0;
  for (auto& rec : s.outbound()) n += rec.kind() == kind;
  return n;
}

pb::ChildWorkflowClosed closed_msg(const run& parent, int64_t initiated, const std::string& child_run,
                                   pb::WorkflowExecutionStatus status) {
  pb::ChildWorkflowClosed m;
  m.mutable_parent()->set_namespace_("default");
  m.mutable_parent()->set_workflow_id("parent");
  m.mutable_parent()->set_run_id(parent.state.run_id());
  m.mutable_parent()->set_initiated_event_id(initiated);
  m.mutable_child()->set_workflow_id("kid-1");
  m.mutable_child()->set_run_id(child_run);
  m.set_status(status);
  if (status == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) m.mutable_result()->set_data("\"hi\"");
  else m.mutable_failure()->set_message("boom");
  return m;
}

}  // namespace

TEST_CASE("child: StartChildWorkflowExecution records Initiated - a pending child and a start message") {
  auto r = run::started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {child_cmd("kid-1", pb::PARENT_CLOSE_POLICY_UNSPECIFIED)}, "w1"});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
  auto& a = t.events[1].start_child_workflow_execution_initiated();
  CHECK(a.namespace_() == "default");
  CHECK(a.task_queue() == "q");  // the parent's
  CHECK(a.parent_close_policy() == pb::PARENT_CLOSE_POLICY_TERMINATE);  // the default
  int64_t initiated = t.events[1].event_id();
  REQUIRE(r.state.pending_children().count(initiated) == 1);
  CHECK(r.state.pending_children().at(initiated).workflow_id() == "kid-1");
  CHECK(r.state.pending_children().at(initiated).run_id().empty());
  CHECK(count_outbound(r.state, pb::TRANSFER_KIND_START_CHILD) == 1);
  CHECK(t.transfers_added.size() == 1);
}

TEST_CASE("child: started then completed - events in order and the parent gets a workflow task") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {child_cmd("kid-1", pb::PARENT_CLOSE_POLICY_ABANDON)}, "w1"});
  int64_t initiated = r.state.next_event_id() - 1;
  auto t = r.step(input::child_started{initiated, "kid-run"});
  REQUIRE(t.events.size() == 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  CHECK(t.events[0].child_workflow_execution_started().workflow_execution().run_id() == "kid-run");
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(r.state.pending_children().at(initiated).run_id() == "kid-run");
  CHECK(count_outbound(r.state, pb::TRANSFER_KIND_START_CHILD) == 0);
  // A repeated start acknowledgement is stale.
  CHECK(std::holds_alternative<rejection>(decide(r.state, input::child_started{initiated, "kid-run"}, t0)));

  r.take_task();
  // The close arrives while the task is started: buffered, then written with the next task.
  auto closed = r.step(input::child_closed{closed_msg(r, initiated, "kid-run", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED)});
  CHECK(closed.events.empty());
  auto done = r.step(input::workflow_task_completed{r.wt(), {}, "w1"});
  bool seen = false;
  for (auto& ev : done.events)
    if (ev.event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) {
      seen = true;
      CHECK(ev.child_workflow_execution_closed().result().data() == "\"hi\"");
      CHECK(ev.child_workflow_execution_closed().initiated_event_id() == initiated);
    }
  CHECK(seen);
  CHECK(r.state.pending_children().empty());
  // A repeated close notification is a no-op.
  auto again = must(decide(r.state, input::child_closed{closed_msg(r, initiated, "kid-run", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED)}, t0));
  CHECK(again.events.empty());
}

TEST_CASE("child: a failed child start records StartChildWorkflowExecutionFailed") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {child_cmd("kid-1", pb::PARENT_CLOSE_POLICY_TERMINATE)}, "w1"});
  int64_t initiated = r.state.next_event_id() - 1;
  auto t = r.step(input::child_start_failed{initiated, "WorkflowExecutionAlreadyStarted"});
  REQUIRE(!t.events.empty());
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED);
  CHECK(t.events[0].start_child_workflow_execution_failed().cause() == "WorkflowExecutionAlreadyStarted");
  CHECK(t.events[0].start_child_workflow_execution_failed().initiated_event_id() == initiated);
  CHECK(r.state.pending_children().empty());
  CHECK(r.state.outbound().empty());
}

TEST_CASE("child: a child that closes Failed records ChildWorkflowExecutionFailed with its failure") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {child_cmd("kid-1", pb::PARENT_CLOSE_POLICY_TERMINATE)}, "w1"});
  int64_t initiated = r.state.next_event_id() - 1;
  // The close arrives before the start acknowledgement: Started is written first.
  auto t = r.step(input::child_closed{closed_msg(r, initiated, "kid-run", pb::WORKFLOW_EXECUTION_STATUS_FAILED)});
  REQUIRE(t.events.size() >= 2);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED);
  CHECK(t.events[1].child_workflow_execution_closed().failure().message() == "boom");
  CHECK(r.state.outbound().empty());  // the start message is no longer needed
}

TEST_CASE("child: parent close applies the policy - terminate queues a message - abandon does not") {
  for (auto policy : {pb::PARENT_CLOSE_POLICY_TERMINATE, pb::PARENT_CLOSE_POLICY_ABANDON,
                      pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL}) {
    CAPTURE(policy);
    auto r = run::started();
    r.step(input::workflow_task_completed{r.wt(), {child_cmd("kid-1", policy)}, "w1"});
    int64_t initiated = r.state.next_event_id() - 1;
    r.step(input::child_started{initiated, "kid-run"});
    r.take_task();
    auto t = r.step(input::workflow_task_completed{r.wt(), {complete_cmd()}, "w1"});
    CHECK(t.closed);
    CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    if (policy == pb::PARENT_CLOSE_POLICY_ABANDON) {
      CHECK(count_outbound(r.state, pb::TRANSFER_KIND_CHILD_POLICY) == 0);
    } else {
      REQUIRE(count_outbound(r.state, pb::TRANSFER_KIND_CHILD_POLICY) == 1);
      auto& rec = r.state.outbound(0);
      CHECK(rec.target_workflow_id() == "kid-1");
      CHECK(rec.target_run_id() == "kid-run");
      CHECK(rec.policy() == policy);
    }
  }
}

TEST_CASE("child: a terminated parent also applies the policy to its children") {
  auto r = run::started();
  r.step(input::workflow_task_completed{r.wt(), {child_cmd("kid-1", pb::PARENT_CLOSE_POLICY_TERMINATE)}, "w1"});
  auto t = r.step(input::terminate_workflow{"stop", "cli"});
  CHECK(t.closed);
  CHECK(count_outbound(r.state, pb::TRANSFER_KIND_CHILD_POLICY) == 1);
  CHECK(count_outbound(r.state, pb::TRANSFER_KIND_START_CHILD) == 0);
}

TEST_CASE("child: a child run that closes queues the notification of its parent") {
  pb::ParentInfo parent;
  parent.set_namespace_("default");
  parent.set_workflow_id("parent");
  parent.set_run_id("p-run");
  parent.set_initiated_event_id(5);
  auto r = run::started("kid-1", &parent);
  CHECK(r.state.parent().workflow_id() == "parent");
  CHECK(r.history[0].workflow_execution_started().parent().initiated_event_id() == 5);
  r.step(input::workflow_task_completed{r.wt(), {complete_cmd()}, "w1"});
  CHECK(count_outbound(r.state, pb::TRANSFER_KIND_PARENT_NOTIFY) == 1);
}

TEST_CASE("continue-as-new: the run closes ContinuedAsNew and a new run starts with the input") {
  auto r = run::started("counter");
  auto t = r.step(input::workflow_task_completed{r.wt(), {can_cmd("{\"n\":1}")}, "w1", "run-2"});
  CHECK(t.closed);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  CHECK(r.state.continued_to_run_id() == "run-2");
  REQUIRE(!t.events.empty());
  auto& last = t.events.back();
  REQUIRE(last.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  CHECK(last.workflow_execution_continued_as_new().new_execution_run_id() == "run-2");
  CHECK(last.workflow_execution_continued_as_new().workflow_type().name() == "Parent");
  REQUIRE(t.next_run);
  auto& next = *t.next_run;
  CHECK(next.state.run_id() == "run-2");
  CHECK(next.state.workflow_id() == "counter");
  CHECK(next.state.continued_from_run_id() == "run-1");
  CHECK(next.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  REQUIRE(next.events.size() == 2);
  CHECK(next.events[0].event_id() == 1);
  CHECK(next.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  auto& started = next.events[0].workflow_execution_started();
  CHECK(started.input().data() == "{\"n\":1}");
  CHECK(started.continued_execution_run_id() == "run-1");
  CHECK(started.task_queue() == "q");
  CHECK(next.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  CHECK(!next.transfers_added.empty());  // its first workflow task is dispatched
}

TEST_CASE("continue-as-new: without a new run ID or not as the last command the task is refused") {
  auto r = run::started("counter");
  auto no_id = decide(r.state, input::workflow_task_completed{r.wt(), {can_cmd("{}")}, "w1"}, t0);
  CHECK(std::holds_alternative<rejection>(no_id));
  auto t = must(decide(r.state, input::workflow_task_completed{r.wt(), {can_cmd("{}"), complete_cmd()}, "w1", "run-2"}, t0));
  // A closing command that is not last fails the workflow task.
  bool failed = false;
  for (auto& ev : t.events) failed |= ev.event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED;
  CHECK(failed);
  CHECK(!t.next_run);
}
