#include "storage/raft/memory_log_store.hpp"

#include <utility>

namespace chronicle::raft {

void memory_log_store::image::apply(const op& o) {
  if (auto* a = std::get_if<append_op>(&o)) {
    uint64_t end = start + entries.size();
    if (a->first < start) return;  // below a snapshot installed meanwhile: nothing to keep
    if (a->first < end) entries.resize(a->first - start);
    else if (a->first > end) return;  // a gap cannot happen with libraft; refuse it
    for (const auto& e : a->entries) entries.push_back(e);
  } else if (auto* t = std::get_if<truncate_op>(&o)) {
    if (t->index <= start) entries.clear();
    else if (t->index - start < entries.size()) entries.resize(t->index - start);
  } else if (auto* s = std::get_if<snapshot_op>(&o)) {
    snapshot = s->snapshot;
    uint64_t index = s->snapshot.index;
    if (s->trailing == 0) {
      entries.clear();
      start = index + 1;
      return;
    }
    uint64_t first_kept = index > s->trailing ? index - s->trailing + 1 : 1;
    while (start < first_kept && !entries.empty()) {
      entries.pop_front();
      ++start;
    }
    if (entries.empty() && start < first_kept) start = first_kept;
  }
}

loaded_state memory_log_store::load() {
  loaded_state st;
  st.term = durable_.term;
  st.vote = durable_.vote;
  st.snapshot = durable_.snapshot;
  st.start_index = durable_.start;
  st.entries.assign(durable_.entries.begin(), durable_.entries.end());
  return st;
}

bool memory_log_store::bootstrap(const stored_entry& first) {
  if (durable_.term != 0 || durable_.snapshot || !durable_.entries.empty() || !queue_.empty())
    return false;
  durable_.term = 1;
  durable_.vote = 0;
  durable_.start = 1;
  durable_.entries.push_back(first);
  return true;
}

bool memory_log_store::set_term(uint64_t term) {
  durable_.term = term;
  durable_.vote = 0;
  return true;
}

bool memory_log_store::set_vote(uint64_t server_id) {
  durable_.vote = server_id;
  return true;
}

void memory_log_store::append(uint64_t first_index, std::vector<stored_entry> entries,
                              done_fn done) {
  queue_.push_back(append_op{first_index, std::move(entries), std::move(done)});
  if (on_submit) on_submit();
}

void memory_log_store::truncate(uint64_t index) {
  queue_.push_back(truncate_op{index});
  if (on_submit) on_submit();
}

void memory_log_store::put_snapshot(stored_snapshot snapshot, unsigned trailing, done_fn done) {
  queue_.push_back(snapshot_op{std::move(snapshot), trailing, std::move(done)});
  if (on_submit) on_submit();
}

std::optional<stored_snapshot> memory_log_store::get_snapshot() { return durable_.snapshot; }

bool memory_log_store::complete_next() {
  while (!unsynced_.empty()) {
    durable_.apply(unsynced_.front());
    unsynced_.pop_front();
  }
  if (queue_.empty()) return false;
  op o = std::move(queue_.front());
  queue_.pop_front();
  done_fn done;
  if (auto* a = std::get_if<append_op>(&o)) done = std::move(a->done);
  if (auto* s = std::get_if<snapshot_op>(&o)) done = std::move(s->done);
  if (ack_before_durable && std::holds_alternative<append_op>(o)) unsynced_.push_back(std::move(o));
  else durable_.apply(o);
  if (done) done(true);
  return true;
}

void memory_log_store::crash() {
  queue_.clear();
  unsynced_.clear();
}


std::optional<stored_entry> memory_log_store::visible_entry(uint64_t index) const {
  image view = durable_;
  for (const auto& o : unsynced_) view.apply(o);
  for (const auto& o : queue_) view.apply(o);
  if (index < view.start || index - view.start >= view.entries.size()) return std::nullopt;
  return view.entries[index - view.start];
}

uint64_t memory_log_store::visible_last_index() const {
  image view = durable_;
  for (const auto& o : unsynced_) view.apply(o);
  for (const auto& o : queue_) view.apply(o);
  return view.start + view.entries.size() - 1;
}

uint64_t memory_log_store::visible_snapshot_index() const {
  image view = durable_;
  for (const auto& o : unsynced_) view.apply(o);
  for (const auto& o : queue_) view.apply(o);
  return view.snapshot ? view.snapshot->index : 0;
}

}  // namespace chronicle::raft
