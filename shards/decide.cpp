// decide: validates an input against mutable state and builds the events, state and records of
// one transition. The workflow task completion (commands) lives in decide_task.cpp.
#include "shards/decide.hpp"

#include <optional>
#include <utility>

#include "shards/transition_builder.hpp"

namespace chronicle {

namespace detail {

bool buffered_for_activity(const pb::MutableState& s, int64_t scheduled_id) {
  for (auto& ev : s.buffered_events()) {
    if (ev.has_activity_task_completed() && ev.activity_task_completed().scheduled_event_id() == scheduled_id)
      return true;
    if (ev.has_activity_task_failed() && ev.activity_task_failed().scheduled_event_id() == scheduled_id)
      return true;
    if (ev.has_activity_task_timed_out()
        && ev.activity_task_timed_out().scheduled_event_id() == scheduled_id)
      return true;
  }
  return false;
}

bool buffered_for_timer(const pb::MutableState& s, int64_t started_id) {
  for (auto& ev : s.buffered_events())
    if (ev.has_timer_fired() && ev.timer_fired().started_event_id() == started_id) return true;
  return false;
}

builder start_run(const pb::StartWorkflowRequest& req, const std::string& run_id, int64_t now,
                  const std::function<void(pb::WorkflowExecutionStartedEventAttributes*)>& fill) {
  pb::MutableState fresh;
  fresh.set_run_id(run_id);
  fresh.set_next_event_id(1);
  builder b(fresh, now);
  auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).mutable_workflow_execution_started();
  a->mutable_workflow_type()->set_name(req.workflow_type());
  a->set_task_queue(req.task_queue());
  *a->mutable_input() = req.input();
  a->set_workflow_id(req.workflow_id());
  a->set_namespace_(req.namespace_());
  a->set_identity(req.identity());
  a->set_request_id(req.request_id());
  a->set_workflow_execution_timeout_ms(req.workflow_execution_timeout_ms());
  a->set_workflow_run_timeout_ms(req.workflow_run_timeout_ms());
  if (req.has_parent()) {
    *a->mutable_parent() = req.parent();
    a->set_parent_close_policy(req.parent_close_policy());
  }
  if (!req.search_attributes().indexed_fields().empty())
    *a->mutable_search_attributes() = req.search_attributes();
  if (!req.memo().fields().empty()) *a->mutable_memo() = req.memo();
  a->set_fairness_key(req.fairness_key());
  a->set_priority(req.priority());
  if (fill) fill(a);
  b.commit();
  if (b.state().workflow_timeout_fire_ms() != 0)
    b.result().timers_added.push_back(b.workflow_timeout_timer(b.state().workflow_timeout_fire_ms()));
  return b;
}

decide_result on_external_events(const pb::MutableState& s, std::vector<pb::HistoryEvent> evs,
                                 int64_t now, transition removed, bool needs_task) {
  builder b(s, now);
  auto& r = b.result();
  r.transfers_removed = std::move(removed.transfers_removed);
  r.timers_removed = std::move(removed.timers_removed);
  bool wt_started = workflow_task_started(s);
  // A speculative task (update delivery) is written before events are buffered behind it; one
  // not yet started is replaced by a normal task after the events (its token becomes stale).
  if (speculative_task(s)) {
    if (wt_started) {
      b.materialize_speculative(true);
    } else {
      if (transient_task(s)) b.remove_workflow_task_transfer();  // a normal task follows
      b.state().clear_workflow_task();
      needs_task = true;
    }
  }
  for (auto& ev : evs) {
    ev.set_event_time_ms(now);
    if (wt_started) {
      *b.state().add_buffered_events() = std::move(ev);
    } else {
      b.add(ev.event_type()) = std::move(ev);
      b.commit();
    }
  }
  if (needs_task && !wt_started && !b.state().has_workflow_task()) b.schedule_workflow_task(1);
  return std::move(b.result());
}

}  // namespace detail

namespace {

using detail::on_external_events;

using detail::builder;
using detail::reject;
using detail::start_run;

// "workflow 'g1' is closed (Completed)": the rejection of inputs addressed to a closed run.
rejection closed(const pb::MutableState& s) {
  return reject(errc::not_found, "workflow '" + s.workflow_id() + "' is closed ("
                                   + status_name(s.status()) + ")");
}

std::optional<rejection> invalid_start(const pb::StartWorkflowRequest& req) {
  if (req.workflow_id().empty() || req.workflow_type().empty() || req.task_queue().empty())
    return reject(errc::invalid_argument, "workflow_id, workflow_type and task_queue are required");
  if (req.workflow_execution_timeout_ms() < 0 || req.workflow_run_timeout_ms() < 0)
    return reject(errc::invalid_argument, "workflow timeouts must not be negative");
  if (req.fairness_key().size() > 1000)
    return reject(errc::invalid_argument, "the fairness key is longer than 1000 bytes");
  if (req.priority() < 0 || req.priority() > 5)
    return reject(errc::invalid_argument,
                  "priority must be 1 (highest) .. 5 (lowest), or 0 for the default 3; got "
                    + std::to_string(req.priority()));
  return std::nullopt;
}

// A transition that changes nothing (an idempotent retry).
transition no_op(const pb::MutableState& s) {
  transition t;
  t.state = s;
  return t;
}

pb::HistoryEvent signaled_event(const input::signal_workflow& in) {
  pb::HistoryEvent ev;
  ev.set_event_type(pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  auto* a = ev.mutable_workflow_execution_signaled();
  a->set_signal_name(in.signal_name);
  *a->mutable_input() = in.input;
  a->set_identity(in.identity);
  a->set_request_id(in.request_id);
  return ev;
}

decide_result on_start(const input::start_workflow& in, int64_t now) {
  if (auto rej = invalid_start(in.request)) return *rej;
  builder b = start_run(in.request, in.run_id, now);
  b.schedule_workflow_task(1);
  return std::move(b.result());
}

decide_result on_wt_started(const pb::MutableState& s, const input::workflow_task_started& in,
                            int64_t now) {
  if (!is_running(s) || !detail::workflow_task_matches(s, in.scheduled_event_id))
    return reject(errc::stale_task, "workflow task is no longer scheduled");
  // A task queued before the pause: dropped by its queue, dispatched again at the unpause.
  if (s.paused()) return reject(errc::stale_task, "workflow is paused");
  if (s.workflow_task().started_event_id() != 0)
    return reject(errc::stale_task, "workflow task already started");
  if (s.workflow_task().speculative()) {  // no event until its answer records something
    transition t;
    t.state = s;
    auto* wt = t.state.mutable_workflow_task();
    wt->set_started_event_id(wt->scheduled_event_id() + 1);
    wt->set_started_time_ms(now);
    wt->set_identity(in.identity);
    t.memory_only = true;
    return t;
  }
  builder b(s, now);
  auto& ev = b.add(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  ev.mutable_workflow_task_started()->set_scheduled_event_id(in.scheduled_event_id);
  ev.mutable_workflow_task_started()->set_identity(in.identity);
  b.commit();
  return std::move(b.result());
}

decide_result on_timer_fired(const pb::MutableState& s, const input::timer_fired& in, int64_t now) {
  if (!is_running(s)) return reject(errc::stale_task, "workflow execution is closed");
  auto it = s.pending_timers().find(in.started_event_id);
  if (it == s.pending_timers().end() || detail::buffered_for_timer(s, in.started_event_id))
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

bool signal_recorded(const pb::MutableState& s, const std::string& request_id) {
  if (request_id.empty()) return false;
  for (auto& id : s.signal_request_ids())
    if (id == request_id) return true;
  for (auto& ev : s.buffered_events())
    if (ev.has_workflow_execution_signaled()
        && ev.workflow_execution_signaled().request_id() == request_id)
      return true;
  return false;
}

decide_result on_signal(const pb::MutableState& s, const input::signal_workflow& in, int64_t now) {
  if (!is_running(s)) return closed(s);
  if (in.signal_name.empty()) return reject(errc::invalid_argument, "signal name is empty");
  if (signal_recorded(s, in.request_id)) return no_op(s);  // a retry: already recorded
  return on_external_events(s, {signaled_event(in)}, now, {});
}

decide_result on_signal_with_start(const pb::MutableState& s, const input::signal_with_start& in,
                                   int64_t now) {
  if (is_running(s)) return on_signal(s, in.signal, now);
  if (in.signal.signal_name.empty()) return reject(errc::invalid_argument, "signal name is empty");
  if (auto rej = invalid_start(in.request)) return *rej;
  builder b = start_run(in.request, in.run_id, now);
  auto& ev = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
  ev = signaled_event(in.signal);
  ev.set_event_time_ms(now);
  b.commit();
  b.schedule_workflow_task(1);
  return std::move(b.result());
}

bool cancel_recorded(const pb::MutableState& s) {
  if (s.cancel_requested()) return true;
  for (auto& ev : s.buffered_events())
    if (ev.has_workflow_execution_cancel_requested()) return true;
  return false;
}

decide_result on_request_cancel(const pb::MutableState& s,
                                const input::request_cancel_workflow& in, int64_t now) {
  if (!is_running(s)) return closed(s);
  if (cancel_recorded(s)) return no_op(s);  // cancellation is idempotent
  pb::HistoryEvent ev;
  ev.set_event_type(pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  auto* a = ev.mutable_workflow_execution_cancel_requested();
  a->set_cause(in.reason);
  a->set_identity(in.identity);
  a->set_request_id(in.request_id);
  return on_external_events(s, {std::move(ev)}, now, {});
}

std::string paused_text(const pb::MutableState& s) {
  return s.pause_reason().empty() ? std::string() : " (reason: " + s.pause_reason() + ")";
}

pb::HistoryEvent pause_event_of(pb::EventType type, const std::string& reason,
                                const std::string& identity) {
  pb::HistoryEvent ev;
  ev.set_event_type(type);
  auto set = [&](auto* a) {
    a->set_reason(reason);
    a->set_identity(identity);
  };
  if (type == pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED) set(ev.mutable_workflow_execution_paused());
  else set(ev.mutable_workflow_execution_unpaused());
  return ev;
}

rejection not_running(const pb::MutableState& s, const char* what) {
  return reject(errc::failed_precondition, "workflow '" + s.workflow_id() + "' is closed ("
                                             + status_name(s.status()) + "): only a running "
                                             "workflow can be " + what);
}

decide_result on_pause(const pb::MutableState& s, const input::pause_workflow& in, int64_t now) {
  if (!is_running(s)) return not_running(s, "paused");
  if (s.paused())
    return reject(errc::failed_precondition,
                  "workflow '" + s.workflow_id() + "' is already paused" + paused_text(s));
  auto res = on_external_events(
    s, {pause_event_of(pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED, in.reason, in.identity)}, now,
    {}, false);
  if (auto* t = std::get_if<transition>(&res)) {  // also when the event waits behind a task
    t->state.set_paused(true);
    t->state.set_pause_reason(in.reason);
    t->state.set_pause_identity(in.identity);
    t->state.set_pause_time_ms(now);
  }
  return res;
}

decide_result on_unpause(const pb::MutableState& s, const input::unpause_workflow& in,
                         int64_t now) {
  if (!is_running(s)) return not_running(s, "unpaused");
  if (!s.paused())
    return reject(errc::failed_precondition, "workflow '" + s.workflow_id() + "' is not paused");
  auto res = on_external_events(
    s, {pause_event_of(pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED, in.reason, in.identity)}, now,
    {}, false);
  auto* t = std::get_if<transition>(&res);
  if (!t) return res;
  auto& st = t->state;
  st.set_paused(false);
  st.clear_pause_reason();
  st.clear_pause_identity();
  st.clear_pause_time_ms();
  // The tasks that waited: listed again so that the execution dispatches them (their records
  // exist; writing them again changes nothing).
  builder b(st, now);
  const auto& wt = st.workflow_task();
  bool wt_listed = false;
  for (auto& r : t->transfers_added) wt_listed = wt_listed || r.kind() == pb::TRANSFER_KIND_WORKFLOW_TASK;
  if (st.has_workflow_task() && wt.started_event_id() == 0 && !wt_listed
      && (!wt.speculative() || wt.transient()))
    t->transfers_added.push_back(
      b.transfer(pb::TRANSFER_KIND_WORKFLOW_TASK, wt.scheduled_event_id(), st.task_queue()));
  for (auto& [id, pa] : st.pending_activities())
    if (pa.state() == pb::ACTIVITY_STATE_SCHEDULED && pa.cancel_requested_event_id() == 0)
      t->transfers_added.push_back(b.transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, pa.task_queue()));
  return res;
}

// Before a server-side close: a started workflow task is failed (cause ForceCloseCommand, the
// worker's answer would come too late, as Temporal does) and the buffered events are written.
void force_close_workflow_task(builder& b, const pb::MutableState& s, const std::string& why,
                               const std::string& identity) {
  if (detail::workflow_task_started(s)) {
    b.materialize_speculative(false);
    b.remove_workflow_task_transfer();
    auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_TASK_FAILED).mutable_workflow_task_failed();
    a->set_scheduled_event_id(s.workflow_task().scheduled_event_id());
    a->set_started_event_id(s.workflow_task().started_event_id());
    a->set_cause(pb::WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
    a->mutable_failure()->set_message(why);
    a->mutable_failure()->set_source("server");
    a->set_identity(identity);
    b.commit();
    b.flush_buffered();
  }
}

decide_result on_workflow_timed_out(const pb::MutableState& s, const input::workflow_timed_out& in,
                                    int64_t now) {
  if (!is_running(s) || s.workflow_timeout_fire_ms() == 0
      || s.workflow_timeout_fire_ms() != in.fire_time_ms)
    return reject(errc::stale_task, "workflow timeout is not armed");
  builder b(s, now);
  force_close_workflow_task(b, s, "workflow execution timed out", "");
  const pb::MutableState open = b.state();
  b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT)
    .mutable_workflow_execution_timed_out()
    ->set_timeout(s.workflow_timeout_kind());
  b.commit();
  b.drop_pending_records(open);
  // Its own record fired and is deleted by the execution; drop_pending_records removed it too.
  return std::move(b.result());
}

decide_result on_terminate(const pb::MutableState& s, const input::terminate_workflow& in,
                           int64_t now) {
  if (!is_running(s)) return closed(s);
  builder b(s, now);
  force_close_workflow_task(b, s, "workflow execution terminated", in.identity);
  const pb::MutableState open = b.state();
  auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED).mutable_workflow_execution_terminated();
  a->set_reason(in.reason);
  a->set_identity(in.identity);
  b.commit();
  b.drop_pending_records(open);
  return std::move(b.result());
}

// Children (see decide.hpp). A child's events are external: buffered while a task is started.

// `s` without the queued message (kind, id); its transfer record goes into `removed`.
pb::MutableState without_outbound(const pb::MutableState& s, pb::TransferKind kind, int64_t id,
                                  transition& removed) {
  builder b(s, 0);
  b.remove_outbound(kind, id);
  removed.transfers_removed = b.result().transfers_removed;
  return b.state();
}

bool child_event_buffered(const pb::MutableState& s, int64_t initiated_id, bool closed) {
  for (auto& ev : s.buffered_events()) {
    if (!closed && ev.has_child_workflow_execution_started()
        && ev.child_workflow_execution_started().initiated_event_id() == initiated_id)
      return true;
    if (closed && ev.has_child_workflow_execution_closed()
        && ev.child_workflow_execution_closed().initiated_event_id() == initiated_id)
      return true;
  }
  return false;
}

pb::HistoryEvent child_started_event(const pb::PendingChild& pc, const std::string& run_id) {
  pb::HistoryEvent ev;
  ev.set_event_type(pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED);
  auto* a = ev.mutable_child_workflow_execution_started();
  a->set_namespace_(pc.namespace_());
  a->set_initiated_event_id(pc.initiated_event_id());
  a->mutable_workflow_execution()->set_workflow_id(pc.workflow_id());
  a->mutable_workflow_execution()->set_run_id(run_id);
  a->mutable_workflow_type()->set_name(pc.workflow_type());
  return ev;
}

// The child initiated at `initiated_id` if it waits for its start to be acknowledged, else a
// rejection; `s2` is then `s` without the start message (its removal in `removed`).
const pb::PendingChild* child_waiting_to_start(const pb::MutableState& s, int64_t initiated_id,
                                               pb::MutableState* s2, transition* removed,
                                               std::optional<rejection>* rej) {
  if (!is_running(s)) {
    *rej = rejection{errc::stale_task, "workflow execution is closed"};
    return nullptr;
  }
  auto it = s.pending_children().find(initiated_id);
  if (it == s.pending_children().end() || !it->second.run_id().empty()
      || child_event_buffered(s, initiated_id, false)) {
    *rej = rejection{errc::stale_task, "child is not waiting to start"};
    return nullptr;
  }
  *s2 = without_outbound(s, pb::TRANSFER_KIND_START_CHILD, initiated_id, *removed);
  return &it->second;
}

decide_result on_child_started(const pb::MutableState& s, const input::child_started& in,
                               int64_t now) {
  pb::MutableState s2;
  transition removed;
  std::optional<rejection> rej;
  auto* pc = child_waiting_to_start(s, in.initiated_event_id, &s2, &removed, &rej);
  if (!pc) return *rej;
  return on_external_events(s2, {child_started_event(*pc, in.run_id)}, now, std::move(removed));
}

decide_result on_child_start_failed(const pb::MutableState& s,
                                    const input::child_start_failed& in, int64_t now) {
  pb::MutableState s2;
  transition removed;
  std::optional<rejection> rej;
  auto* pc = child_waiting_to_start(s, in.initiated_event_id, &s2, &removed, &rej);
  if (!pc) return *rej;
  pb::HistoryEvent ev;
  ev.set_event_type(pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED);
  auto* a = ev.mutable_start_child_workflow_execution_failed();
  a->set_namespace_(pc->namespace_());
  a->set_workflow_id(pc->workflow_id());
  a->mutable_workflow_type()->set_name(pc->workflow_type());
  a->set_cause(in.cause);
  a->set_initiated_event_id(in.initiated_event_id);
  return on_external_events(s2, {std::move(ev)}, now, std::move(removed));
}

pb::EventType child_close_event_type(pb::WorkflowExecutionStatus status) {
  switch (status) {
    case pb::WORKFLOW_EXECUTION_STATUS_COMPLETED: return pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED;
    case pb::WORKFLOW_EXECUTION_STATUS_FAILED: return pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED;
    case pb::WORKFLOW_EXECUTION_STATUS_CANCELED: return pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED;
    case pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT: return pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT;
    case pb::WORKFLOW_EXECUTION_STATUS_TERMINATED: return pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED;
    default: return pb::EVENT_TYPE_UNSPECIFIED;
  }
}

decide_result on_child_closed(const pb::MutableState& s, const input::child_closed& in,
                              int64_t now) {
  auto& c = in.closed;
  auto type = child_close_event_type(c.status());
  if (type == pb::EVENT_TYPE_UNSPECIFIED)
    return reject(errc::invalid_argument,
                  std::string("child close with status ") + status_name(c.status()));
  if (!is_running(s) || s.run_id() != c.parent().run_id())
    return reject(errc::not_found, "parent run " + c.parent().run_id() + " is closed");
  auto id = c.parent().initiated_event_id();
  auto it = s.pending_children().find(id);
  if (it == s.pending_children().end() || child_event_buffered(s, id, true) || it->second.workflow_id() != c.child().workflow_id())
    return no_op(s);  // a repeated notification
  transition removed;
  auto s2 = without_outbound(s, pb::TRANSFER_KIND_START_CHILD, id, removed);
  std::vector<pb::HistoryEvent> evs;
  if (it->second.run_id().empty() && !child_event_buffered(s, id, false))
    evs.push_back(child_started_event(it->second, c.child().run_id()));
  pb::HistoryEvent ev;
  ev.set_event_type(type);
  auto* a = ev.mutable_child_workflow_execution_closed();
  a->set_namespace_(it->second.namespace_());
  *a->mutable_workflow_execution() = c.child();
  a->mutable_workflow_type()->set_name(it->second.workflow_type());
  a->set_initiated_event_id(id);
  if (c.status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED) *a->mutable_result() = c.result();
  else *a->mutable_failure() = c.failure();
  evs.push_back(std::move(ev));
  return on_external_events(s2, std::move(evs), now, std::move(removed));
}

}  // namespace

decide_result decide(const pb::MutableState& state, const decide_input& in, int64_t now) {
  return std::visit(
    [&](auto& x) -> decide_result {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, input::start_workflow>) {
        return on_start(x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_task_started>) {
        return on_wt_started(state, x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_task_completed>) {
        return detail::on_workflow_task_completed(state, x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_task_failed>) {
        return detail::end_wt_unsuccessfully(
          state, x.scheduled_event_id, pb::EVENT_TYPE_WORKFLOW_TASK_FAILED, now,
          state.workflow_task().attempt() + 1, [&](pb::HistoryEvent& ev, int64_t started) {
            auto* a = ev.mutable_workflow_task_failed();
            a->set_scheduled_event_id(x.scheduled_event_id);
            a->set_started_event_id(started);
            *a->mutable_failure() = x.failure;
            a->set_identity(x.identity);
          });
      } else if constexpr (std::is_same_v<T, input::workflow_task_timed_out>) {
        return detail::end_wt_unsuccessfully(
          state, x.scheduled_event_id, pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, now,
          state.workflow_task().attempt() + 1, [&](pb::HistoryEvent& ev, int64_t started) {
            auto* a = ev.mutable_workflow_task_timed_out();
            a->set_scheduled_event_id(x.scheduled_event_id);
            a->set_started_event_id(started);
            a->set_cause(x.cause);
          });
      } else if constexpr (std::is_same_v<T, input::activity_completed>) {
        return detail::on_activity_completed(state, x, now);
      } else if constexpr (std::is_same_v<T, input::activity_failed>) {
        return detail::on_activity_failed(state, x, now);
      } else if constexpr (std::is_same_v<T, input::activity_canceled>) {
        return detail::on_activity_canceled(state, x, now);
      } else if constexpr (std::is_same_v<T, input::activity_lost>) {
        return detail::on_activity_lost(state, x, now);
      } else if constexpr (std::is_same_v<T, input::activity_started>) {
        return detail::on_activity_started(state, x, now);
      } else if constexpr (std::is_same_v<T, input::activity_heartbeat>) {
        return detail::on_activity_heartbeat(state, x, now);
      } else if constexpr (std::is_same_v<T, input::activity_timer>) {
        return detail::on_activity_timer(state, x, now);
      } else if constexpr (std::is_same_v<T, input::workflow_timed_out>) {
        return on_workflow_timed_out(state, x, now);
      } else if constexpr (std::is_same_v<T, input::timer_fired>) {
        return on_timer_fired(state, x, now);
      } else if constexpr (std::is_same_v<T, input::signal_workflow>) {
        return on_signal(state, x, now);
      } else if constexpr (std::is_same_v<T, input::signal_with_start>) {
        return on_signal_with_start(state, x, now);
      } else if constexpr (std::is_same_v<T, input::child_started>) {
        return on_child_started(state, x, now);
      } else if constexpr (std::is_same_v<T, input::child_start_failed>) {
        return on_child_start_failed(state, x, now);
      } else if constexpr (std::is_same_v<T, input::child_closed>) {
        return on_child_closed(state, x, now);
      } else if constexpr (std::is_same_v<T, input::external_delivered>) {
        return detail::on_external_answer(state, x.initiated_event_id, true, x.run_id, "", "", now);
      } else if constexpr (std::is_same_v<T, input::external_failed>) {
        return detail::on_external_answer(state, x.initiated_event_id, false, "", x.cause,
                                          x.message, now);
      } else if constexpr (std::is_same_v<T, input::update_admitted>) {
        return detail::on_update_admitted(state, now);
      } else if constexpr (std::is_same_v<T, input::pause_workflow>) {
        return on_pause(state, x, now);
      } else if constexpr (std::is_same_v<T, input::unpause_workflow>) {
        return on_unpause(state, x, now);
      } else if constexpr (std::is_same_v<T, input::terminate_workflow>) {
        return on_terminate(state, x, now);
      } else {
        static_assert(std::is_same_v<T, input::request_cancel_workflow>);
        return on_request_cancel(state, x, now);
      }
    },
    in);
}

}  // namespace chronicle
