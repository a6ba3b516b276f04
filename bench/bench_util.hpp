// Small helpers shared by the bench programs that drive a node through the client library
// (chronicle-scale, chronicle-schedule-bench): elapsed time, rounding for JSON output, and
// waiting until every shard of a freshly started node is served.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>

#include "worker/client.hpp"

namespace chronicle::bench {

using clock_type = std::chrono::steady_clock;

inline double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

inline double round2(double v) { return std::round(v * 100) / 100; }

// Milliseconds until the cluster status reports all `shards` available, or -1 after limit_ms.
inline double wait_shards_ready(client& c, uint32_t shards, double limit_ms) {
  auto t0 = clock_type::now();
  while (ms_since(t0) < limit_ms) {
    if (auto st = c.cluster_status(true)) {
      uint32_t ready = 0;
      for (auto& n : st->nodes())
        for (auto& s : n.shards()) ready += s.available();
      if (ready == shards) return ms_since(t0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace chronicle::bench
