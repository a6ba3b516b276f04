// The current run's history kept in the execution's memory, encoded as WorkflowTask.history
// fields (field 3), so that a workflow task is built by appending bytes instead of reading
// RocksDB and re-encoding. Also where the sticky worker's unseen events begin in it (see
// "Sticky cache" in docs/semantics.md). No CAF, no store: the execution fills and extends it.
#pragma once

#include <string>
#include <vector>

#include "protocol/codec.hpp"

namespace chronicle {

class history_cache {
public:
  // Forgets everything. `cached` true: the run's history is known to be empty (a new run).
  void reset(bool cached);
  // Appends the events (moved from) when cached; nothing otherwise.
  void append(std::vector<pb::HistoryEvent>& events);
  // Replaces the content with the run's whole history read from the store; the sticky offset is
  // set where event `sticky_next_event_id` begins (npos when it is not in the history).
  void fill(std::vector<pb::HistoryEvent>& history, int64_t sticky_next_event_id);

  [[nodiscard]] bool cached() const { return cached_; }
  [[nodiscard]] const std::string& wire() const { return wire_; }
  [[nodiscard]] size_t size() const { return wire_.size(); }
  // Where the sticky worker's unseen events begin in wire() (npos: not known).
  [[nodiscard]] size_t sticky_offset() const { return sticky_offset_; }
  void set_sticky_offset(size_t offset) { sticky_offset_ = offset; }

private:
  void append_one(pb::HistoryEvent& ev);

  std::string wire_;
  bool cached_ = false;
  size_t sticky_offset_ = std::string::npos;
  pb::WorkflowTask one_;  // reused to encode one event as a history field
};

}  // namespace chronicle
