// The sample worker: a CAF actor system whose worker actor serves the "Greeting", "Approval",
// "ParentGreeting", "ParentSleepy", "ParentWaits", "Sleepy", "Counter", "Account", "Notifier"
// and "FanOut" workflows and the "ComposeGreeting" and "Tracked" activities on a task queue.
//
//   greeting-worker --address 127.0.0.1:7233 --task-queue greetings
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "worker/sdk/errors.hpp"
#include "protocol/runtime.hpp"
#include "replay_flags.hpp"  // beside this file (also where it is installed)
#include "worker/replay_check.hpp"
#include "worker/worker.hpp"
#include "greeting_workflows.hpp"  // beside this file (also where it is installed)

using namespace chronicle;
using sdk::json;
using samples::approval;
using samples::greeting;

// Tagged: upserts search attributes and memo from its signals "tag" ({"attrs": {...},
// "memo": {...}}) until a "tag" signal with null input, then completes with the number of tags.
sdk::task<json> tagged(sdk::workflow_context& ctx, json) {
  int tags = 0;
  for (;;) {
    json sig = co_await ctx.wait_signal("tag");
    if (!sig.is_object()) co_return json{{"tags", tags}};
    if (sig.contains("attrs")) ctx.upsert_search_attributes(sig["attrs"]);
    if (sig.contains("memo")) ctx.upsert_memo(sig["memo"]);
    ++tags;
  }
}

// ParentGreeting: starts one child "Greeting" per name of input {"names": [...]}, all at once, then
// collects their results in order; a child that fails is reported, not rethrown.
sdk::task<json> parent_greeting(sdk::workflow_context& ctx, json input) {
  std::vector<sdk::child_workflow_awaitable> children;
  json names = input.is_object() ? input.value("names", json::array()) : json::array();
  for (auto& name : names) {
    json args = {{"name", name}};
    children.push_back(ctx.child_workflow("Greeting", args));
  }
  json results = json::array();
  for (auto& child : children) {
    try {
      results.push_back(co_await child);
    } catch (const sdk::child_workflow_failure& e) {
      results.push_back(json{{"failed", e.what()}});
    }
  }
  co_return json{{"children", results}};
}

// ParentSleepy: starts the child "Sleepy" (ID input.child_id, parent close policy input.policy:
// "terminate" (default), "abandon" or "request_cancel"), waits for the signal "finish", returns.
sdk::task<json> parent_sleepy(sdk::workflow_context& ctx, json input) {
  sdk::child_workflow_options options;
  options.workflow_id = input.value("child_id", ctx.workflow_id() + "-sleepy");
  std::string policy = input.value("policy", "terminate");
  options.parent_close_policy = policy == "abandon"          ? pb::PARENT_CLOSE_POLICY_ABANDON
                                : policy == "request_cancel" ? pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL
                                                             : pb::PARENT_CLOSE_POLICY_TERMINATE;
  // Not awaited: the child runs until it is woken or the parent close policy applies.
  [[maybe_unused]] auto child = ctx.child_workflow("Sleepy", json::object(), options);
  co_await ctx.wait_signal("finish");
  co_return json{{"child", options.workflow_id}, {"policy", policy}};
}

// ParentWaits: starts the child "Sleepy" (ID input.child_id, default <ID>-sleepy) and awaits it.
// A cancel request of the parent asks the child to cancel; the parent returns how the child
// closed: {"child": "completed" (with "result") or the close event (e.g.
// "ChildWorkflowExecutionCanceled"), "cancel_requested": the parent's}.
sdk::task<json> parent_waits(sdk::workflow_context& ctx, json input) {
  sdk::child_workflow_options options;
  options.workflow_id = input.is_object() ? input.value("child_id", ctx.workflow_id() + "-sleepy")
                                          : ctx.workflow_id() + "-sleepy";
  auto child = ctx.child_workflow("Sleepy", json::object(), options);
  json out;
  try {
    json result = co_await child;
    out = json{{"child", "completed"}, {"result", result}};
  } catch (const sdk::child_workflow_failure& e) {
    out = json{{"child", e.how()}};
  }
  out["cancel_requested"] = ctx.cancel_requested();
  co_return out;
}

// Sleepy: waits for the signal "wake" and returns its input.
sdk::task<json> sleepy(sdk::workflow_context& ctx, json) {
  json woke = co_await ctx.wait_signal("wake");
  co_return json{{"woke", woke}};
}

// Notifier: messages to other workflows. Input {"target": ID, "signal": name (default "wake"),
// "input": the signal's input, "cancel": ID}: signals `target` (when given), then asks `cancel`
// to cancel (when given), each on whatever node the ID lives. Returns {"signal": "delivered" or
// the failure, "cancel": the same}; a failure is caught (external_workflow_failure names the
// cause, e.g. ExternalWorkflowExecutionNotFound).
sdk::task<json> notifier(sdk::workflow_context& ctx, json input) {
  json out = json::object();
  if (!input.is_object()) co_return out;
  std::string target = input.value("target", ""), cancel = input.value("cancel", "");
  if (!target.empty()) {
    json signal_input = input.value("input", json());
    try {
      co_await ctx.signal_external(target, input.value("signal", "wake"), signal_input);
      out["signal"] = "delivered";
    } catch (const sdk::external_workflow_failure& e) {
      out["signal"] = e.what();
    }
  }
  if (!cancel.empty()) {
    try {
      co_await ctx.cancel_external(cancel);
      out["cancel"] = "delivered";
    } catch (const sdk::external_workflow_failure& e) {
      out["cancel"] = e.what();
    }
  }
  co_return out;
}

// Counter: input {"n": n, "upto": m}. Runs ComposeGreeting once per run and continues as new with
// n + 1 until n == m; the last run returns {"count": m, "run_id": ...}.
sdk::task<json> counter(sdk::workflow_context& ctx, json input) {
  int64_t n = input.is_object() ? input.value("n", int64_t{0}) : 0;
  int64_t upto = input.is_object() ? input.value("upto", int64_t{3}) : 3;
  json args = {{"name", "run " + std::to_string(n)}};
  co_await ctx.activity("ComposeGreeting", args);
  if (n < upto) ctx.continue_as_new(json{{"n", n + 1}, {"upto", upto}});
  co_return json{{"count", n}, {"run_id", ctx.run_id()}};
}

// Account: a balance changed by Workflow Updates until the update "close". "deposit" (input: a
// positive integer; the validator rejects anything else) returns the new balance; "withdraw"
// (validator: no more than the balance) first runs ComposeGreeting (a receipt, so that the
// handler spans workflow tasks; with --activity-delay-ms it takes that long) and returns
// {"balance", "receipt"}; "close" returns the final balance, and the workflow completes with it.
// The query "balance" reads it.
sdk::task<json> account(sdk::workflow_context& ctx, json input) {
  auto balance = std::make_shared<int64_t>(input.is_object() ? input.value("balance", int64_t{0}) : 0);
  auto closed = std::make_shared<bool>(false);
  ctx.on_query("balance", [balance](const json&) { return json(*balance); });
  ctx.on_update(
    "deposit",
    [](const json& amount) {
      if (!amount.is_number_integer() || amount.get<int64_t>() <= 0)
        throw sdk::application_error("InvalidAmount", "deposit needs a positive integer");
    },
    [balance](json amount) -> sdk::task<json> {
      *balance += amount.get<int64_t>();
      co_return json(*balance);
    });
  ctx.on_update(
    "withdraw",
    [balance](const json& amount) {
      if (!amount.is_number_integer() || amount.get<int64_t>() <= 0)
        throw sdk::application_error("InvalidAmount", "withdraw needs a positive integer");
      if (amount.get<int64_t>() > *balance)
        throw sdk::application_error("InsufficientFunds",
                                     "cannot withdraw " + amount.dump() + " from a balance of "
                                       + std::to_string(*balance));
    },
    [&ctx, balance](json amount) -> sdk::task<json> {
      *balance -= amount.get<int64_t>();
      json args = {{"name", "withdrawal of " + amount.dump()}};
      json receipt = co_await ctx.activity("ComposeGreeting", args);
      co_return json{{"balance", *balance}, {"receipt", receipt}};
    });
  ctx.on_update("close", nullptr, [balance, closed](json) -> sdk::task<json> {
    *closed = true;
    co_return json(*balance);
  });
  co_await ctx.wait_condition([closed] { return *closed; });
  co_return json{{"balance", *balance}};
}

// FanOut (flow control, docs/semantics.md): input {"n": 20, "key": "cust-a", "ms": 200}: n
// "Tracked" activities at once; returns {"max_running": the most activities of `key` any of them
// saw running in this worker process (itself included), "n"}.
sdk::task<json> fan_out(sdk::workflow_context& ctx, json input) {
  int n = input.is_object() ? input.value("n", 5) : 5;
  json args = {{"key", input.is_object() ? input.value("key", "") : ""},
               {"ms", input.is_object() ? input.value("ms", 200) : 200}};
  std::vector<sdk::activity_awaitable> parts;  // started together
  for (int i = 0; i < n; ++i) parts.push_back(ctx.activity("Tracked", args));
  int most = 0;
  for (auto& part : parts) most = std::max(most, (co_await part).get<int>());
  co_return json{{"max_running", most}, {"n", n}};
}

// Tracked: counts the Tracked activities of its input's "key" running in this process, sleeps
// "ms", returns the count it saw while it ran (itself included).
json tracked(const sdk::activity_info&, const json& in) {
  static std::mutex mu;
  static std::map<std::string, int> running;
  std::string key = in.is_object() ? in.value("key", "") : "";
  int ms = in.is_object() ? in.value("ms", 200) : 200;
  int seen = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    seen = ++running[key];
  }
  for (int waited = 0; waited < ms; waited += 10) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard<std::mutex> lock(mu);
    seen = std::max(seen, running[key]);
  }
  std::lock_guard<std::mutex> lock(mu);
  --running[key];
  return json(seen);
}

int main(int argc, char** argv) {
  CLI::App app{"Chronicle sample worker: serves the Greeting and Approval workflows"};
  std::string address = "127.0.0.1:7233", queue = "greetings", identity, build_id;
  int64_t delay_ms = 0;
  size_t sticky_cache = worker_options{}.sticky_cache_size;
  app.add_option("--address", address,
                 "node to connect to, host:port (or several, comma-separated, tried in turn)")->capture_default_str();
  app.add_option("--task-queue", queue, "task queue to serve")->capture_default_str();
  app.add_option("--identity", identity, "worker identity (default host:pid)");
  app.add_option("--build-id", build_id,
                 "the worker's build: shown by task-queue describe, recorded on the workflow tasks "
                 "it completes (workflow describe, workflow list --build-id)");
  bool listed_only = false;
  app.add_flag("--listed-addresses-only", listed_only,
               "connect only to --address, never to the members' addresses learned from the node");
  app.add_option("--activity-delay-ms", delay_ms, "extra time ComposeGreeting takes (for tests)")
    ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}));
  app.add_option("--sticky-cache", sticky_cache,
                 "workflow runs kept in the sticky cache (0: replay whole histories)")
    ->check(CLI::Range(size_t{0}, size_t{1'000'000}))->capture_default_str();
  int32_t activity_slots = worker_options{}.activity_slots;
  int32_t workflow_slots = worker_options{}.workflow_slots;
  app.add_option("--workflow-slots", workflow_slots, "workflow tasks running at once in this worker")
    ->check(CLI::Range(1, 10000))->capture_default_str();
  double per_second = 0;
  int32_t per_key = 0;
  app.add_option("--activity-slots", activity_slots, "activities running at once in this worker")
    ->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--activities-per-second", per_second,
                 "flow control: activities the task queue hands out per second (0: no limit)")
    ->check(CLI::Range(0.0, 1e6));
  app.add_option("--max-running-per-key", per_key,
                 "flow control: activities of one fairness key running at once (0: no limit)")
    ->check(CLI::Range(0, 100000));
  std::string replay_type;
  replay_check_options replay;
  add_replay_check_flags(app, replay_type, replay);
  CLI11_PARSE(app, argc, argv);

  worker_options opts;
  opts.learn_members = !listed_only;
  if (auto bad = parse_addresses(address, &opts.host, &opts.port, &opts.addresses); !bad.empty()) {
    std::cerr << "greeting-worker: --address '" << bad << "' is not host:port\n";
    return 2;
  }
  opts.task_queue = queue;
  opts.identity = identity;
  opts.build_id = build_id;
  opts.sticky_cache_size = sticky_cache;
  opts.activity_slots = activity_slots;
  opts.workflow_slots = workflow_slots;
  opts.task_queue_activities_per_second = per_second;
  opts.max_running_activities_per_key = per_key;

  auto reg = std::make_shared<sdk::registry>();
  reg->register_workflow("Greeting", greeting);
  reg->register_workflow("Approval", approval);
  reg->register_workflow("Tagged", tagged);
  reg->register_workflow("ParentGreeting", parent_greeting);
  reg->register_workflow("ParentSleepy", parent_sleepy);
  reg->register_workflow("ParentWaits", parent_waits);
  reg->register_workflow("Sleepy", sleepy);
  reg->register_workflow("Counter", counter);
  reg->register_workflow("Account", account);
  reg->register_workflow("Notifier", notifier);
  reg->register_workflow("FanOut", fan_out);
  reg->register_activity("Tracked", tracked);
  reg->register_activity("ComposeGreeting", [delay_ms](const sdk::activity_info&, const json& in) {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      throw sdk::application_error("InvalidInput", "input needs a string field 'name'", true);
    return json("Hello, " + in["name"].get<std::string>() + "!");
  });

  if (!replay_type.empty()) {  // the check before a deploy (worker/replay_check.hpp)
    caf::actor_system_config check_cfg;
    configure_network(check_cfg);
    caf::actor_system check_sys{check_cfg};
    return replay_check_main(check_sys, address, replay_type, *reg, replay, std::cout, std::cerr);
  }

  auto stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  configure_network(cfg);
  caf::actor_system sys{cfg};
  auto worker = spawn_worker(sys, opts, reg);
  std::cout << "greeting-worker serving task queue '" << queue << "' via " << address << std::endl;

  wait_for_stop_signal(stop_signals);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  return 0;
}
