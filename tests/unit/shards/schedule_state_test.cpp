// The schedule state machine: overlap policies, catch-up window, pause, trigger, backfill
// (shards/schedule_state.hpp).
#include <doctest/doctest.h>

#include "shards/schedule_state.hpp"

using namespace chronicle;
using namespace chronicle::schedules;

namespace {

constexpr int64_t minute = 60'000;
constexpr int64_t t0 = int64_t{1'796'000'040'000};  // a whole minute

pb::ScheduleDefinition every_minute(pb::ScheduleOverlapPolicy overlap, int64_t catchup = 0) {
  pb::ScheduleDefinition def;
  def.mutable_spec()->add_interval()->set_every_ms(minute);
  def.mutable_action()->set_workflow_type("Report");
  def.mutable_action()->set_task_queue("q");
  def.mutable_policies()->set_overlap(overlap);
  def.mutable_policies()->set_catchup_window_ms(catchup);
  return def;
}

struct schedule {
  pb::ScheduleRecord rec;
  compiled_spec spec;
  explicit schedule(const pb::ScheduleDefinition& def, int64_t now = t0)
      : rec(created("default", "s1", def, now)), spec(compile(def)) {}
  static compiled_spec compile(const pb::ScheduleDefinition& def) {
    std::string why;
    auto c = compiled_spec::compile(def.spec(), "s1", &why);
    REQUIRE(c);
    return *c;
  }
  std::vector<std::string> running() const {
    std::vector<std::string> out;
    for (auto& r : rec.info().running()) out.push_back(r.workflow_id());
    return out;
  }
};

std::vector<std::string> ids(const effects& fx) {
  std::vector<std::string> out;
  for (auto& a : fx.start) out.push_back(a.workflow_id());
  return out;
}

}  // namespace

TEST_CASE("a scheduled workflow is named after the schedule and its nominal time") {
  CHECK(workflow_id_for("daily-report", t0) == "daily-report-" + rfc3339(t0));
  CHECK(workflow_id_for("s", 0) == "s-1970-01-01T00:00:00Z");
}

TEST_CASE("definitions are checked") {
  auto def = every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP);
  CHECK(check_definition(def).empty());
  def.mutable_action()->clear_workflow_type();
  CHECK(check_definition(def).find("workflow type") != std::string::npos);
  def = every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP, -1);
  CHECK(check_definition(def).find("catch-up") != std::string::npos);
  def = every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP);
  def.mutable_spec()->add_cron("bad");
  CHECK(check_definition(def).find("spec: cron 'bad'") == 0);
}

TEST_CASE("times before the creation are not taken and each time is taken once") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL), t0 + 30'000);
  CHECK(advance(s.rec, s.spec, t0 + 59'999).start.empty());
  auto fx = advance(s.rec, s.spec, t0 + minute);
  CHECK(ids(fx) == std::vector<std::string>{workflow_id_for("s1", t0 + minute)});
  CHECK(advance(s.rec, s.spec, t0 + minute + 10).start.empty());
  CHECK(s.rec.processed_until_ms() == t0 + minute);
  CHECK(next_wakeup(s.rec, s.spec) == t0 + 2 * minute);
  CHECK(s.rec.info().action_count() == 1);
}

TEST_CASE("skip drops an action while the previous workflow runs") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP));
  CHECK(advance(s.rec, s.spec, t0 + minute).start.size() == 1);
  CHECK(advance(s.rec, s.spec, t0 + 2 * minute).start.empty());
  CHECK(s.rec.info().overlap_skipped() == 1);
  auto first = workflow_id_for("s1", t0 + minute);
  CHECK(started(s.rec, first, "run-1"));
  auto fx = closed(s.rec, first, "", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  REQUIRE(fx);
  CHECK(fx->start.empty());
  REQUIRE(s.rec.info().recent_actions_size() == 1);
  CHECK(s.rec.info().recent_actions(0).run_id() == "run-1");
  CHECK(s.rec.info().recent_actions(0).status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(advance(s.rec, s.spec, t0 + 3 * minute).start.size() == 1);
  CHECK_FALSE(closed(s.rec, "unknown", "", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED));
}

TEST_CASE("allow all starts every action") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
  CHECK(advance(s.rec, s.spec, t0 + 3 * minute).start.size() == 3);
  CHECK(s.running().size() == 3);
}

TEST_CASE("buffer one keeps one action for after the running workflow") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE));
  CHECK(advance(s.rec, s.spec, t0 + 3 * minute).start.size() == 1);
  CHECK(s.rec.buffered_size() == 1);
  CHECK(s.rec.info().overlap_skipped() == 1);
  auto fx = closed(s.rec, workflow_id_for("s1", t0 + minute), "r", pb::WORKFLOW_EXECUTION_STATUS_FAILED);
  CHECK(ids(*fx) == std::vector<std::string>{workflow_id_for("s1", t0 + 2 * minute)});
  CHECK(s.rec.buffered_size() == 0);
}

TEST_CASE("buffer all starts the buffered actions one after another") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL));
  advance(s.rec, s.spec, t0 + 3 * minute);
  CHECK(s.rec.buffered_size() == 2);
  auto fx = closed(s.rec, workflow_id_for("s1", t0 + minute), "", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(ids(*fx) == std::vector<std::string>{workflow_id_for("s1", t0 + 2 * minute)});
  fx = closed(s.rec, workflow_id_for("s1", t0 + 2 * minute), "", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(ids(*fx) == std::vector<std::string>{workflow_id_for("s1", t0 + 3 * minute)});
  CHECK(s.rec.info().overlap_skipped() == 0);
}

TEST_CASE("cancel other and terminate other stop the running workflow then start") {
  for (auto policy : {pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER, pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER}) {
    schedule s(every_minute(policy));
    advance(s.rec, s.spec, t0 + minute);
    auto fx = advance(s.rec, s.spec, t0 + 2 * minute);
    auto first = workflow_id_for("s1", t0 + minute);
    auto& stopped = policy == pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER ? fx.cancel : fx.terminate;
    CHECK(stopped == std::vector<std::string>{first});
    CHECK(fx.start.empty());
    auto after = closed(s.rec, first, "", pb::WORKFLOW_EXECUTION_STATUS_CANCELED);
    CHECK(ids(*after) == std::vector<std::string>{workflow_id_for("s1", t0 + 2 * minute)});
  }
}

TEST_CASE("the stops a waiting cancel other or terminate other action needs are asked again until the running workflow closed") {
  for (auto policy : {pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER, pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER}) {
    schedule s(every_minute(policy));
    CHECK(pending_stops(s.rec).empty());
    advance(s.rec, s.spec, t0 + minute);
    auto first = workflow_id_for("s1", t0 + minute);
    CHECK(pending_stops(s.rec).empty());  // running, nothing waits
    auto decided = advance(s.rec, s.spec, t0 + 2 * minute);
    // The record as loaded after a crash right after this write: the stop is asked again.
    auto again = pending_stops(s.rec);
    auto& stopped = policy == pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER ? again.cancel : again.terminate;
    auto& other = policy == pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER ? again.terminate : again.cancel;
    CHECK(stopped == std::vector<std::string>{first});
    CHECK(other.empty());
    CHECK(again.start.empty());
    CHECK(again.cancel == decided.cancel);
    CHECK(again.terminate == decided.terminate);
    closed(s.rec, first, "", pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
    CHECK(pending_stops(s.rec).empty());  // the waiting action started
  }
  // A buffer one / buffer all action waits without stopping anything.
  for (auto policy : {pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL}) {
    schedule s(every_minute(policy));
    advance(s.rec, s.spec, t0 + 2 * minute);
    REQUIRE(s.rec.buffered_size() == 1);
    CHECK(pending_stops(s.rec).empty());
  }
  // A manual trigger with terminate other waits behind a running workflow of a skip schedule.
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP));
  advance(s.rec, s.spec, t0 + minute);
  trigger(s.rec, pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER, t0 + minute + 5000);
  CHECK(pending_stops(s.rec).terminate == std::vector<std::string>{workflow_id_for("s1", t0 + minute)});
}

TEST_CASE("missed times inside the catch-up window are taken and older ones counted") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, 3 * minute));
  // Down from t0 to t0 + 10 min: the times at 7, 8, 9 and 10 minutes are inside the window.
  auto fx = advance(s.rec, s.spec, t0 + 10 * minute);
  CHECK(ids(fx) == std::vector<std::string>{workflow_id_for("s1", t0 + 7 * minute),
                                            workflow_id_for("s1", t0 + 8 * minute),
                                            workflow_id_for("s1", t0 + 9 * minute),
                                            workflow_id_for("s1", t0 + 10 * minute)});
  CHECK(s.rec.info().missed_catchup_window() == 6);
}

TEST_CASE("a paused schedule lets its times pass and unpause goes on from now") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
  pause(s.rec, "maintenance", t0);
  CHECK_FALSE(next_wakeup(s.rec, s.spec));
  CHECK(advance(s.rec, s.spec, t0 + 2 * minute).start.empty());
  CHECK(s.rec.definition().note() == "maintenance");
  unpause(s.rec, "", t0 + 5 * minute + 1);
  CHECK(advance(s.rec, s.spec, t0 + 5 * minute + 2).start.empty());
  CHECK(next_wakeup(s.rec, s.spec) == t0 + 6 * minute);
  CHECK(s.rec.info().missed_catchup_window() == 0);
}

TEST_CASE("trigger starts now under the overlap policy asked") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP));
  auto fx = trigger(s.rec, pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED, t0 + 5'000);
  REQUIRE(fx.start.size() == 1);
  CHECK(fx.start[0].manual());
  CHECK(fx.start[0].workflow_id() == workflow_id_for("s1", t0 + 5'000));
  CHECK(trigger(s.rec, pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED, t0 + 6'000).start.empty());
  CHECK(trigger(s.rec, pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, t0 + 7'000).start.size() == 1);
}

TEST_CASE("backfill takes the spec's times in a past range once") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL), t0 + 60 * minute);
  auto fx = backfill(s.rec, s.spec, t0, t0 + 2 * minute, pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED,
                     t0 + 60 * minute);
  CHECK(ids(fx) == std::vector<std::string>{workflow_id_for("s1", t0), workflow_id_for("s1", t0 + minute),
                                            workflow_id_for("s1", t0 + 2 * minute)});
  // The same range again while they run: the same IDs, nothing new.
  CHECK(backfill(s.rec, s.spec, t0, t0 + 2 * minute, pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED,
                 t0 + 60 * minute).start.empty());
}

TEST_CASE("recent actions keep the last ten") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
  advance(s.rec, s.spec, t0 + 12 * minute);
  for (int i = 1; i <= 12; ++i)
    closed(s.rec, workflow_id_for("s1", t0 + i * minute), "", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  REQUIRE(s.rec.info().recent_actions_size() == recent_actions_kept);
  CHECK(s.rec.info().recent_actions(0).workflow_id() == workflow_id_for("s1", t0 + 3 * minute));
  auto d = describe(s.rec, s.spec, 3);
  CHECK(d.info().next_action_times_ms_size() == 3);
  CHECK(d.info().next_action_times_ms(0) == t0 + 13 * minute);
}

TEST_CASE("an update applies the new spec from now and keeps the pause") {
  schedule s(every_minute(pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL));
  pause(s.rec, "held", t0);
  auto def = every_minute(pb::SCHEDULE_OVERLAP_POLICY_SKIP);
  updated(s.rec, def, t0 + 3 * minute);
  CHECK(s.rec.definition().paused());
  CHECK(s.rec.definition().note() == "held");
  CHECK(s.rec.processed_until_ms() == t0 + 3 * minute);
  CHECK(s.rec.definition().policies().overlap() == pb::SCHEDULE_OVERLAP_POLICY_SKIP);
}
