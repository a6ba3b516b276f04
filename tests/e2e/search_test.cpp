// End-to-end: search attributes and memo set at start (client, CLI, HTTP) and upserted from
// workflow code (the greeting worker's Tagged workflow), lists and counts by query through the
// client, the CLI and the HTTP API, clear errors, and upserted attributes found after kill -9.
#include <doctest/doctest.h>

#include <thread>

#include "deployment.hpp"
#include "http_client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

const std::string schema_config =
  "namespaces:\n"
  "  default:\n"
  "    search_attributes:\n"
  "      CustomerId: keyword\n"
  "      Amount: int\n"
  "      Tags: keyword_list\n"
  "      DueAt: datetime\n";

pb::StartWorkflowRequest tagged(const std::string& wid, const json& attrs) {
  auto req = start_request(wid, "Tagged");
  for (auto& [name, value] : attrs.items())
    (*req.mutable_search_attributes()->mutable_indexed_fields())[name] = sdk::to_payload(value);
  return req;
}

std::vector<std::string> listed(client& c, const std::string& query) {
  pb::ListWorkflowsRequest req;
  req.set_query(query);
  auto r = c.list(req);
  REQUIRE_MESSAGE(r, error_text(r));
  std::vector<std::string> out;
  for (auto& e : r->executions()) out.push_back(e.workflow_id());
  return out;
}

int64_t counted(client& c, const std::string& query) {
  pb::CountWorkflowsRequest req;
  req.set_query(query);
  auto r = c.count(req);
  REQUIRE_MESSAGE(r, error_text(r));
  return r->count();
}

// Waits until the query lists exactly `want` (upserts are visible once their task is durable).
void wait_listed(client& c, const std::string& query, const std::vector<std::string>& want) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  std::vector<std::string> got;
  while (std::chrono::steady_clock::now() < deadline) {
    got = listed(c, query);
    if (got == want) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("query " << query << " listed " << got.size() << " runs, not " << want.size());
}

void tag(client& c, const std::string& wid, const json& signal) {
  auto s = c.signal("", wid, "", "tag", sdk::to_payload(signal));
  REQUIRE_MESSAGE(s, error_text(s));
}

}  // namespace

TEST_CASE("search attributes: set at start and upserted by workflow code - listed and counted by query") {
  single_node d(schema_config);
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  REQUIRE(c.start(tagged("t1", {{"CustomerId", "c-1"}, {"Amount", 10}})));
  REQUIRE(c.start(tagged("t2", {{"CustomerId", "c-2"}, {"Amount", 20}})));
  REQUIRE(c.start(tagged("t3", {{"CustomerId", "c-1"}, {"Tags", {"red", "blue"}}})));
  CHECK(listed(c, "CustomerId = 'c-1'") == std::vector<std::string>{"t3", "t1"});
  CHECK(listed(c, "WorkflowType = 'Tagged' AND ExecutionStatus = 'Running' AND CustomerId = 'c-2' "
                  "AND StartTime > '2026-01-01T00:00:00Z' ORDER BY StartTime DESC") ==
        std::vector<std::string>{"t2"});
  CHECK(listed(c, "Tags = 'blue' OR Amount BETWEEN 15 AND 25") == std::vector<std::string>{"t3", "t2"});
  CHECK(listed(c, "CustomerId IN ('c-2', 'c-3') OR (Amount < 15 AND NOT CustomerId = 'c-2')") ==
        std::vector<std::string>{"t2", "t1"});
  CHECK(counted(c, "CustomerId = 'c-1'") == 2);

  // Upserted from the workflow: t1 moves to c-9, gets a memo; c-1 keeps only t3.
  tag(c, "t1", {{"attrs", {{"CustomerId", "c-9"}, {"Amount", nullptr}}}, {"memo", {{"note", "vip"}}}});
  wait_listed(c, "CustomerId = 'c-9'", {"t1"});
  CHECK(listed(c, "CustomerId = 'c-1'") == std::vector<std::string>{"t3"});
  CHECK(listed(c, "Amount IS NULL AND CustomerId = 'c-9'") == std::vector<std::string>{"t1"});
  pb::ListWorkflowsRequest one;
  one.set_query("WorkflowId = 't1'");
  auto l = c.list(one);
  REQUIRE(l);
  REQUIRE(l->executions_size() == 1);
  CHECK(l->executions(0).memo().fields().at("note").data() == "\"vip\"");
  CHECK(l->executions(0).search_attributes().at("CustomerId").keyword() == "c-9");

  // A closed run keeps its attributes in the index, with its new status.
  tag(c, "t2", nullptr);
  auto r = c.result("", "t2", "", 30s);
  REQUIRE_MESSAGE(r, error_text(r));
  wait_listed(c, "CustomerId = 'c-2' AND ExecutionStatus = 'Completed'", {"t2"});

  // The CLI: start with attributes and memo, list and count with --query.
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "start", "-t", "Tagged", "-q", "greetings", "-w", "t4",
                         "--search-attribute", "CustomerId=c-42", "--search-attribute",
                         "Amount=42", "--memo", "note=from the CLI"},
                        &out) == 0,
                  out);
  REQUIRE(d.cli({"workflow", "list", "--query", "CustomerId = 'c-42' AND Amount >= 42", "--json"},
                &out) == 0);
  auto j = json::parse(out);
  REQUIRE(j["executions"].size() == 1);
  CHECK(j["executions"][0]["workflowId"] == "t4");
  REQUIRE(d.cli({"workflow", "count", "--query", "WorkflowType = 'Tagged' GROUP BY ExecutionStatus"},
                &out) == 0);
  CHECK(out.find("count: 4") != std::string::npos);
  CHECK(out.find("ExecutionStatus=Running: 3") != std::string::npos);
  CHECK(out.find("ExecutionStatus=Completed: 1") != std::string::npos);

  // Clear errors: a bad token (with its position), an unknown attribute, a wrong type.
  CHECK(d.cli({"workflow", "list", "--query", "CustomerId = AND Amount = 1"}, &out) != 0);
  CHECK(out.find("position 14") != std::string::npos);
  CHECK(out.find("expected a value") != std::string::npos);
  CHECK(d.cli({"workflow", "count", "--query", "Customer = 'x'"}, &out) != 0);
  CHECK(out.find("unknown field 'Customer'") != std::string::npos);
  auto unknown = c.start(tagged("t5", {{"Customer", "x"}}));
  REQUIRE(!unknown);
  CHECK(error_text(unknown.error()).find("'Customer' is not registered") != std::string::npos);
  auto wrong = c.start(tagged("t5", {{"Amount", "ten"}}));
  REQUIRE(!wrong);
  CHECK(error_text(wrong.error()).find("'Amount' must be an integer") != std::string::npos);

  // An upsert of a wrong type fails the workflow task (BadSearchAttributes) and changes nothing.
  tag(c, "t3", {{"attrs", {{"Amount", "many"}}}});
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool failed_task = false;
  while (!failed_task && std::chrono::steady_clock::now() < deadline) {
    auto h = c.history("", "t3");
    REQUIRE(h);
    for (auto& ev : h->events())
      if (ev.has_workflow_task_failed() &&
          ev.workflow_task_failed().cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES)
        failed_task = true;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(failed_task);
  CHECK(listed(c, "CustomerId = 'c-1'") == std::vector<std::string>{"t3"});
}

TEST_CASE("search attributes: the HTTP API lists with query and counts with workflow-count") {
  uint16_t http = free_port();
  single_node d(schema_config + "http_port: " + std::to_string(http) + "\n");
  d.start_node();
  d.start_worker();
  namespace bhttp = boost::beast::http;
  const std::string base = "/api/v1/namespaces/default";
  auto started = http_call(http, bhttp::verb::post, base + "/workflows",
                           R"({"workflow_id": "h1", "workflow_type": "Tagged", "task_queue": "greetings",
                               "search_attributes": {"CustomerId": "c-7", "DueAt": "2026-12-24T18:00:00Z"},
                               "memo": {"note": {"any": "json"}}})");
  REQUIRE_MESSAGE(started.status == 201, started.body);
  auto list = http_call(http, bhttp::verb::get,
                        base + "/workflows?query=CustomerId%20%3D%20%27c-7%27%20AND%20DueAt%20%3E%20%272026-12-24%27");
  REQUIRE_MESSAGE(list.status == 200, list.body);
  auto j = list.body_json();
  REQUIRE(j["executions"].size() == 1);
  CHECK(j["executions"][0]["search_attributes"]["CustomerId"]["keyword"] == "c-7");
  CHECK(j["executions"][0]["memo"]["fields"]["note"]["any"] == "json");
  auto count = http_call(http, bhttp::verb::get,
                         base + "/workflow-count?query=GROUP%20BY%20ExecutionStatus");
  REQUIRE_MESSAGE(count.status == 200, count.body);
  CHECK(count.body_json()["count"] == 1);
  CHECK(count.body_json()["groups"][0]["value"] == "Running");
  auto bad = http_call(http, bhttp::verb::get, base + "/workflows?query=CustomerId%20%3D");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("position") != std::string::npos);
  auto bad_start = http_call(http, bhttp::verb::post, base + "/workflows",
                             R"({"workflow_id": "h2", "workflow_type": "Tagged", "task_queue": "greetings",
                                 "search_attributes": {"Nope": 1}})");
  CHECK(bad_start.status == 400);
  CHECK(bad_start.body.find("'Nope' is not registered") != std::string::npos);
}

TEST_CASE("search attributes: upserted attributes survive kill -9 and are found by a query after restart") {
  single_node d(schema_config);
  d.start_node();
  d.start_worker();
  {
    auto c = d.connect();
    REQUIRE(c.start(tagged("k1", {{"CustomerId", "before"}})));
    REQUIRE(c.start(tagged("k2", {{"CustomerId", "other"}})));
    tag(c, "k1", {{"attrs", {{"CustomerId", "after"}, {"Tags", {"x", "y"}}}}});
    wait_listed(c, "CustomerId = 'after'", {"k1"});  // acknowledged: the upsert is durable
  }
  d.node.kill9();
  d.start_node();
  auto c = d.connect();
  CHECK(listed(c, "CustomerId = 'after' AND Tags = 'y'") == std::vector<std::string>{"k1"});
  CHECK(listed(c, "CustomerId = 'before'").empty());
  CHECK(counted(c, "CustomerId IN ('after', 'other')") == 2);
  // The restarted run goes on upserting from its replayed state.
  tag(c, "k1", {{"attrs", {{"CustomerId", "again"}}}});
  wait_listed(c, "CustomerId = 'again'", {"k1"});
  CHECK(listed(c, "CustomerId = 'after'").empty());
}
