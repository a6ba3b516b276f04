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
  CHECK(combine_limits({{10, 0}, {0, 5}, {20, 3}}) == flow_limits{10, 3});
  CHECK(combine_limits({{0, 0}, {2.5, 0}}) == flow_limits{2.5, 0});
  CHECK_FALSE(combine_limits({{0, 0}}).any());
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
