// End-to-end: activity retries, timeouts, heartbeats, worker death as a failed attempt, workflow
// execution timeout and a non-deterministic worker, with a real chronicle-node and real
// retry-worker processes (samples/retry_worker.cpp).
#include <doctest/doctest.h>

#include "worker_deployment.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

// The retry-worker's task queue "retries"; workers started on demand (`variant`: its --variant).
struct retry_deployment : worker_deployment {
  explicit retry_deployment(const std::string& extra_config = {})
      : worker_deployment("retries", false, extra_config) {}

  process worker(const std::string& identity, int variant = 1) {
    return start_worker(RETRY_WORKER_BIN, identity, {"--variant", std::to_string(variant)});
  }
};

sdk::json result_json(const pb::GetResultResponse& r) { return sdk::from_payload(r.result()); }

}  // namespace

TEST_CASE("an activity that fails twice succeeds on attempt 3 - describe shows attempt and last failure") {
  retry_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "flaky", "FlakyTwice", sdk::json{{"fail_times", 2}});
  auto desc = d.wait_until(c, "flaky", [](auto& x) {
    return x.pending_activities_size() == 1 && x.pending_activities(0).attempt() == 3
           && x.pending_activities(0).state() == "backoff";
  }, "attempt 3 waits for its retry");
  CHECK(desc.pending_activities(0).last_failure().type() == "Flaky");
  CHECK(desc.pending_activities(0).last_failure().message() == "attempt 2 failed");
  auto text = d.cli({"workflow", "describe", "-w", "flaky"});
  CHECK_MESSAGE(text.find("attempt 3, backoff") != std::string::npos, text);
  CHECK_MESSAGE(text.find("last failure: Flaky: attempt 2 failed") != std::string::npos, text);
  auto r = d.result(c, "flaky");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(result_json(r)["attempt"] == 3);
  // Failed attempts are not in the history: one Started (attempt 3) and one Completed.
  auto started = events_of(c, "flaky", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().attempt() == 3);
  CHECK(events_of(c, "flaky", pb::EVENT_TYPE_ACTIVITY_TASK_FAILED).empty());
}

TEST_CASE("a non-retryable activity error fails the activity and the workflow at once") {
  retry_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  auto begin = std::chrono::steady_clock::now();
  d.start(c, "fatal", "NonRetryable");
  auto r = d.result(c, "fatal");
  CHECK(std::chrono::steady_clock::now() - begin < 5s);
  CHECK(r.status() == pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK(r.failure().type() == "Fatal");
  auto started = events_of(c, "fatal", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().attempt() == 1);
  CHECK(events_of(c, "fatal", pb::EVENT_TYPE_ACTIVITY_TASK_FAILED).size() == 1);
}

namespace {

// The Hang workflow completed on attempt 2, after attempt 1 timed out (start-to-close).
void check_retried_after_start_to_close(retry_deployment& d, client& c, const std::string& wid) {
  auto r = d.result(c, wid);
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(result_json(r)["attempt"] == 2);
  auto started = events_of(c, wid, pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().last_failure().timeout_type()
        == pb::TIMEOUT_TYPE_START_TO_CLOSE);
}

}  // namespace

TEST_CASE("start-to-close timeout retries a hanging activity") {
  retry_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "hang", "Hang");
  check_retried_after_start_to_close(d, c, "hang");
  CHECK(events_of(c, "hang", pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT).empty());
}

TEST_CASE("start-to-close timeout fires for an attempt whose execution was passivated while it ran") {
  // Passivated 100 ms after its last message: long before the attempt's 1 s start-to-close.
  retry_deployment d("passivate_after_ms: 100\n");
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "hang-passive", "Hang");
  // No result request meanwhile (a waiting client keeps the execution in memory): it is
  // passivated while attempt 1 hangs, and reactivated by the attempt's timer.
  std::this_thread::sleep_for(2500ms);
  check_retried_after_start_to_close(d, c, "hang-passive");
}

TEST_CASE("a worker killed with -9 mid-activity: retried on another worker without waiting for the timeout") {
  retry_deployment d;
  auto a = d.worker("worker-a");
  auto c = d.connect();
  d.start(c, "slow", "SlowOnce");
  REQUIRE(a.wait_for_output("slow activity started", 20s));
  auto b = d.worker("worker-b");
  auto begin = std::chrono::steady_clock::now();
  a.kill9();
  auto r = d.result(c, "slow");
  CHECK(std::chrono::steady_clock::now() - begin < 20s);  // start-to-close is 60 s
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(result_json(r)["attempt"] == 2);
  CHECK(result_json(r)["worker"] == "worker-b");
  auto started = events_of(c, "slow", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().last_failure().type() == "WorkerLost");
}

TEST_CASE("heartbeat details reach the next attempt after a heartbeat timeout") {
  retry_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  d.start(c, "beat", "Heartbeat");
  auto r = d.result(c, "beat");
  REQUIRE(r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  auto j = result_json(r);
  CHECK(j["attempt"] == 2);
  CHECK(j["resumed_from"] == sdk::json{{"step", 3}});
  auto started = events_of(c, "beat", pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  REQUIRE(started.size() == 1);
  CHECK(started[0].activity_task_started().last_failure().timeout_type()
        == pb::TIMEOUT_TYPE_HEARTBEAT);
}

TEST_CASE("workflow execution timeout: WorkflowExecutionTimedOut - status TimedOut - CLI result fails") {
  retry_deployment d;
  auto w = d.worker("w1");
  auto c = d.connect();
  int code = 0;
  auto out = d.cli({"workflow", "start", "-t", "Sleepy", "-q", "retries", "-w", "sleepy",
                    "--execution-timeout", "1s"}, &code);
  REQUIRE_MESSAGE(code == 0, out);
  out = d.cli({"workflow", "result", "-w", "sleepy"}, &code);
  CHECK(code == 1);
  CHECK_MESSAGE(out.find("timed out") != std::string::npos, out);
  auto desc = c.describe("", "sleepy");
  REQUIRE(desc);
  CHECK(desc->status() == pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
  CHECK(desc->pending_timers_size() == 0);
  CHECK(events_of(c, "sleepy", pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT).size() == 1);
  out = d.cli({"workflow", "start", "-t", "Sleepy", "-q", "retries", "-w", "bad",
               "--run-timeout", "soon"}, &code);
  CHECK(code == 2);
  CHECK_MESSAGE(out.find("--run-timeout 'soon' is not a duration") != std::string::npos, out);
}

TEST_CASE("a worker with changed workflow code fails the workflow task with a non-determinism error in describe") {
  retry_deployment d;
  auto v1 = d.worker("v1");
  auto c = d.connect();
  d.start(c, "evolve", "Evolving");
  d.wait_until(c, "evolve", [](auto& x) { return x.pending_timers_size() == 1; },
               "the workflow sleeps after StepA");
  v1.kill9();
  auto v2 = d.worker("v2", 2);
  auto desc = d.wait_until(c, "evolve", [](auto& x) {
    return x.has_last_workflow_task_failure() && x.workflow_task_attempt() >= 2;
  }, "the workflow task failed on the changed code");
  auto& f = desc.last_workflow_task_failure();
  CHECK_MESSAGE(f.message().find("non-deterministic workflow") != std::string::npos, f.message());
  CHECK_MESSAGE(f.message().find("StepA") != std::string::npos, f.message());
  auto text = d.cli({"workflow", "describe", "-w", "evolve"});
  CHECK_MESSAGE(text.find("Last workflow task failure:") != std::string::npos, text);
  CHECK_MESSAGE(text.find("non-deterministic workflow") != std::string::npos, text);
  CHECK(desc.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  auto t = c.terminate("", "evolve", "", "test over");
  CHECK(t);
}

namespace {

size_t count_type(const pb::GetHistoryResponse& h, pb::EventType type) {
  size_t n = 0;
  for (auto& e : h.events()) n += e.event_type() == type;
  return n;
}

}  // namespace

// Transient workflow tasks (docs/semantics.md, "Workflow task failures"): a bad deployment
// fails attempt after attempt, the history keeps only the first failure; a kill -9 of the node
// keeps the attempt count (the retry is durable); the fixed code's attempt completes and its
// WorkflowTaskScheduled carries the attempt.
TEST_CASE("transient workflow tasks: a bad deployment does not grow the history - kill -9 keeps the attempt - the fix completes") {
  retry_deployment d;
  auto v1 = d.worker("v1");
  auto c = d.connect();
  d.start(c, "transient", "Evolving");
  d.wait_until(c, "transient", [](auto& x) { return x.pending_timers_size() == 1; },
               "the workflow sleeps after StepA");
  v1.kill9();
  auto v2 = d.worker("v2", 2);
  d.wait_until(c, "transient", [](auto& x) { return x.workflow_task_attempt() >= 4; },
               "the changed code failed three attempts");
  auto h = c.history("", "transient");
  REQUIRE_MESSAGE(h, error_text(h));
  CHECK(count_type(*h, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 1);
  auto length = h->events_size();

  d.node.kill9();
  d.node = process(CHRONICLE_NODE_BIN, {"--config", d.config}, (d.dir.path() / "node2.log").string());
  REQUIRE_MESSAGE(d.node.wait_for_output("listening on", 20s), d.node.output());
  auto c2 = d.connect();
  auto before = d.wait_until(c2, "transient", [](auto& x) { return x.workflow_task_attempt() >= 4; },
                             "the attempt is kept across the restart");
  d.wait_until(c2, "transient", [&](auto& x) {
    return x.workflow_task_attempt() > before.workflow_task_attempt();
  }, "the worker fails the next attempt after the restart");
  h = c2.history("", "transient");
  REQUIRE_MESSAGE(h, error_text(h));
  CHECK(h->events_size() == length);
  CHECK(count_type(*h, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 1);

  v2.kill9();
  auto fixed = d.worker("v1-again");
  auto res = d.result(c2, "transient");
  CHECK(res.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  h = c2.history("", "transient");
  REQUIRE_MESSAGE(h, error_text(h));
  CHECK(count_type(*h, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) == 1);
  int32_t last_attempt = 0;
  for (auto& e : h->events())
    if (e.event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
      last_attempt = std::max(last_attempt, e.workflow_task_scheduled().attempt());
  CHECK(last_attempt >= 5);
  auto text = d.cli({"workflow", "describe", "-w", "transient"});
  CHECK_MESSAGE(text.find("Completed") != std::string::npos, text);
}
