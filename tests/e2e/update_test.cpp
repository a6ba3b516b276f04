// End-to-end: Workflow Update against a real chronicle-node and a real greeting-worker process
// serving the Account workflow: accepted and rejected updates, idempotency by update ID,
// update-with-start, the CLI, the HTTP API, and kill -9 of the node between an update's
// acceptance and its completion.
#include <doctest/doctest.h>

#include <thread>

#include "deployment.hpp"
#include "http_client.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

std::string start_account(client& c, const std::string& wid, int64_t balance) {
  auto resp = c.start(start_request(wid, "Account", json{{"balance", balance}}));
  REQUIRE_MESSAGE(resp, error_text(resp));
  return resp->run_id();
}

// Waits until the run's first task completed and nothing is pending.
void wait_until_idle(client& c, const std::string& wid) {
  wait_until(c, wid, [](const pb::DescribeWorkflowResponse& d) {
    return d.pending_workflow_task().empty() && d.history_length() >= 4;
  }, "the account waits for updates");
}

pb::UpdateWorkflowRequest update_request(const std::string& wid, const std::string& name,
                                         const json& input, const std::string& update_id = {}) {
  pb::UpdateWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_name(name);
  *req.mutable_input() = sdk::to_payload(input);
  req.set_update_id(update_id);
  req.set_identity("e2e");
  return req;
}

pb::UpdateWorkflowResponse update(client& c, const pb::UpdateWorkflowRequest& req,
                                  std::chrono::milliseconds timeout = 30s) {
  auto resp = c.update(req, timeout);
  REQUIRE_MESSAGE(resp, error_text(resp));
  return *resp;
}

json result_of(const pb::UpdateWorkflowResponse& r) {
  REQUIRE_MESSAGE(!r.has_failure(), r.failure().message());
  CHECK(r.stage() == pb::UPDATE_STAGE_COMPLETED);
  return sdk::from_payload(r.result());
}

pb::GetHistoryResponse history_of(client& c, const std::string& wid) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h));
  for (int i = 0; i < h->events_size(); ++i) CHECK(h->events(i).event_id() == i + 1);
  return *h;
}

// How many events of `type` name update `update_id` (any update when empty).
size_t update_events(const pb::GetHistoryResponse& h, pb::EventType type,
                     const std::string& update_id = {}) {
  size_t n = 0;
  for (auto& ev : h.events()) {
    if (ev.event_type() != type) continue;
    auto& id = type == pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
                 ? ev.workflow_execution_update_accepted().update_id()
                 : ev.workflow_execution_update_completed().update_id();
    if (update_id.empty() || id == update_id) ++n;
  }
  return n;
}

json completed_value(client& c, const std::string& wid) {
  auto res = c.result("", wid, "", 30s);
  REQUIRE_MESSAGE(res, error_text(res));
  REQUIRE(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  return sdk::from_payload(res->result());
}

}  // namespace

TEST_CASE("update: accepted updates answer the handler's result - rejected ones leave no event - the same update ID gets the same outcome") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_account(c, "a1", 10);
  wait_until_idle(c, "a1");
  auto before = history_of(c, "a1").events_size();

  // Rejected by the validator: nothing recorded, no workflow task left behind.
  auto rejected = update(c, update_request("a1", "withdraw", 100, "r1"));
  CHECK(rejected.rejected());
  CHECK(rejected.failure().type() == "InsufficientFunds");
  CHECK(rejected.failure().message() == "cannot withdraw 100 from a balance of 10");
  auto unknown = update(c, update_request("a1", "transfer", 1));
  CHECK(unknown.rejected());
  CHECK(unknown.failure().message() == "unknown update 'transfer' (known: close, deposit, withdraw)");
  auto bad = update(c, update_request("a1", "deposit", "lots"));
  CHECK(bad.rejected());
  CHECK(bad.failure().type() == "InvalidAmount");
  CHECK(history_of(c, "a1").events_size() == before);
  wait_until_idle(c, "a1");

  // Accepted: the handler's result; a retry with the same update ID answers the same outcome
  // (its input is not looked at again) and records nothing more.
  CHECK(result_of(update(c, update_request("a1", "deposit", 5, "d1"))) == 15);
  CHECK(result_of(update(c, update_request("a1", "deposit", 1000, "d1"))) == 15);
  auto h = history_of(c, "a1");
  CHECK(update_events(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, "d1") == 1);
  CHECK(update_events(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, "d1") == 1);
  CHECK(update_events(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 1);

  // Bad requests are refused before they reach the workflow.
  auto empty_name = c.update(update_request("a1", "", 1), 5s);
  REQUIRE_FALSE(empty_name);
  CHECK(error_text(empty_name.error()).find("update name is empty") != std::string::npos);
  auto missing = c.update(update_request("no-such-account", "deposit", 1), 5s);
  REQUIRE_FALSE(missing);
  CHECK(error_text(missing.error()).find("not found") != std::string::npos);

  // The CLI: the result printed; a rejection exits 1 naming why.
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "update", "-w", "a1", "--name", "deposit", "-i", "7"}, &out) == 0, out);
  CHECK(out == "22\n");
  CHECK(d.cli({"workflow", "update", "-w", "a1", "--name", "withdraw", "-i", "1000"}, &out) == 1);
  CHECK(out.find("update 'withdraw' of workflow 'a1' was rejected: cannot withdraw 1000") != std::string::npos);
  REQUIRE(d.cli({"workflow", "update", "-w", "a1", "--name", "deposit", "-i", "1", "--update-id",
                 "cli-1", "--json"}, &out) == 0);
  CHECK(json::parse(out)["result"] == 23);

  // A handler that spans workflow tasks (an activity), then the update that ends the workflow.
  auto w = result_of(update(c, update_request("a1", "withdraw", 3)));
  CHECK(w["balance"] == 20);
  CHECK(w["receipt"] == "Hello, withdrawal of 3!");
  CHECK(result_of(update(c, update_request("a1", "close", nullptr))) == 20);
  CHECK(completed_value(c, "a1")["balance"] == 20);
  // The closed run still answers a completed update's ID; a new one is refused.
  CHECK(result_of(update(c, update_request("a1", "deposit", 1, "d1"))) == 15);
  auto late = c.update(update_request("a1", "deposit", 1), 5s);
  REQUIRE_FALSE(late);
  CHECK(error_text(late.error()).find("is closed (Completed)") != std::string::npos);
}

TEST_CASE("update: update-with-start starts the workflow with the update in its first task - a running one is only updated") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto with_start = [](const std::string& wid, int64_t amount) {
    auto req = update_request(wid, "deposit", amount);
    *req.mutable_start() = start_request(wid, "Account", json{{"balance", 1}});
    return req;
  };
  auto first = update(c, with_start("ws1", 2));
  CHECK(first.started());
  CHECK(result_of(first) == 3);
  auto second = update(c, with_start("ws1", 4));
  CHECK_FALSE(second.started());
  CHECK(result_of(second) == 7);
  auto h = history_of(c, "ws1");
  CHECK(h.events(0).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  // The first workflow task carried the update: accepted right after it completed.
  CHECK(h.events(3).event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  CHECK(h.events(4).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);

  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "update", "-w", "ws2", "--name", "deposit", "-i", "5",
                         "--start-type", "Account", "-q", "greetings", "--start-input",
                         R"({"balance": 1})"}, &out) == 0, out);
  CHECK(out == "6\n");
  CHECK(d.cli({"workflow", "update", "-w", "ws3", "--name", "deposit", "--start-type", "Account"},
              &out) == 2);
}

TEST_CASE("update survives kill -9 of the node between acceptance and completion") {
  single_node d;
  d.start_node();
  // ComposeGreeting takes 5 s: the withdrawal's handler is accepted long before it completes.
  auto slow_worker = [&d] {
    return process(GREETING_WORKER_BIN,
                   {"--address", d.address(), "--task-queue", "greetings", "--activity-delay-ms",
                    "5000"},
                   (d.dir.path() / "slow-worker.log").string());
  };
  d.worker = slow_worker();
  REQUIRE(d.worker.wait_for_output("serving task queue", 20s));
  auto c = d.connect();
  start_account(c, "k1", 50);
  wait_until_idle(c, "k1");
  // The call gives up before the handler completes: the update was accepted (recorded).
  auto early = c.update(update_request("k1", "withdraw", 20, "w1"), 1500ms);
  REQUIRE_FALSE(early);
  CHECK(error_text(early.error()).find("accepted") != std::string::npos);
  auto h = history_of(c, "k1");
  REQUIRE(update_events(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, "w1") == 1);
  CHECK(update_events(h, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, "w1") == 0);

  d.worker.kill9();
  d.node.kill9();
  d.start_node();
  d.worker = slow_worker();
  REQUIRE(d.worker.wait_for_output("serving task queue", 20s));
  auto c2 = d.connect();
  // The caller retries with the same update ID and gets the handler's result.
  auto done = result_of(update(c2, update_request("k1", "withdraw", 20, "w1"), 60s));
  CHECK(done["balance"] == 30);
  CHECK(done["receipt"] == "Hello, withdrawal of 20!");
  auto after = history_of(c2, "k1");
  CHECK(update_events(after, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, "w1") == 1);
  CHECK(update_events(after, pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, "w1") == 1);
  CHECK(result_of(update(c2, update_request("k1", "close", nullptr))) == 30);
  CHECK(completed_value(c2, "k1")["balance"] == 30);
}

TEST_CASE("update over HTTP: the result - a rejection - update-with-start - bad requests") {
  uint16_t http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  start_account(c, "h1", 10);
  wait_until_idle(c, "h1");
  const std::string base = "/api/v1/namespaces/default/workflows/";
  auto r = http_post(http, base + "h1/update/deposit?update_id=u1", "5");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto j = r.body_json();
  CHECK(j["result"] == 15);
  CHECK(j["update_id"] == "u1");
  CHECK(j["stage"] == "UPDATE_STAGE_COMPLETED");
  CHECK(http_post(http, base + "h1/update/deposit?update_id=u1", "99").body_json()["result"] == 15);

  auto rej = http_post(http, base + "h1/update/withdraw", "500");
  REQUIRE(rej.status == 200);
  CHECK(rej.body_json()["rejected"] == true);
  CHECK(rej.body_json()["failure"]["type"] == "InsufficientFunds");

  json body = {{"input", 3}, {"start", start_body("h2", "Account", json{{"balance", 4}})}};
  auto ws = http_post(http, base + "h2/update/deposit?start=true", body.dump());
  REQUIRE_MESSAGE(ws.status == 200, ws.body);
  CHECK(ws.body_json()["started"] == true);
  CHECK(ws.body_json()["result"] == 7);

  CHECK(http_post(http, base + "h1/update/deposit?timeout_ms=0", "1").status == 400);
  CHECK(http_post(http, base + "h1/update/deposit?start=maybe", "1").status == 400);
  CHECK(http_post(http, base + "h1/update/deposit?start=true", "1").status == 400);
  CHECK(http_post(http, base + "h1/update/deposit", "{not json").status == 400);
  CHECK(http_post(http, base + "nobody/update/deposit", "1").status == 404);
  CHECK(http_get(http, base + "h1/update/deposit").status == 405);
}
