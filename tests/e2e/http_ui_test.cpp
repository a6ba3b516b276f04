// End-to-end: the web UI rendered by Debian's headless chromium against a real node and worker.
// Chromium must be installed (deploy/setup.sh installs it): without it the test fails, it never
// skips. Screenshots are left in the build dir (http-ui-*.png) for a look.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "chromium.hpp"
#include "harness.hpp"
#include "http_client.hpp"

using namespace chronicle::testing;
using namespace std::chrono_literals;

TEST_CASE("http: web UI in headless chromium shows a started workflow") {
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(),
                  "chromium is not installed: this test needs it (run deploy/setup.sh, or "
                  "apt-get install chromium)");
  temp_dir dir;
  auto port = free_port();
  auto http = free_port();
  process node(CHRONICLE_NODE_BIN,
               {"--config", write_node_config(dir.path(), port, "http_port: " + std::to_string(http) + "\n")},
               (dir.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  process worker(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                 (dir.path() / "worker.log").string());
  REQUIRE(worker.wait_for_output("registered on task queue", 20s));

  const std::string api = "/api/v1/namespaces/default/workflows";
  auto started = http_post(http, api, R"({"workflow_id":"ui-wf-1","workflow_type":"Greeting",)"
                                      R"("task_queue":"greetings","input":{"name":"Ada"}})");
  REQUIRE_MESSAGE(started.status == 201, started.body);
  REQUIRE(http_get(http, api + "/ui-wf-1/result?wait=true&timeout_ms=30000").status == 200);
  auto waiting = http_post(http, api, R"({"workflow_id":"ui-wf-2","workflow_type":"Approval",)"
                                      R"("task_queue":"greetings","input":{"name":"Bob"}})");
  REQUIRE_MESSAGE(waiting.status == 201, waiting.body);

  auto base = "http://127.0.0.1:" + std::to_string(http) + "/";
  auto profile = dir.path() / "chromium-profile";
  auto shots = std::filesystem::path(CHRONICLE_BUILD_DIR);
  // Markup below exists only once the scripts fetched from the API and rendered it.
  auto list = render(chromium, profile, base + "#/workflows");
  CHECK_MESSAGE(contains(list, R"(<a href="#/workflow/default/ui-wf-1">ui-wf-1</a>)"), list);
  CHECK_MESSAGE(contains(list, R"(<a href="#/workflow/default/ui-wf-2">ui-wf-2</a>)"), list);
  render(chromium, profile, base + "#/workflows", (shots / "http-ui-workflows.png").string());

  auto filtered = render(chromium, profile, base + "#/workflows?status=running");
  CHECK_MESSAGE(contains(filtered, ">ui-wf-2</a>"), filtered);
  CHECK_MESSAGE(!contains(filtered, ">ui-wf-1</a>"), filtered);
  // The query box: a list query with the count of its matches; a bad one shows its error.
  auto queried = render(chromium, profile,
                        base + "#/workflows?query=WorkflowType%20%3D%20%27Greeting%27");
  CHECK_MESSAGE(contains(queried, ">ui-wf-1</a>"), queried);
  CHECK_MESSAGE(!contains(queried, ">ui-wf-2</a>"), queried);
  CHECK_MESSAGE(contains(queried, R"(id="count">1 matching runs<)"), queried);
  auto bad_query = render(chromium, profile, base + "#/workflows?query=WorkflowType%20%3D");
  CHECK_MESSAGE(contains(bad_query, R"(id="query-error")"), bad_query);
  CHECK_MESSAGE(contains(bad_query, "position 15"), bad_query);

  auto page = render(chromium, profile, base + "#/workflow/default/ui-wf-1");
  CHECK_MESSAGE(contains(page, R"(id="workflow-id">ui-wf-1<)"), page);
  CHECK_MESSAGE(contains(page, R"(<span class="status Completed">Completed</span>)"), page);
  CHECK_MESSAGE(contains(page, "WorkflowExecutionCompleted"), page);
  CHECK_MESSAGE(contains(page, "ComposeGreeting"), page);  // the activity in the timeline
  CHECK_MESSAGE(contains(page, "Hello, Ada!"), page);     // the result
  render(chromium, profile, base + "#/workflow/default/ui-wf-1",
         (shots / "http-ui-workflow.png").string());

  // Live: the page of the run waiting for its signal, open while the run is approved: the
  // signal's events are appended from the event stream (class "live": no reload) and the status
  // turns Completed. The signal goes once the page's stream is open (the gauge on /metrics).
  auto streams_open = [&] {
    auto m = http_get(http, "/metrics").body;
    return m.find("chronicle_http_event_streams{node=\"node1\"} 1") != std::string::npos;
  };
  REQUIRE(!streams_open());
  process page_proc(chromium, {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--user-data-dir=" + profile.string(), "--virtual-time-budget=5000",
                               "--dump-dom", base + "#/workflow/default/ui-wf-2"},
                    (dir.path() / "chromium-live.log").string());
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!streams_open() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  REQUIRE_MESSAGE(streams_open(), page_proc.output());
  auto approved = http_post(http, api + "/ui-wf-2/signal/approve", R"("Cy")");
  CHECK_MESSAGE(approved.status == 200, approved.body);
  REQUIRE(page_proc.wait_exit(60s) == 0);
  auto live = page_proc.output();
  CHECK_MESSAGE(contains(live, R"(class="signal live")"), live);
  CHECK_MESSAGE(contains(live, R"(class="workflow live")"), live);
  CHECK_MESSAGE(contains(live, R"(<span class="status Completed">Completed</span>)"), live);
  CHECK_MESSAGE(contains(live, "approved_by"), live);  // the result, read once the run closed

  auto cluster = render(chromium, profile, base + "#/cluster");
  CHECK_MESSAGE(contains(cluster, R"(id="shard-map")"), cluster);
  CHECK_MESSAGE(contains(cluster, "<td>node1</td>"), cluster);
  render(chromium, profile, base + "#/cluster", (shots / "http-ui-cluster.png").string());
  for (auto name : {"http-ui-workflows.png", "http-ui-workflow.png", "http-ui-cluster.png"})
    CHECK_MESSAGE(std::filesystem::file_size(shots / name) > 1000, name);
}
