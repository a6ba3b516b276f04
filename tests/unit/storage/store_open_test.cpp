// store::open failure paths and recovery: reopen, num_shards mismatch, unwritable or locked
// directories, corrupted files and garbage values.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <algorithm>
#include <fstream>

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

pb::TransferRecord transfer(int64_t scheduled) {
  pb::TransferRecord t;
  t.set_namespace_("default");
  t.set_workflow_id("w");
  t.set_run_id("r");
  t.set_scheduled_event_id(scheduled);
  return t;
}

// Writes raw bytes under `key` of column family `t`, bypassing store (which only writes valid
// records). REQUIRES: no store is open on `path`.
void put_raw(const std::string& path, keys::table t, const std::string& key,
             const std::string& value) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int i = 0; i < keys::table_count; ++i)
    cfs.emplace_back(keys::table_name(static_cast<keys::table>(i)), rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  CHECK(db->Put(rocksdb::WriteOptions(), handles[static_cast<size_t>(t)], key, value).ok());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  CHECK(db->Close().ok());
}

TEST_CASE("open creates the directory and every column family") {
  temp_dir dir;
  status st;
  const auto path = dir.sub("a/b/db");
  auto s = store::open(path, 16, durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  REQUIRE(s != nullptr);
  CHECK(s->num_shards() == 16);
  s.reset();
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  for (int i = 0; i < keys::table_count; ++i)
    CHECK(std::find(names.begin(), names.end(), keys::table_name(static_cast<keys::table>(i))) !=
          names.end());
}

TEST_CASE("reopen with the same num_shards keeps the data") {
  temp_dir dir;
  const auto path = dir.sub("db");
  status st;
  {
    auto s = store::open(path, 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    write_batch b;
    b.put_transfer(3, transfer(1));
    pb::CurrentRun cur;
    cur.set_run_id("r");
    b.put_current(3, "default", "w", cur);
    REQUIRE(s->write(b).ok());
  }
  auto s = store::open(path, 8, durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  REQUIRE(s != nullptr);
  int n = 0;
  REQUIRE(s->scan_transfers(3, [&](const auto&) { ++n; }).ok());
  CHECK(n == 1);
  auto cur = s->load_current(3, "default", "w", &st);
  REQUIRE(cur.has_value());
  CHECK(cur->run_id() == "r");
}

TEST_CASE("reopen with a different num_shards fails with a clear message") {
  temp_dir dir;
  const auto path = dir.sub("db");
  status st;
  REQUIRE(store::open(path, 16, durability::fsync, &st) != nullptr);
  auto s = store::open(path, 8, durability::fsync, &st);
  CHECK(s == nullptr);
  CHECK_FALSE(st.ok());
  CHECK(st.message() == "data_dir " + path + " was created with num_shards=16, config says 8");
}

// A data dir at `path` holding one run's record of shard 5, as a single-copy node writes it.
std::unique_ptr<store> with_single_copy_data(const std::string& path) {
  status st;
  auto s = store::open(path, 8, durability::fsync, &st);
  REQUIRE(s != nullptr);
  write_batch b;
  pb::CurrentRun cur;
  cur.set_run_id("r");
  b.put_current(5, "default", "w", cur);
  REQUIRE(s->write(b).ok());
  return s;
}

TEST_CASE("a data dir serves one kind of node for good - single copy or replicated - one from before the record is judged by what it holds") {
  temp_dir dir;
  status st;
  {  // A new data dir takes the kind of its first node; the other kind is refused later.
    auto s = store::open(dir.sub("new"), 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    CHECK(s->check_replication(true).ok());
    CHECK(s->check_replication(true).ok());
    auto no = s->check_replication(false);
    CHECK_MESSAGE(contains(no.message(), "holds the data of a replicated node"), no.message());
  }
  {  // The record survives a reopen.
    auto s = store::open(dir.sub("new"), 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    CHECK_FALSE(s->check_replication(false).ok());
  }
  {  // A single-copy node's data written before the record existed: only single copy again.
    auto s = with_single_copy_data(dir.sub("old-single"));
    auto no = s->check_replication(true);
    CHECK_MESSAGE(contains(no.message(), "holds the data of a node without replication"),
                  no.message());
    CHECK_MESSAGE(contains(no.message(), "--convert-to-replicated"), no.message());
    CHECK(s->check_replication(false).ok());
    CHECK_FALSE(s->check_replication(true).ok());
  }
  {  // A replicated node's data from before the record: its Raft state says so.
    auto s = store::open(dir.sub("old-replicated"), 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    write_batch b;
    b.put_raft(2, raft_record::term, std::string(8, '\0'));
    REQUIRE(s->write(b).ok());
    CHECK_FALSE(s->check_replication(false).ok());
    CHECK(s->check_replication(true).ok());
  }
}

TEST_CASE("a single-copy data dir converted to replication - once - a replicated one is not converted") {
  temp_dir dir;
  status st;
  {
    auto s = with_single_copy_data(dir.sub("single"));
    REQUIRE(s->check_replication(false).ok());
    CHECK_FALSE(s->converted(&st));
    auto no = s->check_replication(false, true);
    CHECK_MESSAGE(contains(no.message(), "needs replication_factor 3"), no.message());
    bool converting = false;
    REQUIRE(s->check_replication(true, true, &converting).ok());
    CHECK(converting);
    CHECK(s->converted(&st));
    CHECK(s->check_replication(true).ok());  // later starts need no flag
    CHECK(s->check_replication(true, true, &converting).ok());  // nor mind it
    CHECK_FALSE(converting);
    CHECK_FALSE(s->check_replication(false).ok());
  }
  {  // Recorded for good.
    auto s = store::open(dir.sub("single"), 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    CHECK(s->converted(&st));
    CHECK(s->check_replication(true).ok());
  }
  {  // A new data dir in a conversion (a member that held no data): converted too.
    auto s = store::open(dir.sub("empty"), 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    REQUIRE(s->check_replication(true, true).ok());
    CHECK(s->converted(&st));
  }
  {  // A replicated node's data dir, founded the usual way, is never converted.
    auto s = store::open(dir.sub("replicated"), 8, durability::fsync, &st);
    REQUIRE(s != nullptr);
    REQUIRE(s->check_replication(true).ok());
    write_batch b;
    b.put_raft(2, raft_record::term, std::string(8, '\0'));
    REQUIRE(s->write(b).ok());
    auto no = s->check_replication(true, true);
    CHECK_MESSAGE(contains(no.message(), "already serves a replicated node"), no.message());
    CHECK_FALSE(s->converted(&st));
  }
}

TEST_CASE("a directory that cannot be created fails as not writable") {
  temp_dir dir;
  const auto file = dir.sub("plain-file");
  std::ofstream(file) << "x";
  const auto path = file + "/db";
  status st;
  auto s = store::open(path, 8, durability::fsync, &st);
  CHECK(s == nullptr);
  CHECK_FALSE(st.ok());
  CHECK_MESSAGE(contains(st.message(), "data_dir " + path + " is not writable: "), st.message());
}

TEST_CASE("a regular file as data_dir fails as not writable") {
  temp_dir dir;
  const auto file = dir.sub("plain-file");
  std::ofstream(file) << "x";
  status st;
  CHECK(store::open(file, 8, durability::fsync, &st) == nullptr);
  CHECK_MESSAGE(contains(st.message(), "data_dir " + file + " is not writable: "), st.message());
}

TEST_CASE("a second open of a locked database fails with the RocksDB reason") {
  temp_dir dir;
  const auto path = dir.sub("db");
  status st;
  auto first = store::open(path, 8, durability::fsync, &st);
  REQUIRE(first != nullptr);
  auto second = store::open(path, 8, durability::fsync, &st);
  CHECK(second == nullptr);
  CHECK_MESSAGE(contains(st.message(), "cannot open RocksDB at " + path + ": "), st.message());
  CHECK_MESSAGE(contains(st.message(), "lock"), st.message());
}

TEST_CASE("corrupted database files fail open with the RocksDB reason") {
  temp_dir dir;
  const auto path = dir.sub("db");
  status st;
  REQUIRE(store::open(path, 8, durability::fsync, &st) != nullptr);
  std::ofstream(path + "/CURRENT", std::ios::trunc) << "garbage-without-newline";
  auto s = store::open(path, 8, durability::fsync, &st);
  CHECK(s == nullptr);
  CHECK_MESSAGE(contains(st.message(), "cannot open RocksDB at " + path + ": "), st.message());
}

TEST_CASE("zero shards is rejected") {
  temp_dir dir;
  status st;
  CHECK(store::open(dir.sub("db"), 0, durability::fsync, &st) == nullptr);
  CHECK_FALSE(st.ok());
}

TEST_CASE("garbage bytes in stored values are errors - not crashes") {
  temp_dir dir;
  const auto path = dir.sub("db");
  status st;
  REQUIRE(store::open(path, 8, durability::fsync, &st) != nullptr);
  const std::string garbage("\x0a\xff\xff\xff\x0f", 5);  // field 1, length far beyond the data
  run_key run{2, "default", "w", "r"};
  put_raw(path, keys::table::history, keys::history_key(run, 1), garbage);
  put_raw(path, keys::table::executions, keys::state_key(run), garbage);
  put_raw(path, keys::table::executions, keys::current_key(2, "default", "w"), garbage);
  put_raw(path, keys::table::timers, keys::shard_prefix(2) + "timer", garbage);
  put_raw(path, keys::table::transfers, keys::shard_prefix(2) + "transfer", garbage);

  auto s = store::open(path, 8, durability::fsync, &st);
  REQUIRE_MESSAGE(s != nullptr, st.message());
  std::vector<pb::HistoryEvent> out;
  CHECK_FALSE(s->read_history(run, &out).ok());
  CHECK_FALSE(s->load_state(run, &st).has_value());
  CHECK_FALSE(st.ok());
  CHECK_FALSE(s->load_state(run, nullptr).has_value());  // a null status is allowed
  CHECK_FALSE(s->load_current(2, "default", "w", &st).has_value());
  CHECK_FALSE(st.ok());
  int calls = 0;
  CHECK_FALSE(s->scan_timers(2, [&](const auto&) { ++calls; }).ok());
  CHECK_FALSE(s->scan_transfers(2, [&](const auto&) { ++calls; }).ok());
  CHECK(calls == 0);
}

}  // namespace
}  // namespace chronicle::storage
