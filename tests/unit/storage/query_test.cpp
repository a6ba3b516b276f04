// The list query language (storage/query.hpp): parsing, errors that point at the bad token,
// evaluation, the planner's use of indexes; and list / count with queries against a real RocksDB
// (the per-attribute index, upserts that replace values, deletes).
#include <doctest/doctest.h>

#include <variant>

#include "storage/keys.hpp"
#include "storage/query.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

constexpr uint32_t shard = 2;
constexpr auto running = pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
constexpr auto completed = pb::WORKFLOW_EXECUTION_STATUS_COMPLETED;

const search::schema schema = {{"CustomerId", pb::INDEXED_VALUE_TYPE_KEYWORD},
                               {"Amount", pb::INDEXED_VALUE_TYPE_INT},
                               {"Score", pb::INDEXED_VALUE_TYPE_DOUBLE},
                               {"Vip", pb::INDEXED_VALUE_TYPE_BOOL},
                               {"DueAt", pb::INDEXED_VALUE_TYPE_DATETIME},
                               {"Tags", pb::INDEXED_VALUE_TYPE_KEYWORD_LIST},
                               {"Notes", pb::INDEXED_VALUE_TYPE_TEXT}};

query::parsed parse_ok(const std::string& text) {
  auto r = query::parse(text, schema);
  if (auto* e = std::get_if<query::error>(&r)) FAIL(e->message());
  return std::get<query::parsed>(std::move(r));
}

query::error parse_bad(const std::string& text) {
  auto r = query::parse(text, schema);
  REQUIRE_MESSAGE(std::holds_alternative<query::error>(r), "parsed: " << text);
  return std::get<query::error>(r);
}

pb::WorkflowExecutionInfo run(const std::string& wid, int64_t start, const std::string& type,
                              pb::WorkflowExecutionStatus status) {
  pb::WorkflowExecutionInfo info;
  info.set_namespace_("default");
  info.set_workflow_id(wid);
  info.set_run_id(wid);
  info.mutable_run_id()->insert(0, "r-");
  info.set_workflow_type(type);
  info.set_task_queue("q");
  info.set_start_time_ms(start);
  info.set_status(status);
  if (status != running) info.set_close_time_ms(start + 10);
  return info;
}

void set_keyword(pb::WorkflowExecutionInfo& info, const std::string& name, const std::string& v) {
  (*info.mutable_search_attributes())[name].set_keyword(v);
}
void set_int(pb::WorkflowExecutionInfo& info, const std::string& name, int64_t v) {
  (*info.mutable_search_attributes())[name].set_int_value(v);
}

bool matches(const std::string& text, const pb::WorkflowExecutionInfo& info) {
  auto q = parse_ok(text);
  return !q.where || query::matches(*q.where, info);
}

TEST_CASE("query: the example of the issue parses and matches by every clause") {
  auto info = run("order-1", 1'800'000'000'000, "Order", running);  // 2027-01-15
  set_keyword(info, "CustomerId", "c-42");
  const std::string q = "WorkflowType = 'Order' AND Status = 'Running' AND CustomerId = 'c-42' "
                        "AND StartTime > '2026-12-01T00:00:00Z' ORDER BY StartTime DESC";
  CHECK(matches(q, info));
  set_keyword(info, "CustomerId", "c-43");
  CHECK_FALSE(matches(q, info));
  info.mutable_search_attributes()->clear();
  CHECK_FALSE(matches(q, info));  // a missing attribute matches no comparison
}

TEST_CASE("query: OR and parentheses and NOT bind as in SQL") {
  auto info = run("a", 1000, "Order", completed);
  set_int(info, "Amount", 50);
  CHECK(matches("WorkflowType = 'X' OR WorkflowType = 'Order' AND Amount = 50", info));
  CHECK_FALSE(matches("(WorkflowType = 'X' OR WorkflowType = 'Order') AND Amount = 51", info));
  CHECK(matches("NOT (Amount > 60)", info));
  CHECK_FALSE(matches("NOT Amount < 60", info));
  CHECK(matches("not Amount >= 51 and executionstatus = 'completed'", info));  // keywords, built-ins: any case
}

TEST_CASE("query: IN and BETWEEN and STARTS_WITH and IS NULL") {
  auto info = run("order-17", 1000, "Order", running);
  set_int(info, "Amount", 50);
  CHECK(matches("Amount IN (1, 50, 99)", info));
  CHECK_FALSE(matches("Amount NOT IN (1, 50)", info));
  CHECK(matches("Amount BETWEEN 50 AND 60", info));
  CHECK_FALSE(matches("Amount NOT BETWEEN 40 AND 60", info));
  CHECK(matches("WorkflowId STARTS_WITH 'order-'", info));
  CHECK_FALSE(matches("WorkflowId STARTS_WITH 'orders'", info));
  CHECK(matches("CloseTime IS NULL AND CustomerId IS NULL AND Amount IS NOT NULL", info));
  CHECK(matches("ExecutionStatus IN ('Running', 'Failed')", info));
  // SQL's three-valued logic: != does not match a run without the attribute.
  CHECK_FALSE(matches("CustomerId != 'c-1'", info));
}

TEST_CASE("query: keyword lists match on any element and text on words") {
  auto info = run("a", 1000, "Order", running);
  auto& tags = *(*info.mutable_search_attributes())["Tags"].mutable_keyword_list();
  tags.add_values("red");
  tags.add_values("blue");
  (*info.mutable_search_attributes())["Notes"].set_text("Shipped to Berlin, late");
  CHECK(matches("Tags = 'blue'", info));
  CHECK(matches("Tags IN ('green', 'red')", info));
  CHECK_FALSE(matches("Tags = 'green'", info));
  CHECK(matches("Notes = 'berlin LATE'", info));
  CHECK_FALSE(matches("Notes = 'berlin early'", info));
}

TEST_CASE("query: doubles and bools and datetimes compare by value") {
  auto info = run("a", 1000, "Order", running);
  (*info.mutable_search_attributes())["Score"].set_double_value(2.5);
  (*info.mutable_search_attributes())["Vip"].set_bool_value(true);
  (*info.mutable_search_attributes())["DueAt"].set_datetime_ms(*search::parse_time("2026-12-24T18:00:00Z"));
  CHECK(matches("Score > 2 AND Score < 3 AND Score = 2.5", info));
  CHECK(matches("Vip = true AND Vip != false", info));
  CHECK(matches("DueAt BETWEEN '2026-12-24' AND '2026-12-25'", info));
  CHECK(matches("DueAt > '2026-12-24T19:00:00+02:00'", info));
}

TEST_CASE("query: errors name the problem and point at the bad token") {
  auto e = parse_bad("WorkflowType = AND Status = 'Running'");
  CHECK(e.position == 15);
  CHECK(e.what.find("expected a value") != std::string::npos);
  CHECK(e.message().find("\n               ^") != std::string::npos);

  e = parse_bad("CustomerID = 'c-42'");
  CHECK(e.position == 0);
  CHECK(e.what.find("unknown field 'CustomerID'") != std::string::npos);
  CHECK(e.what.find("CustomerId") != std::string::npos);  // lists the registered ones

  e = parse_bad("Amount = 'ten'");
  CHECK(e.position == 9);
  CHECK(e.what.find("int") != std::string::npos);

  e = parse_bad("StartTime > 'yesterday'");
  CHECK(e.what.find("RFC 3339") != std::string::npos);

  e = parse_bad("Status = 'Runing'");
  CHECK(e.what.find("unknown status") != std::string::npos);

  e = parse_bad("(WorkflowType = 'a'");
  CHECK(e.position == 19);
  CHECK(e.what.find("')'") != std::string::npos);

  e = parse_bad("WorkflowType = 'a' ORDER BY CloseTime");
  CHECK(e.what.find("ORDER BY StartTime") != std::string::npos);
  e = parse_bad("WorkflowType = 'a' GROUP BY WorkflowType");
  CHECK(e.what.find("GROUP BY ExecutionStatus") != std::string::npos);
  e = parse_bad("WorkflowType = 'unterminated");
  CHECK(e.what.find("unterminated") != std::string::npos);
  e = parse_bad("Notes > 'x'");
  CHECK(e.what.find("text") != std::string::npos);
  e = parse_bad("WorkflowType = 'a' WorkflowId = 'b'");
  CHECK(e.position == 19);
  e = parse_bad("Amount ~ 3");
  CHECK(e.position == 7);
}

TEST_CASE("query: the planner takes indexable conjuncts only") {
  visibility_filter f;
  query::plan(parse_ok("WorkflowType = 'Order' AND ExecutionStatus = 'Running' AND CustomerId = "
                       "'c-42' AND StartTime >= '2026-12-01T00:00:00Z' AND StartTime < "
                       "'2026-12-02T00:00:00Z' AND WorkflowId STARTS_WITH 'ord'"),
              &f);
  CHECK(f.workflow_type == "Order");
  CHECK(f.status == running);
  CHECK(f.workflow_id_prefix == "ord");
  CHECK(f.start_time_from_ms == *search::parse_time("2026-12-01T00:00:00Z"));
  CHECK(f.start_time_to_ms == *search::parse_time("2026-12-02T00:00:00Z"));
  REQUIRE(f.attribute_equals.size() == 1);
  CHECK(f.attribute_equals[0].first == "CustomerId");
  CHECK(f.where != nullptr);

  visibility_filter g;  // nothing under OR, NOT or a range of an attribute is used by an index
  query::plan(parse_ok("WorkflowType = 'a' OR ExecutionStatus = 'Running' OR NOT Amount = 3"), &g);
  CHECK(g.workflow_type.empty());
  CHECK(g.attribute_equals.empty());
  visibility_filter h;
  query::plan(parse_ok("Amount > 3 AND Notes = 'x' AND Score = 1.5"), &h);
  CHECK(h.attribute_equals.empty());
}

std::unique_ptr<store> open_store(const std::string& path) {
  status st;
  auto s = store::open(path, 8, durability::os, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return s;
}

std::vector<std::string> list_ids(store& s, const std::string& text, std::string* index = nullptr,
                                  size_t page_size = 1000) {
  visibility_filter f;
  query::plan(parse_ok(text), &f);
  std::vector<std::string> out;
  std::string after;
  for (;;) {
    visibility_page page;
    auto st = s.list_visibility(shard, "default", f, after, page_size, &page);
    REQUIRE_MESSAGE(st.ok(), st.message());
    if (index) *index = page.index;
    for (auto& [pos, info] : page.items) out.push_back(info.workflow_id());
    if (!page.more) return out;
    after = page.items.back().first;
  }
}

int64_t count(store& s, const std::string& text, visibility_count* out = nullptr) {
  visibility_filter f;
  query::plan(parse_ok(text), &f);
  visibility_count c;
  auto st = s.count_visibility(shard, "default", f, &c);
  REQUIRE_MESSAGE(st.ok(), st.message());
  int64_t n = 0;
  for (auto& [status, k] : c.per_status) n += k;
  if (out) *out = c;
  return n;
}

TEST_CASE("query: list and count by a search attribute read its index newest first") {
  temp_dir dir;
  auto s = open_store(dir.path());
  write_batch b;
  for (int i = 0; i < 60; ++i) {
    std::string wid = "w";
    wid += std::to_string(100 + i);
    std::string customer = "c-";
    customer += std::to_string(i % 5);
    auto info = run(wid, 1000 + i, i % 2 ? "Order" : "Refund",
                    i % 3 ? completed : running);
    set_keyword(info, "CustomerId", customer);
    set_int(info, "Amount", i);
    b.put_visibility(shard, info);
  }
  REQUIRE(s->write(b).ok());
  std::string index;
  auto ids = list_ids(*s, "CustomerId = 'c-2'", &index, 3);
  CHECK(index == "attribute");
  REQUIRE(ids.size() == 12);
  CHECK(ids.front() == "w157");  // newest first
  CHECK(ids.back() == "w102");
  CHECK(list_ids(*s, "CustomerId = 'c-2' AND WorkflowType = 'Order'").size() == 6);
  CHECK(list_ids(*s, "Amount = 7").size() == 1);
  CHECK(list_ids(*s, "Amount >= 50 OR CustomerId = 'c-0'").size() == 10 + 12 - 2);
  CHECK(count(*s, "CustomerId = 'c-2'") == 12);
  CHECK(count(*s, "") == 60);
  visibility_count by;
  CHECK(count(*s, "ExecutionStatus = 'Running'", &by) == 20);
  CHECK(by.index == "counters");  // a status alone: the run counters
  CHECK(count(*s, "ExecutionStatus = 'Running' AND StartTime > '1970-01-01T00:00:00Z'", &by) == 20);
  CHECK(by.index == "status");
  CHECK(count(*s, "WorkflowType = 'Order' AND CustomerId = 'c-1'", &by) == 6);
}

TEST_CASE("query: an upsert moves a run between attribute values and a delete drops its entries") {
  temp_dir dir;
  auto s = open_store(dir.path());
  auto info = run("w1", 1000, "Order", running);
  set_keyword(info, "CustomerId", "c-1");
  {
    write_batch b;
    b.put_visibility(shard, info);
    REQUIRE(s->write(b).ok());
  }
  CHECK(list_ids(*s, "CustomerId = 'c-1'").size() == 1);
  auto before = info;
  set_keyword(info, "CustomerId", "c-2");
  {
    write_batch b;
    b.put_visibility(shard, info, pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, &before);
    REQUIRE(s->write(b).ok());
  }
  CHECK(list_ids(*s, "CustomerId = 'c-1'").empty());
  CHECK(list_ids(*s, "CustomerId = 'c-2'").size() == 1);
  CHECK(count(*s, "CustomerId = 'c-1'") == 0);
  visibility_count by;
  CHECK(count(*s, "CustomerId = 'c-2'", &by) == 1);
  CHECK(by.index == "counters");  // the value's run counter
  {
    write_batch b;
    b.delete_visibility(shard, info);
    REQUIRE(s->write(b).ok());
  }
  CHECK(list_ids(*s, "CustomerId = 'c-2'").empty());
  CHECK(count(*s, "") == 0);
  CHECK(count(*s, "CustomerId = 'c-2'") == 0);
}

void set_build_ids(pb::WorkflowExecutionInfo& info, std::vector<std::string> ids) {
  auto* list = (*info.mutable_search_attributes())[search::build_ids_attribute].mutable_keyword_list();
  for (auto& id : ids) list->add_values(std::move(id));
}

// Every run's workflow ID that `text` matches, newest first, checked record by record (the
// model a planned list must equal).
std::vector<std::string> model_ids(store& s, const std::string& text) {
  auto q = parse_ok(text);
  visibility_filter all;
  visibility_page page;
  REQUIRE(s.list_visibility(shard, "default", all, "", 100000, &page).ok());
  std::vector<std::string> out;
  for (auto& [pos, info] : page.items)
    if (!q.where || query::matches(*q.where, info)) out.push_back(info.workflow_id());
  return out;
}

TEST_CASE("query: an OR or IN of index ranges is read as their union - newest first - paged - each run once") {
  temp_dir dir;
  auto s = open_store(dir.path());
  write_batch b;
  for (int i = 0; i < 90; ++i) {
    auto info = run(std::string("w").append(std::to_string(100 + i)), 1000 + i, i % 3 ? "Order" : "Refund",
                    i % 4 ? completed : running);
    set_keyword(info, "CustomerId", std::string("c-").append(std::to_string(i % 10)));
    set_int(info, "Amount", i % 7);
    if (i % 5 == 0) set_build_ids(info, {"v1", "v2"});  // in both ranges of `IN ('v1', 'v2')`
    if (i % 5 == 1) set_build_ids(info, {"v2"});
    b.put_visibility(shard, info);
  }
  REQUIRE(s->write(b).ok());
  for (const std::string q :
       {"CustomerId = 'c-4' OR CustomerId = 'c-7'", "CustomerId IN ('c-1', 'c-2', 'c-3')",
        "BuildIds IN ('v1', 'v2')", "BuildIds = 'v1' OR BuildIds = 'v2'",
        "ExecutionStatus IN ('Running', 'Failed')", "WorkflowType = 'Refund' OR CustomerId = 'c-1'",
        "(CustomerId = 'c-4' OR Amount = 3) AND ExecutionStatus = 'Completed'",
        "CustomerId IN ('c-4', 'c-4', 'nobody')", "(CustomerId = 'c-1' OR (Amount = 2 OR Amount = 5))"}) {
    CAPTURE(q);
    std::string index;
    auto got = list_ids(*s, q, &index, 4);  // pages of 4: tokens across the merged ranges
    CHECK(got == model_ids(*s, q));
    CHECK(!got.empty());
    CHECK(index == "union");
    CHECK(count(*s, q) == static_cast<int64_t>(got.size()));
  }
  std::string index;
  list_ids(*s, "CustomerId = 'c-1' OR Amount > 3", &index);  // a range has no index: scans
  CHECK(index == "all");
  CHECK(list_ids(*s, "CustomerId = 'c-1' OR Amount > 3") == model_ids(*s, "CustomerId = 'c-1' OR Amount > 3"));
}

TEST_CASE("query: the per-value run counters agree with the attribute index after starts - upserts - closes - deletes") {
  temp_dir dir;
  auto s = open_store(dir.path());
  std::vector<pb::WorkflowExecutionInfo> runs;
  write_batch b;
  for (int i = 0; i < 40; ++i) {
    auto info = run(std::string("w").append(std::to_string(100 + i)), 1000 + i, "Order", running);
    set_keyword(info, "CustomerId", std::string("c-").append(std::to_string(i % 4)));
    set_int(info, "Amount", i % 7);
    if (i % 5 == 0) set_build_ids(info, {"v1", "v1", "v2"});  // a value twice counts once
    b.put_visibility(shard, info);
    runs.push_back(info);
  }
  REQUIRE(s->write(b).ok());
  write_batch changes;
  for (int i = 0; i < 10; ++i) {  // upserts: c-0 -> c-9, Amount removed from odd ones
    auto before = runs[i];
    set_keyword(runs[i], "CustomerId", "c-9");
    if (i % 2) runs[i].mutable_search_attributes()->erase("Amount");
    changes.put_visibility(shard, runs[i], pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, &before);
  }
  for (int i = 10; i < 20; ++i) {  // closes, the last two with an upsert in the same transition
    auto before = runs[i];
    runs[i].set_status(completed);
    runs[i].set_close_time_ms(9000);
    if (i >= 18) set_keyword(runs[i], "CustomerId", "c-8");
    changes.put_visibility(shard, runs[i], running, i >= 18 ? &before : nullptr);
  }
  REQUIRE(s->write(changes).ok());
  write_batch del;
  for (int i = 30; i < 35; ++i) del.delete_visibility(shard, runs[i]);
  REQUIRE(s->write(del).ok());
  for (const std::string q : {"CustomerId = 'c-0'", "CustomerId = 'c-1'", "CustomerId = 'c-8'",
                              "CustomerId = 'c-9'", "Amount = 3", "Amount = 0", "BuildIds = 'v1'",
                              "BuildIds = 'v2'", "CustomerId = 'nobody'"}) {
    CAPTURE(q);
    visibility_count fast;
    visibility_count slow;
    auto n = count(*s, q, &fast);
    CHECK(fast.index == "counters");
    CHECK(n == count(*s, q + " AND StartTime > '1970-01-01T00:00:00Z'", &slow));
    CHECK(slow.index == "attribute");
    CHECK(n == static_cast<int64_t>(list_ids(*s, q).size()));
  }
  CHECK(count(*s, "CustomerId = 'c-9'") == 10);
  CHECK(count(*s, "CustomerId = 'c-8'") == 2);
  visibility_count grouped;
  CHECK(count(*s, "CustomerId = 'c-1' GROUP BY ExecutionStatus", &grouped) == 6);  // 10, 3 moved to c-9, w133 deleted
  CHECK(grouped.index != "counters");  // per status: read from the index
}


TEST_CASE("query: BuildIds is a built-in keyword list read through its attribute index") {
  CHECK(search::is_builtin("BuildIds"));  // a namespace cannot register it
  temp_dir dir;
  auto s = open_store(dir.path());
  write_batch b;
  for (int i = 0; i < 30; ++i) {
    auto info = run(std::string("w").append(std::to_string(100 + i)), 1000 + i, "Order", i % 2 ? completed : running);
    if (i % 3 == 0) set_build_ids(info, {"v1"});
    if (i % 3 == 1) set_build_ids(info, {"v1", "v2"});
    b.put_visibility(shard, info);  // i % 3 == 2: no build ID (an unversioned worker)
  }
  REQUIRE(s->write(b).ok());
  std::string index;
  auto v2 = list_ids(*s, "BuildIds = 'v2'", &index, 4);
  CHECK(index == "attribute");
  REQUIRE(v2.size() == 10);
  CHECK(v2.front() == "w128");
  CHECK(list_ids(*s, "buildids = 'v1'").size() == 20);  // built-in names: any case
  CHECK(list_ids(*s, "BuildIds = 'v3'").empty());
  CHECK(list_ids(*s, "BuildIds IS NULL").size() == 10);
  CHECK(list_ids(*s, "BuildIds = 'v2' AND ExecutionStatus = 'Running'").size() == 5);
  CHECK(count(*s, "BuildIds = 'v1'") == 20);
  // ListWorkflowsRequest.build_id: the filter's own field, served by the same index.
  visibility_filter f;
  f.build_id = "v2";
  pb::SearchAttributeValue v;
  v.set_keyword("v2");
  f.attribute_equals.emplace_back(search::build_ids_attribute, v);
  visibility_page page;
  REQUIRE(s->list_visibility(shard, "default", f, "", 100, &page).ok());
  CHECK(page.items.size() == 10);
  CHECK(page.index == "attribute");
  visibility_filter alone;  // without the index hint the field still filters
  alone.build_id = "v2";
  visibility_page scanned;
  REQUIRE(s->list_visibility(shard, "default", alone, "", 100, &scanned).ok());
  CHECK(scanned.items.size() == 10);
}

}  // namespace
}  // namespace chronicle::storage
