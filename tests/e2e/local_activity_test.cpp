// End-to-end: local activities (run by the worker inside the workflow task, recorded as
// LocalActivity markers) with a real chronicle-node and real retry-worker processes
// (samples/retry_worker.cpp: LocalSteps, LocalFlaky, LocalBackoff).
#include <doctest/doctest.h>

#include "chromium.hpp"
#include "http_client.hpp"
#include "worker/sdk/history_json.hpp"
#include "worker_deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

// The retry-worker's task queue "retries" (its Local* workflows); workers started on demand.
struct local_deployment : worker_deployment {
  local_deployment() : worker_deployment("retries", true) {}

  process worker(const std::string& identity) { return start_worker(RETRY_WORKER_BIN, identity); }
};

sdk::json detail(const pb::HistoryEvent& marker, const std::string& key) {
  auto& d = marker.marker_recorded().details();
  auto it = d.find(key);
  return it == d.end() ? sdk::json(nullptr) : sdk::from_payload(it->second);
}

// Waits until the run's history holds `count` LocalActivity markers.
void wait_for_markers(client& c, const std::string& wid, size_t count) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto h = c.history("", wid);
    if (h && events_of(c, wid, pb::EVENT_TYPE_MARKER_RECORDED).size() >= count) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("timed out waiting for " << count << " LocalActivity markers of " << wid);
}

}  // namespace

TEST_CASE("local activities: a workflow completes with LocalActivity markers and no scheduled activity") {
  local_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "steps", "LocalSteps", sdk::json{{"n", 3}});
  auto r = d.result(c, "steps");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(sdk::from_payload(r.result())["sum"] == 106);
  auto markers = events_of(c, "steps", pb::EVENT_TYPE_MARKER_RECORDED);
  REQUIRE(markers.size() == 4);
  for (size_t i = 0; i < markers.size(); ++i) {
    CHECK(markers[i].marker_recorded().marker_name() == "LocalActivity");
    CHECK(detail(markers[i], "activity_type") == "Add");
    CHECK(detail(markers[i], "attempt") == 1);
  }
  CHECK(detail(markers[3], "data") == 106);
  CHECK(events_of(c, "steps", pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).empty());
  // All four ran in the first workflow task: one WorkflowTaskCompleted.
  CHECK(events_of(c, "steps", pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED).size() == 1);
  auto shown = d.cli({"workflow", "show", "-w", "steps"});
  CHECK_MESSAGE(shown.find("LocalActivity Add (id 4) attempt 1: result 106") != std::string::npos,
                shown);
  // The HTTP history gives the marker's details as plain JSON, and loads back as payloads.
  auto http = http_get(d.http, "/api/v1/namespaces/default/workflows/steps/history");
  REQUIRE_MESSAGE(http.status == 200, http.body);
  auto j = http.body_json();
  sdk::json last_marker;
  for (auto& ev : j["events"])
    if (ev.contains("marker_recorded")) last_marker = ev["marker_recorded"];
  REQUIRE_MESSAGE(last_marker.is_object(), http.body);
  CHECK(last_marker["marker_name"] == "LocalActivity");
  CHECK(last_marker["details"]["activity_id"] == "4");
  CHECK(last_marker["details"]["activity_type"] == "Add");
  CHECK(last_marker["details"]["attempt"] == 1);
  CHECK(last_marker["details"]["data"] == 106);
  auto loaded = sdk::parse_history(http.body);
  REQUIRE_MESSAGE(loaded.ok(), loaded.error);
  std::vector<pb::HistoryEvent> loaded_markers;
  for (auto& ev : loaded.events)
    if (ev.has_marker_recorded()) loaded_markers.push_back(ev);
  REQUIRE(loaded_markers.size() == 4);
  CHECK(detail(loaded_markers[3], "data") == 106);
  CHECK(detail(loaded_markers[3], "activity_type") == "Add");
  // The web UI's event history prints them as the CLI does (headless chromium).
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed (deploy/setup.sh installs it)");
  auto page = render(chromium, d.dir.path() / "chromium-profile",
                     "http://127.0.0.1:" + std::to_string(d.http) + "/#/workflow/default/steps");
  CHECK_MESSAGE(contains(page, "LocalActivity Add (id 4) attempt 1: result 106"), page);
}

TEST_CASE("local activities: one that fails twice succeeds on attempt 3 inside the task") {
  local_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "flaky", "LocalFlaky", sdk::json{{"fail_times", 2}});
  auto r = d.result(c, "flaky");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(sdk::from_payload(r.result())["attempt"] == 3);
  auto markers = events_of(c, "flaky", pb::EVENT_TYPE_MARKER_RECORDED);
  REQUIRE(markers.size() == 1);
  CHECK(detail(markers[0], "attempt") == 3);
  CHECK(events_of(c, "flaky", pb::EVENT_TYPE_TIMER_STARTED).empty());
  CHECK(w.wait_for_output("local activity attempt 3", 1s));
}

TEST_CASE("local activities: a long backoff goes through a durable timer across kill -9 of the node and the worker") {
  local_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "backoff", "LocalBackoff", sdk::json{{"fail_times", 2}});
  wait_for_markers(c, "backoff", 1);  // attempt 1 failed: marker + timer of 3 s
  auto first = events_of(c, "backoff", pb::EVENT_TYPE_MARKER_RECORDED);
  CHECK(detail(first[0], "attempt") == 1);
  CHECK(detail(first[0], "backoff_ms") == 3000);
  CHECK(first[0].marker_recorded().failure().type() == "Flaky");
  REQUIRE(events_of(c, "backoff", pb::EVENT_TYPE_TIMER_STARTED).size() == 1);
  d.node.kill9();
  w.kill9();
  d.start_node();
  auto w2 = d.worker("w2");
  auto c2 = d.connect();
  auto r = d.result(c2, "backoff");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(sdk::from_payload(r.result())["attempt"] == 3);
  auto markers = events_of(c2, "backoff", pb::EVENT_TYPE_MARKER_RECORDED);
  REQUIRE(markers.size() == 3);  // attempt 1 and 2 with their backoff, attempt 3 with the result
  CHECK(detail(markers[1], "attempt") == 2);
  CHECK(detail(markers[1], "backoff_ms") == 3000);
  CHECK(detail(markers[2], "attempt") == 3);
  CHECK(detail(markers[2], "data")["attempt"] == 3);
  CHECK(events_of(c2, "backoff", pb::EVENT_TYPE_TIMER_FIRED).size() == 2);
  // The new worker ran attempts 2 and 3 only (attempt 1's outcome came from the marker).
  CHECK(w2.wait_for_output("local activity attempt 3", 1s));
  CHECK(w2.output().find("local activity attempt 1") == std::string::npos);
}
