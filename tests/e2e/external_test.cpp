// End-to-end: messages to other workflows (ctx.signal_external / cancel_external) across the nodes
// of a 3-node cluster, real node processes and the sample worker ("Notifier" sends, "Sleepy"
// receives), including kill -9 of the sender's node between the Initiated event and the delivery.
#include <doctest/doctest.h>

#include "node_cluster.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

constexpr uint32_t shards = 8;

struct cluster : node_cluster {
  cluster() : node_cluster(shards) {}

  // A workflow ID (prefix + n) whose shard node `owner` owns.
  std::string id_on(const std::string& owner, const std::string& prefix) {
    for (int i = 0;; ++i) {
      auto id = prefix + std::to_string(i);
      if (ring.shard_owner(shard_of("default", id, num_shards)) == owner) return id;
    }
  }

  // Starts the three nodes and a greeting-worker connected to node1 serving a task queue node1
  // owns; that queue.
  std::string start_with_worker() {
    for (size_t i = 0; i < 3; ++i) start(i);
    wait_all_up(0);
    auto queue = queue_on("node1");
    start_worker(0, queue);
    return queue;
  }

  // A task queue the ring places on `owner`.
  std::string queue_on(const std::string& owner) {
    for (int i = 0;; ++i) {
      auto q = "ext" + std::to_string(i);
      if (ring.task_queue_owner("default", q) == owner) return q;
    }
  }
};

pb::StartWorkflowRequest request(const std::string& wid, const std::string& type,
                                 const std::string& queue, const json& input) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type(type);
  req.set_task_queue(queue);
  req.set_request_id("start-" + wid);
  *req.mutable_input() = sdk::to_payload(input);
  return req;
}

int count(const pb::GetHistoryResponse& h, pb::EventType type) {
  int n = 0;
  for (auto& ev : h.events()) n += ev.event_type() == type;
  return n;
}

pb::GetResultResponse closed(client& c, const std::string& wid) {
  auto r = c.result("", wid, "", 60s);
  REQUIRE_MESSAGE(r, wid << ": " << error_text(r));
  return *r;
}

json completed(client& c, const std::string& wid) {
  auto r = closed(c, wid);
  REQUIRE_MESSAGE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED,
                  wid << ": " << status_name(r.status()) << ": " << r.failure().message());
  return sdk::from_payload(r.result());
}

// Waits until `wid`'s history holds an event of `type` (asking again while unavailable).
void wait_for_event(client& c, const std::string& wid, pb::EventType type) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = c.history("", wid);
    if (h && count(*h, type) > 0) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL(wid << " has no " << event_type_name(type) << " event");
}

}  // namespace

TEST_CASE("external: a workflow signals one on another node once - a missing target fails the await - cancel_external cancels") {
  cluster cl;
  auto queue = cl.start_with_worker();
  auto c = cl.connect(0);
  auto target = cl.id_on("node3", "target-");
  auto victim = cl.id_on("node3", "victim-");
  auto sender = cl.id_on("node2", "sender-");
  REQUIRE(c.start(request(target, "Sleepy", queue, json::object())));
  REQUIRE(c.start(request(victim, "Sleepy", queue, json::object())));
  json in = {{"target", target}, {"input", {{"from", "sender"}}}, {"cancel", victim}};
  REQUIRE(c.start(request(sender, "Notifier", queue, in)));

  auto out = completed(c, sender);
  CHECK(out["signal"] == "delivered");
  CHECK(out["cancel"] == "delivered");
  CHECK(completed(c, target)["woke"] == json{{"from", "sender"}});
  CHECK(closed(c, victim).status() == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);

  auto th = c.history("", target);
  REQUIRE(th);
  REQUIRE(count(*th, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1);
  for (auto& ev : th->events())
    if (ev.has_workflow_execution_signaled())
      CHECK(ev.workflow_execution_signaled().identity() == "workflow " + sender);
  auto sh = c.history("", sender);
  REQUIRE(sh);
  CHECK(count(*sh, pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) == 1);
  CHECK(count(*sh, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED) == 1);
  CHECK(count(*sh, pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) == 1);
  CHECK(count(*sh, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1);
  for (int i = 0; i < sh->events_size(); ++i) CHECK(sh->events(i).event_id() == i + 1);

  // The CLI renders the new events.
  std::string shown;
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", cl.address(1), "workflow", "show", "-w", sender},
            &shown) == 0);
  CHECK_MESSAGE(shown.find("SignalExternalWorkflowExecutionInitiated") != std::string::npos, shown);
  CHECK_MESSAGE(shown.find("ExternalWorkflowExecutionSignaled") != std::string::npos, shown);
  CHECK_MESSAGE(shown.find("ExternalWorkflowExecutionCancelRequested") != std::string::npos, shown);

  // A signal to a workflow that does not exist fails the await with the cause.
  auto lonely = cl.id_on("node2", "lonely-");
  REQUIRE(c.start(request(lonely, "Notifier", queue, json{{"target", "nobody-here"}})));
  std::string failed = completed(c, lonely)["signal"];
  CHECK_MESSAGE(failed.find("signal to workflow 'nobody-here' failed: "
                            "ExternalWorkflowExecutionNotFound") != std::string::npos,
                failed);
  auto lh = c.history("", lonely);
  REQUIRE(lh);
  CHECK(count(*lh, pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED) == 1);
  // A closed target: the same cause.
  auto late = cl.id_on("node1", "late-");
  REQUIRE(c.start(request(late, "Notifier", queue, json{{"target", target}})));
  std::string refused = completed(c, late)["signal"];
  CHECK_MESSAGE(refused.find("ExternalWorkflowExecutionNotFound") != std::string::npos, refused);
}

TEST_CASE("external: kill -9 of the sender's node between Initiated and delivery - the signal arrives exactly once") {
  cluster cl;
  auto queue = cl.start_with_worker();
  auto c = cl.connect(0);
  auto target = cl.id_on("node3", "target-");
  auto sender = cl.id_on("node2", "sender-");
  REQUIRE(c.start(request(target, "Sleepy", queue, json::object())));
  wait_for_event(c, target, pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  // The target's node is down: the sender records Initiated and keeps retrying the delivery.
  cl.nodes[2].kill9();
  REQUIRE(c.start(request(sender, "Notifier", queue, json{{"target", target}, {"input", 42}})));
  wait_for_event(c, sender, pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  std::this_thread::sleep_for(300ms);  // a retry or two fail meanwhile
  cl.nodes[1].kill9();
  cl.start(1);
  cl.start(2);
  cl.wait_all_up(0);

  CHECK(completed(c, target)["woke"] == 42);
  CHECK(completed(c, sender)["signal"] == "delivered");
  auto th = c.history("", target);
  REQUIRE(th);
  CHECK(count(*th, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1);
  auto sh = c.history("", sender);
  REQUIRE(sh);
  CHECK(count(*sh, pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) == 1);
  CHECK(count(*sh, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED) == 1);
  auto d = c.describe("", sender);
  REQUIRE(d);
  CHECK(d->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_CASE("external: a parent's cancel request reaches its child across kill -9 of the parent's node - describe lists the undelivered request") {
  cluster cl;
  auto queue = cl.start_with_worker();
  auto c = cl.connect(0);
  auto parent = cl.id_on("node2", "parent-");
  auto child = cl.id_on("node3", "child-");
  REQUIRE(c.start(request(parent, "ParentWaits", queue, json{{"child_id", child}})));
  wait_for_event(c, parent, pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  wait_for_event(c, child, pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  // The child's node is down: the parent records the cancel request and keeps retrying it.
  cl.nodes[2].kill9();
  auto req = c.cancel("", parent, "", "the test cancels the parent");
  REQUIRE_MESSAGE(req, error_text(req.error()));
  wait_for_event(c, parent, pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
  auto d = c.describe("", parent);
  REQUIRE_MESSAGE(d, error_text(d.error()));
  REQUIRE(d->pending_externals_size() == 1);
  const auto& ext = d->pending_externals(0);
  CHECK(ext.kind() == "cancel");
  CHECK(ext.workflow_id() == child);
  CHECK(ext.namespace_() == "default");
  CHECK(ext.awaiting_answer());
  CHECK(ext.sender_run_id() == d->run_id());
  auto sh = c.history("", parent);
  REQUIRE(sh);
  for (auto& ev : sh->events())
    if (ev.has_request_cancel_external_workflow_execution_initiated())
      CHECK(ext.initiated_event_id() == ev.event_id());
  std::string shown;
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", cl.address(0), "workflow", "describe", "-w", parent},
            &shown) == 0);
  CHECK_MESSAGE(shown.find("Undelivered messages: 1") != std::string::npos, shown);
  CHECK_MESSAGE(shown.find("cancel to " + child) != std::string::npos, shown);
  // The parent's node dies before the delivery; both nodes come back.
  cl.nodes[1].kill9();
  cl.start(1);
  cl.start(2);
  cl.wait_all_up(0);

  CHECK(closed(c, child).status() == pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
  auto out = completed(c, parent);
  CHECK(out["child"] == "ChildWorkflowExecutionCanceled");
  CHECK(out["cancel_requested"] == true);
  auto ph = c.history("", parent);
  REQUIRE(ph);
  CHECK(count(*ph, pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) == 1);
  CHECK(count(*ph, pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1);
  CHECK(count(*ph, pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED) == 1);
  auto ch = c.history("", child);
  REQUIRE(ch);
  CHECK(count(*ch, pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) == 1);
  auto after = c.describe("", parent);
  REQUIRE(after);
  CHECK(after->pending_externals_size() == 0);
}
