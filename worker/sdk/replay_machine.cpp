// The replay machine, history side: events applied in order, commands matched to the events
// that record them. See replay_machine.hpp for the contract.
#include "worker/sdk/replay_machine.hpp"

#include <utility>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/markers.hpp"

namespace chronicle::sdk::detail {

replay_machine::replay_machine(const history_t& history, const pb::TaskToken& token,
                               std::string workflow_type, const workflow_fn& fn)
    : history_(history),
      fn_(fn),
      ctx_(token.workflow_id().empty()
               ? history.Get(0).workflow_execution_started().workflow_id()
               : token.workflow_id(),
           token.run_id(), std::move(workflow_type)) {
  ctx_.cancel_scope_ = [this](scope_state* scope) { cancel_scope(scope); };
}

std::vector<pb::Command> replay_machine::run() {
  json input;
  try {
    input = from_payload(history_[0].workflow_execution_started().input());
  } catch (const payload_error& e) {
    throw task_failure(payload_error_type, std::string("invalid workflow input: ") + e.what());
  }
  index_tasks(0);
  scan_markers(0);
  for (int i = 0; i < history_.size(); ++i) {
    apply(i, input);
    check_conditions(i);
  }
  applied_ = history_.size();
  return unrecorded();
}

std::optional<std::vector<pb::Command>> replay_machine::resume() {
  // Earlier workflow tasks are settled: the last one answered ends the events seen so far.
  index_tasks(applied_ - 1);
  if (!effective_[static_cast<size_t>(applied_ - 1)]) return std::nullopt;
  json unused;  // the code started in an earlier task
  scan_markers(applied_);
  for (int i = applied_; i < history_.size(); ++i) {
    apply(i, unused);
    check_conditions(i);
  }
  applied_ = history_.size();
  return unrecorded();
}

std::vector<pb::Command> replay_machine::unrecorded() const {
  return {ctx_.commands_.begin() + static_cast<std::ptrdiff_t>(matched_), ctx_.commands_.end()};
}

// A WorkflowTaskStarted is "effective" when its task completed (or is the one being answered):
// workflow code reacts to events in the task of the next effective WorkflowTaskStarted.
// Indexes events [from, size): whether each WorkflowTaskStarted is effective, and the effective
// one each event belongs to (entries before `from` are kept: they depend on earlier events only).
void replay_machine::index_tasks(int from) {
  const int n = history_.size();
  effective_.resize(static_cast<size_t>(n), false);
  for (int i = from; i < n; ++i) {
    effective_[static_cast<size_t>(i)] = false;
    if (history_[i].event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_STARTED) continue;
    bool is_effective = i == n - 1;
    for (int j = i + 1; j < n; ++j) {
      auto type = history_[j].event_type();
      if (type == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) is_effective = true;
      if (type == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED ||
          type == pb::EVENT_TYPE_WORKFLOW_TASK_FAILED ||
          type == pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT ||
          type == pb::EVENT_TYPE_WORKFLOW_TASK_STARTED)
        break;
    }
    effective_[static_cast<size_t>(i)] = is_effective;
  }
  task_of_.resize(static_cast<size_t>(n), n - 1);
  int next = n - 1;
  for (int i = n - 1; i >= from; --i) {
    if (effective_[static_cast<size_t>(i)]) next = i;
    task_of_[static_cast<size_t>(i)] = next;
  }
}

// Markers the code reads ahead of their events (recorded after the task that produced them):
// the patches an old run recorded and the side effects' results.
void replay_machine::scan_markers(int from) {
  for (int i = from; i < history_.size(); ++i) {
    if (history_[i].event_type() != pb::EVENT_TYPE_MARKER_RECORDED) continue;
    const auto& marker = history_[i].marker_recorded();
    if (marker.marker_name() == patch_marker_name) {
      auto id = patch_id_of(marker);
      if (!id.empty()) ctx_.recorded_patches_[id] = true;
    } else if (marker.marker_name() == side_effect_marker_name) {
      auto id = side_effect_id_of(marker);
      auto data = marker.details().find("data");
      if (id > 0 && data != marker.details().end()) ctx_.recorded_side_effects_[id] = data->second;
    }
  }
}

void replay_machine::apply(int index, json& input) {
  const pb::HistoryEvent& event = history_[index];
  current_index_ = index;
  const int task_index = task_of_[static_cast<size_t>(index)];
  ctx_.now_ms_ = history_[task_index].event_time_ms();
  ctx_.replaying_ = task_index != history_.size() - 1;
  switch (event.event_type()) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
      if (index != 0) invalid_history(event_label(event) + " is not the first event");
      break;
    case pb::EVENT_TYPE_WORKFLOW_TASK_STARTED:
      check_recorded();
      if (effective_[static_cast<size_t>(index)]) {
        task_time_ms_ = event.event_time_ms();
        if (!started_) start(std::move(input));
        deliver_updates(index);
        produced_by_task_ = ctx_.commands_.size();
      }
      break;
    case pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
      check_recorded();
      pending_check_ = event.event_id();
      must_match_ = produced_by_task_;
      break;
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case pb::EVENT_TYPE_TIMER_STARTED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case pb::EVENT_TYPE_TIMER_CANCELED:
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
    case pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
      match(event);
      break;
    case pb::EVENT_TYPE_MARKER_RECORDED:
      if (event.marker_recorded().marker_name() == local_activity_marker_name &&
          !is_own_marker(event))
        apply_local_marker(event);
      else
        match(event);
      break;
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED:
      resolve_external(event, event.external_workflow_execution_signaled().initiated_event_id(),
                       nullptr, "");
      break;
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      resolve_external(event,
                       event.external_workflow_execution_cancel_requested().initiated_event_id(),
                       nullptr, "");
      break;
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: {
      const auto& attrs = event.signal_external_workflow_execution_failed();
      resolve_external(event, attrs.initiated_event_id(), &attrs.cause(), attrs.message());
      break;
    }
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED: {
      const auto& attrs = event.request_cancel_external_workflow_execution_failed();
      resolve_external(event, attrs.initiated_event_id(), &attrs.cause(), attrs.message());
      break;
    }
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: {
      const auto& attrs = event.start_child_workflow_execution_failed();
      operation* op = child_of(event, attrs.initiated_event_id());
      op->failed = true;
      op->how = "StartChildWorkflowExecutionFailed";
      op->failure.set_type(attrs.cause());
      op->failure.set_message("child workflow '" + attrs.workflow_id() +
                              "' could not start: " + attrs.cause());
      op->failure.set_non_retryable(true);
      op->failure.set_source("server");
      resolve(op);
      break;
    }
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: {
      const auto& attrs = event.child_workflow_execution_started();
      operation* op = child_of(event, attrs.initiated_event_id());
      op->child_started = true;
      op->run_id = attrs.workflow_execution().run_id();
      if (op->cancel_sent) {  // canceled before it started: the request goes now
        op->cancel_sent = false;
        cancel_child(op);
      }
      break;
    }
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: {
      const auto& attrs = event.child_workflow_execution_closed();
      operation* op = child_of(event, attrs.initiated_event_id());
      if (event.event_type() == pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED) {
        op->result = attrs.result();
      } else {
        op->failed = true;
        op->how = event_type_name(event.event_type());
        op->failure = attrs.failure();
      }
      resolve(op);
      break;
    }
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
      const auto& attrs = event.activity_task_completed();
      operation* op = activity_of(event, attrs.scheduled_event_id());
      if (op->canceled) break;  // the code no longer waits for it
      op->result = attrs.result();
      resolve(op);
      break;
    }
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {  // a timeout fails the await like a failure
      const bool timed_out = event.event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT;
      const int64_t scheduled_event_id =
          timed_out ? event.activity_task_timed_out().scheduled_event_id()
                    : event.activity_task_failed().scheduled_event_id();
      operation* op = activity_of(event, scheduled_event_id);
      if (op->canceled) break;
      op->failed = true;
      op->failure = timed_out ? event.activity_task_timed_out().failure()
                              : event.activity_task_failed().failure();
      resolve(op);
      break;
    }
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
      operation* op = activity_of(event, event.activity_task_canceled().scheduled_event_id());
      if (op->canceled) break;  // resolved when canceled (TRY_CANCEL, ABANDON)
      if (op->cancel_sent) {    // WAIT_CANCELLATION_COMPLETED: its message was kept
        op->canceled = true;
      } else {
        mark_canceled(op);
      }
      resolve(op);
      break;
    }
    case pb::EVENT_TYPE_TIMER_FIRED: {
      operation* op = timer_of(event);
      if (!op->canceled) resolve(op);
      break;
    }
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: {
      const auto& attrs = event.workflow_execution_signaled();
      deliver_signal(attrs.signal_name(), attrs.input());
      break;
    }
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      cancel_workflow(index, event.workflow_execution_cancel_requested().cause());
      break;
    default:  // WorkflowTaskScheduled/TimedOut/Failed, ActivityTaskStarted: bookkeeping
      break;
  }
}

// Commands produced before a completed workflow task must all be recorded by now.
void replay_machine::check_recorded() {
  if (!pending_check_) return;
  if (matched_ < must_match_)
    throw nondeterminism_error(
        "non-deterministic workflow: workflow code produced " +
        describe_command(ctx_.commands_[matched_]) + " but history records no such event after " +
        "the workflow task completed at event " + std::to_string(*pending_check_),
        history_[current_index_].event_id());
  pending_check_.reset();
}

void replay_machine::match(const pb::HistoryEvent& event) {
  const pb::Command* command =
      matched_ < ctx_.commands_.size() ? &ctx_.commands_[matched_] : nullptr;
  // A patch marker the code no longer asks for (the patch call was removed): skipped.
  if (event.event_type() == pb::EVENT_TYPE_MARKER_RECORDED &&
      event.marker_recorded().marker_name() == patch_marker_name &&
      (!command || !same(event, *command)))
    return;
  if (!command || !same(event, *command))
    throw nondeterminism_error("non-deterministic workflow: history event " +
                               std::to_string(event.event_id()) + " is " +
                               describe_event(event) + " but workflow code produced " +
                               (command ? describe_command(*command) : "no further command"),
                               event.event_id());
  operation* op = ctx_.command_ops_[matched_];
  if (event.event_type() == pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
    activities_[event.event_id()] = op;
    op->recorded_event_id = event.event_id();
  } else if (event.event_type() == pb::EVENT_TYPE_TIMER_STARTED) {
    timers_[event.event_id()] = {op, event.timer_started().timer_id()};
    op->recorded_event_id = event.event_id();
  } else if (event.event_type() == pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
    children_[event.event_id()] = op;
    op->recorded_event_id = event.event_id();
  } else if (event.event_type() == pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED ||
             event.event_type() ==
                 pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED) {
    externals_[event.event_id()] = op;
    op->recorded_event_id = event.event_id();
  }
  ++matched_;
}

bool replay_machine::same(const pb::HistoryEvent& event, const pb::Command& command) {
  switch (event.event_type()) {
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
      if (!command.has_schedule_activity_task()) return false;
      const auto& e = event.activity_task_scheduled();
      const auto& c = command.schedule_activity_task();
      return e.activity_id() == c.activity_id() &&
             e.activity_type().name() == c.activity_type().name();
    }
    case pb::EVENT_TYPE_TIMER_STARTED:
      return command.has_start_timer() &&
             event.timer_started().timer_id() == command.start_timer().timer_id();
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
      return command.has_complete_workflow_execution();
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
      return command.has_fail_workflow_execution();
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
      return command.has_cancel_workflow_execution();
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return command.has_continue_as_new_workflow_execution();
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: {
      if (!command.has_start_child_workflow_execution()) return false;
      const auto& e = event.start_child_workflow_execution_initiated();
      const auto& c = command.start_child_workflow_execution();
      return e.workflow_id() == c.workflow_id() && e.workflow_type().name() == c.workflow_type();
    }
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
      return command.has_request_cancel_activity_task() &&
             event.activity_task_cancel_requested().scheduled_event_id() ==
                 command.request_cancel_activity_task().scheduled_event_id();
    case pb::EVENT_TYPE_MARKER_RECORDED:
      return command.has_record_marker() &&
             same_marker(event.marker_recorded(), command.record_marker());
    case pb::EVENT_TYPE_TIMER_CANCELED:
      return command.has_cancel_timer() &&
             event.timer_canceled().timer_id() == command.cancel_timer().timer_id();
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
      return command.has_accept_workflow_update() &&
             event.workflow_execution_update_accepted().update_id() ==
                 command.accept_workflow_update().update_id();
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: {
      if (!command.has_signal_external_workflow_execution()) return false;
      const auto& e = event.signal_external_workflow_execution_initiated();
      const auto& c = command.signal_external_workflow_execution();
      return e.workflow_execution().workflow_id() == c.workflow_id() &&
             e.signal_name() == c.signal_name();
    }
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return command.has_request_cancel_external_workflow_execution() &&
             event.request_cancel_external_workflow_execution_initiated()
                     .workflow_execution()
                     .workflow_id() ==
                 command.request_cancel_external_workflow_execution().workflow_id();
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
      return command.has_complete_workflow_update() &&
             event.workflow_execution_update_completed().update_id() ==
                 command.complete_workflow_update().update_id();
    // As Temporal's SDKs: the kind of command only (the values may change with the code).
    case pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      return command.has_upsert_workflow_search_attributes();
    case pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
      return command.has_modify_workflow_properties();
    default:
      return false;
  }
}

operation* replay_machine::activity_of(const pb::HistoryEvent& event,
                                       int64_t scheduled_event_id) {
  auto it = activities_.find(scheduled_event_id);
  if (it == activities_.end())
    invalid_history(event_label(event) + " refers to scheduled event " +
                    std::to_string(scheduled_event_id) + ", not a known ActivityTaskScheduled");
  if (it->second->resolved && !it->second->canceled)
    invalid_history(event_label(event) + " closes a closed activity");
  return it->second;
}

operation* replay_machine::child_of(const pb::HistoryEvent& event,
                                    int64_t initiated_event_id) {
  auto it = children_.find(initiated_event_id);
  if (it == children_.end())
    invalid_history(event_label(event) + " refers to initiated event " +
                    std::to_string(initiated_event_id) +
                    ", not a known StartChildWorkflowExecutionInitiated");
  if (it->second->resolved)
    invalid_history(event_label(event) + " refers to a child that already closed");
  return it->second;
}

operation* replay_machine::external_of(const pb::HistoryEvent& event,
                                       int64_t initiated_event_id) {
  auto it = externals_.find(initiated_event_id);
  if (it == externals_.end())
    invalid_history(event_label(event) + " refers to initiated event " +
                    std::to_string(initiated_event_id) +
                    ", not a known signal or cancel request to another workflow");
  if (it->second->resolved)
    invalid_history(event_label(event) + " answers a message that was answered");
  return it->second;
}

// The answer to a signal / cancel request the code sent: `cause` null when delivered.
void replay_machine::resolve_external(const pb::HistoryEvent& event, int64_t initiated_event_id,
                                      const std::string* cause, const std::string& message) {
  operation* op = external_of(event, initiated_event_id);
  if (cause) {
    op->failed = true;
    op->failure.set_type(*cause);
    op->failure.set_message(message);
    op->failure.set_source("server");
  }
  resolve(op);
}

operation* replay_machine::timer_of(const pb::HistoryEvent& event) {
  const auto& attrs = event.timer_fired();
  auto it = timers_.end();
  if (attrs.started_event_id() != 0) {
    it = timers_.find(attrs.started_event_id());
  } else {
    for (auto i = timers_.begin(); i != timers_.end(); ++i)
      if (i->second.timer_id == attrs.timer_id() && !i->second.op->resolved) it = i;
    if (it == timers_.end())  // a canceled one (its fire is then ignored)
      for (auto i = timers_.begin(); i != timers_.end(); ++i)
        if (i->second.timer_id == attrs.timer_id() && i->second.op->canceled) it = i;
  }
  if (it == timers_.end() ||
      (!attrs.timer_id().empty() && attrs.timer_id() != it->second.timer_id))
    invalid_history(event_label(event) + " refers to no known TimerStarted");
  if (it->second.op->resolved && !it->second.op->canceled)
    invalid_history(event_label(event) + " fires a fired timer");
  return it->second.op;
}

}  // namespace chronicle::sdk::detail
