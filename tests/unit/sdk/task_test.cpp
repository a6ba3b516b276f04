// task<T>: laziness, symmetric transfer between nested tasks, results, exceptions, frame ownership.
#include <doctest/doctest.h>

#include "tracked.hpp"

#include <stdexcept>
#include <string>

#include "worker/sdk/task.hpp"

using chronicle::sdk::task;

namespace {

using chronicle::sdk::testing::tracked;

// A hand-made awaitable: suspends until the test resumes the stored handle.
struct gate {
  std::coroutine_handle<> waiter;
  bool open = false;
  struct awaiter {
    gate& g;
    bool await_ready() const noexcept { return g.open; }
    void await_suspend(std::coroutine_handle<> h) noexcept { g.waiter = h; }
    void await_resume() const noexcept {}
  };
  awaiter operator co_await() { return {*this}; }
  void release() {
    open = true;
    if (waiter) std::exchange(waiter, {}).resume();
  }
};

task<int> answer(int& runs) {
  ++runs;
  co_return 42;
}

task<int> add_one(int& runs) {
  tracked t;
  int value = co_await answer(runs);
  co_return value + 1;
}

task<void> wait_gate(gate& g, int& steps) {
  tracked t;
  ++steps;
  co_await g;
  ++steps;
}

task<std::string> outer(gate& g, int& steps) {
  tracked t;
  co_await wait_gate(g, steps);
  co_return std::string("done");
}

task<int> thrower() {
  tracked t;
  throw std::runtime_error("boom");
  co_return 0;
}

task<std::string> catcher() {
  try {
    co_await thrower();
  } catch (const std::runtime_error& e) {
    co_return std::string("caught ") + e.what();
  }
  co_return std::string("not caught");
}

task<int> deep(int n) {
  if (n == 0) co_return 0;
  int below = co_await deep(n - 1);
  co_return below + 1;
}

task<long> loop(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await deep(0) + 1;
  co_return sum;
}

}  // namespace

TEST_CASE("task: is lazy and runs when started") {
  int runs = 0;
  auto t = answer(runs);
  CHECK(t.valid());
  CHECK_FALSE(t.done());
  CHECK(runs == 0);
  t.start();
  CHECK(t.done());
  CHECK(runs == 1);
  CHECK(t.result() == 42);
  CHECK_THROWS_AS(t.result(), std::logic_error);  // the value was taken
}

TEST_CASE("task: nested awaits return values") {
  int runs = 0;
  {
    auto t = add_one(runs);
    t.start();
    REQUIRE(t.done());
    CHECK(t.result() == 43);
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("task: a suspended chain resumes through symmetric transfer") {
  gate g;
  int steps = 0;
  {
    auto t = outer(g, steps);
    t.start();
    CHECK_FALSE(t.done());
    CHECK(steps == 1);
    CHECK(tracked::live == 2);
    g.release();
    CHECK(t.done());
    CHECK(steps == 2);
    CHECK(t.result() == "done");
    CHECK(tracked::live == 0);  // locals die when the body ends, before final suspension
  }
  CHECK(tracked::live == 0);
}

TEST_CASE("task: destroying a suspended chain destroys every frame") {
  gate g;
  int steps = 0;
  {
    auto t = outer(g, steps);
    t.start();
    CHECK(tracked::live == 2);
  }
  CHECK(tracked::live == 0);
  CHECK(steps == 1);
}

TEST_CASE("task: exceptions propagate to the awaiter and to result()") {
  {
    auto t = catcher();
    t.start();
    CHECK(t.result() == "caught boom");
  }
  {
    auto t = thrower();
    t.start();
    REQUIRE(t.done());
    CHECK_THROWS_WITH_AS(t.result(), "boom", std::runtime_error);
  }
  CHECK(tracked::live == 0);
}

// Symmetric transfer is a tail call only with -foptimize-sibling-calls (GCC: -O2); the sizes
// here stay within a default stack at -O0 too.
TEST_CASE("task: deep recursion and long loops of synchronous awaits") {
  auto t = deep(10000);
  t.start();
  CHECK(t.result() == 10000);
  auto l = loop(10000);
  l.start();
  CHECK(l.result() == 10000);
}

TEST_CASE("task: an unstarted task just frees its frame - moves transfer ownership") {
  int runs = 0;
  {
    auto t = add_one(runs);
    auto moved = std::move(t);
    CHECK_FALSE(t.valid());
    CHECK(moved.valid());
    task<int> assigned;
    assigned = std::move(moved);
    CHECK(assigned.valid());
  }
  CHECK(runs == 0);
  CHECK(tracked::live == 0);
  task<int> empty;
  CHECK_THROWS_AS(empty.start(), std::logic_error);
}
