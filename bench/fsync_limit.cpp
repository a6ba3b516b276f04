// fsync-limit: how many synced RocksDB WriteBatches per second this machine's disk allows, the
// ceiling of a node that syncs every transition. Prints one JSON line per measurement:
//   synced from 1 thread, synced from N threads (RocksDB group commit), unsynced from 1 thread.
//
//   fsync-limit [--dir DIR] [--seconds 3] [--threads 16]
//
// Each batch holds two small Puts, like a small workflow transition. The database lives in a
// fresh directory under --dir (default <bin>/../fsync-tmp, i.e. the build tree's disk) and is
// removed afterwards.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using clock_type = std::chrono::steady_clock;

namespace {

struct measurement {
  bool sync = true;
  int threads = 1;
};

std::string executable_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

double round_to(double v, int digits) {
  double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

// Writes batches from `m.threads` threads for `seconds`; returns the JSON line, or an "error".
ojson measure(rocksdb::DB& db, const measurement& m, double seconds) {
  rocksdb::WriteOptions wo;
  wo.sync = m.sync;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> writes{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::vector<int64_t> max_us(m.threads, 0);

  auto body = [&](int t) {
    const std::string value(64, 'v');
    int64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      rocksdb::WriteBatch batch;
      std::string key = "t" + std::to_string(t) + "-" + std::to_string(n++);
      batch.Put(key + "/event", value);
      batch.Put(key + "/state", value);
      auto t0 = clock_type::now();
      auto s = db.Write(wo, &batch);
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0);
      if (!s.ok()) {
        if (!failed.exchange(true)) error = s.ToString();
        stop = true;
        return;
      }
      max_us[t] = std::max<int64_t>(max_us[t], us.count());
      writes.fetch_add(1, std::memory_order_relaxed);
    }
  };
  auto begin = clock_type::now();
  {
    std::vector<std::jthread> pool;
    for (int t = 0; t < m.threads; ++t) pool.emplace_back(body, t);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
  }
  double elapsed = std::chrono::duration<double>(clock_type::now() - begin).count();

  ojson out;
  out["measure"] = "rocksdb_write_batch";
  out["sync"] = m.sync;
  out["threads"] = m.threads;
  out["seconds"] = round_to(elapsed, 3);
  out["writes"] = writes.load();
  out["writes_per_s"] = round_to(static_cast<double>(writes.load()) / elapsed, 1);
  // Average time one thread waits for one write (includes waiting for the group's leader).
  out["avg_write_us"] = writes.load() > 0
                          ? round_to(elapsed * 1e6 * m.threads / static_cast<double>(writes.load()), 1)
                          : 0.0;
  out["max_write_us"] = *std::max_element(max_us.begin(), max_us.end());
  if (failed) out["error"] = error;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measures synced and unsynced RocksDB WriteBatches per second on this disk"};
  std::string dir = (fs::path(executable_dir()).parent_path() / "fsync-tmp").string();
  double seconds = 3;
  int group_threads = 16;
  app.add_option("--dir", dir, "parent of the temp database (put it on the disk to measure)")
    ->capture_default_str();
  app.add_option("--seconds", seconds, "duration of each measurement")
    ->check(CLI::Range(0.1, 60.0))->capture_default_str();
  app.add_option("--threads", group_threads, "threads of the group-commit measurement")
    ->check(CLI::Range(2, 256))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << "fsync-limit: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  const fs::path db_dir = fs::weakly_canonical(fs::path(dir))
                          / ("db-" + std::to_string(::getpid()));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  rocksdb::DB* raw = nullptr;  // RocksDB's API hands out an owning raw pointer
  auto s = rocksdb::DB::Open(options, db_dir.string(), &raw);
  if (!s.ok()) {
    std::cerr << "fsync-limit: cannot open RocksDB at " << db_dir << ": " << s.ToString() << "\n";
    return 1;
  }
  std::unique_ptr<rocksdb::DB> db(raw);

  int rc = 0;
  for (auto m : {measurement{true, 1}, measurement{true, group_threads}, measurement{false, 1}}) {
    auto line = measure(*db, m, seconds);
    line["dir"] = db_dir.string();
    if (line.contains("error")) rc = 1;
    std::cout << line.dump() << std::endl;
  }
  db.reset();
  fs::remove_all(db_dir, ec);
  if (fs::is_empty(dir, ec)) fs::remove(dir, ec);
  return rc;
}
