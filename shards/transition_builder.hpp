// Internal to shards/: the helpers every decide_*.cpp file shares to build one transition. Not
// part of the decide() interface.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "shards/decide.hpp"

namespace chronicle::detail {

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
    if (kind == pb::TRANSFER_KIND_ACTIVITY_TASK) {
      auto it = t_.state.pending_activities().find(scheduled_id);
      if (it != t_.state.pending_activities().end()) r.set_attempt(it->second.attempt());
    }
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

  // The durable timer record of the activity scheduled at `scheduled_id` firing at `fire`.
  pb::TimerRecord activity_timer(int64_t scheduled_id, int64_t fire, int32_t attempt) const {
    pb::TimerRecord r;
    r.set_namespace_(t_.state.namespace_());
    r.set_workflow_id(t_.state.workflow_id());
    r.set_run_id(t_.state.run_id());
    r.set_started_event_id(scheduled_id);
    r.set_fire_time_ms(fire);
    r.set_kind(pb::TIMER_KIND_ACTIVITY);
    r.set_attempt(attempt);
    return r;
  }

  // The durable timer record of the execution / run timeout (started_event_id 1).
  pb::TimerRecord workflow_timeout_timer(int64_t fire) const {
    pb::TimerRecord r;
    r.set_namespace_(t_.state.namespace_());
    r.set_workflow_id(t_.state.workflow_id());
    r.set_run_id(t_.state.run_id());
    r.set_started_event_id(1);
    r.set_fire_time_ms(fire);
    r.set_kind(pb::TIMER_KIND_WORKFLOW_TIMEOUT);
    return r;
  }

  // Arms the activity's timer record for its next deadline, removing the one armed before.
  void rearm_activity_timer(int64_t scheduled_id);

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

  // The retry of a failed or timed-out workflow task (attempt >= 2) as a transient task: no
  // WorkflowTaskScheduled yet (its ID is next_event_id), but the state and a transfer record are
  // written, so it is dispatched now and again after a restart (state.proto, transient).
  void schedule_transient_workflow_task(int32_t attempt) {
    auto* wt = t_.state.mutable_workflow_task();
    wt->Clear();
    wt->set_scheduled_event_id(t_.state.next_event_id());
    wt->set_attempt(attempt);
    wt->set_speculative(true);
    wt->set_transient(true);
    wt->set_scheduled_time_ms(now_);
    t_.transfers_added.push_back(transfer(pb::TRANSFER_KIND_WORKFLOW_TASK, wt->scheduled_event_id(),
                                          t_.state.task_queue()));
  }

  // A speculative workflow task becomes a normal one: its WorkflowTaskScheduled (and Started, when
  // started) are appended with the IDs and times the worker was given (next_event_id is its
  // scheduled ID: nothing is appended while a speculative task is pending). `keep_transfer`: the
  // task stays pending, so it gets its transfer record (recovery finds the run by it). No-op for
  // a normal task.
  void materialize_speculative(bool keep_transfer) {
    if (!t_.state.has_workflow_task() || !t_.state.workflow_task().speculative()) return;
    const pb::PendingWorkflowTask wt = t_.state.workflow_task();
    t_.state.clear_workflow_task();
    auto& sched = add(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    sched.set_event_time_ms(wt.scheduled_time_ms());
    sched.mutable_workflow_task_scheduled()->set_task_queue(t_.state.task_queue());
    sched.mutable_workflow_task_scheduled()->set_attempt(wt.attempt());
    commit();
    if (wt.started_event_id() != 0) {
      auto& started = add(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
      started.set_event_time_ms(wt.started_time_ms());
      started.mutable_workflow_task_started()->set_scheduled_event_id(wt.scheduled_event_id());
      started.mutable_workflow_task_started()->set_identity(wt.identity());
      commit();
    }
    if (keep_transfer)
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

  // When the execution closed, drops the records of work that can no longer matter. `before` is
  // the state just before the closing event.
  void drop_pending_records(const pb::MutableState& before) {
    if (before.has_workflow_task())
      t_.transfers_removed.push_back(transfer(pb::TRANSFER_KIND_WORKFLOW_TASK,
                                              before.workflow_task().scheduled_event_id(),
                                              before.task_queue()));
    for (auto& [id, pa] : before.pending_activities()) {
      t_.transfers_removed.push_back(transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, pa.task_queue()));
      if (pa.timer_fire_ms() != 0)
        t_.timers_removed.push_back(activity_timer(id, pa.timer_fire_ms(), pa.attempt()));
    }
    if (before.workflow_timeout_fire_ms() != 0)
      t_.timers_removed.push_back(workflow_timeout_timer(before.workflow_timeout_fire_ms()));
    for (auto& [id, pt] : before.pending_timers())
      t_.timers_removed.push_back(timer(pt));
    // Nothing this transition added may run for a closed execution, except its messages to
    // other workflows: the code asked for them, they are delivered after the close.
    std::erase_if(t_.transfers_added, [](const pb::TransferRecord& r) {
      return r.kind() != pb::TRANSFER_KIND_SIGNAL_EXTERNAL
             && r.kind() != pb::TRANSFER_KIND_CANCEL_EXTERNAL;
    });
    t_.timers_added.clear();
    t_.closed = true;
    close_outbound(before);
  }

  // Queues a message to another workflow (t_.state.outbound + its transfer record).
  void add_outbound(pb::TransferRecord rec) {
    *t_.state.add_outbound() = rec;
    t_.transfers_added.push_back(std::move(rec));
  }

  // Drops this run's queued message of `kind` for `scheduled_id`, if any (messages a
  // continue-as-new carried over keep the run ID of the run that sent them).
  void remove_outbound(pb::TransferKind kind, int64_t scheduled_id) {
    auto* out = t_.state.mutable_outbound();
    for (int i = 0; i < out->size(); ++i) {
      if (out->Get(i).kind() == kind && out->Get(i).scheduled_event_id() == scheduled_id
          && out->Get(i).run_id() == t_.state.run_id()) {
        t_.transfers_removed.push_back(out->Get(i));
        out->DeleteSubrange(i, 1);
        return;
      }
    }
  }

  // Drops the buffered TimerFired of the timer started at `started_id` (it was canceled since).
  void drop_buffered_timer_fired(int64_t started_id) {
    auto* buf = t_.state.mutable_buffered_events();
    for (int i = 0; i < buf->size(); ++i) {
      if (buf->Get(i).has_timer_fired() && buf->Get(i).timer_fired().started_event_id() == started_id) {
        buf->DeleteSubrange(i, 1);
        return;
      }
    }
  }

private:
  // At close: child starts not yet sent are dropped; each child whose parent close policy is
  // terminate / request cancel gets that message; a child run (not continued as new) tells its
  // parent how it closed.
  void close_outbound(const pb::MutableState& before) {
    for (auto& rec : before.outbound())
      if (rec.kind() == pb::TRANSFER_KIND_START_CHILD)
        remove_outbound(pb::TRANSFER_KIND_START_CHILD, rec.scheduled_event_id());
    for (auto& [id, pc] : before.pending_children()) {
      if (pc.parent_close_policy() == pb::PARENT_CLOSE_POLICY_ABANDON) continue;
      auto rec = transfer(pb::TRANSFER_KIND_CHILD_POLICY, id, "");
      rec.set_target_namespace(pc.namespace_());
      rec.set_target_workflow_id(pc.workflow_id());
      rec.set_target_run_id(pc.run_id());
      rec.set_policy(pc.parent_close_policy() == pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL
                       ? pb::PARENT_CLOSE_POLICY_REQUEST_CANCEL
                       : pb::PARENT_CLOSE_POLICY_TERMINATE);
      add_outbound(std::move(rec));
    }
    if (t_.state.has_parent()
        && t_.state.status() != pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
      add_outbound(transfer(pb::TRANSFER_KIND_PARENT_NOTIFY, t_.state.next_event_id() - 1, ""));
  }

  // An activity result names the ActivityTaskStarted event written just before it.
  void link_started(pb::HistoryEvent& ev) const {
    if (t_.events.empty()) return;
    auto& prev = t_.events.back();
    if (!prev.has_activity_task_started()) return;
    if (ev.has_activity_task_completed())
      ev.mutable_activity_task_completed()->set_started_event_id(prev.event_id());
    else if (ev.has_activity_task_failed())
      ev.mutable_activity_task_failed()->set_started_event_id(prev.event_id());
    else if (ev.has_activity_task_timed_out())
      ev.mutable_activity_task_timed_out()->set_started_event_id(prev.event_id());
  }

  transition t_;
  int64_t now_;
  std::vector<pb::HistoryEvent> pending_;
};

inline rejection reject(errc code, std::string msg) { return rejection{code, std::move(msg)}; }

inline bool workflow_task_matches(const pb::MutableState& s, int64_t scheduled_id) {
  return s.has_workflow_task() && s.workflow_task().scheduled_event_id() == scheduled_id;
}

inline bool workflow_task_started(const pb::MutableState& s) {
  return s.has_workflow_task() && s.workflow_task().started_event_id() != 0;
}

inline bool speculative_task(const pb::MutableState& s) {
  return s.has_workflow_task() && s.workflow_task().speculative();
}

inline bool transient_task(const pb::MutableState& s) {
  return s.has_workflow_task() && s.workflow_task().transient();
}

// The failure an unsuccessful end of a workflow task records (`ev`: its WorkflowTaskFailed or
// WorkflowTaskTimedOut), as apply keeps it in last_workflow_task_failure.
pb::Failure workflow_task_failure(const pb::HistoryEvent& ev);

// True when a result (completed/failed) of the activity scheduled at `scheduled_id` is buffered.
bool buffered_for_activity(const pb::MutableState& s, int64_t scheduled_id);
// True when the TimerFired of the timer started at `started_id` is buffered.
bool buffered_for_timer(const pb::MutableState& s, int64_t started_id);

// A builder for the fresh run `run_id` of `req`, with WorkflowExecutionStarted committed (and the
// execution / run timeout armed). `fill` may add attributes before it is applied (decide.cpp).
builder start_run(const pb::StartWorkflowRequest& req, const std::string& run_id, int64_t now,
                  const std::function<void(pb::WorkflowExecutionStartedEventAttributes*)>& fill = {});

// Ends the started workflow task without success (failed or timed out), writes the buffered events
// and schedules the next workflow task with `next_attempt`. `fill(event, started_event_id)` fills
// the attributes of the event of `type`. As Temporal does, only the first failure in a row is
// written: the retries (attempt >= 2) are transient tasks, and a transient task that fails with
// no new event behind it writes nothing: the next attempt goes out and the state keeps the
// attempt and the last failure (describe shows them).
template <class Fill>
decide_result end_wt_unsuccessfully(const pb::MutableState& s, int64_t scheduled_id,
                                    pb::EventType type, int64_t now, int32_t next_attempt,
                                    Fill fill) {
  if (!is_running(s) || !workflow_task_matches(s, scheduled_id) || !workflow_task_started(s))
    return reject(errc::stale_task, "workflow task is not started");
  builder b(s, now);
  if (transient_task(s) && s.buffered_events_size() == 0 && next_attempt > 1) {
    pb::HistoryEvent ev;  // not written: only its failure is kept
    ev.set_event_type(type);
    fill(ev, s.workflow_task().started_event_id());
    *b.state().mutable_last_workflow_task_failure() = workflow_task_failure(ev);
    b.schedule_transient_workflow_task(next_attempt);  // same ID: its transfer record is rewritten
    return std::move(b.result());
  }
  b.materialize_speculative(false);
  b.remove_workflow_task_transfer();
  fill(b.add(type), s.workflow_task().started_event_id());
  b.commit();
  b.flush_buffered();
  if (next_attempt > 1) b.schedule_transient_workflow_task(next_attempt);
  else b.schedule_workflow_task(next_attempt);
  return std::move(b.result());
}

// Events from outside the workflow code (results, fired timers, signals, cancel requests): buffered
// while a workflow task is started, else appended with a new workflow task when none is pending.
// The records in `removed` are deleted in the same transition (decide.cpp).
// `needs_task` false (pause, unpause): no workflow task is scheduled for the events (unless a
// speculative one not yet started had to make room for them: a normal one replaces it).
decide_result on_external_events(const pb::MutableState& s, std::vector<pb::HistoryEvent> evs,
                                 int64_t now, transition removed, bool needs_task = true);

// Whether a buffered event needs the workflow code to run (anything but pause / unpause).
inline bool buffered_needs_task(const pb::MutableState& s) {
  for (auto& ev : s.buffered_events())
    if (!pause_event(ev)) return true;
  return false;
}

// Activity inputs (decide_activity.cpp): see decide.hpp.
decide_result on_activity_completed(const pb::MutableState& s, const input::activity_completed& in,
                                    int64_t now);
decide_result on_activity_failed(const pb::MutableState& s, const input::activity_failed& in,
                                 int64_t now);
decide_result on_activity_started(const pb::MutableState& s, const input::activity_started& in,
                                  int64_t now);
decide_result on_activity_heartbeat(const pb::MutableState& s,
                                    const input::activity_heartbeat& in, int64_t now);
decide_result on_activity_lost(const pb::MutableState& s, const input::activity_lost& in,
                               int64_t now);
decide_result on_activity_canceled(const pb::MutableState& s, const input::activity_canceled& in,
                                   int64_t now);
decide_result on_activity_timer(const pb::MutableState& s, const input::activity_timer& in,
                                int64_t now);

// Workflow Update (decide_update.cpp): see decide.hpp.
decide_result on_update_admitted(const pb::MutableState& s, int64_t now);
// The workflow task's update commands against the state: each accept names an update not yet
// accepted, each complete one accepted (earlier, or by a command before it) and not completed.
// Returns the reason of the first bad one, else empty; `index` is set to its position.
std::string check_update_commands(const pb::MutableState& s,
                                  const std::vector<pb::Command>& commands, size_t* index);
void accept_update(builder& b, const pb::AcceptWorkflowUpdateCommandAttributes& ca,
                   int64_t completed_id);
void complete_update(builder& b, const pb::CompleteWorkflowUpdateCommandAttributes& ca,
                     int64_t completed_id);

// Messages to other workflows (decide_external.cpp): see decide.hpp. check_external_command
// returns why a SignalExternal / RequestCancelExternal command is malformed (empty: it is not).
std::string check_external_command(const pb::Command& c);
void signal_external(builder& b, const pb::SignalExternalWorkflowExecutionCommandAttributes& ca,
                     int64_t completed_id);
void cancel_external(builder& b,
                     const pb::RequestCancelExternalWorkflowExecutionCommandAttributes& ca,
                     int64_t completed_id);
decide_result on_external_answer(const pb::MutableState& s, int64_t initiated_id, bool ok,
                                 const std::string& run_id, const std::string& cause,
                                 const std::string& message, int64_t now);
// Search attributes and memo (decide_search.cpp): the upsert commands checked against the
// namespace's schema (null: none registered); returns the first bad one's reason (its position in
// `index`, its cause in `cause`), else empty. The commands' events, and their apply.
std::string check_search_commands(const std::vector<pb::Command>& commands,
                                  const search::schema* schema, size_t* index,
                                  pb::WorkflowTaskFailedCause* cause);
void upsert_search_attributes(builder& b,
                              const pb::UpsertWorkflowSearchAttributesCommandAttributes& ca,
                              int64_t completed_id);
void modify_workflow_properties(builder& b,
                                const pb::ModifyWorkflowPropertiesCommandAttributes& ca,
                                int64_t completed_id);
void apply_search_event(pb::MutableState& state, const pb::HistoryEvent& ev);

// The workflow task completion (decide_task.cpp).
decide_result on_workflow_task_completed(const pb::MutableState& s,
                                         const input::workflow_task_completed& in, int64_t now);

}  // namespace chronicle::detail
