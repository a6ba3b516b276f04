// Flow control rules: see flow_control.hpp.
#include "shards/flow_control.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace chronicle {

flow_limits combine_limits(const std::vector<flow_limits>& registered) {
  flow_limits out;
  auto smaller = [](auto v, auto& into) {
    if (v > 0 && (into == 0 || v < into)) into = v;
  };
  for (const auto& l : registered) {
    smaller(l.activities_per_second, out.activities_per_second);
    smaller(l.max_running_per_key, out.max_running_per_key);
    smaller(l.per_key_activities_per_second, out.per_key_activities_per_second);
  }
  return out;
}

const char* source_name(limit_source s) {
  switch (s) {
    case limit_source::worker: return "worker";
    case limit_source::operator_set: return "operator";
    default: return "";
  }
}

effective_limits apply_operator(const flow_limits& workers, const pb::TaskQueueConfig* op) {
  effective_limits e;
  e.limits = workers;
  auto from_workers = [](auto v) { return v > 0 ? limit_source::worker : limit_source::none; };
  e.rate = from_workers(workers.activities_per_second);
  e.max_running = from_workers(workers.max_running_per_key);
  e.key_rate = from_workers(workers.per_key_activities_per_second);
  if (!op) return e;
  if (op->has_activities_per_second()) {
    e.limits.activities_per_second = op->activities_per_second();
    e.rate = limit_source::operator_set;
  }
  if (op->has_max_running_per_key()) {
    e.limits.max_running_per_key = op->max_running_per_key();
    e.max_running = limit_source::operator_set;
  }
  if (op->has_per_key_activities_per_second()) {
    e.limits.per_key_activities_per_second = op->per_key_activities_per_second();
    e.key_rate = limit_source::operator_set;
  }
  return e;
}

namespace {

constexpr double max_rate = 1e6;
constexpr int32_t max_running = 100000;
constexpr size_t max_reason_bytes = 1000;

std::string check_rate(const char* what, double v) {
  if (!(v > 0) || v > max_rate || !std::isfinite(v))
    return std::string(what) + " must be more than 0 and at most 1000000 (--unset removes it)";
  return {};
}

}  // namespace

bool sets_any_limit(const pb::TaskQueueConfig& c) {
  return c.has_activities_per_second() || c.has_max_running_per_key()
         || c.has_per_key_activities_per_second();
}

std::optional<pb::TaskQueueConfig> configured(const pb::TaskQueueConfig& current,
                                              const pb::SetTaskQueueConfigRequest& req,
                                              int64_t now_ms, std::string* why) {
  why->clear();
  static const std::set<std::string> names = {"activities_per_second", "max_running_per_key",
                                              "per_key_activities_per_second", "all"};
  std::set<std::string> unset;
  for (auto& u : req.unset()) {
    if (!names.count(u)) {
      *why = "cannot unset '" + u + "' (activities_per_second, max_running_per_key, "
             "per_key_activities_per_second or all)";
      return std::nullopt;
    }
    unset.insert(u);
  }
  bool all = unset.count("all") > 0;
  auto both = [&](bool given, const char* name) {
    if (given && (all || unset.count(name)))
      *why = std::string(name) + " is both set and unset";
  };
  both(req.has_activities_per_second(), "activities_per_second");
  both(req.has_max_running_per_key(), "max_running_per_key");
  both(req.has_per_key_activities_per_second(), "per_key_activities_per_second");
  if (why->empty() && req.has_activities_per_second())
    *why = check_rate("activities_per_second", req.activities_per_second());
  if (why->empty() && req.has_per_key_activities_per_second())
    *why = check_rate("per_key_activities_per_second", req.per_key_activities_per_second());
  if (why->empty() && req.has_max_running_per_key()
      && (req.max_running_per_key() < 1 || req.max_running_per_key() > max_running))
    *why = "max_running_per_key must be in 1..100000 (--unset removes it)";
  if (why->empty() && req.reason().size() > max_reason_bytes)
    *why = "the reason is longer than 1000 bytes";
  if (why->empty() && unset.empty() && !req.has_activities_per_second()
      && !req.has_max_running_per_key() && !req.has_per_key_activities_per_second())
    *why = "nothing to change: give a limit to set or one to unset";
  if (!why->empty()) return std::nullopt;
  pb::TaskQueueConfig next = current;
  if (all || unset.count("activities_per_second")) next.clear_activities_per_second();
  if (all || unset.count("max_running_per_key")) next.clear_max_running_per_key();
  if (all || unset.count("per_key_activities_per_second"))
    next.clear_per_key_activities_per_second();
  if (req.has_activities_per_second()) next.set_activities_per_second(req.activities_per_second());
  if (req.has_max_running_per_key()) next.set_max_running_per_key(req.max_running_per_key());
  if (req.has_per_key_activities_per_second())
    next.set_per_key_activities_per_second(req.per_key_activities_per_second());
  next.set_reason(req.reason());
  next.set_identity(req.identity());
  next.set_update_time_ms(now_ms);
  return next;
}

void rate_bucket::set_rate(double rate, int64_t now_ms) {
  if (rate == rate_) return;
  rate_ = rate > 0 ? rate : 0;
  tokens_ = std::max(1.0, rate_);
  last_ms_ = now_ms;
}

void rate_bucket::refill(int64_t now_ms) {
  if (now_ms <= last_ms_) return;
  tokens_ = std::min(std::max(1.0, rate_), tokens_ + rate_ * double(now_ms - last_ms_) / 1000.0);
  last_ms_ = now_ms;
}

bool rate_bucket::take(int64_t now_ms) {
  if (rate_ <= 0) return true;
  refill(now_ms);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

int64_t rate_bucket::wait_ms(int64_t now_ms) {
  if (rate_ <= 0) return 0;
  refill(now_ms);
  if (tokens_ >= 1.0) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>((1.0 - tokens_) * 1000.0 / rate_ + 0.999));
}

bool rate_bucket::full(int64_t now_ms) {
  if (rate_ <= 0) return true;
  refill(now_ms);
  return tokens_ >= std::max(1.0, rate_);
}

void key_buckets::set_rate(double rate, int64_t) {
  if (rate == rate_) return;
  rate_ = rate > 0 ? rate : 0;
  buckets_.clear();
}

bool key_buckets::ready(const std::string& key, int64_t now_ms) {
  return wait_ms(key, now_ms) == 0;
}

void key_buckets::take(const std::string& key, int64_t now_ms) {
  if (rate_ <= 0 || key.empty()) return;
  auto [it, added] = buckets_.try_emplace(key);
  if (added) it->second.set_rate(rate_, now_ms);
  it->second.take(now_ms);
}

int64_t key_buckets::wait_ms(const std::string& key, int64_t now_ms) {
  if (rate_ <= 0 || key.empty()) return 0;
  auto it = buckets_.find(key);
  return it == buckets_.end() ? 0 : it->second.wait_ms(now_ms);
}

void key_buckets::prune(int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = it->second.full(now_ms) ? buckets_.erase(it) : std::next(it);
}

bool held_back(const std::string& key, const std::map<std::string, int32_t>& running,
               int32_t max_per_key) {
  if (max_per_key <= 0 || key.empty()) return false;
  auto it = running.find(key);
  return it != running.end() && it->second >= max_per_key;
}

int32_t effective_priority(int32_t key) {
  return key >= 1 && key <= lowest_priority ? key : default_priority;
}

std::string check_priority(int32_t key) {
  if (key < 0 || key > lowest_priority)
    return "priority must be 1 (highest) .. 5 (lowest), or 0 for the default 3; got "
           + std::to_string(key);
  return {};
}

}  // namespace chronicle
