// Returns memory the allocator holds but no longer uses to the operating system.
//
// tcmalloc (linked into chronicle-node, see CMakeLists.txt) keeps freed pages for reuse and gives
// them back only slowly. After a burst (100,000 executions activated, then passivated) that is
// hundreds of MB of resident memory nothing uses. A background thread checks every `period` and,
// when more than `threshold` bytes are free in tcmalloc's page heap, releases them (madvise): a
// later burst pays page faults again, the idle node's RSS reflects what it holds. Without
// tcmalloc this does nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#if CHRONICLE_WITH_TCMALLOC
#include <gperftools/malloc_extension.h>
#include <spdlog/spdlog.h>
#endif

namespace chronicle {

class memory_releaser {
public:
  explicit memory_releaser(std::chrono::milliseconds period = std::chrono::seconds(5),
                           size_t threshold = size_t{32} << 20) {
#if CHRONICLE_WITH_TCMALLOC
    thread_ = std::thread([this, period, threshold] {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
        size_t free_bytes = 0;
        auto* ext = MallocExtension::instance();
        if (!ext->GetNumericProperty("tcmalloc.pageheap_free_bytes", &free_bytes)) return;
        if (free_bytes < threshold) continue;
        ext->ReleaseFreeMemory();
        spdlog::debug("released {} MB of free memory to the OS", free_bytes >> 20);
      }
    });
#endif
  }
  ~memory_releaser() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  memory_releaser(const memory_releaser&) = delete;
  memory_releaser& operator=(const memory_releaser&) = delete;

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace chronicle
