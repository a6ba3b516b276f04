// The sample worker's Greeting and Approval workflows, in a header: the SDK's unit tests replay
// histories exported from real runs of them (tests/unit/sdk/fixtures/) against this same code.
#pragma once

#include <memory>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/workflow_context.hpp"

namespace chronicle::samples {

using sdk::json;

// Greeting: compose a greeting with an activity, sleep on a durable timer, return it.
inline sdk::task<json> greeting(sdk::workflow_context& ctx, json input) {
  json greeting = co_await ctx.activity("ComposeGreeting", input);
  co_await ctx.sleep(std::chrono::seconds(1));
  co_return json{{"greeting", greeting}, {"workflow_id", ctx.workflow_id()}};
}

// Approval: waits for the signal "approve" ({"by": name}), counting the "ping" signals received,
// then composes a greeting for the approver with an activity and returns. Canceled while it waits:
// with input {"cleanup": true} it runs ComposeGreeting for "cleanup" (shielded from the
// cancellation) and completes with {"canceled": true, ...}; otherwise it ends Canceled.
inline sdk::task<json> approval(sdk::workflow_context& ctx, json input) {
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

}  // namespace chronicle::samples
