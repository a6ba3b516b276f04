// write_batch as bytes (a raft log entry): round trip through another database, and corrupt bytes
// are errors, never crashes.
#include <doctest/doctest.h>

#include <random>

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

std::unique_ptr<store> open_at(const std::string& path) {
  status st;
  auto s = store::open(path, 8, durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return s;
}

// Every key and value of the shard's data tables, as read_shard sees them.
std::vector<std::string> dump(const store& s, uint32_t shard) {
  std::vector<std::string> out;
  uint64_t applied = 0;
  auto st = s.read_shard(shard, &applied, [&](uint8_t t, std::string_view k, std::string_view v) {
    out.push_back(std::to_string(t) + "|" + std::string(k) + "|" + std::string(v));
    return true;
  });
  REQUIRE_MESSAGE(st.ok(), st.message());
  return out;
}

pb::WorkflowExecutionInfo info(const std::string& wid, pb::WorkflowExecutionStatus status) {
  pb::WorkflowExecutionInfo i;
  i.set_namespace_("default");
  i.set_workflow_id(wid);
  i.set_run_id("r1");
  i.set_workflow_type("Greeting");
  i.set_start_time_ms(1000);
  i.set_status(status);
  return i;
}

// A transition's batch of shard 3: every kind of operation, every data table.
write_batch transition(const std::string& wid) {
  write_batch b;
  run_key run{3, "default", wid, "r1"};
  pb::HistoryEvent e;
  e.set_event_id(1);
  e.set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  b.append_history(run, {e});
  pb::MutableState state;
  state.set_workflow_id(wid);
  state.set_next_event_id(2);
  b.put_state(run, state);
  pb::CurrentRun cur;
  cur.set_run_id("r1");
  b.put_current(3, "default", wid, cur);
  pb::TimerRecord t;
  t.set_namespace_("default");
  t.set_workflow_id(wid);
  t.set_run_id("r1");
  t.set_fire_time_ms(5000);
  b.put_timer(3, t);
  pb::TransferRecord tr;
  tr.set_namespace_("default");
  tr.set_workflow_id(wid);
  tr.set_run_id("r1");
  tr.set_scheduled_event_id(1);
  b.put_transfer(3, tr);
  b.put_visibility(3, info(wid, pb::WORKFLOW_EXECUTION_STATUS_RUNNING));
  return b;
}

TEST_CASE("batch bytes: a batch rebuilt from its bytes writes the same keys in another database") {
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  std::vector<std::string> entries;
  for (int i = 0; i < 3; ++i) {
    auto batch = transition("wf-" + std::to_string(i));
    if (i == 2) {  // deletes and single deletes too: the run closes, its timer goes
      batch = write_batch();
      pb::TimerRecord t;
      t.set_namespace_("default");
      t.set_workflow_id("wf-0");
      t.set_run_id("r1");
      t.set_fire_time_ms(5000);
      batch.delete_timer(3, t);
      batch.put_visibility(3, info("wf-0", pb::WORKFLOW_EXECUTION_STATUS_COMPLETED),
                           pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
      batch.delete_current(3, "default", "wf-1");
    }
    std::string bytes;
    REQUIRE(batch.to_bytes(&bytes).ok());
    entries.push_back(bytes);
    REQUIRE(a->write(batch).ok());
  }
  for (const auto& bytes : entries) {
    status st;
    auto rebuilt = write_batch::from_bytes(bytes, 3, &st);
    REQUIRE_MESSAGE(rebuilt.has_value(), st.message());
    std::string again;
    REQUIRE(rebuilt->to_bytes(&again).ok());
    CHECK(again == bytes);  // the bytes are a function of the operations
    REQUIRE(b->write(*rebuilt).ok());
  }
  auto left = dump(*a, 3);
  CHECK(left.size() > 10);
  CHECK(left == dump(*b, 3));
  CHECK(a->load_current(3, "default", "wf-1", nullptr) == std::nullopt);
  std::vector<pb::TimerRecord> timers;
  REQUIRE(b->scan_timers(3, [&](const pb::TimerRecord& t) { timers.push_back(t); }).ok());
  CHECK(timers.size() == 1);  // wf-0's went, wf-1's stays
}

TEST_CASE("batch bytes: joined bytes are one batch of every part's operations in order") {
  // Several transitions proposed as one raft entry (write_batch::append_bytes): applying the
  // joined bytes writes what applying the parts one after the other writes, later parts winning.
  temp_dir dir;
  auto a = open_at(dir.sub("a"));
  auto b = open_at(dir.sub("b"));
  std::string joined;
  size_t ops = 0;
  for (int i = 0; i < 4; ++i) {
    auto batch = transition("wf-" + std::to_string(i % 3));  // wf-0 twice: order matters
    if (i == 3) batch.delete_current(3, "default", "wf-1");
    ops += batch.size();
    std::string bytes;
    REQUIRE(batch.to_bytes(&bytes).ok());
    REQUIRE(a->write(batch).ok());
    write_batch::append_bytes(&joined, bytes);
  }
  write_batch::append_bytes(&joined, std::string("\x01\0\0\0\0", 5));  // an empty part
  status st;
  auto rebuilt = write_batch::from_bytes(joined, 3, &st);
  REQUIRE_MESSAGE(rebuilt.has_value(), st.message());
  CHECK(rebuilt->size() == ops);
  REQUIRE(b->write(*rebuilt).ok());
  CHECK(dump(*a, 3) == dump(*b, 3));
  CHECK(b->load_current(3, "default", "wf-1", nullptr) == std::nullopt);
}

TEST_CASE("batch bytes: an empty batch round trips") {
  write_batch empty;
  std::string bytes;
  REQUIRE(empty.to_bytes(&bytes).ok());
  CHECK(bytes.size() == 5);
  auto back = write_batch::from_bytes(bytes, 0, nullptr);
  REQUIRE(back.has_value());
  CHECK(back->empty());
}

TEST_CASE("batch bytes: every cut of the bytes is refused") {
  std::string bytes;
  REQUIRE(transition("wf").to_bytes(&bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    status st;
    CHECK_FALSE(write_batch::from_bytes(std::string_view(bytes).substr(0, n), 3, &st).has_value());
    CHECK_FALSE(st.ok());
  }
  status st;
  CHECK_FALSE(write_batch::from_bytes(bytes + "x", 3, &st).has_value());
  CHECK(st.message().find("after the last operation") != std::string::npos);
}

TEST_CASE("batch bytes: another shard's keys - unknown versions - kinds and tables are refused") {
  std::string bytes;
  REQUIRE(transition("wf").to_bytes(&bytes).ok());
  status st;
  CHECK_FALSE(write_batch::from_bytes(bytes, 4, &st).has_value());
  CHECK(st.message().find("outside shard 4") != std::string::npos);

  auto bad_version = bytes;
  bad_version[0] = 2;
  CHECK_FALSE(write_batch::from_bytes(bad_version, 3, &st).has_value());
  CHECK(st.message().find("unknown version") != std::string::npos);

  auto bad_kind = bytes;
  bad_kind[5] = 4;  // the first operation's kind: a range deletion never travels
  CHECK_FALSE(write_batch::from_bytes(bad_kind, 3, &st).has_value());
  CHECK(st.message().find("unknown kind") != std::string::npos);

  for (auto t : {keys::table::default_cf, keys::table::meta, keys::table::raft}) {
    auto bad_table = bytes;
    bad_table[6] = static_cast<char>(t);
    CHECK_FALSE(write_batch::from_bytes(bad_table, 3, &st).has_value());
    CHECK(st.message().find("not a data table") != std::string::npos);
  }
  auto huge_count = bytes;
  huge_count[1] = '\x7f';
  CHECK_FALSE(write_batch::from_bytes(huge_count, 3, &st).has_value());
  CHECK(st.message().find("count") != std::string::npos);
}

TEST_CASE("batch bytes: a merge travels only as a run counter's delta") {
  write_batch b;
  b.put_visibility(3, info("wf", pb::WORKFLOW_EXECUTION_STATUS_RUNNING));
  std::string bytes;
  REQUIRE(b.to_bytes(&bytes).ok());
  REQUIRE(write_batch::from_bytes(bytes, 3, nullptr).has_value());
  // The first operation is the record's put: turned into a merge it is refused.
  REQUIRE(bytes[5] == 1);
  auto as_merge = bytes;
  as_merge[5] = 5;
  status st;
  CHECK_FALSE(write_batch::from_bytes(as_merge, 3, &st).has_value());
  CHECK(st.message().find("not a run counter") != std::string::npos);
}

TEST_CASE("batch bytes: random byte flips never crash and never write outside the shard") {
  temp_dir dir;
  auto s = open_at(dir.sub("db"));
  std::string bytes;
  REQUIRE(transition("wf").to_bytes(&bytes).ok());
  std::mt19937 rng(7);
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    auto flipped = bytes;
    for (int f = 0; f < 1 + i % 3; ++f)
      flipped[rng() % flipped.size()] ^= static_cast<char>(1 + rng() % 255);
    status st;
    auto b = write_batch::from_bytes(flipped, 3, &st);
    if (!b) {
      ++refused;
      CHECK_FALSE(st.ok());
      continue;
    }
    REQUIRE(s->write(*b).ok());  // accepted bytes are a valid batch of shard 3's data tables
  }
  CHECK(refused > 0);
  for (uint32_t other : {0u, 1u, 2u, 4u, 5u, 6u, 7u}) CHECK(dump(*s, other).empty());
}

TEST_CASE("batch bytes: a batch that writes the raft table cannot become bytes") {
  write_batch b;
  b.put_raft(3, raft_record::term, "x");
  std::string bytes = "untouched";
  auto st = b.to_bytes(&bytes);
  CHECK_FALSE(st.ok());
  CHECK(bytes == "untouched");
  write_batch r;
  r.delete_shard_data(3);
  CHECK_FALSE(r.to_bytes(&bytes).ok());
}

}  // namespace
}  // namespace chronicle::storage
