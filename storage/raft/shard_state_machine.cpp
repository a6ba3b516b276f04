#include "storage/raft/shard_state_machine.hpp"

#include "storage/keys.hpp"

#include <chrono>
#include <random>

namespace chronicle::raft {

namespace {

using storage::keys::encode_u64;
using storage::status;

// Snapshot bytes, version 1 (the data, as sent): version (u8 = 1) | applied index (u64,
// big-endian) | a write_batch's bytes (write_batch::to_bytes) holding one put per key of the
// shard's data tables, in keys::data_tables order and key order.
// Version 2 (a reference, as stored by the replica that took it): version (u8 = 2) | applied
// index (u64, big-endian), nothing else: the data tables themselves are at or past that index.
// Version 3 (a stream token, sent in place of the data): version (u8 = 3) | applied index
// (u64) | stream ID (u64); the data is pulled in chunks and staged (shard_state_machine.hpp).
constexpr uint8_t snapshot_version = 1;
constexpr uint8_t reference_version = 2;
constexpr uint8_t token_version = 3;
constexpr size_t snapshot_header = 9;
constexpr size_t token_size = 17;
// A leader's stream read (or opened) less than this long ago is reused for another
// InstallSnapshot (libraft sends one again after its install timeout, 5 s, while a large stream
// may still be pulled), and released after stream_idle_ms without a chunk read.
constexpr int64_t stream_reuse_ms = 10000;
constexpr int64_t stream_idle_ms = 30000;
// restore moves a stage into the data tables in writes of about this many bytes.
constexpr size_t restore_write_bytes = size_t{4} << 20;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct fnv1a64 {
  uint64_t h = 14695981039346656037ull;
  void add(std::string_view b) {
    for (char c : b) {
      h ^= static_cast<uint8_t>(c);
      h *= 1099511628211ull;
    }
  }
  void add_u32(uint32_t v) {
    std::string s;
    storage::keys::put_u32(&s, v);
    add(s);
  }
};

}  // namespace

std::unique_ptr<shard_state_machine> shard_state_machine::open(storage::store& db, uint32_t shard,
                                                               storage::status* st) {
  status s;
  auto v = db.get_raft(shard, storage::raft_record::applied_index, &s);
  uint64_t applied = 0;
  if (s.ok() && v) {
    auto d = storage::keys::decode_u64(*v);
    if (!d) s = status::error("corrupt applied index of shard " + std::to_string(shard));
    else applied = *d;
  }
  if (st != nullptr) *st = s;
  if (!s.ok()) return nullptr;
  return std::unique_ptr<shard_state_machine>(new shard_state_machine(db, shard, applied));
}

status shard_state_machine::apply(uint64_t index, std::string_view entry) {
  auto st = stage(index, entry);
  return st.ok() ? flush() : st;
}

status shard_state_machine::stage(uint64_t index, std::string_view entry) {
  if (index <= applied_) return {};  // replayed after a restart: already in the data
  if (!entry.empty()) {
    status st;
    auto b = storage::write_batch::from_bytes(entry, shard_, &st);
    if (!b)
      return status::error("shard " + std::to_string(shard_) + " entry " + std::to_string(index) +
                           ": " + st.message());
    pending_.add(std::move(*b));
  }
  applied_ = index;
  ++staged_;
  return {};
}

status shard_state_machine::flush() {
  if (staged_ == 0) return {};
  ops_staged_ += pending_.ops_added();
  storage::write_batch batch = pending_.take();
  ops_written_ += batch.size();
  const size_t n = staged_;
  staged_ = 0;
  batch.put_raft(shard_, storage::raft_record::applied_index, encode_u64(applied_));
  auto st = db_.write_unsynced(batch);
  if (!st.ok())
    return status::error("shard " + std::to_string(shard_) + " entries up to " +
                         std::to_string(applied_) + " (" + std::to_string(n) +
                         "): " + st.message());
  return {};
}

status shard_state_machine::take_snapshot(std::string* out) {
  if (auto f = flush(); !f.ok()) return f;
  storage::write_batch puts;
  uint64_t applied = 0;
  auto st = db_.read_shard(shard_, &applied, [&](uint8_t t, std::string_view k, std::string_view v) {
    puts.put_data(t, std::string(k), std::string(v));
    return true;
  });
  if (!st.ok()) return st;
  std::string body;
  if (auto b = puts.to_bytes(&body); !b.ok()) return b;
  std::string bytes;
  bytes.reserve(snapshot_header + body.size());
  bytes.push_back(static_cast<char>(snapshot_version));
  bytes.append(encode_u64(applied));
  bytes.append(body);
  *out = std::move(bytes);
  return {};
}

status shard_state_machine::take_reference(std::string* out) {
  // The reference stands for data written before it is stored (synced): staged entries first.
  if (auto f = flush(); !f.ok()) return f;
  *out = reference(applied_);
  return {};
}

std::string shard_state_machine::reference(uint64_t applied_index) {
  std::string bytes;
  bytes.push_back(static_cast<char>(reference_version));
  bytes.append(encode_u64(applied_index));
  return bytes;
}

std::optional<uint64_t> shard_state_machine::snapshot_applied_index(std::string_view bytes) {
  if (auto t = parse_token(bytes)) return t->applied_index;
  if (bytes.size() < snapshot_header) return std::nullopt;
  auto version = static_cast<uint8_t>(bytes[0]);
  if (version != snapshot_version && !(version == reference_version && bytes.size() == snapshot_header))
    return std::nullopt;
  return storage::keys::decode_u64(bytes.substr(1, 8));
}

bool shard_state_machine::is_reference(std::string_view bytes) {
  return !bytes.empty() && static_cast<uint8_t>(bytes[0]) == reference_version;
}

status shard_state_machine::restore(std::string_view bytes) {
  const std::string what = "shard " + std::to_string(shard_) + " snapshot: ";
  if (auto f = flush(); !f.ok()) return f;
  auto applied = snapshot_applied_index(bytes);
  if (!applied) return status::error(what + "bad header");
  if (*applied <= applied_) return {};  // our data is already at or past it
  if (is_reference(bytes))  // our own, stored after the data was durable at that index
    return status::error(what + "it stands for the data at index " + std::to_string(*applied) +
                         " but the data here is only at " + std::to_string(applied_));
  if (auto token = parse_token(bytes)) return restore_stage(*token);
  status st;
  auto puts = storage::write_batch::from_bytes(bytes.substr(snapshot_header), shard_, &st);
  if (!puts) return status::error(what + st.message());
  storage::write_batch batch;
  batch.delete_shard_data(shard_);
  batch.append(std::move(*puts));
  batch.put_raft(shard_, storage::raft_record::applied_index, encode_u64(*applied));
  st = db_.write_unsynced(batch);
  if (!st.ok()) return status::error(what + st.message());
  applied_ = *applied;
  return {};
}

status shard_state_machine::open_stream(uint64_t at_least, std::string* token) {
  if (auto f = flush(); !f.ok()) return f;
  auto now = steady_ms();
  expire_streams();
  uint64_t id = 0;
  for (auto& [sid, s] : streams_)
    if (now - s.used_ms < stream_reuse_ms && s.applied_index >= at_least) id = sid;
  if (id == 0) {
    held_stream s;
    s.view = db_.hold_view();
    if (auto st = db_.applied_index_at(*s.view, shard_, &s.applied_index); !st.ok()) return st;
    s.used_ms = now;
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    do id = rng(); while (id == 0 || streams_.count(id) != 0);
    streams_.emplace(id, std::move(s));
  }
  auto& s = streams_.at(id);
  s.used_ms = now;
  std::string bytes;
  bytes.push_back(static_cast<char>(token_version));
  bytes.append(encode_u64(s.applied_index));
  bytes.append(encode_u64(id));
  *token = std::move(bytes);
  return {};
}

std::shared_ptr<const storage::store::read_view> shard_state_machine::stream_view(uint64_t stream,
                                                                                status* st) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    *st = status::error("shard " + std::to_string(shard_) + " holds no snapshot stream " +
                        std::to_string(stream) + " (released after " +
                        std::to_string(stream_idle_ms / 1000) + " s idle, or the node restarted)");
    return nullptr;
  }
  it->second.used_ms = steady_ms();
  return it->second.view;
}

status shard_state_machine::read_stream(uint64_t stream, uint32_t table_index,
                                        const std::string& after_key, size_t max_bytes,
                                        pb::HandoffChunk* out) {
  status st;
  auto view = stream_view(stream, &st);
  if (!view) return st;
  return db_.read_chunk(*view, shard_, table_index, after_key, max_bytes, out);
}

bool shard_state_machine::stream_active(int64_t within_ms) const {
  auto now = steady_ms();
  for (auto& [id, s] : streams_)
    if (now - s.used_ms < within_ms) return true;
  return false;
}

void shard_state_machine::expire_streams() {
  auto now = steady_ms();
  std::erase_if(streams_, [now](auto& kv) { return now - kv.second.used_ms >= stream_idle_ms; });
}

std::optional<shard_state_machine::stream_token> shard_state_machine::parse_token(std::string_view bytes) {
  if (bytes.size() != token_size || static_cast<uint8_t>(bytes[0]) != token_version) return std::nullopt;
  stream_token t;
  t.applied_index = *storage::keys::decode_u64(bytes.substr(1, 8));
  t.stream = *storage::keys::decode_u64(bytes.substr(9, 8));
  if (t.stream == 0) return std::nullopt;
  return t;
}

status shard_state_machine::stage_chunk(const stream_token& token, const pb::HandoffChunk& chunk,
                                        bool first, uint64_t keep) {
  constexpr uint32_t tables = sizeof(storage::keys::data_tables) / sizeof(storage::keys::data_tables[0]);
  const std::string what = "shard " + std::to_string(shard_) + " snapshot chunk: ";
  const auto prefix = storage::keys::shard_prefix(shard_);
  if (first) {  // this stream's earlier try goes too (begin_stage)
    stage_.reset();
    if (auto st = drop_stages_except(keep); !st.ok()) return st;
    status st;
    stage_ = db_.begin_stage(shard_, token.stream, &st);
    if (!stage_) return st;
  } else if (!stage_ || stage_->stream() != token.stream) {
    return status::error(what + "the stage of stream " + std::to_string(token.stream) +
                         " is gone (another pull began, or the node restarted); pull it again");
  }
  auto failed = [&](const status& st) {
    stage_.reset();
    return status::error(what + st.message());
  };
  for (auto& e : chunk.entries()) {
    if (e.table() >= tables || e.key().compare(0, prefix.size(), prefix) != 0)
      return failed(status::error("an entry of another shard or an unknown table"));
    auto st = stage_->add(static_cast<uint8_t>(storage::keys::data_tables[e.table()]), e.key(),
                          e.value());
    if (!st.ok()) return failed(st);
  }
  if (!chunk.done()) return {};
  auto st = stage_->finish(token.applied_index);
  stage_.reset();
  if (!st.ok()) return status::error(what + st.message());
  return {};
}

status shard_state_machine::drop_stage(uint64_t stream) {
  if (stage_ && stage_->stream() == stream) stage_.reset();
  if (auto st = db_.remove_stage_files(shard_, stream); !st.ok()) return st;
  storage::write_batch batch;  // a stage of an older version (in the raft table)
  batch.delete_stage(shard_, stream);
  return db_.write_unsynced(batch);
}

status shard_state_machine::drop_stages_except(uint64_t keep) {
  if (stage_ && stage_->stream() != keep) stage_.reset();
  if (auto st = db_.remove_stage_files_except(shard_, keep); !st.ok()) return st;
  storage::write_batch batch;
  batch.delete_stages_except(shard_, keep);
  return db_.write_unsynced(batch);
}

bool shard_state_machine::stage_complete(const stream_token& token) {
  if (db_.stage_files_complete(shard_, token.stream) == token.applied_index) return true;
  std::optional<uint64_t> complete;  // a stage of an older version (in the raft table)
  auto st = db_.scan_stage(shard_, token.stream, &complete, nullptr);
  return st.ok() && complete == token.applied_index;
}

status shard_state_machine::restore_stage(const stream_token& token) {
  const std::string what = "shard " + std::to_string(shard_) + " snapshot stream " +
                           std::to_string(token.stream) + ": ";
  if (db_.stage_files_complete(shard_, token.stream) == token.applied_index) {
    // The files go into the data tables, then the applied index is recorded (synced: the stage
    // is removed after it; a crash before it ingests the stage again).
    auto st = db_.ingest_stage(shard_, token.stream);
    if (!st.ok()) return status::error(what + st.message());
    storage::write_batch batch;
    batch.put_raft(shard_, storage::raft_record::applied_index, encode_u64(token.applied_index));
    st = db_.write_synced(batch);
    if (!st.ok()) return status::error(what + st.message());
    applied_ = token.applied_index;
    if (st = db_.remove_stage_files(shard_, token.stream); !st.ok())
      return status::error(what + st.message());
    return {};
  }
  return restore_raft_stage(token);
}

// A stage written by an older version, in the raft table (a node that crashed while moving it
// and was then upgraded): moved into the data tables in bounded writes.
status shard_state_machine::restore_raft_stage(const stream_token& token) {
  const std::string what = "shard " + std::to_string(shard_) + " snapshot stream " +
                           std::to_string(token.stream) + ": ";
  std::optional<uint64_t> complete;
  if (auto st = db_.scan_stage(shard_, token.stream, &complete, nullptr);
      !st.ok() || complete != token.applied_index)
    return status::error(what + "its staged data is missing or incomplete");
  storage::write_batch batch;
  batch.delete_shard_data(shard_);
  size_t bytes = 0;
  status failed;
  auto st = db_.scan_stage(shard_, token.stream, &complete,
                           [&](uint8_t t, std::string_view k, std::string_view v) {
                             batch.put_data(t, std::string(k), std::string(v));
                             bytes += k.size() + v.size();
                             if (bytes < restore_write_bytes) return true;
                             failed = db_.write_unsynced(batch);
                             batch = storage::write_batch();
                             bytes = 0;
                             return failed.ok();
                           });
  if (st.ok()) st = failed;
  if (!st.ok()) return status::error(what + st.message());
  // Last: the applied index with the stage's deletion (a crash before this write moves it again).
  batch.put_raft(shard_, storage::raft_record::applied_index, encode_u64(token.applied_index));
  batch.delete_stage(shard_, token.stream);
  st = db_.write_unsynced(batch);
  if (!st.ok()) return status::error(what + st.message());
  applied_ = token.applied_index;
  return {};
}

// The bytes hashed, for each key of the shard in read_shard's order: table tag (u8) | key length
// (u32) | key | value length (u32) | value. The applied index is reported beside, not hashed.
status shard_state_machine::digest(shard_digest* out) {
  if (auto f = flush(); !f.ok()) return f;
  fnv1a64 h;
  shard_digest d;
  auto st = db_.read_shard(shard_, &d.applied_index, [&](uint8_t t, std::string_view k, std::string_view v) {
    h.add(std::string_view(reinterpret_cast<const char*>(&t), 1));
    h.add_u32(static_cast<uint32_t>(k.size()));
    h.add(k);
    h.add_u32(static_cast<uint32_t>(v.size()));
    h.add(v);
    ++d.keys;
    d.bytes += k.size() + v.size();
    return true;
  });
  if (!st.ok()) return st;
  d.digest = h.h;
  *out = d;
  return {};
}

}  // namespace chronicle::raft
