#include "actors/execution/history_cache.hpp"

namespace chronicle {

void history_cache::reset(bool cached) {
  wire_.clear();
  cached_ = cached;
  sticky_offset_ = std::string::npos;
}

void history_cache::append_one(pb::HistoryEvent& ev) {
  one_.clear_history();
  *one_.add_history() = std::move(ev);
  one_.AppendToString(&wire_);
}

void history_cache::append(std::vector<pb::HistoryEvent>& events) {
  if (!cached_) return;
  for (auto& ev : events) append_one(ev);
}

void history_cache::fill(std::vector<pb::HistoryEvent>& history, int64_t sticky_next_event_id) {
  reset(false);
  for (auto& ev : history) {
    if (ev.event_id() == sticky_next_event_id) sticky_offset_ = wire_.size();
    append_one(ev);
  }
  cached_ = true;
}

}  // namespace chronicle
