// storage::batch_coalescer: entries applied in windows of any size leave the same data as entries
// applied one by one (equal digests), and a window writes fewer operations than it was given.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "storage/batch_coalescer.hpp"
#include "storage/keys.hpp"
#include "storage/raft/shard_state_machine.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

constexpr uint32_t shard = 3;
constexpr uint8_t put = 1, del = 2, single_del = 3, merge = 5;  // batch_bytes.cpp's kinds

std::unique_ptr<store> open_at(const std::string& path) {
  status st;
  auto s = store::open(path, 8, durability::os, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return s;
}

std::unique_ptr<raft::shard_state_machine> machine(store& db) {
  status st;
  auto m = raft::shard_state_machine::open(db, shard, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  return m;
}

// A raft entry's bytes (write_batch::to_bytes's format), built by hand so that every kind of
// operation can be written on any key.
struct entry_bytes {
  std::string body;
  uint32_t count = 0;
  void op(uint8_t kind, keys::table t, const std::string& key, const std::string& value = {}) {
    body.push_back(static_cast<char>(kind));
    body.push_back(static_cast<char>(t));
    keys::put_u32(&body, static_cast<uint32_t>(key.size()));
    body += key;
    if (kind == put || kind == merge) {
      keys::put_u32(&body, static_cast<uint32_t>(value.size()));
      body += value;
    }
    ++count;
  }
  std::string bytes() const {
    std::string out(1, '\1');
    keys::put_u32(&out, count);
    return out + body;
  }
};

// stem + n (a string literal + std::to_string makes GCC 12 warn falsely: -Wrestrict).
std::string numbered(std::string stem, uint64_t n) {
  stem += std::to_string(n);
  return stem;
}

std::string key_of(char tag, int i) {
  return numbered(keys::shard_prefix(shard) + tag, static_cast<uint64_t>(i));
}

std::string delta(int64_t d) {
  std::string v;
  keys::put_u64(&v, static_cast<uint64_t>(d));
  return v;
}

// Random entries that keep the stores' contracts: a SingleDelete only for a key put exactly once
// since it was last removed (the visibility table's per-status entries), merges only on run
// counters ('n' keys of the visibility table).
std::vector<std::string> random_entries(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint32_t>(k)); };
  std::map<int, bool> once_put;  // put-once keys: present?
  std::vector<std::string> out;
  for (int e = 0; e < n; ++e) {
    entry_bytes b;
    for (int ops = 1 + pick(6); ops > 0; --ops) {
      switch (pick(4)) {
        case 0: {  // a plain record: put or delete
          auto t = pick(2) ? keys::table::executions : keys::table::timers;
          auto k = key_of('x', pick(8));
          if (pick(3)) b.op(put, t, k, numbered("v", rng()));
          else b.op(del, t, k);
          break;
        }
        case 1: {  // a put-once entry: put when absent, SingleDelete when present
          auto i = pick(8);
          auto k = key_of('s', i);
          if (once_put[i]) b.op(single_del, keys::table::visibility, k);
          else b.op(put, keys::table::visibility, k, numbered("s", rng()));
          once_put[i] = !once_put[i];
          break;
        }
        case 2:  // a run counter
          b.op(merge, keys::table::visibility, key_of('n', pick(3)), delta(pick(5) - 2));
          break;
        default:  // history: new keys only
          b.op(put, keys::table::history, key_of('h', e * 8 + ops), "h");
      }
    }
    out.push_back(b.bytes());
  }
  return out;
}

}  // namespace

TEST_CASE("batch coalescer: windows of any size leave the data that one write per entry leaves") {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    temp_dir dir;
    auto one = open_at(dir.sub("one"));
    auto windowed = open_at(dir.sub("windowed"));
    auto a = machine(*one);
    auto b = machine(*windowed);
    auto entries = random_entries(seed, 300);
    std::mt19937 rng(seed * 7919);
    uint64_t index = 0;
    for (auto& e : entries) {
      ++index;
      REQUIRE(a->apply(index, e).ok());
      REQUIRE(b->stage(index, e).ok());
      if (rng() % 40 == 0) REQUIRE(b->flush().ok());  // windows of ~40 entries
    }
    REQUIRE(b->flush().ok());
    raft::shard_digest da, db;
    REQUIRE(a->digest(&da).ok());
    REQUIRE(b->digest(&db).ok());
    CHECK(da.applied_index == index);
    CHECK(db.applied_index == index);
    CHECK(da.keys == db.keys);
    CHECK(da.digest == db.digest);
    CHECK(b->ops_written() < b->ops_staged());
  }
}

TEST_CASE("batch coalescer: the net operations of a short run's records") {
  const auto k = key_of('x', 1), s = key_of('s', 1), n = key_of('n', 1);
  batch_coalescer c;
  auto add = [&](std::initializer_list<std::tuple<uint8_t, keys::table, std::string, std::string>> ops) {
    entry_bytes b;
    for (auto& [kind, t, key, value] : ops) b.op(kind, t, key, value);
    status st;
    auto batch = write_batch::from_bytes(b.bytes(), shard, &st);
    REQUIRE_MESSAGE(batch, st.message());
    c.add(std::move(*batch));
  };
  // A state rewritten three times, a put-once entry put and SingleDeleted, a counter +1 -1 +1.
  add({{put, keys::table::executions, k, "1"}, {put, keys::table::visibility, s, "a"},
       {merge, keys::table::visibility, n, delta(1)}});
  add({{put, keys::table::executions, k, "2"}, {merge, keys::table::visibility, n, delta(-1)}});
  add({{put, keys::table::executions, k, "3"}, {single_del, keys::table::visibility, s, ""},
       {merge, keys::table::visibility, n, delta(1)}});
  CHECK(c.ops_added() == 8);
  CHECK(c.ops_held() == 2);  // the last state, one merge of +1
  // A delete after puts is written alone; a SingleDelete with no put before it in the window
  // stays, and a put after it too (it is the key's one put now).
  add({{put, keys::table::timers, k, "t"}, {del, keys::table::timers, k, ""},
       {single_del, keys::table::visibility, key_of('s', 2), ""},
       {put, keys::table::visibility, key_of('s', 2), "b"}});
  CHECK(c.ops_held() == 5);
  auto out = c.take();
  CHECK(out.size() == 5);
  CHECK(c.empty());
  CHECK(c.ops_held() == 0);
}

}  // namespace chronicle::storage
