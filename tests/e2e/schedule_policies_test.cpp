// End-to-end: a schedule's catch-up window and its overlap policies on a real node with a real
// greeting worker (docs/schedules.md "Actions and policies", "Guarantees"): a node down longer
// than the window takes the action times inside it and skips the older ones; each overlap policy
// against workflows that run until signalled ("Sleepy": waits for "wake"; a cancel request
// ends it Canceled); buffer one and terminate other across kill -9 of the node; a terminate that
// fails because the workflow's node is down is sent again once it is back.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <thread>

#include "deployment.hpp"
#include "node_cluster.hpp"
#include "schedule_support.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

using schedules::workflow_id_for;

// Action times handled so far: started, skipped by the policy or waiting in the buffer.
int64_t handled(const pb::ScheduleDescription& d) {
  return d.info().action_count() + d.info().overlap_skipped() + d.info().buffered();
}

bool running_has(const pb::ScheduleDescription& d, const std::string& wid) {
  for (auto& r : d.info().running())
    if (r.workflow_id() == wid) return true;
  return false;
}

// Signals "wake" to `wid` (a Sleepy run of schedule `id`) and waits until the schedule saw it
// close.
void wake(client& c, const std::string& id, const std::string& wid) {
  auto s = c.signal("default", wid, "", "wake", sdk::to_payload("go"));
  REQUIRE_MESSAGE(s, wid << ": " << error_text(s));
  wait_schedule(c, id, [&](auto& d) { return !running_has(d, wid); }, "the woken workflow closed");
}

// Wakes the running workflows of schedule `id` until none runs (a buffered one starts when its
// turn comes); the workflow IDs in the order they were woken.
std::vector<std::string> wake_all(client& c, const std::string& id) {
  std::vector<std::string> woken;
  for (int i = 0; i < 50; ++i) {
    auto d = wait_schedule(c, id, [](auto& d) { return starts_answered(d); }, "starts answered");
    if (d.info().running_size() == 0 && d.info().buffered() == 0) return woken;
    if (d.info().running_size() == 0) {  // a buffered one is about to start
      std::this_thread::sleep_for(50ms);
      continue;
    }
    for (auto& r : d.info().running()) {
      wake(c, id, r.workflow_id());
      woken.push_back(r.workflow_id());
    }
  }
  FAIL("schedule " << id << " still has workflows running");
  return woken;
}

// The runs listed for schedule `id`, checked: each workflow ID once.
std::vector<pb::WorkflowExecutionInfo> single_runs(client& c, const std::string& id) {
  auto runs = runs_of(c, id + "-");
  std::set<std::string> ids;
  for (auto& r : runs) CHECK_MESSAGE(ids.insert(r.workflow_id()).second, r.workflow_id() << " has two runs");
  return runs;
}

int count_status(const std::vector<pb::WorkflowExecutionInfo>& runs, pb::WorkflowExecutionStatus s) {
  int n = 0;
  for (auto& r : runs) n += r.status() == s;
  return n;
}

// No two of `runs` (oldest start first) were running at once.
void one_at_a_time(const std::vector<pb::WorkflowExecutionInfo>& runs) {
  for (size_t i = 1; i < runs.size(); ++i) {
    REQUIRE_MESSAGE(runs[i - 1].close_time_ms() != 0, runs[i - 1].workflow_id() << " still runs");
    CHECK_MESSAGE(runs[i].start_time_ms() >= runs[i - 1].close_time_ms(),
                  runs[i].workflow_id() << " started before " << runs[i - 1].workflow_id() << " closed");
  }
}

// The nominal time of the first action of a description (running or recent, oldest).
int64_t first_nominal(const pb::ScheduleDescription& d) {
  int64_t first = INT64_MAX;
  for (auto& a : d.info().recent_actions()) first = std::min(first, a.nominal_time_ms());
  for (auto& a : d.info().running()) first = std::min(first, a.nominal_time_ms());
  return first;
}

}  // namespace

TEST_CASE("schedules: a node down longer than the catch-up window takes the times inside it after kill -9 - skips and counts the older ones - starts none twice") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  const int64_t window = 4000;
  auto created = c.create_schedule(every_second("window", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL, window));
  REQUIRE_MESSAGE(created, error_text(created));
  const int64_t first = (created->info().create_time_ms() / 1000 + 1) * 1000;
  wait_schedule(c, "window", [](auto& s) { return s.info().action_count() >= 2; }, "two actions");

  const int64_t killed_at = wall_ms();
  d.node.kill9();
  std::this_thread::sleep_for(8s);  // twice the window: about four times are older than it
  const int64_t restarted_at = wall_ms();
  d.start_node();
  c = d.connect();
  auto back = wait_schedule(c, "window", [](auto& s) { return s.info().missed_catchup_window() > 0; },
                            "the old times counted as missed");
  const int64_t seen_at = wall_ms();
  // One more action after the catch-up, then nothing more.
  wait_schedule(c, "window", [&](auto& s) { return s.info().action_count() > back.info().action_count(); },
                "an action after the restart");
  pause_schedule(c, "window");
  auto done = wait_schedule(c, "window", [](auto& s) { return starts_answered(s); }, "every start answered");

  // The runs by nominal time: every time from the first one on, once, but a block of skipped
  // times inside the time the node was down.
  std::map<std::string, pb::WorkflowExecutionInfo> by_id;
  for (auto& r : single_runs(c, "window")) by_id[r.workflow_id()] = r;
  CHECK(static_cast<int64_t>(by_id.size()) == done.info().action_count());
  std::vector<int64_t> taken, missed;
  for (int64_t t = first; taken.size() < by_id.size() && t < wall_ms() + 10'000; t += 1000)
    (by_id.count(workflow_id_for("window", t)) ? taken : missed).push_back(t);
  REQUIRE_MESSAGE(taken.size() == by_id.size(), "runs with IDs that are no action time of the schedule");
  INFO("killed at " << killed_at << ", restarted at " << restarted_at << ", missed " << missed.size()
                    << " times from " << (missed.empty() ? 0 : missed.front()));
  CHECK(static_cast<int64_t>(missed.size()) == done.info().missed_catchup_window());
  REQUIRE(missed.size() >= 2);
  // One block of consecutive times, all while the node was down.
  CHECK(missed.back() - missed.front() == static_cast<int64_t>(missed.size() - 1) * 1000);
  CHECK(missed.front() >= killed_at - 2000);
  // Skipped: older than the window when the restarted shard looked (before `seen_at`); taken:
  // the times after them, inside the window of a node that started at `restarted_at` or later.
  CHECK(missed.back() < seen_at - window);
  CHECK(missed.back() + 1000 >= restarted_at - window);
  int caught_up = 0;
  for (auto t : taken) {
    auto& run = by_id[workflow_id_for("window", t)];
    CHECK(run.start_time_ms() >= t);
    if (t > missed.back() && t < restarted_at) {  // due while the node was down: taken late
      ++caught_up;
      CHECK(run.start_time_ms() >= restarted_at);
    }
  }
  CHECK(caught_up >= 1);
  CHECK(caught_up <= window / 1000 + 1);
}

TEST_CASE("schedules: the six overlap policies against workflows that run until signalled") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  const std::vector<std::pair<std::string, pb::ScheduleOverlapPolicy>> cases = {
    {"ov-skip", pb::SCHEDULE_OVERLAP_POLICY_SKIP},
    {"ov-one", pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE},
    {"ov-all", pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL},
    {"ov-cancel", pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER},
    {"ov-term", pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER},
    {"ov-allow", pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL},
  };
  for (auto& [id, policy] : cases) {
    auto created = c.create_schedule(every_second(id, policy, 0, "Sleepy"));
    REQUIRE_MESSAGE(created, id << ": " << error_text(created));
  }
  // Four action times each, then paused: what each policy made of them.
  std::map<std::string, int64_t> n;
  for (auto& [id, policy] : cases) {
    wait_schedule(c, id, [](auto& s) { return handled(s) >= 4; }, "four action times");
    n[id] = handled(pause_schedule(c, id));
  }
  auto settled = [&](const std::string& id) {
    return wait_schedule(c, id, [](auto& s) {
      return starts_answered(s) && s.info().running_size() > 0
             && (s.info().buffered() == 0 || s.definition().policies().overlap()
                                                 == pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE
                 || s.definition().policies().overlap() == pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL);
    }, "the stopped workflows closed and the last one started");
  };

  {  // skip: the first runs, every later time is skipped.
    auto s = settled("ov-skip");
    CHECK(s.info().action_count() == 1);
    CHECK(s.info().overlap_skipped() == n["ov-skip"] - 1);
    CHECK(single_runs(c, "ov-skip").size() == 1);
    auto woken = wake_all(c, "ov-skip");
    CHECK(woken.size() == 1);
    auto runs = single_runs(c, "ov-skip");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
  {  // buffer one: the first runs, the next time waits, the others are skipped; the waiting one
     // starts when the first closes.
    auto s = settled("ov-one");
    CHECK(s.info().action_count() == 1);
    CHECK(s.info().buffered() == 1);
    CHECK(s.info().overlap_skipped() == n["ov-one"] - 2);
    const int64_t t1 = first_nominal(s);
    CHECK(single_runs(c, "ov-one").size() == 1);
    auto woken = wake_all(c, "ov-one");
    CHECK(woken == std::vector<std::string>{workflow_id_for("ov-one", t1),
                                            workflow_id_for("ov-one", t1 + 1000)});
    auto runs = single_runs(c, "ov-one");
    CHECK(runs.size() == 2);
    CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) == 2);
    one_at_a_time(runs);
  }
  {  // buffer all: every time waits its turn; they run one after another, in order.
    auto s = settled("ov-all");
    CHECK(s.info().action_count() == 1);
    CHECK(s.info().buffered() == n["ov-all"] - 1);
    CHECK(s.info().overlap_skipped() == 0);
    const int64_t t1 = first_nominal(s);
    auto woken = wake_all(c, "ov-all");
    std::vector<std::string> expected;
    for (int64_t k = 0; k < n["ov-all"]; ++k) expected.push_back(workflow_id_for("ov-all", t1 + k * 1000));
    CHECK(woken == expected);
    auto runs = single_runs(c, "ov-all");
    CHECK(static_cast<int64_t>(runs.size()) == n["ov-all"]);
    CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) == n["ov-all"]);
    one_at_a_time(runs);
  }
  struct stopping {
    std::string id;
    pb::WorkflowExecutionStatus stopped;
  };
  for (const auto& [id, stopped] : {stopping{"ov-cancel", pb::WORKFLOW_EXECUTION_STATUS_CANCELED},
                                    stopping{"ov-term", pb::WORKFLOW_EXECUTION_STATUS_TERMINATED}}) {
    // cancel / terminate other: each time stops the running workflow and starts once it closed;
    // the last one runs.
    const std::string schedule = id;
    CAPTURE(schedule);
    auto s = settled(id);
    CHECK(s.info().running_size() == 1);
    CHECK(s.info().action_count() >= 2);
    CHECK(s.info().action_count() + s.info().overlap_skipped() == n[id]);
    CHECK(recent_with(s, stopped) == s.info().action_count() - 1);
    auto runs = single_runs(c, id);
    CHECK(static_cast<int64_t>(runs.size()) == s.info().action_count());
    CHECK(count_status(runs, stopped) == s.info().action_count() - 1);
    CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_RUNNING) == 1);
    auto woken = wake_all(c, id);
    CHECK(woken.size() == 1);
    runs = single_runs(c, id);
    CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) == 1);
    CHECK(runs.back().status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    one_at_a_time(runs);
  }
  {  // allow all: every time starts at once; all run together.
    auto s = settled("ov-allow");
    CHECK(s.info().action_count() == n["ov-allow"]);
    CHECK(s.info().running_size() == n["ov-allow"]);
    CHECK(s.info().overlap_skipped() == 0);
    auto runs = single_runs(c, "ov-allow");
    CHECK(static_cast<int64_t>(runs.size()) == n["ov-allow"]);
    CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_RUNNING) == n["ov-allow"]);
    wake_all(c, "ov-allow");
    CHECK(count_status(single_runs(c, "ov-allow"), pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) == n["ov-allow"]);
  }
}

TEST_CASE("schedules: buffer one across kill -9 - the waiting action is kept once and starts once after the running workflow closed") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto created = c.create_schedule(every_second("crash-one", pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE, 0, "Sleepy"));
  REQUIRE_MESSAGE(created, error_text(created));
  auto before = wait_schedule(c, "crash-one", [](auto& s) {
    return s.info().buffered() == 1 && s.info().overlap_skipped() >= 1 && starts_answered(s);
  }, "one running, one waiting, one skipped");
  REQUIRE(before.info().running_size() == 1);
  const auto first = before.info().running(0);

  // Down for two seconds: the times that passed are skipped (one already waits), none started.
  d.node.kill9();
  std::this_thread::sleep_for(2s);
  d.start_node();
  c = d.connect();
  auto after = wait_schedule(c, "crash-one", [&](auto& s) { return handled(s) >= handled(before) + 2; },
                             "the times of the downtime handled");
  CHECK(after.info().action_count() == 1);
  CHECK(after.info().buffered() == 1);
  CHECK(after.info().missed_catchup_window() == 0);
  REQUIRE(after.info().running_size() == 1);
  CHECK(after.info().running(0).workflow_id() == first.workflow_id());
  CHECK(after.info().running(0).run_id() == first.run_id());
  CHECK(single_runs(c, "crash-one").size() == 1);

  // Paused (no new time is buffered), the running workflow woken and the node killed at once:
  // the close and the start of the waiting action happen around the kill.
  pause_schedule(c, "crash-one");
  auto s = c.signal("default", first.workflow_id(), "", "wake", sdk::to_payload("go"));
  REQUIRE_MESSAGE(s, error_text(s));
  d.node.kill9();
  d.start_node();
  c = d.connect();
  auto next = wait_schedule(c, "crash-one", [&](auto& s) {
    return s.info().action_count() == 2 && s.info().running_size() == 1 && starts_answered(s);
  }, "the waiting action started");
  const auto second_wid = workflow_id_for("crash-one", first.nominal_time_ms() + 1000);
  CHECK(next.info().running(0).workflow_id() == second_wid);
  CHECK(next.info().buffered() == 0);
  REQUIRE(next.info().recent_actions_size() == 1);
  CHECK(next.info().recent_actions(0).workflow_id() == first.workflow_id());
  CHECK(next.info().recent_actions(0).status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  wake(c, "crash-one", second_wid);
  auto runs = single_runs(c, "crash-one");
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].workflow_id() == first.workflow_id());
  CHECK(runs[1].workflow_id() == second_wid);
  CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) == 2);
  one_at_a_time(runs);
}

TEST_CASE("schedules: terminate other across kill -9 - the node killed just after an action decided to stop the running workflow - one run at a time and each time once") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  auto created = c.create_schedule(every_second("crash-term", pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER, 0, "Sleepy"));
  REQUIRE_MESSAGE(created, error_text(created));
  auto before = wait_schedule(c, "crash-term", [](auto& s) { return s.info().action_count() >= 2; },
                              "a workflow terminated and the next one started");
  // Killed as soon as describe shows the next action time decided: its terminate, the close
  // and the start of the waiting action are in flight.
  wait_schedule(c, "crash-term", [&](auto& s) { return handled(s) > handled(before); }, "the next time");
  d.node.kill9();
  d.start_node();
  c = d.connect();
  auto back = wait_schedule(c, "crash-term", [](auto&) { return true; }, "the schedule back");
  wait_schedule(c, "crash-term", [&](auto& s) { return handled(s) >= handled(back) + 2; },
                "two more times after the restart");
  auto paused = pause_schedule(c, "crash-term");
  auto s = wait_schedule(c, "crash-term", [](auto& s) {
    return starts_answered(s) && s.info().running_size() == 1 && s.info().buffered() == 0;
  }, "the terminated workflows closed and the last one started");
  CHECK(s.info().action_count() + s.info().overlap_skipped() == handled(paused));
  auto runs = single_runs(c, "crash-term");
  REQUIRE(static_cast<int64_t>(runs.size()) == s.info().action_count());
  CHECK(count_status(runs, pb::WORKFLOW_EXECUTION_STATUS_TERMINATED) == s.info().action_count() - 1);
  CHECK(runs.back().status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  CHECK(runs.back().workflow_id() == s.info().running(0).workflow_id());
  auto woken = wake_all(c, "crash-term");
  CHECK(woken.size() == 1);
  runs = single_runs(c, "crash-term");
  CHECK(runs.back().status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  one_at_a_time(runs);
}

TEST_CASE("schedules: terminate other sends the terminate again when the running workflow's node was down - the waiting action starts once it is back") {
  // Three nodes without replication: the schedule on node1, its running workflow on node2.
  node_cluster cluster(8);
  for (size_t i = 0; i < 3; ++i) cluster.start(i);
  auto owner = [&](const std::string& id) {
    auto& name = cluster.ring.shard_owner(shard_of("default", id, cluster.num_shards));
    return static_cast<size_t>(std::find(cluster.names.begin(), cluster.names.end(), name)
                               - cluster.names.begin());
  };
  std::string id;
  for (int k = 0; owner(id = "far-" + std::to_string(k)) != 0; ++k) {}
  // Hours of a past day whose workflows live on node2 (the first) and not on node2 (the second).
  const int64_t day = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
  const int64_t hour = 3'600'000;
  int64_t h1 = -1, h2 = -1;
  for (int64_t t = day; t < day + 24 * hour && (h1 < 0 || h2 < 0); t += hour) {
    bool on_node2 = owner(workflow_id_for(id, t)) == 1;
    if (on_node2 && h1 < 0) h1 = t;
    else if (!on_node2 && h1 >= 0 && h2 < 0) h2 = t;
  }
  REQUIRE(h1 > 0);
  REQUIRE(h2 > 0);
  auto c = cluster.connect(0);
  pb::CreateScheduleRequest req;
  req.set_namespace_("default");
  req.set_schedule_id(id);
  req.mutable_definition()->mutable_spec()->add_interval()->set_every_ms(hour);
  req.mutable_definition()->mutable_action()->set_workflow_type("Sleepy");
  req.mutable_definition()->mutable_action()->set_task_queue("greetings");
  req.mutable_definition()->mutable_policies()->set_overlap(pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER);
  req.mutable_definition()->set_paused(true);  // only the backfills act
  auto created = c.create_schedule(req);
  REQUIRE_MESSAGE(created, error_text(created));
  auto backfill = [&](int64_t t) {
    pb::PatchScheduleRequest p;
    p.set_namespace_("default");
    p.set_schedule_id(id);
    p.set_backfill_start_ms(t);
    p.set_backfill_end_ms(t);
    auto r = c.patch_schedule(p);
    REQUIRE_MESSAGE(r, error_text(r));
  };
  backfill(h1);
  const auto first = workflow_id_for(id, h1), second = workflow_id_for(id, h2);
  wait_schedule(c, id, [&](auto& s) { return running_has(s, first) && starts_answered(s); },
                "the first workflow started on node2");

  // node2 down: the second action's terminate of the first workflow fails.
  cluster.nodes[1].kill9();
  backfill(h2);
  std::this_thread::sleep_for(3s);
  auto waiting = c.describe_schedule("default", id);
  REQUIRE_MESSAGE(waiting, error_text(waiting));
  CHECK(waiting->info().buffered() == 1);
  CHECK(running_has(*waiting, first));

  // node2 back: the terminate is sent again, the second action starts.
  cluster.start(1);
  auto s = wait_schedule(c, id, [&](auto& s) {
    return running_has(s, second) && starts_answered(s);
  }, "the first workflow terminated and the second started", 60s);
  CHECK(s.info().running_size() == 1);
  CHECK(s.info().buffered() == 0);
  CHECK(s.info().action_count() == 2);
  REQUIRE(s.info().recent_actions_size() == 1);
  CHECK(s.info().recent_actions(0).workflow_id() == first);
  CHECK(s.info().recent_actions(0).status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  auto closed = c.result("default", first, "", 10s);
  REQUIRE_MESSAGE(closed, error_text(closed));
  CHECK(closed->status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
}
