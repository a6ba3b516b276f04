// Heartbeat throttling (Temporal's): an activity may call heartbeat() as often as it likes; the
// worker sends at most one heartbeat per interval. The first of a window goes at once; later ones
// are kept (the last details win) and sent when the window ends, or flushed before the activity's
// outcome so that no details are lost. The caller passes "now": no clock inside (tests pass theirs).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace chronicle::sdk {

// 80 % of the heartbeat timeout; without one, the lesser of 30 s and 80 % of the start-to-close
// timeout (30 s when neither is set). Never less than 1 ms.
std::chrono::milliseconds heartbeat_throttle_interval(int64_t heartbeat_timeout_ms,
                                                      int64_t start_to_close_timeout_ms);

class heartbeat_throttle {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit heartbeat_throttle(std::chrono::milliseconds interval) : interval_(interval) {}

  // A heartbeat (its bytes, opaque here) at `now`: returned when it is to be sent now (the window
  // is over; a new one starts), else kept in place of any earlier kept one, and nullopt.
  std::optional<std::string> offer(std::string heartbeat, time_point now);

  // When kept details are due (the end of the window), or nullopt when none is kept.
  std::optional<time_point> due_at() const;

  // The kept heartbeat if its window is over at `now` (a new window starts), else nullopt.
  std::optional<std::string> due(time_point now);

  // The kept heartbeat whatever the window (before the activity's outcome is sent), or nullopt.
  std::optional<std::string> take();

 private:
  std::chrono::milliseconds interval_;
  std::optional<time_point> window_end_;  // none yet: the first heartbeat goes at once
  std::optional<std::string> kept_;
};

}  // namespace chronicle::sdk
