// Workflow task replay: see replayer.hpp for the contract.
#include "worker/sdk/replayer.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"

namespace chronicle::sdk {

namespace detail {

namespace {

// The workflow task cannot be answered with commands: becomes RespondWorkflowTaskFailed.
class task_failure : public std::runtime_error {
 public:
  task_failure(std::string type, const std::string& message)
      : std::runtime_error(message), type_(std::move(type)) {}
  const std::string& type() const { return type_; }

 private:
  std::string type_;
};

[[noreturn]] void invalid_history(const std::string& message) {
  throw task_failure(invalid_history_type, "invalid workflow task history: " + message);
}

std::string event_label(const pb::HistoryEvent& event) {
  return "event " + std::to_string(event.event_id()) + " (" +
         event_type_name(event.event_type()) + ")";
}

// The attributes an event of `type` carries, or NOT_SET for types this SDK does not know.
pb::HistoryEvent::AttributesCase attributes_of(pb::EventType type) {
  using E = pb::HistoryEvent;
  switch (type) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: return E::kWorkflowExecutionStarted;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: return E::kWorkflowExecutionCompleted;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: return E::kWorkflowExecutionFailed;
    case pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: return E::kWorkflowTaskScheduled;
    case pb::EVENT_TYPE_WORKFLOW_TASK_STARTED: return E::kWorkflowTaskStarted;
    case pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED: return E::kWorkflowTaskCompleted;
    case pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: return E::kWorkflowTaskTimedOut;
    case pb::EVENT_TYPE_WORKFLOW_TASK_FAILED: return E::kWorkflowTaskFailed;
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: return E::kActivityTaskScheduled;
    case pb::EVENT_TYPE_ACTIVITY_TASK_STARTED: return E::kActivityTaskStarted;
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: return E::kActivityTaskCompleted;
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED: return E::kActivityTaskFailed;
    case pb::EVENT_TYPE_TIMER_STARTED: return E::kTimerStarted;
    case pb::EVENT_TYPE_TIMER_FIRED: return E::kTimerFired;
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: return E::kActivityTaskCancelRequested;
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED: return E::kActivityTaskCanceled;
    case pb::EVENT_TYPE_TIMER_CANCELED: return E::kTimerCanceled;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: return E::kWorkflowExecutionSignaled;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return E::kWorkflowExecutionCancelRequested;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: return E::kWorkflowExecutionCanceled;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: return E::kWorkflowExecutionTerminated;
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: return E::kActivityTaskTimedOut;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: return E::kWorkflowExecutionTimedOut;
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
      return E::kWorkflowExecutionContinuedAsNew;
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      return E::kStartChildWorkflowExecutionInitiated;
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      return E::kStartChildWorkflowExecutionFailed;
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: return E::kChildWorkflowExecutionStarted;
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return E::kChildWorkflowExecutionClosed;
    default: return E::ATTRIBUTES_NOT_SET;
  }
}

// Events whose attributes the replayer reads: they must be present.
bool attributes_required(pb::EventType type) {
  switch (type) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
    case pb::EVENT_TYPE_TIMER_STARTED:
    case pb::EVENT_TYPE_TIMER_FIRED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED:
    case pb::EVENT_TYPE_TIMER_CANCELED:
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return true;
    default:
      return false;
  }
}

using history_t = google::protobuf::RepeatedPtrField<pb::HistoryEvent>;

// Checks events [from, size) of `history`: ids increasing (from `previous_id` on), known types
// with their attributes, the last one a WorkflowTaskStarted that is `started_event_id` when set.
void validate_events(const history_t& history, int from, int64_t previous_id,
                     int64_t started_event_id) {
  if (history.size() <= from) invalid_history("the task carries no new event");
  const auto& last = history[history.size() - 1];
  if (last.event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_STARTED)
    invalid_history("the last event is " + event_label(last) + ", not WorkflowTaskStarted");
  if (started_event_id != 0 && started_event_id != last.event_id())
    invalid_history("the task's started_event_id " + std::to_string(started_event_id) +
                    " is not the last event id " + std::to_string(last.event_id()));
  for (int i = from; i < history.size(); ++i) {
    const auto& event = history[i];
    if (event.event_id() <= previous_id)
      invalid_history("event ids are not increasing at " + event_label(event));
    previous_id = event.event_id();
    auto expected = attributes_of(event.event_type());
    if (expected == pb::HistoryEvent::ATTRIBUTES_NOT_SET)
      invalid_history(event_label(event) + " has an unsupported event type " +
                      std::to_string(static_cast<int>(event.event_type())));
    auto actual = event.attributes_case();
    if (actual != expected &&
        (actual != pb::HistoryEvent::ATTRIBUTES_NOT_SET || attributes_required(event.event_type())))
      invalid_history(event_label(event) + " lacks its attributes");
  }
}

// Checks the shape of a whole history; returns the workflow type to run.
std::string validate(const pb::WorkflowTask& task) {
  const history_t& history = task.history();
  if (history.empty()) invalid_history("the history is empty");
  if (history[0].event_type() != pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    invalid_history("the first event is " + event_label(history[0]) +
                    ", not WorkflowExecutionStarted");
  validate_events(history, 0, 0, task.started_event_id());
  const std::string& recorded = history[0].workflow_execution_started().workflow_type().name();
  if (!task.workflow_type().empty() && !recorded.empty() && task.workflow_type() != recorded)
    invalid_history("the task's workflow type '" + task.workflow_type() +
                    "' differs from the started event's '" + recorded + "'");
  return task.workflow_type().empty() ? recorded : task.workflow_type();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

// Replays one workflow task. Member order matters: ctx_ outlives root_, whose coroutine frames
// hold awaitables pointing into ctx_.
class replay_machine {
 public:
  // `history` is read at every run/resume; it may grow (by appending) between them.
  replay_machine(const history_t& history, const pb::TaskToken& token, std::string workflow_type,
                 const workflow_fn& fn)
      : history_(history),
        fn_(fn),
        ctx_(token.workflow_id().empty()
                 ? history.Get(0).workflow_execution_started().workflow_id()
                 : token.workflow_id(),
             token.run_id(), std::move(workflow_type)) {}

  // Applies every event; returns the commands not recorded in history. Throws task_failure or
  // nondeterminism_error.
  // After run(): the query handlers the code registered.
  const workflow_context& context() const { return ctx_; }

  std::vector<pb::Command> run() {
    json input;
    try {
      input = from_payload(history_[0].workflow_execution_started().input());
    } catch (const payload_error& e) {
      throw task_failure(payload_error_type, std::string("invalid workflow input: ") + e.what());
    }
    index_tasks(0);
    for (int i = 0; i < history_.size(); ++i) apply(i, input);
    applied_ = history_.size();
    return unrecorded();
  }

  // The history grew since run() or the last resume() (the next workflow task's events were
  // appended). When the workflow task this machine answered last completed (the code's state is
  // the one the server recorded), applies the new events exactly as a replay from the start
  // would and returns the commands not recorded; else nullopt, and the machine must be dropped.
  // Throws as run() does.
  std::optional<std::vector<pb::Command>> resume() {
    // Earlier workflow tasks are settled: the last one answered ends the events seen so far.
    index_tasks(applied_ - 1);
    if (!effective_[static_cast<size_t>(applied_ - 1)]) return std::nullopt;
    json unused;  // the code started in an earlier task
    for (int i = applied_; i < history_.size(); ++i) apply(i, unused);
    applied_ = history_.size();
    return unrecorded();
  }

  // The code returned or failed: no further workflow task can continue it.
  bool finished() const { return finished_; }

 private:
  struct timer_entry {
    operation* op;
    std::string timer_id;
  };

  std::vector<pb::Command> unrecorded() const {
    return {ctx_.commands_.begin() + static_cast<std::ptrdiff_t>(matched_), ctx_.commands_.end()};
  }

  // A WorkflowTaskStarted is "effective" when its task completed (or is the one being answered):
  // workflow code reacts to events in the task of the next effective WorkflowTaskStarted.
  // Indexes events [from, size): whether each WorkflowTaskStarted is effective, and the effective
  // one each event belongs to (entries before `from` are kept: they depend on earlier events only).
  void index_tasks(int from) {
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

  void apply(int index, json& input) {
    const pb::HistoryEvent& event = history_[index];
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
          if (!started_) start(std::move(input));
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
        match(event);
        break;
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
      case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
        child_of(event, event.child_workflow_execution_started().initiated_event_id());
        break;
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
      case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED: {
        const auto& attrs = event.activity_task_failed();
        operation* op = activity_of(event, attrs.scheduled_event_id());
        if (op->canceled) break;
        op->failed = true;
        op->failure = attrs.failure();
        resolve(op);
        break;
      }
      case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: {  // fails the await like ActivityTaskFailed
        const auto& attrs = event.activity_task_timed_out();
        operation* op = activity_of(event, attrs.scheduled_event_id());
        if (op->canceled) break;
        op->failed = true;
        op->failure = attrs.failure();
        resolve(op);
        break;
      }
      case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        operation* op = activity_of(event, event.activity_task_canceled().scheduled_event_id());
        if (op->canceled) break;  // canceled by the code's own request (TRY_CANCEL)
        mark_canceled(op);
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

  void start(json input) {
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

  void check_finished() {
    if (!finished_ && root_.done()) finish([&] { return root_.result(); });
  }

  // Records how the workflow function ended: Complete/FailWorkflowExecution, or task_failure.
  void finish(const std::function<json()>& outcome) {
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
        auto* failure = command.mutable_fail_workflow_execution()->mutable_failure();
        failure->set_message(e.what());
        failure->set_type(canceled_error_type);
        failure->set_source("worker");
      }
    } catch (const std::exception& e) {
      throw task_failure(workflow_task_error_type, e.what());
    } catch (...) {
      throw task_failure(workflow_task_error_type, "workflow code threw a non-standard exception");
    }
    ctx_.add_command(std::move(command), nullptr);
  }

  // Commands produced before a completed workflow task must all be recorded by now.
  void check_recorded() {
    if (!pending_check_) return;
    if (matched_ < must_match_)
      throw nondeterminism_error(
          "non-deterministic workflow: workflow code produced " +
          describe_command(ctx_.commands_[matched_]) + " but history records no such event after " +
          "the workflow task completed at event " + std::to_string(*pending_check_));
    pending_check_.reset();
  }

  void match(const pb::HistoryEvent& event) {
    const pb::Command* command =
        matched_ < ctx_.commands_.size() ? &ctx_.commands_[matched_] : nullptr;
    if (!command || !same(event, *command))
      throw nondeterminism_error("non-deterministic workflow: history event " +
                                 std::to_string(event.event_id()) + " is " +
                                 describe_event(event) + " but workflow code produced " +
                                 (command ? describe_command(*command) : "no further command"));
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
    }
    ++matched_;
  }

  static bool same(const pb::HistoryEvent& event, const pb::Command& command) {
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
      case pb::EVENT_TYPE_TIMER_CANCELED:
        return command.has_cancel_timer() &&
               event.timer_canceled().timer_id() == command.cancel_timer().timer_id();
      default:
        return false;
    }
  }

  operation* activity_of(const pb::HistoryEvent& event, int64_t scheduled_event_id) {
    auto it = activities_.find(scheduled_event_id);
    if (it == activities_.end())
      invalid_history(event_label(event) + " refers to scheduled event " +
                      std::to_string(scheduled_event_id) + ", not a known ActivityTaskScheduled");
    if (it->second->resolved && !it->second->canceled)
      invalid_history(event_label(event) + " closes a closed activity");
    return it->second;
  }

  operation* child_of(const pb::HistoryEvent& event, int64_t initiated_event_id) {
    auto it = children_.find(initiated_event_id);
    if (it == children_.end())
      invalid_history(event_label(event) + " refers to initiated event " +
                      std::to_string(initiated_event_id) +
                      ", not a known StartChildWorkflowExecutionInitiated");
    if (it->second->resolved)
      invalid_history(event_label(event) + " refers to a child that already closed");
    return it->second;
  }

  operation* timer_of(const pb::HistoryEvent& event) {
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

  // Marks the operation resolved and resumes the coroutine waiting on it, right now.
  void resolve(operation* op) {
    op->resolved = true;
    if (!op->waiter || finished_) return;
    std::exchange(op->waiter, {}).resume();
    check_finished();
  }

  // A signal goes to the oldest wait_signal of its name, else to the queue of its name.
  void deliver_signal(const std::string& name, const pb::Payload& input) {
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

  void mark_canceled(operation* op) {
    op->resolved = op->canceled = true;
    op->failure.set_message(ctx_.cancel_message());
  }

  // WorkflowExecutionCancelRequested at history index `index`: cancels every cancellable operation
  // not yet resolved (see workflow_context.hpp), then resumes the code waiting on one of them.
  void cancel_workflow(int index, const std::string& reason) {
    if (ctx_.cancel_requested_) return;
    ctx_.cancel_requested_ = true;
    ctx_.cancel_reason_ = reason;
    if (finished_) return;
    std::vector<operation*> waiting;
    for (const auto& owned : ctx_.operations_) {
      operation* op = owned.get();
      if (op->resolved || !op->cancellable) continue;
      if (op->kind == operation_kind::signal) {
        auto& waiters = ctx_.signal_waiters_[op->name];
        waiters.erase(std::remove(waiters.begin(), waiters.end(), op), waiters.end());
      } else if (op->recorded_event_id == 0) {
        drop_unsent_command(op);
      } else if (!resolved_in_batch(index, *op)) {
        pb::Command command;
        if (op->kind == operation_kind::activity)
          command.mutable_request_cancel_activity_task()->set_scheduled_event_id(op->recorded_event_id);
        else
          command.mutable_cancel_timer()->set_timer_id(op->name);
        ctx_.add_command(std::move(command), nullptr);
      }
      mark_canceled(op);
      if (op->waiter) waiting.push_back(op);
    }
    for (operation* op : waiting) resolve(op);
  }

  // True when the history the code reacts to in this workflow task (up to its WorkflowTaskStarted)
  // already holds the operation's result: the server would refuse a cancel command for it.
  bool resolved_in_batch(int index, const operation& op) const {
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
  void drop_unsent_command(operation* op) {
    for (size_t i = matched_; i < ctx_.commands_.size(); ++i) {
      if (ctx_.command_ops_[i] != op) continue;
      if (pending_check_ && i < must_match_) return;  // history must record it: leave the check
      ctx_.commands_.erase(ctx_.commands_.begin() + static_cast<std::ptrdiff_t>(i));
      ctx_.command_ops_.erase(ctx_.command_ops_.begin() + static_cast<std::ptrdiff_t>(i));
      if (i < produced_by_task_) --produced_by_task_;
      return;
    }
  }

  const history_t& history_;
  const workflow_fn& fn_;
  workflow_context ctx_;
  task<json> root_;
  std::vector<int> task_of_;      // index of the effective WorkflowTaskStarted of each event
  std::vector<bool> effective_;
  bool started_ = false;
  bool finished_ = false;
  int applied_ = 0;               // events applied so far
  size_t matched_ = 0;            // commands matched by history events so far
  size_t produced_by_task_ = 0;   // commands produced up to the last effective WorkflowTaskStarted
  size_t must_match_ = 0;
  std::optional<int64_t> pending_check_;  // WorkflowTaskCompleted whose commands are being matched
  std::map<int64_t, operation*> activities_;  // by ActivityTaskScheduled event id
  std::map<int64_t, timer_entry> timers_;     // by TimerStarted event id
  std::map<int64_t, operation*> children_;    // by StartChildWorkflowExecutionInitiated event id
};

}  // namespace detail

std::variant<json, std::string> run_query(const registry& reg, const pb::QueryTask& query) {
  // The recorded history, closed by a synthetic workflow task so that it replays like one.
  pb::WorkflowTask task;
  task.set_workflow_type(query.workflow_type());
  task.mutable_token()->set_workflow_id(query.workflow_id());
  task.mutable_token()->set_run_id(query.run_id());
  *task.mutable_history() = query.history();
  int64_t next = query.history().empty() ? 1 : query.history(query.history_size() - 1).event_id() + 1;
  auto* scheduled = task.add_history();
  scheduled->set_event_id(next);
  scheduled->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  scheduled->mutable_workflow_task_scheduled();
  auto* started = task.add_history();
  started->set_event_id(next + 1);
  started->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  started->mutable_workflow_task_started()->set_scheduled_event_id(next);
  try {
    std::string workflow_type = detail::validate(task);
    const workflow_fn* fn = reg.find_workflow(workflow_type);
    if (!fn)
      return "workflow type '" + workflow_type + "' is not registered on this worker";
    detail::replay_machine machine(task.history(), task.token(), workflow_type, *fn);
    machine.run();
    auto& handlers = machine.context().query_handlers();
    auto it = handlers.find(query.query_type());
    if (it == handlers.end()) {
      std::vector<std::string> known;
      for (auto& [name, h] : handlers) known.push_back(name);
      return "unknown query type '" + query.query_type() + "' (known: " + detail::join(known) + ")";
    }
    return it->second(from_payload(query.args()));
  } catch (const std::exception& e) {
    return std::string("query failed: ") + e.what();
  }
}

namespace {

// Runs `body` (which returns the commands or throws) and builds the response to the task.
template <class Body>
workflow_task_result answer_task(const pb::TaskToken& token, const std::string& identity,
                                 Body body) {
  auto failed = [&](const std::string& type, const std::string& message) {
    pb::RespondWorkflowTaskFailed response;
    *response.mutable_token() = token;
    response.mutable_failure()->set_type(type);
    response.mutable_failure()->set_message(message);
    response.mutable_failure()->set_source("worker");
    response.set_identity(identity);
    return response;
  };
  try {
    std::vector<pb::Command> commands = body();
    pb::RespondWorkflowTaskCompleted response;
    *response.mutable_token() = token;
    for (auto& command : commands) *response.add_commands() = std::move(command);
    response.set_identity(identity);
    return response;
  } catch (const detail::task_failure& e) {
    return failed(e.type(), e.what());
  } catch (const nondeterminism_error& e) {
    return failed(nondeterminism_type, e.what());
  } catch (const std::exception& e) {
    return failed(workflow_task_error_type, e.what());
  }
}

const workflow_fn& find_workflow(const registry& reg, const std::string& workflow_type) {
  const workflow_fn* fn = reg.find_workflow(workflow_type);
  if (!fn)
    throw detail::task_failure(unknown_workflow_type,
                               "workflow type '" + workflow_type +
                                   "' is not registered on this worker (registered: " +
                                   detail::join(reg.workflow_names()) + ")");
  return *fn;
}

}  // namespace

workflow_task_result run_workflow_task(const registry& reg, const pb::WorkflowTask& task,
                                       const std::string& identity) {
  return answer_task(task.token(), identity, [&] {
    std::string workflow_type = detail::validate(task);
    const workflow_fn& fn = find_workflow(reg, workflow_type);
    detail::replay_machine machine(task.history(), task.token(), workflow_type, fn);
    return machine.run();
  });
}

// One cached run. Its machine reads `events` (a list node: its address is stable).
struct workflow_cache::entry {
  std::string key;
  std::string workflow_type;
  google::protobuf::RepeatedPtrField<pb::HistoryEvent> events;
  std::unique_ptr<detail::replay_machine> machine;  // null: replay `events` at the next task
  int64_t last_event_id() const { return events.empty() ? 0 : events.rbegin()->event_id(); }
};

workflow_cache::workflow_cache(size_t capacity) : capacity_(capacity) {}
workflow_cache::~workflow_cache() = default;

namespace {
std::string cache_key(const pb::TaskToken& token) {
  return token.workflow_id() + '\0' + token.run_id();
}
}  // namespace

bool workflow_cache::can_answer(const pb::WorkflowTask& task) const {
  if (task.first_event_id() <= 1) return true;
  auto it = index_.find(cache_key(task.token()));
  return it != index_.end() && it->second->last_event_id() + 1 == task.first_event_id();
}

void workflow_cache::drop(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

workflow_task_result workflow_cache::run(const registry& reg, pb::WorkflowTask task,
                                         const std::string& identity) {
  const std::string key = cache_key(task.token());
  entry* e = nullptr;
  auto result = answer_task(task.token(), identity, [&]() -> std::vector<pb::Command> {
    if (task.first_event_id() <= 1) {  // the whole history: whatever was cached is replaced
      drop(key);
      std::string workflow_type = detail::validate(task);
      const workflow_fn& fn = find_workflow(reg, workflow_type);
      lru_.emplace_front();
      index_[key] = lru_.begin();
      e = &lru_.front();
      e->key = key;
      e->workflow_type = std::move(workflow_type);
      e->events.Swap(task.mutable_history());
      ++stats_.full;
      e->machine = std::make_unique<detail::replay_machine>(e->events, task.token(),
                                                             e->workflow_type, fn);
      return e->machine->run();
    }
    auto it = index_.find(key);
    if (it == index_.end() || it->second->last_event_id() + 1 != task.first_event_id())
      detail::invalid_history("the task carries the events from " +
                              std::to_string(task.first_event_id()) +
                              " on, but this worker holds no earlier events of the run");
    lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
    entry& cached = *it->second;
    if (task.history_size() == 0 || task.history(0).event_id() != task.first_event_id())
      detail::invalid_history("the task's first event is not its first_event_id " +
                              std::to_string(task.first_event_id()));
    if (!task.workflow_type().empty() && task.workflow_type() != cached.workflow_type)
      detail::invalid_history("the task's workflow type '" + task.workflow_type() +
                              "' differs from the cached run's '" + cached.workflow_type + "'");
    detail::validate_events(task.history(), 0, cached.last_event_id(), task.started_event_id());
    const workflow_fn& fn = find_workflow(reg, cached.workflow_type);
    e = &cached;  // from here on the code runs: a failure leaves it in an unknown state
    for (auto& event : *task.mutable_history()) e->events.Add(std::move(event));
    if (e->machine && !e->machine->finished()) {
      if (auto commands = e->machine->resume()) {
        ++stats_.resumed;
        return std::move(*commands);
      }
    }
    ++stats_.replayed;  // the last task answered here did not complete: replay from the start
    e->machine = std::make_unique<detail::replay_machine>(e->events, task.token(),
                                                           e->workflow_type, fn);
    return e->machine->run();
  });
  if (e) {
    // A failed task leaves the code in an unknown state: the next task replays the events.
    if (!std::holds_alternative<pb::RespondWorkflowTaskCompleted>(result)) e->machine.reset();
    else if (e->machine && e->machine->finished()) drop(key);  // the run is closing
  }
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++stats_.evicted;
  }
  return result;
}

}  // namespace chronicle::sdk
