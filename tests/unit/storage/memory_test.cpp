// RocksDB's memory budget (storage/store.cpp): one block cache and one memtable budget for every
// column family of a database, whatever the number of column families written to.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace chronicle::storage {
namespace {

using testing::temp_dir;

constexpr uint64_t mib = 1 << 20;

std::string big(char c, int i) {
  std::string s(4000, c);
  s += std::to_string(i);
  return s;
}

}  // namespace

TEST_CASE("memory: the memtables of every column family share one budget") {
  temp_dir dir;
  status st;
  auto s = store::open(dir.sub("db"), 4, durability::os, &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  auto m = s->memory_usage();
  CHECK(m.block_cache_capacity == 128 * mib);
  CHECK(m.memtable_budget == 64 * mib);

  // About 14 MB into each of five column families: each stays under its own 16 MB memtable
  // size, so without the shared budget the memtables would hold about 70 MB.
  const uint64_t per_table = 14 * mib;
  for (uint64_t written = 0, i = 0; written < per_table; ++i) {
    write_batch b;
    for (int k = 0; k < 16; ++k, ++i) {
      const int n = static_cast<int>(i);
      std::string wid = "w";
      wid += std::to_string(n);
      pb::TransferRecord t;
      t.set_namespace_("default");
      t.set_workflow_id(wid);
      t.set_task_queue(big('q', n));
      b.put_transfer(1, t);
      pb::CurrentRun cur;
      cur.set_run_id(big('r', n));
      b.put_current(1, "default", wid, cur);
      pb::TimerRecord tm;
      tm.set_namespace_("default");
      tm.set_workflow_id(big('t', n));
      b.put_timer(1, tm);  // the ID is in the key and the value: about 8 KB
      pb::HistoryEvent e;
      e.set_event_id(1);
      b.append_history(run_key{1, "default", "w", big('h', n)}, {e});
      pb::WorkflowExecutionInfo info;  // four index entries with the ID in key and value
      info.set_namespace_("default");
      std::string vid(1000, 'v');
      vid += std::to_string(n);
      info.set_workflow_id(vid);
      info.set_run_id("r");
      b.put_visibility(1, info);
      written += 4000;
    }
    REQUIRE(s->write(b).ok());
  }
  // Flushes run in the background; the budget is checked on each write.
  bool within = false;
  for (int tries = 0; tries < 200 && !within; ++tries) {
    m = s->memory_usage();
    within = m.memtable_bytes <= m.memtable_budget;
    if (within) break;
    write_batch nudge;
    pb::CurrentRun cur;
    cur.set_run_id("x");
    nudge.put_current(1, "default", "nudge", cur);
    REQUIRE(s->write(nudge).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(within, "memtables hold " << m.memtable_bytes / mib << " MiB");
  CHECK(m.memtable_bytes > 0);
  // The memtables are charged to the block cache, so the cache's usage covers them.
  CHECK(m.block_cache_bytes >= m.memtable_bytes / 2);
  CHECK(m.block_cache_bytes <= m.block_cache_capacity + 16 * mib);

  // What was flushed is still there.
  auto cur = s->load_current(1, "default", "w0", &st);
  REQUIRE_MESSAGE(st.ok(), st.message());
  REQUIRE(cur.has_value());
  CHECK(cur->run_id() == big('r', 0));
}

}  // namespace chronicle::storage
