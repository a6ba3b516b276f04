// Flow control of a task queue (docs/semantics.md "Flow control"): a rate limit on the activities
// a queue hands out, per fairness key a limit on the activities that run at once and a rate
// limit, the limits an operator sets (which win over the workers'), and priority keys that order
// a queue's backlog. Pure: the task queue actor (actors/matching/task_queue_actor.cpp) keeps the
// counts and the clock and asks these rules which task may go next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec.hpp"

namespace chronicle {

struct flow_limits {
  double activities_per_second = 0;          // 0: no rate limit
  int32_t max_running_per_key = 0;           // 0: no per-key limit
  double per_key_activities_per_second = 0;  // 0: no per-key rate limit
  [[nodiscard]] bool any() const {
    return activities_per_second > 0 || max_running_per_key > 0 || per_key_activities_per_second > 0;
  }
  friend bool operator==(const flow_limits&, const flow_limits&) = default;
};

// The limits of a queue from those its workers registered with: the smallest set value of each
// (a worker that sets none does not lift another's limit). Values out of range are ignored.
flow_limits combine_limits(const std::vector<flow_limits>& registered);

// Where a limit in force comes from.
enum class limit_source { none, worker, operator_set };
const char* source_name(limit_source s);  // "", "worker", "operator"

struct effective_limits {
  flow_limits limits;
  limit_source rate = limit_source::none;
  limit_source max_running = limit_source::none;
  limit_source key_rate = limit_source::none;
  friend bool operator==(const effective_limits&, const effective_limits&) = default;
};

// The limits a queue applies: each limit the operator set (`op`, may be null) wins over the
// workers' (`workers`, from combine_limits); unset ones are the workers'.
effective_limits apply_operator(const flow_limits& workers, const pb::TaskQueueConfig* op);

// The operator's config of a queue after `req` (at `now_ms`): the limits given replace the
// current ones, those named in `unset` are removed; or why the request is refused (a limit out
// of range, an unknown name to unset, a limit both set and unset, nothing to change). A rate is
// in (0, 1000000], a per-key running limit in 1..100000, a reason at most 1000 bytes.
std::optional<pb::TaskQueueConfig> configured(const pb::TaskQueueConfig& current,
                                              const pb::SetTaskQueueConfigRequest& req,
                                              int64_t now_ms, std::string* why);
// Whether a config sets any limit (one with none is dropped from its namespace's record).
bool sets_any_limit(const pb::TaskQueueConfig& c);

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
  // Whether it is full (an idle key's bucket can be dropped: a new one starts full too).
  bool full(int64_t now_ms);

private:
  void refill(int64_t now_ms);
  double rate_ = 0;
  double tokens_ = 0;
  int64_t last_ms_ = 0;
};

// A token bucket per fairness key, all at the same rate (the per-key rate limit). Tasks without a
// key ("") are not limited by it.
class key_buckets {
public:
  // A new rate for every key (0: unlimited); every bucket starts full again.
  void set_rate(double rate, int64_t now_ms);
  double rate() const { return rate_; }
  // Whether a task of `key` may go now (a token is there), without taking it.
  bool ready(const std::string& key, int64_t now_ms);
  // Takes a token of `key` (call after ready()).
  void take(const std::string& key, int64_t now_ms);
  // How long until `key` has a token (0: now).
  int64_t wait_ms(const std::string& key, int64_t now_ms);
  // Drops the buckets that are full (bounded memory: only keys used within the last second or so
  // keep one).
  void prune(int64_t now_ms);
  size_t size() const { return buckets_.size(); }

private:
  double rate_ = 0;
  std::map<std::string, rate_bucket> buckets_;
};

// Whether a task of fairness key `key` must wait: `max_per_key` activities of that key run already
// (`running`: by key). Tasks without a key ("") are never held back; max_per_key 0: no limit.
bool held_back(const std::string& key, const std::map<std::string, int32_t>& running,
               int32_t max_per_key);

// --- priority keys (Temporal's): 1 highest .. 5 lowest, 0 (not set) is the default 3 ---
constexpr int32_t default_priority = 3;
constexpr int32_t lowest_priority = 5;
// The priority a task goes by: `key`, or the default for 0 (and for a value out of range, which
// the frontend refuses before it gets here).
int32_t effective_priority(int32_t key);
// "" or why `key` is not a priority key (0..5; 0: default).
std::string check_priority(int32_t key);

// Where a task of priority `p` goes in a backlog [begin, end) ordered by priority (1 first): after
// every task of the same or a higher priority, so that tasks of one priority keep their order.
// `priority_of(element)` gives an element's effective priority. Searches from the end: a backlog
// of one priority costs one comparison.
template <class It, class PriorityOf>
It priority_position(It begin, It end, int32_t p, PriorityOf priority_of) {
  auto it = end;
  while (it != begin) {
    auto prev = std::prev(it);
    if (priority_of(*prev) <= p) break;
    it = prev;
  }
  return it;
}

}  // namespace chronicle
