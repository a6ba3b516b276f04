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

}  // namespace
}  // namespace chronicle::storage::keys
