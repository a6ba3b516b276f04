// replay_history and the loaders of exported histories, on histories exported from real runs of
// the sample worker (made by fixtures/make_fixtures.sh: a real node, worker, CLI and HTTP API).
#include <doctest/doctest.h>

#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <fstream>
#include <string>

#include "samples/greeting_workflows.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/history_json.hpp"
#include "worker/sdk/replay_history.hpp"

using namespace chronicle;
using namespace chronicle::sdk;

namespace {

std::string fixture(const std::string& name) { return std::string(CHRONICLE_FIXTURES) + "/" + name; }

std::vector<pb::HistoryEvent> load(const std::string& name) {
  auto loaded = load_history_file(fixture(name));
  INFO(loaded.error);
  REQUIRE(loaded.ok());
  return loaded.events;
}

// The sample worker's registry (samples/greeting_worker.cpp registers the same functions).
registry sample_registry() {
  registry reg;
  reg.register_workflow("Greeting", samples::greeting);
  reg.register_workflow("Approval", samples::approval);
  return reg;
}

// Greeting as changed by a careless deploy: it sleeps before composing the greeting.
task<json> greeting_sleeps_first(workflow_context& ctx, json input) {
  co_await ctx.sleep(std::chrono::seconds(1));
  json greeting = co_await ctx.activity("ComposeGreeting", input);
  co_return json{{"greeting", greeting}};
}

// Greeting changed in a way that replays: the same commands, another result.
task<json> greeting_shouts(workflow_context& ctx, json input) {
  json greeting = co_await ctx.activity("ComposeGreeting", input);
  co_await ctx.sleep(std::chrono::seconds(1));
  co_return json{{"greeting", greeting.get<std::string>() + "!!"}};
}

// Approval without the activity after the signal: history records one the code no longer makes.
task<json> approval_without_activity(workflow_context& ctx, json) {
  json approved = co_await ctx.wait_signal("approve");
  co_return json{{"approved_by", approved}};
}

int64_t first_of(const std::vector<pb::HistoryEvent>& events, pb::EventType type) {
  for (const auto& e : events)
    if (e.event_type() == type) return e.event_id();
  return 0;
}

}  // namespace

TEST_CASE("history replay: a Greeting history exported by the CLI replays clean against the sample") {
  auto events = load("greeting_cli.json");
  CHECK(events.front().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  CHECK(events.back().event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  auto result = replay_history(sample_registry(), events);
  INFO(describe(result));
  CHECK(result.ok());
  CHECK(describe(result) == "replays clean");
}

TEST_CASE("history replay: the same run exported by the CLI and by the HTTP API loads the same") {
  auto cli = load("greeting_cli.json");
  auto http = load("greeting_http.json");
  REQUIRE(cli.size() == http.size());
  for (size_t i = 0; i < cli.size(); ++i) {
    INFO("event " << cli[i].event_id());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(cli[i], http[i]));
  }
  auto cli_run = load_history_file(fixture("greeting_cli.json")).run_id;
  CHECK(!cli_run.empty());
  CHECK(load_history_file(fixture("greeting_http.json")).run_id == cli_run);
}

TEST_CASE("history replay: an Approval history with a signal exported by the HTTP API replays clean") {
  auto events = load("approval_http.json");
  REQUIRE(first_of(events, pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) != 0);
  auto result = replay_history(sample_registry(), events);
  INFO(describe(result));
  CHECK(result.ok());
}

TEST_CASE("history replay: a changed workflow fails with the event where it diverged") {
  auto events = load("greeting_cli.json");
  registry changed;
  changed.register_workflow("Greeting", greeting_sleeps_first);
  auto result = replay_history(changed, events);
  CHECK(result.nondeterministic());
  CHECK(result.error_type == "NonDeterminismError");
  const int64_t scheduled = first_of(events, pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  CHECK(result.event_id == scheduled);
  CHECK(result.message.find("history event " + std::to_string(scheduled)) != std::string::npos);
  CHECK(result.message.find("ComposeGreeting") != std::string::npos);
  CHECK(result.message.find("StartTimer") != std::string::npos);
  CHECK(describe(result).rfind("NonDeterminismError at event " + std::to_string(scheduled) + ": ",
                               0) == 0);
}

TEST_CASE("history replay: a change that keeps the commands replays clean") {
  registry changed;
  changed.register_workflow("Greeting", greeting_shouts);
  CHECK(replay_history(changed, load("greeting_cli.json")).ok());
}

TEST_CASE("history replay: code that no longer makes a recorded command fails at that event") {
  auto events = load("approval_http.json");
  registry changed;
  changed.register_workflow("Approval", approval_without_activity);
  auto result = replay_history(changed, events);
  REQUIRE(result.nondeterministic());
  CHECK(result.event_id == first_of(events, pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED));
  CHECK(result.message.find("CompleteWorkflowExecution") != std::string::npos);
}

TEST_CASE("history replay: the history of a run still in flight replays clean") {
  auto events = load("greeting_cli.json");
  // Cut after the activity was scheduled: the next step (the activity's result) is still to come.
  const int64_t scheduled = first_of(events, pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  events.resize(static_cast<size_t>(scheduled));
  CHECK(replay_history(sample_registry(), events).ok());
  registry changed;
  changed.register_workflow("Greeting", greeting_sleeps_first);
  CHECK(replay_history(changed, events).nondeterministic());
}

TEST_CASE("history replay: commands the last workflow task made must be recorded") {
  // A hand-made history whose last task completed without recording the code's timer.
  history_builder h("Greeting", json{{"name", "Ada"}});
  h.new_workflow_task();
  h.workflow_task_completed();
  registry reg = sample_registry();
  auto result = replay_history(reg, h.events());
  REQUIRE(result.nondeterministic());
  CHECK(result.message.find("ScheduleActivityTask") != std::string::npos);
  CHECK(result.event_id == h.events().back().event_id() + 2);  // the synthetic task's start
}

TEST_CASE("history replay: histories that are not a run's give errors not crashes") {
  registry reg = sample_registry();
  auto empty = replay_history(reg, std::vector<pb::HistoryEvent>{});
  CHECK(empty.error_type == "InvalidHistory");
  auto events = load("greeting_cli.json");
  auto headless = std::vector<pb::HistoryEvent>(events.begin() + 1, events.end());
  CHECK(replay_history(reg, headless).error_type == "InvalidHistory");
  registry other;
  other.register_workflow("Approval", samples::approval);
  auto unknown = replay_history(other, events);
  CHECK(unknown.error_type == "UnknownWorkflowType");
  CHECK(unknown.message.find("Greeting") != std::string::npos);
}

TEST_CASE("history replay: exports that cannot be loaded name the problem") {
  CHECK(load_history_file(fixture("no-such-file.json")).error.find("cannot read") !=
        std::string::npos);
  CHECK(!parse_history("{not json").ok());
  CHECK(parse_history("{\"runs\": []}").error.find("not a history export") != std::string::npos);
  auto bad_field = parse_history(R"({"events": [{"eventId": "1", "eventTimeMs": "soon"}]})");
  INFO(bad_field.error);
  CHECK(bad_field.error.find("event 1 (id \"1\"): ") == 0);
  CHECK(bad_field.events.empty());
  // An event type this build does not know loads (a newer server's) and fails the replay.
  auto new_type = parse_history(R"({"events": [{"eventId": "1", "eventType": "NO_SUCH_TYPE"}]})");
  REQUIRE(new_type.ok());
  CHECK(replay_history(sample_registry(), new_type.events).error_type == "InvalidHistory");
  CHECK(parse_history(R"({"events": [7]})").error.find("not a JSON object") != std::string::npos);
}

TEST_CASE("history replay: JSON lines and bare arrays of events load like the exports") {
  auto events = load("greeting_cli.json");
  std::string lines;
  auto doc = json::parse(std::ifstream(fixture("greeting_cli.json")));
  for (const auto& e : doc["events"]) lines += e.dump() + "\n";
  auto from_lines = parse_history(lines);
  REQUIRE(from_lines.ok());
  CHECK(from_lines.events.size() == events.size());
  auto from_array = history_from_json(doc["events"]);
  REQUIRE(from_array.ok());
  CHECK(from_array.events.size() == events.size());
  CHECK(replay_history(sample_registry(), from_lines.events).ok());
}

TEST_CASE("history replay: a payload that is not JSON survives the export as protobuf prints it") {
  auto loaded = parse_history(R"({"events": [{"event_id": 1,
      "event_type": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
      "workflow_execution_started": {"workflow_type": {"name": "Greeting"},
        "input": {"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "AAEC"}}}]})");
  REQUIRE(loaded.ok());
  const auto& input = loaded.events[0].workflow_execution_started().input();
  CHECK(input.data() == std::string("\x00\x01\x02", 3));
  CHECK(input.metadata().at("encoding") == "binary/plain");
}
