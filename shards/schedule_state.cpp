#include "shards/schedule_state.hpp"

#include <algorithm>

namespace chronicle::schedules {

namespace {

pb::ScheduleOverlapPolicy policy_of(const pb::ScheduleRecord& rec, pb::ScheduleOverlapPolicy asked) {
  auto p = asked != pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED ? asked
                                                            : rec.definition().policies().overlap();
  return p == pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED ? pb::SCHEDULE_OVERLAP_POLICY_SKIP : p;
}

int64_t catchup_window(const pb::ScheduleRecord& rec) {
  auto w = rec.definition().policies().catchup_window_ms();
  return w > 0 ? w : default_catchup_window_ms;
}

void start_now(pb::ScheduleRecord& rec, const pb::SchedulePendingStart& p, effects& fx) {
  auto& id = rec.schedule_id();
  pb::ScheduleActionResult a;
  a.set_nominal_time_ms(p.nominal_time_ms());
  a.set_actual_time_ms(p.actual_time_ms());
  a.set_workflow_id(workflow_id_for(id, p.nominal_time_ms()));
  a.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  a.set_manual(p.manual());
  // The same ID twice (a backfill over a time already taken, two triggers in one second) is
  // one workflow: its start finds the run.
  for (auto& r : rec.info().running())
    if (r.workflow_id() == a.workflow_id()) return;
  *rec.mutable_info()->add_running() = a;
  rec.mutable_info()->set_action_count(rec.info().action_count() + 1);
  fx.start.push_back(std::move(a));
}

void buffer(pb::ScheduleRecord& rec, const pb::SchedulePendingStart& p) {
  if (rec.buffered_size() >= max_buffered) {
    rec.mutable_info()->set_overlap_skipped(rec.info().overlap_skipped() + 1);
    return;
  }
  *rec.add_buffered() = p;
}

// One action through the overlap policy.
void act(pb::ScheduleRecord& rec, pb::SchedulePendingStart p, effects& fx) {
  auto policy = policy_of(rec, p.overlap());
  p.set_overlap(policy);
  bool busy = rec.info().running_size() > 0 || rec.buffered_size() > 0;
  if (!busy || policy == pb::SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) return start_now(rec, p, fx);
  switch (policy) {
    case pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
      if (rec.buffered_size() == 0) return buffer(rec, p);
      break;  // one already waits: this one is skipped
    case pb::SCHEDULE_OVERLAP_POLICY_BUFFER_ALL: return buffer(rec, p);
    case pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
    case pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER: {
      // The running ones are stopped; this action starts when they have closed (it replaces
      // an action already waiting, as only the newest matters).
      auto& stop = policy == pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER ? fx.cancel : fx.terminate;
      for (auto& r : rec.info().running()) stop.push_back(r.workflow_id());
      if (rec.buffered_size() > 0)
        rec.mutable_info()->set_overlap_skipped(rec.info().overlap_skipped() + rec.buffered_size());
      rec.clear_buffered();
      if (rec.info().running_size() == 0) return start_now(rec, p, fx);
      return buffer(rec, p);
    }
    default: break;  // SKIP
  }
  rec.mutable_info()->set_overlap_skipped(rec.info().overlap_skipped() + 1);
}

pb::SchedulePendingStart pending(int64_t nominal, int64_t actual, pb::ScheduleOverlapPolicy overlap,
                                 bool manual) {
  pb::SchedulePendingStart p;
  p.set_nominal_time_ms(nominal);
  p.set_actual_time_ms(actual);
  p.set_overlap(overlap);
  p.set_manual(manual);
  return p;
}

// The buffered actions whose turn came: the first one once nothing runs; all of those that
// allow overlapping.
void drain(pb::ScheduleRecord& rec, effects& fx) {
  while (rec.buffered_size() > 0 && rec.info().running_size() == 0) {
    auto p = rec.buffered(0);
    rec.mutable_buffered()->erase(rec.mutable_buffered()->begin());
    start_now(rec, p, fx);
  }
}

}  // namespace

std::string workflow_id_for(const std::string& schedule_id, int64_t nominal_ms) {
  return schedule_id + "-" + rfc3339(nominal_ms);
}

std::string check_definition(const pb::ScheduleDefinition& def, const std::string& zone_dir) {
  auto why = check_spec(def.spec(), zone_dir);
  if (!why.empty()) return "spec: " + why;
  auto& a = def.action();
  if (a.workflow_type().empty()) return "action: the workflow type is required";
  if (a.task_queue().empty()) return "action: the task queue is required";
  if (a.workflow_execution_timeout_ms() < 0 || a.workflow_run_timeout_ms() < 0)
    return "action: timeouts must not be negative";
  if (def.policies().catchup_window_ms() < 0) return "policies: the catch-up window must not be negative";
  if (!pb::ScheduleOverlapPolicy_IsValid(def.policies().overlap()))
    return "policies: unknown overlap policy";
  return {};
}

pb::ScheduleRecord created(const std::string& ns, const std::string& schedule_id,
                           const pb::ScheduleDefinition& def, int64_t now) {
  pb::ScheduleRecord rec;
  rec.set_namespace_(ns);
  rec.set_schedule_id(schedule_id);
  *rec.mutable_definition() = def;
  rec.mutable_info()->set_create_time_ms(now);
  rec.mutable_info()->set_update_time_ms(now);
  rec.set_processed_until_ms(now);
  return rec;
}

void updated(pb::ScheduleRecord& rec, const pb::ScheduleDefinition& def, int64_t now) {
  bool paused = rec.definition().paused() || def.paused();
  auto note = def.note().empty() ? rec.definition().note() : def.note();
  *rec.mutable_definition() = def;
  rec.mutable_definition()->set_paused(paused);
  rec.mutable_definition()->set_note(note);
  rec.set_processed_until_ms(std::max(rec.processed_until_ms(), now));
  rec.mutable_info()->set_update_time_ms(now);
}

void pause(pb::ScheduleRecord& rec, const std::string& note, int64_t now) {
  rec.mutable_definition()->set_paused(true);
  rec.mutable_definition()->set_note(note);
  rec.mutable_info()->set_update_time_ms(now);
}

void unpause(pb::ScheduleRecord& rec, const std::string& note, int64_t now) {
  rec.mutable_definition()->set_paused(false);
  rec.mutable_definition()->set_note(note);
  rec.set_processed_until_ms(std::max(rec.processed_until_ms(), now));
  rec.mutable_info()->set_update_time_ms(now);
}

effects advance(pb::ScheduleRecord& rec, const compiled_spec& spec, int64_t now) {
  effects fx;
  for (int i = 0; i < max_actions_per_advance; ++i) {
    auto a = spec.next(rec.processed_until_ms());
    if (!a || a->actual_ms > now) break;
    rec.set_processed_until_ms(a->nominal_ms);
    if (rec.definition().paused()) continue;
    if (a->actual_ms < now - catchup_window(rec)) {
      rec.mutable_info()->set_missed_catchup_window(rec.info().missed_catchup_window() + 1);
      continue;
    }
    act(rec, pending(a->nominal_ms, a->actual_ms, pb::SCHEDULE_OVERLAP_POLICY_UNSPECIFIED, false), fx);
  }
  return fx;
}

effects trigger(pb::ScheduleRecord& rec, pb::ScheduleOverlapPolicy overlap, int64_t now) {
  effects fx;
  act(rec, pending(now, now, overlap, true), fx);
  return fx;
}

effects backfill(pb::ScheduleRecord& rec, const compiled_spec& spec, int64_t from_ms,
                 int64_t to_ms, pb::ScheduleOverlapPolicy overlap, int64_t now) {
  effects fx;
  for (auto& a : spec.between(from_ms - 1, to_ms, max_actions_per_advance))
    act(rec, pending(a.nominal_ms, now, overlap, true), fx);
  return fx;
}

bool started(pb::ScheduleRecord& rec, const std::string& workflow_id, const std::string& run_id) {
  for (auto& r : *rec.mutable_info()->mutable_running())
    if (r.workflow_id() == workflow_id) {
      r.set_run_id(run_id);
      return true;
    }
  return false;
}

std::optional<effects> closed(pb::ScheduleRecord& rec, const std::string& workflow_id,
                              const std::string& run_id, pb::WorkflowExecutionStatus status) {
  auto* running = rec.mutable_info()->mutable_running();
  auto it = std::find_if(running->begin(), running->end(),
                         [&](const pb::ScheduleActionResult& r) { return r.workflow_id() == workflow_id; });
  if (it == running->end()) return std::nullopt;
  auto done = *it;
  running->erase(it);
  if (!run_id.empty()) done.set_run_id(run_id);
  done.set_status(status);
  auto* recent = rec.mutable_info()->mutable_recent_actions();
  *recent->Add() = done;
  if (recent->size() > recent_actions_kept) recent->erase(recent->begin());
  effects fx;
  drain(rec, fx);
  return fx;
}

effects pending_stops(const pb::ScheduleRecord& rec) {
  effects fx;
  if (rec.buffered_size() == 0) return fx;
  auto policy = rec.buffered(0).overlap();
  if (policy != pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER
      && policy != pb::SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER)
    return fx;
  auto& stop = policy == pb::SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER ? fx.cancel : fx.terminate;
  for (auto& r : rec.info().running()) stop.push_back(r.workflow_id());
  return fx;
}

std::optional<int64_t> next_wakeup(const pb::ScheduleRecord& rec, const compiled_spec& spec) {
  if (rec.definition().paused()) return std::nullopt;
  auto a = spec.next(rec.processed_until_ms());
  if (!a) return std::nullopt;
  return a->actual_ms;
}

pb::ScheduleDescription describe(const pb::ScheduleRecord& rec, const compiled_spec& spec, int n) {
  pb::ScheduleDescription d;
  d.set_namespace_(rec.namespace_());
  d.set_schedule_id(rec.schedule_id());
  *d.mutable_definition() = rec.definition();
  *d.mutable_info() = rec.info();
  if (!rec.definition().paused())
    for (auto& a : spec.next_n(rec.processed_until_ms(), static_cast<size_t>(n)))
      d.mutable_info()->add_next_action_times_ms(a.actual_ms);
  d.mutable_info()->set_buffered(rec.buffered_size());
  return d;
}

}  // namespace chronicle::schedules
