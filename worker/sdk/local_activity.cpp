// Local activities: markers, the retry rule, one attempt, the session of an open workflow task.
// See local_activity.hpp for the contract.
#include "worker/sdk/local_activity.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "worker/sdk/activity_runner.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk::detail {

namespace {

constexpr int64_t default_threshold_ms = 60'000;
constexpr int64_t default_initial_ms = 1'000;
constexpr double default_coefficient = 2.0;

template <class Details>
json detail_json(const Details& details, const std::string& key) {
  auto it = details.find(key);
  if (it == details.end()) return nullptr;
  try {
    return from_payload(it->second);
  } catch (const std::exception&) {
    return nullptr;
  }
}

pb::Failure timeout_failure(const std::string& message) {
  pb::Failure f = worker_failure("TimeoutError", message);
  f.set_timeout_type(pb::TIMEOUT_TYPE_START_TO_CLOSE);
  return f;
}

int64_t ms(std::chrono::milliseconds d) { return d.count(); }

}  // namespace

pb::Command local_activity_marker(const local_activity_outcome& o) {
  pb::Command command;
  auto* m = command.mutable_record_marker();
  m->set_marker_name(local_activity_marker_name);
  auto& d = *m->mutable_details();
  d["activity_id"] = to_payload(o.activity_id);
  d["activity_type"] = to_payload(o.activity_type);
  d["attempt"] = to_payload(o.attempt);
  d["scheduled_time_ms"] = to_payload(o.scheduled_time_ms);
  if (o.completed) d["data"] = o.result;
  if (o.backoff_ms > 0) d["backoff_ms"] = to_payload(o.backoff_ms);
  if (!o.completed && (!o.failure.type().empty() || !o.failure.message().empty()))
    *m->mutable_failure() = o.failure;
  return command;
}

std::optional<local_activity_outcome> local_activity_of(
    const pb::MarkerRecordedEventAttributes& marker) {
  if (marker.marker_name() != local_activity_marker_name) return std::nullopt;
  const auto& d = marker.details();
  json id = detail_json(d, "activity_id"), type = detail_json(d, "activity_type");
  json attempt = detail_json(d, "attempt"), backoff = detail_json(d, "backoff_ms");
  json scheduled = detail_json(d, "scheduled_time_ms");
  if (!id.is_string() || !type.is_string() || !attempt.is_number_integer()) return std::nullopt;
  local_activity_outcome o;
  o.activity_id = id.get<std::string>();
  o.activity_type = type.get<std::string>();
  o.attempt = attempt.get<int32_t>();
  o.backoff_ms = backoff.is_number_integer() ? backoff.get<int64_t>() : 0;
  o.scheduled_time_ms = scheduled.is_number_integer() ? scheduled.get<int64_t>() : 0;
  if (auto it = d.find("data"); it != d.end()) {
    o.completed = true;
    o.result = it->second;
  }
  o.failure = marker.failure();
  if (o.completed && o.backoff_ms > 0) return std::nullopt;
  return o;
}

retry_step next_step(const local_activity_request& r, const pb::Failure& failure, int64_t now_ms,
                     int64_t task_deadline_ms) {
  const auto& p = r.options.retry;
  if (failure.non_retryable()) return {};
  for (const auto& type : p.non_retryable_error_types)
    if (type == failure.type()) return {};
  if (p.maximum_attempts > 0 && r.attempt >= p.maximum_attempts) return {};
  const int64_t initial = ms(p.initial_interval) > 0 ? ms(p.initial_interval) : default_initial_ms;
  const double coefficient = p.backoff_coefficient >= 1.0 ? p.backoff_coefficient
                                                          : default_coefficient;
  const int64_t maximum = ms(p.maximum_interval) > 0 ? ms(p.maximum_interval) : 100 * initial;
  double d = static_cast<double>(initial) * std::pow(coefficient, std::max(r.attempt - 1, 0));
  if (!(d < static_cast<double>(maximum))) d = static_cast<double>(maximum);  // also inf
  const auto backoff = std::max<int64_t>(static_cast<int64_t>(d), 1);
  const int64_t s2c = ms(r.options.schedule_to_close_timeout);
  if (s2c > 0 && now_ms + backoff >= r.scheduled_time_ms + s2c) return {};
  const int64_t threshold = ms(r.options.local_retry_threshold) > 0
                                ? ms(r.options.local_retry_threshold)
                                : default_threshold_ms;
  if (backoff <= threshold && now_ms + backoff < task_deadline_ms)
    return {retry_step::retry_here, backoff};
  return {retry_step::retry_on_timer, backoff};
}

attempt_result run_local_attempt(const registry& reg, const local_activity_request& r,
                                 const std::string& identity,
                                 std::shared_ptr<activity_control> control) {
  pb::ActivityTask task;
  task.mutable_token()->set_workflow_id(r.workflow_id);
  task.mutable_token()->set_run_id(r.run_id);
  task.mutable_token()->set_attempt(r.attempt);
  task.set_activity_id(r.activity_id);
  task.set_activity_type(r.activity_type);
  *task.mutable_input() = r.input;
  auto res = run_activity_task(reg, task, identity, {}, std::move(control));
  attempt_result out;
  if (auto* done = std::get_if<pb::RespondActivityTaskCompleted>(&res)) {
    out.ok = true;
    out.result = done->result();
  } else if (auto* failed = std::get_if<pb::RespondActivityTaskFailed>(&res)) {
    out.failure = failed->failure();
  } else if (std::holds_alternative<pb::RespondActivityTaskCanceled>(res)) {
    out.failure = worker_failure(canceled_error_type, "local activity canceled", true);
  } else {
    out.failure = worker_failure(activity_error_type,
                                 "a local activity cannot complete asynchronously", true);
  }
  return out;
}

void local_activity_session::add(std::vector<local_activity_request> requests, int64_t now_ms) {
  for (auto& r : requests) {
    entry e;
    e.due_ms = now_ms;
    auto id = r.activity_id;
    e.request = std::move(r);
    entries_[id] = std::move(e);
  }
}

std::vector<local_activity_request> local_activity_session::start_due(int64_t now_ms) {
  std::vector<local_activity_request> out;
  if (now_ms >= deadline_) return out;  // expire() moves them to timers
  for (auto& [id, e] : entries_) {
    if (e.running || e.due_ms > now_ms) continue;
    auto& r = e.request;
    if (r.scheduled_time_ms == 0) r.scheduled_time_ms = now_ms;
    int64_t limit = deadline_;
    const int64_t stc = ms(r.options.start_to_close_timeout);
    const int64_t s2c = ms(r.options.schedule_to_close_timeout);
    if (stc > 0) limit = std::min(limit, now_ms + stc);
    if (s2c > 0) limit = std::min(limit, r.scheduled_time_ms + s2c);
    e.running = true;
    e.attempt_deadline_ms = limit;
    out.push_back(r);
  }
  return out;
}

local_activity_outcome local_activity_session::outcome_of(const entry& e) {
  local_activity_outcome o;
  o.activity_id = e.request.activity_id;
  o.activity_type = e.request.activity_type;
  o.attempt = e.request.attempt;
  o.scheduled_time_ms = e.request.scheduled_time_ms;
  return o;
}

// The current attempt of `e` failed: retried here (nullopt), or the outcome to record.
std::optional<local_activity_outcome> local_activity_session::failed(entry& e,
                                                                     const pb::Failure& failure,
                                                                     int64_t now_ms) {
  auto step = next_step(e.request, failure, now_ms, deadline_);
  if (step.kind == retry_step::retry_here) {
    e.running = false;
    e.due_ms = now_ms + step.backoff_ms;
    e.request.last_failure = failure;
    ++e.request.attempt;
    return std::nullopt;
  }
  local_activity_outcome o = outcome_of(e);
  o.failure = failure;
  if (step.kind == retry_step::retry_on_timer) o.backoff_ms = step.backoff_ms;
  const std::string id = e.request.activity_id;  // (erase destroys e)
  entries_.erase(id);
  return o;
}

std::optional<local_activity_outcome> local_activity_session::finish(
    const std::string& activity_id, int32_t attempt, const attempt_result& result,
    int64_t now_ms) {
  auto it = entries_.find(activity_id);
  if (it == entries_.end() || !it->second.running || it->second.request.attempt != attempt)
    return std::nullopt;
  entry& e = it->second;
  if (now_ms > e.attempt_deadline_ms)
    return failed(e, timeout_failure("local activity attempt " + std::to_string(attempt) +
                                     " timed out"),
                  now_ms);
  if (!result.ok) return failed(e, result.failure, now_ms);
  local_activity_outcome o = outcome_of(e);
  o.completed = true;
  o.result = result.result;
  entries_.erase(it);
  return o;
}

std::vector<local_activity_outcome> local_activity_session::expire(
    int64_t now_ms, std::vector<std::string>* timed_out) {
  std::vector<local_activity_outcome> out;
  for (const auto& id : ids()) {
    entry& e = entries_.at(id);
    if (e.running && now_ms >= e.attempt_deadline_ms) {
      if (timed_out) timed_out->push_back(id);
      const bool budget = e.attempt_deadline_ms >= deadline_;
      auto why = "local activity attempt " + std::to_string(e.request.attempt) +
                 (budget ? " outlived the workflow task's budget" : " timed out");
      if (auto o = failed(e, timeout_failure(why), now_ms)) out.push_back(std::move(*o));
    } else if (!e.running && now_ms >= deadline_) {
      // The task must be answered: the attempt waits on a durable timer (the attempts so far
      // and the last failure recorded with it).
      local_activity_outcome o = outcome_of(e);
      o.attempt = e.request.attempt - 1;
      o.failure = e.request.last_failure;
      o.backoff_ms = std::max<int64_t>(e.due_ms - now_ms, 1);
      out.push_back(std::move(o));
      entries_.erase(id);
    }
  }
  return out;
}

std::vector<std::string> local_activity_session::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, e] : entries_) out.push_back(id);
  return out;
}

int64_t local_activity_session::next_wakeup() const {
  int64_t at = deadline_;
  for (const auto& [id, e] : entries_)
    at = std::min(at, e.running ? e.attempt_deadline_ms : e.due_ms);
  return at;
}

}  // namespace chronicle::sdk::detail
