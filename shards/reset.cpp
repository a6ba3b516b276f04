// Reset: the reset point, the new run's history and records, and the one transition of the whole
// reset (see reset.hpp).
#include "shards/reset.hpp"

#include <algorithm>

#include "shards/transition_builder.hpp"

namespace chronicle {

namespace {

rejection bad(std::string msg) { return rejection{errc::invalid_argument, std::move(msg)}; }

const pb::HistoryEvent* event_at(const std::vector<pb::HistoryEvent>& h, int64_t id) {
  if (id < 1 || id > static_cast<int64_t>(h.size())) return nullptr;
  const auto& ev = h[static_cast<size_t>(id - 1)];
  return ev.event_id() == id ? &ev : nullptr;
}

// The Started event of the task a finish event (Completed / Failed / TimedOut) ends.
int64_t started_of(const pb::HistoryEvent& ev) {
  int64_t id = 0;
  if (ev.has_workflow_task_completed()) id = ev.workflow_task_completed().started_event_id();
  else if (ev.has_workflow_task_failed()) id = ev.workflow_task_failed().started_event_id();
  else if (ev.has_workflow_task_timed_out()) id = ev.workflow_task_timed_out().started_event_id();
  return id != 0 ? id : ev.event_id() - 1;
}

bool is_finish(pb::EventType t) {
  return t == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED || t == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED
         || t == pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT;
}

}  // namespace

std::variant<int64_t, rejection> find_reset_point(const std::vector<pb::HistoryEvent>& history,
                                                  pb::ResetType type, int64_t event_id) {
  for (size_t i = 0; i < history.size(); ++i)
    if (history[i].event_id() != static_cast<int64_t>(i) + 1)
      return rejection{errc::internal, "history event IDs are not dense at index "
                                         + std::to_string(i)};
  if (type == pb::RESET_TYPE_FIRST_WORKFLOW_TASK) {
    for (auto& ev : history)
      if (ev.event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED) return ev.event_id();
    return bad("the run has no started workflow task to reset to");
  }
  if (type == pb::RESET_TYPE_LAST_WORKFLOW_TASK) {
    for (auto it = history.rbegin(); it != history.rend(); ++it)
      if (it->event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
        auto* started = event_at(history, started_of(*it));
        if (started && started->event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED)
          return started->event_id();
      }
    return bad("the run has no completed workflow task to reset to");
  }
  if (type != pb::RESET_TYPE_UNSPECIFIED) return bad("unknown reset type");
  if (event_id <= 0) return bad("a reset needs an event ID or a reset type (first, last)");
  auto* ev = event_at(history, event_id);
  if (!ev)
    return bad("event " + std::to_string(event_id) + " is not in the run's history ("
               + std::to_string(history.size()) + " events)");
  if (ev->event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED) return event_id;
  if (is_finish(ev->event_type())) {
    auto* started = event_at(history, started_of(*ev));
    if (started && started->event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED)
      return started->event_id();
  }
  return bad("event " + std::to_string(event_id) + " is a " + event_type_name(ev->event_type())
             + ": a reset point is a WorkflowTaskCompleted, WorkflowTaskFailed, "
               "WorkflowTaskTimedOut or WorkflowTaskStarted event");
}

std::variant<transition, rejection> reset_run(const std::vector<pb::HistoryEvent>& base_history,
                                              const std::string& base_run_id, int64_t point,
                                              const input::reset_workflow& in,
                                              const std::string& new_run_id, int64_t now) {
  if (point < 1 || point > static_cast<int64_t>(base_history.size()))
    return bad("reset point " + std::to_string(point) + " is not in the run's history");
  pb::MutableState fresh;
  fresh.set_run_id(new_run_id);
  fresh.set_next_event_id(1);
  detail::builder b(fresh, now);
  auto& t = b.result();
  for (auto& ev : base_history) {
    if (ev.event_id() > point) break;
    apply(b.state(), ev);
    t.events.push_back(ev);
  }
  auto& s = b.state();
  if (!is_running(s) || !s.has_workflow_task() || s.workflow_task().started_event_id() != point)
    return bad("event " + std::to_string(point) + " is not a started workflow task of the run");
  if (!s.pending_children().empty())
    return bad("the reset point has a child workflow pending; resetting there is not supported");
  if (!s.pending_externals().empty())
    return bad("the reset point has a signal or cancel request to another workflow pending; "
               "resetting there is not supported");
  const auto scheduled_id = s.workflow_task().scheduled_event_id();

  auto* f = b.add(pb::EVENT_TYPE_WORKFLOW_TASK_FAILED).mutable_workflow_task_failed();
  f->set_scheduled_event_id(scheduled_id);
  f->set_started_event_id(point);
  f->set_cause(pb::WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW);
  f->set_identity(in.identity);
  f->set_base_run_id(base_run_id);
  f->set_new_run_id(new_run_id);
  auto* failure = f->mutable_failure();
  failure->set_message(in.reason.empty() ? "reset" : "reset: " + in.reason);
  failure->set_type("ResetWorkflow");
  failure->set_source("server");
  b.commit();
  if (in.reapply_signals) {
    for (auto& ev : base_history) {
      if (ev.event_id() <= point || !ev.has_workflow_execution_signaled()) continue;
      *b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED).mutable_workflow_execution_signaled() =
        ev.workflow_execution_signaled();
    }
    b.commit();
  }
  b.schedule_workflow_task(1);

  // Pending work of the prefix: its timers as they were started, its activities from now.
  for (auto& [id, pt] : s.pending_timers()) t.timers_added.push_back(b.timer(pt));
  std::vector<int64_t> activities;
  for (auto& [id, pa] : s.pending_activities()) activities.push_back(id);
  std::sort(activities.begin(), activities.end());
  for (auto id : activities) {
    auto& pa = s.mutable_pending_activities()->at(id);
    pa.set_attempt(1);
    pa.set_state(pb::ACTIVITY_STATE_SCHEDULED);
    pa.set_scheduled_time_ms(now);
    pa.set_attempt_scheduled_time_ms(now);
    pa.set_timer_fire_ms(0);
    t.transfers_added.push_back(b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, pa.task_queue()));
    b.rearm_activity_timer(id);
  }
  // The run timeout counts from this run's start; the execution timeout's deadline stays.
  const auto& started = base_history.front().workflow_execution_started();
  int64_t fire = s.execution_expiration_ms();
  s.set_workflow_timeout_kind("execution");
  if (started.workflow_run_timeout_ms() > 0) {
    int64_t run_deadline = now + started.workflow_run_timeout_ms();
    if (fire == 0 || run_deadline < fire) {
      fire = run_deadline;
      s.set_workflow_timeout_kind("run");
    }
  }
  if (fire > 0) {
    s.set_workflow_timeout_fire_ms(fire);
    t.timers_added.push_back(b.workflow_timeout_timer(fire));
  } else {
    s.clear_workflow_timeout_fire_ms();
    s.clear_workflow_timeout_kind();
  }
  s.set_start_time_ms(now);
  s.set_reset_from_run_id(base_run_id);
  s.set_reset_event_id(point);
  s.set_reset_request_id(in.request_id);
  return std::move(t);
}

decide_result decide_reset(const pb::MutableState& current, const pb::MutableState& base,
                           const std::vector<pb::HistoryEvent>& base_history,
                           const input::reset_workflow& in, const std::string& new_run_id,
                           int64_t now) {
  if (base.run_id() != current.run_id() && is_running(base))
    return rejection{errc::internal, "run " + base.run_id() + " runs but is not the current run"};
  auto point = find_reset_point(base_history, in.type, in.event_id);
  if (auto* rej = std::get_if<rejection>(&point)) return std::move(*rej);
  auto next = reset_run(base_history, base.run_id(), std::get<int64_t>(point), in, new_run_id, now);
  if (auto* rej = std::get_if<rejection>(&next)) return std::move(*rej);
  transition t;
  if (is_running(current)) {
    auto closing = decide(current, input::terminate_workflow{"reset", in.identity}, now);
    if (auto* rej = std::get_if<rejection>(&closing)) return std::move(*rej);
    t = std::get<transition>(std::move(closing));
    t.state.set_reset_to_run_id(new_run_id);
  } else {
    t.state = current;
    if (current.run_id() == base.run_id()) t.state.set_reset_to_run_id(new_run_id);
  }
  if (base.run_id() != current.run_id()) {
    t.other_states.push_back(base);
    t.other_states.back().set_reset_to_run_id(new_run_id);
  }
  t.next_run = std::make_shared<transition>(std::get<transition>(std::move(next)));
  carry_outbound(t.state, t.next_run->state);
  return t;
}

}  // namespace chronicle
