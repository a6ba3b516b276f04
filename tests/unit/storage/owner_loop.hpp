// The owner's loop of a rocks_log_store in tests: `post` (called on the committer thread) queues
// a callable; the test thread runs them with run_until / run_pending, as a shard actor would run
// its messages.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace chronicle::storage::testing {

class owner_loop {
public:
  std::function<void(std::function<void()>)> post() {
    return [this](std::function<void()> fn) {
      {
        std::lock_guard<std::mutex> lock(mtx_);
        queue_.push_back(std::move(fn));
        posted_from_other_thread_ = posted_from_other_thread_ || std::this_thread::get_id() != owner_;
        posted_inline_ = posted_inline_ || std::this_thread::get_id() == owner_;
      }
      cv_.notify_all();
    };
  }
  // Runs posted callables until pred() holds; false after 10 s without it.
  bool run_until(const std::function<bool()>& pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      std::unique_lock<std::mutex> lock(mtx_);
      if (!cv_.wait_until(lock, deadline, [&] { return !queue_.empty(); })) return false;
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      fn();
    }
    return true;
  }
  // True when every post came from another thread than the owner's (never inline).
  bool never_inline() const {
    std::lock_guard<std::mutex> lock(mtx_);
    return !posted_inline_;
  }

private:
  std::thread::id owner_ = std::this_thread::get_id();
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool posted_from_other_thread_ = false;
  bool posted_inline_ = false;
};

}  // namespace chronicle::storage::testing
