// End-to-end: batch operations (docs/operations.md "Batch operations"). A real node and greeting
// worker: a terminate job over 50 running runs at 20 per second, the node killed with -9 midway
// and restarted, completes with every run terminated exactly once (one
// WorkflowExecutionTerminated event each) and the runs the query does not match untouched; a
// signal job across kill -9 records the signal once per run; stop; the CLI's errors; HTTP and
// the web UI (headless chromium).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "chromium.hpp"
#include "deployment.hpp"
#include "http_client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

std::string id_of(const std::string& prefix, int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", i);
  return prefix + buf;
}

// Waits until the query counts `n` runs (visibility is written with each start).
void wait_count(client& c, const std::string& query, int64_t n) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int64_t got = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    pb::CountWorkflowsRequest req;
    req.set_query(query);
    auto r = c.count(req);
    if (r && (got = r->count()) == n) return;
    std::this_thread::sleep_for(50ms);
  }
  FAIL("the query " << query << " counts " << got << ", not " << n);
}

// Describes job `id` until `pred` holds (that answer); fails after `timeout`. A node being
// restarted answers errors meanwhile: asked again with a new client.
template <class Pred>
pb::BatchJobDescription wait_job(single_node& d, const std::string& id, Pred pred,
                                 const char* what, std::chrono::seconds timeout = 40s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pb::BatchJobDescription last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto c = client::connect(test_system(), "127.0.0.1", d.port);
    if (c) {
      auto j = c->describe_batch("", id);
      if (j) {
        last = *j;
        if (pred(*j)) return *j;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  FAIL("timed out waiting until " << what << ": " << last.DebugString());
  return {};
}

int count_events(client& c, const std::string& wid, pb::EventType type) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h.error()));
  int n = 0;
  for (auto& ev : h->events()) n += ev.event_type() == type;
  return n;
}

pb::StartBatchJobRequest signal_job(const std::string& id, const std::string& query, double rps) {
  pb::StartBatchJobRequest req;
  req.set_job_id(id);
  auto* def = req.mutable_definition();
  def->set_query(query);
  def->set_rps(rps);
  def->mutable_operation()->mutable_signal()->set_name("tag");
  *def->mutable_operation()->mutable_signal()->mutable_input() =
    sdk::to_payload(sdk::json{{"memo", {{"batch", "b1"}}}});
  return req;
}

}  // namespace

TEST_CASE("batch: terminate 50 runs at 20 per second across kill -9 of the node - each terminated once") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  for (int i = 0; i < 50; ++i) REQUIRE(c.start(start_request(id_of("bt-", i), "Sleepy")));
  for (int i = 0; i < 3; ++i) REQUIRE(c.start(start_request(id_of("other-", i), "Tagged")));
  wait_count(c, "WorkflowType = 'Sleepy' AND ExecutionStatus = 'Running'", 50);

  std::string out;
  REQUIRE_MESSAGE(d.cli({"-o", "json", "batch", "start", "--query", "WorkflowType = 'Sleepy'",
                         "--operation", "terminate", "--rps", "20", "--reason", "cleanup",
                         "--job-id", "term-1", "--yes"},
                        &out) == 0,
                  out);
  auto started = nlohmann::json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(!started.is_discarded(), out);
  // (-o json: protobuf's JSON mapping, lowerCamel names, 64-bit numbers as strings)
  CHECK(started["definition"]["jobId"] == "term-1");
  CHECK(started["total"] == "50");  // collected with the start (one page)

  // Midway: kill -9, restart. The job goes on from its durable position.
  auto before = wait_job(d, "term-1", [](auto& j) { return j.position() >= 15; }, "15 done");
  CHECK(before.state() == pb::BATCH_JOB_STATE_RUNNING);
  d.node.kill9();
  d.start_node();
  auto job = wait_job(d, "term-1",
                      [](auto& j) { return j.state() == pb::BATCH_JOB_STATE_COMPLETED; },
                      "the job completes");
  CHECK(job.total() == 50);
  CHECK(job.position() == 50);
  CHECK(job.done() == 50);
  CHECK(job.failed() == 0);
  CHECK(job.failures_size() == 0);
  // 20 per second: the 50 operations take at least 2 s (one second's burst at most).
  CHECK(job.close_time_ms() - job.start_time_ms() >= 1500);

  auto c2 = d.connect();
  for (int i = 0; i < 50; ++i) {
    auto wid = id_of("bt-", i);
    CHECK_MESSAGE(count_events(c2, wid, pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED) == 1, wid);
    auto desc = c2.describe("", wid);
    REQUIRE(desc);
    CHECK(desc->status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  }
  for (int i = 0; i < 3; ++i) {
    auto desc = c2.describe("", id_of("other-", i));
    REQUIRE(desc);
    CHECK(desc->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  }
  // The terminate's reason is the job's.
  auto h = c2.history("", "bt-07");
  REQUIRE(h);
  CHECK(h->events(h->events_size() - 1).workflow_execution_terminated().reason()
        == "cleanup");

  // describe and list (CLI).
  REQUIRE(d.cli({"batch", "describe", "--job-id", "term-1"}, &out) == 0);
  CHECK_MESSAGE(out.find("Completed") != std::string::npos, out);
  CHECK_MESSAGE(out.find("50 of 50: 50 done") != std::string::npos, out);
  CHECK_MESSAGE(out.find("0 failed") != std::string::npos, out);
  REQUIRE(d.cli({"batch", "list"}, &out) == 0);
  CHECK_MESSAGE(out.find("term-1") != std::string::npos, out);
  CHECK_MESSAGE(out.find("50/50") != std::string::npos, out);
  // A second job over the same query finds nothing running: completed at once, 0 targets.
  REQUIRE(d.cli({"-o", "json", "batch", "start", "--query", "WorkflowType = 'Sleepy'",
                 "--operation", "terminate", "--job-id", "term-2", "--yes"},
                &out) == 0);
  auto empty = nlohmann::json::parse(out, nullptr, false);
  CHECK(empty["state"] == "BATCH_JOB_STATE_COMPLETED");
  CHECK(!empty.contains("total"));  // 0: left out
}

TEST_CASE("batch: a signal job records the signal once per run across kill -9 - stop - errors") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  for (int i = 0; i < 30; ++i) REQUIRE(c.start(start_request(id_of("sg-", i), "Tagged")));
  wait_count(c, "WorkflowType = 'Tagged' AND ExecutionStatus = 'Running'", 30);

  auto started = c.start_batch(signal_job("sig-1", "WorkflowType = 'Tagged'", 20));
  REQUIRE_MESSAGE(started, error_text(started.error()));
  CHECK(started->total() == 30);
  wait_job(d, "sig-1", [](auto& j) { return j.position() >= 10; }, "10 signaled");
  d.node.kill9();
  d.start_node();
  auto job = wait_job(d, "sig-1",
                      [](auto& j) { return j.state() == pb::BATCH_JOB_STATE_COMPLETED; },
                      "the signal job completes");
  CHECK(job.done() == 30);
  CHECK(job.failed() == 0);
  auto c2 = d.connect();
  for (int i = 0; i < 30; ++i) {
    auto wid = id_of("sg-", i);
    CHECK_MESSAGE(count_events(c2, wid, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 1, wid);
  }

  // The same start again (same request ID): the same job; another start of the ID: refused.
  auto again_req = signal_job("sig-2", "WorkflowType = 'Tagged'", 1);
  again_req.set_request_id("req-sig-2");
  auto first = c2.start_batch(again_req);
  REQUIRE_MESSAGE(first, error_text(first.error()));
  auto second = c2.start_batch(again_req);
  REQUIRE_MESSAGE(second, error_text(second.error()));
  CHECK(second->start_time_ms() == first->start_time_ms());
  again_req.set_request_id("another");
  auto clash = c2.start_batch(again_req);
  REQUIRE_FALSE(clash);
  CHECK(chronicle_code(clash.error()) == static_cast<uint8_t>(errc::already_started));

  // Stop (at 1 per second it is far from done).
  std::this_thread::sleep_for(1500ms);
  std::string out;
  REQUIRE(d.cli({"batch", "stop", "--job-id", "sig-2", "--reason", "enough"}, &out) == 0);
  CHECK_MESSAGE(out.find("Stopped") != std::string::npos, out);
  CHECK_MESSAGE(out.find("enough") != std::string::npos, out);
  auto stopped = c2.describe_batch("", "sig-2");
  REQUIRE(stopped);
  CHECK(stopped->state() == pb::BATCH_JOB_STATE_STOPPED);
  CHECK(stopped->position() < 30);
  std::this_thread::sleep_for(1500ms);
  auto later = c2.describe_batch("", "sig-2");
  REQUIRE(later);
  CHECK(later->position() == stopped->position());  // nothing applied after the stop
  // A job ID without a request ID: made by the node.
  auto made = c2.start_batch(signal_job("", "WorkflowType = 'Nothing'", 0));
  REQUIRE_MESSAGE(made, error_text(made.error()));
  CHECK(made->definition().job_id().rfind("batch-", 0) == 0);
  CHECK(made->state() == pb::BATCH_JOB_STATE_COMPLETED);

  // Errors: usage (exit 2) and refusals (exit 1).
  auto usage_error = [&](std::vector<std::string> args, const std::string& text) {
    std::string o;
    args.insert(args.begin(), "batch");
    CHECK_MESSAGE(d.cli(args, &o) == 2, o);
    CHECK_MESSAGE(o.find(text) != std::string::npos, o);
  };
  usage_error({"start", "--query", "WorkflowType = 'Tagged'", "--operation", "signal", "--yes"},
              "--operation signal needs --signal-name");
  usage_error({"start", "--query", "WorkflowType = 'Tagged'", "--operation", "explode", "--yes"},
              "--operation");
  usage_error({"start", "--query", "WorkflowType = 'Tagged'", "--operation", "reset", "--yes"},
              "--operation reset needs --reset-type first|last");
  usage_error({"start", "--query", "WorkflowType = 'Tagged'", "--operation", "terminate",
               "--signal-name", "x", "--yes"},
              "--signal-name and --input go with --operation signal");
  usage_error({"start", "--query", "x = 1", "--operation", "signal", "--signal-name", "a",
               "--input", "{not json", "--yes"},
              "--input is not JSON");
  usage_error({"start", "--query", "WorkflowType = 'Tagged'", "--operation", "terminate",
               "--rps=-3", "--yes"},
              "rps must be between 0");
  // Without --yes and without a terminal (stdin from /dev/null): refused, nothing asked.
  CHECK(run("/bin/bash", {"-c", std::string("'") + CHRONICLE_CLI_BIN + "' --address " + d.address()
                                  + " batch start --query \"WorkflowType = 'Tagged'\""
                                    " --operation terminate </dev/null"},
            &out) == 2);
  CHECK_MESSAGE(out.find("add --yes") != std::string::npos, out);
  usage_error({"describe"}, "--job-id is required");
  CHECK(d.cli({"batch", "start", "--query", "NoSuchField = 'x'", "--operation", "terminate",
               "--yes"},
              &out) == 1);
  CHECK_MESSAGE(out.find("query:") != std::string::npos, out);
  CHECK(d.cli({"batch", "describe", "--job-id", "nope"}, &out) == 1);
  CHECK_MESSAGE(out.find("batch job 'nope' not found") != std::string::npos, out);
  CHECK(d.cli({"batch", "stop", "--job-id", "nope"}, &out) == 1);
}

TEST_CASE("batch: HTTP start list describe stop and the web UI's Batches pages") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto c = d.connect();
  for (int i = 0; i < 6; ++i) REQUIRE(c.start(start_request(id_of("ht-", i), "Sleepy")));
  wait_count(c, "WorkflowType = 'Sleepy' AND ExecutionStatus = 'Running'", 6);
  const std::string base = "/api/v1/namespaces/default/batches";

  auto created = http_post(http, base, R"({"query": "WorkflowType = 'Sleepy'", "operation":
    "terminate", "rps": 100, "job_id": "web-1", "reason": "from http"})");
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(created.body_json()["definition"]["job_id"] == "web-1");
  wait_job(d, "web-1", [](auto& j) { return j.state() == pb::BATCH_JOB_STATE_COMPLETED; },
           "web-1 completes");
  auto described = http_get(http, base + "/web-1");
  REQUIRE_MESSAGE(described.status == 200, described.body);
  auto dj = described.body_json();
  CHECK(dj["state"] == "BATCH_JOB_STATE_COMPLETED");
  CHECK(dj["done"] == 6);
  CHECK(dj["definition"]["operation"].contains("terminate"));

  // A slow one to stop (its runs: new Sleepy runs).
  for (int i = 0; i < 5; ++i) REQUIRE(c.start(start_request(id_of("slow-", i), "Sleepy")));
  wait_count(c, "WorkflowType = 'Sleepy' AND ExecutionStatus = 'Running'", 5);
  auto slow = http_post(http, base, R"({"query": "WorkflowType = 'Sleepy'", "operation": "signal",
    "signal_name": "nudge", "input": {"n": 1}, "rps": 0.2, "job_id": "web-slow"})");
  REQUIRE_MESSAGE(slow.status == 201, slow.body);
  auto list = http_get(http, base);
  REQUIRE_MESSAGE(list.status == 200, list.body);
  auto lj = list.body_json();
  REQUIRE(lj["jobs"].size() == 2);
  CHECK(lj["jobs"][0]["definition"]["job_id"] == "web-slow");  // newest first

  // The web UI: the list, a completed job, an open job with its Stop button, the start form.
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto ui = "http://127.0.0.1:" + std::to_string(http) + "/";
  auto profile = d.dir.path() / "chromium-profile";
  auto page = render(chromium, profile, ui + "#/batches");
  CHECK_MESSAGE(contains(page, R"(href="#/batch/default/web-1")"), page);
  CHECK_MESSAGE(contains(page, R"(<span class="status Completed">Completed</span>)"), page);
  CHECK_MESSAGE(contains(page, R"(id="batch-start")"), page);
  page = render(chromium, profile, ui + "#/batch/default/web-1");
  CHECK_MESSAGE(contains(page, "6 of 6: 6 done (0 already), 0 failed"), page);
  CHECK_MESSAGE(!contains(page, R"(id="batch-stop")"), page);
  page = render(chromium, profile, ui + "#/batch/default/web-slow");
  CHECK_MESSAGE(contains(page, R"(id="batch-stop")"), page);
  CHECK_MESSAGE(contains(page, "signal nudge"), page);

  auto stop = http_post(http, base + "/web-slow/stop", R"({"reason": "from the test"})");
  REQUIRE_MESSAGE(stop.status == 200, stop.body);
  CHECK(stop.body_json()["state"] == "BATCH_JOB_STATE_STOPPED");
  CHECK(stop.body_json()["stop_reason"].get<std::string>().find("from the test") == 0);
  page = render(chromium, profile, ui + "#/batch/default/web-slow");
  CHECK_MESSAGE(contains(page, R"(<span class="status Stopped">Stopped</span>)"), page);

  // Bad input: 400 with the reason, 404, 405.
  auto bad = http_post(http, base, R"({"query": "WorkflowType = 'Sleepy'", "operation": "explode"})");
  CHECK(bad.status == 400);
  CHECK_MESSAGE(bad.body.find("'operation' must be") != std::string::npos, bad.body);
  bad = http_post(http, base, R"({"query": "WorkflowType = 'Sleepy'", "operation": "terminate", "typo": 1})");
  CHECK(bad.status == 400);
  CHECK_MESSAGE(bad.body.find("unknown field 'typo'") != std::string::npos, bad.body);
  bad = http_post(http, base, R"({"operation": "terminate"})");
  CHECK(bad.status == 400);
  CHECK_MESSAGE(bad.body.find("needs a list query") != std::string::npos, bad.body);
  bad = http_post(http, base, R"({"query": "Nope = 1", "operation": "terminate"})");
  CHECK(bad.status == 400);
  bad = http_post(http, base, "[1]");
  CHECK(bad.status == 400);
  CHECK(http_get(http, base + "/missing").status == 404);
  CHECK(http_get(http, base + "/web-1/stop").status == 405);
  CHECK(http_post(http, base + "/web-1/explode").status == 404);
}
