// Sample worker for activity cancellation through heartbeats and asynchronous completion (used by
// tests/e2e/activity_test.cpp). Workflows (task queue "activities" by default):
//   CancelHeartbeating  activity Beating heartbeats its step every 50 ms (heartbeat timeout 2 s:
//                       the worker sends one heartbeat per 1.6 s); on signal "cancel" the workflow
//                       cancels it (a cancellation scope), then waits for signal "finish" and
//                       returns "finished". Beating prints "activity saw cancellation: <reason>"
//                       when heartbeat() throws activity_canceled_error (ActivityTaskCanceled is
//                       recorded) and "activity heartbeats: <n>" with the heartbeat calls made.
//   Async {"start_to_close_ms": n, "attempts": k}
//                       activity CompletedElsewhere (start-to-close n ms, default 60 s; at most k
//                       attempts, default 1) prints "task token <attempt>: <token>" and returns
//                       without a result: `chronicle activity complete --task-token <token>
//                       --result JSON` (or fail / the client library / HTTP) completes it; the
//                       workflow returns the activity's result (or fails with its failure).
//   CancelType {"type": "try_cancel" | "wait_cancellation_completed" | "abandon", "activity":
//              "Beating" (default) | "Gate", "gate": path, "finish": bool}
//                       runs the activity (start-to-close 60 s; Beating: heartbeat timeout 2 s)
//                       with that cancellation type in a cancellation scope; signal "cancel"
//                       cancels the scope (the workflow's cancel request cancels it too).
//                       Returns {"await": "canceled" | "result" | "failed", "result" or
//                       "message", "cancel_requested": the workflow's}; with "finish" it first
//                       waits for signal "finish" (shielded
//                       from the workflow's cancel request), so that an abandoned activity is seen
//                       running on.
//   Scopes {"gate": path}
//                       a scope holding a 1 h timer and a shielded scope with a 200 ms timer is
//                       canceled by the code 50 ms later (the first timer is canceled, the second
//                       fires); then
//                       activity Gate runs in a shielded scope while the workflow waits for signal
//                       "never": the workflow's cancel request ends the wait, not the activity,
//                       whose result is awaited. Returns {"outer_timer", "inner_timer", "wait",
//                       "guarded", "cancel_requested"}.
//   Gate activity: waits (no heartbeats, at most 60 s) until the file input.gate exists, then
//                       returns "gate opened".
//
//   activity-worker --address 127.0.0.1:7233 [--task-queue activities] [--identity id]
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "protocol/runtime.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace std::chrono_literals;
using sdk::json;

namespace {

sdk::task<json> cancel_heartbeating(sdk::workflow_context& ctx, json input) {
  sdk::activity_options opts;
  opts.start_to_close_timeout = 60s;
  opts.heartbeat_timeout = 2s;
  std::optional<sdk::activity_awaitable> beating;
  auto scope = ctx.cancellation_scope([&] { beating.emplace(ctx.activity("Beating", input, opts)); });
  co_await ctx.wait_signal("cancel");
  scope.cancel("no longer needed");  // RequestCancelActivityTask
  try {
    co_await *beating;
  } catch (const sdk::canceled_error&) {
    // TRY_CANCEL: the workflow goes on at once; the activity hears of it at its next heartbeat.
  }
  co_await ctx.wait_signal("finish");
  co_return json("finished");
}

sdk::task<json> async(sdk::workflow_context& ctx, json input) {
  if (!input.is_object()) input = json::object();
  sdk::activity_options opts;
  opts.start_to_close_timeout = std::chrono::milliseconds(input.value("start_to_close_ms", 60'000));
  opts.retry.maximum_attempts = input.value("attempts", 1);
  opts.retry.initial_interval = 100ms;
  json r = co_await ctx.activity("CompletedElsewhere", input, opts);
  co_return r;
}

sdk::activity_cancellation_type cancellation_type_named(const std::string& name) {
  if (name == "wait_cancellation_completed")
    return sdk::activity_cancellation_type::wait_cancellation_completed;
  if (name == "abandon") return sdk::activity_cancellation_type::abandon;
  return sdk::activity_cancellation_type::try_cancel;
}

sdk::task<json> cancel_type(sdk::workflow_context& ctx, json input) {
  if (!input.is_object()) input = json::object();
  const std::string activity = input.value("activity", "Beating");
  sdk::activity_options opts;
  opts.start_to_close_timeout = 60s;
  if (activity == "Beating") opts.heartbeat_timeout = 2s;  // Gate never heartbeats
  opts.retry.maximum_attempts = 1;
  opts.cancellation_type = cancellation_type_named(input.value("type", "try_cancel"));
  std::optional<sdk::activity_awaitable> act;
  auto scope = ctx.cancellation_scope(
    [&] { act.emplace(ctx.activity(activity, input, opts)); });
  try {
    co_await ctx.wait_signal("cancel");
    scope.cancel("canceled by signal");
  } catch (const sdk::canceled_error&) {
    // The workflow's cancel request: it reached the activity's scope too.
  }
  json out;
  try {
    json result = co_await *act;
    out = json{{"await", "result"}, {"result", result}};
  } catch (const sdk::canceled_error& e) {
    out = json{{"await", "canceled"}, {"message", e.what()}};
  } catch (const sdk::activity_failure& e) {
    out = json{{"await", "failed"}, {"message", e.what()}};
  }
  out["cancel_requested"] = ctx.cancel_requested();
  if (input.value("finish", false)) {
    auto shield = ctx.non_cancellable();
    co_await ctx.wait_signal("finish");
  }
  co_return out;
}

// Resolves `t` as "fired" or "canceled".
sdk::task<std::string> timer_outcome(sdk::timer_awaitable& t) {
  try {
    co_await t;
    co_return "fired";
  } catch (const sdk::canceled_error&) {
  }
  co_return "canceled";
}

sdk::task<json> scopes(sdk::workflow_context& ctx, json input) {
  std::optional<sdk::timer_awaitable> outer_timer, inner_timer;
  auto outer = ctx.cancellation_scope([&] {
    outer_timer.emplace(ctx.sleep(1h));
    ctx.shielded_scope([&] { inner_timer.emplace(ctx.sleep(200ms)); });
  });
  co_await ctx.sleep(50ms);              // the timers are started (recorded) meanwhile
  outer.cancel("outer scope canceled");  // CancelTimer; not the shielded scope inside it
  json out;
  out["outer_timer"] = co_await timer_outcome(*outer_timer);
  out["inner_timer"] = co_await timer_outcome(*inner_timer);
  sdk::activity_options opts;
  opts.start_to_close_timeout = 60s;
  opts.retry.maximum_attempts = 1;
  std::optional<sdk::activity_awaitable> guarded;
  ctx.shielded_scope([&] { guarded.emplace(ctx.activity("Gate", input, opts)); });
  try {
    co_await ctx.wait_signal("never");
    out["wait"] = "signaled";
  } catch (const sdk::canceled_error& e) {
    out["wait"] = std::string("canceled: ") + e.what();
  }
  out["guarded"] = co_await *guarded;  // the workflow's cancel request did not reach it
  out["cancel_requested"] = ctx.cancel_requested();
  co_return out;
}

void register_all(sdk::registry& reg) {
  reg.register_workflow("CancelType", cancel_type);
  reg.register_workflow("Scopes", scopes);
  reg.register_activity("Gate", [](const sdk::activity_info&, const json& in) -> json {
    const std::string path = in.is_object() ? in.value("gate", "") : "";
    for (int i = 0; i < 3000 && !path.empty(); ++i) {  // at most a minute
      if (std::filesystem::exists(path)) return json("gate opened");
      std::this_thread::sleep_for(20ms);
    }
    throw sdk::application_error("GateClosed", "no file at '" + path + "'");
  });
  reg.register_workflow("CancelHeartbeating", cancel_heartbeating);
  reg.register_workflow("Async", async);
  reg.register_activity("Beating", [](const sdk::activity_info& info, const json&) -> json {
    int calls = 0;
    try {
      for (int step = 0; step < 1200; ++step) {  // at most a minute
        ++calls;
        info.heartbeat(json{{"step", step}});
        std::this_thread::sleep_for(50ms);
      }
    } catch (const sdk::activity_canceled_error& e) {
      std::cout << "activity saw cancellation: " << e.what() << "\nactivity heartbeats: " << calls
                << std::endl;
      throw;  // recorded as ActivityTaskCanceled
    }
    return json("never canceled");
  });
  reg.register_activity("CompletedElsewhere", [](const sdk::activity_info& info, const json&) {
    // Hand the token to whatever finishes the work (here: the log), and return without a result.
    std::cout << "task token " << info.attempt << ": " << info.task_token << std::endl;
    info.do_not_complete_on_return();
    return json(nullptr);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chronicle sample worker: activity cancellation and asynchronous completion"};
  std::string address = "127.0.0.1:7233", queue = "activities", identity;
  app.add_option("--address", address,
                 "node to connect to, host:port (or several, comma-separated, tried in turn)")
    ->capture_default_str();
  app.add_option("--task-queue", queue, "task queue to serve")->capture_default_str();
  app.add_option("--identity", identity, "worker identity (default host:pid)");
  CLI11_PARSE(app, argc, argv);

  worker_options opts;
  if (auto bad = parse_addresses(address, &opts.host, &opts.port, &opts.addresses); !bad.empty()) {
    std::cerr << "activity-worker: --address '" << bad << "' is not host:port\n";
    return 2;
  }
  opts.task_queue = queue;
  opts.identity = identity;
  auto reg = std::make_shared<sdk::registry>();
  register_all(*reg);

  auto stop_signals = block_stop_signals();
  caf::actor_system_config cfg;
  configure_network(cfg);
  caf::actor_system sys{cfg};
  auto worker = spawn_worker(sys, opts, reg);
  std::cout << "activity-worker serving task queue '" << queue << "' via " << address << std::endl;

  wait_for_stop_signal(stop_signals);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  std::_Exit(0);  // activities may sleep on their own threads: do not wait for them
}
