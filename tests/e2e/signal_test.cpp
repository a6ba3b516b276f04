// End-to-end: signals, signal-with-start, terminate and cancel against a real chronicle-node and a
// real greeting-worker process serving the Approval workflow, including kill -9 of the node while
// an acknowledged signal waits to be consumed.
#include <doctest/doctest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <thread>

#include "deployment.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

// One node and one worker, each a real process (deployment.hpp).
using approval_deployment = single_node;

pb::StartWorkflowRequest approval_request(const std::string& wid, const json& input = nullptr) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type("Approval");
  req.set_task_queue("greetings");
  *req.mutable_input() = sdk::to_payload(input);
  return req;
}

std::string start_approval(client& c, const std::string& wid, const json& input = nullptr) {
  auto resp = c.start(approval_request(wid, input));
  REQUIRE_MESSAGE(resp, error_text(resp));
  return resp->run_id();
}

// Waits until the workflow's first task completed and it waits (no workflow task pending).
void wait_until_waiting(client& c, const std::string& wid) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe("", wid);
    if (d && d->pending_workflow_task().empty() && d->history_length() >= 4) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("timed out waiting until " << wid << " waits for its signal");
}

void signal(client& c, const std::string& wid, const std::string& name, const json& input) {
  auto resp = c.signal("", wid, "", name, sdk::to_payload(input));
  REQUIRE_MESSAGE(resp, error_text(resp));
}

pb::GetResultResponse result_of(client& c, const std::string& wid) {
  auto res = c.result("", wid, "", 30s);
  REQUIRE_MESSAGE(res, error_text(res));
  return *res;
}

json completed_value(client& c, const std::string& wid) {
  auto res = result_of(c, wid);
  REQUIRE(res.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  return sdk::from_payload(res.result());
}

pb::GetHistoryResponse history_of(client& c, const std::string& wid) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h));
  for (int i = 0; i < h->events_size(); ++i) CHECK(h->events(i).event_id() == i + 1);
  return *h;
}

// The events of `type` in `h` (pointers into h: keep it alive).
std::vector<const pb::HistoryEvent*> events_of(const pb::GetHistoryResponse& h, pb::EventType type) {
  std::vector<const pb::HistoryEvent*> out;
  for (auto& ev : h.events())
    if (ev.event_type() == type) out.push_back(&ev);
  return out;
}

}  // namespace

TEST_CASE("signal: a waiting workflow receives the signal and completes with it") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "s1");
  wait_until_waiting(c, "s1");
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "signal", "-w", "s1", "--name", "approve", "--input",
                         R"({"by":"Ada"})"}, &out) == 0, out);
  CHECK(out.find("signaled workflow 's1'") != std::string::npos);
  auto value = completed_value(c, "s1");
  CHECK(value["approved_by"] == "Ada");
  CHECK(value["greeting"] == "Hello, Ada!");
  auto h = history_of(c, "s1");
  auto signals = events_of(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  REQUIRE(signals.size() == 1);
  CHECK(signals[0]->workflow_execution_signaled().signal_name() == "approve");
  CHECK(signals[0]->workflow_execution_signaled().identity() == "chronicle-cli");
  CHECK(h.events(h.events_size() - 1).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_CASE("signal: a passivated workflow is reactivated by a signal") {
  approval_deployment d("passivate_after_ms: 100\n");
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "p1");
  wait_until_waiting(c, "p1");
  std::this_thread::sleep_for(400ms);  // idle: its execution actor is gone
  signal(c, "p1", "approve", {{"by", "Pat"}});
  CHECK(completed_value(c, "p1")["approved_by"] == "Pat");
}

TEST_CASE("signal: several signals are delivered in the order they were sent") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "s2");
  wait_until_waiting(c, "s2");
  signal(c, "s2", "ping", "first");
  signal(c, "s2", "ping", "second");
  signal(c, "s2", "approve", {{"by", "Bob"}});
  auto value = completed_value(c, "s2");
  CHECK(value["pings"] == 2);
  CHECK(value["ping_inputs"] == json::array({"first", "second"}));
  CHECK(value["approved_by"] == "Bob");
  auto h = history_of(c, "s2");
  auto signals = events_of(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  REQUIRE(signals.size() == 3);
  CHECK(signals[0]->workflow_execution_signaled().signal_name() == "ping");
  CHECK(signals[1]->workflow_execution_signaled().signal_name() == "ping");
  CHECK(signals[2]->workflow_execution_signaled().signal_name() == "approve");
}

TEST_CASE("signal: an unknown or closed workflow gives a clear error") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto unknown = c.signal("", "nobody", "", "approve", {});
  REQUIRE_FALSE(unknown);
  CHECK(chronicle_code(unknown.error()) == static_cast<uint8_t>(errc::not_found));
  CHECK(error_text(unknown.error()) == "workflow 'nobody' not found");

  start_approval(c, "s3");
  signal(c, "s3", "approve", {{"by", "Cy"}});
  completed_value(c, "s3");
  std::string out;
  CHECK(d.cli({"workflow", "signal", "-w", "s3", "--name", "approve"}, &out) == 1);
  CHECK(out.find("workflow 's3' is closed (Completed)") != std::string::npos);
  CHECK(d.cli({"workflow", "signal", "-w", "s3", "--name", ""}, &out) == 1);
  CHECK(out.find("signal name is empty") != std::string::npos);
}

TEST_CASE("signal-with-start: starts and signals atomically - then only signals the running run") {
  approval_deployment d;
  d.start_node();
  auto c = d.connect();  // no worker yet: the first events are exactly what the start wrote
  auto first = c.signal_with_start(approval_request("sws"), "ping", sdk::to_payload("hello"));
  REQUIRE_MESSAGE(first, error_text(first));
  CHECK(first->started());
  auto h = history_of(c, "sws");
  REQUIRE(h.events_size() == 3);
  CHECK(h.events(0).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  CHECK(h.events(1).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  CHECK(h.events(2).event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);

  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "signal-with-start", "-t", "Approval", "-q", "greetings",
                         "-w", "sws", "--name", "approve", "--signal-input", R"({"by":"Di"})"},
                        &out) == 0, out);
  CHECK(out.find(first->run_id()) != std::string::npos);  // the same run, only signaled
  d.start_worker();
  auto value = completed_value(c, "sws");
  CHECK(value["approved_by"] == "Di");
  CHECK(value["ping_inputs"] == json::array({"hello"}));

  auto again = c.signal_with_start(approval_request("sws"), "approve", sdk::to_payload(nullptr));
  REQUIRE(again);
  CHECK(again->started());  // the previous run closed: a new run
  CHECK(again->run_id() != first->run_id());
  CHECK(completed_value(c, "sws")["approved_by"] == "someone");
}

TEST_CASE("terminate: a waiting workflow ends Terminated with the reason") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "t1");
  wait_until_waiting(c, "t1");
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "terminate", "-w", "t1", "--reason", "stuck for good"}, &out) == 0,
                  out);
  CHECK(d.cli({"workflow", "result", "-w", "t1", "--timeout", "10"}, &out) == 1);
  CHECK(out.find("workflow 't1' was terminated: stuck for good") != std::string::npos);
  auto res = result_of(c, "t1");
  CHECK(res.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  auto h = history_of(c, "t1");
  auto& last = h.events(h.events_size() - 1);
  REQUIRE(last.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  CHECK(last.workflow_execution_terminated().reason() == "stuck for good");
  CHECK(last.workflow_execution_terminated().identity() == "chronicle-cli");
  auto desc = c.describe("", "t1");
  REQUIRE(desc);
  CHECK(desc->status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  // Closed now: signals and a second terminate are refused.
  auto late = c.signal("", "t1", "", "approve", {});
  REQUIRE_FALSE(late);
  CHECK(error_text(late.error()).find("is closed (Terminated)") != std::string::npos);
  CHECK_FALSE(c.terminate("", "t1", "", "again"));
}

TEST_CASE("terminate: a result waiter is answered at once") {
  approval_deployment d;
  d.start_node();
  auto c = d.connect();
  start_approval(c, "t2");  // no worker: it never runs
  std::thread terminator([&] {
    std::this_thread::sleep_for(300ms);
    auto c2 = d.connect();
    CHECK(c2.terminate("", "t2", "", "no worker"));
  });
  auto res = result_of(c, "t2");
  terminator.join();
  CHECK(res.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  CHECK(res.failure().message() == "no worker");
}

TEST_CASE("cancel: a waiting workflow that lets the cancellation escape ends Canceled") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "c1");
  wait_until_waiting(c, "c1");
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "cancel", "-w", "c1", "--reason", "not needed"}, &out) == 0, out);
  CHECK(out.find("requested cancellation of workflow 'c1'") != std::string::npos);
  auto res = result_of(c, "c1");
  CHECK(res.status() == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  CHECK(d.cli({"workflow", "result", "-w", "c1"}, &out) == 1);
  CHECK(out.find("workflow 'c1' was canceled") != std::string::npos);
  auto h = history_of(c, "c1");
  auto requested = events_of(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  REQUIRE(requested.size() == 1);
  CHECK(requested[0]->workflow_execution_cancel_requested().cause() == "not needed");
  CHECK(h.events(h.events_size() - 1).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED);
}

TEST_CASE("cancel: a workflow that catches it cleans up with an activity and completes") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "c2", {{"cleanup", true}});
  wait_until_waiting(c, "c2");
  // Without a worker the run cannot react (tasks go out at once, so with one it could finish
  // before the second request): both requests find it running.
  d.worker.kill9();
  REQUIRE(c.cancel("", "c2", "", "shutting down"));
  REQUIRE(c.cancel("", "c2", "", "twice is fine"));  // idempotent
  d.start_worker();
  auto value = completed_value(c, "c2");
  CHECK(value["canceled"] == true);
  CHECK(value["cleanup"] == "Hello, cleanup!");
  auto h = history_of(c, "c2");
  CHECK(events_of(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED).size() == 1);
  CHECK(events_of(h, pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED).size() == 1);
}

TEST_CASE("signal survives kill -9 of the node between acknowledgement and consumption") {
  approval_deployment d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_approval(c, "k1");
  wait_until_waiting(c, "k1");
  d.worker.kill9();  // nobody can consume the signal now
  signal(c, "k1", "ping", 1);
  signal(c, "k1", "approve", {{"by", "Eve"}});
  d.node.kill9();
  d.start_node();
  d.start_worker();
  auto c2 = d.connect();
  auto value = completed_value(c2, "k1");
  CHECK(value["approved_by"] == "Eve");
  CHECK(value["ping_inputs"] == json::array({1}));
  auto h = history_of(c2, "k1");
  CHECK(events_of(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).size() == 2);
  CHECK(events_of(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED).size() == 1);
}
