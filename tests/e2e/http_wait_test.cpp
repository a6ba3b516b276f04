// End-to-end: the gateway's start-and-wait form (POST .../workflows?wait=true): one request that
// starts a run and answers with its result, its timeout, its errors; and that the start body's
// direct reading (string fields) and protobuf's JSON parser (everything else) agree.
#include <doctest/doctest.h>

#include "harness.hpp"
#include "http_client.hpp"

using namespace chronicle::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string api = "/api/v1/namespaces/default/workflows";

struct node_and_worker {
  temp_dir dir;
  uint16_t port = free_port();
  uint16_t http = free_port();
  process node;
  process worker;

  node_and_worker() {
    auto config = write_node_config(dir.path(), port, "http_port: " + std::to_string(http) + "\n");
    node = process(CHRONICLE_NODE_BIN, {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE(node.wait_for_output("listening on", 20s));
    worker = process(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                     (dir.path() / "worker.log").string());
    REQUIRE(worker.wait_for_output("registered on task queue", 20s));
  }
};


void expect_error(const http_response& r, unsigned status, const std::string& code,
                  const std::string& words) {
  CHECK_MESSAGE(r.status == status, r.body);
  CHECK(r.content_type == "application/json");
  auto j = r.body_json();
  REQUIRE_MESSAGE(j.is_object(), r.body);
  CHECK(j["code"] == code);
  CHECK_MESSAGE(j["message"].get<std::string>().find(words) != std::string::npos, r.body);
}

}  // namespace

TEST_CASE("http: start-and-wait answers the run's result in one request - like GET result") {
  node_and_worker n;
  auto r = http_post(n.http, api + "?wait=true&timeout_ms=30000",
                     start_body("sw1", "Greeting", {{"name", "Ada"}}).dump());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto j = r.body_json();
  CHECK(j["namespace"] == "default");
  CHECK(j["workflow_id"] == "sw1");
  CHECK(j["started"] == true);
  CHECK(j["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED");
  CHECK(j["result"]["greeting"] == "Hello, Ada!");
  CHECK_FALSE(j.contains("failure"));
  // The same fields as the result endpoint renders for the run.
  auto again = http_get(n.http, api + "/sw1/result?wait=true").body_json();
  for (auto& [k, v] : again.items()) CHECK_MESSAGE(j[k] == v, k);

  // A failed run: its failure, as GET result shows it.
  auto bad = http_post(n.http, api + "?wait=true", start_body("sw2", "Greeting", {{"nom", 1}}).dump());
  REQUIRE_MESSAGE(bad.status == 201, bad.body);
  auto b = bad.body_json();
  CHECK(b["status"] == "WORKFLOW_EXECUTION_STATUS_FAILED");
  CHECK(b["failure"]["message"].get<std::string>().find("name") != std::string::npos);
  CHECK(b == [&] {
    auto f = http_get(n.http, api + "/sw2/result").body_json();
    for (auto key : {"namespace", "workflow_id", "started"}) f[key] = b[key];
    return f;
  }());
}

TEST_CASE("http: start-and-wait that times out answers the running run - errors are JSON") {
  node_and_worker n;
  auto r = http_post(n.http, api + "?wait=true&timeout_ms=300",
                     start_body("sw3", "Approval", {{"name", "Bob"}}).dump());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto j = r.body_json();
  CHECK(j["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING");
  CHECK_FALSE(j["run_id"].get<std::string>().empty());
  CHECK_FALSE(j.contains("result"));

  expect_error(http_post(n.http, api + "?wait=true",
                         start_body("sw3", "Approval", {{"name", "Bob"}}).dump()),
               409, "already_started", "sw3");
  auto body = start_body("sw4", "Greeting", {{"name", "Ada"}}).dump();
  expect_error(http_post(n.http, api + "?wait=maybe", body), 400, "invalid_argument", "'wait'");
  expect_error(http_post(n.http, api + "?wait=true&timeout_ms=0", body), 400, "invalid_argument",
               "timeout_ms");
  expect_error(http_post(n.http, api + "?wait=true&timeout_ms=soon", body), 400,
               "invalid_argument", "timeout_ms");
  expect_error(http_post(n.http, api + "?timeout_ms=5", body), 400, "invalid_argument", "wait=true");
  expect_error(http_post(n.http, api + "?wait=true&colour=red", body), 400, "invalid_argument",
               "colour");
  expect_error(http_post(n.http, api + "?wait=true", "{not json"), 400, "invalid_argument", "JSON");
  // The start body: string fields read directly, the rest through protobuf's parser.
  expect_error(http_post(n.http, api, R"({"workflow_id":7,"workflow_type":"Greeting","task_queue":"q"})"),
               400, "invalid_argument", "invalid start request");
  expect_error(http_post(n.http, api, R"({"workflow_id":"x","bogus_field":"y"})"), 400,
               "invalid_argument", "bogus_field");
  auto camel = http_post(n.http, api + "?wait=true",
                         R"({"workflowId":"sw5","workflowType":"Greeting","taskQueue":"greetings",)"
                         R"("input":{"name":"Cy"},"workflow_execution_timeout_ms":60000})");
  REQUIRE_MESSAGE(camel.status == 201, camel.body);
  CHECK(camel.body_json()["result"]["greeting"] == "Hello, Cy!");
}
