#include "actors/execution/commit_pipeline.hpp"

namespace chronicle {

uint64_t commit_pipeline::submit(storage::write_batch batch, post_fn post) {
  auto seq = ++write_seq_;
  if (failed()) {
    post(seq, failure_);  // not written: the owner's memory is already ahead of the disk
    return seq;
  }
  log_->submit(
    std::move(batch), [seq, post = std::move(post)](const storage::status& st) { post(seq, st); },
    chain_);
  return seq;
}

bool commit_pipeline::on_committed(uint64_t seq, const storage::status& st) {
  if (failed()) return false;
  if (!st.ok()) {
    fail(st);
    return true;
  }
  if (seq != durable_seq_ + 1) {
    if (seq > durable_seq_) early_.insert(seq);  // an earlier write is not durable yet
    return false;
  }
  durable_seq_ = seq;
  while (!early_.empty() && *early_.begin() == durable_seq_ + 1) {
    durable_seq_ = *early_.begin();
    early_.erase(early_.begin());
  }
  run_ready();
  return false;
}

void commit_pipeline::when_durable(waiter fn) { after(write_seq_, std::move(fn)); }

void commit_pipeline::after(uint64_t seq, waiter fn) {
  if (failed()) return fn(failure_);
  if (waiters_.empty() && seq <= durable_seq_) return fn(storage::status{});
  waiters_.emplace_back(seq, std::move(fn));
}

void commit_pipeline::run_ready() {
  while (!waiters_.empty() && waiters_.front().first <= durable_seq_ && !failed()) {
    auto fn = std::move(waiters_.front().second);
    waiters_.pop_front();
    fn(storage::status{});
  }
}

void commit_pipeline::fail(const storage::status& st) {
  failure_ = st;
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& [seq, fn] : waiters) fn(failure_);
}

}  // namespace chronicle
