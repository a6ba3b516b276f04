// Typed workflows and activities: user structs with nlohmann::json conversions.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "worker/sdk/activity_runner.hpp"
#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/replayer.hpp"

using namespace chronicle;
using namespace chronicle::sdk;

namespace shop {

struct order {
  std::string item;
  int quantity = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(order, item, quantity)

struct receipt {
  std::string text;
  int total = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(receipt, text, total)

struct not_json {  // no conversions
  int x = 0;
};

inline const activity_def<order, receipt> charge{"Charge"};

task<receipt> checkout(workflow_context& ctx, order o) {
  receipt r = co_await ctx.activity(charge, o);
  int doubled = co_await ctx.activity<int>("Double", r.total);
  co_return receipt{r.text, doubled};
}

receipt charge_fn(const activity_info&, order o) { return {"charged " + o.item, o.quantity * 10}; }

task<int> wrong_signature(workflow_context&, std::string) { co_return 1; }

}  // namespace shop

// Compile-time checks: what register_workflow / register_activity accept (their static_asserts
// use exactly these traits). Uncommenting a line marked "does not compile" gives the message.
static_assert(detail::json_value_v<shop::order>);
static_assert(detail::json_value_v<std::string>);
static_assert(detail::json_result_v<void>);
static_assert(!detail::json_value_v<shop::not_json>);
static_assert(detail::returns_v<task<shop::receipt>, decltype(shop::checkout), workflow_context&,
                                shop::order>());
static_assert(!detail::returns_v<task<shop::receipt>, decltype(shop::wrong_signature),
                                 workflow_context&, shop::order>());
static_assert(detail::returns_v<shop::receipt, decltype(shop::charge_fn), const activity_info&,
                                shop::order>());
// does not compile: "register_workflow<In, Out>: the function must be task<Out>(workflow_context&, In)"
//   registry{}.register_workflow<shop::order, shop::receipt>("X", shop::wrong_signature);
// does not compile: "register_workflow<In, Out>: In needs to_json and from_json ..."
//   registry{}.register_workflow<shop::not_json, int>("X", ...);
// does not compile (no conversion from std::string to shop::order):
//   co_await ctx.activity(shop::charge, std::string("pen"));

TEST_CASE("typed: register_workflow with In and Out types converts the input and the result") {
  registry reg;
  reg.register_workflow<shop::order, shop::receipt>("Checkout", shop::checkout);
  history_builder h("Checkout", json{{"item", "pen"}, {"quantity", 3}});
  h.new_workflow_task();
  auto answer = std::get<pb::RespondWorkflowTaskCompleted>(run_workflow_task(reg, h.workflow_task(), "w"));
  REQUIRE(answer.commands_size() == 1);
  const auto& schedule = answer.commands(0).schedule_activity_task();
  CHECK(schedule.activity_type().name() == "Charge");
  CHECK(from_payload(schedule.input()) == json{{"item", "pen"}, {"quantity", 3}});

  h.complete_workflow_task(answer);
  auto first = h.activity_scheduled_id("1");
  h.activity_started(first);
  h.activity_completed(first, json{{"text", "charged pen"}, {"total", 30}});
  h.new_workflow_task();
  answer = std::get<pb::RespondWorkflowTaskCompleted>(run_workflow_task(reg, h.workflow_task(), "w"));
  REQUIRE(answer.commands_size() == 1);
  CHECK(from_payload(answer.commands(0).schedule_activity_task().input()) == 30);

  h.complete_workflow_task(answer);
  auto second = h.activity_scheduled_id("2");
  h.activity_started(second);
  h.activity_completed(second, 60);
  h.new_workflow_task();
  answer = std::get<pb::RespondWorkflowTaskCompleted>(run_workflow_task(reg, h.workflow_task(), "w"));
  REQUIRE(answer.commands_size() == 1);
  CHECK(from_payload(answer.commands(0).complete_workflow_execution().result()) ==
        json{{"text", "charged pen"}, {"total", 60}});
}

TEST_CASE("typed: an input that does not convert fails the workflow with a PayloadError") {
  registry reg;
  reg.register_workflow<shop::order, shop::receipt>("Checkout", shop::checkout);
  history_builder h("Checkout", json{{"item", 5}});
  h.new_workflow_task();
  auto answer = std::get<pb::RespondWorkflowTaskCompleted>(run_workflow_task(reg, h.workflow_task(), "w"));
  REQUIRE(answer.commands_size() == 1);
  REQUIRE(answer.commands(0).has_fail_workflow_execution());
  CHECK(answer.commands(0).fail_workflow_execution().failure().type() == "PayloadError");
}

TEST_CASE("typed: register_activity with an activity_def converts both ways") {
  registry reg;
  reg.register_activity(shop::charge, shop::charge_fn);
  const activity_fn* fn = reg.find_activity("Charge");
  REQUIRE(fn != nullptr);
  CHECK((*fn)(activity_info{}, json{{"item", "cup"}, {"quantity", 2}}) ==
        json{{"text", "charged cup"}, {"total", 20}});
  CHECK_THROWS_AS((*fn)(activity_info{}, json("not an order")), application_error);
}
