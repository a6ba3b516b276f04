// End-to-end: flow control of an activity task queue (docs/semantics.md "Flow control"). A real
// node and greeting worker with 40 activity slots registering "at most 5 running activities per
// fairness key": 20 activities of one key never run more than 5 at once (counted by the activities
// themselves in the worker), another key is not held up behind them, task-queue describe shows
// the limit and the usage (CLI, HTTP), after kill -9 of the node at most the limit beside the
// activities that ran at the crash; a rate limit of
// 2 activities a second spaces a run's activities out.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "deployment.hpp"
#include "http_client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

process limited_worker(single_node& d, const std::string& queue, std::vector<std::string> flags) {
  std::vector<std::string> args = {"--address", d.address(), "--task-queue", queue,
                                   "--activity-slots", "40"};
  args.insert(args.end(), flags.begin(), flags.end());
  process w(GREETING_WORKER_BIN, args, (d.dir.path() / ("worker-" + queue + ".log")).string());
  REQUIRE(w.wait_for_output("serving task queue", 20s));
  return w;
}

pb::StartWorkflowRequest fan_out(const std::string& wid, const std::string& key, int n, int ms,
                                 const std::string& queue = "greetings") {
  auto req = start_request(wid, "FanOut", {{"n", n}, {"key", key}, {"ms", ms}});
  req.set_task_queue(queue);
  req.set_fairness_key(key);
  return req;
}

sdk::json result_of(client& c, const std::string& wid) {
  auto r = c.result("", wid, "", 60s);
  REQUIRE_MESSAGE(r, error_text(r.error()));
  REQUIRE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  return sdk::from_payload(r->result());
}

// The running count of `key` the activity queue reports (-1: not listed).
int running_of(client& c, const std::string& key) {
  auto d = c.describe_task_queue("", "greetings");
  if (!d) return -1;
  for (auto& fc : d->flow_control())
    for (auto& k : fc.keys())
      if (k.key() == key) return k.running();
  return -1;
}

}  // namespace

TEST_CASE("flow control: at most 5 running activities per fairness key - another key is not blocked") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto w = limited_worker(d, "greetings", {"--max-running-per-key", "5"});
  auto c = d.connect();

  REQUIRE(c.start(fan_out("fan-a", "cust-a", 20, 300)));
  // The queue reports the limit and the key at it while the activities run.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  int seen = -1;
  while (std::chrono::steady_clock::now() < deadline && (seen = running_of(c, "cust-a")) != 5)
    std::this_thread::sleep_for(20ms);
  CHECK(seen == 5);
  std::string out;
  REQUIRE_MESSAGE(d.cli({"task-queue", "describe", "-q", "greetings"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("running per fairness key: 5") != std::string::npos, out);
  CHECK_MESSAGE(out.find("cust-a") != std::string::npos, out);
  auto via_http = http_get(http, "/api/v1/namespaces/default/task-queues/greetings");
  REQUIRE(via_http.status == 200);
  auto j = via_http.body_json();
  REQUIRE(j["flow_control"].size() == 1);
  CHECK(j["flow_control"][0]["max_running_per_key"] == 5);

  // Another key starts at once, beside the 5 of cust-a: it completes while fan-a still runs.
  REQUIRE(c.start(fan_out("fan-b", "cust-b", 3, 300)));
  auto b = result_of(c, "fan-b");
  CHECK(b["max_running"] == 3);
  auto a_now = c.describe("", "fan-a");
  REQUIRE(a_now);
  CHECK(a_now->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);

  auto a = result_of(c, "fan-a");
  CHECK_MESSAGE(a["max_running"].get<int>() <= 5, a.dump());
  CHECK_MESSAGE(a["max_running"].get<int>() >= 4, a.dump());  // the limit, not the slots, bounds it

  // kill -9 of the node while a key's activities wait: the limit holds after the restart (the
  // worker registers it again).
  REQUIRE(c.start(fan_out("fan-c", "cust-a", 15, 150)));
  deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && running_of(c, "cust-a") != 5)
    std::this_thread::sleep_for(20ms);
  d.node.kill9();
  d.start_node();
  auto after = d.connect();
  auto fc = result_of(after, "fan-c");
  // The restarted queue counts from zero: the 5 that ran at the crash may still run beside the 5
  // it hands out (docs/semantics.md "Flow control"), never more.
  CHECK_MESSAGE(fc["max_running"].get<int>() <= 10, fc.dump());
  CHECK(fc["n"] == 15);
}

TEST_CASE("flow control: a rate limit of 2 activities a second spaces a run's activities out") {
  single_node d;
  d.start_node();
  auto w = limited_worker(d, "slow", {"--activities-per-second", "2"});
  auto c = d.connect();
  std::string out;
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.start(fan_out("rate-1", "", 6, 10, "slow")));
  auto r = result_of(c, "rate-1");
  auto took = std::chrono::steady_clock::now() - t0;
  // A burst of 2, then one every 0.5 s: the 6th starts after 2 s.
  CHECK(took >= 1900ms);
  CHECK(r["n"] == 6);
  REQUIRE_MESSAGE(d.cli({"task-queue", "describe", "-q", "slow"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("rate limit: 2/s") != std::string::npos, out);
  // A bad limit is refused at registration: the worker says so and does not serve.
  process bad(GREETING_WORKER_BIN,
              {"--address", d.address(), "--task-queue", "slow", "--activities-per-second", "-1"},
              (d.dir.path() / "bad.log").string());
  CHECK(bad.wait_exit(10s) != 0);  // CLI11 refuses the value before connecting
}
