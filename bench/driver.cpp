#include "bench/driver.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include <future>

#include "bench/http_driver.hpp"
#include "protocol/messages.hpp"
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
  int64_t retried = 0;  // requests answered `unavailable` and sent again (actor driver)
  std::vector<std::string> errors;

  void fail(const std::string& why) {
    ++failed;
    note(why);
  }
  // A workflow's result (or the error getting it), started at t0.
  void record(const std::string& wid, const caf::expected<pb::GetResultResponse>& res,
              clock_type::time_point t0) {
    auto t1 = clock_type::now();
    if (!res) return fail("result: " + error_text(res.error()));
    if (res->status() != pb::WORKFLOW_EXECUTION_STATUS_COMPLETED)
      return fail(std::string("workflow closed as ") + status_name(res->status()) + ": "
                  + res->failure().message());
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    completed_ids.push_back(wid);
  }
  void note(const std::string& why) {
    if (errors.size() < max_errors && std::find(errors.begin(), errors.end(), why) == errors.end())
      errors.push_back(why);
  }
};

pb::StartWorkflowRequest start_request(const run_options& opts, int64_t n) {
  pb::StartWorkflowRequest req;
  req.set_namespace_(opts.ns);
  req.set_workflow_id(opts.id_prefix + "-" + std::to_string(n));
  req.set_workflow_type(opts.workflow_type);
  req.set_task_queue(opts.task_queue);
  req.set_identity("chronicle-bench");
  req.set_request_id(req.workflow_id());  // a retried start is idempotent
  sdk::json input = {{"n", n}};
  *req.mutable_input() = sdk::to_payload(input);
  return req;
}

// Starts workflow `n` and waits for its result; records latency or the failure.
void run_one(client& c, const run_options& opts, int64_t n, thread_out& out) {
  auto req = start_request(opts, n);
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
  out.record(req.workflow_id(),
             c.result(opts.ns, req.workflow_id(), started->run_id(), opts.result_timeout), t0);
}

// Adds the history length of every workflow the thread completed.
void count_events(client& c, const run_options& opts, thread_out& out) {
  for (const auto& id : out.completed_ids) {
    auto d = c.describe(opts.ns, id);
    if (d) out.events += d->history_length();
    else ++out.events_unknown;
  }
}


// ---- the actor driver -------------------------------------------------------------------------

using watchdog_atom = caf::atom_constant<caf::atom("watchdog")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;

struct driver_state {
  const run_options* opts = nullptr;
  caf::actor node;
  thread_out* out = nullptr;
  std::promise<void>* finished = nullptr;
  int64_t next = 0;
  int64_t in_flight = 0;
  bool over = false;  // watchdog fired: what is still in flight has failed
  // Requests answered `unavailable` (a shard changing leader), sent again after a pause as the
  // client library does (starts and signals carry request IDs: a retry is recorded once).
  std::map<uint64_t, std::function<void()>> retries;
  uint64_t next_retry = 0;
};

using driver_ptr = caf::stateful_actor<driver_state>*;

void launch(driver_ptr self);
void ended(driver_ptr self);

// The error handler of a request in workflow n's chain: `unavailable` sends it again (`again`)
// 50 ms later; another error counts the failure and goes on.
auto failing(driver_ptr self, const char* step, std::function<void()> again) {
  return [self, step, again = std::move(again)](caf::error& err) {
    auto& st = self->state;
    if (st.over) return;
    if (chronicle_code(err) == static_cast<uint8_t>(errc::unavailable)) {
      ++st.out->retried;
      auto id = ++st.next_retry;
      st.retries.emplace(id, again);
      self->delayed_send(self, std::chrono::milliseconds(50), retry_atom::value, id);
      return;
    }
    st.out->fail(std::string(step) + ": " + error_text(err));
    ended(self);
  };
}

// Workflow n ended (ok or not): start the next one, or finish when none is left.
void ended(driver_ptr self) {
  auto& st = self->state;
  if (st.over) return;
  --st.in_flight;
  launch(self);
  if (st.in_flight == 0) {
    st.over = true;
    st.finished->set_value();
    self->quit();
  }
}

void ask_result(driver_ptr self, std::string wid, std::string run_id,
                clock_type::time_point t0) {
  auto& st = self->state;
  pb::GetResultRequest req;
  req.set_namespace_(st.opts->ns);
  req.set_workflow_id(wid);
  req.set_run_id(run_id);
  self->request(st.node, caf::infinite, result_atom::value, encode(req))
    .then(
      [=](const std::string& bytes) {
        if (self->state.over) return;
        self->state.out->record(wid, decode<pb::GetResultResponse>(bytes, "GetResultResponse"),
                                t0);
        ended(self);
      },
      failing(self, "result", [=] { ask_result(self, wid, run_id, t0); }));
}

void send_signal(driver_ptr self, pb::SignalWorkflowRequest sig, clock_type::time_point t0) {
  self->request(self->state.node, caf::infinite, signal_atom::value, encode(sig))
    .then([=](const std::string&) { ask_result(self, sig.workflow_id(), sig.run_id(), t0); },
          failing(self, "signal", [=] { send_signal(self, sig, t0); }));
}

void send_start(driver_ptr self, pb::StartWorkflowRequest req, clock_type::time_point t0);

void launch(driver_ptr self) {
  auto& st = self->state;
  if (st.over || st.next >= st.opts->workflows) return;
  auto req = start_request(*st.opts, st.next++);
  ++st.in_flight;
  send_start(self, std::move(req), clock_type::now());
}

void send_start(driver_ptr self, pb::StartWorkflowRequest req, clock_type::time_point t0) {
  auto& st = self->state;
  self->request(st.node, caf::infinite, start_atom::value, encode(req))
    .then(
      [=](const std::string& bytes) {
        auto& st = self->state;
        if (st.over) return;
        auto started = decode<pb::StartWorkflowResponse>(bytes, "StartWorkflowResponse");
        if (!started) {
          st.out->fail("start: " + error_text(started.error()));
          return ended(self);
        }
        auto run_id = started->run_id();
        if (!st.opts->send_signal) return ask_result(self, req.workflow_id(), run_id, t0);
        pb::SignalWorkflowRequest sig;
        sig.set_namespace_(st.opts->ns);
        sig.set_workflow_id(req.workflow_id());
        sig.set_run_id(run_id);
        sig.set_signal_name("go");
        *sig.mutable_input() = req.input();
        sig.set_identity("chronicle-bench");
        sig.set_request_id(req.workflow_id() + "-go");
        send_signal(self, std::move(sig), t0);
      },
      failing(self, "start", [=] { send_start(self, req, t0); }));
}

caf::behavior driver_actor(driver_ptr self, const run_options* opts, caf::actor node,
                           thread_out* out, std::promise<void>* finished) {
  auto& st = self->state;
  st.opts = opts;
  st.node = std::move(node);
  st.out = out;
  st.finished = finished;
  // One watchdog for the whole run instead of a timeout per request.
  self->delayed_send(self, opts->max_duration + opts->result_timeout, watchdog_atom::value);
  for (int i = 0; i < std::max(1, opts->concurrency); ++i) launch(self);
  if (st.in_flight == 0) {
    st.over = true;
    finished->set_value();
    self->quit();
  }
  return {
    [=](retry_atom, uint64_t id) {
      auto& st = self->state;
      auto it = st.retries.find(id);
      if (it == st.retries.end()) return;
      auto again = std::move(it->second);
      st.retries.erase(it);
      if (!st.over) again();
    },
    [=](watchdog_atom) {
      auto& st = self->state;
      if (st.over) return;
      st.out->failed += st.in_flight + (st.opts->workflows - st.next);
      st.out->note("the run took longer than "
                   + std::to_string((st.opts->max_duration + st.opts->result_timeout).count())
                   + " ms");
      st.over = true;
      st.finished->set_value();
      self->quit();
    },
  };
}

run_result collect(std::vector<thread_out>& outs, double seconds) {
  run_result r;
  r.seconds = seconds;
  for (auto& out : outs) {
    r.latencies_ms.insert(r.latencies_ms.end(), out.latencies_ms.begin(), out.latencies_ms.end());
    r.failed += out.failed;
    r.events += out.events;
    r.events_unknown += out.events_unknown;
    r.retried += out.retried;
    for (auto& e : out.errors)
      if (r.errors.size() < max_errors
          && std::find(r.errors.begin(), r.errors.end(), e) == r.errors.end())
        r.errors.push_back(e);
  }
  r.completed = static_cast<int64_t>(r.latencies_ms.size());
  std::sort(r.latencies_ms.begin(), r.latencies_ms.end());
  return r;
}

run_result run_with_actor(caf::actor_system& sys, const run_options& opts) {
  std::vector<thread_out> outs(1);
  auto& out = outs[0];
  auto c = client::connect(sys, opts.host, opts.port);
  if (!c) {
    out.note("connect: " + error_text(c.error()));
    out.failed = opts.workflows;
    return collect(outs, 0);
  }
  if (opts.on_timing_start) opts.on_timing_start();
  auto begin = clock_type::now();
  std::promise<void> finished;
  auto done = finished.get_future();
  sys.spawn(driver_actor, &opts, c->node(), &out, &finished);
  done.wait();
  auto end = clock_type::now();
  if (opts.on_timing_end) opts.on_timing_end();
  if (opts.count_events) {
    auto counted = count_history_events(sys, opts, out.completed_ids);
    out.events += counted.first;
    out.events_unknown += counted.second;
  }
  return collect(outs, std::chrono::duration<double>(end - begin).count());
}

}  // namespace

std::pair<int64_t, int64_t> count_history_events(caf::actor_system& sys, const run_options& opts,
                                                 const std::vector<std::string>& ids) {
  // Untimed: describe from as many threads as the run had in flight (at most 16).
  int threads = std::clamp(opts.concurrency, 1, 16);
  std::vector<thread_out> parts(threads);
  for (size_t i = 0; i < ids.size(); ++i) parts[i % threads].completed_ids.push_back(ids[i]);
  {
    std::vector<std::jthread> pool;
    for (auto& part : parts)
      pool.emplace_back([&] {
        auto cc = client::connect(sys, opts.host, opts.port);
        if (!cc) {
          part.events_unknown += static_cast<int64_t>(part.completed_ids.size());
          return;
        }
        count_events(*cc, opts, part);
      });
  }
  std::pair<int64_t, int64_t> sum{0, 0};
  for (auto& part : parts) {
    sum.first += part.events;
    sum.second += part.events_unknown;
  }
  return sum;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

namespace {

run_result run_with_threads(caf::actor_system& sys, const run_options& opts) {
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

  return collect(outs, std::chrono::duration<double>(end - begin).count());
}

}  // namespace

run_result run_workflows(caf::actor_system& sys, const run_options& opts) {
  if (opts.driver == "http" || opts.driver == "http-wait") return run_with_http(sys, opts);
  return opts.driver == "threads" ? run_with_threads(sys, opts) : run_with_actor(sys, opts);
}

}  // namespace chronicle::bench
