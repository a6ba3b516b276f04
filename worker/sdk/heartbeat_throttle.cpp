#include "worker/sdk/heartbeat_throttle.hpp"

#include <algorithm>

namespace chronicle::sdk {

namespace {
constexpr int64_t default_throttle_ms = 30'000;  // Temporal's defaultHeartbeatThrottleInterval
}

std::chrono::milliseconds heartbeat_throttle_interval(int64_t heartbeat_timeout_ms,
                                                      int64_t start_to_close_timeout_ms) {
  int64_t ms = default_throttle_ms;
  if (heartbeat_timeout_ms > 0) ms = heartbeat_timeout_ms * 4 / 5;
  else if (start_to_close_timeout_ms > 0)
    ms = std::min(default_throttle_ms, start_to_close_timeout_ms * 4 / 5);
  return std::chrono::milliseconds(std::max<int64_t>(ms, 1));
}

std::optional<std::string> heartbeat_throttle::offer(std::string heartbeat, time_point now) {
  if (!window_end_ || now >= *window_end_) {
    window_end_ = now + interval_;
    kept_.reset();
    return heartbeat;
  }
  kept_ = std::move(heartbeat);
  return std::nullopt;
}

std::optional<heartbeat_throttle::time_point> heartbeat_throttle::due_at() const {
  if (!kept_) return std::nullopt;
  return window_end_;
}

std::optional<std::string> heartbeat_throttle::due(time_point now) {
  if (!kept_ || (window_end_ && now < *window_end_)) return std::nullopt;
  window_end_ = now + interval_;
  return take();
}

std::optional<std::string> heartbeat_throttle::take() {
  auto out = std::move(kept_);
  kept_.reset();
  return out;
}

}  // namespace chronicle::sdk
