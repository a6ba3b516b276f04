// End-to-end: the web UI rendered by Debian's headless chromium against a real node and worker.
// Chromium must be installed (deploy/setup.sh installs it): without it the test fails, it never
// skips. Screenshots are left in the build dir (http-ui-*.png) for a look.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "chromium.hpp"
#include "harness.hpp"
#include "http_client.hpp"
#include "node_cluster.hpp"

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
  CHECK_MESSAGE(!contains(cluster, R"(id="replication")"), cluster);  // one copy: no replicas
  render(chromium, profile, base + "#/cluster", (shots / "http-ui-cluster.png").string());
  for (auto name : {"http-ui-workflows.png", "http-ui-workflow.png", "http-ui-cluster.png"})
    CHECK_MESSAGE(std::filesystem::file_size(shots / name) > 1000, name);
}

// A replicated cluster's page lists every replica of every shard (issue 16, item 6): its role,
// the term, its indexes and the digest of its data, the digests of one shard equal and the same
// as the API's.
TEST_CASE("http: web UI cluster page shows each replica of the shards with role and term and digest") {
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it (run "
                                     "deploy/setup.sh, or apt-get install chromium)");
  const uint32_t shards = 3;
  node_cluster cl(shards, 3);
  auto http = free_port();
  cl.node_config[0] = "http_port: " + std::to_string(http) + "\n";
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  cl.wait_all_up(0);
  auto c = cl.connect(0);
  for (int i = 0; i < 6; ++i) {
    auto wid = "ui-rf3-" + std::to_string(i);
    REQUIRE_MESSAGE(start_greeting(c, wid, "nobody", "req-" + wid), wid);
  }
  wait_equal_digests(c, shards, 3);

  auto answer = http_get(http, "/api/v1/cluster");
  REQUIRE_MESSAGE(answer.status == 200, answer.body);
  auto doc = nlohmann::json::parse(answer.body);
  std::map<uint32_t, std::set<std::string>> digests;  // shard -> the replicas' digests (hex)
  for (auto& n : doc["nodes"])
    for (auto& s : n["shards"]) {
      auto& r = s["replication"];
      char hex[24];
      std::snprintf(hex, sizeof(hex), "%016llx",
                    static_cast<unsigned long long>(r["digest"].get<uint64_t>()));
      CHECK(r["digest_hex"] == hex);
      digests[s["shard"].get<uint32_t>()].insert(hex);
    }
  REQUIRE(digests.size() == shards);
  // Without digests the answer has none (no read of the shards' data).
  auto bare = nlohmann::json::parse(http_get(http, "/api/v1/cluster?digests=false").body);
  CHECK(bare["nodes"][0]["shards"][0]["replication"]["digest_hex"] == "");
  CHECK(bare["nodes"][0]["shards"][0]["replication"]["term"] != 0);

  auto page = render(chromium, cl.dir.path() / "chromium-profile",
                     "http://127.0.0.1:" + std::to_string(http) + "/#/cluster");
  CHECK_MESSAGE(contains(page, R"(id="replication")"), page);
  const std::string row = R"(<tr class="replica )", leader_row = row + R"(leader")";
  size_t rows = 0, leaders = 0;
  for (size_t at = page.find(row); at != std::string::npos; at = page.find(row, at + 1)) {
    ++rows;
    leaders += page.compare(at, leader_row.size(), leader_row) == 0;
  }
  CHECK_MESSAGE(rows == shards * 3, page);
  // The shard map: one tile per shard, its serving replica (followers are not "unavailable").
  size_t tiles = 0;
  for (size_t at = page.find(R"(<div class="shard">)"); at != std::string::npos;
       at = page.find(R"(<div class="shard">)", at + 1))
    ++tiles;
  CHECK_MESSAGE(tiles == shards, page);
  CHECK_MESSAGE(!contains(page, R"(<div class="shard down">)"), page);
  CHECK_MESSAGE(leaders == shards, page);
  for (auto& [shard, d] : digests) {
    CHECK_MESSAGE(d.size() == 1, "shard " << shard << " has " << d.size() << " digests");
    CHECK_MESSAGE(contains(page, R"(<td class="mono digest">)" + *d.begin() + "</td>"), page);
  }
  render(chromium, cl.dir.path() / "chromium-profile",
         "http://127.0.0.1:" + std::to_string(http) + "/#/cluster",
         (std::filesystem::path(CHRONICLE_BUILD_DIR) / "http-ui-cluster-replicated.png").string());
  // The page reads itself again every 5 s: after 12 s of its timers, its third read is shown.
  auto later = render(chromium, cl.dir.path() / "chromium-profile",
                      "http://127.0.0.1:" + std::to_string(http) + "/#/cluster", {}, 12000);
  CHECK_MESSAGE(contains(later, R"(id="cluster-read" data-reads="3")"), later);
  CHECK_MESSAGE(contains(later, R"(id="replication")"), later);
}
