// raft's log_store on RocksDB: what was durable survives closing and reopening the database.
#include <doctest/doctest.h>

#include "storage/keys.hpp"
#include "storage/raft/rocks_log_store.hpp"
#include "storage/store.hpp"
#include "owner_loop.hpp"
#include "temp_dir.hpp"

namespace chronicle::raft {
namespace {

using storage::testing::owner_loop;
using storage::testing::temp_dir;

std::unique_ptr<storage::store> open_at(const temp_dir& dir) {
  storage::status st;
  auto s = storage::store::open(dir.sub("db"), 8, storage::durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return s;
}

stored_entry entry(uint64_t term, const std::string& data, uint16_t type = 1) {
  return {term, type, data};
}

std::vector<stored_entry> entries(uint64_t term, uint64_t first, uint64_t last) {
  std::vector<stored_entry> out;
  for (uint64_t i = first; i <= last; ++i)
    out.push_back(entry(term, std::string("e").append(std::to_string(i))));
  return out;
}

// Appends and waits for the completion on the owner's loop; returns its outcome.
bool append_wait(owner_loop& loop, rocks_log_store& log, uint64_t first, std::vector<stored_entry> es) {
  std::optional<bool> done;
  log.append(first, std::move(es), [&](bool ok) { done = ok; });
  REQUIRE(loop.run_until([&] { return done.has_value(); }));
  return *done;
}

TEST_CASE("rocks log store: an empty shard loads empty and bootstraps once") {
  temp_dir dir;
  auto db = open_at(dir);
  owner_loop loop;
  rocks_log_store log(*db, 2, loop.post());
  auto st = log.load();
  CHECK(st.error.empty());
  CHECK(st.term == 0);
  CHECK(st.vote == 0);
  CHECK_FALSE(st.snapshot.has_value());
  CHECK(st.start_index == 1);
  CHECK(st.entries.empty());
  CHECK(log.bootstrap(entry(1, "conf", 3)));
  CHECK_FALSE(log.bootstrap(entry(1, "conf", 3)));
  db.reset();
  db = open_at(dir);
  rocks_log_store again(*db, 2, loop.post());
  CHECK_FALSE(again.bootstrap(entry(1, "other", 3)));
  auto back = again.load();
  CHECK(back.term == 1);
  REQUIRE(back.entries.size() == 1);
  CHECK(back.entries[0] == entry(1, "conf", 3));
  rocks_log_store other_shard(*db, 3, loop.post());
  CHECK(other_shard.load().entries.empty());
  CHECK(other_shard.bootstrap(entry(1, "conf", 3)));
}

TEST_CASE("rocks log store: term - vote and entries survive reopen - completions come from the post function") {
  temp_dir dir;
  owner_loop loop;
  {
    auto db = open_at(dir);
    rocks_log_store log(*db, 5, loop.post());
    log.load();
    REQUIRE(log.bootstrap(entry(1, "conf", 3)));
    REQUIRE(log.set_term(4));
    REQUIRE(log.set_vote(2));
    int completions = 0;
    std::vector<int> order;
    for (int i = 0; i < 10; ++i)
      log.append(2 + i * 10, entries(4, 2 + i * 10, 11 + i * 10), [&, i](bool ok) {
        CHECK(ok);
        order.push_back(i);
        ++completions;
      });
    REQUIRE(loop.run_until([&] { return completions == 10; }));
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // submission order
    CHECK(loop.never_inline());
    CHECK(log.error().empty());
  }
  auto db = open_at(dir);
  rocks_log_store log(*db, 5, loop.post());
  auto st = log.load();
  REQUIRE(st.error.empty());
  CHECK(st.term == 4);
  CHECK(st.vote == 2);
  CHECK(st.start_index == 1);
  REQUIRE(st.entries.size() == 101);
  CHECK(st.entries[0] == entry(1, "conf", 3));
  for (uint64_t i = 2; i <= 101; ++i) CHECK(st.entries[i - 1] == entry(4, std::string("e").append(std::to_string(i))));
  // set_term clears the vote, durably.
  REQUIRE(log.set_term(5));
  db.reset();
  db = open_at(dir);
  rocks_log_store reopened(*db, 5, loop.post());
  auto after = reopened.load();
  CHECK(after.term == 5);
  CHECK(after.vote == 0);
}

TEST_CASE("rocks log store: truncate and an overlapping append replace the tail across reopen") {
  temp_dir dir;
  owner_loop loop;
  {
    auto db = open_at(dir);
    rocks_log_store log(*db, 1, loop.post());
    log.load();
    REQUIRE(log.bootstrap(entry(1, "conf", 3)));
    REQUIRE(append_wait(loop, log, 2, entries(2, 2, 20)));
    log.truncate(15);  // 15..20 go
    REQUIRE(append_wait(loop, log, 15, entries(3, 15, 16)));
    REQUIRE(append_wait(loop, log, 10, entries(4, 10, 11)));  // overwrites 10..16 without a truncate
  }
  auto db = open_at(dir);
  rocks_log_store log(*db, 1, loop.post());
  auto st = log.load();
  REQUIRE(st.error.empty());
  REQUIRE(st.entries.size() == 11);  // 1..11
  CHECK(st.entries[8] == entry(2, "e9"));
  CHECK(st.entries[9] == entry(4, "e10"));
  CHECK(st.entries[10] == entry(4, "e11"));
}

TEST_CASE("rocks log store: a snapshot keeps its trailing entries - an installed one replaces the log") {
  temp_dir dir;
  owner_loop loop;
  stored_snapshot snap{40, 2, "configuration", 1, std::string("data\0with nul", 13)};
  {
    auto db = open_at(dir);
    rocks_log_store log(*db, 6, loop.post());
    log.load();
    REQUIRE(log.bootstrap(entry(1, "conf", 3)));
    REQUIRE(append_wait(loop, log, 2, entries(2, 2, 50)));
    std::optional<bool> done;
    log.put_snapshot(snap, 10, [&](bool ok) { done = ok; });
    auto pending = log.get_snapshot();  // submitted: visible before it is durable
    REQUIRE(pending.has_value());
    CHECK(pending->data == snap.data);
    REQUIRE(loop.run_until([&] { return done.has_value(); }));
    CHECK(*done);
  }
  {
    auto db = open_at(dir);
    rocks_log_store log(*db, 6, loop.post());
    auto st = log.load();
    REQUIRE(st.error.empty());
    REQUIRE(st.snapshot.has_value());
    CHECK(st.snapshot->index == 40);
    CHECK(st.snapshot->term == 2);
    CHECK(st.snapshot->configuration == "configuration");
    CHECK(st.snapshot->configuration_index == 1);
    CHECK(st.snapshot->data == snap.data);
    CHECK(st.start_index == 31);  // 10 trailing entries up to 40
    CHECK(st.entries.size() == 20);  // 31..50
    CHECK(st.entries.front() == entry(2, "e31"));
    // Installed from a leader: the log is gone, the next append follows the snapshot.
    stored_snapshot installed{90, 3, "configuration", 1, "newer"};
    std::optional<bool> done;
    log.put_snapshot(installed, 0, [&](bool ok) { done = ok; });
    REQUIRE(loop.run_until([&] { return done.has_value(); }));
    REQUIRE(append_wait(loop, log, 91, entries(3, 91, 92)));
  }
  auto db = open_at(dir);
  rocks_log_store log(*db, 6, loop.post());
  auto st = log.load();
  REQUIRE(st.error.empty());
  REQUIRE(st.snapshot.has_value());
  CHECK(st.snapshot->index == 90);
  CHECK(st.snapshot->data == "newer");
  CHECK(st.start_index == 91);
  CHECK(st.entries.size() == 2);
  auto got = log.get_snapshot();
  REQUIRE(got.has_value());
  CHECK(got->index == 90);
}

TEST_CASE("rocks log store: corrupt records - a gap - and a log that does not join its snapshot fail the load") {
  temp_dir dir;
  owner_loop loop;
  auto db = open_at(dir);
  {
    rocks_log_store log(*db, 4, loop.post());
    log.load();
    REQUIRE(log.bootstrap(entry(1, "conf", 3)));
    REQUIRE(append_wait(loop, log, 2, entries(1, 2, 5)));
  }
  auto load_error = [&] {
    rocks_log_store log(*db, 4, loop.post());
    return log.load().error;
  };
  CHECK(load_error().empty());
  SUBCASE("a corrupt entry") {
    storage::write_batch b;
    b.put_raft_entry(4, 3, "short");
    REQUIRE(db->write(b).ok());
    CHECK(load_error().find("corrupt entry 3") != std::string::npos);
  }
  SUBCASE("a gap") {
    storage::write_batch b;
    b.delete_raft_entries(4, 3, 4);
    REQUIRE(db->write(b).ok());
    CHECK(load_error().find("gap") != std::string::npos);
  }
  SUBCASE("a corrupt term") {
    storage::write_batch b;
    b.put_raft(4, storage::raft_record::term, "xyz");
    REQUIRE(db->write(b).ok());
    CHECK(load_error().find("corrupt term") != std::string::npos);
  }
  SUBCASE("entries that start past the snapshot") {
    storage::write_batch b;
    b.delete_raft_entries(4, 0, 3);  // 3..5 left, no snapshot
    REQUIRE(db->write(b).ok());
    CHECK(load_error().find("after the snapshot") != std::string::npos);
  }
  SUBCASE("a snapshot without data") {
    stored_snapshot s{2, 1, "c", 1, "d"};
    rocks_log_store log(*db, 4, loop.post());
    log.load();
    std::optional<bool> done;
    log.put_snapshot(s, 5, [&](bool ok) { done = ok; });
    REQUIRE(loop.run_until([&] { return done.has_value(); }));
    storage::write_batch b;
    b.delete_raft(4, storage::raft_record::snapshot_data);
    REQUIRE(db->write(b).ok());
    CHECK(load_error().find("no data") != std::string::npos);
  }
}

TEST_CASE("rocks log store: shards share one database without touching each other") {
  temp_dir dir;
  owner_loop loop;
  auto db = open_at(dir);
  rocks_log_store a(*db, 0, loop.post()), b(*db, 1, loop.post());
  a.load();
  b.load();
  REQUIRE(a.bootstrap(entry(1, "a", 3)));
  REQUIRE(b.bootstrap(entry(1, "b", 3)));
  REQUIRE(append_wait(loop, a, 2, entries(7, 2, 30)));
  REQUIRE(a.set_term(9));
  std::optional<bool> done;
  a.put_snapshot({25, 7, "c", 1, "snap"}, 0, [&](bool ok) { done = ok; });
  REQUIRE(loop.run_until([&] { return done.has_value(); }));
  rocks_log_store b_again(*db, 1, loop.post());
  auto st = b_again.load();
  CHECK(st.term == 1);
  CHECK_FALSE(st.snapshot.has_value());
  REQUIRE(st.entries.size() == 1);
  CHECK(st.entries[0].data == "b");
}

}  // namespace
}  // namespace chronicle::raft
