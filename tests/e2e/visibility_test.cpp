// End-to-end: workflow ID reuse and conflict policies, retention of closed runs, and the visibility
// list (client and CLI) against a real chronicle-node and greeting-worker.
#include <doctest/doctest.h>

#include <set>

#include "deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

void wait_closed(client& c, const std::string& wid) {
  auto r = c.result("", wid, "", 30s);
  REQUIRE_MESSAGE(r, error_text(r));
}

pb::StartWorkflowRequest with_policies(pb::StartWorkflowRequest req, pb::WorkflowIdReusePolicy reuse,
                                       pb::WorkflowIdConflictPolicy conflict =
                                         pb::WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED) {
  req.set_id_reuse_policy(reuse);
  req.set_id_conflict_policy(conflict);
  return req;
}

std::vector<std::string> ids(const pb::ListWorkflowsResponse& l) {
  std::vector<std::string> out;
  for (auto& e : l.executions()) out.push_back(e.workflow_id());
  return out;
}

}  // namespace

TEST_CASE("id policies: reuse of a closed ID and conflicts with a running run") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto greet = start_request("reuse", "Greeting", json{{"name", "A"}});
  auto first = c.start(greet);
  REQUIRE(first);
  wait_closed(c, "reuse");  // Completed

  auto rejected = c.start(with_policies(greet, pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE));
  REQUIRE(!rejected);
  CHECK(chronicle_code(rejected.error()) == static_cast<uint8_t>(errc::already_started));
  CHECK(error_text(rejected.error()).find("reject duplicate") != std::string::npos);
  auto failed_only = c.start(with_policies(greet, pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY));
  REQUIRE(!failed_only);
  CHECK(error_text(failed_only.error()).find("Completed") != std::string::npos);
  auto again = c.start(with_policies(greet, pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE));
  REQUIRE_MESSAGE(again, error_text(again));
  CHECK(again->run_id() != first->run_id());
  wait_closed(c, "reuse");

  // A running Approval: conflicts.
  auto wait = start_request("busy", "Approval");
  auto running = c.start(wait);
  REQUIRE(running);
  auto dup = c.start(wait);
  REQUIRE(!dup);
  CHECK(error_text(dup.error()).find("already") != std::string::npos);
  auto existing = c.start(with_policies(wait, pb::WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED,
                                        pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING));
  REQUIRE_MESSAGE(existing, error_text(existing));
  CHECK(existing->run_id() == running->run_id());
  CHECK(!existing->started());
  auto replaced = c.start(with_policies(wait, pb::WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED,
                                        pb::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING));
  REQUIRE_MESSAGE(replaced, error_text(replaced));
  CHECK(replaced->started());
  CHECK(replaced->run_id() != running->run_id());
  auto old = c.describe("", "busy", running->run_id());
  REQUIRE(old);
  CHECK(old->status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  auto cur = c.describe("", "busy");
  REQUIRE(cur);
  CHECK(cur->run_id() == replaced->run_id());
  CHECK(cur->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);

  // The CLI takes the policies by name.
  std::string out;
  CHECK(d.cli({"workflow", "start", "-t", "Approval", "-q", "greetings", "-w", "busy",
               "--id-conflict-policy", "terminate-existing"}, &out) == 0);
  CHECK(d.cli({"workflow", "start", "-t", "Approval", "-q", "greetings", "-w", "busy",
               "--id-conflict-policy", "nope"}, &out) != 0);
  CHECK_MESSAGE(out.find("terminate-existing") != std::string::npos, out);  // lists the choices
}

TEST_CASE("retention: a closed run is deleted after the namespace's retention - open runs stay") {
  single_node d("retention_ms: 600000\nretention_sweep_ms: 100\nnamespaces:\n  default:\n    retention_ms: 800\n");
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  REQUIRE(c.start(start_request("short-lived", "Greeting", json{{"name", "R"}})));
  REQUIRE(c.start(start_request("long-lived", "Approval")));
  wait_closed(c, "short-lived");
  REQUIRE(c.describe("", "short-lived"));  // still there right after the close
  auto deadline = std::chrono::steady_clock::now() + 15s;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    auto desc = c.describe("", "short-lived");
    gone = !desc && error_text(desc.error()).find("not found") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(100ms);
  }
  CHECK(gone);
  CHECK(!c.history("", "short-lived"));
  pb::ListWorkflowsRequest req;
  auto l = c.list(req);
  REQUIRE(l);
  CHECK(ids(*l) == std::vector<std::string>{"long-lived"});
  CHECK(c.describe("", "long-lived")->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  // The ID can be used again after deletion.
  REQUIRE(c.start(start_request("short-lived", "Greeting", json{{"name", "again"}})));
  wait_closed(c, "short-lived");
}

TEST_CASE("list: filters on status - type - ID prefix - start and close time - newest first - paged") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  int64_t t_before = now_ms();
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c.start(start_request("order-" + std::to_string(i), "Greeting", json{{"name", "x"}})));
    std::this_thread::sleep_for(5ms);  // distinct start times
  }
  int64_t t_mid = now_ms();
  std::this_thread::sleep_for(5ms);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.start(start_request("wait-" + std::to_string(i), "Approval")));
    std::this_thread::sleep_for(5ms);
  }
  for (int i = 0; i < 5; ++i) wait_closed(c, "order-" + std::to_string(i));
  int64_t t_closed = now_ms();

  pb::ListWorkflowsRequest all;
  auto l = c.list(all);
  REQUIRE_MESSAGE(l, error_text(l));
  CHECK(ids(*l) == std::vector<std::string>{"wait-2", "wait-1", "wait-0", "order-4", "order-3",
                                            "order-2", "order-1", "order-0"});
  CHECK(l->next_page_token().empty());

  auto with = [&](auto set) {
    pb::ListWorkflowsRequest r;
    set(r);
    auto resp = c.list(r);
    REQUIRE_MESSAGE(resp, error_text(resp));
    return ids(*resp);
  };
  CHECK(with([](auto& r) { r.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING); })
        == std::vector<std::string>{"wait-2", "wait-1", "wait-0"});
  CHECK(with([](auto& r) { r.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED); }).size() == 5);
  CHECK(with([](auto& r) { r.set_workflow_type("Approval"); }).size() == 3);
  CHECK(with([](auto& r) { r.set_workflow_id_prefix("order-"); }).size() == 5);
  CHECK(with([](auto& r) { r.set_workflow_id_prefix("wait-1"); }) == std::vector<std::string>{"wait-1"});
  CHECK(with([&](auto& r) { r.set_start_time_to_ms(t_mid); }).size() == 5);
  CHECK(with([&](auto& r) { r.set_start_time_from_ms(t_mid); }).size() == 3);
  CHECK(with([&](auto& r) { r.set_start_time_from_ms(t_before); r.set_start_time_to_ms(t_mid); }).size() == 5);
  CHECK(with([&](auto& r) { r.set_close_time_from_ms(t_before); }).size() == 5);  // closed only
  CHECK(with([&](auto& r) { r.set_close_time_from_ms(t_closed + 60'000); }).empty());
  CHECK(with([](auto& r) { r.set_workflow_type("Nope"); }).empty());

  // Pages of 3: every run exactly once, in order.
  std::vector<std::string> paged;
  pb::ListWorkflowsRequest page;
  page.set_page_size(3);
  int pages = 0;
  while (true) {
    auto resp = c.list(page);
    REQUIRE(resp);
    CHECK(resp->executions_size() <= 3);
    for (auto& id : ids(*resp)) paged.push_back(id);
    ++pages;
    if (resp->next_page_token().empty()) break;
    page.set_next_page_token(resp->next_page_token());
    REQUIRE(pages < 10);
  }
  CHECK(pages == 3);
  CHECK(paged == ids(*l));

  // Bad requests get clear errors.
  pb::ListWorkflowsRequest bad;
  bad.set_page_size(5000);
  auto e = c.list(bad);
  REQUIRE(!e);
  CHECK(error_text(e.error()).find("page_size") != std::string::npos);

  // The CLI: a table, filters by name, paging tokens, JSON.
  std::string out;
  REQUIRE(d.cli({"workflow", "list", "--status", "running"}, &out) == 0);
  CHECK(out.find("WORKFLOW ID") != std::string::npos);
  CHECK(out.find("wait-0") != std::string::npos);
  CHECK(out.find("order-0") == std::string::npos);
  REQUIRE(d.cli({"workflow", "list", "--page-size", "2"}, &out) == 0);
  auto at = out.find("--next-page-token ");
  REQUIRE_MESSAGE(at != std::string::npos, out);
  auto token = out.substr(at + 18, out.find(')', at) - at - 18);
  REQUIRE(d.cli({"workflow", "list", "--page-size", "2", "--next-page-token", token}, &out) == 0);
  CHECK(out.find("wait-0") != std::string::npos);
  CHECK(out.find("order-4") != std::string::npos);
  CHECK(out.find("wait-2") == std::string::npos);
  REQUIRE(d.cli({"workflow", "list", "--all", "--page-size", "3", "--json", "--prefix", "order-"}, &out) == 0);
  auto j = json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), out);
  CHECK(j["executions"].size() == 5);
  CHECK(d.cli({"workflow", "list", "--status", "sleeping"}, &out) == 2);
  CHECK(out.find("not a status") != std::string::npos);
  CHECK(d.cli({"workflow", "list", "--started-after", "yesterday"}, &out) == 2);
  REQUIRE(d.cli({"workflow", "list", "--started-after", "1h", "--type", "Approval"}, &out) == 0);
  CHECK(out.find("wait-1") != std::string::npos);
}
