// UpsertWorkflowSearchAttributes / ModifyWorkflowProperties through decide and apply; search
// attributes and memo of a start and of a continue-as-new.
#include <doctest/doctest.h>

#include "decide_support.hpp"
#include "shards/decide.hpp"

using namespace chronicle;

namespace {

const search::schema schema = {{"CustomerId", pb::INDEXED_VALUE_TYPE_KEYWORD},
                               {"Amount", pb::INDEXED_VALUE_TYPE_INT}};

pb::Payload json(const std::string& text) {
  pb::Payload p;
  p.set_data(text);
  return p;
}

testing::decided_run started() {
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("s1");
  req.set_workflow_type("Order");
  req.set_task_queue("q");
  (*req.mutable_search_attributes()->mutable_indexed_fields())["CustomerId"] = json("\"c-1\"");
  (*req.mutable_memo()->mutable_fields())["note"] = json("\"first\"");
  return testing::decided_run::started(req);
}

pb::Command upsert(const std::string& name, const std::string& value) {
  pb::Command c;
  (*c.mutable_upsert_workflow_search_attributes()
      ->mutable_search_attributes()
      ->mutable_indexed_fields())[name] = json(value);
  return c;
}

input::workflow_task_completed completed(const testing::decided_run& r,
                                         std::vector<pb::Command> commands) {
  input::workflow_task_completed in{r.wt(), std::move(commands), "w1"};
  in.search_schema = &schema;
  return in;
}

}  // namespace

TEST_CASE("the start records search attributes and memo in WorkflowExecutionStarted and the state") {
  auto r = started();
  const auto& a = r.history.front().workflow_execution_started();
  CHECK(a.search_attributes().indexed_fields().at("CustomerId").data() == "\"c-1\"");
  CHECK(a.memo().fields().at("note").data() == "\"first\"");
  CHECK(r.state.search_attributes().indexed_fields().at("CustomerId").data() == "\"c-1\"");
  CHECK(r.state.memo().fields().at("note").data() == "\"first\"");
}

TEST_CASE("UpsertWorkflowSearchAttributes records its event and merges into the state") {
  auto r = started();
  auto t = r.step(completed(r, {upsert("CustomerId", "\"c-2\""), upsert("Amount", "42")}));
  REQUIRE(t.events.size() == 3);
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
  CHECK(t.events[1].upsert_workflow_search_attributes().workflow_task_completed_event_id() ==
        t.events[0].event_id());
  CHECK(r.state.search_attributes().indexed_fields().at("CustomerId").data() == "\"c-2\"");
  CHECK(r.state.search_attributes().indexed_fields().at("Amount").data() == "42");
  CHECK_FALSE(r.state.has_workflow_task());  // nothing new for the code: no workflow task

  r.step(input::signal_workflow{"go", {}, "client", ""});
  r.take_task();
  r.step(completed(r, {upsert("Amount", "null")}));  // null removes
  CHECK(r.state.search_attributes().indexed_fields().count("Amount") == 0);

  // Folding apply over the history gives the same attributes.
  pb::MutableState folded;
  for (const auto& ev : r.history) apply(folded, ev);
  CHECK(folded.search_attributes().indexed_fields().size() == 1);
  CHECK(folded.search_attributes().indexed_fields().at("CustomerId").data() == "\"c-2\"");
}

TEST_CASE("an upsert of an unknown attribute or a wrong type fails the workflow task (BadSearchAttributes)") {
  auto r = started();
  auto t = r.step(completed(r, {upsert("Amount", "\"ten\"")}));
  REQUIRE(t.events.size() >= 1);
  REQUIRE(t.events[0].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
  const auto& f = t.events[0].workflow_task_failed();
  CHECK(f.cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES);
  CHECK(f.failure().message().find("'Amount' must be an integer") != std::string::npos);
  CHECK(r.state.search_attributes().indexed_fields().count("Amount") == 0);

  r.take_task();  // the retry is transient: its failure writes no event, the state keeps it
  t = r.step(completed(r, {upsert("Nope", "1")}));
  CHECK(t.events.empty());
  CHECK(r.state.last_workflow_task_failure().message().find("'Nope' is not registered") !=
        std::string::npos);
}

TEST_CASE("ModifyWorkflowProperties upserts the memo") {
  auto r = started();
  pb::Command c;
  auto& fields = *c.mutable_modify_workflow_properties()->mutable_upserted_memo()->mutable_fields();
  fields["note"] = json("null");
  fields["other"] = json("{\"k\": 1}");
  auto t = r.step(completed(r, {c}));
  CHECK(t.events[1].event_type() == pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED);
  CHECK(r.state.memo().fields().count("note") == 0);
  CHECK(r.state.memo().fields().at("other").data() == "{\"k\": 1}");
}

TEST_CASE("continue-as-new keeps the search attributes and memo") {
  auto r = started();
  pb::Command can;
  can.mutable_continue_as_new_workflow_execution();
  auto in = completed(r, {upsert("Amount", "7"), can});
  in.new_run_id = "run-2";
  auto t = r.step(in);
  REQUIRE(t.next_run);
  const auto& next = t.next_run->state;
  CHECK(next.search_attributes().indexed_fields().at("Amount").data() == "7");
  CHECK(next.search_attributes().indexed_fields().at("CustomerId").data() == "\"c-1\"");
  CHECK(next.memo().fields().at("note").data() == "\"first\"");
}
