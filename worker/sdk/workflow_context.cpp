#include "worker/sdk/workflow_context.hpp"

#include <stdexcept>
#include <utility>

#include "worker/sdk/errors.hpp"

namespace chronicle::sdk {

namespace detail {

void wait_on(operation& op, std::coroutine_handle<> waiter) {
  if (op.waiter) throw std::logic_error("an activity, timer or signal is awaited by two coroutines");
  op.waiter = waiter;
}

namespace {

void throw_if_canceled(const operation& op) {
  if (op.canceled) throw canceled_error(op.failure.message());
}

}  // namespace

}  // namespace detail

json activity_awaitable::await_resume() const {
  detail::throw_if_canceled(*op_);
  if (op_->failed) throw activity_failure(op_->failure);
  return from_payload(op_->result);
}

void timer_awaitable::await_resume() const { detail::throw_if_canceled(*op_); }

json signal_awaitable::await_resume() const {
  detail::throw_if_canceled(*op_);
  return from_payload(op_->result);
}

json child_workflow_awaitable::await_resume() const {
  detail::throw_if_canceled(*op_);
  if (op_->failed) throw child_workflow_failure(op_->how, op_->failure);
  return from_payload(op_->result);
}

void external_awaitable::await_resume() const {
  detail::throw_if_canceled(*op_);
  if (op_->failed)
    throw external_workflow_failure(op_->name, op_->how, op_->failure.type(),
                                    op_->failure.message());
}

void cancellation_scope::cancel(const std::string& reason) {
  if (state_->canceled) return;
  state_->canceled = true;
  state_->reason = reason;
  if (ctx_->cancel_scope_) ctx_->cancel_scope_(state_);
}

cancel_shield::~cancel_shield() {
  if (ctx_) --ctx_->shields_;
}

workflow_context::workflow_context(std::string workflow_id, std::string run_id,
                                   std::string workflow_type)
    : workflow_id_(std::move(workflow_id)),
      run_id_(std::move(run_id)),
      workflow_type_(std::move(workflow_type)) {}

activity_awaitable workflow_context::activity(std::string type, json input,
                                              std::string task_queue) {
  activity_options options;
  options.task_queue = std::move(task_queue);
  return activity(std::move(type), std::move(input), options);
}

activity_awaitable workflow_context::activity(std::string type, json input,
                                              const activity_options& options) {
  if (type.empty()) throw std::invalid_argument("activity type must not be empty");
  pb::Command command;
  auto* attrs = command.mutable_schedule_activity_task();
  *attrs->mutable_input() = to_payload(input);  // may throw: before the id is taken
  auto* op = new_operation(detail::operation_kind::activity);
  if (op->canceled) return activity_awaitable{op};
  op->cancellation = options.cancellation_type;
  attrs->set_activity_id(std::to_string(++activity_seq_));
  attrs->mutable_activity_type()->set_name(std::move(type));
  attrs->set_task_queue(options.task_queue);
  attrs->set_schedule_to_close_timeout_ms(options.schedule_to_close_timeout.count());
  attrs->set_schedule_to_start_timeout_ms(options.schedule_to_start_timeout.count());
  attrs->set_start_to_close_timeout_ms(options.start_to_close_timeout.count());
  attrs->set_heartbeat_timeout_ms(options.heartbeat_timeout.count());
  attrs->set_priority(options.priority);
  auto* retry = attrs->mutable_retry_policy();
  retry->set_initial_interval_ms(options.retry.initial_interval.count());
  retry->set_backoff_coefficient(options.retry.backoff_coefficient);
  retry->set_maximum_interval_ms(options.retry.maximum_interval.count());
  retry->set_maximum_attempts(options.retry.maximum_attempts);
  for (auto& t : options.retry.non_retryable_error_types) retry->add_non_retryable_error_types(t);
  add_command(std::move(command), op);
  return activity_awaitable{op};
}

timer_awaitable workflow_context::sleep(std::chrono::milliseconds duration) {
  if (duration.count() < 0) throw std::invalid_argument("sleep duration must not be negative");
  auto* op = new_operation(detail::operation_kind::timer);
  if (op->canceled) return timer_awaitable{op};
  if (duration.count() == 0) {
    op->resolved = true;
    return timer_awaitable{op};
  }
  pb::Command command;
  auto* attrs = command.mutable_start_timer();
  op->name = std::to_string(++timer_seq_);
  attrs->set_timer_id(op->name);
  attrs->set_start_to_fire_timeout_ms(duration.count());
  add_command(std::move(command), op);
  return timer_awaitable{op};
}

signal_awaitable workflow_context::wait_signal(const std::string& name) {
  auto* op = new_operation(detail::operation_kind::signal);
  op->name = name;
  if (op->canceled) return signal_awaitable{op};
  auto& queue = signal_queue_[name];
  if (!queue.empty()) {
    op->result = std::move(queue.front());
    queue.pop_front();
    op->resolved = true;
  } else {
    signal_waiters_[name].push_back(op);
  }
  return signal_awaitable{op};
}

std::optional<json> workflow_context::poll_signal(const std::string& name) {
  auto it = signal_queue_.find(name);
  if (it == signal_queue_.end() || it->second.empty()) return std::nullopt;
  pb::Payload payload = std::move(it->second.front());
  it->second.pop_front();
  return from_payload(payload);
}

child_workflow_awaitable workflow_context::child_workflow(std::string type, json input) {
  return child_workflow(std::move(type), std::move(input), child_workflow_options{});
}

child_workflow_awaitable workflow_context::child_workflow(std::string type, json input,
                                                          const child_workflow_options& options) {
  if (type.empty()) throw std::invalid_argument("child workflow type must not be empty");
  pb::Command command;
  auto* attrs = command.mutable_start_child_workflow_execution();
  *attrs->mutable_input() = to_payload(input);  // may throw: before the sequence number is taken
  auto* op = new_operation(detail::operation_kind::child);
  ++child_seq_;  // taken even when canceled at once: the IDs of later children do not move
  op->name = options.workflow_id.empty() ? workflow_id_ + "-child-" + std::to_string(child_seq_)
                                         : options.workflow_id;
  if (op->canceled) return child_workflow_awaitable{op};
  attrs->set_workflow_id(op->name);
  attrs->set_workflow_type(std::move(type));
  attrs->set_task_queue(options.task_queue);
  attrs->set_workflow_execution_timeout_ms(options.execution_timeout.count());
  attrs->set_workflow_run_timeout_ms(options.run_timeout.count());
  attrs->set_parent_close_policy(options.parent_close_policy);
  attrs->set_workflow_id_reuse_policy(options.id_reuse_policy);
  add_command(std::move(command), op);
  return child_workflow_awaitable{op};
}

void workflow_context::continue_as_new(json input, const continue_as_new_options& options) {
  pb::Command command;
  auto* attrs = command.mutable_continue_as_new_workflow_execution();
  *attrs->mutable_input() = to_payload(input);
  attrs->set_workflow_type(options.workflow_type);
  attrs->set_task_queue(options.task_queue);
  attrs->set_workflow_run_timeout_ms(options.run_timeout.count());
  throw continue_as_new_error(std::move(command));
}

external_awaitable workflow_context::signal_external(std::string workflow_id,
                                                     std::string signal_name, json input) {
  return signal_external(std::move(workflow_id), {}, std::move(signal_name), std::move(input));
}

external_awaitable workflow_context::signal_external(std::string workflow_id, std::string run_id,
                                                     std::string signal_name, json input) {
  if (workflow_id.empty()) throw std::invalid_argument("signal_external needs a workflow ID");
  if (signal_name.empty()) throw std::invalid_argument("signal_external needs a signal name");
  pb::Command command;
  auto* attrs = command.mutable_signal_external_workflow_execution();
  *attrs->mutable_input() = to_payload(input);
  attrs->set_workflow_id(workflow_id);
  attrs->set_run_id(std::move(run_id));
  attrs->set_signal_name(std::move(signal_name));
  return external(std::move(command), std::move(workflow_id), "signal");
}

external_awaitable workflow_context::cancel_external(std::string workflow_id) {
  return cancel_external(std::move(workflow_id), {}, {});
}

external_awaitable workflow_context::cancel_external(std::string workflow_id, std::string run_id,
                                                     std::string reason) {
  if (workflow_id.empty()) throw std::invalid_argument("cancel_external needs a workflow ID");
  pb::Command command;
  auto* attrs = command.mutable_request_cancel_external_workflow_execution();
  attrs->set_workflow_id(workflow_id);
  attrs->set_run_id(std::move(run_id));
  attrs->set_reason(std::move(reason));
  return external(std::move(command), std::move(workflow_id), "cancel request");
}

external_awaitable workflow_context::external(pb::Command command, std::string workflow_id,
                                              const char* what) {
  auto* op = new_operation(detail::operation_kind::external);
  op->name = std::move(workflow_id);
  op->how = what;
  if (!op->canceled) add_command(std::move(command), op);
  return external_awaitable{op};
}

::chronicle::sdk::cancellation_scope workflow_context::cancellation_scope(
    const std::function<void()>& fn) {
  return new_scope(false, fn);
}

::chronicle::sdk::cancellation_scope workflow_context::shielded_scope(
    const std::function<void()>& fn) {
  return new_scope(true, fn);
}

::chronicle::sdk::cancellation_scope workflow_context::new_scope(bool shielded,
                                                                 const std::function<void()>& fn) {
  scopes_.push_back(std::make_unique<detail::scope_state>());
  auto* state = scopes_.back().get();
  state->parent = active_scope();
  state->shielded = shielded;
  ::chronicle::sdk::cancellation_scope scope{this, state};
  if (fn) scope.run(fn);
  return scope;
}

std::optional<std::string> workflow_context::canceled_at_creation(const detail::scope_state* scope,
                                                                  bool cancellable) const {
  for (; scope; scope = scope->parent) {
    if (scope->canceled) return scope->reason;
    if (scope->shielded) return std::nullopt;
  }
  if (cancel_requested_ && cancellable) return cancel_message();
  return std::nullopt;
}

cancel_shield workflow_context::non_cancellable() {
  ++shields_;
  return cancel_shield{this};
}

std::string workflow_context::cancel_message() const {
  return cancel_reason_.empty() ? "workflow execution canceled"
                                : "workflow execution canceled: " + cancel_reason_;
}

void workflow_context::add_command(pb::Command command, detail::operation* op) {
  commands_.push_back(std::move(command));
  command_ops_.push_back(op);
}

detail::operation* workflow_context::new_operation(detail::operation_kind kind) {
  operations_.push_back(std::make_unique<detail::operation>());
  auto* op = operations_.back().get();
  op->kind = kind;
  op->cancellable = shields_ == 0;
  op->scope = active_scope();
  if (auto why = canceled_at_creation(op->scope, op->cancellable)) {
    op->resolved = op->canceled = true;
    op->failure.set_message(*why);
  }
  return op;
}

}  // namespace chronicle::sdk
