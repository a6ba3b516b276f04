// Flow control rules of activity task queues (shards/flow_control.hpp).
#include <doctest/doctest.h>

#include "shards/decide.hpp"
#include "shards/flow_control.hpp"
#include "decide_support.hpp"

using namespace chronicle;

TEST_CASE("flow control: a key at its limit is held back - other keys and tasks without a key are not") {
  std::map<std::string, int32_t> running{{"cust-a", 5}, {"cust-b", 1}};
  CHECK(held_back("cust-a", running, 5));
  CHECK_FALSE(held_back("cust-b", running, 5));
  CHECK_FALSE(held_back("cust-c", running, 5));
  CHECK_FALSE(held_back("", running, 5));
  CHECK_FALSE(held_back("cust-a", running, 0));  // no limit
  CHECK_FALSE(held_back("cust-a", running, 6));
}

TEST_CASE("flow control: the rate bucket hands out a burst of one second then one token per 1/rate") {
  rate_bucket b;
  int64_t now = 1'000'000;
  b.set_rate(4, now);
  int taken = 0;
  while (b.take(now)) ++taken;
  CHECK(taken == 4);
  CHECK(b.wait_ms(now) == 250);
  CHECK_FALSE(b.take(now + 200));
  CHECK(b.take(now + 300));
  CHECK_FALSE(b.take(now + 300));
  // Idle for long: never more than one second's worth saved up.
  now += 60'000;
  taken = 0;
  while (b.take(now)) ++taken;
  CHECK(taken == 4);
}

TEST_CASE("flow control: a rate below one a second still starts with one token") {
  rate_bucket b;
  b.set_rate(0.5, 0);
  CHECK(b.take(0));
  CHECK_FALSE(b.take(1000));
  CHECK(b.wait_ms(1000) == 1000);
  CHECK(b.take(2000));
}

TEST_CASE("flow control: no rate means no limit") {
  rate_bucket b;
  for (int i = 0; i < 1000; ++i) CHECK(b.take(0));
  CHECK(b.wait_ms(0) == 0);
  b.set_rate(2, 0);
  CHECK(b.take(0));
  CHECK(b.take(0));
  CHECK_FALSE(b.take(0));
  b.set_rate(0, 0);
  CHECK(b.take(0));
}

TEST_CASE("flow control: the queue's limits are the smallest set by its workers") {
  CHECK(combine_limits({}) == flow_limits{});
  CHECK(combine_limits({{10, 0, 0}, {0, 5, 0}, {20, 3, 4}}) == flow_limits{10, 3, 4});
  CHECK(combine_limits({{0, 0, 0}, {2.5, 0, 0}}) == flow_limits{2.5, 0, 0});
  CHECK_FALSE(combine_limits({{0, 0, 0}}).any());
}

TEST_CASE("flow control: the fairness key is recorded at start - kept by continue-as-new") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("f1");
  req.set_workflow_type("FanOut");
  req.set_task_queue("q");
  req.set_fairness_key("cust-a");
  auto r = testing::decided_run::started(req);
  CHECK(r.history[0].workflow_execution_started().fairness_key() == "cust-a");
  CHECK(r.state.fairness_key() == "cust-a");
  pb::Command can;
  can.mutable_continue_as_new_workflow_execution()->mutable_input()->set_data("{}");
  auto t = r.step(input::workflow_task_completed{r.wt(), {can}, "w1", "run-2"});
  REQUIRE(t.next_run);
  CHECK(t.next_run->state.fairness_key() == "cust-a");
  CHECK(t.next_run->events[0].workflow_execution_started().fairness_key() == "cust-a");
  req.set_fairness_key(std::string(1001, 'k'));
  auto rej = decide(pb::MutableState{}, input::start_workflow{req, "run-3"}, testing::t0);
  REQUIRE(std::holds_alternative<rejection>(rej));
  CHECK(std::get<rejection>(rej).message == "the fairness key is longer than 1000 bytes");
}

namespace {

pb::SetTaskQueueConfigRequest set_request() {
  pb::SetTaskQueueConfigRequest req;
  req.set_namespace_("default");
  req.set_task_queue("q");
  req.set_identity("ops");
  return req;
}

}  // namespace

TEST_CASE("flow control: an operator's limit wins over the workers' - unset ones stay the workers'") {
  flow_limits workers{10, 5, 0};
  auto none = apply_operator(workers, nullptr);
  CHECK(none.limits == workers);
  CHECK(none.rate == limit_source::worker);
  CHECK(none.max_running == limit_source::worker);
  CHECK(none.key_rate == limit_source::none);
  pb::TaskQueueConfig op;
  op.set_max_running_per_key(20);  // higher than the workers': the operator still wins
  op.set_per_key_activities_per_second(1.5);
  auto e = apply_operator(workers, &op);
  CHECK(e.limits == flow_limits{10, 20, 1.5});
  CHECK(std::string(source_name(e.rate)) == "worker");
  CHECK(std::string(source_name(e.max_running)) == "operator");
  CHECK(std::string(source_name(e.key_rate)) == "operator");
  CHECK(std::string(source_name(apply_operator({}, nullptr).rate)).empty());
}

TEST_CASE("flow control: an operator sets and unsets limits - a bad request is refused with the reason") {
  std::string why;
  auto req = set_request();
  req.set_activities_per_second(50);
  req.set_max_running_per_key(5);
  req.set_reason("customer quota");
  auto c = configured(pb::TaskQueueConfig{}, req, 1234, &why);
  REQUIRE_MESSAGE(c, why);
  CHECK(c->activities_per_second() == 50);
  CHECK(c->max_running_per_key() == 5);
  CHECK_FALSE(c->has_per_key_activities_per_second());
  CHECK(c->reason() == "customer quota");
  CHECK(c->identity() == "ops");
  CHECK(c->update_time_ms() == 1234);
  CHECK(sets_any_limit(*c));

  // A later set changes only what it names; unset removes one.
  auto more = set_request();
  more.set_per_key_activities_per_second(2);
  more.add_unset("activities_per_second");
  auto c2 = configured(*c, more, 2000, &why);
  REQUIRE_MESSAGE(c2, why);
  CHECK_FALSE(c2->has_activities_per_second());
  CHECK(c2->max_running_per_key() == 5);
  CHECK(c2->per_key_activities_per_second() == 2);

  auto all = set_request();
  all.add_unset("all");
  auto c3 = configured(*c2, all, 3000, &why);
  REQUIRE_MESSAGE(c3, why);
  CHECK_FALSE(sets_any_limit(*c3));

  auto refused = [&](pb::SetTaskQueueConfigRequest r) {
    auto out = configured(*c, r, 0, &why);
    CHECK_FALSE(out);
    return why;
  };
  auto r = set_request();
  CHECK(refused(r).find("nothing to change") != std::string::npos);
  r.set_activities_per_second(0);
  CHECK(refused(r).find("activities_per_second must be more than 0") != std::string::npos);
  r.set_activities_per_second(-3);
  CHECK(refused(r).find("activities_per_second") != std::string::npos);
  r = set_request();
  r.set_per_key_activities_per_second(2e6);
  CHECK(refused(r).find("per_key_activities_per_second") != std::string::npos);
  r = set_request();
  r.set_max_running_per_key(0);
  CHECK(refused(r).find("max_running_per_key must be in 1..100000") != std::string::npos);
  r = set_request();
  r.add_unset("bogus");
  CHECK(refused(r).find("cannot unset 'bogus'") != std::string::npos);
  r = set_request();
  r.set_max_running_per_key(3);
  r.add_unset("max_running_per_key");
  CHECK(refused(r).find("both set and unset") != std::string::npos);
  r = set_request();
  r.set_max_running_per_key(3);
  r.set_reason(std::string(1001, 'r'));
  CHECK(refused(r).find("reason") != std::string::npos);
}

TEST_CASE("flow control: each fairness key has its own rate bucket - keys do not share tokens") {
  key_buckets kb;
  int64_t now = 10'000;
  CHECK(kb.ready("a", now));  // no rate: always
  kb.set_rate(2, now);
  int a = 0;
  while (kb.ready("a", now)) {
    kb.take("a", now);
    ++a;
  }
  CHECK(a == 2);  // a burst of one second
  CHECK(kb.wait_ms("a", now) == 500);
  CHECK(kb.ready("b", now));  // another key is not held up
  kb.take("b", now);
  CHECK(kb.ready("", now));  // no key: not limited per key
  for (int i = 0; i < 10; ++i) kb.take("", now);
  CHECK(kb.ready("", now));
  CHECK_FALSE(kb.ready("a", now + 400));
  CHECK(kb.ready("a", now + 500));
  CHECK(kb.size() == 2);
  // Idle keys' buckets fill up and are dropped.
  kb.prune(now + 200);
  CHECK(kb.size() == 2);
  kb.prune(now + 5000);
  CHECK(kb.size() == 0);
  CHECK(kb.ready("a", now + 5000));
}

TEST_CASE("flow control: a backlog is ordered by priority - arrival order within one priority") {
  std::vector<std::pair<int32_t, int>> backlog;  // (priority, arrival)
  int arrival = 0;
  auto add = [&](int32_t p) {
    auto at = priority_position(backlog.begin(), backlog.end(), p,
                                [](const std::pair<int32_t, int>& e) { return e.first; });
    backlog.insert(at, {p, ++arrival});
  };
  for (int32_t p : {3, 3, 5, 1, 3, 1, 5, 2}) add(p);
  std::vector<std::pair<int32_t, int>> want = {{1, 4}, {1, 6}, {2, 8}, {3, 1},
                                               {3, 2}, {3, 5}, {5, 3}, {5, 7}};
  CHECK(backlog == want);
  CHECK(effective_priority(0) == 3);
  CHECK(effective_priority(1) == 1);
  CHECK(effective_priority(5) == 5);
  CHECK(effective_priority(9) == 3);
  CHECK(check_priority(0).empty());
  CHECK(check_priority(5).empty());
  CHECK_FALSE(check_priority(6).empty());
  CHECK_FALSE(check_priority(-1).empty());
}

TEST_CASE("flow control: the priority is recorded at start - kept by continue-as-new - an activity may set its own") {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("p1");
  req.set_workflow_type("FanOut");
  req.set_task_queue("q");
  req.set_priority(1);
  auto r = testing::decided_run::started(req);
  CHECK(r.history[0].workflow_execution_started().priority() == 1);
  CHECK(r.state.priority() == 1);
  pb::Command act;
  auto* a = act.mutable_schedule_activity_task();
  a->set_activity_id("1");
  a->mutable_activity_type()->set_name("Tracked");
  a->set_priority(5);
  pb::Command plain = act;
  plain.mutable_schedule_activity_task()->set_activity_id("2");
  plain.mutable_schedule_activity_task()->set_priority(0);
  r.step(input::workflow_task_completed{r.wt(), {act, plain}, "w1"});
  REQUIRE(r.state.pending_activities_size() == 2);
  int own = 0, inherited = 0;
  for (auto& [id, pa] : r.state.pending_activities()) {
    if (pa.activity_id() == "1") own = pa.priority();
    if (pa.activity_id() == "2") inherited = pa.priority();
  }
  CHECK(own == 5);
  CHECK(inherited == 0);  // the run's, when dispatched
  auto r2 = testing::decided_run::started(req);
  pb::Command can;
  can.mutable_continue_as_new_workflow_execution()->mutable_input()->set_data("{}");
  auto t = r2.step(input::workflow_task_completed{r2.wt(), {can}, "w1", "run-2"});
  REQUIRE(t.next_run);
  CHECK(t.next_run->state.priority() == 1);
  CHECK(t.next_run->events[0].workflow_execution_started().priority() == 1);
  req.set_priority(6);
  auto rej = decide(pb::MutableState{}, input::start_workflow{req, "run-3"}, testing::t0);
  REQUIRE(std::holds_alternative<rejection>(rej));
  CHECK(std::get<rejection>(rej).message.find("priority must be 1") != std::string::npos);
}
