// End-to-end: child workflows with parent close policies and continue-as-new, against a real
// chronicle-node and a real greeting-worker process.
#include <doctest/doctest.h>

#include <map>

#include "deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

std::map<pb::EventType, int> count_events(const pb::GetHistoryResponse& h) {
  std::map<pb::EventType, int> counts;
  for (auto& ev : h.events()) ++counts[ev.event_type()];
  return counts;
}

json result_json(client& c, const std::string& wid, const std::string& run_id = {}) {
  auto r = c.result("", wid, run_id, 30s);
  REQUIRE_MESSAGE(r, error_text(r));
  REQUIRE_MESSAGE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED,
                  status_name(r->status()) << ": " << r->failure().message());
  return sdk::from_payload(r->result());
}

}  // namespace

TEST_CASE("child: ParentGreeting runs a child per name - results and a failed child reach the parent") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  json input = {{"names", json::array({"Ann", "Bob", 42})}};
  auto start = c.start(start_request("family", "ParentGreeting", input));
  REQUIRE_MESSAGE(start, error_text(start));
  auto out = result_json(c, "family");
  REQUIRE(out["children"].size() == 3);
  CHECK(out["children"][0]["greeting"] == "Hello, Ann!");
  CHECK(out["children"][0]["workflow_id"] == "family-child-1");
  CHECK(out["children"][1]["greeting"] == "Hello, Bob!");
  // The third child's activity refused a non-string name: the child failed, the parent saw it.
  std::string failed = out["children"][2].value("failed", "");
  CHECK(failed.find("ChildWorkflowExecutionFailed") != std::string::npos);
  CHECK_MESSAGE(failed.find("string field 'name'") != std::string::npos, failed);

  auto h = c.history("", "family");
  REQUIRE(h);
  auto counts = count_events(*h);
  CHECK(counts[pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED] == 3);
  CHECK(counts[pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED] == 3);
  CHECK(counts[pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED] == 2);
  CHECK(counts[pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED] == 1);
  for (int i = 0; i < h->events_size(); ++i) CHECK(h->events(i).event_id() == i + 1);

  // Each child is a workflow of its own that knows its parent.
  auto child = c.describe("", "family-child-2");
  REQUIRE(child);
  CHECK(child->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(child->parent().workflow_id() == "family");
  CHECK(child->parent().run_id() == start->run_id());
  auto parent = c.describe("", "family");
  REQUIRE(parent);
  CHECK(parent->pending_children_size() == 0);
}

TEST_CASE("child: parent close policy terminate ends a running child - abandon leaves it running") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  for (std::string policy : {"terminate", "abandon"}) {
    CAPTURE(policy);
    std::string parent = "p-" + policy, kid = "kid-" + policy;
    json input = {{"child_id", kid}, {"policy", policy}};
    REQUIRE(c.start(start_request(parent, "ParentSleepy", input)));
    wait_until(c, parent, [](auto& r) {
      return r.pending_children_size() == 1 && r.pending_children(0).state() == "started";
    }, "the child started");
    auto desc = c.describe("", parent);
    REQUIRE(desc);
    CHECK(desc->pending_children(0).workflow_id() == kid);
    CHECK(desc->pending_children(0).workflow_type() == "Sleepy");
    // The CLI shows the pending child.
    std::string out;
    CHECK(d.cli({"workflow", "describe", "-w", parent}, &out) == 0);
    CHECK_MESSAGE(out.find("child " + kid + " Sleepy (started") != std::string::npos, out);
    CHECK(c.describe("", kid)->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);

    REQUIRE(c.signal("", parent, "", "finish", sdk::to_payload(nullptr)));
    result_json(c, parent);
    if (policy == "terminate") {
      wait_until(c, kid, [](auto& r) {
        return r.status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED;
      }, "the child is terminated");
      auto h = c.history("", kid);
      REQUIRE(h);
      auto& last = h->events(h->events_size() - 1);
      CHECK(last.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
      CHECK(last.workflow_execution_terminated().reason().find("parent") != std::string::npos);
    } else {
      std::this_thread::sleep_for(500ms);
      CHECK(c.describe("", kid)->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
      REQUIRE(c.signal("", kid, "", "wake", sdk::to_payload("late")));
      CHECK(result_json(c, kid)["woke"] == "late");
    }
  }
}

TEST_CASE("child: a child survives kill -9 of the node and the parent still gets its result") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  json input = {{"child_id", "kid-crash"}, {"policy", "abandon"}};
  REQUIRE(c.start(start_request("p-crash", "ParentSleepy", input)));
  wait_until(c, "p-crash", [](auto& r) {
    return r.pending_children_size() == 1 && r.pending_children(0).state() == "started";
  }, "the child started");
  d.node.kill9();
  d.start_node();
  auto c2 = d.connect();
  // Right after the restart the shards may still be recovering ("unavailable"): ask again.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  auto sent = c2.signal("", "kid-crash", "", "wake", sdk::to_payload(1));
  while (!sent && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    sent = c2.signal("", "kid-crash", "", "wake", sdk::to_payload(1));
  }
  REQUIRE_MESSAGE(sent, error_text(sent) << "\nnode log:\n" << d.node.output());
  CHECK(result_json(c2, "kid-crash")["woke"] == 1);
  REQUIRE(c2.signal("", "p-crash", "", "finish", sdk::to_payload(nullptr)));
  result_json(c2, "p-crash");
}

TEST_CASE("continue-as-new: Counter runs 4 times under one workflow ID - each run starts a new history") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto start = c.start(start_request("counter", "Counter", json{{"n", 0}, {"upto", 3}}));
  REQUIRE_MESSAGE(start, error_text(start));
  // A result waiter on the first run follows the chain to the last run's result.
  auto out = result_json(c, "counter", start->run_id());
  CHECK(out["count"] == 3);
  std::string last_run = out["run_id"];
  CHECK(last_run != start->run_id());

  // The first run closed ContinuedAsNew, naming the next run.
  auto first = c.describe("", "counter", start->run_id());
  REQUIRE(first);
  CHECK(first->status() == pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW);
  CHECK(!first->continued_to_run_id().empty());
  auto h1 = c.history("", "counter", start->run_id());
  REQUIRE(h1);
  auto& closing = h1->events(h1->events_size() - 1);
  CHECK(closing.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
  CHECK(closing.workflow_execution_continued_as_new().new_execution_run_id()
        == first->continued_to_run_id());

  // Walk the chain: 4 runs, each history starting over at event 1.
  std::string run = start->run_id();
  int runs = 1;
  while (true) {
    auto desc = c.describe("", "counter", run);
    REQUIRE(desc);
    if (desc->continued_to_run_id().empty()) break;
    auto next = desc->continued_to_run_id();
    auto h = c.history("", "counter", next);
    REQUIRE(h);
    CHECK(h->events(0).event_id() == 1);
    CHECK(h->events(0).workflow_execution_started().continued_execution_run_id() == run);
    CHECK(c.describe("", "counter", next)->continued_from_run_id() == run);
    run = next;
    ++runs;
  }
  CHECK(runs == 4);
  CHECK(run == last_run);
  auto current = c.describe("", "counter");
  REQUIRE(current);
  CHECK(current->run_id() == last_run);
  CHECK(current->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}
