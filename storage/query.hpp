// The list query language (Temporal's style): parsed into an expression tree, checked against the
// built-in fields and the namespace's search attribute schema, evaluated against visibility
// records. Pure: no RocksDB. The planner that picks an index is in storage/visibility.cpp
// (store::list_visibility, plan()). The language: docs/semantics.md "List queries".
//
//   query     := [ or_expr ] [ ORDER BY StartTime [DESC] ] [ GROUP BY ExecutionStatus ]
//   or_expr   := and_expr { OR and_expr }
//   and_expr  := not_expr { AND not_expr }
//   not_expr  := NOT not_expr | '(' or_expr ')' | predicate
//   predicate := field ( ('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=') value
//                      | [NOT] IN '(' value { ',' value } ')' | [NOT] BETWEEN value AND value
//                      | STARTS_WITH string | IS [NOT] NULL )
//   value     := 'string' | "string" | number | true | false
//   field     := a built-in (WorkflowId, RunId, WorkflowType, ExecutionStatus or Status,
//                StartTime, CloseTime, TaskQueue, HistoryLength, ParentWorkflowId, ParentRunId,
//                BuildIds: the build IDs that completed the run's workflow tasks, a keyword list;
//                Paused: true while a running run is paused, absent otherwise)
//                or a registered search attribute; `backquoted` for any name.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "protocol/codec.hpp"
#include "protocol/search_attributes.hpp"
#include "storage/store.hpp"

namespace chronicle::storage::query {

enum class field : uint8_t { workflow_id, run_id, workflow_type, status, start_time, close_time,
                             task_queue, history_length, parent_workflow_id, parent_run_id, custom };
enum class op : uint8_t { eq, ne, lt, le, gt, ge, in, not_in, between, not_between, starts_with,
                          is_null, is_not_null };

// A literal, converted to the field's type when parsed (status: its enum number as int).
using value = std::variant<std::string, int64_t, double, bool>;

struct predicate {
  field f = field::custom;
  std::string name;                  // as the schema / the built-in spells it
  pb::IndexedValueType type = pb::INDEXED_VALUE_TYPE_KEYWORD;  // built-ins: their type
  op o = op::eq;
  std::vector<value> values;         // 1, 2 (BETWEEN) or more (IN); none for IS NULL
};

struct expr {
  enum class kind : uint8_t { all_of, any_of, negation, test } k = kind::test;
  std::vector<std::unique_ptr<expr>> children;  // all_of / any_of: 2+, negation: 1
  predicate p;                                  // test
};

struct parsed {
  std::shared_ptr<const expr> where;  // null: no filter
  bool group_by_status = false;       // GROUP BY ExecutionStatus
};

// A query's failure: where (0-based byte offset in the text) and what, plus the text with a caret
// under the bad token (message() joins them).
struct error {
  size_t position = 0;
  std::string what;
  std::string excerpt;
  [[nodiscard]] std::string message() const;
};

// Parses and checks `text` ("" parses to no filter). Returns the query or the first error.
std::variant<parsed, error> parse(std::string_view text, const search::schema& schema);

// Whether `info` satisfies `e`. A missing attribute (or CloseTime of a running run) satisfies only
// IS NULL, != and NOT IN / NOT BETWEEN do not match it either (SQL's three-valued logic).
bool matches(const expr& e, const pb::WorkflowExecutionInfo& info);

// The top-level conjuncts of `e` (e itself when it is not an AND).
std::vector<const expr*> conjuncts(const expr& e);

// Whether `e` is `ExecutionStatus = s`, `WorkflowType = t` or the AND of one of each: what
// plan() puts into the filter's status and workflow_type is then the whole query (a count can
// be read from the run counters).
bool decided_by_status_and_type(const expr& e);
// Whether `e` is one test of field `f` with operator `o` and one value (e.g. `Attr = value`).
bool is_single_test(const expr& e, field f, op o);

// Adds the query to `filter` (the planner's input): the query itself as `where`, and what its
// top-level conjuncts say that an index can use: ExecutionStatus = s, WorkflowType = t (unless the
// filter has its own), WorkflowId = x or STARTS_WITH x (an ID prefix), StartTime and CloseTime
// bounds (=, <, <=, >, >=, BETWEEN; intersected with the filter's), and `Attr = value` on an
// indexed search attribute (keyword, keyword list, int, bool, datetime), and a top-level OR or IN
// whose alternatives are each such an equality (filter.unions: read as the union of their ranges).
// Anything else (NOT, !=, ranges of search attributes, text, double, TaskQueue, ...) is checked
// record by record on the index chosen for the rest: it scans.
// An OR / IN of index ranges (filter.unions) is read as a union of at most this many ranges
// (more alternatives: checked record by record, as before).
inline constexpr size_t max_union_terms = 64;
void plan(const parsed& q, visibility_filter* filter);

}  // namespace chronicle::storage::query
