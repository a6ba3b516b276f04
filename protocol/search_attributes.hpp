// Custom search attributes and the memo without CAF or RocksDB (used by shards/, storage/, the
// node and the SDK): the per-namespace schema, the typing of the JSON payloads clients and workflow
// code send (checked against the schema: an unknown name or a value of the wrong type is an error
// naming it), the merge of an upsert, and RFC 3339 times. docs/semantics.md "Search attributes".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/codec.hpp"

namespace chronicle::search {

// Attribute name -> type, as a namespace registers them (node config for now).
using schema = std::map<std::string, pb::IndexedValueType>;

// Limits: a name's length, one value's size (a keyword list: all its values), a run's total.
inline constexpr size_t max_name_bytes = 64;
inline constexpr size_t max_value_bytes = 2048;
inline constexpr size_t max_total_bytes = 40 * 1024;
inline constexpr size_t max_memo_bytes = 32 * 1024;

// "keyword", "text", "int", "double", "bool", "datetime", "keyword_list" (case-insensitive; also
// Temporal's "KeywordList" / "Datetime"); nullopt for any other name.
std::optional<pb::IndexedValueType> type_from_name(std::string_view name);
const char* type_name(pb::IndexedValueType type);

// Whether `name` is a built-in list field (WorkflowId, ExecutionStatus, ...): never a custom one.
bool is_builtin(std::string_view name);

// The built-in keyword-list attribute of the build IDs that completed a run's workflow tasks
// (Temporal's BuildIds): kept in the visibility record's search_attributes, so that it is indexed
// and queried like a custom keyword list (`BuildIds = 'v2'`), but set only by the server.
inline constexpr const char* build_ids_attribute = "BuildIds";
// The built-in bool attribute of a paused running run (`Paused = true`): set only while it is
// paused (absent otherwise), by the server.
inline constexpr const char* paused_attribute = "Paused";

// The typed value of a JSON payload for an attribute of `type`: a string for keyword and text, an
// integer for int, a number for double, true/false for bool, an RFC 3339 string (or epoch ms) for
// datetime, a string or an array of strings for keyword list. nullopt with *err set otherwise.
std::optional<pb::SearchAttributeValue> typed(const pb::Payload& payload, pb::IndexedValueType type,
                                              std::string* err);
// Whether the payload's JSON is null (an upsert's removal).
bool is_null(const pb::Payload& payload);

// Checks every attribute against `schema` (registered name, value of its type, size limits);
// `allow_null`: a null value (removal) passes. Returns "" or the first problem, naming the
// attribute.
std::string check(const pb::SearchAttributes& attrs, const schema& schema, bool allow_null);
std::string check_memo(const pb::Memo& memo);

// Applies an upsert: each attribute replaced, a null one removed.
void merge(pb::SearchAttributes& into, const pb::SearchAttributes& upsert);
void merge(pb::Memo& into, const pb::Memo& upsert);

// The typed attributes of a run for its visibility record; an attribute that no longer checks
// against the schema (the config changed) is left out.
void put_typed(const pb::SearchAttributes& attrs, const schema& schema,
               google::protobuf::Map<std::string, pb::SearchAttributeValue>* out);

// RFC 3339 ("2026-12-01T00:00:00Z", "2026-12-01T01:00:00.250+01:00", "2026-12-01") to Unix ms.
std::optional<int64_t> parse_time(std::string_view text);
std::string format_time(int64_t ms);  // "2026-12-01T00:00:00.000Z"

// A typed value as text (for tables and errors): keyword "c-42", list "[a, b]", datetime RFC 3339.
std::string to_text(const pb::SearchAttributeValue& v);

}  // namespace chronicle::search
