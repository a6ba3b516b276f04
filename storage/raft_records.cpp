// A shard's raft state and data as replication reads and writes them (storage/raft/): the raft
// column family's records and entries, and a shard's data tables read at one snapshot.
#include "storage/keys.hpp"
#include "storage/store_impl.hpp"

namespace chronicle::storage {

void write_batch::put_raft(uint32_t shard, raft_record record, std::string value) {
  impl_->put_bytes(table::raft, keys::raft_key(shard, record), std::move(value));
}

void write_batch::delete_raft(uint32_t shard, raft_record record) {
  impl_->del(table::raft, keys::raft_key(shard, record));
}

void write_batch::put_raft_entry(uint32_t shard, uint64_t index, std::string value) {
  impl_->put_bytes(table::raft, keys::raft_entry_key(shard, index), std::move(value));
}

void write_batch::delete_raft_entries(uint32_t shard, uint64_t from, uint64_t to) {
  // shard | 'e' always has a successor (shard | 'f').
  auto end = to == 0 ? *keys::prefix_successor(keys::raft_entries_prefix(shard))
                     : keys::raft_entry_key(shard, to);
  impl_->range_del(table::raft, keys::raft_entry_key(shard, from), std::move(end));
}

void write_batch::put_stage(uint32_t shard, uint64_t stream, uint8_t table_tag,
                            std::string_view key, std::string value) {
  if (!keys::is_data_table(table_tag)) {
    if (impl_->error.empty()) impl_->error = "put_stage names table " + std::to_string(table_tag);
    return;
  }
  auto k = keys::raft_stage_prefix(shard, stream);
  k.push_back(static_cast<char>(table_tag));
  k.append(key);
  impl_->put_bytes(table::raft, std::move(k), std::move(value));
}

void write_batch::put_stage_complete(uint32_t shard, uint64_t stream, uint64_t applied_index) {
  auto k = keys::raft_stage_prefix(shard, stream);
  k.push_back(keys::raft_stage_complete_tag);
  std::string v;
  keys::put_u64(&v, applied_index);
  impl_->put_bytes(table::raft, std::move(k), std::move(v));
}

void write_batch::delete_stage(uint32_t shard, uint64_t stream) {
  auto prefix = keys::raft_stage_prefix(shard, stream);
  auto end = stream == UINT64_MAX ? *keys::prefix_successor(keys::raft_stages_prefix(shard))
                                  : keys::raft_stage_prefix(shard, stream + 1);
  impl_->range_del(table::raft, std::move(prefix), std::move(end));
}

void write_batch::delete_stages_except(uint32_t shard, uint64_t keep) {
  // shard | 'g' always has a successor (shard | 'h').
  auto all_end = *keys::prefix_successor(keys::raft_stages_prefix(shard));
  if (keep == 0) {
    impl_->range_del(table::raft, keys::raft_stages_prefix(shard), std::move(all_end));
    return;
  }
  impl_->range_del(table::raft, keys::raft_stages_prefix(shard), keys::raft_stage_prefix(shard, keep));
  if (keep != UINT64_MAX)
    impl_->range_del(table::raft, keys::raft_stage_prefix(shard, keep + 1), std::move(all_end));
}

void write_batch::delete_shard_data(uint32_t shard) {
  auto prefix = keys::shard_prefix(shard);
  auto upper = keys::prefix_successor(prefix);
  if (!upper) {  // shard 0xFFFFFFFF: never a shard (shard < num_shards <= 0xFFFFFFFF)
    if (impl_->error.empty()) impl_->error = "shard 4294967295 does not exist";
    return;
  }
  for (auto t : keys::data_tables) impl_->range_del(t, prefix, *upper);
}

std::optional<std::string> store::get_raft(uint32_t shard, raft_record record, status* st) const {
  status local;
  auto v = impl_->get(table::raft, keys::raft_key(shard, record), &local);
  if (st != nullptr) *st = local;
  return v;
}

status store::scan_raft_entries(
  uint32_t shard, const std::function<bool(uint64_t, std::string_view)>& fn) const {
  status bad;
  auto st = impl_->scan(table::raft, keys::raft_entries_prefix(shard),
                        [&](std::string_view key, std::string_view value) {
                          auto index = keys::raft_entry_index(shard, key);
                          if (!index) {
                            bad = status::error("corrupt raft entry key in shard " +
                                                std::to_string(shard));
                            return false;
                          }
                          return fn(*index, value);
                        });
  if (!st.ok()) return st;
  return bad;
}

bool store::has_raft_state(uint32_t shard, status* st) const {
  bool found = false;
  auto s = impl_->scan(table::raft, keys::shard_prefix(shard), [&](std::string_view, std::string_view) {
    found = true;
    return false;
  });
  if (st != nullptr) *st = s;
  return s.ok() && found;
}

bool store::holds_shard_copy(uint32_t shard, status* st) const {
  const auto term = keys::raft_key(shard, raft_record::term);
  const auto vote = keys::raft_key(shard, raft_record::vote);
  const auto prefix = keys::shard_prefix(shard);
  bool found = false;
  auto s = impl_->scan(table::raft, prefix, [&](std::string_view key, std::string_view) {
    found = key != term && key != vote;
    return !found;
  });
  for (auto t : keys::data_tables) {
    if (!s.ok() || found) break;
    s = impl_->scan(t, prefix, [&](std::string_view, std::string_view) {
      found = true;
      return false;
    });
  }
  if (st != nullptr) *st = s;
  return s.ok() && (found || has_stage_files(shard));
}

status store::drop_shard_copy(uint32_t shard) {
  write_batch b;
  b.delete_shard_data(shard);
  b.delete_raft_entries(shard, 0);
  for (auto r : {raft_record::snapshot_meta, raft_record::snapshot_data, raft_record::applied_index})
    b.delete_raft(shard, r);
  b.delete_stages_except(shard, 0);
  if (auto s = write_synced(b); !s.ok()) return s;
  return remove_stage_files_except(shard, 0);
}

struct store::read_view {
  explicit read_view(rocksdb::DB* db) : snap(db) {}
  mutable rocksdb::ManagedSnapshot snap;  // snapshot() is not const in RocksDB 7.8
};

namespace {

// Reads at `view`, bounded above by the shard's keys (the iterators stop at its last key).
struct shard_read {
  shard_read(const rocksdb::Snapshot* snap, uint32_t shard)
      : prefix(keys::shard_prefix(shard)), upper(keys::prefix_successor(prefix)) {
    ro.snapshot = snap;
    if (upper) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
  }
  shard_read(const shard_read&) = delete;
  shard_read& operator=(const shard_read&) = delete;
  std::string prefix;
  std::optional<std::string> upper;
  rocksdb::Slice upper_slice;
  rocksdb::ReadOptions ro;
};

}  // namespace

std::shared_ptr<const store::read_view> store::hold_view() const {
  return std::make_shared<const read_view>(impl_->db.get());
}

status store::read_shard(uint32_t shard, uint64_t* applied_index,
                         const std::function<bool(uint8_t, std::string_view, std::string_view)>& fn) const {
  auto view = hold_view();
  if (auto st = applied_index_at(*view, shard, applied_index); !st.ok()) return st;
  shard_read r(view->snap.snapshot(), shard);
  for (auto t : keys::data_tables) {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(r.ro, impl_->cf(t)));
    for (it->Seek(r.prefix); it->Valid() && it->key().starts_with(r.prefix); it->Next()) {
      if (!fn(static_cast<uint8_t>(t), it->key().ToStringView(), it->value().ToStringView()))
        return {};
    }
    if (!it->status().ok())
      return status::error(std::string("RocksDB scan of ") + keys::table_name(t) + " failed: " +
                           it->status().ToString());
  }
  return {};
}

status store::applied_index_at(const read_view& view, uint32_t shard, uint64_t* out) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = view.snap.snapshot();
  std::string value;
  auto s = impl_->db->Get(ro, impl_->cf(table::raft),
                          keys::raft_key(shard, raft_record::applied_index), &value);
  if (s.IsNotFound()) {
    *out = 0;
    return {};
  }
  if (!s.ok())
    return status::error("RocksDB read of shard " + std::to_string(shard) +
                         "'s applied index failed: " + s.ToString());
  auto v = keys::decode_u64(value);
  if (!v) return status::error("corrupt applied index of shard " + std::to_string(shard));
  *out = *v;
  return {};
}

status store::read_chunk(const read_view& view, uint32_t shard, uint32_t table_index,
                         const std::string& after_key, size_t max_bytes,
                         pb::HandoffChunk* out) const {
  out->Clear();
  constexpr uint32_t count = sizeof(keys::data_tables) / sizeof(keys::data_tables[0]);
  if (table_index >= count)
    return status::error("snapshot chunk names unknown table " + std::to_string(table_index));
  shard_read r(view.snap.snapshot(), shard);
  const auto& prefix = r.prefix;
  size_t bytes = 0;
  for (uint32_t ti = table_index; ti < count; ++ti) {
    const auto t = keys::data_tables[ti];
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(r.ro, impl_->cf(t)));
    const bool resume = ti == table_index && !after_key.empty();
    it->Seek(resume ? after_key : prefix);
    if (resume && it->Valid() && it->key() == after_key) it->Next();
    for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (bytes >= max_bytes) {  // more to come: the next chunk starts after the last entry
        out->set_next_table(static_cast<uint32_t>(out->entries(out->entries_size() - 1).table()));
        out->set_next_after_key(out->entries(out->entries_size() - 1).key());
        return {};
      }
      auto* e = out->add_entries();
      e->set_table(ti);
      e->set_key(it->key().ToString());
      e->set_value(it->value().ToString());
      bytes += it->key().size() + it->value().size();
    }
    if (!it->status().ok())
      return status::error(std::string("RocksDB scan of ") + keys::table_name(t) + " failed: " +
                           it->status().ToString());
  }
  out->set_done(true);
  return {};
}

status store::scan_stage(uint32_t shard, uint64_t stream, std::optional<uint64_t>* complete,
                         const std::function<bool(uint8_t, std::string_view, std::string_view)>& fn) const {
  const auto prefix = keys::raft_stage_prefix(shard, stream);
  complete->reset();
  status st;
  if (auto marker = impl_->get(table::raft, prefix + keys::raft_stage_complete_tag, &st)) {
    *complete = keys::decode_u64(*marker);
    if (!*complete) return status::error("corrupt stage marker in shard " + std::to_string(shard));
  }
  if (!st.ok() || !fn) return st;
  status bad;
  st = impl_->scan(table::raft, prefix, [&](std::string_view key, std::string_view value) {
    auto rest = key.substr(prefix.size());
    if (rest.size() == 1 && rest[0] == keys::raft_stage_complete_tag) return false;  // sorts last
    if (rest.empty() || !keys::is_data_table(static_cast<uint8_t>(rest[0]))) {
      bad = status::error("corrupt staged key in shard " + std::to_string(shard));
      return false;
    }
    return fn(static_cast<uint8_t>(rest[0]), rest.substr(1), value);
  });
  if (!st.ok()) return st;
  return bad;
}

}  // namespace chronicle::storage
