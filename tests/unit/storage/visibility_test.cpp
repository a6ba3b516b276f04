// store::list_visibility against a real RocksDB: the per-type and per-ID indexes, paging with
// tokens, combined filters (checked against a plain model of the list), closing and deleting
// runs, the run counters, the schema 1, 2 and 3 -> 4 upgrades, and bad arguments.
#include <doctest/doctest.h>

#include <rocksdb/db.h>
#include <rocksdb/table_properties.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "storage/counter_merge.hpp"
#include "storage/keys.hpp"
#include "storage/query.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

constexpr uint32_t shard = 3;
constexpr auto running = pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
constexpr auto completed = pb::WORKFLOW_EXECUTION_STATUS_COMPLETED;
constexpr auto failed = pb::WORKFLOW_EXECUTION_STATUS_FAILED;

std::unique_ptr<store> open_store(const std::string& path) {
  status st;
  auto s = store::open(path, 8, durability::os, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  REQUIRE(s != nullptr);
  return s;
}

pb::WorkflowExecutionInfo run(const std::string& wid, const std::string& run_id, int64_t start,
                              const std::string& type, pb::WorkflowExecutionStatus status,
                              int64_t close = 0) {
  pb::WorkflowExecutionInfo info;
  info.set_namespace_("default");
  info.set_workflow_id(wid);
  info.set_run_id(run_id);
  info.set_workflow_type(type);
  info.set_task_queue("q");
  info.set_start_time_ms(start);
  info.set_status(status);
  info.set_close_time_ms(close);
  return info;
}

// stem + i (a string literal + std::to_string makes GCC 12 warn falsely: -Wrestrict).
std::string named(std::string stem, int i) {
  stem += std::to_string(i);
  return stem;
}

void put_all(store& s, const std::vector<pb::WorkflowExecutionInfo>& runs) {
  write_batch b;
  for (const auto& r : runs) b.put_visibility(shard, r);
  REQUIRE(s.write(b).ok());
}

struct listed {
  std::vector<std::string> run_ids;
  std::set<std::string> indexes;  // every index that answered a page
  int pages = 0;
};

// Pages through every match with `page_size`, following the tokens.
listed list_all(const store& s, const visibility_filter& f, size_t page_size) {
  listed out;
  std::string token;
  for (;;) {
    visibility_page page;
    auto st = s.list_visibility(shard, "default", f, token, page_size, &page);
    REQUIRE_MESSAGE(st.ok(), st.message());
    ++out.pages;
    out.indexes.insert(page.index);
    REQUIRE(page.items.size() <= page_size);
    for (const auto& [pos, info] : page.items) {
      CHECK(pos == keys::visibility_suffix(info));  // the position is the shared page token
      out.run_ids.push_back(info.run_id());
    }
    if (!page.more) break;
    REQUIRE(page.items.size() == page_size);  // `more` only after a full page
    token = page.items.back().first;
  }
  return out;
}

std::vector<std::string> list_ids(const store& s, const visibility_filter& f, size_t page_size = 100) {
  return list_all(s, f, page_size).run_ids;
}

// The list's meaning, written out plainly: the filters, then newest start first (ties: workflow
// ID, then run ID).
std::vector<std::string> model(std::vector<pb::WorkflowExecutionInfo> runs, const visibility_filter& f) {
  std::vector<pb::WorkflowExecutionInfo> kept;
  for (const auto& r : runs) {
    if (f.status != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && r.status() != f.status) continue;
    if (!f.workflow_type.empty() && r.workflow_type() != f.workflow_type) continue;
    if (r.workflow_id().substr(0, f.workflow_id_prefix.size()) != f.workflow_id_prefix) continue;
    if (f.start_time_from_ms && r.start_time_ms() < f.start_time_from_ms) continue;
    if (f.start_time_to_ms && r.start_time_ms() >= f.start_time_to_ms) continue;
    bool close_bounded = f.close_time_from_ms || f.close_time_to_ms;
    if (close_bounded && (r.close_time_ms() == 0 || r.close_time_ms() < f.close_time_from_ms ||
                          (f.close_time_to_ms && r.close_time_ms() >= f.close_time_to_ms)))
      continue;
    kept.push_back(r);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(-a.start_time_ms(), a.workflow_id(), a.run_id())
           < std::make_tuple(-b.start_time_ms(), b.workflow_id(), b.run_id());
  });
  std::vector<std::string> out;
  for (const auto& r : kept) out.push_back(r.run_id());
  return out;
}

// Opens the store's database directly with RocksDB (to read what is on disk, or write what
// another build or a corruption would leave), calls fn(db, column family handles by table), and
// closes it. REQUIRES: no store is open on `path`.
template <class Fn>
void with_raw_db(const std::string& path, Fn fn, bool read_only = false) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (int i = 0; i < keys::table_count; ++i)
    cfs.emplace_back(keys::table_name(static_cast<keys::table>(i)), rocksdb::ColumnFamilyOptions());
  cfs[static_cast<size_t>(keys::table::visibility)].options.merge_operator = counter_merge_operator();
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  rocksdb::DB* raw = nullptr;
  REQUIRE((read_only ? rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, cfs, &h, &raw)
                     : rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &h, &raw))
            .ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  fn(*db, h);
  for (auto* x : h) db->DestroyColumnFamilyHandle(x);
  CHECK(db->Close().ok());
}

// Counts the visibility keys of every shard by tag byte ('v', 's', 't', 'y', 'i', 'r'; not the
// run counters 'n' and 'N', checked by count_visibility).
std::map<char, int> count_keys(const std::string& path) {
  std::map<char, int> out;
  with_raw_db(
    path,
    [&](rocksdb::DB& db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
      std::unique_ptr<rocksdb::Iterator> it(
        db.NewIterator(rocksdb::ReadOptions(), h[static_cast<size_t>(keys::table::visibility)]));
      for (it->SeekToFirst(); it->Valid(); it->Next())
        if (it->key()[4] != 'n' && it->key()[4] != 'N') ++out[it->key()[4]];
    },
    true);
  return out;
}

}  // namespace

TEST_CASE("visibility: a type filter reads the per-type index - newest first - paged with tokens") {
  temp_dir dir;
  auto s = open_store(dir.sub("db"));
  std::vector<pb::WorkflowExecutionInfo> runs;
  for (int i = 0; i < 30; ++i)
    runs.push_back(run(named("w", i), named("r", i), 1000 + i,
                       i % 3 == 0 ? "A" : "B", i % 2 ? completed : running, i % 2 ? 2000 + i : 0));
  put_all(*s, runs);
  visibility_filter f;
  f.workflow_type = "A";
  auto got = list_all(*s, f, 4);
  CHECK(got.run_ids == model(runs, f));
  CHECK(got.run_ids.size() == 10);
  CHECK(got.run_ids.front() == "r27");
  CHECK(got.pages == 3);
  CHECK(got.indexes == std::set<std::string>{"type"});
  f.workflow_type = "C";  // no run of that type
  CHECK(list_ids(*s, f).empty());
  // A type and a status: their own index holds exactly those runs.
  f.workflow_type = "B";
  f.status = completed;
  got = list_all(*s, f, 3);
  CHECK(got.run_ids == model(runs, f));
  CHECK(got.run_ids.size() == 10);
  CHECK(got.indexes == std::set<std::string>{"type+status"});
  f.workflow_type = "A";
  f.status = pb::WORKFLOW_EXECUTION_STATUS_TERMINATED;  // no run of both
  got = list_all(*s, f, 3);
  CHECK(got.run_ids.empty());
  CHECK(got.indexes == std::set<std::string>{"type+status"});
}

TEST_CASE("visibility: an ID prefix reads its range of the per-ID index - sorted newest first across IDs") {
  temp_dir dir;
  auto s = open_store(dir.sub("db"));
  // order-1 has three runs (continue-as-new), order-10 and order-2 one each; the IDs' byte order
  // (order-1, order-10, order-2) differs from their start order.
  std::vector<pb::WorkflowExecutionInfo> runs = {
    run("order-1", "a1", 1000, "T", completed, 1001), run("order-1", "a2", 1005, "T", completed, 1006),
    run("order-1", "a3", 1010, "T", running),         run("order-10", "b1", 1007, "T", completed, 1009),
    run("order-2", "c1", 1003, "U", failed, 1004),    run("other-1", "d1", 1008, "T", running),
  };
  for (int i = 0; i < 200; ++i)  // many newer runs that do not match
    runs.push_back(run(named("x", i), named("x", i), 5000 + i, "T", running));
  put_all(*s, runs);
  s->set_id_range_alone_bytes(0);  // the candidates always in step (what this test checks)
  visibility_filter f;
  f.workflow_id_prefix = "order-";
  auto got = list_all(*s, f, 100);
  CHECK(got.run_ids == std::vector<std::string>{"a3", "b1", "a2", "c1", "a1"});
  CHECK(got.indexes == std::set<std::string>{"id"});
  // Paged one run at a time: the tokens are positions in the newest-first order.
  got = list_all(*s, f, 1);
  CHECK(got.run_ids == std::vector<std::string>{"a3", "b1", "a2", "c1", "a1"});
  CHECK(got.pages == 5);
  // The first page comes from the ID range (6 reads against 200 newer runs in the index of every
  // run); once the token is past those, the newest-first index reaches the next runs sooner.
  CHECK(got.indexes == std::set<std::string>{"id", "all"});
  f.workflow_id_prefix = "order-1";  // order-1 and order-10
  CHECK(list_ids(*s, f, 2) == std::vector<std::string>{"a3", "b1", "a2", "a1"});
  f.workflow_id_prefix = "order-1";
  f.status = completed;
  CHECK(list_ids(*s, f, 2) == std::vector<std::string>{"b1", "a2", "a1"});
  f.status = {};
  f.workflow_type = "U";
  CHECK(list_ids(*s, f).empty());
  f.workflow_id_prefix = "order-2";
  CHECK(list_ids(*s, f) == std::vector<std::string>{"c1"});
  f = {};
  f.workflow_id_prefix = "nothing";
  CHECK(list_all(*s, f, 10).indexes == std::set<std::string>{"id"});
  CHECK(list_ids(*s, f).empty());
  // With the default threshold this small range is read alone, page after page: the same list.
  s->set_id_range_alone_bytes(uint64_t{1} << 20);
  f.workflow_id_prefix = "order-";
  got = list_all(*s, f, 1);
  CHECK(got.run_ids == std::vector<std::string>{"a3", "b1", "a2", "c1", "a1"});
  CHECK(got.indexes == std::set<std::string>{"id"});
}

TEST_CASE("visibility: a wide ID prefix is answered by the newest-first index at the cost of a page") {
  temp_dir dir;
  auto s = open_store(dir.sub("db"));
  std::vector<pb::WorkflowExecutionInfo> runs;
  for (int i = 0; i < 500; ++i)
    runs.push_back(run(named("fill-", i), named("r", i), 1000 + i, "T", completed, 9000));
  put_all(*s, runs);
  s->set_id_range_alone_bytes(0);  // an ID range this small would be read alone
  visibility_filter f;
  f.workflow_id_prefix = "fill-";
  auto got = list_all(*s, f, 10);
  CHECK(got.run_ids == model(runs, f));
  CHECK(got.indexes == std::set<std::string>{"all"});  // 11 reads there against 500 in the ID range
  f.workflow_id_prefix = "fill-49";  // fill-49 and fill-490..499: the ID range is smaller
  got = list_all(*s, f, 100);
  CHECK(got.run_ids == model(runs, f));
  CHECK(got.run_ids.size() == 11);
  CHECK(got.indexes == std::set<std::string>{"id"});
  // A range estimated under the threshold is read alone. (Only the two ends are checked: RocksDB
  // samples a memtable to estimate a range, and for these 500 runs gave anything from 13 KB to
  // 210 KB, and 0 about one run in 40, so a threshold between them decides at random; the list
  // is right either way.)
  s->set_id_range_alone_bytes(1000);
  f.workflow_id_prefix = "fill-";
  got = list_all(*s, f, 10);
  CHECK(got.run_ids == model(runs, f));
  s->set_id_range_alone_bytes(uint64_t{1} << 20);
  got = list_all(*s, f, 10);
  CHECK(got.run_ids == model(runs, f));
  CHECK(got.indexes == std::set<std::string>{"id"});
}

TEST_CASE("visibility: combined filters and every page size give the model's list") {
  temp_dir dir;
  auto s = open_store(dir.sub("db"));
  std::mt19937 rng(7);
  const std::vector<std::string> types = {"A", "B", "C"};
  const std::vector<pb::WorkflowExecutionStatus> statuses = {running, completed, failed,
                                                             pb::WORKFLOW_EXECUTION_STATUS_TERMINATED};
  const std::vector<std::string> id_stems = {"order-", "ord-", "x"};
  std::vector<pb::WorkflowExecutionInfo> runs;
  for (int i = 0; i < 240; ++i) {
    auto id = id_stems[rng() % 3] + std::to_string(rng() % 40);  // several runs per ID
    auto st = statuses[rng() % 4];
    int64_t start = 1000 + static_cast<int64_t>(rng() % 200);  // equal start times happen
    int64_t close = st == running ? 0 : start + static_cast<int64_t>(rng() % 100);
    runs.push_back(run(id, named("r", i), start, types[rng() % 3], st, close));
  }
  put_all(*s, runs);
  write_batch other;  // another namespace and another shard are never listed
  auto foreign = run("order-1", "foreign", 1100, "A", running);
  foreign.set_namespace_("other");
  other.put_visibility(shard, foreign);
  other.put_visibility(shard + 1, run("order-1", "foreign2", 1100, "A", running));
  REQUIRE(s->write(other).ok());

  std::set<std::string> answered_by;
  int combinations = 0;
  for (auto status : {pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, running, completed})
    for (const std::string type : {"", "A"})
      for (const std::string prefix : {"", "order-1", "o", "zzz"})
        for (int time = 0; time < 4; ++time) {
          visibility_filter f;
          f.status = status;
          f.workflow_type = type;
          f.workflow_id_prefix = prefix;
          if (time & 1) f.start_time_from_ms = 1050;
          if (time & 2) f.start_time_to_ms = 1150;
          if (time == 3) f.close_time_from_ms = 1100;
          auto expected = model(runs, f);
          for (size_t page : {1, 7, 1000}) {
            if (page == 1 && expected.size() > 60) continue;  // keeps the test quick
            auto got = list_all(*s, f, page);
            CHECK_MESSAGE(got.run_ids == expected, "status " << status << " type '" << type
                                                   << "' prefix '" << prefix << "' time " << time
                                                   << " page " << page);
            answered_by.insert(got.indexes.begin(), got.indexes.end());
          }
          ++combinations;
        }
  CHECK(combinations == 96);
  CHECK(answered_by == std::set<std::string>{"all", "status", "type", "type+status", "id"});
}

TEST_CASE("visibility: a closing run moves in the status index - retention deletes every index entry") {
  temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto s = open_store(path);
    put_all(*s, {run("a", "ra", 1000, "T", running), run("b", "rb", 1001, "T", running)});
    write_batch close;
    auto closed = run("a", "ra", 1000, "T", completed, 1500);
    close.put_visibility(shard, closed, running);
    close.put_retention(shard, 9000, closed);
    REQUIRE(s->write(close).ok());

    visibility_filter by_type;
    by_type.workflow_type = "T";
    visibility_page page;
    REQUIRE(s->list_visibility(shard, "default", by_type, "", 10, &page).ok());
    REQUIRE(page.items.size() == 2);
    CHECK(page.items[1].second.status() == completed);  // the type entry has the closed record
    CHECK(page.items[1].second.close_time_ms() == 1500);
    visibility_filter by_id;
    by_id.workflow_id_prefix = "a";
    REQUIRE(s->list_visibility(shard, "default", by_id, "", 10, &page).ok());
    REQUIRE(page.items.size() == 1);
    CHECK(page.items[0].second.status() == completed);
    visibility_filter status_running;
    status_running.status = running;
    CHECK(list_ids(*s, status_running) == std::vector<std::string>{"rb"});
    by_type.status = running;  // the type-and-status entry moved too
    CHECK(list_ids(*s, by_type) == std::vector<std::string>{"rb"});
    by_type.status = completed;
    CHECK(list_ids(*s, by_type) == std::vector<std::string>{"ra"});

    // Retention: the sweep finds the run and the purge deletes it from every index.
    std::vector<pb::WorkflowExecutionInfo> expired;
    REQUIRE(s->scan_expired(shard, 10000, 10, [&](int64_t, const auto& info) {
                 expired.push_back(info);
               }).ok());
    REQUIRE(expired.size() == 1);
    write_batch purge;
    purge.delete_visibility(shard, expired[0]);
    purge.delete_retention(shard, 9000, expired[0]);
    REQUIRE(s->write(purge).ok());
    by_type.status = {};
    CHECK(list_ids(*s, by_type) == std::vector<std::string>{"rb"});
    CHECK(list_ids(*s, by_id).empty());
    CHECK(list_ids(*s, visibility_filter{}) == std::vector<std::string>{"rb"});
  }
  auto counted = count_keys(path);  // only b's records are left: one in each index, no retention
  CHECK(counted == std::map<char, int>{{'v', 1}, {'s', 1}, {'t', 1}, {'y', 1}, {'i', 1}});
}

// Deletion markers in the visibility table's files (flushes the memtable first).
uint64_t visibility_deletions(const std::string& path) {
  uint64_t deletions = 0;
  with_raw_db(path, [&](rocksdb::DB& db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    auto* vis = h[static_cast<size_t>(keys::table::visibility)];
    REQUIRE(db.Flush(rocksdb::FlushOptions(), vis).ok());
    rocksdb::TablePropertiesCollection props;
    REQUIRE(db.GetPropertiesOfAllTables(vis, &props).ok());
    for (auto& [file, p] : props) deletions += p->num_deletions;
  });
  return deletions;
}

// Closes run `r` (Completed at 3000) in a batch of its own, as a closing transition does.
void close_run(store& s, pb::WorkflowExecutionInfo& r) {
  r.set_status(completed);
  r.set_close_time_ms(3000);
  write_batch close;
  close.put_visibility(shard, r, running);
  REQUIRE(s.write(close).ok());
}

// No run of type T is listed as Running, `n` as Completed.
void check_all_closed(store& s, size_t n) {
  visibility_filter f;
  f.status = running;
  CHECK(list_ids(s, f).empty());
  f.workflow_type = "T";
  CHECK(list_ids(s, f).empty());
  f.status = completed;
  CHECK(list_ids(s, f).size() == n);
}

TEST_CASE("visibility: short runs leave no tombstones in the Running ranges of the status indexes") {
  temp_dir dir;
  const auto path = dir.sub("db");
  {
    auto s = open_store(path);
    for (int i = 0; i < 500; ++i) {  // started, then closed in a later batch (as transitions do)
      auto r = run(named("w", i), named("r", i), 1000 + i, "T", running);
      write_batch start;
      start.put_visibility(shard, r);
      REQUIRE(s->write(start).ok());
      close_run(*s, r);
    }
    check_all_closed(*s, 500);
  }
  // The Running entries' SingleDeletes met their Puts in the flush: nothing is left of either
  // (a Delete would leave 1,000 markers for every later list with status Running to skip).
  CHECK(visibility_deletions(path) == 0);
  CHECK(count_keys(path) == std::map<char, int>{{'v', 500}, {'s', 500}, {'t', 500}, {'y', 500}, {'i', 500}});
}

TEST_CASE("visibility: a run that upserted while running is gone from the Running ranges after it closes") {
  // Started before a flush, upserted and closed after it (a run that lives longer than a
  // memtable): a Running entry put twice and then SingleDeleted would come back at the next
  // flush, where the SingleDelete meets only the newer Put.
  temp_dir dir;
  const auto path = dir.sub("db");
  std::vector<pb::WorkflowExecutionInfo> runs;
  for (int i = 0; i < 50; ++i) runs.push_back(run(named("w", i), named("r", i), 1000 + i, "T", running));
  put_all(*open_store(path), runs);
  visibility_deletions(path);  // flushes the memtable: the Running entries are in a file
  {
    auto s = open_store(path);
    for (auto& r : runs) {
      auto before = r;
      r.set_task_queue("q2");
      write_batch upsert;
      upsert.put_visibility(shard, r, pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, &before);
      REQUIRE(s->write(upsert).ok());
      close_run(*s, r);
    }
  }
  visibility_deletions(path);  // the upserts' Puts and the closes' SingleDeletes go to a file
  check_all_closed(*open_store(path), 50);
  CHECK(count_keys(path) == std::map<char, int>{{'v', 50}, {'s', 50}, {'t', 50}, {'y', 50}, {'i', 50}});
}

TEST_CASE("visibility: a handoff chunk imported twice - the closed run's Running entry stays gone") {
  temp_dir dir;
  auto from = open_store(dir.sub("from"));
  auto r = run("w", "r", 1000, "T", running);
  put_all(*from, {r});
  pb::HandoffChunk chunk;
  REQUIRE(from->export_chunk(shard, 0, "", 1 << 20, &chunk).ok());
  REQUIRE(chunk.done());
  const auto path = dir.sub("to");
  auto compact = [&] {
    with_raw_db(path, [&](rocksdb::DB& db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
      auto* vis = h[static_cast<size_t>(keys::table::visibility)];
      REQUIRE(db.CompactRange(rocksdb::CompactRangeOptions(), vis, nullptr, nullptr).ok());
    });
  };
  { REQUIRE(open_store(path)->import_chunk(shard, chunk).ok()); }
  compact();  // the first import's entries are in a file of the last level
  {
    auto to = open_store(path);
    REQUIRE(to->import_chunk(shard, chunk).ok());  // the same chunk again (a retried handoff)
    r.set_status(completed);
    r.set_close_time_ms(2000);
    write_batch close;
    close.put_visibility(shard, r, running);
    REQUIRE(to->write(close).ok());
  }
  compact();
  auto to = open_store(path);
  visibility_filter f;
  f.status = running;
  CHECK(list_ids(*to, f).empty());  // a second Put under the SingleDelete would come back here
  f.workflow_type = "T";
  CHECK(list_ids(*to, f).empty());
  f.status = completed;
  CHECK(list_ids(*to, f) == std::vector<std::string>{"r"});
}

// Makes the database at `path` what a build of `schema` (1, 2 or 3) wrote for `runs`: without
// the entries later schemas added (3: the run counters), and with that schema_version.
void downgrade(const std::string& path, const std::vector<pb::WorkflowExecutionInfo>& runs,
               uint32_t schema) {
  with_raw_db(path, [&](rocksdb::DB& db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    auto* vis = h[static_cast<size_t>(keys::table::visibility)];
    std::vector<std::string> counters;  // 'n', 'N', 'A': schema 4
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), vis));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      if (auto tag = it->key()[4]; tag == 'n' || tag == 'N' || tag == 'A') counters.push_back(it->key().ToString());
    it.reset();
    CHECK(!counters.empty());
    for (const auto& k : counters) CHECK(db.Delete(rocksdb::WriteOptions(), vis, k).ok());
    for (const auto& r : runs) {
      if (schema > 2) continue;
      CHECK(db.Delete(rocksdb::WriteOptions(), vis, keys::type_status_visibility_key(shard, r)).ok());
      if (schema > 1) continue;
      CHECK(db.Delete(rocksdb::WriteOptions(), vis, keys::type_visibility_key(shard, r)).ok());
      CHECK(db.Delete(rocksdb::WriteOptions(), vis, keys::id_visibility_key(shard, r)).ok());
    }
    CHECK(db.Put(rocksdb::WriteOptions(), h[static_cast<size_t>(keys::table::meta)],
                 std::string(keys::meta_schema_version), keys::encode_u32(schema)).ok());
    CHECK(db.CompactRange(rocksdb::CompactRangeOptions(), vis, nullptr, nullptr).ok());
  });
}

// Counts through the run counters (their index name) for a status and/or a type ("" none).
int64_t counted(const store& s, pb::WorkflowExecutionStatus status, const std::string& type,
                visibility_count* out = nullptr) {
  visibility_filter f;
  f.status = status;
  f.workflow_type = type;
  visibility_count c;
  REQUIRE(s.count_visibility(shard, "default", f, &c).ok());
  CHECK(c.index == "counters");
  int64_t n = 0;
  for (auto& [st, k] : c.per_status) n += k;
  if (out) *out = c;
  return n;
}

// The same count read from the records (a start-time bound keeps the counters out).
int64_t scanned(const store& s, pb::WorkflowExecutionStatus status, const std::string& type) {
  visibility_filter f;
  f.status = status;
  f.workflow_type = type;
  f.start_time_from_ms = 1;
  visibility_count c;
  REQUIRE(s.count_visibility(shard, "default", f, &c).ok());
  CHECK(c.index != "counters");
  int64_t n = 0;
  for (auto& [st, k] : c.per_status) n += k;
  return n;
}

TEST_CASE("visibility: the run counters follow starts - closes - upserts - deletes - and survive a reopen") {
  temp_dir dir;
  const auto path = dir.sub("db");
  std::vector<pb::WorkflowExecutionInfo> runs;
  for (int i = 0; i < 30; ++i)
    runs.push_back(run(named("w", i), named("r", i), 1000 + i, i % 3 ? "A" : "B", running));
  {
    auto s = open_store(path);
    put_all(*s, runs);
    CHECK(counted(*s, running, "") == 30);
    CHECK(counted(*s, running, "A") == 20);
    CHECK(counted(*s, running, "B") == 10);
    CHECK(counted(*s, {}, "") == 30);
    // Ten close (two batches), one of them is then deleted; an upsert (a rewrite with `before`)
    // and a rewrite under the same status change nothing.
    write_batch close;
    for (int i = 0; i < 10; ++i) {
      auto r = runs[i];
      r.set_status(i < 7 ? completed : failed);
      r.set_close_time_ms(5000);
      close.put_visibility(shard, r, running);
      runs[i] = r;
    }
    auto before = runs[20];
    auto upserted = runs[20];
    upserted.set_task_queue("q2");
    close.put_visibility(shard, upserted, pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, &before);
    REQUIRE(s->write(close).ok());
    write_batch del;
    del.delete_visibility(shard, runs[0]);  // completed, type B
    REQUIRE(s->write(del).ok());
    runs.erase(runs.begin());
  }
  auto s = open_store(path);
  visibility_count by;
  CHECK(counted(*s, {}, "", &by) == 29);
  CHECK(by.per_status == std::map<pb::WorkflowExecutionStatus, int64_t>{{running, 20}, {completed, 6}, {failed, 3}});
  for (auto status : {running, completed, failed, pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED})
    for (const std::string type : {"", "A", "B", "C"}) {
      CAPTURE(status);
      CAPTURE(type);
      CHECK(counted(*s, status, type) == scanned(*s, status, type));
    }
  CHECK(counted(*s, completed, "B") == 2);  // w3, w6 (w0 deleted, w9 failed)
  CHECK(counted(*s, {}, "C") == 0);
}

TEST_CASE("visibility: opening a schema 3 database writes the run counters") {
  temp_dir dir;
  const auto path = dir.sub("db");
  std::vector<pb::WorkflowExecutionInfo> runs;
  for (int i = 0; i < 25; ++i) {
    runs.push_back(run(named("w", i), named("r", i), 1000 + i, i % 2 ? "A" : "B",
                       i % 3 ? running : completed, i % 3 ? 0 : 2000));
    (*runs.back().mutable_search_attributes())["Region"].set_keyword(i % 5 ? "eu" : "us");
  }
  { put_all(*open_store(path), runs); }
  downgrade(path, runs, 3);
  {
    auto s = open_store(path);
    visibility_filter region;
    pb::SearchAttributeValue eu;
    eu.set_keyword("eu");
    region.attribute_equals.emplace_back("Region", eu);
    region.where = std::get<query::parsed>(query::parse("Region = 'eu'", {{"Region", pb::INDEXED_VALUE_TYPE_KEYWORD}})).where;
    visibility_count c;
    REQUIRE(s->count_visibility(shard, "default", region, &c).ok());
    CHECK(c.index == "counters");
    CHECK(c.per_status[pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED] == 20);
    CHECK(counted(*s, running, "") == 16);
    CHECK(counted(*s, completed, "A") == 4);
    CHECK(counted(*s, {}, "") == 25);
    // A start after the upgrade adds to the written counters.
    write_batch b;
    b.put_visibility(shard, run("late", "rl", 3000, "A", running));
    REQUIRE(s->write(b).ok());
  }
  auto s = open_store(path);  // schema 4: the counters are not written again
  CHECK(counted(*s, running, "") == 17);
  CHECK(counted(*s, running, "A") == scanned(*s, running, "A"));
}

TEST_CASE("visibility: opening a schema 1 or 2 database writes the newer indexes' entries") {
  for (uint32_t schema : {1u, 2u}) {
    CAPTURE(schema);
    temp_dir dir;
    const auto path = dir.sub("db");
    std::vector<pb::WorkflowExecutionInfo> runs;
    for (int i = 0; i < 25; ++i)
      runs.push_back(run(named("w", i), named("r", i), 1000 + i, i % 2 ? "A" : "B",
                         i % 3 ? running : completed, i % 3 ? 0 : 2000));
    { put_all(*open_store(path), runs); }
    downgrade(path, runs, schema);
    CHECK(count_keys(path) == (schema == 1 ? std::map<char, int>{{'v', 25}, {'s', 25}}
                                           : std::map<char, int>{{'v', 25}, {'s', 25}, {'t', 25},
                                                                 {'i', 25}}));
    {
      auto s = open_store(path);
      visibility_filter f;
      f.workflow_type = "A";
      CHECK(list_ids(*s, f, 5) == model(runs, f));
      f.status = running;
      CHECK(list_ids(*s, f, 5) == model(runs, f));
      CHECK(model(runs, f).size() == 8);
      f = {};
      f.workflow_id_prefix = "w1";
      CHECK(list_ids(*s, f, 5) == model(runs, f));
      CHECK(model(runs, f).size() == 11);
      // A run that closes now leaves its Running entries for good: the upgrade did not put them
      // twice (a SingleDelete over two Puts drops only the newer one, the older comes back).
      auto r = runs[1];
      r.set_status(completed);
      r.set_close_time_ms(3000);
      write_batch close;
      close.put_visibility(shard, r, running);
      REQUIRE(s->write(close).ok());
    }
    CHECK(count_keys(path)
          == std::map<char, int>{{'v', 25}, {'s', 25}, {'t', 25}, {'y', 25}, {'i', 25}});
    with_raw_db(path, [&](rocksdb::DB& db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
      auto* vis = h[static_cast<size_t>(keys::table::visibility)];
      REQUIRE(db.CompactRange(rocksdb::CompactRangeOptions(), vis, nullptr, nullptr).ok());
    });
    auto s = open_store(path);  // schema 4 now: no second upgrade
    REQUIRE(s != nullptr);
    visibility_filter f;
    f.status = running;
    auto ids = list_ids(*s, f);
    CHECK(std::find(ids.begin(), ids.end(), "r1") == ids.end());
    CHECK(ids.size() == model(runs, f).size() - 1);
    f.workflow_type = "A";
    ids = list_ids(*s, f);
    CHECK(std::find(ids.begin(), ids.end(), "r1") == ids.end());
  }
}

TEST_CASE("visibility: garbage in an index entry is an error of the list - not a crash") {
  temp_dir dir;
  const auto path = dir.sub("db");
  { put_all(*open_store(path), {run("w", "r", 1000, "T", running)}); }
  {
    with_raw_db(path, [&](rocksdb::DB& dbr, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
      auto* db = &dbr;
      auto* vis = h[static_cast<size_t>(keys::table::visibility)];
      const std::string garbage("\x0a\xff\xff\xff\x0f", 5);
      auto r = run("w", "r", 1000, "T", running);
      CHECK(db->Put(rocksdb::WriteOptions(), vis, keys::type_visibility_key(shard, r), garbage).ok());
      CHECK(db->Put(rocksdb::WriteOptions(), vis, keys::id_visibility_range(shard, "default", "x") + "bad", "").ok());
      // A well-formed ID key with a garbage value: with only a prefix filter the value is parsed
      // when the page is taken, not while reading.
      auto y = run("y", "ry", 1000, "T", running);
      CHECK(db->Put(rocksdb::WriteOptions(), vis, keys::id_visibility_key(shard, y), garbage).ok());
    });
  }
  auto s = open_store(path);
  visibility_page page;
  visibility_filter f;
  f.workflow_type = "T";
  auto st = s->list_visibility(shard, "default", f, "", 10, &page);
  CHECK(st.message() == "corrupt visibility record in shard 3");
  f = {};
  f.workflow_id_prefix = "x";
  st = s->list_visibility(shard, "default", f, "", 10, &page);
  CHECK(st.message() == "corrupt visibility ID index record in shard 3");
  f.workflow_id_prefix = "y";
  st = s->list_visibility(shard, "default", f, "", 10, &page);
  CHECK(st.message() == "corrupt visibility ID index record in shard 3");
  f.status = running;  // parsed while reading then
  st = s->list_visibility(shard, "default", f, "", 10, &page);
  CHECK(st.message() == "corrupt visibility ID index record in shard 3");
  f = {};
  f.workflow_id_prefix = "w";  // the intact entries still list
  REQUIRE(s->list_visibility(shard, "default", f, "", 10, &page).ok());
  CHECK(page.items.size() == 1);
}

TEST_CASE("visibility: bad list arguments are clear errors") {
  temp_dir dir;
  auto s = open_store(dir.sub("db"));
  visibility_page page;
  auto st = s->list_visibility(shard, "default", {}, "", 0, &page);
  CHECK_FALSE(st.ok());
  CHECK(st.message() == "list page size must be at least 1");
  st = s->list_visibility(8, "default", {}, "", 10, &page);
  CHECK_FALSE(st.ok());
  CHECK(st.message() == "shard 8 is out of range (num_shards 8)");
  // A token that no list issued is only a position: the list goes on from there.
  CHECK(s->list_visibility(shard, "default", {}, "garbage", 10, &page).ok());
  CHECK(page.items.empty());
}

}  // namespace chronicle::storage
