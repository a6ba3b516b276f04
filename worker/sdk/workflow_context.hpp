// workflow_context: what workflow code sees of the world. Every method is deterministic: the
// commands it records and the values it returns depend only on the history being replayed.
//
// Contract:
//  - activity(type, input, task_queue) records a ScheduleActivityTask command *when called*
//    (activity_id "1", "2", ... in call order) and returns an awaitable; `co_await` on it yields
//    the activity's JSON result, or throws activity_failure when the activity failed. Calling
//    several activities before awaiting them runs them in parallel.
//  - sleep(d) records a StartTimer command (timer_id "1", "2", ... in call order); `co_await`
//    returns when the timer fired. A zero duration is ready at once and records nothing; a
//    negative one throws std::invalid_argument.
//  - now_ms() is the event time of the WorkflowTaskStarted of the workflow task whose events the
//    code is reacting to; is_replaying() is true while that task is not the one being answered.
//  - Each awaitable may be awaited by one coroutine at a time; awaiting one that is already
//    being awaited throws std::logic_error.
//  - GCC 12 rejects a braced list inside a co_await expression ("array used as initializer"):
//    build the input first (`json args = {{"name", n}}; co_await ctx.activity("Greet", args);`).
//    Likewise C++ forbids co_await inside a catch handler: remember the error, await after it.
//  - Instances are created only by the replayer (run_workflow_task) and outlive the workflow
//    coroutine they are handed to.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::sdk {

namespace detail {

class replay_machine;

// An activity or timer issued by workflow code; resolved by a history event.
struct operation {
  bool resolved = false;
  bool failed = false;                   // activity failed: `failure` holds why
  pb::Payload result;                    // activity result
  pb::Failure failure;
  std::coroutine_handle<> waiter;        // the coroutine suspended on it, if any
};

void wait_on(operation& op, std::coroutine_handle<> waiter);

}  // namespace detail

class activity_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  json await_resume() const;  // result, or throws activity_failure / payload_error

 private:
  friend class workflow_context;
  explicit activity_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

class timer_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  void await_resume() const noexcept {}

 private:
  friend class workflow_context;
  explicit timer_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

class workflow_context {
 public:
  workflow_context(const workflow_context&) = delete;
  workflow_context& operator=(const workflow_context&) = delete;

  [[nodiscard]] activity_awaitable activity(std::string type, json input,
                                            std::string task_queue = {});
  [[nodiscard]] timer_awaitable sleep(std::chrono::milliseconds duration);

  int64_t now_ms() const { return now_ms_; }
  const std::string& workflow_id() const { return workflow_id_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& workflow_type() const { return workflow_type_; }
  bool is_replaying() const { return replaying_; }

 private:
  friend class detail::replay_machine;

  workflow_context(std::string workflow_id, std::string run_id, std::string workflow_type);

  // Records a command; `op` is the operation its events resolve (null for completion commands).
  void add_command(pb::Command command, detail::operation* op);
  detail::operation* new_operation();

  std::string workflow_id_;
  std::string run_id_;
  std::string workflow_type_;
  int64_t now_ms_ = 0;
  bool replaying_ = false;
  int64_t activity_seq_ = 0;
  int64_t timer_seq_ = 0;
  std::vector<pb::Command> commands_;          // every command produced, in order
  std::vector<detail::operation*> command_ops_;  // parallel to commands_
  std::vector<std::unique_ptr<detail::operation>> operations_;
};

}  // namespace chronicle::sdk
