// The workflow ID policies of a start and the history size limit (shards/workflow_rules.hpp).
#include "shards/workflow_rules.hpp"

#include "decide_support.hpp"

using namespace chronicle;
using namespace chronicle::testing;

namespace {

pb::StartWorkflowRequest start_req(const std::string& request_id = "") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("g1");
  req.set_workflow_type("Greeting");
  req.set_task_queue("greetings");
  req.set_request_id(request_id);
  return req;
}

// The current run "run-1", started by request "req-1", and closed with `close` unless running.
pb::MutableState current_run(const std::optional<decide_input>& close = std::nullopt) {
  auto r = decided_run::started(start_req("req-1"));
  if (close) r.step(*close);
  return r.state;
}

input::terminate_workflow terminate() { return {"done", "tester"}; }

rejection rejected(const start_result& r) {
  REQUIRE(std::holds_alternative<rejection>(r));
  return std::get<rejection>(r);
}

}  // namespace

TEST_CASE("a start of a workflow ID without runs starts a new run") {
  auto r = decide_start(nullptr, start_req(), "run-2", t0);
  REQUIRE(std::holds_alternative<transition>(r));
  CHECK(std::get<transition>(r).state.run_id() == "run-2");
}

TEST_CASE("a retried start with the request ID of the current run answers with that run") {
  auto cur = current_run();
  auto r = decide_start(&cur, start_req("req-1"), "run-2", t0);
  REQUIRE(std::holds_alternative<start_existing>(r));
  CHECK(std::get<start_existing>(r).run_id == "run-1");
}

TEST_CASE("a start while a run is running is refused as already started") {
  auto cur = current_run();
  auto rej = rejected(decide_start(&cur, start_req("req-2"), "run-2", t0));
  CHECK(rej.code == errc::already_started);
  CHECK(rej.message == "workflow 'g1' is already running (run run-1)");
}

TEST_CASE("conflict policy use-existing answers with the running run") {
  auto cur = current_run();
  auto req = start_req("req-2");
  req.set_id_conflict_policy(pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING);
  auto r = decide_start(&cur, req, "run-2", t0);
  REQUIRE(std::holds_alternative<start_existing>(r));
  CHECK(std::get<start_existing>(r).run_id == "run-1");
}

TEST_CASE("conflict policy terminate-existing closes the running run and starts the next in one transition") {
  auto cur = current_run();
  auto req = start_req("req-2");
  req.set_id_conflict_policy(pb::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING);
  auto r = decide_start(&cur, req, "run-2", t0);
  REQUIRE(std::holds_alternative<transition>(r));
  auto& t = std::get<transition>(r);
  CHECK(t.closed);
  CHECK(t.state.run_id() == "run-1");
  CHECK(t.state.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(t.events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  REQUIRE(t.next_run);
  CHECK(t.next_run->state.run_id() == "run-2");
  CHECK(t.next_run->state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(t.next_run->events.front().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
}

TEST_CASE("reuse policy terminate-if-running also closes the running run and starts the next") {
  auto cur = current_run();
  auto req = start_req("req-2");
  req.set_id_reuse_policy(pb::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING);
  auto r = decide_start(&cur, req, "run-2", t0);
  REQUIRE(std::holds_alternative<transition>(r));
  REQUIRE(std::get<transition>(r).next_run);
}

TEST_CASE("a start after the run closed creates a new run by default") {
  auto cur = current_run(decide_input{terminate()});
  auto r = decide_start(&cur, start_req("req-2"), "run-2", t0);
  REQUIRE(std::holds_alternative<transition>(r));
  CHECK(std::get<transition>(r).state.run_id() == "run-2");
  CHECK_FALSE(std::get<transition>(r).next_run);
}

TEST_CASE("reuse policy reject-duplicate refuses a new run after a closed one") {
  auto cur = current_run(decide_input{terminate()});
  auto req = start_req("req-2");
  req.set_id_reuse_policy(pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE);
  auto rej = rejected(decide_start(&cur, req, "run-2", t0));
  CHECK(rej.code == errc::already_started);
  CHECK(rej.message.find("reject duplicate") != std::string::npos);
}

TEST_CASE("reuse policy allow-duplicate-failed-only allows a new run after a terminated one only") {
  auto req = start_req("req-2");
  req.set_id_reuse_policy(pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY);
  auto terminated = current_run(decide_input{terminate()});
  CHECK(std::holds_alternative<transition>(decide_start(&terminated, req, "run-2", t0)));
  auto r = decided_run::started(start_req("req-1"));
  pb::Command done;
  done.mutable_complete_workflow_execution();
  r.step(input::workflow_task_completed{r.wt(), {done}, "w1"});
  REQUIRE(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto rej = rejected(decide_start(&r.state, req, "run-2", t0));
  CHECK(rej.message.find("allow duplicate failed only") != std::string::npos);
}

TEST_CASE("a transition that would pass the history limit terminates the run instead") {
  auto r = decided_run::started(start_req());
  auto before = r.state;
  auto t = must(decide(before, input::signal_workflow{"s", {}, "c", ""}, t0));
  auto limit = before.next_event_id() - 2;  // the run is already past it
  auto term = over_history_limit(before, t, limit, t0);
  REQUIRE(term);
  CHECK(term->state.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(term->events.back().workflow_execution_terminated().reason()
        == history_limit_reason(limit));
  CHECK_FALSE(over_history_limit(before, t, limit + 10, t0));
}

TEST_CASE("a transition that closes the run is never replaced by the history limit") {
  auto r = decided_run::started(start_req());
  auto t = must(decide(r.state, terminate(), t0));
  CHECK_FALSE(over_history_limit(r.state, t, 1, t0));
}
