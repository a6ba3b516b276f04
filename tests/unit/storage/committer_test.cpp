// The committer against a real RocksDB store: once a batch of a chain failed, the chain's later
// batches fail without being written, other chains go on; drain() returns once every batch
// submitted before it is done and its callback returned.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <memory>
#include <thread>

#include "storage/committer.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

run_key run_of(const std::string& wid) { return run_key{1, "default", wid, "run-" + wid}; }

write_batch history_batch(const std::string& wid, int64_t first) {
  std::vector<pb::HistoryEvent> evs(1);
  evs[0].set_event_id(first);
  evs[0].set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  write_batch b;
  b.append_history(run_of(wid), evs);
  return b;
}

size_t history_size(store& s, const std::string& wid) {
  std::vector<pb::HistoryEvent> out;
  REQUIRE(s.read_history(run_of(wid), &out).ok());
  return out.size();
}

// Submits and returns a future of the batch's status.
std::future<status> submit(committer& c, write_batch b, committer::chain ch) {
  auto p = std::make_shared<std::promise<status>>();
  auto f = p->get_future();
  c.submit(std::move(b), [p](const status& st) { p->set_value(st); }, std::move(ch));
  return f;
}

}  // namespace

TEST_CASE("committer: once a batch failed - the later batches of its chain fail unwritten - other chains go on") {
  temp_dir dir;
  status st;
  auto s = store::open(dir.sub("db"), 8, durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  std::atomic<bool> fail_next{false};
  std::latch release(1);
  std::atomic<int> calls{0};
  committer c([&](std::vector<write_batch*>& batches) {
    if (calls++ == 0) release.wait();  // holds the first group so the next ones queue up
    if (fail_next.exchange(false)) return status::error("injected failure");
    return s->write_group(batches);
  });
  auto x = std::make_shared<std::atomic<bool>>(false);
  auto y = std::make_shared<std::atomic<bool>>(false);

  auto held = submit(c, history_batch("w0", 1), nullptr);
  // Queued while the first write is held: a (chain x), b (chain y), c2 (chain x) share a group.
  auto a = submit(c, history_batch("wx", 1), x);
  auto b = submit(c, history_batch("wy", 1), y);
  auto c2 = submit(c, history_batch("wx", 2), x);
  release.count_down();
  CHECK(held.get().ok());
  CHECK(a.get().ok());
  CHECK(b.get().ok());
  CHECK(c2.get().ok());
  CHECK(history_size(*s, "wx") == 2);

  // Now the next group fails: every batch of it fails and chain x is poisoned.
  fail_next = true;
  auto d = submit(c, history_batch("wx", 3), x);
  CHECK_FALSE(d.get().ok());
  CHECK(x->load());
  // Later batches of chain x fail without being written; chain y goes on.
  auto e = submit(c, history_batch("wx", 4), x);
  auto f = submit(c, history_batch("wy", 2), y);
  auto e_st = e.get();
  CHECK_FALSE(e_st.ok());
  CHECK(e_st.message().find("earlier write") != std::string::npos);
  CHECK(f.get().ok());
  CHECK(history_size(*s, "wx") == 2);  // events 3 and 4 are not there: no gap after 2 either
  CHECK(history_size(*s, "wy") == 2);
}

// A node drains its committer after its actors stopped and before its actor system goes
// (actors/node/node_main.cpp): callbacks still to run after that would call into the dead system.
TEST_CASE("committer: drain returns only once every batch submitted before it is written and its callback returned") {
  temp_dir dir;
  status st;
  auto s = store::open(dir.sub("db"), 8, durability::fsync, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  std::latch release(1);
  std::atomic<int> calls{0};
  committer c([&](std::vector<write_batch*>& batches) {
    if (calls++ == 0) release.wait();  // holds the first group so the next ones queue up
    return s->write_group(batches);
  });
  std::atomic<int> returned{0};
  auto slow = [&](const status&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ++returned;
  };
  c.submit(history_batch("w0", 1), slow);
  for (auto wid : {"w1", "w2", "w3", "w4", "w5"}) c.submit(history_batch(wid, 1), slow);
  auto drained = std::async(std::launch::async, [&] {
    c.drain();
    return returned.load();
  });
  CHECK(drained.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  release.count_down();
  CHECK(drained.get() == 6);
  c.drain();  // nothing submitted since: returns at once
  CHECK(history_size(*s, "w5") == 1);
}

}  // namespace chronicle::storage
