// Flow control rules: see flow_control.hpp.
#include "shards/flow_control.hpp"

#include <algorithm>

namespace chronicle {

flow_limits combine_limits(const std::vector<flow_limits>& registered) {
  flow_limits out;
  for (const auto& l : registered) {
    if (l.activities_per_second > 0
        && (out.activities_per_second == 0 || l.activities_per_second < out.activities_per_second))
      out.activities_per_second = l.activities_per_second;
    if (l.max_running_per_key > 0
        && (out.max_running_per_key == 0 || l.max_running_per_key < out.max_running_per_key))
      out.max_running_per_key = l.max_running_per_key;
  }
  return out;
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

bool held_back(const std::string& key, const std::map<std::string, int32_t>& running,
               int32_t max_per_key) {
  if (max_per_key <= 0 || key.empty()) return false;
  auto it = running.find(key);
  return it != running.end() && it->second >= max_per_key;
}

}  // namespace chronicle
