// End-to-end: the replay check before a deploy (worker/replay_check.hpp) against a real
// chronicle-node whose runs were completed by a real versioning-worker process: the sample's
// `--replay-check` passes with the code the runs ran on and with the patched v2, and reports
// every run with v3 (which dropped the old branch); the library call names the diverging event.
#include <doctest/doctest.h>

#include <thread>

#include "deployment.hpp"
#include "worker/client.hpp"
#include "worker/replay_check.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using sdk::json;

namespace {

// The user's code as the versioning sample's v1 ran it, and as changed without a patch.
sdk::task<json> order_v1(sdk::workflow_context& ctx, json input) {
  json charged = co_await ctx.activity("Charge", input);
  co_await ctx.wait_signal("ship");
  co_return json{{"charged", charged}, {"branch", "old"}};
}

sdk::task<json> order_unpatched(sdk::workflow_context& ctx, json input) {
  json charged = co_await ctx.activity("ChargeWithReceipt", input);
  co_await ctx.wait_signal("ship");
  co_return json{{"charged", charged}, {"branch", "new"}};
}

int count(const pb::GetHistoryResponse& h, pb::EventType type) {
  int n = 0;
  for (auto& ev : h.events()) n += ev.event_type() == type;
  return n;
}

// Starts an Order, waits until it was charged, then (when `ship`) ships it and waits for its end.
std::string order(client& c, const std::string& wid, bool ship) {
  auto started = c.start(start_request(wid, "Order", "book"));
  REQUIRE_MESSAGE(started, error_text(started));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto h = c.history("", wid);
    REQUIRE_MESSAGE(h, error_text(h));
    if (count(*h, pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1 &&
        count(*h, pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2)
      break;
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, wid << " was not charged");
    std::this_thread::sleep_for(20ms);
  }
  if (ship) {
    auto sent = c.signal("", wid, "", "ship", sdk::to_payload(nullptr));
    REQUIRE_MESSAGE(sent, error_text(sent));
    auto res = c.result("", wid, "", 30s);
    REQUIRE_MESSAGE(res, error_text(res));
    REQUIRE(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
  return started->run_id();
}

// `versioning-worker --code <code> --replay-check Order [more]`: its exit code, output in *out.
int replay_check(single_node& d, const std::string& code, std::string* out,
                 std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--address", d.address(), "--code", code, "--replay-check", "Order"};
  args.insert(args.end(), more.begin(), more.end());
  return run(VERSIONING_WORKER_BIN, args, out);
}

}  // namespace

TEST_CASE("replay check: runs completed on v1 replay clean on v1 and v2 and are reported on v3") {
  single_node d;
  d.start_node();
  d.worker = process(VERSIONING_WORKER_BIN,
                     {"--address", d.address(), "--task-queue", "greetings", "--code", "v1"},
                     (d.dir.path() / "worker-v1.log").string());
  REQUIRE(d.worker.wait_for_output("serving task queue", 20s));
  auto c = d.connect();
  const std::string run_a = order(c, "order-a", true);
  const std::string run_b = order(c, "order-b", true);
  order(c, "order-open", false);  // still running: not checked
  CHECK(d.worker.terminate() == 0);

  std::string out;
  CHECK(replay_check(d, "v1", &out) == 0);
  CHECK(out.find("replay check of 'Order': 2 closed runs replayed, 0 failed") != std::string::npos);
  CHECK(replay_check(d, "v2", &out) == 0);  // the patch keeps the old branch for old runs
  CHECK(out.find("2 closed runs replayed, 0 failed") != std::string::npos);

  CHECK(replay_check(d, "v3", &out) == 1);  // deprecate_patch while v1 runs exist: unsafe
  INFO(out);
  CHECK(out.find("2 closed runs replayed, 2 failed") != std::string::npos);
  CHECK(out.find("FAIL order-a " + run_a + ": NonDeterminismError at event 5") != std::string::npos);
  CHECK(out.find("FAIL order-b " + run_b + ": NonDeterminismError at event 5") != std::string::npos);
  CHECK(out.find("order-open") == std::string::npos);

  CHECK(replay_check(d, "v3", &out, {"--replay-query", "WorkflowId = 'order-b'"}) == 1);
  CHECK(out.find("1 closed runs replayed, 1 failed") != std::string::npos);
  CHECK(out.find("order-a") == std::string::npos);
}

TEST_CASE("replay check: the library call reports the diverging event of each closed run") {
  single_node d;
  d.start_node();
  d.worker = process(VERSIONING_WORKER_BIN,
                     {"--address", d.address(), "--task-queue", "greetings", "--code", "v1"},
                     (d.dir.path() / "worker-v1.log").string());
  REQUIRE(d.worker.wait_for_output("serving task queue", 20s));
  auto c = d.connect();
  const std::string run = order(c, "order-lib", true);

  sdk::registry old_code;
  old_code.register_workflow("Order", order_v1);
  auto clean = replay_closed_runs(c, "Order", old_code);
  REQUIRE_MESSAGE(clean, error_text(clean));
  CHECK(clean->runs_checked == 1);
  CHECK(clean->ok());

  sdk::registry changed;
  changed.register_workflow("Order", order_unpatched);
  auto report = replay_closed_runs(c, "Order", changed);
  REQUIRE_MESSAGE(report, error_text(report));
  CHECK(!report->ok());
  REQUIRE(report->failed.size() == 1);
  const auto& failure = report->failed[0];
  CHECK(failure.workflow_id == "order-lib");
  CHECK(failure.run_id == run);
  CHECK(failure.result.nondeterministic());
  CHECK(failure.result.event_id == 5);  // ActivityTaskScheduled: Charge recorded, code asks another
  CHECK(failure.result.message.find("ChargeWithReceipt") != std::string::npos);

  replay_check_options other_ns;
  other_ns.query = "WorkflowId = 'no-such-workflow'";
  auto none = replay_closed_runs(c, "Order", changed, other_ns);
  REQUIRE(none);
  CHECK(none->runs_checked == 0);
  CHECK(none->ok());
}

TEST_CASE("replay check: a bad query or an unreachable cluster is an error - exit code 2") {
  single_node d;
  d.start_node();
  std::string out;
  CHECK(replay_check(d, "v1", &out, {"--replay-query", "WorkflowId = "}) == 2);
  CHECK(out.find("bad query") != std::string::npos);
  CHECK(run(VERSIONING_WORKER_BIN,
            {"--address", "127.0.0.1:" + std::to_string(free_port()), "--replay-check", "Order"},
            &out) == 2);
  CHECK(out.find("replay check:") != std::string::npos);
  CHECK(run(VERSIONING_WORKER_BIN, {"--address", "nonsense", "--replay-check", "Order"}, &out) == 2);
}

TEST_CASE("replay check: greeting-worker checks the closed Greeting runs it completed") {
  single_node d;
  d.start_node();
  d.start_worker();
  std::string out;
  for (const char* wid : {"greet-1", "greet-2"}) {
    REQUIRE(d.cli({"workflow", "start", "--type", "Greeting", "--task-queue", "greetings",
                   "--workflow-id", wid, "--input", R"({"name":"Ada"})"}, &out) == 0);
    REQUIRE_MESSAGE(d.cli({"workflow", "result", "-w", wid}, &out) == 0, out);
  }
  CHECK(run(GREETING_WORKER_BIN, {"--address", d.address(), "--replay-check", "Greeting"}, &out) == 0);
  CHECK(out.find("replay check of 'Greeting': 2 closed runs replayed, 0 failed") != std::string::npos);
  CHECK(run(GREETING_WORKER_BIN, {"--address", d.address(), "--replay-check", "Approval"}, &out) == 0);
  CHECK(out.find("0 closed runs replayed, 0 failed") != std::string::npos);
}
