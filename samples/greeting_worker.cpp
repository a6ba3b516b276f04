// The sample worker: a CAF actor system whose worker actor serves the "Greeting" and "Approval"
// workflows and the "ComposeGreeting" activity on a task queue.
//
//   greeting-worker --address 127.0.0.1:7233 --task-queue greetings
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "worker/sdk/errors.hpp"
#include "protocol/runtime.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using sdk::json;

// Greeting: compose a greeting with an activity, sleep on a durable timer, return it.
sdk::task<json> greeting(sdk::workflow_context& ctx, json input) {
  json greeting = co_await ctx.activity("ComposeGreeting", input);
  co_await ctx.sleep(std::chrono::seconds(1));
  co_return json{{"greeting", greeting}, {"workflow_id", ctx.workflow_id()}};
}

// Approval: waits for the signal "approve" ({"by": name}), counting the "ping" signals received,
// then composes a greeting for the approver with an activity and returns. Canceled while it waits:
// with input {"cleanup": true} it runs ComposeGreeting for "cleanup" (shielded from the
// cancellation) and completes with {"canceled": true, ...}; otherwise it ends Canceled.
sdk::task<json> approval(sdk::workflow_context& ctx, json input) {
  bool cleanup = input.is_object() && input.value("cleanup", false);
  // The query "status" answers from replayed state: where the workflow is, who approved.
  auto status = std::make_shared<json>(json{{"stage", "waiting for approval"}});
  ctx.on_query("status", [status](const json&) { return *status; });
  json approved;
  bool canceled = false;
  try {
    approved = co_await ctx.wait_signal("approve");
  } catch (const sdk::canceled_error&) {
    if (!cleanup) throw;
    canceled = true;  // no co_await inside a handler: clean up below
  }
  if (canceled) {
    auto shield = ctx.non_cancellable();
    json args = {{"name", "cleanup"}};
    json undone = co_await ctx.activity("ComposeGreeting", args);
    co_return json{{"canceled", true}, {"cleanup", undone}};
  }
  json pings = json::array();
  while (auto ping = ctx.poll_signal("ping")) pings.push_back(*ping);
  std::string by = approved.is_object() ? approved.value("by", "someone") : "someone";
  *status = json{{"stage", "approved"}, {"by", by}};
  json args = {{"name", by}};
  json greeting = co_await ctx.activity("ComposeGreeting", args);
  while (auto ping = ctx.poll_signal("ping")) pings.push_back(*ping);
  co_return json{{"approved_by", by}, {"greeting", greeting}, {"pings", pings.size()},
                 {"ping_inputs", pings}};
}

int main(int argc, char** argv) {
  CLI::App app{"Chronicle sample worker: serves the Greeting and Approval workflows"};
  std::string address = "127.0.0.1:7233", queue = "greetings", identity;
  int64_t delay_ms = 0;
  app.add_option("--address", address, "node to connect to, host:port")->capture_default_str();
  app.add_option("--task-queue", queue, "task queue to serve")->capture_default_str();
  app.add_option("--identity", identity, "worker identity (default host:pid)");
  app.add_option("--activity-delay-ms", delay_ms, "extra time ComposeGreeting takes (for tests)")
    ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}));
  CLI11_PARSE(app, argc, argv);

  worker_options opts;
  if (!parse_address(address, &opts.host, &opts.port)) {
    std::cerr << "greeting-worker: --address '" << address << "' is not host:port\n";
    return 2;
  }
  opts.task_queue = queue;
  opts.identity = identity;

  auto reg = std::make_shared<sdk::registry>();
  reg->register_workflow("Greeting", greeting);
  reg->register_workflow("Approval", approval);
  reg->register_activity("ComposeGreeting", [delay_ms](const sdk::activity_info&, const json& in) {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      throw sdk::application_error("InvalidInput", "input needs a string field 'name'", true);
    return json("Hello, " + in["name"].get<std::string>() + "!");
  });

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
