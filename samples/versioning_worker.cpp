// Sample: changing workflow code while runs are in flight, and the SDK's escape hatches.
//
//   versioning-worker --address 127.0.0.1:7233 --task-queue greetings --code v1|v2|v3
//
// "Order" charges with an activity, then waits for the signal "ship". v1 calls "Charge"; v2
// calls "ChargeWithReceipt" instead, behind ctx.patched("charge-with-receipt"): runs started on
// v1 replay the old branch on v2 workers, runs started on v2 take the new one. v3 is the step
// after every v1 run has closed: deprecate_patch keeps only the new branch.
//
// "Escape" (all versions): a deterministic uuid(), a side_effect (the wall clock, recorded once)
// and wait_condition on the signal "go" with the input's timeout_ms (default 30 s).
#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <iostream>

#include "protocol/runtime.hpp"
#include "worker/sdk/errors.hpp"
#include "replay_flags.hpp"  // beside this file (also where it is installed)
#include "worker/replay_check.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using sdk::json;

namespace {

sdk::task<json> order_v1(sdk::workflow_context& ctx, json input) {
  json charged = co_await ctx.activity("Charge", input);
  co_await ctx.wait_signal("ship");
  co_return json{{"charged", charged}, {"branch", "old"}};
}

sdk::task<json> order_v2(sdk::workflow_context& ctx, json input) {
  json charged;
  const bool receipt = ctx.patched("charge-with-receipt");
  if (receipt)
    charged = co_await ctx.activity("ChargeWithReceipt", input);
  else
    charged = co_await ctx.activity("Charge", input);
  co_await ctx.wait_signal("ship");
  co_return json{{"charged", charged}, {"branch", receipt ? "new" : "old"}};
}

sdk::task<json> order_v3(sdk::workflow_context& ctx, json input) {
  ctx.deprecate_patch("charge-with-receipt");
  json charged = co_await ctx.activity("ChargeWithReceipt", input);
  co_await ctx.wait_signal("ship");
  co_return json{{"charged", charged}, {"branch", "new"}};
}

sdk::task<json> escape(sdk::workflow_context& ctx, json input) {
  const std::string id = ctx.uuid();
  json stamp = ctx.side_effect([] {
    return json(std::chrono::system_clock::now().time_since_epoch().count());
  });
  auto go = ctx.wait_signal("go");
  const auto timeout = std::chrono::milliseconds(input.value("timeout_ms", int64_t{30000}));
  bool signaled = co_await ctx.wait_condition([&go] { return go.await_ready(); }, timeout);
  co_return json{{"uuid", id}, {"stamp", stamp}, {"signaled", signaled}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Chronicle sample worker: workflow versioning (patched) and escape hatches"};
  std::string address = "127.0.0.1:7233", queue = "greetings", code = "v2";
  size_t sticky_cache = worker_options{}.sticky_cache_size;
  app.add_option("--address", address,
                 "node to connect to, host:port (or several, comma-separated, tried in turn)")->capture_default_str();
  app.add_option("--task-queue", queue, "task queue to serve")->capture_default_str();
  app.add_option("--code", code, "which version of Order to serve")
    ->check(CLI::IsMember({"v1", "v2", "v3"}))->capture_default_str();
  app.add_option("--sticky-cache", sticky_cache,
                 "workflow runs kept in the sticky cache (0: replay whole histories)")
    ->capture_default_str();
  std::string replay_type;
  replay_check_options replay;
  add_replay_check_flags(app, replay_type, replay);
  CLI11_PARSE(app, argc, argv);

  worker_options opts;
  if (auto bad = parse_addresses(address, &opts.host, &opts.port, &opts.addresses); !bad.empty()) {
    std::cerr << "versioning-worker: --address '" << bad << "' is not host:port\n";
    return 2;
  }
  opts.task_queue = queue;
  opts.sticky_cache_size = sticky_cache;

  auto reg = std::make_shared<sdk::registry>();
  reg->register_workflow("Order", code == "v1" ? order_v1 : code == "v2" ? order_v2 : order_v3);
  reg->register_workflow("Escape", escape);
  reg->register_activity("Charge", [](const sdk::activity_info&, const json& in) {
    return json("charged " + in.dump());
  });
  reg->register_activity("ChargeWithReceipt", [](const sdk::activity_info&, const json& in) {
    return json("charged with receipt " + in.dump());
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
  std::cout << "versioning-worker (" << code << ") serving task queue '" << queue << "' via "
            << address << std::endl;

  wait_for_stop_signal(stop_signals);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
  return 0;
}
