// Build IDs on workflow tasks: recorded on WorkflowTaskCompleted, kept in the run's state (distinct,
// capped, the most recent one apart), rebuilt by folding apply over the history.
#include <doctest/doctest.h>

#include "decide_support.hpp"
#include "shards/decide.hpp"

using namespace chronicle;
using chronicle::testing::decided_run;

namespace {

decided_run started() {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("b1");
  req.set_workflow_type("Versioned");
  req.set_task_queue("q");
  return decided_run::started(req);
}

pb::Command timer_cmd(const std::string& id) {
  pb::Command c;
  c.mutable_start_timer()->set_timer_id(id);
  c.mutable_start_timer()->set_start_to_fire_timeout_ms(1000);
  return c;
}

// Completes the started workflow task as a worker of `build`, then fires its timer and starts the
// next task (so that the run always has a started task to complete).
transition complete_as(decided_run& r, const std::string& build, int n) {
  input::workflow_task_completed in{r.wt(), {timer_cmd(std::to_string(n))}, "w1"};
  in.build_id = build;
  auto t = r.step(in);
  r.step(input::timer_fired{t.timers_added.at(0).started_event_id()});
  r.take_task();
  return t;
}

std::vector<std::string> ids(const pb::MutableState& s) {
  return {s.build_ids().begin(), s.build_ids().end()};
}

}  // namespace

TEST_CASE("a completed workflow task records the build ID of its worker") {
  auto r = started();
  auto t = complete_as(r, "v1", 1);
  REQUIRE(t.events.at(0).event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  CHECK(t.events[0].workflow_task_completed().build_id() == "v1");
  CHECK(r.state.most_recent_build_id() == "v1");
  CHECK(ids(r.state) == std::vector<std::string>{"v1"});
}

TEST_CASE("build IDs are kept once each in the order first seen and the most recent apart") {
  auto r = started();
  complete_as(r, "v1", 1);
  complete_as(r, "v2", 2);
  complete_as(r, "v1", 3);
  CHECK(ids(r.state) == std::vector<std::string>{"v1", "v2"});
  CHECK(r.state.most_recent_build_id() == "v1");
  complete_as(r, "", 4);  // a worker without a build ID: the list stays, the most recent is none
  CHECK(ids(r.state) == std::vector<std::string>{"v1", "v2"});
  CHECK(r.state.most_recent_build_id().empty());
}

TEST_CASE("a worker without build ID records none") {
  auto r = started();
  auto t = complete_as(r, "", 1);
  CHECK(t.events.at(0).workflow_task_completed().build_id().empty());
  CHECK(r.state.build_ids().empty());
  CHECK(r.state.most_recent_build_id().empty());
}

TEST_CASE("the build ID list keeps the newest ones when it is full") {
  auto r = started();
  for (int i = 0; i <= max_build_ids; ++i) complete_as(r, std::string("b").append(std::to_string(i)), i);
  REQUIRE(r.state.build_ids_size() == max_build_ids);
  CHECK(r.state.build_ids(0) == "b1");  // b0, the oldest, went
  CHECK(r.state.build_ids(max_build_ids - 1) == std::string("b").append(std::to_string(max_build_ids)));
}

TEST_CASE("build_ids_changed tells a new build ID from a known one") {
  auto r = started();
  complete_as(r, "v1", 1);
  auto before = r.state;
  complete_as(r, "v1", 2);
  CHECK_FALSE(build_ids_changed(before, r.state));
  complete_as(r, "v2", 3);
  CHECK(build_ids_changed(before, r.state));
}

TEST_CASE("folding apply over a history with build IDs gives the stored build IDs") {
  auto r = started();
  complete_as(r, "v1", 1);
  complete_as(r, "v2", 2);
  pb::MutableState folded;
  for (const auto& ev : r.history) apply(folded, ev);
  CHECK(ids(folded) == ids(r.state));
  CHECK(folded.most_recent_build_id() == "v2");
}
