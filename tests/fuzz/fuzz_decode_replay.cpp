// libFuzzer target: arbitrary bytes as the messages a node and a worker decode, as histories
// that the SDK replays, and as exported histories (JSON) that replay_history loads and replays.
// Must never crash, hang or leak; errors are fine.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/messages.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_json.hpp"
#include "worker/sdk/replay_history.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using sdk::json;

namespace {

sdk::task<json> sample(sdk::workflow_context& ctx, json input) {
  json a = co_await ctx.activity("A", input);
  co_await ctx.sleep(std::chrono::milliseconds(10));
  json s = co_await ctx.wait_signal("go");
  co_return json{{"a", a}, {"s", s}};
}

const sdk::registry& registry() {
  static sdk::registry reg = [] {
    sdk::registry r;
    r.register_workflow("W", sample);
    r.register_activity("A", [](const sdk::activity_info&, const json& in) { return in; });
    return r;
  }();
  return reg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  // Every message kind a node decodes from the wire.
  // The routing read agrees with the whole decode wherever the whole decode succeeds.
  if (auto start = decode<pb::StartWorkflowRequest>(bytes, "x")) {
    std::string ns, id;
    if (!peek_route(bytes, &ns, &id) || ns != start->namespace_() || id != start->workflow_id())
      __builtin_trap();
  }
  if (auto done = decode<pb::RespondWorkflowTaskCompleted>(bytes, "x")) {
    pb::TaskToken tok;
    if (!peek_token(bytes, &tok) || tok.SerializeAsString() != done->token().SerializeAsString())
      __builtin_trap();
  }
  (void)decode<pb::RespondActivityTaskCompleted>(bytes, "x");
  (void)decode<pb::HandoffChunk>(bytes, "x");
  (void)decode<pb::MutableState>(bytes, "x");
  // Replay: the bytes as a workflow task (with a known type so that replay really runs).
  if (auto task = decode<pb::WorkflowTask>(bytes, "WorkflowTask")) {
    task->set_workflow_type("W");
    (void)sdk::run_workflow_task(registry(), *task, "fuzz");
    // Through a sticky cache (kept across inputs, bounded): the task as it came (whole, or only
    // new events), then its history cut in two: the head whole, the rest as new events.
    static sdk::workflow_cache cache(64);
    if (cache.can_answer(*task)) (void)cache.run(registry(), *task, "fuzz");
    const int n = task->history_size();
    if (n >= 2 && task->first_event_id() <= 1) {
      const int cut = 1 + static_cast<int>(size % static_cast<size_t>(n - 1));
      pb::WorkflowTask head = *task;
      head.mutable_token()->set_run_id("split");
      head.set_started_event_id(0);
      head.mutable_history()->DeleteSubrange(cut, n - cut);
      (void)cache.run(registry(), head, "fuzz");
      pb::WorkflowTask tail = *task;
      tail.mutable_token()->set_run_id("split");
      tail.mutable_history()->DeleteSubrange(0, cut);
      tail.set_first_event_id(task->history(cut).event_id());
      if (cache.can_answer(tail)) (void)cache.run(registry(), tail, "fuzz");
    }
  }
  // A whole recorded history, as replay_history reads it (the replayer of docs/testing.md).
  if (auto task = decode<pb::WorkflowTask>(bytes, "WorkflowTask"))
    (void)sdk::replay_history(registry(), {task->history().begin(), task->history().end()});
  // The bytes as an exported history (CLI / HTTP JSON), replayed when they load.
  auto loaded = sdk::parse_history(bytes);
  if (loaded.ok() && !loaded.events.empty()) {
    auto& first = loaded.events.front();
    if (first.has_workflow_execution_started())
      first.mutable_workflow_execution_started()->mutable_workflow_type()->set_name("W");
    (void)sdk::replay_history(registry(), loaded.events);
  }
  if (auto act = decode<pb::ActivityTask>(bytes, "ActivityTask")) {
    act->set_activity_type("A");
    (void)sdk::run_activity_task(registry(), *act, "fuzz");
  }
  return 0;
}
