// Key encoding: shard prefix, unambiguous strings, numeric order of integers.
#include <doctest/doctest.h>

#include "storage/keys.hpp"

namespace chronicle::storage::keys {
namespace {

std::string str(std::string_view s) {
  std::string out;
  put_string(&out, s);
  return out;
}

TEST_CASE("every key starts with the shard as 4 bytes big-endian") {
  run_key run{0x01020304, "ns", "w", "r"};
  const std::string prefix("\x01\x02\x03\x04", 4);
  CHECK(shard_prefix(run.shard) == prefix);
  CHECK(history_key(run, 1).rfind(prefix, 0) == 0);
  CHECK(state_key(run).rfind(prefix, 0) == 0);
  CHECK(current_key(run.shard, "ns", "w").rfind(prefix, 0) == 0);
  pb::TimerRecord t;
  CHECK(timer_key(run.shard, t).rfind(prefix, 0) == 0);
  pb::TransferRecord tr;
  CHECK(transfer_key(run.shard, tr).rfind(prefix, 0) == 0);
}

TEST_CASE("string encoding is unambiguous across field boundaries") {
  CHECK(str("a") + str("bc") != str("ab") + str("c"));
  CHECK(str(std::string("a\0", 2)) + str("b") != str("a") + str(std::string("\0b", 2)));
  // No encoding is a prefix of a different string's encoding.
  CHECK(str("ab").rfind(str("a"), 0) == std::string::npos);
  CHECK(str(std::string("a\0", 2)).rfind(str("a"), 0) == std::string::npos);
}

TEST_CASE("string encoding preserves byte order") {
  CHECK(str("") < str("a"));
  CHECK(str("a") < str("ab"));
  CHECK(str("a") < str(std::string("a\0", 2)));
  CHECK(str(std::string("a\0", 2)) < str("a\x01"));
  CHECK(str("ab") < str("b"));
}

TEST_CASE("history keys sort by first event ID numerically") {
  run_key run{1, "ns", "w", "r"};
  CHECK(history_key(run, 2) < history_key(run, 10));
  CHECK(history_key(run, 255) < history_key(run, 256));
  CHECK(history_key(run, 9).rfind(history_prefix(run), 0) == 0);
}

TEST_CASE("timer keys sort by fire time and clamp negatives to zero") {
  pb::TimerRecord early, late, negative;
  early.set_fire_time_ms(5);
  early.set_workflow_id("z");
  late.set_fire_time_ms(1LL << 40);
  late.set_workflow_id("a");
  negative.set_fire_time_ms(-100);
  CHECK(timer_key(1, early) < timer_key(1, late));
  CHECK(timer_key(1, negative) < timer_key(1, early));
  CHECK(timer_key(1, negative).substr(4, 8) == std::string(8, '\0'));
}

TEST_CASE("u32 round trips and rejects wrong sizes") {
  CHECK(decode_u32(encode_u32(0xDEADBEEF)) == 0xDEADBEEFu);
  CHECK_FALSE(decode_u32("abc").has_value());
  CHECK_FALSE(decode_u32("abcde").has_value());
}

TEST_CASE("prefix successor bounds exactly the keys with the prefix") {
  CHECK(prefix_successor(std::string("\x00\x00\x00\x01", 4)) == std::string("\x00\x00\x00\x02", 4));
  CHECK(prefix_successor(std::string("\x00\x00\x01\xFF", 4)) == std::string("\x00\x00\x02", 3));
  CHECK_FALSE(prefix_successor(std::string("\xFF\xFF", 2)).has_value());
  CHECK_FALSE(prefix_successor("").has_value());
}

TEST_CASE("the ID range of a prefix holds exactly the IDs that start with it") {
  const std::vector<std::string> ids = {"", "a", "ab", "abc", "b", std::string("a\0", 2),
                                        std::string("a\0b", 3), std::string("a\xFF", 2), "a\x01"};
  for (const auto& prefix : ids)
    for (const auto& id : ids) {
      pb::WorkflowExecutionInfo info;
      info.set_namespace_("ns");
      info.set_workflow_id(id);
      info.set_run_id("r");
      bool in_range = id_visibility_key(1, info).rfind(id_visibility_range(1, "ns", prefix), 0) == 0;
      CHECK_MESSAGE(in_range == (id.rfind(prefix, 0) == 0), "prefix '" << prefix << "' id '" << id << "'");
    }
}

TEST_CASE("the position of a per-ID key is the visibility suffix of its run") {
  const size_t offset = id_visibility_range(7, "ns", "").size();
  for (const auto& id : {std::string("w"), std::string("a\0b", 3), std::string("\0", 1), std::string()}) {
    for (const auto& run : {std::string("r"), std::string("r\0", 2)}) {
      pb::WorkflowExecutionInfo info;
      info.set_namespace_("ns");
      info.set_workflow_id(id);
      info.set_run_id(run);
      info.set_start_time_ms(987654321);
      auto pos = id_visibility_position(id_visibility_key(7, info), offset);
      REQUIRE(pos.has_value());
      CHECK(*pos == visibility_suffix(info));
    }
  }
  CHECK_FALSE(id_visibility_position("short", 2).has_value());
  auto cut = id_visibility_range(7, "ns", "w");
  cut += std::string("\0\x01", 2);
  CHECK_FALSE(id_visibility_position(cut + "1234567", offset).has_value());  // start is 8 bytes
}

TEST_CASE("a position tells the start time and whether the ID has a prefix") {
  pb::WorkflowExecutionInfo info;
  info.set_workflow_id(std::string("ab\0c", 4));
  info.set_run_id("r");
  info.set_start_time_ms(1700000000123);
  const auto pos = visibility_suffix(info);
  CHECK(position_start_time(pos) == 1700000000123);
  info.set_start_time_ms(-5);  // stored as 0
  CHECK(position_start_time(visibility_suffix(info)) == 0);
  CHECK_FALSE(position_start_time("1234567").has_value());
  auto escaped = [](std::string_view s) {
    std::string out;
    put_string_prefix(&out, s);
    return out;
  };
  CHECK(position_id_starts_with(pos, escaped("")));
  CHECK(position_id_starts_with(pos, escaped("ab")));
  CHECK(position_id_starts_with(pos, escaped(std::string("ab\0", 3))));
  CHECK(position_id_starts_with(pos, escaped(std::string("ab\0c", 4))));
  CHECK_FALSE(position_id_starts_with(pos, escaped("abc")));
  CHECK_FALSE(position_id_starts_with(pos, escaped(std::string("ab\0cd", 5))));
  CHECK_FALSE(position_id_starts_with("1234567", escaped("")));
}

TEST_CASE("the per-type and per-status indexes share the visibility record's suffix") {
  pb::WorkflowExecutionInfo info;
  info.set_namespace_("ns");
  info.set_workflow_id("w");
  info.set_run_id("r");
  info.set_workflow_type("T");
  info.set_start_time_ms(1234);
  info.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  const auto suffix = visibility_suffix(info);
  CHECK(visibility_key(2, info) == visibility_prefix(2, "ns") + suffix);
  CHECK(type_visibility_key(2, info) == type_visibility_prefix(2, "ns", "T") + suffix);
  CHECK(status_visibility_key(2, info) ==
        status_visibility_prefix(2, "ns", pb::WORKFLOW_EXECUTION_STATUS_RUNNING) + suffix);
  // Distinct tags: no index's keys fall into another's range.
  CHECK(type_visibility_key(2, info).substr(0, 5) != visibility_key(2, info).substr(0, 5));
  CHECK(id_visibility_key(2, info).substr(0, 5) != type_visibility_key(2, info).substr(0, 5));
  CHECK(id_visibility_key(2, info).substr(0, 5) != status_visibility_key(2, info).substr(0, 5));
  CHECK(id_visibility_key(2, info).substr(0, 5) != retention_prefix(2));
}

TEST_CASE("the memtable insert hint prefix groups the keys written next to each other") {
  auto hint = [](table t, const std::string& key) {
    return key.substr(0, insert_hint_prefix_length(t, key));
  };
  run_key run{3, "ns", std::string("w\0x", 3), "r"};
  // History and transfers: per run, whatever the event ID.
  CHECK(hint(table::history, history_key(run, 1)) == history_prefix(run));
  CHECK(hint(table::history, history_key(run, 99)) == history_prefix(run));
  pb::TransferRecord tr;
  tr.set_namespace_("ns");
  tr.set_workflow_id(run.workflow_id);
  tr.set_run_id("r");
  tr.set_scheduled_event_id(5);
  CHECK(hint(table::transfers, transfer_key(3, tr)) == history_prefix(run));
  // Executions: the key itself.
  CHECK(hint(table::executions, state_key(run)) == state_key(run));
  pb::TimerRecord timer;
  CHECK(hint(table::timers, timer_key(3, timer)) == shard_prefix(3));
  // Visibility: the index's leading fields, up to where the newest-first order begins.
  pb::WorkflowExecutionInfo info;
  info.set_namespace_(std::string("n\0s", 3));
  info.set_workflow_id("w");
  info.set_run_id("r");
  info.set_workflow_type("T");
  info.set_start_time_ms(1234);
  info.set_status(pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  CHECK(hint(table::visibility, visibility_key(3, info)) == visibility_prefix(3, info.namespace_()));
  CHECK(hint(table::visibility, type_visibility_key(3, info)) ==
        type_visibility_prefix(3, info.namespace_(), "T"));
  CHECK(hint(table::visibility, status_visibility_key(3, info)) ==
        status_visibility_prefix(3, info.namespace_(), info.status()));
  CHECK(hint(table::visibility, type_status_visibility_key(3, info)) ==
        type_status_visibility_prefix(3, info.namespace_(), "T", info.status()));
  CHECK(hint(table::visibility, retention_key(3, 77, info)) == retention_prefix(3));
  const auto by_id = hint(table::visibility, id_visibility_key(3, info));
  CHECK(by_id == id_visibility_range(3, info.namespace_(), "").substr(0, by_id.size()));
  // No hint for the tables without one, nor for keys too short or cut in the middle.
  CHECK(insert_hint_prefix_length(table::meta, "num_shards") == 0);
  CHECK(insert_hint_prefix_length(table::history, "short") == 0);
  CHECK(insert_hint_prefix_length(table::visibility, "abc") == 0);
  const auto cut = visibility_key(3, info).substr(0, 7);
  CHECK(insert_hint_prefix_length(table::visibility, cut) == 5);
  CHECK(insert_hint_prefix_length(table::visibility, cut + std::string(1, '\0')) == 5);
}

TEST_CASE("a range deletion's start key gets no memtable insert hint - nor does the raft table") {
  // RocksDB 7.8 shares one hint per prefix between the point-key and the range-deletion skip
  // lists of a memtable: a shard prefix (where drop_shard's ranges start) must not have one.
  for (auto t : data_tables) CHECK(insert_hint_prefix_length(t, shard_prefix(3)) == 0);
  CHECK(insert_hint_prefix_length(table::raft, raft_entry_key(3, 7)) == 0);
  CHECK(insert_hint_prefix_length(table::raft, raft_key(3, raft_record::term)) == 0);
}

}  // namespace
}  // namespace chronicle::storage::keys
