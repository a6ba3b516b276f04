#include "storage/committer.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace chronicle::storage {

namespace {

struct item {
  write_batch batch;
  committer::done_fn done;
  committer::chain ch;

  bool chain_failed() const { return ch && ch->load(std::memory_order_acquire); }
  void fail_chain() const {
    if (ch) ch->store(true, std::memory_order_release);
  }
};

}  // namespace

// Owned jointly by the committer and its thread, so that the thread may outlive a committer
// destroyed from one of its own callbacks.
struct committer::shared {
  write_fn write;
  std::mutex mtx;
  std::condition_variable cv;
  std::condition_variable done_cv;  // drain(): `done` moved on
  std::deque<item> queue;
  uint64_t submitted = 0;  // batches submitted, and those whose callback returned
  uint64_t done = 0;
  bool stopping = false;
  bool closed = false;  // the store is gone: fail what remains
  std::thread thread;

  void run() {
    std::vector<item> group;
    std::vector<write_batch*> batches;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mtx);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;  // stopping and drained
        group.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.end()));
        queue.clear();
        if (closed) {
          lock.unlock();
          for (auto& it : group) it.done(status::error("store closed"));
          finish(group);
          continue;
        }
      }
      batches.clear();
      // An item is written unless its batch could not be serialized or an earlier batch of its
      // chain failed (this group's failures count: items are taken in submission order).
      std::vector<std::string> skipped(group.size());
      for (size_t i = 0; i < group.size(); ++i) {
        auto& it = group[i];
        if (!it.batch.serialization_error().empty()) {
          skipped[i] = it.batch.serialization_error();
          it.fail_chain();
        } else if (it.chain_failed()) {
          skipped[i] = "an earlier write of the same workflow failed";
        } else {
          batches.push_back(&it.batch);
        }
      }
      status st = batches.empty() ? status{} : write(batches);
      for (size_t i = 0; i < group.size(); ++i) {
        auto& it = group[i];
        if (skipped[i].empty() && !st.ok()) it.fail_chain();
        it.done(skipped[i].empty() ? st : status::error(skipped[i]));
      }
      finish(group);
    }
  }

  // Releases the group's callbacks (and what they hold) on this thread, then counts it done.
  void finish(std::vector<item>& group) {
    auto n = group.size();
    group.clear();
    {
      std::lock_guard<std::mutex> lock(mtx);
      done += n;
    }
    done_cv.notify_all();
  }
};

committer::committer(write_fn fn) : shared_(std::make_shared<shared>()) {
  shared_->write = std::move(fn);
  shared_->thread = std::thread([s = shared_] {
    pthread_setname_np(pthread_self(), "committer");
    s->run();
  });
}

committer::~committer() {
  {
    std::lock_guard<std::mutex> lock(shared_->mtx);
    shared_->stopping = true;
  }
  shared_->cv.notify_one();
  if (shared_->thread.get_id() == std::this_thread::get_id()) {
    std::lock_guard<std::mutex> lock(shared_->mtx);
    shared_->closed = true;
    shared_->thread.detach();
  } else {
    shared_->thread.join();
  }
}

void committer::submit(write_batch batch, done_fn done, chain ch) {
  {
    std::lock_guard<std::mutex> lock(shared_->mtx);
    shared_->queue.push_back(item{std::move(batch), std::move(done), std::move(ch)});
    ++shared_->submitted;
  }
  shared_->cv.notify_one();
}

void committer::drain() {
  std::unique_lock<std::mutex> lock(shared_->mtx);
  auto target = shared_->submitted;
  shared_->done_cv.wait(lock, [&] { return shared_->done >= target; });
}

}  // namespace chronicle::storage
