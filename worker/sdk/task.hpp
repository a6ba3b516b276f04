// task<T>: the lazy coroutine type of workflow code.
//
// Contract:
//  - A coroutine returning task<T> does not run until it is awaited (or start()ed by a driver).
//  - `co_await some_task` runs it by symmetric transfer and, when it finishes, resumes the awaiter
//    the same way (no stack growth). The result is returned, or the exception that escaped the
//    coroutine is rethrown in the awaiter.
//  - task is move-only and owns its coroutine frame: destroying the task destroys the frame, and
//    with it every local (including the tasks it is itself awaiting), wherever it is suspended.
//  - A task can be awaited (or started) once; awaiting it again after it finished rethrows its
//    exception, or throws std::logic_error once its value was taken.
//  - Symmetric transfer is a tail call only when the compiler does sibling-call optimization
//    (GCC: -foptimize-sibling-calls, on at -O2). Without it (e.g. -O0/-O1) each co_await that
//    completes without suspending nests a native stack frame until the chain suspends, so very
//    long loops of synchronously completing awaits can exhaust the stack in such builds.
//
// Driver API (used by the replayer on the top-level task): start(), done(), result().
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

namespace chronicle::sdk {

template <class T = void>
class task;

namespace detail {

class task_promise_base {
 public:
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      auto next = self.promise().continuation_;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  final_awaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  // Marks the coroutine as started; throws std::logic_error if it already was.
  void mark_started() {
    if (started_) throw std::logic_error("chronicle::sdk::task started or awaited twice");
    started_ = true;
  }
  void set_continuation(std::coroutine_handle<> next) noexcept { continuation_ = next; }

 protected:
  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
  bool started_ = false;
};

template <class T>
class task_promise : public task_promise_base {
 public:
  task<T> get_return_object() noexcept;
  void return_value(T value) { value_.emplace(std::move(value)); }

  // Returns the result (once) or rethrows the coroutine's exception.
  T take() {
    rethrow_if_failed();
    if (!value_) throw std::logic_error("chronicle::sdk::task result already taken");
    T value = std::move(*value_);
    value_.reset();
    return value;
  }

 private:
  std::optional<T> value_;
};

template <>
class task_promise<void> : public task_promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() const { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  // True when the task owns a coroutine frame.
  bool valid() const noexcept { return static_cast<bool>(handle_); }
  // True when the coroutine ran to its end (returned or threw).
  bool done() const noexcept { return handle_ && handle_.done(); }

  // Runs a valid, not yet started task until it first suspends or finishes. Nothing is resumed
  // when it finishes (it has no awaiter): check done() afterwards.
  void start() {
    if (!handle_) throw std::logic_error("chronicle::sdk::task::start on an empty task");
    handle_.promise().mark_started();
    handle_.resume();
  }

  // Precondition: done(). Returns the value or rethrows the coroutine's exception.
  T result() {
    if (!done()) throw std::logic_error("chronicle::sdk::task::result before the task finished");
    return handle_.promise().take();
  }

  auto operator co_await() & noexcept { return awaiter{handle_}; }
  auto operator co_await() && noexcept { return awaiter{handle_}; }

 private:
  friend class detail::task_promise<T>;
  explicit task(handle_type handle) noexcept : handle_(handle) {}

  struct awaiter {
    handle_type handle;

    bool await_ready() const noexcept { return !handle || handle.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) {
      handle.promise().mark_started();
      handle.promise().set_continuation(caller);
      return handle;
    }
    T await_resume() {
      if (!handle) throw std::logic_error("co_await on an empty chronicle::sdk::task");
      return handle.promise().take();
    }
  };

  void destroy() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  handle_type handle_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}

inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

}  // namespace detail

}  // namespace chronicle::sdk
