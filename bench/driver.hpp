// The load driver: starts W workflows, C in flight at once, and measures start -> result latency.
// Drivers: `actor` (default) keeps C request chains in flight from one event-based CAF actor
// (start, [signal,] result, next), as a program using the node's API asynchronously would;
// `threads` runs C client threads, each with its own blocking chronicle::client and one workflow
// in flight. Both send the same requests; the threads cost the bench's own process more CPU
// (a thread wake-up per reply, a request timeout per call) on the cores the node shares.
// `http` and `http-wait` go through the node's HTTP gateway instead (bench/http_driver.hpp).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace chronicle::bench {

struct run_options {
  std::string host;
  uint16_t port = 0;
  std::string ns = "default";
  std::string task_queue;
  std::string workflow_type;
  bool send_signal = false;       // signal "go" after the start (signal-roundtrip)
  std::string id_prefix;          // workflow IDs are "<id_prefix>-<n>"
  int64_t workflows = 0;
  int concurrency = 1;
  std::chrono::milliseconds result_timeout{60'000};
  std::chrono::seconds max_duration{120};  // no new workflow starts after this; the rest fail
  bool count_events = true;       // describe every completed workflow after the timed phase
  std::string driver = "actor";   // actor | threads | http | http-wait (bench/http_driver.hpp)
  uint16_t http_port = 0;         // the node's http_port (http drivers)
  std::function<void()> on_timing_start;  // called when the clock starts and stops (once each)
  std::function<void()> on_timing_end;
};

struct run_result {
  double seconds = 0;                // first start sent -> last result received
  std::vector<double> latencies_ms;  // one per completed workflow, sorted
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t events = 0;                // history events of the completed workflows
  int64_t events_unknown = 0;        // completed workflows whose describe failed
  int64_t retried = 0;               // requests answered `unavailable` and sent again
  std::vector<std::string> errors;   // a few distinct error messages
};

// Runs the workload. Errors of single workflows are counted in the result; a client that cannot
// connect counts every workflow it would have run as failed.
run_result run_workflows(caf::actor_system& sys, const run_options& opts);

// The history lengths of `ids` (describe over the CAF client, from up to 16 threads): the sum and
// how many could not be described.
std::pair<int64_t, int64_t> count_history_events(caf::actor_system& sys, const run_options& opts,
                                                 const std::vector<std::string>& ids);

// The p-th percentile (0..100, nearest rank) of sorted values; 0 when empty.
double percentile(const std::vector<double>& sorted, double p);

}  // namespace chronicle::bench
