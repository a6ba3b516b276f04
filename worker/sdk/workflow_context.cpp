#include "worker/sdk/workflow_context.hpp"

#include <stdexcept>
#include <utility>

#include "worker/sdk/errors.hpp"

namespace chronicle::sdk {

namespace detail {

void wait_on(operation& op, std::coroutine_handle<> waiter) {
  if (op.waiter) throw std::logic_error("an activity or timer is awaited by two coroutines");
  op.waiter = waiter;
}

}  // namespace detail

json activity_awaitable::await_resume() const {
  if (op_->failed) throw activity_failure(op_->failure);
  return from_payload(op_->result);
}

workflow_context::workflow_context(std::string workflow_id, std::string run_id,
                                   std::string workflow_type)
    : workflow_id_(std::move(workflow_id)),
      run_id_(std::move(run_id)),
      workflow_type_(std::move(workflow_type)) {}

activity_awaitable workflow_context::activity(std::string type, json input,
                                              std::string task_queue) {
  if (type.empty()) throw std::invalid_argument("activity type must not be empty");
  pb::Command command;
  auto* attrs = command.mutable_schedule_activity_task();
  *attrs->mutable_input() = to_payload(input);  // may throw: before the id is taken
  attrs->set_activity_id(std::to_string(++activity_seq_));
  attrs->mutable_activity_type()->set_name(std::move(type));
  attrs->set_task_queue(std::move(task_queue));
  auto* op = new_operation();
  add_command(std::move(command), op);
  return activity_awaitable{op};
}

timer_awaitable workflow_context::sleep(std::chrono::milliseconds duration) {
  if (duration.count() < 0) throw std::invalid_argument("sleep duration must not be negative");
  auto* op = new_operation();
  if (duration.count() == 0) {
    op->resolved = true;
    return timer_awaitable{op};
  }
  pb::Command command;
  auto* attrs = command.mutable_start_timer();
  attrs->set_timer_id(std::to_string(++timer_seq_));
  attrs->set_start_to_fire_timeout_ms(duration.count());
  add_command(std::move(command), op);
  return timer_awaitable{op};
}

void workflow_context::add_command(pb::Command command, detail::operation* op) {
  commands_.push_back(std::move(command));
  command_ops_.push_back(op);
}

detail::operation* workflow_context::new_operation() {
  operations_.push_back(std::make_unique<detail::operation>());
  return operations_.back().get();
}

}  // namespace chronicle::sdk
