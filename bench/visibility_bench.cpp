// chronicle-visibility-bench: list and count queries (storage/query.hpp) against N visibility
// records in a real RocksDB (storage::store, as a node writes them: every index entry of a run in
// one batch), read the way a node answers them (every shard's page, merged and cut; every
// shard's count, summed) on one thread. Not a test: prints a table of p50 / max per query.
//
//   chronicle-visibility-bench [--runs 1000000] [--shards 16] [--repeat 20] [--dir PATH]
//
// Runs: types T0..T9, 10% Running, the rest Completed; CustomerId c-0..c-9999 (100 runs each at
// 1M), Region one of 5, Amount 0..999 (int), Tags two of 20 (keyword list), StartTime one run
// per 10 ms ending now.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "storage/query.hpp"
#include "storage/store.hpp"

using namespace chronicle;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  int64_t runs = 1'000'000;
  uint32_t shards = 16;
  int repeat = 20;
  std::string dir;
};

const search::schema schema = {{"CustomerId", pb::INDEXED_VALUE_TYPE_KEYWORD},
                               {"Region", pb::INDEXED_VALUE_TYPE_KEYWORD},
                               {"Amount", pb::INDEXED_VALUE_TYPE_INT},
                               {"Tags", pb::INDEXED_VALUE_TYPE_KEYWORD_LIST}};

pb::WorkflowExecutionInfo make_run(int64_t i, int64_t now, std::mt19937_64& rng) {
  static const char* regions[] = {"eu", "us", "apac", "latam", "mea"};
  pb::WorkflowExecutionInfo info;
  info.set_namespace_("default");
  info.set_workflow_id("order-" + std::to_string(i));
  info.set_run_id("run-" + std::to_string(i));
  info.set_workflow_type(std::string("T").append(std::to_string(i % 10)));
  info.set_task_queue("q");
  info.set_start_time_ms(now - (1'000'000'000 - i) * 10);
  const bool running = rng() % 10 == 0;
  info.set_status(running ? pb::WORKFLOW_EXECUTION_STATUS_RUNNING
                          : pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  if (!running) {
    info.set_close_time_ms(info.start_time_ms() + 5);
    info.set_history_length(11);
  }
  auto& sa = *info.mutable_search_attributes();
  sa["CustomerId"].set_keyword("c-" + std::to_string(rng() % 10'000));
  sa["Region"].set_keyword(regions[rng() % 5]);
  sa["Amount"].set_int_value(static_cast<int64_t>(rng() % 1000));
  auto* tags = sa["Tags"].mutable_keyword_list();
  tags->add_values("tag-" + std::to_string(rng() % 20));
  tags->add_values("tag-" + std::to_string(rng() % 20));
  return info;
}

void fill(storage::store& s, const options& o) {
  std::mt19937_64 rng(42);
  const int64_t now = 1'800'000'000'000;
  const auto t0 = clock_type::now();
  constexpr int per_batch = 1000;
  for (int64_t i = 0; i < o.runs;) {
    storage::write_batch b;
    for (int k = 0; k < per_batch && i < o.runs; ++k, ++i) {
      auto info = make_run(i, now, rng);
      b.put_visibility(static_cast<uint32_t>(i % o.shards), info);
    }
    if (auto st = s.write(b); !st.ok()) {
      std::fprintf(stderr, "write failed: %s\n", st.message().c_str());
      std::exit(1);
    }
  }
  std::printf("wrote %lld runs in %.1f s\n", static_cast<long long>(o.runs),
              std::chrono::duration<double>(clock_type::now() - t0).count());
}

storage::visibility_filter filter_of(const std::string& text) {
  auto r = storage::query::parse(text, schema);
  if (auto* e = std::get_if<storage::query::error>(&r)) {
    std::fprintf(stderr, "%s\n", e->message().c_str());
    std::exit(2);
  }
  storage::visibility_filter f;
  storage::query::plan(std::get<storage::query::parsed>(r), &f);
  return f;
}

// A first page of 100 over every shard; returns the number of runs in it and the indexes used.
size_t list_once(storage::store& s, const options& o, const storage::visibility_filter& f,
                 std::string* index) {
  std::vector<std::pair<std::string, pb::WorkflowExecutionInfo>> all;
  for (uint32_t shard = 0; shard < o.shards; ++shard) {
    storage::visibility_page page;
    auto st = s.list_visibility(shard, "default", f, "", 100, &page);
    if (!st.ok()) std::exit(3);
    *index = page.index;
    for (auto& item : page.items) all.push_back(std::move(item));
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return std::min<size_t>(all.size(), 100);
}

int64_t count_once(storage::store& s, const options& o, const storage::visibility_filter& f,
                   std::string* index) {
  int64_t n = 0;
  for (uint32_t shard = 0; shard < o.shards; ++shard) {
    storage::visibility_count c;
    if (!s.count_visibility(shard, "default", f, &c).ok()) std::exit(3);
    *index = c.index;
    for (auto& [status, k] : c.per_status) n += k;
  }
  return n;
}

template <class Fn>
void timed(const char* kind, const std::string& text, int repeat, Fn fn) {
  std::vector<double> ms;
  std::string index;
  int64_t result = 0;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = clock_type::now();
    result = fn(&index);
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("| %s | `%s` | %lld | %s | %.2f | %.2f |\n", kind, text.c_str(),
              static_cast<long long>(result), index.c_str(), ms[ms.size() / 2], ms.back());
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  auto usage = [&] {
    std::fprintf(stderr, "usage: %s [--runs N] [--shards N] [--repeat N] [--dir PATH]\n", argv[0]);
    return 2;
  };
  // Every option takes a value: an odd argument count (e.g. --help) is a usage error.
  if (argc % 2 == 0) return usage();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    try {
      if (k == "--runs") o.runs = std::stoll(v);
      else if (k == "--shards") o.shards = static_cast<uint32_t>(std::stoul(v));
      else if (k == "--repeat") o.repeat = std::stoi(v);
      else if (k == "--dir") o.dir = v;
      else return usage();
    } catch (const std::exception&) {
      std::fprintf(stderr, "%s: '%s' is not a number\n", k.c_str(), v.c_str());
      return 2;
    }
  }
  const bool temp = o.dir.empty();
  if (temp)
    o.dir = (std::filesystem::temp_directory_path() / "chronicle-visibility-bench").string();
  const bool exists = std::filesystem::exists(o.dir);
  storage::status st;
  auto s = storage::store::open(o.dir, o.shards, storage::durability::os, &st);
  if (!s) {
    std::fprintf(stderr, "open: %s\n", st.message().c_str());
    return 1;
  }
  if (!exists || temp) fill(*s, o);
  std::printf("| kind | query | runs | index | p50 ms | max ms |\n|---|---|---|---|---|---|\n");
  const std::vector<std::string> lists = {
    "",
    "CustomerId = 'c-42'",
    "WorkflowType = 'T2' AND ExecutionStatus = 'Running' AND CustomerId = 'c-42'",
    "Region = 'eu' AND Amount = 7",
    "Tags = 'tag-3' AND ExecutionStatus = 'Running'",
    "ExecutionStatus = 'Running' AND StartTime > '2026-01-01T00:00:00Z'",
    "CustomerId = 'c-42' OR CustomerId = 'c-43'",
    "Amount BETWEEN 500 AND 501 AND Region = 'eu'",
    "Amount = 999 AND CustomerId STARTS_WITH 'c-99'",
  };
  for (const auto& q : lists) {
    auto f = filter_of(q);
    timed("list", q, o.repeat, [&](std::string* index) {
      return static_cast<int64_t>(list_once(*s, o, f, index));
    });
  }
  const std::vector<std::string> counts = {
    "CustomerId = 'c-42'",
    "WorkflowType = 'T2' AND CustomerId = 'c-42'",
    "ExecutionStatus = 'Running'",
    "WorkflowType = 'T2' AND ExecutionStatus = 'Running'",
    "Region = 'eu'",
    "GROUP BY ExecutionStatus",
  };
  for (const auto& q : counts) {
    auto f = filter_of(q);
    timed("count", q, std::max(1, o.repeat / 4), [&](std::string* index) { return count_once(*s, o, f, index); });
  }
  s.reset();
  if (temp) std::filesystem::remove_all(o.dir);
  return 0;
}
