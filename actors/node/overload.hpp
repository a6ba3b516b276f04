// Which task queues are overloaded (their in-memory backlog reached max_task_queue_backlog), as
// reported by their owners. Start requests for such a queue are refused with an "overloaded"
// error instead of growing memory without bound. Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>

namespace chronicle {

class overload_registry {
public:
  void set(const std::string& ns, const std::string& queue, bool overloaded) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (overloaded) keys_.insert(key(ns, queue));
    else keys_.erase(key(ns, queue));
  }
  [[nodiscard]] bool contains(const std::string& ns, const std::string& queue) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return keys_.count(key(ns, queue)) > 0;
  }

private:
  static std::string key(const std::string& ns, const std::string& queue) {
    return ns + '\0' + queue;
  }
  mutable std::mutex mtx_;
  std::set<std::string> keys_;
};

}  // namespace chronicle
