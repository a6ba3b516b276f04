// decide: validates an input against mutable state and builds the events, state and records of
// one transition.
#include "shards/decide.hpp"

#include <utility>

namespace chronicle {

namespace {

constexpr int64_t max_timer_ms = int64_t{100} * 365 * 24 * 3600 * 1000;  // 100 years

// Accumulates one transition: every event gets the next ID and is applied to the state at once.
class builder {
public:
  builder(const pb::MutableState& state, int64_t now) : now_(now) { t_.state = state; }

  pb::HistoryEvent& add(pb::EventType type) {
    pending_.emplace_back();
    auto& ev = pending_.back();
    ev.set_event_type(type);
    ev.set_event_time_ms(now_);
    return ev;
  }

  // Assigns IDs to and applies the events added since the last commit (attributes are filled by
  // then).
  void commit() {
    for (auto& ev : pending_) {
      ev.set_event_id(t_.state.next_event_id());
      link_started(ev);
      apply(t_.state, ev);
      t_.events.push_back(std::move(ev));
    }
    pending_.clear();
  }

  pb::MutableState& state() { return t_.state; }
  transition& result() { return t_; }
  int64_t now() const { return now_; }

  pb::TransferRecord transfer(pb::TransferKind kind, int64_t scheduled_id,
                              const std::string& queue) const {
    pb::TransferRecord r;
    r.set_namespace_(t_.state.namespace_());
    r.set_workflow_id(t_.state.workflow_id());
    r.set_run_id(t_.state.run_id());
    r.set_scheduled_event_id(scheduled_id);
    r.set_kind(kind);
    r.set_task_queue(queue);
    return r;
  }

  pb::TimerRecord timer(const pb::PendingTimer& pt) const {
    pb::TimerRecord r;
    r.set_namespace_(t_.state.namespace_());
    r.set_workflow_id(t_.state.workflow_id());
    r.set_run_id(t_.state.run_id());
    r.set_started_event_id(pt.started_event_id());
    r.set_fire_time_ms(pt.fire_time_ms());
    return r;
  }

  // Schedules a workflow task (attempt given) and records the transfer that dispatches it.
  void schedule_workflow_task(int32_t attempt) {
    auto& ev = add(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    ev.mutable_workflow_task_scheduled()->set_task_queue(t_.state.task_queue());
    ev.mutable_workflow_task_scheduled()->set_attempt(attempt);
    commit();
    t_.transfers_added.push_back(transfer(pb::TRANSFER_KIND_WORKFLOW_TASK,
                                          t_.state.workflow_task().scheduled_event_id(),
                                          t_.state.task_queue()));
  }

  void remove_workflow_task_transfer() {
    t_.transfers_removed.push_back(transfer(pb::TRANSFER_KIND_WORKFLOW_TASK,
                                            t_.state.workflow_task().scheduled_event_id(),
                                            t_.state.task_queue()));
  }

  // Appends the events buffered while a workflow task was started.
  void flush_buffered() {
    auto buffered = std::move(*t_.state.mutable_buffered_events());
    t_.state.clear_buffered_events();
    for (auto& ev : buffered) {
      auto& added = add(ev.event_type());
      added = std::move(ev);
      added.set_event_time_ms(added.event_time_ms() ? added.event_time_ms() : now_);
    }
    commit();
  }

  // When the execution closed, drops the records of work that can no longer matter.
  void drop_pending_records(const pb::MutableState& before) {
    for (auto& [id, pa] : before.pending_activities())
      t_.transfers_removed.push_back(transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, pa.task_queue()));
    for (auto& [id, pt] : before.pending_timers())
      t_.timers_removed.push_back(timer(pt));
    t_.closed = true;
  }

private:
  // An activity result names the ActivityTaskStarted event written just before it.
  void link_started(pb::HistoryEvent& ev) const {
    if (t_.events.empty()) return;
    auto& prev = t_.events.back();
    if (!prev.has_activity_task_started()) return;
    if (ev.has_activity_task_completed())
      ev.mutable_activity_task_completed()->set_started_event_id(prev.event_id());
    else if (ev.has_activity_task_failed())
      ev.mutable_activity_task_failed()->set_started_event_id(prev.event_id());
  }

  transition t_;
  int64_t now_;
  std::vector<pb::HistoryEvent> pending_;
};

rejection reject(errc code, std::string msg) { return rejection{code, std::move(msg)}; }

bool workflow_task_matches(const pb::MutableState& s, int64_t scheduled_id) {
  return s.has_workflow_task() && s.workflow_task().scheduled_event_id() == scheduled_id;
}

// Checks one command; returns an empty string when valid, else the reason.
std::string validate(const pb::Command& c) {
  switch (c.attributes_case()) {
    case pb::Command::kScheduleActivityTask:
      if (c.schedule_activity_task().activity_type().name().empty())
        return "ScheduleActivityTask without activity type";
      if (c.schedule_activity_task().activity_id().empty())
        return "ScheduleActivityTask without activity id";
      return {};
    case pb::Command::kStartTimer: {
      auto ms = c.start_timer().start_to_fire_timeout_ms();
      if (ms < 0 || ms > max_timer_ms) return "StartTimer with invalid duration";
      if (c.start_timer().timer_id().empty()) return "StartTimer without timer id";
      return {};
    }
    case pb::Command::kCompleteWorkflowExecution:
    case pb::Command::kFailWorkflowExecution:
      return {};
    default:
      return "unknown command";
  }
}

std::string validate_commands(const std::vector<pb::Command>& commands) {
  for (size_t i = 0; i < commands.size(); ++i) {
    auto reason = validate(commands[i]);
    if (!reason.empty()) return "command " + std::to_string(i + 1) + ": " + reason;
    bool closes = commands[i].has_complete_workflow_execution()
                  || commands[i].has_fail_workflow_execution();
    if (closes && i + 1 != commands.size())
      return "command " + std::to_string(i + 1) + " closes the workflow but is not the last";
  }
  return {};
}

decide_result on_start(const pb::MutableState& state, const input::start_workflow& in,
                       int64_t now) {
  auto& req = in.request;
  if (req.workflow_id().empty() || req.workflow_type().empty() || req.task_queue().empty())
    return reject(errc::invalid_argument, "workflow_id, workflow_type and task_queue are required");
  pb::MutableState fresh;
  fresh.set_run_id(in.run_id);
  fresh.set_next_event_id(1);
  builder b(fresh, now);
  auto& ev = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED);
  auto* a = ev.mutable_workflow_execution_started();
  a->mutable_workflow_type()->set_name(req.workflow_type());
  a->set_task_queue(req.task_queue());
  *a->mutable_input() = req.input();
  a->set_workflow_id(req.workflow_id());
  a->set_namespace_(req.namespace_());
  a->set_identity(req.identity());
  a->set_request_id(req.request_id());
  b.commit();
  b.schedule_workflow_task(1);
  return std::move(b.result());
}

decide_result on_wt_started(const pb::MutableState& s, const input::workflow_task_started& in,
                            int64_t now) {
  if (!is_running(s) || !workflow_task_matches(s, in.scheduled_event_id))
    return reject(errc::stale_task, "workflow task is no longer scheduled");
  if (s.workflow_task().started_event_id() != 0)
    return reject(errc::stale_task, "workflow task already started");
  builder b(s, now);
  auto& ev = b.add(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  ev.mutable_workflow_task_started()->set_scheduled_event_id(in.scheduled_event_id);
  ev.mutable_workflow_task_started()->set_identity(in.identity);
  b.commit();
  return std::move(b.result());
}

// Ends the started workflow task without success (failed or timed out) and schedules the next.
template <class Fill>
decide_result end_wt_unsuccessfully(const pb::MutableState& s, int64_t scheduled_id,
                                    pb::EventType type, int64_t now, Fill fill) {
  if (!is_running(s) || !workflow_task_matches(s, scheduled_id)
      || s.workflow_task().started_event_id() == 0)
    return reject(errc::stale_task, "workflow task is not started");
  builder b(s, now);
  b.remove_workflow_task_transfer();
  int32_t attempt = s.workflow_task().attempt() + 1;
  fill(b.add(type), s.workflow_task().started_event_id());
  b.commit();
  b.flush_buffered();
  b.schedule_workflow_task(attempt);
  return std::move(b.result());
}

decide_result on_wt_completed(const pb::MutableState& s, const input::workflow_task_completed& in,
                              int64_t now) {
  if (!is_running(s) || !workflow_task_matches(s, in.scheduled_event_id)
      || s.workflow_task().started_event_id() == 0)
    return reject(errc::stale_task, "workflow task is not started");
  auto invalid = validate_commands(in.commands);
  if (!invalid.empty()) {
    pb::Failure f;
    f.set_message("bad commands: " + invalid);
    f.set_type("BadCommand");
    f.set_source("server");
    return end_wt_unsuccessfully(s, in.scheduled_event_id, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED, now,
                                 [&](pb::HistoryEvent& ev, int64_t started) {
                                   auto* a = ev.mutable_workflow_task_failed();
                                   a->set_scheduled_event_id(in.scheduled_event_id);
                                   a->set_started_event_id(started);
                                   *a->mutable_failure() = f;
                                   a->set_identity(in.identity);
                                 });
  }
  builder b(s, now);
  b.remove_workflow_task_transfer();
  auto& done = b.add(pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  done.mutable_workflow_task_completed()->set_scheduled_event_id(in.scheduled_event_id);
  done.mutable_workflow_task_completed()->set_started_event_id(s.workflow_task().started_event_id());
  done.mutable_workflow_task_completed()->set_identity(in.identity);
  b.commit();
  int64_t completed_id = b.state().last_workflow_task_completed_event_id();
  for (auto& c : in.commands) {
    if (c.has_schedule_activity_task()) {
      auto& ca = c.schedule_activity_task();
      auto& ev = b.add(pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
      auto* a = ev.mutable_activity_task_scheduled();
      a->set_activity_id(ca.activity_id());
      *a->mutable_activity_type() = ca.activity_type();
      a->set_task_queue(ca.task_queue().empty() ? s.task_queue() : ca.task_queue());
      *a->mutable_input() = ca.input();
      a->set_workflow_task_completed_event_id(completed_id);
      b.commit();
      b.result().transfers_added.push_back(
        b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, b.state().next_event_id() - 1, a->task_queue()));
    } else if (c.has_start_timer()) {
      auto& ev = b.add(pb::EVENT_TYPE_TIMER_STARTED);
      auto* a = ev.mutable_timer_started();
      a->set_timer_id(c.start_timer().timer_id());
      a->set_start_to_fire_timeout_ms(c.start_timer().start_to_fire_timeout_ms());
      a->set_workflow_task_completed_event_id(completed_id);
      b.commit();
      auto& pt = b.state().pending_timers().at(b.state().next_event_id() - 1);
      b.result().timers_added.push_back(b.timer(pt));
    } else if (c.has_complete_workflow_execution() || c.has_fail_workflow_execution()) {
      const pb::MutableState open = b.state();
      if (c.has_complete_workflow_execution()) {
        auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED).mutable_workflow_execution_completed();
        *a->mutable_result() = c.complete_workflow_execution().result();
        a->set_workflow_task_completed_event_id(completed_id);
      } else {
        auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED).mutable_workflow_execution_failed();
        *a->mutable_failure() = c.fail_workflow_execution().failure();
        a->set_workflow_task_completed_event_id(completed_id);
      }
      b.commit();
      b.drop_pending_records(open);
      // Records added by this very task are dropped too: nothing may run for a closed execution.
      b.result().transfers_added.clear();
      b.result().timers_added.clear();
      return std::move(b.result());
    }
  }
  if (b.state().buffered_events_size() > 0) {
    b.flush_buffered();
    b.schedule_workflow_task(1);
  }
  return std::move(b.result());
}

// Events produced by an activity or timer: buffered while a workflow task is started, else
// appended at once with a new workflow task scheduled when none is pending.
decide_result on_external_events(const pb::MutableState& s, std::vector<pb::HistoryEvent> evs,
                                 int64_t now, transition removed) {
  builder b(s, now);
  auto& r = b.result();
  r.transfers_removed = std::move(removed.transfers_removed);
  r.timers_removed = std::move(removed.timers_removed);
  bool wt_started = s.has_workflow_task() && s.workflow_task().started_event_id() != 0;
  for (auto& ev : evs) {
    ev.set_event_time_ms(now);
    if (wt_started) {
      *b.state().add_buffered_events() = std::move(ev);
    } else {
      b.add(ev.event_type()) = std::move(ev);
      b.commit();
    }
  }
  if (!wt_started && !b.state().has_workflow_task()) b.schedule_workflow_task(1);
  return std::move(b.result());
}

bool buffered_for_activity(const pb::MutableState& s, int64_t scheduled_id) {
  for (auto& ev : s.buffered_events()) {
    if (ev.has_activity_task_completed() && ev.activity_task_completed().scheduled_event_id() == scheduled_id)
      return true;
    if (ev.has_activity_task_failed() && ev.activity_task_failed().scheduled_event_id() == scheduled_id)
      return true;
  }
  return false;
}

bool buffered_for_timer(const pb::MutableState& s, int64_t started_id) {
  for (auto& ev : s.buffered_events())
    if (ev.has_timer_fired() && ev.timer_fired().started_event_id() == started_id) return true;
  return false;
}

template <class Attrs>
decide_result on_activity_result(const pb::MutableState& s, int64_t scheduled_id,
                                 const std::string& identity, int32_t attempt, int64_t now,
                                 pb::EventType type, Attrs fill) {
  if (!is_running(s)) return reject(errc::stale_task, "workflow execution is closed");
  auto it = s.pending_activities().find(scheduled_id);
  if (it == s.pending_activities().end() || buffered_for_activity(s, scheduled_id))
    return reject(errc::stale_task, "activity is not pending");
  // ActivityTaskStarted is written with the result (as Temporal does), then the result itself.
  builder b(s, now);
  transition removed;
  removed.transfers_removed.push_back(
    b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, scheduled_id, it->second.task_queue()));
  std::vector<pb::HistoryEvent> evs(2);
  evs[0].set_event_type(pb::EVENT_TYPE_ACTIVITY_TASK_STARTED);
  auto* st = evs[0].mutable_activity_task_started();
  st->set_scheduled_event_id(scheduled_id);
  st->set_identity(identity);
  st->set_attempt(attempt);
  evs[1].set_event_type(type);
  fill(evs[1]);
  return on_external_events(s, std::move(evs), now, std::move(removed));
}

decide_result on_timer_fired(const pb::MutableState& s, const input::timer_fired& in, int64_t now) {
  if (!is_running(s)) return reject(errc::stale_task, "workflow execution is closed");
  auto it = s.pending_timers().find(in.started_event_id);
  if (it == s.pending_timers().end() || buffered_for_timer(s, in.started_event_id))
    return reject(errc::stale_task, "timer is not pending");
  builder b(s, now);
  transition extra;
  extra.timers_removed.push_back(b.timer(it->second));
  std::vector<pb::HistoryEvent> evs(1);
  evs[0].set_event_type(pb::EVENT_TYPE_TIMER_FIRED);
  evs[0].mutable_timer_fired()->set_timer_id(it->second.timer_id());
  evs[0].mutable_timer_fired()->set_started_event_id(in.started_event_id);
  return on_external_events(s, std::move(evs), now, std::move(extra));
}

}  // namespace

decide_result decide(const pb::MutableState& state, const decide_input& in, int64_t now) {
  return std::visit(
    [&](auto& x) -> decide_result {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, input::start_workflow>) {
        return on_start(state, x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_task_started>) {
        return on_wt_started(state, x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_task_completed>) {
        return on_wt_completed(state, x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_task_failed>) {
        return end_wt_unsuccessfully(state, x.scheduled_event_id, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED,
                                     now, [&](pb::HistoryEvent& ev, int64_t started) {
                                       auto* a = ev.mutable_workflow_task_failed();
                                       a->set_scheduled_event_id(x.scheduled_event_id);
                                       a->set_started_event_id(started);
                                       *a->mutable_failure() = x.failure;
                                       a->set_identity(x.identity);
                                     });
      } else if constexpr (std::is_same_v<T, input::workflow_task_timed_out>) {
        return end_wt_unsuccessfully(state, x.scheduled_event_id,
                                     pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, now,
                                     [&](pb::HistoryEvent& ev, int64_t started) {
                                       auto* a = ev.mutable_workflow_task_timed_out();
                                       a->set_scheduled_event_id(x.scheduled_event_id);
                                       a->set_started_event_id(started);
                                       a->set_cause(x.cause);
                                     });
      } else if constexpr (std::is_same_v<T, input::activity_completed>) {
        return on_activity_result(state, x.scheduled_event_id, x.identity, x.attempt, now,
                                  pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED, [&](pb::HistoryEvent& ev) {
                                    auto* a = ev.mutable_activity_task_completed();
                                    *a->mutable_result() = x.result;
                                    a->set_scheduled_event_id(x.scheduled_event_id);
                                    a->set_identity(x.identity);
                                  });
      } else if constexpr (std::is_same_v<T, input::activity_failed>) {
        return on_activity_result(state, x.scheduled_event_id, x.identity, x.attempt, now,
                                  pb::EVENT_TYPE_ACTIVITY_TASK_FAILED, [&](pb::HistoryEvent& ev) {
                                    auto* a = ev.mutable_activity_task_failed();
                                    *a->mutable_failure() = x.failure;
                                    a->set_scheduled_event_id(x.scheduled_event_id);
                                    a->set_identity(x.identity);
                                  });
      } else {
        return on_timer_fired(state, x, now);
      }
    },
    in);
}

}  // namespace chronicle
