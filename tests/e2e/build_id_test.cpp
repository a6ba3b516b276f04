// End-to-end: build IDs on workflow tasks. Two greeting-worker processes of different builds
// (--build-id v1, then v2) complete the tasks of runs; each WorkflowTaskCompleted names its
// worker's build, describe shows the most recent one and all of them, and `workflow list
// --build-id` (client, CLI, HTTP ?build_id=, the query BuildIds = '...') lists the runs a build
// worked on, also after kill -9 of the node.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "deployment.hpp"
#include "http_client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

process worker_of_build(single_node& d, const std::string& build) {
  process w(GREETING_WORKER_BIN,
            {"--address", d.address(), "--task-queue", "greetings", "--identity", "worker-" + build,
             "--build-id", build},
            (d.dir.path() / ("worker-" + build + ".log")).string());
  REQUIRE(w.wait_for_output("serving task queue", 20s));
  return w;
}

// The workflow IDs `list` returns with its build ID filter and query.
std::set<std::string> listed(client& c, const std::string& build_id, const std::string& query = {}) {
  pb::ListWorkflowsRequest req;
  req.set_build_id(build_id);
  req.set_query(query);
  auto page = c.list(req);
  REQUIRE_MESSAGE(page, error_text(page.error()));
  std::set<std::string> ids;
  for (auto& e : page->executions()) ids.insert(e.workflow_id());
  return ids;
}

void complete(client& c, const std::string& wid) {
  auto r = c.result("", wid, "", 30s);
  REQUIRE_MESSAGE(r, error_text(r.error()));
  REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

}  // namespace

TEST_CASE("build IDs: each completed workflow task records its worker's build - list --build-id finds the runs") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto c = d.connect();

  // Build v1 runs a Greeting to its end and the first task of an Approval.
  auto v1 = worker_of_build(d, "v1");
  REQUIRE(c.start(start_request("g-v1", "Greeting", {{"name", "Ada"}})));
  complete(c, "g-v1");
  REQUIRE(c.start(start_request("ap-1", "Approval")));
  wait_until(c, "ap-1", [](auto& x) { return x.most_recent_build_id() == "v1"; },
             "v1 completed the approval's first workflow task");
  CHECK(v1.terminate() == 0);

  // Build v2 takes over: the approval finishes on it, and a new Greeting runs on it alone.
  auto v2 = worker_of_build(d, "v2");
  REQUIRE(c.signal("", "ap-1", "", "approve", sdk::to_payload(sdk::json{{"by", "Bob"}})));
  complete(c, "ap-1");
  REQUIRE(c.start(start_request("g-v2", "Greeting", {{"name", "Bo"}})));
  complete(c, "g-v2");

  auto described = c.describe("", "ap-1");
  REQUIRE(described);
  CHECK(described->most_recent_build_id() == "v2");
  REQUIRE(described->build_ids_size() == 2);
  CHECK(described->build_ids(0) == "v1");
  CHECK(described->build_ids(1) == "v2");
  auto history = c.history("", "ap-1");
  REQUIRE(history);
  std::vector<std::string> builds;
  for (auto& ev : history->events())
    if (ev.has_workflow_task_completed()) builds.push_back(ev.workflow_task_completed().build_id());
  REQUIRE(builds.size() >= 2);
  CHECK(builds.front() == "v1");
  CHECK(builds.back() == "v2");

  auto check_lists = [](client& c) {
    CHECK(listed(c, "v1") == std::set<std::string>{"g-v1", "ap-1"});
    CHECK(listed(c, "v2") == std::set<std::string>{"ap-1", "g-v2"});
    CHECK(listed(c, "v3").empty());
    CHECK(listed(c, "", "BuildIds = 'v2' AND WorkflowType = 'Greeting'") ==
          std::set<std::string>{"g-v2"});
    CHECK(listed(c, "v1", "BuildIds = 'v2'") == std::set<std::string>{"ap-1"});
  };
  check_lists(c);

  // The CLI and the HTTP API.
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "list", "--build-id", "v1"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("g-v1") != std::string::npos, out);
  CHECK_MESSAGE(out.find("ap-1") != std::string::npos, out);
  CHECK_MESSAGE(out.find("g-v2") == std::string::npos, out);
  REQUIRE_MESSAGE(d.cli({"workflow", "describe", "-w", "ap-1"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("Build ID:        v2 (last workflow task; all: v1 v2)") != std::string::npos,
                out);
  CHECK(d.cli({"workflow", "list", "--build-id", std::string("v\x01")}, &out) == 1);
  CHECK_MESSAGE(out.find("build ID contains a control character") != std::string::npos, out);
  auto via_http = http_get(http, "/api/v1/namespaces/default/workflows?build_id=v2");
  REQUIRE_MESSAGE(via_http.status == 200, via_http.body);
  std::set<std::string> http_ids;
  const auto listed_json = via_http.body_json();  // kept: the loop reads into it
  for (auto& e : listed_json["executions"])
    http_ids.insert(e["workflow_id"].get<std::string>());
  const std::set<std::string> expected{"ap-1", "g-v2"};
  CHECK_MESSAGE(http_ids == expected, via_http.body);
  auto described_http = http_get(http, "/api/v1/namespaces/default/workflows/ap-1");
  REQUIRE(described_http.status == 200);
  CHECK(described_http.body_json()["most_recent_build_id"] == "v2");

  // The index is durable with the runs.
  d.node.kill9();
  d.start_node();
  auto after = d.connect();
  check_lists(after);
}
