// Activity retry policy and timeouts: Temporal's defaults, validation, backoff and deadlines.
// Pure functions (no clock: times are arguments), used by decide.
//
// Defaults, filled in when the activity is scheduled (the ActivityTaskScheduled event carries the
// effective values):
//  - retry policy: initial interval 1 s, backoff coefficient 2.0, maximum interval 100 x initial,
//    maximum attempts 0 (unlimited), no non-retryable types.
//  - start-to-close: the schedule-to-close timeout when one is set, else 10 minutes
//    (default_start_to_close_ms). Temporal requires one of the two; Chronicle picks a default so
//    that a hung worker never blocks a workflow forever.
//  - schedule-to-close, schedule-to-start, heartbeat: 0 = none.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/codec.hpp"

namespace chronicle {

inline constexpr int64_t default_start_to_close_ms = 10 * 60 * 1000;
inline constexpr int64_t default_initial_interval_ms = 1000;
inline constexpr double default_backoff_coefficient = 2.0;
inline constexpr int64_t max_activity_timeout_ms = int64_t{100} * 365 * 24 * 3600 * 1000;

// Checks the timeouts and retry policy of a ScheduleActivityTask command. Returns "" when valid,
// else the reason (negative values, coefficient below 1, maximum interval below initial).
std::string check_activity_options(const pb::ScheduleActivityTaskCommandAttributes& ca);

// Copies the options of `ca` into `ev` with every default filled in.
void fill_activity_options(const pb::ScheduleActivityTaskCommandAttributes& ca,
                           pb::ActivityTaskScheduledEventAttributes* ev);

// The wait after attempt `failed_attempt` (>= 1) failed: initial x coefficient^(attempt-1), at
// most the maximum interval. REQUIRES: an effective policy (defaults filled in).
int64_t retry_backoff_ms(const pb::RetryPolicy& policy, int32_t failed_attempt);

// The backoff before the next attempt after the current attempt of `pa` failed with `failure` at
// `now`, or -1 when it is not retried (non-retryable flag or type, attempts exhausted, or the
// next attempt would start at or after the schedule-to-close deadline).
int64_t retry_delay_ms(const pb::PendingActivity& pa, const pb::Failure& failure, int64_t now);

// The earliest deadline of `pa` in its current state (backoff end, schedule-to-close,
// schedule-to-start, start-to-close, heartbeat), or 0 when none applies.
int64_t next_activity_deadline(const pb::PendingActivity& pa);

// A server-made timeout failure: type "TimeoutError", message "activity <Kind> timeout",
// timeout_type set, source "server", with the last heartbeat details of `pa`.
pb::Failure activity_timeout_failure(const pb::PendingActivity& pa, pb::TimeoutType type);

}  // namespace chronicle
