// decide for activity inputs: results, failed attempts and retries, the start of an attempt,
// heartbeats, and the activity's durable timer (backoff end and timeout deadlines). See decide.hpp
// for the contracts and activity_policy.hpp for the defaults.
//
// A pending activity is in one of three states (mutable state only, as Temporal keeps attempts
// out of history): SCHEDULED (the current attempt waits in its task queue), STARTED (handed to a
// worker), BACKOFF (a failed attempt waits for its retry). Each pending activity has at most one
// armed timer record (kind ACTIVITY), at its earliest deadline; a record that is no longer the
// armed one is stale when it fires.
#include <utility>

#include "shards/activity_policy.hpp"
#include "shards/transition_builder.hpp"

namespace chronicle::detail {

void builder::rearm_activity_timer(int64_t scheduled_id) {
  auto& pa = t_.state.mutable_pending_activities()->at(scheduled_id);
  int64_t next = next_activity_deadline(pa);
  if (next == pa.timer_fire_ms()) return;
  if (pa.timer_fire_ms() != 0)
    t_.timers_removed.push_back(activity_timer(scheduled_id, pa.timer_fire_ms(), pa.attempt()));
  pa.set_timer_fire_ms(next);
  if (next != 0) t_.timers_added.push_back(activity_timer(scheduled_id, next, pa.attempt()));
}

namespace {

// The pending activity an input addresses, or a rejection: closed run, unknown or already closed
// activity (result buffered), another attempt, or (unless `in_backoff_ok`) waiting for a retry.
std::variant<const pb::PendingActivity*, rejection>
current_attempt(const pb::MutableState& s, int64_t scheduled_id, int32_t attempt) {
  if (!is_running(s)) return reject(errc::stale_task, "workflow execution is closed");
  auto it = s.pending_activities().find(scheduled_id);
  if (it == s.pending_activities().end() || buffered_for_activity(s, scheduled_id))
    return reject(errc::stale_task, "activity is not pending");
  if (it->second.attempt() != attempt)
    return reject(errc::stale_task, "activity attempt " + std::to_string(attempt)
                                      + " is not the current one ("
                                      + std::to_string(it->second.attempt()) + ")");
  if (it->second.state() == pb::ACTIVITY_STATE_BACKOFF)
    return reject(errc::stale_task, "activity is waiting for its next attempt");
  return &it->second;
}

// Closes the activity with its outcome: ActivityTaskStarted (unless `started` is false: the last
// attempt never reached a worker) then the event `fill` builds; drops its transfer and timer.
template <class Fill>
decide_result close_activity(const pb::MutableState& s, const pb::PendingActivity& pa,
                             const std::string& identity, bool started, int64_t now,
                             pb::EventType type, Fill fill) {
  builder b(s, now);
  int64_t id = pa.scheduled_event_id();
  transition removed;
  removed.transfers_removed.push_back(b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, pa.task_queue()));
  if (pa.timer_fire_ms() != 0)
    removed.timers_removed.push_back(b.activity_timer(id, pa.timer_fire_ms(), pa.attempt()));
  std::vector<pb::HistoryEvent> evs;
  if (started) {
    evs.emplace_back().set_event_type(pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
    auto* st = evs.back().mutable_activity_task_started();
    st->set_scheduled_event_id(id);
    // Who started the attempt (an activity completed by task token names its completer only in
    // the closing event).
    st->set_identity(pa.started_identity().empty() ? identity : pa.started_identity());
    st->set_attempt(pa.attempt());
    if (pa.has_last_failure()) *st->mutable_last_failure() = pa.last_failure();
  }
  evs.emplace_back().set_event_type(type);
  fill(evs.back());
  return on_external_events(s, std::move(evs), now, std::move(removed));
}

// The current attempt failed with `failure`: a retry in `delay` ms (no event), else the final
// event (ActivityTaskFailed, or ActivityTaskTimedOut for a timeout failure).
decide_result fail_attempt(const pb::MutableState& s, const pb::PendingActivity& pa,
                           const pb::Failure& failure, const std::string& identity, int64_t now) {
  // A cancel-requested activity is not retried (Temporal: RETRY_STATE_CANCEL_REQUESTED).
  int64_t delay = pa.cancel_requested_event_id() != 0 ? -1 : retry_delay_ms(pa, failure, now);
  int64_t id = pa.scheduled_event_id();
  if (delay >= 0) {
    builder b(s, now);
    auto& next = b.state().mutable_pending_activities()->at(id);
    if (next.timer_fire_ms() != 0)  // armed for the failed attempt
      b.result().timers_removed.push_back(b.activity_timer(id, next.timer_fire_ms(), pa.attempt()));
    next.set_timer_fire_ms(0);
    *next.mutable_last_failure() = failure;
    if (!identity.empty()) next.set_started_identity(identity);
    next.set_attempt(pa.attempt() + 1);
    next.set_state(pb::ACTIVITY_STATE_BACKOFF);
    next.set_retry_time_ms(now + delay);
    next.set_started_time_ms(0);
    b.rearm_activity_timer(id);
    return std::move(b.result());
  }
  bool timeout = failure.timeout_type() != pb::TIMEOUT_TYPE_UNSPECIFIED;
  bool started = pa.state() == pb::ACTIVITY_STATE_STARTED || !timeout;
  if (timeout)
    return close_activity(s, pa, identity, started, now, pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
                          [&](pb::HistoryEvent& ev) {
                            auto* a = ev.mutable_activity_task_timed_out();
                            *a->mutable_failure() = failure;
                            a->set_scheduled_event_id(id);
                          });
  return close_activity(s, pa, identity, started, now, pb::EVENT_TYPE_ACTIVITY_TASK_FAILED,
                        [&](pb::HistoryEvent& ev) {
                          auto* a = ev.mutable_activity_task_failed();
                          *a->mutable_failure() = failure;
                          a->set_scheduled_event_id(id);
                          a->set_identity(identity);
                        });
}

// A final timeout that is never retried (schedule-to-start, schedule-to-close).
decide_result final_timeout(const pb::MutableState& s, const pb::PendingActivity& pa,
                            pb::TimeoutType type, int64_t now) {
  auto failure = activity_timeout_failure(pa, type);
  failure.set_non_retryable(true);
  return fail_attempt(s, pa, failure, {}, now);
}

}  // namespace

decide_result on_activity_completed(const pb::MutableState& s, const input::activity_completed& in,
                                    int64_t now) {
  auto cur = current_attempt(s, in.scheduled_event_id, in.attempt);
  if (auto* rej = std::get_if<rejection>(&cur)) return *rej;
  auto& pa = *std::get<const pb::PendingActivity*>(cur);
  return close_activity(s, pa, in.identity, true, now, pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
                        [&](pb::HistoryEvent& ev) {
                          auto* a = ev.mutable_activity_task_completed();
                          *a->mutable_result() = in.result;
                          a->set_scheduled_event_id(in.scheduled_event_id);
                          a->set_identity(in.identity);
                        });
}

decide_result on_activity_failed(const pb::MutableState& s, const input::activity_failed& in,
                                 int64_t now) {
  auto cur = current_attempt(s, in.scheduled_event_id, in.attempt);
  if (auto* rej = std::get_if<rejection>(&cur)) return *rej;
  return fail_attempt(s, *std::get<const pb::PendingActivity*>(cur), in.failure, in.identity, now);
}

decide_result on_activity_canceled(const pb::MutableState& s, const input::activity_canceled& in,
                                   int64_t now) {
  auto cur = current_attempt(s, in.scheduled_event_id, in.attempt);
  if (auto* rej = std::get_if<rejection>(&cur)) return *rej;
  auto& pa = *std::get<const pb::PendingActivity*>(cur);
  if (pa.cancel_requested_event_id() == 0)
    return reject(errc::invalid_argument,
                  "activity " + pa.activity_id() + " was not asked to cancel: report its result or "
                  "a failure instead");
  return close_activity(s, pa, in.identity, true, now, pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED,
                        [&](pb::HistoryEvent& ev) {
                          auto* a = ev.mutable_activity_task_canceled();
                          *a->mutable_details() = in.details;
                          a->set_latest_cancel_requested_event_id(pa.cancel_requested_event_id());
                          a->set_scheduled_event_id(in.scheduled_event_id);
                          a->set_identity(in.identity);
                        });
}

decide_result on_activity_lost(const pb::MutableState& s, const input::activity_lost& in,
                               int64_t now) {
  auto cur = current_attempt(s, in.scheduled_event_id, in.attempt);
  if (auto* rej = std::get_if<rejection>(&cur)) return *rej;
  auto pa = *std::get<const pb::PendingActivity*>(cur);
  if (pa.state() == pb::ACTIVITY_STATE_SCHEDULED) {  // handed out, its start notice lost too
    pa.set_state(pb::ACTIVITY_STATE_STARTED);
    pa.set_started_time_ms(now);
  }
  auto failure = activity_timeout_failure(pa, pb::TIMEOUT_TYPE_START_TO_CLOSE);
  failure.set_message(failure.message() + " (the attempt was lost in flight: " + in.cause + ")");
  return fail_attempt(s, pa, failure, {}, now);
}

decide_result on_activity_started(const pb::MutableState& s, const input::activity_started& in,
                                  int64_t now) {
  auto cur = current_attempt(s, in.scheduled_event_id, in.attempt);
  if (auto* rej = std::get_if<rejection>(&cur)) return *rej;
  builder b(s, now);
  auto& pa = b.state().mutable_pending_activities()->at(in.scheduled_event_id);
  pa.set_state(pb::ACTIVITY_STATE_STARTED);
  pa.set_started_time_ms(now);
  pa.set_started_identity(in.identity);
  b.rearm_activity_timer(in.scheduled_event_id);
  return std::move(b.result());
}

decide_result on_activity_heartbeat(const pb::MutableState& s,
                                    const input::activity_heartbeat& in, int64_t now) {
  auto cur = current_attempt(s, in.scheduled_event_id, in.attempt);
  if (auto* rej = std::get_if<rejection>(&cur)) return *rej;
  builder b(s, now);
  auto& pa = b.state().mutable_pending_activities()->at(in.scheduled_event_id);
  *pa.mutable_last_heartbeat_details() = in.details;
  pa.set_last_heartbeat_time_ms(now);
  if (pa.state() == pb::ACTIVITY_STATE_SCHEDULED) {  // its start notice was lost
    pa.set_state(pb::ACTIVITY_STATE_STARTED);
    pa.set_started_time_ms(now);
    pa.set_started_identity(in.identity);
    b.rearm_activity_timer(in.scheduled_event_id);
  }
  return std::move(b.result());
}

decide_result on_activity_timer(const pb::MutableState& s, const input::activity_timer& in,
                                int64_t now) {
  if (!is_running(s)) return reject(errc::stale_task, "workflow execution is closed");
  auto it = s.pending_activities().find(in.scheduled_event_id);
  if (it == s.pending_activities().end() || buffered_for_activity(s, in.scheduled_event_id)
      || it->second.timer_fire_ms() != in.fire_time_ms)
    return reject(errc::stale_task, "activity timer is not armed");
  auto& pa = it->second;
  if (pa.schedule_to_close_timeout_ms() > 0
      && now >= pa.scheduled_time_ms() + pa.schedule_to_close_timeout_ms())
    return final_timeout(s, pa, pb::TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, now);
  switch (pa.state()) {
    case pb::ACTIVITY_STATE_BACKOFF:
      if (now >= pa.retry_time_ms()) {  // the next attempt goes to its task queue
        builder b(s, now);
        auto& next = b.state().mutable_pending_activities()->at(in.scheduled_event_id);
        next.set_state(pb::ACTIVITY_STATE_SCHEDULED);
        next.set_attempt_scheduled_time_ms(now);
        next.set_retry_time_ms(0);
        b.result().transfers_added.push_back(
          b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, in.scheduled_event_id, pa.task_queue()));
        b.rearm_activity_timer(in.scheduled_event_id);
        return std::move(b.result());
      }
      break;
    case pb::ACTIVITY_STATE_SCHEDULED:
      if (pa.schedule_to_start_timeout_ms() > 0
          && now >= pa.attempt_scheduled_time_ms() + pa.schedule_to_start_timeout_ms())
        return final_timeout(s, pa, pb::TIMEOUT_TYPE_SCHEDULE_TO_START, now);
      break;
    case pb::ACTIVITY_STATE_STARTED:
      if (pa.start_to_close_timeout_ms() > 0
          && now >= pa.started_time_ms() + pa.start_to_close_timeout_ms())
        return fail_attempt(s, pa, activity_timeout_failure(pa, pb::TIMEOUT_TYPE_START_TO_CLOSE),
                            {}, now);
      if (pa.heartbeat_timeout_ms() > 0
          && now >= std::max(pa.started_time_ms(), pa.last_heartbeat_time_ms())
                      + pa.heartbeat_timeout_ms())
        return fail_attempt(s, pa, activity_timeout_failure(pa, pb::TIMEOUT_TYPE_HEARTBEAT), {},
                            now);
      break;
    default:
      break;
  }
  builder b(s, now);  // nothing expired (a heartbeat moved the deadline): arm the next one
  b.rearm_activity_timer(in.scheduled_event_id);
  return std::move(b.result());
}

}  // namespace chronicle::detail
