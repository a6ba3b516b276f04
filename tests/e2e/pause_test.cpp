// End-to-end: pause / unpause a workflow (docs/semantics.md "Pause"). A real node and greeting
// worker: a paused run gets no workflow task (its history shows no WorkflowTaskStarted after
// WorkflowExecutionPaused) although a signal arrives, stays paused across kill -9 of the node,
// and completes with the signal once unpaused; updates are refused while paused; the CLI, the
// HTTP API and the list query Paused = true; clear errors for a closed run and a second pause.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <thread>

#include "chromium.hpp"
#include "deployment.hpp"
#include "http_client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

// Events after the last WorkflowExecutionPaused: none may be WorkflowTaskStarted.
int tasks_started_since_pause(client& c, const std::string& wid) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h.error()));
  int started = -1;  // -1: no pause event found
  for (auto& ev : h->events()) {
    if (ev.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED) started = 0;
    else if (started >= 0 && ev.event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED) ++started;
  }
  return started;
}

std::set<std::string> listed(client& c, const std::string& query) {
  pb::ListWorkflowsRequest req;
  req.set_query(query);
  auto page = c.list(req);
  REQUIRE_MESSAGE(page, error_text(page.error()));
  std::set<std::string> ids;
  for (auto& e : page->executions()) ids.insert(e.workflow_id());
  return ids;
}

bool waiting_for_signal(const pb::DescribeWorkflowResponse& d) {
  return d.history_length() >= 4 && d.pending_workflow_task().empty();
}

}  // namespace

TEST_CASE("pause: a paused run gets no workflow task - signal kept across kill -9 - unpause completes it") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  d.start_worker();
  auto c = d.connect();

  REQUIRE(c.start(start_request("p1", "Sleepy")));
  wait_until(c, "p1", waiting_for_signal, "p1 waits for its signal");
  auto paused = c.pause("", "p1", "", "maintenance", "ops");
  REQUIRE_MESSAGE(paused, error_text(paused.error()));
  auto described = c.describe("", "p1");
  REQUIRE(described);
  CHECK(described->paused());
  CHECK(described->pause_reason() == "maintenance");
  CHECK(described->pause_identity() == "ops");
  CHECK(described->pause_time_ms() > 0);

  // Refusals: a second pause, an update.
  auto twice = c.pause("", "p1", "", "again");
  REQUIRE_FALSE(twice);
  CHECK(chronicle_code(twice.error()) == static_cast<uint8_t>(errc::failed_precondition));
  CHECK(error_text(twice.error()).find("already paused (reason: maintenance)") != std::string::npos);
  pb::UpdateWorkflowRequest up;
  up.set_workflow_id("p1");
  up.set_name("anything");
  auto refused = c.update(up, 5s);
  REQUIRE_FALSE(refused);
  CHECK(chronicle_code(refused.error()) == static_cast<uint8_t>(errc::invalid_argument));
  CHECK(error_text(refused.error()).find("is paused") != std::string::npos);

  // The signal is recorded; its workflow task waits.
  REQUIRE(c.signal("", "p1", "", "wake", sdk::to_payload(sdk::json{{"by", "pause-test"}})));
  wait_until(c, "p1", [](auto& x) { return x.pending_workflow_task() == "scheduled"; },
             "the signal's workflow task is scheduled");
  std::this_thread::sleep_for(1500ms);
  CHECK(tasks_started_since_pause(c, "p1") == 0);
  CHECK(listed(c, "Paused = true") == std::set<std::string>{"p1"});
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "list", "--paused"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("Running (paused)") != std::string::npos, out);
  REQUIRE_MESSAGE(d.cli({"workflow", "describe", "-w", "p1"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("by ops (reason: maintenance)") != std::string::npos, out);

  // kill -9 of the node: recovery dispatches nothing for the paused run.
  d.node.kill9();
  d.start_node();
  auto after = d.connect();
  wait_until(after, "p1", [](auto& x) { return x.paused(); }, "p1 is still paused");
  std::this_thread::sleep_for(2500ms);  // the worker reconnected meanwhile
  CHECK(tasks_started_since_pause(after, "p1") == 0);
  auto still = after.describe("", "p1");
  REQUIRE(still);
  CHECK(still->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(listed(after, "Paused = true") == std::set<std::string>{"p1"});

  // Unpause through the CLI: the run completes with the signal applied.
  REQUIRE_MESSAGE(d.cli({"workflow", "unpause", "-w", "p1", "--reason", "done"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("unpaused workflow 'p1'") != std::string::npos, out);
  auto r = after.result("", "p1", "", 30s);
  REQUIRE_MESSAGE(r, error_text(r.error()));
  REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(sdk::from_payload(r->result())["woke"]["by"] == "pause-test");
  CHECK(listed(after, "Paused = true").empty());
  auto h = after.history("", "p1");
  REQUIRE(h);
  bool unpaused = false;
  for (auto& ev : h->events())
    if (ev.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED) {
      unpaused = true;
      CHECK(ev.workflow_execution_unpaused().reason() == "done");
    }
  CHECK(unpaused);

  // A closed run: refused (CLI exit code 1 with the reason; HTTP 409).
  REQUIRE(d.cli({"workflow", "pause", "-w", "p1"}, &out) == 1);
  CHECK_MESSAGE(out.find("only a running workflow can be paused") != std::string::npos, out);
  auto closed = http_post(http, "/api/v1/namespaces/default/workflows/p1/pause", "{}");
  CHECK(closed.status == 409);
  CHECK(closed.body_json()["code"] == "failed_precondition");
}

TEST_CASE("pause: a run paused at its start does not run - the HTTP API pauses and unpauses it") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto c = d.connect();
  // No worker yet: the first workflow task waits in its queue, the pause comes before any start.
  REQUIRE(c.start(start_request("g1", "Greeting", {{"name", "Ada"}})));
  auto api = "/api/v1/namespaces/default/workflows/g1";
  auto p = http_post(http, std::string(api) + "/pause", R"({"reason":"hold"})");
  REQUIRE_MESSAGE(p.status == 200, p.body);
  auto described = http_get(http, api);
  REQUIRE(described.status == 200);
  CHECK(described.body_json()["paused"] == true);
  CHECK(described.body_json()["pause_reason"] == "hold");
  d.start_worker();  // the queued workflow task is refused when the worker takes it
  std::this_thread::sleep_for(2000ms);
  auto history = c.history("", "g1");
  REQUIRE(history);
  for (auto& ev : history->events())
    CHECK(ev.event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  auto listed_http =
    http_get(http, "/api/v1/namespaces/default/workflows?query=Paused%20%3D%20true");
  REQUIRE_MESSAGE(listed_http.status == 200, listed_http.body);
  auto body = listed_http.body_json();
  REQUIRE(body["executions"].size() == 1);
  CHECK(body["executions"][0]["paused"] == true);
  // The web UI (headless chromium): the list marks the paused run.
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto base = "http://127.0.0.1:" + std::to_string(http) + "/";
  auto profile = d.dir.path() / "chromium-profile";
  auto list = render(chromium, profile, base + "#/workflows");
  CHECK_MESSAGE(contains(list, R"(<span class="status Paused">Paused</span>)"), list);
  // The page of the paused run, open while it is unpaused and completes: the page follows it
  // live (headless chromium dumps a running run's page only once it closes), its timeline shows
  // the pause (with its reason) and the unpause.
  auto streams_open = [&] {
    auto m = http_get(http, "/metrics").body;
    return m.find("chronicle_http_event_streams{node=\"node1\"} 1") != std::string::npos;
  };
  process page_proc(chromium, {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--user-data-dir=" + profile.string(), "--virtual-time-budget=5000",
                               "--dump-dom", base + "#/workflow/default/g1"},
                    (d.dir.path() / "chromium-live.log").string());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!streams_open() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  REQUIRE_MESSAGE(streams_open(), page_proc.output());
  // Unpause: the task goes out again and the Greeting completes.
  auto u = http_post(http, std::string(api) + "/unpause", "");
  REQUIRE_MESSAGE(u.status == 200, u.body);
  REQUIRE(page_proc.wait_exit(60s) == 0);
  auto page = page_proc.output();
  CHECK_MESSAGE(contains(page, "WorkflowExecutionPaused"), page);
  CHECK_MESSAGE(contains(page, "WorkflowExecutionUnpaused"), page);
  CHECK_MESSAGE(contains(page, R"("hold")"), page);  // the pause's reason in the timeline
  CHECK_MESSAGE(contains(page, R"(<span class="status Completed">Completed</span>)"), page);
  auto r = c.result("", "g1", "", 30s);
  REQUIRE_MESSAGE(r, error_text(r.error()));
  CHECK(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto again = http_post(http, std::string(api) + "/unpause", "");
  CHECK(again.status == 409);
  auto closed_page = render(chromium, profile, base + "#/workflow/default/g1");
  CHECK_MESSAGE(!contains(closed_page, R"(id="paused-badge")"), closed_page);
  // Bad input: a GET of the action, a reason that is too long.
  CHECK(http_get(http, std::string(api) + "/pause").status == 405);
  REQUIRE(c.start(start_request("g2", "Sleepy")));
  auto long_reason = http_post(http, "/api/v1/namespaces/default/workflows/g2/pause",
                               nlohmann::json{{"reason", std::string(1001, 'x')}}.dump());
  CHECK(long_reason.status == 400);
  CHECK(c.terminate("", "g2", "", "done"));
}
