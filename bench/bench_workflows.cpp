#include "bench/bench_workflows.hpp"

#include <chrono>

namespace chronicle::bench {

namespace {

using sdk::json;

// start -> one activity -> complete: 3 workflow tasks' worth of events.
sdk::task<json> one_activity(sdk::workflow_context& ctx, json input) {
  json out = co_await ctx.activity("BenchEcho", input);
  co_return out;
}

// `n` activities in sequence, each fed the previous result.
sdk::task<json> sequential(sdk::workflow_context& ctx, json input, int n) {
  json value = std::move(input);
  for (int i = 0; i < n; ++i) {
    json next = co_await ctx.activity("BenchEcho", value);
    value = std::move(next);
  }
  co_return value;
}

sdk::task<json> ten_activities(sdk::workflow_context& ctx, json input) {
  return sequential(ctx, std::move(input), 10);
}

// A long history (~600 events): what the sticky cache saves grows with it.
sdk::task<json> hundred_activities(sdk::workflow_context& ctx, json input) {
  return sequential(ctx, std::move(input), 100);
}

// One durable 100 ms timer.
sdk::task<json> timer_100ms(sdk::workflow_context& ctx, json input) {
  co_await ctx.sleep(std::chrono::milliseconds(100));
  co_return input;
}

// Waits for the signal "go" and returns its input: start -> signal -> result round trip.
sdk::task<json> signal_roundtrip(sdk::workflow_context& ctx, json input) {
  json got = co_await ctx.wait_signal("go");
  co_return got;
}

// Waits on a one-hour durable timer: an open but idle execution (chronicle-scale).
sdk::task<json> sleep_hour(sdk::workflow_context& ctx, json input) {
  co_await ctx.sleep(std::chrono::hours(1));
  co_return input;
}

// Completes at once with its input: one workflow task (chronicle-schedule-bench's action).
sdk::task<json> noop(sdk::workflow_context&, json input) { co_return input; }

}  // namespace

const std::vector<shape>& shapes() {
  static const std::vector<shape> all = {
    {"one-activity", "BenchOneActivity", ""},
    {"ten-activities", "BenchTenActivities", ""},
    {"hundred-activities", "BenchHundredActivities", ""},
    {"timer-100ms", "BenchTimer100ms", ""},
    {"signal-roundtrip", "BenchSignalRoundtrip", ""},
  };
  return all;
}

std::optional<shape> find_shape(const std::string& name) {
  for (const auto& s : shapes())
    if (s.name == name) return s;
  return std::nullopt;
}

std::shared_ptr<const sdk::registry> make_registry() {
  auto reg = std::make_shared<sdk::registry>();
  reg->register_workflow("BenchOneActivity", one_activity);
  reg->register_workflow("BenchTenActivities", ten_activities);
  reg->register_workflow("BenchHundredActivities", hundred_activities);
  reg->register_workflow("BenchTimer100ms", timer_100ms);
  reg->register_workflow("BenchSignalRoundtrip", signal_roundtrip);
  reg->register_workflow("BenchSleepHour", sleep_hour);
  reg->register_workflow("BenchNoop", noop);
  reg->register_activity("BenchEcho", [](const sdk::activity_info&, const json& in) { return in; });
  return reg;
}

}  // namespace chronicle::bench
