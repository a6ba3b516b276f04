// Deterministic simulation of chronicle::raft over libraft 0.15 (see docs/replication.md).
//
//   CHRONICLE_SIM_SEED=N      replay one seed only, with its event trace on stderr
//   CHRONICLE_SIM_SEEDS=K     run K seeds per case instead of the CI default (soak: 100000)
//   CHRONICLE_SIM_FIRST=F     first seed of the range (default 1)
//   CHRONICLE_SIM_GUARDS=M    the guards against libraft 0.15 bugs as a bit mask (default 127 =
//                             all; 0 = none, to see the bugs; see sim.hpp)
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <unistd.h>
#include <string>

#include "sim.hpp"

namespace {

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// The seed being run, named by the fatal-signal handler: a soak that crashes inside libraft
// says which seed to replay.
volatile std::sig_atomic_t running_seed = 0;

extern "C" void on_fatal_signal(int sig) {
  char text[96];
  int n = std::snprintf(text, sizeof text, "\nsim: signal %d while running seed %lld\n", sig,
                        static_cast<long long>(running_seed));
  if (n > 0) (void)!write(2, text, static_cast<size_t>(n));
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

struct range_report {
  uint64_t seeds = 0, failures = 0, acked = 0, crashes = 0, elections = 0, snapshots = 0,
           held = 0, stale = 0, capped = 0, wipes = 0, membership_changes = 0, rolled_back = 0,
           not_rolled_back = 0, split = 0, reindexed = 0, forgotten = 0;
  std::string first_violation;
  double seconds = 0;
};

// Runs the seed range (or the one seed of CHRONICLE_SIM_SEED) with `base` as the template.
range_report run_range(chronicle::sim::config base, uint64_t default_seeds) {
  range_report r;
  uint64_t one = env_u64("CHRONICLE_SIM_SEED", 0);
  uint64_t first = one != 0 ? one : env_u64("CHRONICLE_SIM_FIRST", 1);
  uint64_t count = one != 0 ? 1 : env_u64("CHRONICLE_SIM_SEEDS", default_seeds);
  base.io_guards = static_cast<unsigned>(env_u64("CHRONICLE_SIM_GUARDS", base.io_guards));
  base.verbose = one != 0 && env_u64("CHRONICLE_SIM_QUIET", 0) == 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE}) std::signal(sig, on_fatal_signal);
  for (uint64_t s = first; s < first + count; ++s) {
    base.seed = s;
    running_seed = static_cast<std::sig_atomic_t>(s);
    auto res = chronicle::sim::run(base);
    ++r.seeds;
    r.acked += res.acked;
    r.crashes += res.crashes;
    r.elections += res.elections;
    r.snapshots += res.snapshots_installed;
    r.held += res.held_results;
    r.stale += res.stale_results;
    r.capped += res.capped_results;
    r.wipes += res.wipes;
    r.membership_changes += res.membership_changes;
    r.rolled_back += res.rolled_back;
    r.not_rolled_back += res.not_rolled_back;
    r.split += res.split_appends;
    r.reindexed += res.reindexed_snapshots;
    r.forgotten += res.leaders_forgotten;
    if (!res.ok) {
      ++r.failures;
      if (r.first_violation.empty()) r.first_violation = res.violation;
      std::fprintf(stderr, "replicas=%d guards=%d: %s\n", base.replicas, int(base.io_guards),
                   res.violation.c_str());
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr,
               "sim replicas=%d guards=%d break_durability=%d: %llu seeds from %llu in %.1f s "
               "(%.1f ms/seed), %llu failed; %llu acked, %llu crashes, %llu elections, "
               "%llu snapshot restores, guards fired %llu+%llu+%llu times, %llu wipes, "
               "%llu membership changes, %llu configurations rolled back (%llu could not be), "
               "%llu AppendEntries cut, %llu snapshots sent at their data's index\n",
               base.replicas, int(base.io_guards), int(base.break_durability),
               (unsigned long long)r.seeds, (unsigned long long)first, r.seconds,
               1000.0 * r.seconds / double(r.seeds), (unsigned long long)r.failures,
               (unsigned long long)r.acked, (unsigned long long)r.crashes,
               (unsigned long long)r.elections, (unsigned long long)r.snapshots,
               (unsigned long long)r.held, (unsigned long long)r.stale, (unsigned long long)r.capped,
               (unsigned long long)r.wipes, (unsigned long long)r.membership_changes,
               (unsigned long long)r.rolled_back, (unsigned long long)r.not_rolled_back,
               (unsigned long long)r.split, (unsigned long long)r.reindexed);
  return r;
}

}  // namespace

TEST_CASE("three replicas keep every invariant under crashes and partitions") {
  chronicle::sim::config c;
  c.replicas = 3;
  auto r = run_range(c, 1000);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.acked > 0);
}

// A node's replicas forget a leader whose connection dropped and campaign within a moment
// (raft::group::leader_gone, actors/shard/replica.cpp): told after crashes, and wrongly about
// live leaders cut off by partitions, every invariant still holds and groups converge.
TEST_CASE("three replicas keep every invariant when followers hear that their leader is gone") {
  chronicle::sim::config c;
  c.replicas = 3;
  c.leader_gone = true;
  auto r = run_range(c, 500);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.forgotten > 0);
}

TEST_CASE("five replicas keep every invariant when followers hear that their leader is gone") {
  chronicle::sim::config c;
  c.replicas = 5;
  c.leader_gone = true;
  c.wipes = true;
  auto r = run_range(c, 200);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.forgotten > 0);
}

TEST_CASE("three replicas keep every invariant when wiped replicas rejoin as new members") {
  chronicle::sim::config c;
  c.replicas = 3;
  c.wipes = true;
  auto r = run_range(c, 500);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.wipes > 0);
  // Each wipe takes a removal, an addition and a promotion (a change committed while its leader
  // stepped down is not counted); every seed ended with the replicas' IDs as the voters.
  CHECK(r.membership_changes > 2 * r.wipes);
}

TEST_CASE("five replicas keep every invariant when wiped replicas rejoin as new members") {
  chronicle::sim::config c;
  c.replicas = 5;
  c.wipes = true;
  auto r = run_range(c, 200);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.wipes > 0);
}

// io cuts AppendEntries to a few entries (as a node does at 1 MB, scaled down to the
// simulation's small entries): every invariant holds and groups still converge.
TEST_CASE("three replicas keep every invariant with AppendEntries cut to a few entries") {
  chronicle::sim::config c;
  c.wipes = true;
  c.max_append_bytes = 120;
  auto r = run_range(c, 300);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.split > 0);
}

TEST_CASE("five replicas keep every invariant with AppendEntries cut to a few entries") {
  chronicle::sim::config c;
  c.replicas = 5;
  c.wipes = true;
  c.max_append_bytes = 120;
  auto r = run_range(c, 150);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.split > 0);
}

// Snapshots stored as references to the data (as nodes take them): the data is durable on its
// own, a leader sends its state as of now (past the snapshot's index) and receivers skip the
// entries up to it when applied again. The snapshot goes under its data's index (io's
// sent_snapshot_index), so the receiver is sent the entries after that one.
TEST_CASE("three replicas keep every invariant with snapshots stored as references to the data") {
  chronicle::sim::config c;
  c.wipes = true;
  c.reference_snapshots = true;
  auto r = run_range(c, 500);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.snapshots > 0);
  CHECK(r.reindexed > 0);
}

TEST_CASE("five replicas keep every invariant with snapshots stored as references to the data") {
  chronicle::sim::config c;
  c.replicas = 5;
  c.wipes = true;
  c.reference_snapshots = true;
  c.max_append_bytes = 120;
  auto r = run_range(c, 200);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.snapshots > 0);
  CHECK(r.reindexed > 0);
  // The same under the stored snapshot's index (as before sent_index).
  c.reindex_snapshots = false;
  auto stored = run_range(c, 100);
  CHECK_MESSAGE(stored.failures == 0, stored.first_violation);
  CHECK(stored.reindexed == 0);
}

// The byte bound on libraft's in-memory log (group_options::snapshot_log_bytes): with an entry
// threshold no run reaches, wiped replicas catch up from the log and no snapshot is sent; with a
// bound of a few entries' bytes, snapshots come every few entries, wiped replicas need them, and
// every invariant still holds.
// Wiped replicas, reference snapshots, and an entry threshold no run reaches.
static chronicle::sim::config no_snapshot_by_entries() {
  chronicle::sim::config c;
  c.wipes = true;
  c.reference_snapshots = true;
  c.snapshot_threshold = 100000;
  c.snapshot_trailing = 50000;
  return c;
}

TEST_CASE("a byte bound on the in-memory log makes snapshots come sooner than the entry threshold") {
  auto c = no_snapshot_by_entries();
  auto none = run_range(c, 40);
  CHECK_MESSAGE(none.failures == 0, none.first_violation);
  CHECK(none.snapshots == 0);
  c.snapshot_log_bytes = 256;
  auto bounded = run_range(c, 40);
  CHECK_MESSAGE(bounded.failures == 0, bounded.first_violation);
  CHECK(bounded.snapshots > 0);
}

// A group's first snapshot early (group_options::first_snapshot_entries): with an entry
// threshold no run reaches, wiped replicas that rejoin empty then get a snapshot (libraft sends
// one to a replica starting from index 1 only when the leader has one), and every invariant holds
// with the threshold going back to the configured one after it.
TEST_CASE("a first snapshot taken early gives replicas that rejoin empty a snapshot instead of the whole log") {
  auto c = no_snapshot_by_entries();
  c.first_snapshot_entries = 8;
  auto early = run_range(c, 40);
  CHECK_MESSAGE(early.failures == 0, early.first_violation);
  CHECK(early.snapshots > 0);
  CHECK(early.wipes > 0);
}

// Seeds the 5-replica soak found where a follower truncates an uncommitted configuration whose
// committed predecessor a snapshot compacted: libraft 0.15 asserts (a crash of the node) unless
// io's rollback_configuration guard puts the committed one back first.
TEST_CASE("five replicas roll back an uncommitted configuration after a snapshot compacted the committed one") {
  if (env_u64("CHRONICLE_SIM_SEED", 0) != 0) return;
  chronicle::sim::config c;
  c.replicas = 5;
  c.wipes = true;
  uint64_t rolled_back = 0;
  for (uint64_t seed : {255, 697, 1909, 2164}) {
    c.seed = seed;
    auto res = chronicle::sim::run(c);
    CHECK_MESSAGE(res.ok, "seed " << seed << ": " << res.violation);
    rolled_back += res.rolled_back;
  }
  CHECK(rolled_back >= 4);
}

TEST_CASE("the checker catches a wiped replica that comes back under its old ID") {
  chronicle::sim::config c;
  c.replicas = 3;
  c.wipes = true;
  c.wipe_keeps_id = true;
  auto r = run_range(c, 200);
  CHECK(r.failures > 0);
}

TEST_CASE("five replicas keep every invariant under crashes and partitions") {
  chronicle::sim::config c;
  c.replicas = 5;
  auto r = run_range(c, 500);
  CHECK_MESSAGE(r.failures == 0, r.first_violation);
  CHECK(r.acked > 0);
}

TEST_CASE("three replicas on rocks_log_store - RocksDB reopened at every crash - agree with the model") {
  // Each seed in a fresh directory; the seed range is smaller (a real database per replica).
  chronicle::sim::config c;
  c.replicas = 3;
  uint64_t one = env_u64("CHRONICLE_SIM_SEED", 0);
  uint64_t first = one != 0 ? one : env_u64("CHRONICLE_SIM_FIRST", 1);
  uint64_t count = one != 0 ? 1 : env_u64("CHRONICLE_SIM_ROCKS_SEEDS", 20);
  uint64_t failures = 0, acked = 0, crashes = 0;
  std::string first_violation;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    auto dir = std::filesystem::temp_directory_path() /
               ("chronicle-sim-rocks-" + std::to_string(::getpid()) + "-" + std::to_string(seed));
    std::filesystem::remove_all(dir);
    c.seed = seed;
    c.rocks_dir = dir.string();
    c.verbose = one != 0;
    auto r = chronicle::sim::run(c);
    std::filesystem::remove_all(dir);
    acked += r.acked;
    crashes += r.crashes;
    if (!r.ok) {
      ++failures;
      if (first_violation.empty()) first_violation = r.violation;
    }
  }
  std::fprintf(stderr, "sim on rocks_log_store: %llu seeds from %llu, %llu failed; %llu acked, %llu crashes\n",
               (unsigned long long)count, (unsigned long long)first, (unsigned long long)failures,
               (unsigned long long)acked, (unsigned long long)crashes);
  CHECK_MESSAGE(failures == 0, first_violation);
  CHECK(acked > 0);
  CHECK(crashes > 0);
}

TEST_CASE("the checker catches a disk that acknowledges appends before they are durable") {
  // Self-test: the invariants must be able to fail. A write-back disk loses acknowledged
  // entries in a crash; some seed must report it.
  if (env_u64("CHRONICLE_SIM_SEED", 0) != 0) return;
  chronicle::sim::config c;
  c.replicas = 3;
  c.break_durability = true;
  auto r = run_range(c, 40);
  CHECK(r.failures > 0);
}

TEST_CASE("libraft 0.15 without the io guards loses an acknowledged entry at seed 684") {
  // The finding of docs/replication.md, kept as a regression: a follower answers a heartbeat
  // with its whole (stale) log length, the new leader counts it as matching, commits and
  // acknowledges an entry the follower does not hold; the next leader lacks it.
  if (env_u64("CHRONICLE_SIM_SEED", 0) != 0) return;
  chronicle::sim::config c;
  c.replicas = 3;
  c.seed = 684;
  c.io_guards = 0;
  auto bad = chronicle::sim::run(c);
  CHECK_FALSE(bad.ok);
  CHECK(bad.violation.find("lacks acknowledged") != std::string::npos);
  c.io_guards = 4;  // cap_results alone fixes this run
  auto good = chronicle::sim::run(c);
  CHECK_MESSAGE(good.ok, good.violation);
}
