// Heartbeat throttling: which heartbeats are sent when (times given by the test, no clock).
#include <doctest/doctest.h>

#include "worker/sdk/heartbeat_throttle.hpp"

using namespace chronicle::sdk;
using namespace std::chrono_literals;

namespace {
const heartbeat_throttle::time_point t0{};
}

TEST_CASE("throttle interval is 80 percent of the heartbeat timeout else Temporal's default") {
  CHECK(heartbeat_throttle_interval(10'000, 0) == 8000ms);
  CHECK(heartbeat_throttle_interval(10'000, 5'000) == 8000ms);  // the heartbeat timeout rules
  CHECK(heartbeat_throttle_interval(0, 0) == 30'000ms);
  CHECK(heartbeat_throttle_interval(0, 600'000) == 30'000ms);   // capped at 30 s
  CHECK(heartbeat_throttle_interval(0, 10'000) == 8000ms);      // 80 % of start-to-close
  CHECK(heartbeat_throttle_interval(1, 0) == 1ms);              // never 0
}

TEST_CASE("the first heartbeat goes at once - later ones in the window are coalesced and the last wins") {
  heartbeat_throttle th(1000ms);
  CHECK(th.offer("a", t0) == std::optional<std::string>("a"));
  CHECK_FALSE(th.due_at());
  CHECK_FALSE(th.offer("b", t0 + 100ms));
  CHECK_FALSE(th.offer("c", t0 + 200ms));
  CHECK(th.due_at() == t0 + 1000ms);
  CHECK_FALSE(th.due(t0 + 999ms));  // not yet
  CHECK(th.due(t0 + 1000ms) == std::optional<std::string>("c"));
  CHECK_FALSE(th.due_at());  // nothing kept
  // A new window started at 1000 ms: a heartbeat at 1500 ms is kept, one at 2000 ms goes.
  CHECK_FALSE(th.offer("d", t0 + 1500ms));
  CHECK(th.offer("e", t0 + 2000ms) == std::optional<std::string>("e"));
  CHECK_FALSE(th.take());  // "d" was superseded by the one sent
}

TEST_CASE("kept details are flushed before the outcome whatever the window") {
  heartbeat_throttle th(30'000ms);
  CHECK(th.offer("1", t0));
  for (int i = 2; i <= 100; ++i) CHECK_FALSE(th.offer(std::to_string(i), t0 + i * 1ms));
  CHECK(th.take() == std::optional<std::string>("100"));
  CHECK_FALSE(th.take());
  CHECK_FALSE(th.due(t0 + 60'000ms));  // nothing left to send
}

TEST_CASE("a heartbeat after a quiet window goes at once") {
  heartbeat_throttle th(1000ms);
  CHECK(th.offer("a", t0));
  CHECK(th.offer("b", t0 + 5000ms) == std::optional<std::string>("b"));
}
