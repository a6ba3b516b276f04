#include "bench/driver.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <optional>
#include <thread>

#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::bench {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr size_t max_errors = 5;

// What one client thread saw; each thread writes only its own.
struct thread_out {
  std::vector<double> latencies_ms;
  std::vector<std::string> completed_ids;
  int64_t failed = 0;
  int64_t events = 0;
  int64_t events_unknown = 0;
  std::vector<std::string> errors;

  void fail(const std::string& why) {
    ++failed;
    note(why);
  }
  void note(const std::string& why) {
    if (errors.size() < max_errors && std::find(errors.begin(), errors.end(), why) == errors.end())
      errors.push_back(why);
  }
};

// Starts workflow `n` and waits for its result; records latency or the failure.
void run_one(client& c, const run_options& opts, int64_t n, thread_out& out) {
  pb::StartWorkflowRequest req;
  req.set_namespace_(opts.ns);
  req.set_workflow_id(opts.id_prefix + "-" + std::to_string(n));
  req.set_workflow_type(opts.workflow_type);
  req.set_task_queue(opts.task_queue);
  req.set_identity("chronicle-bench");
  req.set_request_id(req.workflow_id());  // a retried start is idempotent
  sdk::json input = {{"n", n}};
  *req.mutable_input() = sdk::to_payload(input);

  auto t0 = clock_type::now();
  auto started = c.start(req);
  if (!started) {
    out.fail("start: " + error_text(started.error()));
    return;
  }
  if (opts.send_signal) {
    auto sig = c.signal(opts.ns, req.workflow_id(), started->run_id(), "go", req.input());
    if (!sig) {
      out.fail("signal: " + error_text(sig.error()));
      return;
    }
  }
  auto res = c.result(opts.ns, req.workflow_id(), started->run_id(), opts.result_timeout);
  auto t1 = clock_type::now();
  if (!res) {
    out.fail("result: " + error_text(res.error()));
    return;
  }
  if (res->status() != pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) {
    out.fail(std::string("workflow closed as ") + status_name(res->status()) + ": "
             + res->failure().message());
    return;
  }
  out.latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  out.completed_ids.push_back(req.workflow_id());
}

// Adds the history length of every workflow the thread completed.
void count_events(client& c, const run_options& opts, thread_out& out) {
  for (const auto& id : out.completed_ids) {
    auto d = c.describe(opts.ns, id);
    if (d) out.events += d->history_length();
    else ++out.events_unknown;
  }
}

}  // namespace

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

run_result run_workflows(caf::actor_system& sys, const run_options& opts) {
  const int threads = std::max(1, opts.concurrency);
  std::vector<thread_out> outs(threads);
  std::atomic<int64_t> next{0};
  clock_type::time_point begin, end;

  // Phase 1: every thread connects. Phase 2 (timed): threads take workflow numbers until W are
  // taken. Phase 3: threads describe their workflows to count events (not timed, no load).
  std::barrier connected(threads, [&]() noexcept {
    if (opts.on_timing_start) opts.on_timing_start();
    begin = clock_type::now();
  });
  std::barrier finished(threads, [&]() noexcept {
    end = clock_type::now();
    if (opts.on_timing_end) opts.on_timing_end();
  });

  auto body = [&](thread_out& out) {
    auto c = client::connect(sys, opts.host, opts.port);
    if (!c) out.note("connect: " + error_text(c.error()));
    connected.arrive_and_wait();
    const auto deadline = clock_type::now() + opts.max_duration;
    for (int64_t n = next++; n < opts.workflows; n = next++) {
      if (!c) {
        ++out.failed;
      } else if (clock_type::now() > deadline) {
        out.fail("not started: the run took longer than " + std::to_string(opts.max_duration.count())
                 + " s");
      } else {
        run_one(*c, opts, n, out);
      }
    }
    finished.arrive_and_wait();
    if (c && opts.count_events) count_events(*c, opts, out);
  };
  {
    std::vector<std::jthread> pool;
    pool.reserve(threads);
    for (auto& out : outs) pool.emplace_back(body, std::ref(out));
  }  // jthreads join here

  run_result r;
  r.seconds = std::chrono::duration<double>(end - begin).count();
  for (auto& out : outs) {
    r.latencies_ms.insert(r.latencies_ms.end(), out.latencies_ms.begin(), out.latencies_ms.end());
    r.failed += out.failed;
    r.events += out.events;
    r.events_unknown += out.events_unknown;
    for (auto& e : out.errors)
      if (r.errors.size() < max_errors
          && std::find(r.errors.begin(), r.errors.end(), e) == r.errors.end())
        r.errors.push_back(e);
  }
  r.completed = static_cast<int64_t>(r.latencies_ms.size());
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  return r;
}

}  // namespace chronicle::bench
