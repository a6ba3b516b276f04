#include "storage/raft/rocks_log_store.hpp"

#include <utility>

#include "storage/keys.hpp"

namespace chronicle::raft {

namespace {

using storage::keys::encode_u64;
using storage::raft_record;

uint64_t read_u64(std::string_view b) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[i]);
  return v;
}

// Snapshot meta: index | term | configuration_index (u64 each) | configuration.
std::string encode_meta(const stored_snapshot& s) {
  std::string out = encode_u64(s.index) + encode_u64(s.term) + encode_u64(s.configuration_index);
  out.append(s.configuration);
  return out;
}

bool decode_meta(std::string_view b, stored_snapshot* out) {
  if (b.size() < 24) return false;
  out->index = read_u64(b);
  out->term = read_u64(b.substr(8));
  out->configuration_index = read_u64(b.substr(16));
  out->configuration = std::string(b.substr(24));
  return out->index > 0 && out->term > 0;
}

}  // namespace

rocks_log_store::rocks_log_store(storage::store& db, uint32_t shard, post_fn post)
    : db_(db), shard_(shard), post_(std::move(post)) {}

rocks_log_store::~rocks_log_store() { alive_.reset(); }

std::string rocks_log_store::encode_entry(const stored_entry& e) {
  std::string out = encode_u64(e.term);
  out.push_back(static_cast<char>(e.type >> 8));
  out.push_back(static_cast<char>(e.type & 0xFF));
  out.append(e.data);
  return out;
}

bool rocks_log_store::decode_entry(std::string_view b, stored_entry* out) {
  if (b.size() < 10) return false;
  out->term = read_u64(b);
  out->type = static_cast<uint16_t>((static_cast<uint8_t>(b[8]) << 8) | static_cast<uint8_t>(b[9]));
  out->data = std::string(b.substr(10));
  return out->term > 0;
}

void rocks_log_store::fail(const std::string& msg) {
  if (error_.empty()) error_ = "shard " + std::to_string(shard_) + " raft log: " + msg;
}

loaded_state rocks_log_store::load() {
  loaded_state st;
  auto corrupt = [&](const std::string& what) {
    fail(what);
    st.error = error_.empty() ? what : error_;
    return st;
  };
  storage::status s;
  auto term = db_.get_raft(shard_, raft_record::term, &s);
  if (!s.ok()) return corrupt(s.message());
  auto vote = db_.get_raft(shard_, raft_record::vote, &s);
  if (!s.ok()) return corrupt(s.message());
  if (term) {
    auto v = storage::keys::decode_u64(*term);
    if (!v) return corrupt("corrupt term record");
    st.term = *v;
  }
  if (vote) {
    auto v = storage::keys::decode_u64(*vote);
    if (!v) return corrupt("corrupt vote record");
    st.vote = *v;
  }
  auto snapshot = get_snapshot();
  if (!error_.empty()) return corrupt(error_);
  st.snapshot = snapshot;
  const uint64_t snap_index = snapshot ? snapshot->index : 0;
  std::string bad;
  s = db_.scan_raft_entries(shard_, [&](uint64_t index, std::string_view value) {
    if (!st.entries.empty() && index != st.start_index + st.entries.size()) {
      bad = "gap in the log after entry " + std::to_string(st.start_index + st.entries.size() - 1);
      return false;
    }
    if (st.entries.empty()) st.start_index = index;
    stored_entry e;
    if (!decode_entry(value, &e)) {
      bad = "corrupt entry " + std::to_string(index);
      return false;
    }
    st.entries.push_back(std::move(e));
    return true;
  });
  if (!s.ok()) return corrupt(s.message());
  if (!bad.empty()) return corrupt(bad);
  if (st.entries.empty()) st.start_index = snap_index + 1;
  if (st.start_index == 0 || st.start_index > snap_index + 1)
    return corrupt("the log starts at " + std::to_string(st.start_index) +
                   ", after the snapshot's index " + std::to_string(snap_index) + " + 1");
  start_ = st.start_index;
  last_ = st.start_index + st.entries.size() - 1;
  return st;
}

bool rocks_log_store::bootstrap(const stored_entry& first) {
  storage::status s;
  if (submitted_ || db_.has_raft_state(shard_, &s) || !s.ok()) return false;
  storage::write_batch b;
  b.put_raft(shard_, raft_record::term, encode_u64(1));
  b.delete_raft(shard_, raft_record::vote);
  b.put_raft_entry(shard_, 1, encode_entry(first));
  s = db_.write_synced(b);
  if (!s.ok()) {
    fail(s.message());
    return false;
  }
  submitted_ = true;
  start_ = 1;
  last_ = 1;
  return true;
}

bool rocks_log_store::seed(const stored_snapshot& snapshot) {
  storage::status s;
  if (submitted_ || db_.has_raft_state(shard_, &s) || !s.ok()) return false;
  storage::write_batch b;
  b.put_raft(shard_, raft_record::term, encode_u64(snapshot.term));
  b.delete_raft(shard_, raft_record::vote);
  b.put_raft(shard_, raft_record::snapshot_meta, encode_meta(snapshot));
  b.put_raft(shard_, raft_record::snapshot_data, snapshot.data);
  b.put_raft(shard_, raft_record::applied_index, encode_u64(snapshot.index));
  s = db_.write_synced(b);
  if (!s.ok()) {
    fail(s.message());
    return false;
  }
  submitted_ = true;
  start_ = snapshot.index + 1;
  last_ = snapshot.index;
  return true;
}

bool rocks_log_store::set_term(uint64_t term) {
  storage::write_batch b;
  b.put_raft(shard_, raft_record::term, encode_u64(term));
  b.delete_raft(shard_, raft_record::vote);
  auto s = db_.write_synced(b);
  submitted_ = true;
  if (!s.ok()) fail(s.message());
  return s.ok();
}

bool rocks_log_store::set_vote(uint64_t server_id) {
  storage::write_batch b;
  b.put_raft(shard_, raft_record::vote, encode_u64(server_id));
  auto s = db_.write_synced(b);
  submitted_ = true;
  if (!s.ok()) fail(s.message());
  return s.ok();
}

void rocks_log_store::submit(storage::write_batch batch, done_fn done) {
  submitted_ = true;
  std::weak_ptr<int> alive = alive_;
  db_.write_async(
    std::move(batch),
    [this, alive, post = post_, done = std::move(done)](const storage::status& st) {
      // The committer thread: hand the outcome to the owner's loop.
      post([this, alive, done, st] {
        if (!st.ok() && !alive.expired()) fail(st.message());
        if (done) done(st.ok());
      });
    },
    chain_);
}

void rocks_log_store::append(uint64_t first_index, std::vector<stored_entry> entries, done_fn done) {
  if (first_index < start_ || first_index > last_ + 1) {
    // Below a snapshot installed meanwhile (nothing to keep, as memory_log_store) or a gap
    // (libraft never asks for one): nothing is written; a gap is never durable.
    bool ok = first_index < start_;
    if (!ok) fail("append at " + std::to_string(first_index) + " after last " + std::to_string(last_));
    submit(storage::write_batch(), [done = std::move(done), ok](bool) {
      if (done) done(ok);
    });
    return;
  }
  storage::write_batch b;
  if (first_index <= last_) b.delete_raft_entries(shard_, first_index);  // a conflicting tail
  for (size_t i = 0; i < entries.size(); ++i) b.put_raft_entry(shard_, first_index + i, encode_entry(entries[i]));
  last_ = first_index + entries.size() - 1;
  submit(std::move(b), std::move(done));
}

void rocks_log_store::truncate(uint64_t index) {
  if (index > last_) return;  // nothing from `index` on
  storage::write_batch b;
  b.delete_raft_entries(shard_, index);
  last_ = index <= start_ ? start_ - 1 : index - 1;
  submit(std::move(b), nullptr);
}

void rocks_log_store::put_snapshot(stored_snapshot snapshot, unsigned trailing, done_fn done) {
  storage::write_batch b;
  b.put_raft(shard_, raft_record::snapshot_meta, encode_meta(snapshot));
  b.put_raft(shard_, raft_record::snapshot_data, snapshot.data);
  const uint64_t index = snapshot.index;
  if (trailing == 0) {  // installed from a leader: the snapshot replaces the whole log
    b.delete_raft_entries(shard_, 0);
    start_ = index + 1;
    last_ = index;
  } else {
    const uint64_t first_kept = index > trailing ? index - trailing + 1 : 1;
    if (first_kept > start_) {
      b.delete_raft_entries(shard_, 0, first_kept);
      start_ = first_kept;
      if (last_ + 1 < start_) last_ = start_ - 1;
    }
  }
  auto pending = std::make_shared<const stored_snapshot>(std::move(snapshot));
  pending_snapshot_ = pending;
  std::weak_ptr<int> alive = alive_;
  submit(std::move(b), [this, alive, pending, done = std::move(done)](bool ok) {
    if (!alive.expired() && pending_snapshot_ == pending) pending_snapshot_.reset();
    if (done) done(ok);
  });
}

std::optional<stored_snapshot> rocks_log_store::get_snapshot() {
  if (pending_snapshot_) return *pending_snapshot_;
  storage::status s;
  auto meta = db_.get_raft(shard_, raft_record::snapshot_meta, &s);
  if (!s.ok()) {
    fail(s.message());
    return std::nullopt;
  }
  if (!meta) return std::nullopt;
  stored_snapshot out;
  if (!decode_meta(*meta, &out)) {
    fail("corrupt snapshot record");
    return std::nullopt;
  }
  auto data = db_.get_raft(shard_, raft_record::snapshot_data, &s);
  if (!s.ok() || !data) {
    fail(s.ok() ? "snapshot " + std::to_string(out.index) + " has no data" : s.message());
    return std::nullopt;
  }
  out.data = std::move(*data);
  return out;
}

}  // namespace chronicle::raft
