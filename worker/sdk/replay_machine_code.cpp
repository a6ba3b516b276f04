// The replay machine, code side: starting the workflow coroutine, resuming it where an operation
// resolves, delivering signals and cancellation, recording how it ended. See replay_machine.hpp.
#include "worker/sdk/replay_machine.hpp"

#include <algorithm>
#include <exception>
#include <utility>

#include "worker/sdk/errors.hpp"

namespace chronicle::sdk::detail {

void replay_machine::start(json input) {
  started_ = true;
  try {
    root_ = fn_(ctx_, std::move(input));
  } catch (...) {
    auto error = std::current_exception();
    finish([&]() -> json { std::rethrow_exception(error); });
    return;
  }
  if (!root_.valid())
    throw task_failure(workflow_task_error_type, "workflow function returned an empty task");
  root_.start();
  check_finished();
}

void replay_machine::check_finished() {
  if (!finished_ && root_.done()) finish([&] { return root_.result(); });
}

// Records how the workflow function ended: Complete/FailWorkflowExecution, or task_failure.
void replay_machine::finish(const std::function<json()>& outcome) {
  finished_ = true;
  pb::Command command;
  try {
    *command.mutable_complete_workflow_execution()->mutable_result() = to_payload(outcome());
  } catch (const continue_as_new_error& e) {
    command = e.command();
  } catch (const application_error& e) {
    *command.mutable_fail_workflow_execution()->mutable_failure() = e.to_failure();
  } catch (const canceled_error& e) {
    if (ctx_.cancel_requested_) {
      command.mutable_cancel_workflow_execution();
    } else {  // thrown by the code itself, not by a cancel request: a failure
      *command.mutable_fail_workflow_execution()->mutable_failure() =
          worker_failure(canceled_error_type, e.what());
    }
  } catch (const std::exception& e) {
    throw task_failure(workflow_task_error_type, e.what());
  } catch (...) {
    throw task_failure(workflow_task_error_type, "workflow code threw a non-standard exception");
  }
  ctx_.add_command(std::move(command), nullptr);
}

// Marks the operation resolved and resumes the coroutine waiting on it, right now.
void replay_machine::resolve(operation* op) {
  op->resolved = true;
  // A local activity's fallback timer fired: its next attempt is to run (in this task).
  if (op->kind == operation_kind::timer && op->linked &&
      op->linked->kind == operation_kind::local_activity) {
    if (!op->linked->resolved) {
      op->linked->local->phase = local_activity_state::ready;
      op->linked->local->timer = nullptr;
    }
    return;
  }
  // A condition's timeout timer fired first: the condition wait ends with false.
  if (op->kind == operation_kind::timer && op->linked && !op->linked->resolved) {
    operation* condition = op->linked;
    condition->failed = true;
    condition->predicate = nullptr;
    resolve(condition);
    return;
  }
  if (!op->waiter || finished_) return;
  std::exchange(op->waiter, {}).resume();
  check_finished();
}

// After the event at `index`: every unresolved condition whose predicate now holds resolves (its
// timeout timer canceled), its waiter resumes; repeated until none changes (resumed code may
// make another condition true).
void replay_machine::check_conditions(int index) {
  for (bool progress = true; progress && !finished_;) {
    progress = false;
    for (size_t i = 0; i < ctx_.operations_.size() && !finished_; ++i) {
      operation* op = ctx_.operations_[i].get();
      if (op->kind != operation_kind::condition || op->resolved || !op->predicate) continue;
      if (!op->predicate()) continue;
      op->predicate = nullptr;
      if (op->linked && !op->linked->resolved) cancel_linked_timer(index, op->linked);
      resolve(op);
      progress = true;
    }
  }
}

// Cancels a condition's timeout timer: CancelTimer when the server knows it and its fire is not
// already in this task's events, else its unsent StartTimer is dropped.
void replay_machine::cancel_linked_timer(int index, operation* timer) {
  if (timer->recorded_event_id == 0) {
    drop_unsent_command(timer);
  } else if (!resolved_in_batch(index, *timer)) {
    pb::Command command;
    command.mutable_cancel_timer()->set_timer_id(timer->name);
    ctx_.add_command(std::move(command), nullptr);
  }
  timer->resolved = timer->canceled = true;
}

// A signal goes to the oldest wait_signal of its name, else to the queue of its name.
void replay_machine::deliver_signal(const std::string& name, const pb::Payload& input) {
  auto& waiters = ctx_.signal_waiters_[name];
  if (waiters.empty()) {
    ctx_.signal_queue_[name].push_back(input);
    return;
  }
  operation* op = waiters.front();
  waiters.pop_front();
  op->result = input;
  resolve(op);
}

void replay_machine::mark_canceled(operation* op) {
  op->resolved = op->canceled = true;
  op->failure.set_message(ctx_.cancel_message());
}

// WorkflowExecutionCancelRequested at history index `index`: cancels every cancellable operation
// not yet resolved that no shielded scope protects (see workflow_context.hpp), then resumes the
// code waiting on one of them.
void replay_machine::cancel_workflow(int index, const std::string& reason) {
  if (ctx_.cancel_requested_) return;
  ctx_.cancel_requested_ = true;
  ctx_.cancel_reason_ = reason;
  if (finished_) return;
  cancel_operations(
      index,
      [](const operation& op) {
        if (!op.cancellable) return false;
        for (const scope_state* s = op.scope; s; s = s->parent)
          if (s->shielded) return false;
        return true;
      },
      ctx_.cancel_message());
}

// cancellation_scope::cancel() from the code, running at the event being applied: the scope's
// operations and those of its scopes not shielded from it.
void replay_machine::cancel_scope(scope_state* scope) {
  if (finished_) return;
  cancel_operations(
      current_index_,
      [scope](const operation& op) {
        for (const scope_state* s = op.scope; s; s = s->parent) {
          if (s == scope) return true;
          if (s->shielded) return false;
        }
        return false;
      },
      scope->reason);
}

void replay_machine::cancel_operations(int index,
                                       const std::function<bool(const operation&)>& reached,
                                       const std::string& message) {
  std::vector<operation*> waiting;
  for (const auto& owned : ctx_.operations_) {
    operation* op = owned.get();
    if (op->resolved || !reached(*op)) continue;
    if (!cancel_one(index, op, message)) continue;
    if (op->waiter) waiting.push_back(op);
  }
  for (operation* op : waiting) resolve(op);
}

bool replay_machine::cancel_one(int index, operation* op, const std::string& message) {
  if (op->kind == operation_kind::local_activity) {
    // Nothing is recorded for it: a running attempt's result is dropped (the worker tells the
    // function), a fallback timer is canceled.
    if (op->local && op->local->timer && !op->local->timer->resolved)
      cancel_linked_timer(index, op->local->timer);
  } else if (op->kind == operation_kind::signal) {
    auto& waiters = ctx_.signal_waiters_[op->name];
    waiters.erase(std::remove(waiters.begin(), waiters.end(), op), waiters.end());
  } else if (op->recorded_event_id == 0) {
    drop_unsent_command(op);
  } else if (op->kind == operation_kind::external) {
    return false;  // sent: delivered whatever happens, the await gets its answer
  } else if (op->kind == operation_kind::child) {
    cancel_child(op);  // the child's close event resolves the await
    return false;
  } else if (op->kind == operation_kind::activity &&
             op->cancellation == activity_cancellation_type::abandon) {
    // ABANDON: the server is not asked; the await ends now, the activity's outcome is ignored.
  } else if (op->kind == operation_kind::activity &&
             op->cancellation == activity_cancellation_type::wait_cancellation_completed) {
    return cancel_and_wait(index, op, message);
  } else if (!resolved_in_batch(index, *op)) {
    pb::Command command;
    if (op->kind == operation_kind::activity)
      command.mutable_request_cancel_activity_task()->set_scheduled_event_id(
          op->recorded_event_id);
    else
      command.mutable_cancel_timer()->set_timer_id(op->name);
    ctx_.add_command(std::move(command), nullptr);
  }
  op->resolved = op->canceled = true;
  op->failure.set_message(message);
  return true;
}

// WAIT_CANCELLATION_COMPLETED: RequestCancelActivityTask once (the server fails a second one), and
// the await stays pending until the activity's outcome is applied: ActivityTaskCanceled throws
// canceled_error with `message`, a result, failure or timeout ends it as without cancellation.
// When that outcome is already in the task's events, nothing is sent: applying it resolves the await.
bool replay_machine::cancel_and_wait(int index, operation* op, const std::string& message) {
  if (op->cancel_sent) return false;
  op->cancel_sent = true;
  op->failure.set_message(message);  // canceled_error's message, if it ends canceled
  if (!resolved_in_batch(index, *op)) {
    pb::Command command;
    command.mutable_request_cancel_activity_task()->set_scheduled_event_id(op->recorded_event_id);
    ctx_.add_command(std::move(command), nullptr);
  }
  return false;
}

// Temporal's way: a RequestCancelExternalWorkflowExecution to the child (its own operation,
// answered by ExternalWorkflowExecutionCancelRequested / ...Failed, awaited by nobody). A child
// initiated but not started yet gets it when ChildWorkflowExecutionStarted is applied (sent
// earlier, the request could overtake the start and find no workflow).
void replay_machine::cancel_child(operation* op) {
  if (op->cancel_sent) return;
  op->cancel_sent = true;
  if (!op->child_started) return;
  pb::Command command;
  auto* attrs = command.mutable_request_cancel_external_workflow_execution();
  attrs->set_workflow_id(op->name);
  attrs->set_run_id(op->run_id);
  attrs->set_reason("parent workflow " + ctx_.workflow_id_ + " canceled it");
  internal_ops_.push_back(std::make_unique<operation>());
  operation* request = internal_ops_.back().get();
  request->kind = operation_kind::external;
  request->name = op->name;
  request->how = "cancel request";
  ctx_.add_command(std::move(command), request);
}

// True when the history the code reacts to in this workflow task (up to its WorkflowTaskStarted)
// already holds the operation's result: the server would refuse a cancel command for it.
bool replay_machine::resolved_in_batch(int index, const operation& op) const {
  const int end = task_of_[static_cast<size_t>(index)];
  for (int j = index + 1; j <= end; ++j) {
    const auto& e = history_[j];
    if (op.kind == operation_kind::activity) {
      if ((e.has_activity_task_completed() &&
           e.activity_task_completed().scheduled_event_id() == op.recorded_event_id) ||
          (e.has_activity_task_failed() &&
           e.activity_task_failed().scheduled_event_id() == op.recorded_event_id) ||
          (e.has_activity_task_timed_out() &&
           e.activity_task_timed_out().scheduled_event_id() == op.recorded_event_id))
        return true;
    } else if (e.has_timer_fired()) {
      const auto& fired = e.timer_fired();
      if (fired.started_event_id() == op.recorded_event_id ||
          (fired.started_event_id() == 0 && fired.timer_id() == op.name))
        return true;
    }
  }
  return false;
}

// Removes the command of an operation that history has not recorded yet: the server never
// hears of it (the command is still to be sent, or was sent by a task that did not complete).
void replay_machine::drop_unsent_command(operation* op) {
  for (size_t i = matched_; i < ctx_.commands_.size(); ++i) {
    if (ctx_.command_ops_[i] != op) continue;
    if (pending_check_ && i < must_match_) return;  // history must record it: leave the check
    ctx_.commands_.erase(ctx_.commands_.begin() + static_cast<std::ptrdiff_t>(i));
    ctx_.command_ops_.erase(ctx_.command_ops_.begin() + static_cast<std::ptrdiff_t>(i));
    if (i < produced_by_task_) --produced_by_task_;
    return;
  }
}

}  // namespace chronicle::sdk::detail
