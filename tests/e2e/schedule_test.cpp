// End-to-end: schedules on a real node with a real greeting worker (docs/schedules.md): an
// interval schedule fires and its workflows complete; pause, unpause, trigger and backfill from
// the CLI; kill -9 of the node across action times neither loses an action inside the catch-up
// window nor starts one twice.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <thread>

#include "chromium.hpp"
#include "deployment.hpp"
#include "http_client.hpp"
#include "node_cluster.hpp"
#include "schedule_support.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

TEST_CASE("schedules: an interval of 1s starts workflows that complete - describe - list - delete") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto created = c.create_schedule(every_second("tick", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
  REQUIRE_MESSAGE(created, error_text(created));
  CHECK(created->info().next_action_times_ms_size() == 5);
  auto again = c.create_schedule(every_second("tick", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
  REQUIRE_FALSE(again);
  CHECK(error_text(again.error()).find("already exists") != std::string::npos);

  auto desc = wait_schedule(c, "tick", [](auto& s) { return completed(s) >= 3; },
                            "three actions completed");
  for (auto& a : desc.info().recent_actions()) {
    CHECK(a.workflow_id() == schedules::workflow_id_for("tick", a.nominal_time_ms()));
    CHECK(a.nominal_time_ms() % 1000 == 0);
  }
  auto result = c.result("default", desc.info().recent_actions(0).workflow_id(), "", 10s);
  REQUIRE_MESSAGE(result, error_text(result));
  CHECK(result->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);

  auto list = c.list_schedules("default");
  REQUIRE_MESSAGE(list, error_text(list));
  REQUIRE(list->schedules_size() == 1);
  CHECK(list->schedules(0).schedule_id() == "tick");

  auto deleted = c.delete_schedule("default", "tick");
  REQUIRE_MESSAGE(deleted, error_text(deleted));
  auto gone = c.describe_schedule("default", "tick");
  REQUIRE_FALSE(gone);
  CHECK(chronicle_code(gone.error()) == static_cast<uint8_t>(errc::not_found));
  // No action after the delete.
  auto before = runs_by_id(c, "tick-").size();
  std::this_thread::sleep_for(2500ms);
  CHECK(runs_by_id(c, "tick-").size() == before);
}

TEST_CASE("schedules: bad requests are refused with the reason") {
  single_node d;
  d.start_node();
  auto c = d.connect();
  auto req = every_second("bad", pb::SCHEDULE_OVERLAP_POLICY_SKIP);
  req.mutable_definition()->mutable_spec()->add_cron("61 * * * *");
  auto r = c.create_schedule(req);
  REQUIRE_FALSE(r);
  CHECK(error_text(r.error()).find("minute") != std::string::npos);
  req = every_second("bad", pb::SCHEDULE_OVERLAP_POLICY_SKIP);
  req.mutable_definition()->mutable_spec()->set_time_zone("Nowhere/City");
  r = c.create_schedule(req);
  REQUIRE_FALSE(r);
  CHECK(error_text(r.error()).find("unknown time zone") != std::string::npos);
  req = every_second("bad", pb::SCHEDULE_OVERLAP_POLICY_SKIP);
  req.set_namespace_("nowhere");
  r = c.create_schedule(req);
  REQUIRE_FALSE(r);
  CHECK(error_text(r.error()).find("unknown namespace") != std::string::npos);
  auto missing = c.describe_schedule("default", "none");
  REQUIRE_FALSE(missing);
  CHECK(error_text(missing.error()).find("not found") != std::string::npos);
}

TEST_CASE("schedules: pause - unpause - trigger - backfill from the CLI") {
  single_node d;
  d.start_node();
  d.start_worker();
  std::string out;
  REQUIRE_MESSAGE(d.cli({"schedule", "create", "-s", "hourly", "-t", "Greeting", "-q", "greetings",
                         "-i", R"({"name":"cli"})", "--cron", "@hourly", "--paused", "--note",
                         "held"},
                        &out) == 0,
                  out);
  CHECK(out.find("paused") != std::string::npos);
  CHECK(out.find("held") != std::string::npos);
  REQUIRE_MESSAGE(d.cli({"schedule", "unpause", "-s", "hourly"}, &out) == 0, out);
  CHECK(out.find("active") != std::string::npos);
  REQUIRE_MESSAGE(d.cli({"schedule", "pause", "-s", "hourly", "--note", "maintenance"}, &out) == 0, out);
  CHECK(out.find("maintenance") != std::string::npos);

  // Trigger: one workflow now, even while paused.
  REQUIRE_MESSAGE(d.cli({"schedule", "trigger", "-s", "hourly"}, &out) == 0, out);
  auto c = d.connect();
  wait_schedule(c, "hourly", [](auto& s) { return completed(s) == 1; }, "the triggered run completed");

  // Backfill of three hours: the three hourly times, named after them.
  REQUIRE_MESSAGE(d.cli({"schedule", "backfill", "-s", "hourly", "--start-time", "2026-01-01T00:00:00Z",
                         "--end-time", "2026-01-01T02:30:00Z", "--overlap", "allow-all"},
                        &out) == 0,
                  out);
  auto s = wait_schedule(c, "hourly", [](auto& s) { return completed(s) == 4; }, "the backfill completed");
  auto runs = runs_by_id(c, "hourly-2026-01-01T0");
  CHECK(runs == std::map<std::string, int>{{"hourly-2026-01-01T00:00:00Z", 1},
                                           {"hourly-2026-01-01T01:00:00Z", 1},
                                           {"hourly-2026-01-01T02:00:00Z", 1}});
  REQUIRE_MESSAGE(d.cli({"schedule", "list"}, &out) == 0, out);
  CHECK(out.find("hourly") != std::string::npos);
  REQUIRE_MESSAGE(d.cli({"schedule", "describe", "-s", "hourly", "-o", "json"}, &out) == 0, out);
  CHECK(out.find("\"actionCount\"") != std::string::npos);
  CHECK(d.cli({"schedule", "backfill", "-s", "hourly", "--start-time", "yesterday", "--end-time",
               "2026-01-01T00:00:00Z"},
              &out) == 2);
  REQUIRE_MESSAGE(d.cli({"schedule", "delete", "-s", "hourly"}, &out) == 0, out);
  CHECK(d.cli({"schedule", "describe", "-s", "hourly"}, &out) == 1);
}

TEST_CASE("schedules: kill -9 of the node across action times misses no action inside the catch-up window and fires none twice") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto created = c.create_schedule(every_second("crash", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, 3'600'000));
  REQUIRE_MESSAGE(created, error_text(created));
  auto created_at = created->info().create_time_ms();
  wait_schedule(c, "crash", [](auto& s) { return s.info().action_count() >= 2; }, "two actions");
  for (int round = 0; round < 2; ++round) {
    d.node.kill9();
    std::this_thread::sleep_for(2500ms);  // two or three action times pass while it is down
    d.start_node();
    c = d.connect();
    wait_schedule(c, "crash", [](auto& s) { return s.info().action_count() >= 2; }, "the schedule back");
    std::this_thread::sleep_for(1500ms);
  }
  auto paused = c.patch_schedule([] {
    pb::PatchScheduleRequest p;
    p.set_namespace_("default");
    p.set_schedule_id("crash");
    p.set_pause(true);
    return p;
  }());
  REQUIRE_MESSAGE(paused, error_text(paused));
  // The starts decided before the pause are answered.
  wait_schedule(c, "crash", [](auto& s) {
    for (auto& r : s.info().running())
      if (r.run_id().empty()) return false;
    return true;
  }, "every start answered");
  auto last = paused->info().action_count();
  CHECK(paused->info().missed_catchup_window() == 0);
  // Every whole second after the creation up to the last action has exactly one workflow.
  auto runs = runs_by_id(c, "crash-");
  std::set<std::string> expected;
  int64_t first = (created_at / 1000 + 1) * 1000;
  for (int64_t t = first; static_cast<int64_t>(expected.size()) < last; t += 1000)
    expected.insert(schedules::workflow_id_for("crash", t));
  std::set<std::string> seen;
  for (auto& [wid, n] : runs) {
    CHECK_MESSAGE(n == 1, wid << " has " << n << " runs");
    seen.insert(wid);
  }
  CHECK(seen == expected);
  CHECK(static_cast<int64_t>(runs.size()) == last);
}

TEST_CASE("schedules over HTTP and in the web UI: create - trigger - update - list and schedule pages in headless chromium - delete") {
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it (apt-get install chromium)");
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  d.start_worker();
  const std::string base = "/api/v1/namespaces/default/schedules";
  auto created = http_post(http, base, R"({"schedule_id":"web","definition":{"spec":{"cron":["0 9 * * MON-FRI"],)"
                                       R"("time_zone":"Europe/Paris"},"action":{"workflow_type":"Greeting",)"
                                       R"("task_queue":"greetings","input":{"name":"web"}}}})");
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(created.body_json()["info"]["next_action_times_ms"].size() == 5);
  CHECK(http_post(http, base, R"({"schedule_id":"web","definition":{"action":{"workflow_type":"G","task_queue":"q"}}})")
          .status == 409);
  auto bad = http_post(http, base, R"({"schedule_id":"bad","definition":{"spec":{"cron":["* *"]},)"
                                   R"("action":{"workflow_type":"G","task_queue":"q"}}})");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("5 fields") != std::string::npos);
  REQUIRE(http_post(http, base + "/web/trigger", "{}").status == 200);
  auto c = d.connect();
  wait_schedule(c, "web", [](auto& s) { return completed(s) == 1; }, "the triggered run completed");
  auto paused = http_post(http, base + "/web/pause", R"({"note":"from http"})");
  REQUIRE_MESSAGE(paused.status == 200, paused.body);
  CHECK(paused.body_json()["definition"]["paused"] == true);
  auto listed = http_get(http, base);
  REQUIRE(listed.status == 200);
  CHECK(listed.body_json()["schedules"][0]["schedule_id"] == "web");
  REQUIRE(http_post(http, base + "/web/unpause", "{}").status == 200);

  auto ui = "http://127.0.0.1:" + std::to_string(http) + "/";
  auto profile = d.dir.path() / "chromium-profile";
  auto list_page = render(chromium, profile, ui + "#/schedules");
  CHECK_MESSAGE(contains(list_page, R"(<a href="#/schedule/default/web" class="schedule-link">web</a>)"), list_page);
  CHECK_MESSAGE(contains(list_page, "cron 0 9 * * MON-FRI; time zone Europe/Paris"), list_page);
  auto page = render(chromium, profile, ui + "#/schedule/default/web");
  CHECK_MESSAGE(contains(page, R"(<ul id="next-runs"><li>)"), page);
  CHECK_MESSAGE(contains(page, "web-20"), page);  // the triggered workflow among recent actions
  CHECK_MESSAGE(contains(page, R"(<span class="status Completed">Completed</span>)"), page);
  render(chromium, profile, ui + "#/schedule/default/web",
         (std::filesystem::path(CHRONICLE_BUILD_DIR) / "http-ui-schedule.png").string());

  auto removed = http_call(http, boost::beast::http::verb::delete_, base + "/web");
  CHECK(removed.status == 200);
  CHECK(http_get(http, base + "/web").status == 404);
}

TEST_CASE("schedules with replication factor 3: listed once by any node - going on after kill -9 of a member - no workflow twice") {
  node_cluster cluster(8, 3);
  for (size_t i = 0; i < 3; ++i) cluster.start(i);
  cluster.start_worker(1, "greetings");
  auto c0 = cluster.connect(0);
  caf::expected<pb::ScheduleDescription> created = caf::error{};
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {  // the groups elect their leaders first
    created = c0.create_schedule(every_second("replicated", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, 3'600'000));
    if (created || chronicle_code(created.error()) != static_cast<uint8_t>(errc::unavailable)) break;
    std::this_thread::sleep_for(200ms);
  }
  REQUIRE_MESSAGE(created, error_text(created.error()));
  auto c2 = cluster.connect(2);
  wait_schedule(c2, "replicated", [](auto& s) { return completed(s) >= 2; }, "two actions completed");
  auto listed = c2.list_schedules("default");
  REQUIRE_MESSAGE(listed, error_text(listed));
  CHECK(listed->schedules_size() == 1);
  cluster.nodes[0].kill9();
  auto c1 = cluster.connect(1);
  auto before = wait_schedule(c1, "replicated", [](auto&) { return true; }, "the schedule served", 60s)
                  .info().action_count();
  wait_schedule(c1, "replicated", [&](auto& s) { return s.info().action_count() >= before + 3; },
                "three more actions after the kill", 60s);
  for (auto& [wid, n] : runs_by_id(c1, "replicated-")) CHECK_MESSAGE(n == 1, wid << " has " << n << " runs");
}
