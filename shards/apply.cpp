// apply: how each history event changes mutable state. Used by decide for every event it creates,
// so live transitions and a fold over history share one path.
#include <algorithm>

#include "shards/decide.hpp"
#include "shards/transition_builder.hpp"

namespace chronicle {

bool is_running(const pb::MutableState& state) {
  return state.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
}

bool self_contained_outbound(pb::TransferKind kind) {
  return kind == pb::TRANSFER_KIND_CHILD_POLICY || kind == pb::TRANSFER_KIND_SIGNAL_EXTERNAL
         || kind == pb::TRANSFER_KIND_CANCEL_EXTERNAL;
}

bool same_outbound(const pb::TransferRecord& a, const pb::TransferRecord& b) {
  return a.kind() == b.kind() && a.scheduled_event_id() == b.scheduled_event_id()
         && a.run_id() == b.run_id();
}

void carry_outbound(const pb::MutableState& closed, pb::MutableState& next) {
  for (auto& rec : closed.outbound()) {
    if (!self_contained_outbound(rec.kind())) continue;
    bool listed = false;
    for (auto& have : next.outbound()) listed = listed || same_outbound(have, rec);
    if (!listed) *next.add_outbound() = rec;
  }
}

bool pause_event(const pb::HistoryEvent& event) {
  return event.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED
         || event.event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED;
}

bool build_ids_changed(const pb::MutableState& before, const pb::MutableState& after) {
  return !std::equal(before.build_ids().begin(), before.build_ids().end(),
                     after.build_ids().begin(), after.build_ids().end());
}

namespace {

// A worker of build `id` completed a workflow task ("": a worker without a build ID).
void record_build_id(pb::MutableState& state, const std::string& id) {
  state.set_most_recent_build_id(id);
  if (id.empty()) return;
  for (const auto& have : state.build_ids())
    if (have == id) return;
  state.add_build_ids(id);
  if (state.build_ids_size() > max_build_ids)
    state.mutable_build_ids()->erase(state.mutable_build_ids()->begin());
}

// A signal / cancel request to another workflow was initiated (PendingExternal).
void add_external(pb::MutableState& state, int64_t id, pb::TransferKind kind,
                  const std::string& ns, const pb::WorkflowExecution& target) {
  pb::PendingExternal pe;
  pe.set_initiated_event_id(id);
  pe.set_kind(kind);
  pe.set_namespace_(ns);
  pe.set_workflow_id(target.workflow_id());
  pe.set_run_id(target.run_id());
  (*state.mutable_pending_externals())[id] = std::move(pe);
}

void close(pb::MutableState& state, pb::WorkflowExecutionStatus status, int64_t time) {
  state.set_status(status);
  state.set_close_time_ms(time);
  state.clear_workflow_task();
  state.clear_pending_activities();
  state.clear_pending_timers();
  state.clear_buffered_events();
  state.clear_workflow_timeout_fire_ms();
  state.clear_pending_children();
  state.clear_pending_externals();  // still delivered (outbound), but no answer is recorded
  state.clear_paused();
  state.clear_pause_reason();
  state.clear_pause_identity();
  state.clear_pause_time_ms();
}

}  // namespace

void apply(pb::MutableState& state, const pb::HistoryEvent& ev) {
  state.set_next_event_id(ev.event_id() + 1);
  switch (ev.event_type()) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
      auto& a = ev.workflow_execution_started();
      state.set_namespace_(a.namespace_());
      state.set_workflow_id(a.workflow_id());
      state.set_workflow_type(a.workflow_type().name());
      state.set_task_queue(a.task_queue());
      state.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
      state.set_start_time_ms(ev.event_time_ms());
      state.set_start_request_id(a.request_id());
      if (a.has_parent()) *state.mutable_parent() = a.parent();
      state.set_parent_close_policy(a.parent_close_policy());
      state.set_continued_from_run_id(a.continued_execution_run_id());
      *state.mutable_search_attributes() = a.search_attributes();
      *state.mutable_memo() = a.memo();
      state.set_fairness_key(a.fairness_key());
      state.set_priority(a.priority());
      // The execution timeout spans a continue-as-new chain (the expiration is carried over);
      // the run timeout counts from this run's start. The earlier deadline applies.
      int64_t expiration = a.workflow_execution_expiration_time_ms();
      if (expiration == 0 && a.workflow_execution_timeout_ms() > 0)
        expiration = ev.event_time_ms() + a.workflow_execution_timeout_ms();
      state.set_execution_expiration_ms(expiration);
      int64_t fire = expiration;
      state.set_workflow_timeout_kind("execution");
      if (a.workflow_run_timeout_ms() > 0) {
        int64_t run_deadline = ev.event_time_ms() + a.workflow_run_timeout_ms();
        if (fire == 0 || run_deadline < fire) {
          fire = run_deadline;
          state.set_workflow_timeout_kind("run");
        }
      }
      if (fire > 0) state.set_workflow_timeout_fire_ms(fire);
      else state.clear_workflow_timeout_kind();
      break;
    }
    case pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: {
      auto* wt = state.mutable_workflow_task();
      wt->Clear();
      wt->set_scheduled_event_id(ev.event_id());
      wt->set_attempt(ev.workflow_task_scheduled().attempt());
      break;
    }
    case pb::EVENT_TYPE_WORKFLOW_TASK_STARTED:
      state.mutable_workflow_task()->set_started_event_id(ev.event_id());
      state.mutable_workflow_task()->set_identity(ev.workflow_task_started().identity());
      break;
    case pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      state.clear_workflow_task();
      state.set_last_workflow_task_completed_event_id(ev.event_id());
      state.clear_last_workflow_task_failure();
      record_build_id(state, ev.workflow_task_completed().build_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
    case pb::EVENT_TYPE_WORKFLOW_TASK_FAILED:
      state.clear_workflow_task();
      *state.mutable_last_workflow_task_failure() = detail::workflow_task_failure(ev);
      break;
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      auto& a = ev.activity_task_scheduled();
      pb::PendingActivity pa;
      pa.set_scheduled_event_id(ev.event_id());
      pa.set_activity_id(a.activity_id());
      pa.set_activity_type(a.activity_type().name());
      pa.set_task_queue(a.task_queue());
      *pa.mutable_input() = a.input();
      pa.set_attempt(1);
      pa.set_scheduled_time_ms(ev.event_time_ms());
      pa.set_state(pb::ACTIVITY_STATE_SCHEDULED);
      pa.set_attempt_scheduled_time_ms(ev.event_time_ms());
      pa.set_schedule_to_close_timeout_ms(a.schedule_to_close_timeout_ms());
      pa.set_schedule_to_start_timeout_ms(a.schedule_to_start_timeout_ms());
      pa.set_start_to_close_timeout_ms(a.start_to_close_timeout_ms());
      pa.set_heartbeat_timeout_ms(a.heartbeat_timeout_ms());
      *pa.mutable_retry_policy() = a.retry_policy();
      pa.set_priority(a.priority());
      (*state.mutable_pending_activities())[ev.event_id()] = std::move(pa);
      break;
    }
    case pb::EVENT_TYPE_ACTIVITY_TASK_STARTED:
      break;
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      state.mutable_pending_activities()->erase(ev.activity_task_completed().scheduled_event_id());
      break;
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED:
      state.mutable_pending_activities()->erase(ev.activity_task_failed().scheduled_event_id());
      break;
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      state.mutable_pending_activities()->erase(ev.activity_task_timed_out().scheduled_event_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: {
      auto* f = state.mutable_failure();
      f->set_message("workflow execution timed out ("
                     + ev.workflow_execution_timed_out().timeout() + " timeout)");
      f->set_type("TimeoutError");
      f->set_source("server");
      close(state, pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT, ev.event_time_ms());
      break;
    }
    case pb::EVENT_TYPE_TIMER_STARTED: {
      auto& a = ev.timer_started();
      pb::PendingTimer pt;
      pt.set_started_event_id(ev.event_id());
      pt.set_timer_id(a.timer_id());
      pt.set_fire_time_ms(ev.event_time_ms() + a.start_to_fire_timeout_ms());
      (*state.mutable_pending_timers())[ev.event_id()] = std::move(pt);
      break;
    }
    case pb::EVENT_TYPE_TIMER_FIRED:
      state.mutable_pending_timers()->erase(ev.timer_fired().started_event_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      *state.mutable_result() = ev.workflow_execution_completed().result();
      close(state, pb::WORKFLOW_EXECUTION_STATUS_COMPLETED, ev.event_time_ms());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      *state.mutable_failure() = ev.workflow_execution_failed().failure();
      close(state, pb::WORKFLOW_EXECUTION_STATUS_FAILED, ev.event_time_ms());
      break;
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
      // The activity stays pending until ActivityTaskCanceled or its result.
      auto& pending = *state.mutable_pending_activities();
      auto it = pending.find(ev.activity_task_cancel_requested().scheduled_event_id());
      if (it != pending.end()) it->second.set_cancel_requested_event_id(ev.event_id());
      break;
    }
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
      state.mutable_pending_activities()->erase(ev.activity_task_canceled().scheduled_event_id());
      break;
    case pb::EVENT_TYPE_TIMER_CANCELED:
      state.mutable_pending_timers()->erase(ev.timer_canceled().started_event_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
      if (!ev.workflow_execution_signaled().request_id().empty())
        state.add_signal_request_ids(ev.workflow_execution_signaled().request_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      state.set_cancel_requested(true);
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED:
      state.set_paused(true);
      state.set_pause_reason(ev.workflow_execution_paused().reason());
      state.set_pause_identity(ev.workflow_execution_paused().identity());
      state.set_pause_time_ms(ev.event_time_ms());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED:
      state.clear_paused();
      state.clear_pause_reason();
      state.clear_pause_identity();
      state.clear_pause_time_ms();
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: {
      auto* f = state.mutable_failure();
      f->set_message("workflow execution canceled");
      f->set_type("CanceledError");
      f->set_source("worker");
      close(state, pb::WORKFLOW_EXECUTION_STATUS_CANCELED, ev.event_time_ms());
      break;
    }
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: {
      auto& a = ev.workflow_execution_terminated();
      auto* f = state.mutable_failure();
      f->set_message(a.reason().empty() ? "terminated" : a.reason());
      f->set_type("Terminated");
      f->set_source("server");
      close(state, pb::WORKFLOW_EXECUTION_STATUS_TERMINATED, ev.event_time_ms());
      break;
    }
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      state.set_continued_to_run_id(ev.workflow_execution_continued_as_new().new_execution_run_id());
      close(state, pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, ev.event_time_ms());
      break;
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
      auto& a = ev.start_child_workflow_execution_initiated();
      pb::PendingChild pc;
      pc.set_initiated_event_id(ev.event_id());
      pc.set_namespace_(a.namespace_());
      pc.set_workflow_id(a.workflow_id());
      pc.set_workflow_type(a.workflow_type().name());
      pc.set_parent_close_policy(a.parent_close_policy());
      pc.set_task_queue(a.task_queue());
      *pc.mutable_input() = a.input();
      pc.set_workflow_execution_timeout_ms(a.workflow_execution_timeout_ms());
      pc.set_workflow_run_timeout_ms(a.workflow_run_timeout_ms());
      pc.set_workflow_id_reuse_policy(a.workflow_id_reuse_policy());
      (*state.mutable_pending_children())[ev.event_id()] = std::move(pc);
      break;
    }
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: {
      auto& a = ev.child_workflow_execution_started();
      auto it = state.mutable_pending_children()->find(a.initiated_event_id());
      if (it != state.mutable_pending_children()->end())
        it->second.set_run_id(a.workflow_execution().run_id());
      break;
    }
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      state.mutable_pending_children()->erase(
        ev.start_child_workflow_execution_failed().initiated_event_id());
      break;
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      state.mutable_pending_children()->erase(
        ev.child_workflow_execution_closed().initiated_event_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      (*state.mutable_updates())[ev.workflow_execution_update_accepted().update_id()]
        .set_accepted_event_id(ev.event_id());
      break;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: {
      auto& a = ev.workflow_execution_update_completed();
      auto& info = (*state.mutable_updates())[a.update_id()];
      info.set_completed_event_id(ev.event_id());
      if (a.has_failure()) *info.mutable_failure() = a.failure();
      else *info.mutable_result() = a.result();
      break;
    }
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      auto& a = ev.signal_external_workflow_execution_initiated();
      add_external(state, ev.event_id(), pb::TRANSFER_KIND_SIGNAL_EXTERNAL, a.namespace_(),
                   a.workflow_execution());
      break;
    }
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      auto& a = ev.request_cancel_external_workflow_execution_initiated();
      add_external(state, ev.event_id(), pb::TRANSFER_KIND_CANCEL_EXTERNAL, a.namespace_(),
                   a.workflow_execution());
      break;
    }
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      state.mutable_pending_externals()->erase(
        ev.signal_external_workflow_execution_failed().initiated_event_id());
      break;
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
      state.mutable_pending_externals()->erase(
        ev.external_workflow_execution_signaled().initiated_event_id());
      break;
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      state.mutable_pending_externals()->erase(
        ev.request_cancel_external_workflow_execution_failed().initiated_event_id());
      break;
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      state.mutable_pending_externals()->erase(
        ev.external_workflow_execution_cancel_requested().initiated_event_id());
      break;
    case pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
    case pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
      detail::apply_search_event(state, ev);
      break;
    default:
      break;
  }
}

}  // namespace chronicle
