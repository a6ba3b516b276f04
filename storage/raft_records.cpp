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

status store::read_shard(uint32_t shard, uint64_t* applied_index,
                         const std::function<bool(uint8_t, std::string_view, std::string_view)>& fn) const {
  auto& db = *impl_->db;
  rocksdb::ManagedSnapshot snap(&db);
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  std::string value;
  auto s = db.Get(ro, impl_->cf(table::raft), keys::raft_key(shard, raft_record::applied_index), &value);
  if (s.IsNotFound()) {
    *applied_index = 0;
  } else if (!s.ok()) {
    return status::error("RocksDB read of shard " + std::to_string(shard) +
                         "'s applied index failed: " + s.ToString());
  } else {
    auto v = keys::decode_u64(value);
    if (!v) return status::error("corrupt applied index of shard " + std::to_string(shard));
    *applied_index = *v;
  }
  const auto prefix = keys::shard_prefix(shard);
  const auto upper = keys::prefix_successor(prefix);
  rocksdb::Slice upper_slice;
  if (upper) {
    upper_slice = rocksdb::Slice(*upper);
    ro.iterate_upper_bound = &upper_slice;
  }
  for (auto t : keys::data_tables) {
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(ro, impl_->cf(t)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (!fn(static_cast<uint8_t>(t), it->key().ToStringView(), it->value().ToStringView()))
        return {};
    }
    if (!it->status().ok())
      return status::error(std::string("RocksDB scan of ") + keys::table_name(t) + " failed: " +
                           it->status().ToString());
  }
  return {};
}

}  // namespace chronicle::storage
