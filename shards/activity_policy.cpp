// Activity retry policy and timeouts: see activity_policy.hpp.
#include "shards/activity_policy.hpp"

#include <algorithm>
#include <cmath>

namespace chronicle {

std::string check_activity_options(const pb::ScheduleActivityTaskCommandAttributes& ca) {
  for (auto [what, v] : {std::pair{"schedule_to_close_timeout", ca.schedule_to_close_timeout_ms()},
                         std::pair{"schedule_to_start_timeout", ca.schedule_to_start_timeout_ms()},
                         std::pair{"start_to_close_timeout", ca.start_to_close_timeout_ms()},
                         std::pair{"heartbeat_timeout", ca.heartbeat_timeout_ms()}})
    if (v < 0 || v > max_activity_timeout_ms) return std::string(what) + " is out of range";
  auto& p = ca.retry_policy();
  if (p.initial_interval_ms() < 0 || p.initial_interval_ms() > max_activity_timeout_ms)
    return "retry policy: initial_interval is out of range";
  if (p.maximum_interval_ms() < 0 || p.maximum_interval_ms() > max_activity_timeout_ms)
    return "retry policy: maximum_interval is out of range";
  if (p.backoff_coefficient() != 0 && !(p.backoff_coefficient() >= 1.0))
    return "retry policy: backoff_coefficient must be at least 1";
  if (p.maximum_attempts() < 0) return "retry policy: maximum_attempts is negative";
  if (p.maximum_interval_ms() != 0 && p.maximum_interval_ms() < p.initial_interval_ms())
    return "retry policy: maximum_interval is below initial_interval";
  if (ca.priority() < 0 || ca.priority() > 5) return "priority must be 0..5";
  return {};
}

void fill_activity_options(const pb::ScheduleActivityTaskCommandAttributes& ca,
                           pb::ActivityTaskScheduledEventAttributes* ev) {
  ev->set_schedule_to_close_timeout_ms(ca.schedule_to_close_timeout_ms());
  ev->set_schedule_to_start_timeout_ms(ca.schedule_to_start_timeout_ms());
  int64_t stc = ca.start_to_close_timeout_ms();
  if (stc == 0) stc = ca.schedule_to_close_timeout_ms() ? ca.schedule_to_close_timeout_ms()
                                                        : default_start_to_close_ms;
  ev->set_start_to_close_timeout_ms(stc);
  ev->set_heartbeat_timeout_ms(ca.heartbeat_timeout_ms());
  ev->set_priority(ca.priority());
  auto* p = ev->mutable_retry_policy();
  *p = ca.retry_policy();
  if (p->initial_interval_ms() == 0) p->set_initial_interval_ms(default_initial_interval_ms);
  if (p->backoff_coefficient() == 0) p->set_backoff_coefficient(default_backoff_coefficient);
  if (p->maximum_interval_ms() == 0) p->set_maximum_interval_ms(100 * p->initial_interval_ms());
}

int64_t retry_backoff_ms(const pb::RetryPolicy& policy, int32_t failed_attempt) {
  double d = static_cast<double>(policy.initial_interval_ms())
             * std::pow(policy.backoff_coefficient(), std::max(failed_attempt - 1, 0));
  double cap = static_cast<double>(policy.maximum_interval_ms());
  if (!(d < cap)) d = cap;  // also catches inf
  return static_cast<int64_t>(d);
}

int64_t retry_delay_ms(const pb::PendingActivity& pa, const pb::Failure& failure, int64_t now) {
  auto& p = pa.retry_policy();
  if (failure.non_retryable()) return -1;
  for (auto& type : p.non_retryable_error_types())
    if (type == failure.type()) return -1;
  if (p.maximum_attempts() > 0 && pa.attempt() >= p.maximum_attempts()) return -1;
  int64_t delay = retry_backoff_ms(p, pa.attempt());
  if (pa.schedule_to_close_timeout_ms() > 0
      && now + delay >= pa.scheduled_time_ms() + pa.schedule_to_close_timeout_ms())
    return -1;
  return delay;
}

int64_t next_activity_deadline(const pb::PendingActivity& pa) {
  int64_t d = 0;
  auto take = [&](int64_t t) {
    if (t > 0 && (d == 0 || t < d)) d = t;
  };
  if (pa.schedule_to_close_timeout_ms() > 0)
    take(pa.scheduled_time_ms() + pa.schedule_to_close_timeout_ms());
  switch (pa.state()) {
    case pb::ACTIVITY_STATE_BACKOFF:
      take(pa.retry_time_ms());
      break;
    case pb::ACTIVITY_STATE_SCHEDULED:
      if (pa.schedule_to_start_timeout_ms() > 0)
        take(pa.attempt_scheduled_time_ms() + pa.schedule_to_start_timeout_ms());
      break;
    case pb::ACTIVITY_STATE_STARTED:
      if (pa.start_to_close_timeout_ms() > 0)
        take(pa.started_time_ms() + pa.start_to_close_timeout_ms());
      if (pa.heartbeat_timeout_ms() > 0)
        take(std::max(pa.started_time_ms(), pa.last_heartbeat_time_ms())
             + pa.heartbeat_timeout_ms());
      break;
    default:
      break;
  }
  return d;
}

pb::Failure activity_timeout_failure(const pb::PendingActivity& pa, pb::TimeoutType type) {
  const char* kind = "StartToClose";
  if (type == pb::TIMEOUT_TYPE_SCHEDULE_TO_START) kind = "ScheduleToStart";
  else if (type == pb::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE) kind = "ScheduleToClose";
  else if (type == pb::TIMEOUT_TYPE_HEARTBEAT) kind = "Heartbeat";
  pb::Failure f;
  f.set_message(std::string("activity ") + kind + " timeout");
  f.set_type("TimeoutError");
  f.set_source("server");
  f.set_timeout_type(type);
  if (pa.has_last_heartbeat_details()) *f.mutable_last_heartbeat_details() = pa.last_heartbeat_details();
  return f;
}

}  // namespace chronicle
