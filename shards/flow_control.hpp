// Flow control of an activity task queue (docs/semantics.md "Flow control"): a rate limit on the
// activities a queue hands out and a limit on the activities of one fairness key that run at once.
// Pure: the task queue actor (actors/matching/task_queue_actor.cpp) keeps the counts and the clock
// and asks these rules which task may go next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chronicle {

struct flow_limits {
  double activities_per_second = 0;  // 0: no rate limit
  int32_t max_running_per_key = 0;   // 0: no per-key limit
  [[nodiscard]] bool any() const { return activities_per_second > 0 || max_running_per_key > 0; }
  friend bool operator==(const flow_limits&, const flow_limits&) = default;
};

// The limits of a queue from those its workers registered with: the smallest set value of each
// (a worker that sets none does not lift another's limit). Values out of range are ignored.
flow_limits combine_limits(const std::vector<flow_limits>& registered);

// A token bucket: `rate` tokens a second, at most max(1, rate) saved up (a burst of one second).
class rate_bucket {
public:
  // A new rate (0: unlimited). The bucket starts full.
  void set_rate(double rate, int64_t now_ms);
  double rate() const { return rate_; }
  // Takes a token when one is there (always with no rate). Returns whether it did.
  bool take(int64_t now_ms);
  // How long until a token is there (0: now).
  int64_t wait_ms(int64_t now_ms);

private:
  void refill(int64_t now_ms);
  double rate_ = 0;
  double tokens_ = 0;
  int64_t last_ms_ = 0;
};

// Whether a task of fairness key `key` must wait: `max_per_key` activities of that key run already
// (`running`: by key). Tasks without a key ("") are never held back; max_per_key 0: no limit.
bool held_back(const std::string& key, const std::map<std::string, int32_t>& running,
               int32_t max_per_key);

}  // namespace chronicle
