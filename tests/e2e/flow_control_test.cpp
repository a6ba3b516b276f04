// End-to-end: flow control of an activity task queue (docs/semantics.md "Flow control"). A real
// node and greeting worker with 40 activity slots registering "at most 5 running activities per
// fairness key": 20 activities of one key never run more than 5 at once (counted by the activities
// themselves in the worker), another key is not held up behind them, task-queue describe shows
// the limit and the usage (CLI, HTTP), after kill -9 of the node the limit still holds (the
// worker reports what it runs); a rate limit of 2 activities a second spaces a run's activities
// out. Operator limits (task-queue config set, CLI and HTTP) win over the workers', hold per key
// (running and rate) and survive kill -9. Priorities: higher priority runs go first.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <limits>
#include <thread>

#include "chromium.hpp"
#include "deployment.hpp"
#include "http_client.hpp"
#include "node_cluster.hpp"

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

  // kill -9 of the node while 5 activities of a key run (4 s each) and 10 wait: the restarted
  // queue counts the 5 the worker reports it runs (RegisterWorkerRequest.held_activities) and
  // hands out no other activity of that key until they end; the limit holds throughout.
  REQUIRE(c.start(fan_out("fan-c", "cust-a", 15, 4000)));
  deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && running_of(c, "cust-a") != 5)
    std::this_thread::sleep_for(20ms);
  REQUIRE(running_of(c, "cust-a") == 5);
  d.node.kill9();
  d.start_node();
  auto after = d.connect();
  // Once the worker registered again, the queue reports the 5 it runs, never more.
  deadline = std::chrono::steady_clock::now() + 10s;
  int most = -1;
  while (std::chrono::steady_clock::now() < deadline && most < 5) {
    most = std::max(most, running_of(after, "cust-a"));
    std::this_thread::sleep_for(20ms);
  }
  CHECK(most == 5);
  for (int i = 0; i < 50; ++i) {
    most = std::max(most, running_of(after, "cust-a"));
    std::this_thread::sleep_for(20ms);
  }
  CHECK(most == 5);
  auto fc = result_of(after, "fan-c");
  // Counted by the activities themselves in the worker: never more than the limit at once.
  CHECK_MESSAGE(fc["max_running"].get<int>() <= 5, fc.dump());
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

namespace {

// The HTTP answer to PUT …/task-queues/{queue}/config with `body`.
http_response put_config(uint16_t port, const std::string& queue, const nlohmann::json& body) {
  return http_call(port, boost::beast::http::verb::put,
                   "/api/v1/namespaces/default/task-queues/" + queue + "/config", body.dump());
}

// The activity queue's flow control as the node reports it (HTTP describe).
nlohmann::json flow_of(uint16_t port, const std::string& queue) {
  auto r = http_get(port, "/api/v1/namespaces/default/task-queues/" + queue);
  REQUIRE(r.status == 200);
  auto j = r.body_json();
  REQUIRE(j["flow_control"].size() == 1);
  return j["flow_control"][0];
}

}  // namespace

TEST_CASE("flow control: operator limits win over the workers' - survive kill -9 - CLI and HTTP") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto w = limited_worker(d, "greetings", {"--max-running-per-key", "10"});
  auto c = d.connect();
  std::string out;

  // Refused: a bad limit (the node's reason), an unknown name to unset, nothing to change.
  CHECK(d.cli({"task-queue", "config", "set", "-q", "greetings", "--max-running-per-key", "0"},
              &out) == 1);
  CHECK_MESSAGE(out.find("max_running_per_key must be in 1..100000") != std::string::npos, out);
  CHECK(d.cli({"task-queue", "config", "set", "-q", "greetings", "--unset", "bogus"}, &out) == 2);
  CHECK(d.cli({"task-queue", "config", "set", "-q", "greetings"}, &out) == 2);
  CHECK(d.cli({"-n", "nowhere", "task-queue", "config", "set", "-q", "greetings",
               "--max-running-per-key", "3"}, &out) == 1);
  CHECK_MESSAGE(out.find("not registered") != std::string::npos, out);

  REQUIRE_MESSAGE(d.cli({"task-queue", "config", "set", "-q", "greetings", "--max-running-per-key",
                         "3", "--reason", "customer quota"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("max running per fairness key:   3") != std::string::npos, out);
  auto fl = flow_of(http, "greetings");
  CHECK(fl["max_running_per_key"] == 3);
  CHECK(fl["max_running_per_key_source"] == "operator");
  // The web UI's task queue page: the operator's limits and where the one in force comes from.
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto base = "http://127.0.0.1:" + std::to_string(http) + "/";
  auto page = render(chromium, d.dir.path() / "chromium-profile", base + "#/task-queue/default/greetings");
  CHECK_MESSAGE(contains(page, "Set by an operator: running per fairness key 3 (reason: customer quota)"),
                page);
  CHECK_MESSAGE(contains(page, R"(<span class="max-running">3 (operator)</span>)"), page);
  // The form that sets them (the request `task-queue config set` sends), its "remove" enabled.
  CHECK_MESSAGE(contains(page, R"(id="task-queue-config")"), page);
  CHECK_MESSAGE(contains(page, R"(<button type="button" id="task-queue-config-unset" class="danger">)"),
                page);
  REQUIRE(c.start(fan_out("op-a", "cust-a", 12, 300)));
  auto a = result_of(c, "op-a");
  CHECK_MESSAGE(a["max_running"].get<int>() <= 3, a.dump());
  CHECK_MESSAGE(a["max_running"].get<int>() >= 2, a.dump());

  // Durable: after kill -9 the node still has it (config get, describe, HTTP) and applies it.
  d.node.kill9();
  d.start_node();
  auto after = d.connect();
  REQUIRE_MESSAGE(d.cli({"task-queue", "config", "get", "-q", "greetings"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("max running per fairness key:   3") != std::string::npos, out);
  CHECK_MESSAGE(out.find("customer quota") != std::string::npos, out);
  auto got = http_get(http, "/api/v1/namespaces/default/task-queues/greetings/config");
  REQUIRE(got.status == 200);
  CHECK(got.body_json()["config"]["max_running_per_key"] == 3);
  REQUIRE(after.start(fan_out("op-b", "cust-a", 9, 300)));
  auto b = result_of(after, "op-b");
  CHECK_MESSAGE(b["max_running"].get<int>() <= 3, b.dump());
  REQUIRE_MESSAGE(d.cli({"task-queue", "describe", "-q", "greetings"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("running per fairness key: 3 (operator)") != std::string::npos, out);
  CHECK_MESSAGE(out.find("OPERATOR LIMITS") != std::string::npos, out);

  // HTTP: unset the running limit (the worker's 10 applies again), set 2 activities a second per
  // key: two keys each run 6 activities at 2/s side by side (a burst of 2, then one every 0.5 s).
  auto bad = put_config(http, "greetings", {{"per_key_activities_per_second", -1}});
  CHECK(bad.status == 400);
  auto put = put_config(http, "greetings", {{"unset", {"max_running_per_key"}},
                                            {"per_key_activities_per_second", 2},
                                            {"reason", "slow down"}});
  REQUIRE_MESSAGE(put.status == 200, put.body);
  CHECK(put.body_json()["config"]["per_key_activities_per_second"] == 2);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline
         && flow_of(http, "greetings")["per_key_activities_per_second"] != 2)
    std::this_thread::sleep_for(20ms);
  fl = flow_of(http, "greetings");
  CHECK(fl["max_running_per_key"] == 10);
  CHECK(fl["max_running_per_key_source"] == "worker");
  CHECK(fl["per_key_activities_per_second_source"] == "operator");
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(after.start(fan_out("rate-r", "cust-r", 6, 10)));
  REQUIRE(after.start(fan_out("rate-s", "cust-s", 6, 10)));
  result_of(after, "rate-r");
  auto r_took = std::chrono::steady_clock::now() - t0;
  result_of(after, "rate-s");
  auto both_took = std::chrono::steady_clock::now() - t0;
  CHECK(r_took >= 1900ms);
  // One bucket for the whole queue would take 5 s for the 12; a bucket per key about 2 s.
  CHECK_MESSAGE(both_took < 4500ms,
                std::chrono::duration_cast<std::chrono::milliseconds>(both_took).count());

  // Unset all: the queue has only the worker's limit again.
  REQUIRE_MESSAGE(d.cli({"task-queue", "config", "set", "-q", "greetings", "--unset", "all"}, &out)
                    == 0, out);
  CHECK_MESSAGE(out.find("no operator limits") != std::string::npos, out);
  deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline
         && flow_of(http, "greetings")["per_key_activities_per_second"] != 0)
    std::this_thread::sleep_for(20ms);
  CHECK(flow_of(http, "greetings")["per_key_activities_per_second"] == 0);
}

TEST_CASE("flow control: higher priority runs go first - priority shown by describe") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  auto c = d.connect();
  // No worker yet: 3 runs of priority 5, then 3 of priority 1 (one through the CLI) wait.
  for (int i = 0; i < 3; ++i) {
    auto req = start_request("low-" + std::to_string(i), "Greeting", {{"name", "low"}});
    req.set_priority(5);
    REQUIRE(c.start(req));
  }
  for (int i = 0; i < 2; ++i) {
    auto req = start_request("high-" + std::to_string(i), "Greeting", {{"name", "high"}});
    req.set_priority(1);
    REQUIRE(c.start(req));
  }
  std::string out;
  REQUIRE_MESSAGE(d.cli({"workflow", "start", "-t", "Greeting", "-q", "greetings", "-w", "high-2",
                         "-i", R"({"name":"high"})", "--priority", "1"}, &out) == 0, out);
  CHECK(d.cli({"workflow", "start", "-t", "Greeting", "-q", "greetings", "-w", "bad-p",
               "--priority", "9"}, &out) == 2);
  auto bad = c.start([] {
    auto req = start_request("bad-p", "Greeting");
    req.set_priority(7);
    return req;
  }());
  REQUIRE_FALSE(bad);
  CHECK(error_text(bad.error()).find("priority must be 1") != std::string::npos);

  REQUIRE_MESSAGE(d.cli({"workflow", "describe", "-w", "high-2"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("Priority:        1") != std::string::npos, out);
  auto q = http_get(http, "/api/v1/namespaces/default/task-queues/greetings").body_json();
  auto& wb = q["backlogs"][0];
  REQUIRE(wb["kind"] == "workflow");
  REQUIRE(wb["priorities"].size() == 2);
  CHECK(wb["priorities"][0]["priority"] == 1);
  CHECK(wb["priorities"][0]["count"] == 3);
  CHECK(wb["priorities"][1]["priority"] == 5);
  CHECK(wb["priorities"][1]["count"] == 3);
  REQUIRE_MESSAGE(d.cli({"task-queue", "describe", "-q", "greetings"}, &out) == 0, out);
  CHECK_MESSAGE(out.find("waiting workflow tasks by priority: 1:3 5:3") != std::string::npos, out);
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto page = render(chromium, d.dir.path() / "chromium-profile",
                     "http://127.0.0.1:" + std::to_string(http) + "/#/task-queue/default/greetings");
  CHECK_MESSAGE(contains(page, R"(<td class="priorities">1: 3, 5: 3</td>)"), page);

  // One workflow slot and one activity slot: every priority-1 run closes before any priority-5 run.
  // Each activity takes 150 ms, so the order is decided by the queue's priorities and not by which of
  // two runs' messages happens to arrive a millisecond first: the last priority-1 run's activity ends
  // 150 ms before the first priority-5 run's activity does.
  process w(GREETING_WORKER_BIN, {"--address", d.address(), "--task-queue", "greetings",
                                  "--workflow-slots", "1", "--activity-slots", "1",
                                  "--activity-delay-ms", "150"},
            (d.dir.path() / "worker.log").string());
  REQUIRE(w.wait_for_output("serving task queue", 20s));
  int64_t last_high = 0, first_low = std::numeric_limits<int64_t>::max();
  for (auto [prefix, priority] : {std::pair{"high-", 1}, std::pair{"low-", 5}})
    for (int i = 0; i < 3; ++i) {
      auto wid = prefix + std::to_string(i);
      result_of(c, wid);
      auto desc = c.describe("", wid);
      REQUIRE(desc);
      CHECK(desc->priority() == priority);
      if (priority == 1) last_high = std::max(last_high, desc->close_time_ms());
      else first_low = std::min(first_low, desc->close_time_ms());
    }
  CHECK(last_high <= first_low);
  // The web UI's run page (of a closed run: an open one's page keeps following it).
  auto run_page = render(chromium, d.dir.path() / "chromium-profile",
                         "http://127.0.0.1:" + std::to_string(http) + "/#/workflow/default/high-2");
  CHECK_MESSAGE(contains(run_page, R"(<dd id="priority">1</dd>)"), run_page);

  // A child workflow inherits its parent's priority.
  auto parent = start_request("family", "ParentGreeting", {{"names", {"Ada"}}});
  parent.set_priority(2);
  REQUIRE(c.start(parent));
  result_of(c, "family");
  auto child = c.describe("", "family-child-1");
  REQUIRE(child);
  CHECK(child->priority() == 2);
}

TEST_CASE("flow control on three nodes: a limit set through one node is enforced by the queue's owner") {
  node_cluster cl(8);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  // The queue's owner, the node the worker connects to and the node the operator asks differ.
  auto owner = cl.ring.task_queue_owner("default", "greetings");
  size_t host = 0;
  while (cl.names[host] != owner) ++host;
  size_t via = (host + 1) % 3, asked = (host + 2) % 3;
  auto c = cl.connect(asked);
  cl.wait_all_up(asked, 3, 20s);  // every member up and every shard ready
  process w(GREETING_WORKER_BIN,
            {"--address", cl.address(via), "--task-queue", "greetings", "--activity-slots", "40",
             "--max-running-per-key", "10", "--listed-addresses-only"},
            (cl.dir.path() / "worker.log").string());
  REQUIRE(w.wait_for_output("serving task queue", 20s));

  pb::SetTaskQueueConfigRequest set;
  set.set_task_queue("greetings");
  set.set_max_running_per_key(3);
  set.set_reason("cluster quota");
  auto resp = c.set_task_queue_config(set);
  REQUIRE_MESSAGE(resp, error_text(resp.error()));
  CHECK(resp->not_stored_on().empty());  // every member has it
  CHECK(resp->config().max_running_per_key() == 3);
  // The owner's queue applies it (asked through the third node).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool applied = false;
  while (!applied && std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe_task_queue("", "greetings");
    if (d)
      for (auto& fc : d->flow_control())
        applied = applied
                  || (fc.node() == owner && fc.max_running_per_key() == 3
                      && fc.max_running_per_key_source() == "operator");
    if (!applied) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(applied);
  for (size_t i = 0; i < 3; ++i) {  // every node answers config get with it
    auto got = cl.connect(i).get_task_queue_config("", "greetings");
    REQUIRE_MESSAGE(got, error_text(got.error()));
    CHECK(got->config().max_running_per_key() == 3);
    CHECK(got->config().reason() == "cluster quota");
  }
  REQUIRE(c.start(fan_out("cl-a", "cust-a", 9, 300)));
  auto a = result_of(c, "cl-a");
  CHECK_MESSAGE(a["max_running"].get<int>() <= 3, a.dump());
}
