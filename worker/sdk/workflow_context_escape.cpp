// workflow_context: versioning (patched / deprecate_patch), side effects, deterministic random
// values and condition waits. See workflow_context.hpp for the contract.
#include <cstdio>
#include <stdexcept>
#include <utility>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/markers.hpp"
#include "worker/sdk/workflow_context.hpp"

namespace chronicle::sdk {

bool condition_awaitable::await_resume() const {
  if (op_->canceled) throw canceled_error(op_->failure.message());
  return !op_->failed;
}

bool workflow_context::patched(const std::string& change_id) {
  if (change_id.empty()) throw std::invalid_argument("patch change ID must not be empty");
  if (auto it = patches_.find(change_id); it != patches_.end()) return it->second;
  // New code on a first run takes the new branch; on replay only if the old run recorded it.
  const bool take = !replaying_ || recorded_patches_.count(change_id) > 0;
  patches_[change_id] = take;
  if (take) add_command(detail::patch_marker(change_id, false), nullptr);
  return take;
}

void workflow_context::deprecate_patch(const std::string& change_id) {
  if (change_id.empty()) throw std::invalid_argument("patch change ID must not be empty");
  if (patches_.count(change_id)) return;
  patches_[change_id] = true;
  if (!replaying_ || recorded_patches_.count(change_id) > 0)
    add_command(detail::patch_marker(change_id, true), nullptr);
}

json workflow_context::side_effect(const std::function<json()>& fn) {
  if (!fn) throw std::invalid_argument("side_effect needs a function");
  const int64_t id = ++side_effect_seq_;
  pb::Payload data;
  if (auto it = recorded_side_effects_.find(id); it != recorded_side_effects_.end()) {
    data = it->second;
  } else {
    data = to_payload(fn());
  }
  add_command(detail::side_effect_marker(id, data), nullptr);
  return from_payload(data);
}

uint64_t workflow_context::random() {
  if (!random_state_) {
    uint64_t hash = 14695981039346656037ull;  // FNV-1a 64 of the run ID
    for (unsigned char c : run_id_) hash = (hash ^ c) * 1099511628211ull;
    random_state_ = hash;
  }
  uint64_t z = (*random_state_ += 0x9e3779b97f4a7c15ull);  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string workflow_context::uuid() {
  uint64_t hi = random(), lo = random();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                            // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);        // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return out;
}

condition_awaitable workflow_context::wait_condition(std::function<bool()> predicate) {
  if (!predicate) throw std::invalid_argument("wait_condition needs a predicate");
  auto* op = new_operation(detail::operation_kind::condition);
  if (op->canceled) return condition_awaitable{op};
  if (predicate()) {
    op->resolved = true;
    return condition_awaitable{op};
  }
  op->predicate = std::move(predicate);
  return condition_awaitable{op};
}

condition_awaitable workflow_context::wait_condition(std::function<bool()> predicate,
                                                     std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) throw std::invalid_argument("condition timeout must not be negative");
  condition_awaitable awaitable = wait_condition(std::move(predicate));
  detail::operation* op = awaitable.op_;
  if (op->resolved) return awaitable;
  if (timeout.count() == 0) {  // already timed out
    op->resolved = op->failed = true;
    op->predicate = nullptr;
    return awaitable;
  }
  timer_awaitable timer = sleep(timeout);
  op->linked = timer.op_;
  timer.op_->linked = op;
  return awaitable;
}

}  // namespace chronicle::sdk
