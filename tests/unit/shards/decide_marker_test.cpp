// RecordMarker / MarkerRecorded through decide and apply.
#include <doctest/doctest.h>

#include "decide_support.hpp"
#include "shards/decide.hpp"

using namespace chronicle;
using chronicle::testing::t0;

namespace {

testing::decided_run started() {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("m1");
  req.set_workflow_type("Marked");
  req.set_task_queue("q");
  return testing::decided_run::started(req);
}

pb::Command marker_cmd(const std::string& name, const std::string& key, const std::string& data) {
  pb::Command c;
  auto* m = c.mutable_record_marker();
  m->set_marker_name(name);
  (*m->mutable_details())[key].set_data(data);
  return c;
}

pb::Command timer_cmd(const std::string& id, int64_t ms) {
  pb::Command c;
  c.mutable_start_timer()->set_timer_id(id);
  c.mutable_start_timer()->set_start_to_fire_timeout_ms(ms);
  return c;
}

}  // namespace

TEST_CASE("RecordMarker records MarkerRecorded in command order with its details and failure") {
  auto r = started();
  auto marker = marker_cmd("SideEffect", "data", "42");
  marker.mutable_record_marker()->mutable_failure()->set_message("why");
  auto t = r.step(input::workflow_task_completed{r.wt(), {marker, timer_cmd("1", 1000)}, "w1"});
  REQUIRE(t.events.size() == 3);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  REQUIRE(t.events[1].event_type() == pb::EVENT_TYPE_MARKER_RECORDED);
  const auto& m = t.events[1].marker_recorded();
  CHECK(m.marker_name() == "SideEffect");
  CHECK(m.details().at("data").data() == "42");
  CHECK(m.failure().message() == "why");
  CHECK(m.workflow_task_completed_event_id() == t.events[0].event_id());
  CHECK(t.events[2].event_type() == pb::EVENT_TYPE_TIMER_STARTED);
  CHECK(t.events[1].event_id() + 1 == t.events[2].event_id());
}

TEST_CASE("a marker changes no pending work: no transfer - no timer - no new workflow task") {
  auto r = started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {marker_cmd("core_patch", "patch_id", "\"x\"")}, "w1"});
  CHECK(t.transfers_added.empty());
  CHECK(t.timers_added.empty());
  CHECK(r.state.pending_activities().empty());
  CHECK(r.state.pending_timers().empty());
  CHECK(!r.state.has_workflow_task());
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
}

TEST_CASE("RecordMarker without a marker name fails the workflow task (BadRecordMarkerAttributes)") {
  auto r = started();
  auto t = r.step(input::workflow_task_completed{r.wt(), {marker_cmd("", "k", "v")}, "w1"});
  REQUIRE(t.events.size() >= 1);
  CHECK(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  CHECK(t.events[0].workflow_task_failed().cause()
        == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES);
  CHECK(t.events[0].workflow_task_failed().failure().message().find("marker name") != std::string::npos);
}

TEST_CASE("markers before a closing command are recorded before the close") {
  auto r = started();
  pb::Command done;
  done.mutable_complete_workflow_execution();
  auto t = r.step(input::workflow_task_completed{r.wt(), {marker_cmd("SideEffect", "data", "1"), done}, "w1"});
  REQUIRE(t.events.size() == 3);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_MARKER_RECORDED);
  CHECK(t.events[2].event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  CHECK(r.state.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
}

TEST_CASE("folding apply over a history with markers gives the stored state") {
  auto r = started();
  r.step(input::workflow_task_completed{r.wt(), {marker_cmd("SideEffect", "data", "1"), timer_cmd("1", 5)}, "w1"});
  pb::MutableState folded;
  folded.set_run_id(r.state.run_id());
  for (auto& ev : r.history) apply(folded, ev);
  CHECK(folded.SerializeAsString() == r.state.SerializeAsString());
}
