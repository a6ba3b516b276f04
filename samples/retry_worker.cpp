// Sample worker for activity retries, timeouts, heartbeats and workflow task failures (used by
// tests/e2e/retry_test.cpp). Workflows (task queue "retries" by default):
//   FlakyTwice   {"fail_times": n}  activity Flaky fails n times (type "Flaky"), then returns
//                                    {"attempt": k}; retry initial interval 1 s, 10 attempts
//   NonRetryable                    activity Fatal throws a non-retryable error: the workflow fails
//   Hang                            activity Hang sleeps 60 s on attempt 1 (start-to-close 1 s),
//                                    then returns {"attempt": k}
//   SlowOnce                        activity Slow prints "slow activity started" and sleeps 60 s on
//                                    attempt 1 (start-to-close 60 s), then returns {"attempt": k,
//                                    "worker": identity}
//   Heartbeat                       activity Progress heartbeats {"step": 3} on attempt 1 and then
//                                    stops (heartbeat timeout 1 s); attempt 2 returns
//                                    {"attempt": k, "resumed_from": <details>}
//   OneSecond    {"ms": n}          activity OneSecond prints "one-second activity attempt k
//                                    started", sleeps n ms (1000), then returns {"attempt": k,
//                                    "worker": identity}; default options (start-to-close 10 min)
//   Sleepy                          sleeps 60 s
//   Evolving                        variant 1: activity StepA, sleep 2 s, done; variant 2 (changed
//                                    code): activity StepB first -> non-determinism on replay
// Reset (tests/e2e/reset_test.cpp): variant 1 has a bug in activity Ship (a non-retryable failure:
// the workflow fails), variant 2 the fix.
//   TwoSteps                        activity Charge (prints "charge ran"), then Ship; returns
//                                    {"charge": "charged", "ship": "shipped"}
//   SignalSteps                     activity Charge, waits for signal "address", then Ship with
//                                    it; returns {"charge": "charged", "ship": "shipped to <addr>"}
// Local activities (run inside the workflow task, recorded as LocalActivity markers):
//   LocalSteps   {"n": 3}           n local activities Add in parallel, then one more; returns
//                                    {"sum": 1 + 2 + ... + n + 100}
//   LocalFlaky   {"fail_times": n}  local activity LocalFlaky prints "local activity attempt k",
//                                    fails n times, then returns {"attempt": k}; retries every
//                                    100 ms in the worker
//   LocalBackoff {"fail_times": n}  the same with a 3 s backoff over a 1 s local retry threshold:
//                                    each retry waits on a durable timer (a marker with the
//                                    attempt, then TimerStarted)
//
//   retry-worker --address 127.0.0.1:7233 [--task-queue retries] [--identity id] [--variant 1]
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

#include "worker/sdk/errors.hpp"
#include "protocol/runtime.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace std::chrono_literals;
using sdk::json;

namespace {

json attempt_of(const sdk::activity_info& info) { return json{{"attempt", info.attempt}}; }

sdk::task<json> flaky_twice(sdk::workflow_context& ctx, json input) {
  sdk::activity_options opts;
  opts.start_to_close_timeout = 10s;
  opts.retry.maximum_attempts = 10;
  json r = co_await ctx.activity("Flaky", input, opts);
  co_return r;
}

sdk::task<json> non_retryable(sdk::workflow_context& ctx, json input) {
  json r = co_await ctx.activity("Fatal", input);  // the existing call form: default options
  co_return r;
}

sdk::task<json> hang(sdk::workflow_context& ctx, json input) {
  sdk::activity_options opts;
  opts.start_to_close_timeout = 1s;
  opts.retry.initial_interval = 200ms;
  json r = co_await ctx.activity("Hang", input, opts);
  co_return r;
}

sdk::task<json> slow_once(sdk::workflow_context& ctx, json input) {
  sdk::activity_options opts;
  opts.start_to_close_timeout = 60s;
  opts.retry.initial_interval = 100ms;
  json r = co_await ctx.activity("Slow", input, opts);
  co_return r;
}

// One activity of about one second, default options (start-to-close 10 minutes).
sdk::task<json> one_second(sdk::workflow_context& ctx, json input) {
  json r = co_await ctx.activity("OneSecond", input);
  co_return r;
}

sdk::task<json> heartbeat(sdk::workflow_context& ctx, json input) {
  sdk::activity_options opts;
  opts.heartbeat_timeout = 1s;
  opts.retry.initial_interval = 100ms;
  json r = co_await ctx.activity("Progress", input, opts);
  co_return r;
}

sdk::task<json> sleepy(sdk::workflow_context& ctx, json) {
  co_await ctx.sleep(60s);
  co_return json("woke up");
}

sdk::task<json> evolving(sdk::workflow_context& ctx, json input, int variant) {
  if (variant == 2) {
    json b = co_await ctx.activity("StepB", input);
  }
  json a = co_await ctx.activity("StepA", input);
  co_await ctx.sleep(2s);
  co_return a;
}

sdk::task<json> two_steps(sdk::workflow_context& ctx, json input) {
  json charge = co_await ctx.activity("Charge", input);
  json ship = co_await ctx.activity("Ship", input);
  co_return json{{"charge", charge}, {"ship", ship}};
}

sdk::task<json> signal_steps(sdk::workflow_context& ctx, json input) {
  json charge = co_await ctx.activity("Charge", input);
  json address = co_await ctx.wait_signal("address");
  json ship = co_await ctx.activity("Ship", address);
  co_return json{{"charge", charge}, {"ship", ship}};
}

sdk::task<json> local_steps(sdk::workflow_context& ctx, json input) {
  int n = input.is_object() ? input.value("n", 3) : 3;
  std::vector<sdk::activity_awaitable> parts;  // started together, run by the worker in parallel
  for (int i = 1; i <= n; ++i) parts.push_back(ctx.local_activity("Add", json{{"a", 0}, {"b", i}}));
  int sum = 0;
  for (auto& part : parts) sum += (co_await part).get<int>();
  json last = json{{"a", sum}, {"b", 100}};
  json total = co_await ctx.local_activity("Add", last);
  co_return json{{"sum", total}};
}

sdk::task<json> local_flaky(sdk::workflow_context& ctx, json input) {
  sdk::local_activity_options opts;
  opts.retry.initial_interval = 100ms;
  opts.retry.backoff_coefficient = 1.0;
  json r = co_await ctx.local_activity("LocalFlaky", input, opts);
  co_return r;
}

sdk::task<json> local_backoff(sdk::workflow_context& ctx, json input) {
  sdk::local_activity_options opts;
  opts.retry.initial_interval = 3s;
  opts.retry.backoff_coefficient = 1.0;
  opts.local_retry_threshold = 1s;  // 3 s backoffs wait on durable timers
  json r = co_await ctx.local_activity("LocalFlaky", input, opts);
  co_return r;
}

void register_all(sdk::registry& reg, int variant, const std::string& identity) {
  reg.register_workflow("LocalSteps", local_steps);
  reg.register_workflow("LocalFlaky", local_flaky);
  reg.register_workflow("LocalBackoff", local_backoff);
  reg.register_activity("Add", [](const sdk::activity_info&, const json& in) {
    return json(in.at("a").get<int>() + in.at("b").get<int>());
  });
  reg.register_activity("LocalFlaky", [](const sdk::activity_info& info, const json& in) {
    std::cout << "local activity attempt " << info.attempt << std::endl;
    int fail_times = in.is_object() ? in.value("fail_times", 2) : 2;
    if (info.attempt <= fail_times)
      throw sdk::application_error("Flaky", "attempt " + std::to_string(info.attempt) + " failed");
    return attempt_of(info);
  });
  reg.register_workflow("FlakyTwice", flaky_twice);
  reg.register_workflow("NonRetryable", non_retryable);
  reg.register_workflow("Hang", hang);
  reg.register_workflow("SlowOnce", slow_once);
  reg.register_workflow("Heartbeat", heartbeat);
  reg.register_workflow("OneSecond", one_second);
  reg.register_workflow("Sleepy", sleepy);
  reg.register_workflow("Evolving", [variant](sdk::workflow_context& ctx, json in) {
    return evolving(ctx, std::move(in), variant);
  });
  reg.register_activity("Flaky", [](const sdk::activity_info& info, const json& in) {
    int fail_times = in.is_object() ? in.value("fail_times", 2) : 2;
    if (info.attempt <= fail_times)
      throw sdk::application_error("Flaky", "attempt " + std::to_string(info.attempt) + " failed");
    return attempt_of(info);
  });
  reg.register_activity("Fatal", [](const sdk::activity_info&, const json&) -> json {
    throw sdk::application_error("Fatal", "cannot ever work", true);
  });
  reg.register_activity("Hang", [](const sdk::activity_info& info, const json&) {
    if (info.attempt == 1) std::this_thread::sleep_for(60s);
    return attempt_of(info);
  });
  reg.register_activity("Slow", [identity](const sdk::activity_info& info, const json&) {
    if (info.attempt == 1) {
      std::cout << "slow activity started" << std::endl;
      std::this_thread::sleep_for(60s);
    }
    return json{{"attempt", info.attempt}, {"worker", identity}};
  });
  reg.register_activity("OneSecond", [identity](const sdk::activity_info& info, const json& in) {
    std::cout << "one-second activity attempt " << info.attempt << " started" << std::endl;
    int ms = in.is_object() && in.contains("ms") ? in["ms"].get<int>() : 1000;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::cout << "one-second activity attempt " << info.attempt << " done" << std::endl;
    return json{{"attempt", info.attempt}, {"worker", identity}};
  });
  reg.register_activity("Progress", [](const sdk::activity_info& info, const json&) {
    if (info.attempt == 1) {
      info.heartbeat(json{{"step", 3}});
      std::this_thread::sleep_for(60s);  // stops heartbeating: the heartbeat timeout expires
    }
    return json{{"attempt", info.attempt}, {"resumed_from", info.heartbeat_details}};
  });
  reg.register_workflow("TwoSteps", two_steps);
  reg.register_workflow("SignalSteps", signal_steps);
  reg.register_activity("Charge", [](const sdk::activity_info&, const json&) {
    std::cout << "charge ran" << std::endl;
    return json("charged");
  });
  reg.register_activity("Ship", [variant](const sdk::activity_info&, const json& in) -> json {
    if (variant == 1) throw sdk::application_error("Bug", "ship: bug in variant 1", true);
    return json(in.is_string() ? "shipped to " + in.get<std::string>() : "shipped");
  });
  reg.register_activity("StepA", [](const sdk::activity_info&, const json&) { return json("A"); });
  reg.register_activity("StepB", [](const sdk::activity_info&, const json&) { return json("B"); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chronicle sample worker: retries, timeouts, heartbeats"};
  std::string address = "127.0.0.1:7233", queue = "retries", identity;
  int variant = 1;
  app.add_option("--address", address,
                 "node to connect to, host:port (or several, comma-separated, tried in turn)")->capture_default_str();
  app.add_option("--task-queue", queue, "task queue to serve")->capture_default_str();
  app.add_option("--identity", identity, "worker identity (default host:pid)");
  bool listed_only = false;
  app.add_flag("--listed-addresses-only", listed_only,
               "connect only to --address, never to the members' addresses learned from the node");
  app.add_option("--variant", variant, "workflow code version (2: Evolving changed, Ship fixed)")
    ->check(CLI::Range(1, 2));
  CLI11_PARSE(app, argc, argv);

  worker_options opts;
  opts.learn_members = !listed_only;
  if (auto bad = parse_addresses(address, &opts.host, &opts.port, &opts.addresses); !bad.empty()) {
    std::cerr << "retry-worker: --address '" << bad << "' is not host:port\n";
    return 2;
  }
  opts.task_queue = queue;
  opts.identity = identity;
  auto reg = std::make_shared<sdk::registry>();
  register_all(*reg, variant, identity);

  auto stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  configure_network(cfg);
  caf::actor_system sys{cfg};
  auto worker = spawn_worker(sys, opts, reg);
  std::cout << "retry-worker serving task queue '" << queue << "' via " << address << std::endl;

  wait_for_stop_signal(stop_signals);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  // Activities may sleep on their own threads: do not wait for them.
  std::_Exit(0);
}
