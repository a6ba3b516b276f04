// End-to-end: the sticky cache. A real chronicle-node process and workers in this process (the
// SDK's worker actor over CAF on loopback): after a run's first workflow task, its tasks carry only
// the events since the previous one and the worker's suspended code goes on from there; a worker
// that lacks the earlier events asks the node for them.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "deployment.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

// "Steps": input n; runs activity "Step" n times in sequence and returns the sum of its results.
sdk::task<sdk::json> steps(sdk::workflow_context& ctx, sdk::json input) {
  int sum = 0;
  for (int i = 0; i < input.get<int>(); ++i) {
    sdk::json r = co_await ctx.activity("Step", i);
    sum += r.get<int>();
  }
  co_return sum;
}

// "Napper": two activities, each followed by a sleep of `input` ms (long enough to passivate).
sdk::task<sdk::json> napper(sdk::workflow_context& ctx, sdk::json input) {
  for (int i = 0; i < 2; ++i) {
    co_await ctx.activity("Step", i);
    co_await ctx.sleep(std::chrono::milliseconds(input.get<int>()));
  }
  co_return "rested";
}

// Activities of workflow IDs starting with "held-" wait until release() is called.
struct gate {
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
  std::once_flag once;
  void release() { std::call_once(once, [this] { open.set_value(); }); }
};

std::shared_ptr<const sdk::registry> make_registry(std::shared_ptr<gate> g) {
  auto reg = std::make_shared<sdk::registry>();
  reg->register_workflow("Steps", steps);
  reg->register_workflow("Napper", napper);
  reg->register_activity("Step", [g](const sdk::activity_info& info, const sdk::json& in) {
    if (info.workflow_id.rfind("held-", 0) == 0) g->opened.wait();
    return sdk::json(in.get<int>() * 10);
  });
  return reg;
}

struct sticky_deployment {
  single_node d;
  std::shared_ptr<gate> g = std::make_shared<gate>();
  std::vector<caf::actor> workers;
  std::vector<std::shared_ptr<worker_stats>> stats;

  explicit sticky_deployment(const std::string& extra_config = {}) : d(extra_config) {
    d.start_node();
  }
  ~sticky_deployment() {
    g->release();  // no activity thread left waiting
    for (auto& w : workers) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  }

  worker_stats& add_worker(size_t cache_size) {
    worker_options o;
    o.port = d.port;
    o.task_queue = "steps";
    o.identity = "sticky-test-" + std::to_string(workers.size());
    o.sticky_cache_size = cache_size;
    o.stats = std::make_shared<worker_stats>();
    stats.push_back(o.stats);
    workers.push_back(spawn_worker(test_system(), o, make_registry(g)));
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!o.stats->registered && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    REQUIRE(o.stats->registered);
    return *o.stats;
  }

  void start(client& c, const std::string& wid, int n, const std::string& type = "Steps") {
    auto req = start_request(wid, type, n);
    req.set_task_queue("steps");
    auto resp = c.start(req);
    REQUIRE_MESSAGE(resp, error_text(resp));
  }

  void check_result(client& c, const std::string& wid, int n) {
    auto res = c.result("", wid, "", 30s);
    REQUIRE_MESSAGE(res, error_text(res));
    REQUIRE(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
    CHECK(sdk::from_payload(res->result()) == 10 * n * (n - 1) / 2);
    auto h = c.history("", wid);
    REQUIRE(h);
    for (auto& ev : h->events()) {
      CHECK(ev.event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_FAILED);
      CHECK(ev.event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
    }
  }
};

}  // namespace

TEST_CASE("sticky cache: after the first task a run's tasks carry only new events") {
  sticky_deployment s;
  auto& stats = s.add_worker(100);
  auto c = s.d.connect();
  s.start(c, "ten-steps", 10);
  s.check_result(c, "ten-steps", 10);
  CHECK(stats.full.load() == 1);       // the first task: the whole (short) history
  CHECK(stats.resumed.load() == 10);   // one per activity completed: only the new events
  CHECK(stats.replayed.load() == 0);
  CHECK(stats.fetched.load() == 0);
}

TEST_CASE("sticky cache: a worker without a cache is sent whole histories") {
  sticky_deployment s;
  auto& stats = s.add_worker(0);
  auto c = s.d.connect();
  s.start(c, "ten-steps", 10);
  s.check_result(c, "ten-steps", 10);
  CHECK(stats.full.load() == 11);
  CHECK(stats.resumed.load() == 0);
  CHECK(stats.fetched.load() == 0);
}

TEST_CASE("sticky cache: an evicted run's next task fetches the whole history from the node") {
  sticky_deployment s;
  auto& stats = s.add_worker(1);  // room for one run
  auto c = s.d.connect();
  s.start(c, "held-a", 3);  // its first activity waits at the gate
  wait_until(c, "held-a", [](const pb::DescribeWorkflowResponse& r) {
    return r.pending_activities_size() == 1;
  }, "held-a's activity is pending");
  s.start(c, "free-b", 3);  // runs to the end meanwhile, evicting held-a from the cache
  s.check_result(c, "free-b", 3);
  CHECK(stats.evicted.load() >= 1);
  CHECK(stats.fetched.load() == 0);
  s.g->release();
  s.check_result(c, "held-a", 3);
  CHECK(stats.fetched.load() == 1);      // held-a's second task: new events, and the cache lacked the rest
  CHECK(stats.full.load() == 3);         // the two first tasks and the fetched one
  CHECK(stats.resumed.load() == 3 + 2);  // free-b's last three, held-a's last two
}

TEST_CASE("sticky cache: two workers on one queue - each run's tasks stay with its worker") {
  sticky_deployment s;
  auto& w0 = s.add_worker(100);
  auto& w1 = s.add_worker(100);
  auto c = s.d.connect();
  constexpr int runs = 8, n = 5;
  for (int i = 0; i < runs; ++i) s.start(c, "pair-" + std::to_string(i), n);
  for (int i = 0; i < runs; ++i) s.check_result(c, "pair-" + std::to_string(i), n);
  CHECK(w0.full + w1.full == runs);  // one whole history per run: the rest went to its worker
  CHECK(w0.resumed + w1.resumed == runs * n);
  CHECK(w0.fetched + w1.fetched == 0);
  CHECK(w0.full > 0);  // both served runs (first tasks go round-robin)
  CHECK(w1.full > 0);
}

TEST_CASE("sticky cache: a run passivated between tasks still gets only new events after it wakes") {
  sticky_deployment s("passivate_after_ms: 100\n");
  auto& stats = s.add_worker(100);
  auto c = s.d.connect();
  s.start(c, "napper", 800, "Napper");  // each sleep outlasts passivation 8 times
  // Polled (describe reads the store): a waiting result request would keep the execution active.
  wait_until(c, "napper", [](const pb::DescribeWorkflowResponse& r) {
    return r.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED;
  }, "napper completed");
  auto res = c.result("", "napper", "", 30s);
  REQUIRE_MESSAGE(res, error_text(res));
  CHECK(sdk::from_payload(res->result()) == "rested");
  // Five tasks: the first, after each activity and after each timer (the execution was
  // passivated while sleeping and reloaded from disk by the timer, the sticky worker with it).
  CHECK(stats.full.load() == 1);
  CHECK(stats.resumed.load() == 4);
  CHECK(stats.fetched.load() == 0);
}
