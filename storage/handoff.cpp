// Shard handoff: export a shard's key range chunk by chunk, import it on the new owner, drop it on
// the old one. Keys are copied byte for byte: the layout (storage/keys.hpp) is the same on every node.
#include "storage/store_impl.hpp"

namespace chronicle::storage {

namespace {

// Tables that hold a shard's data (meta, default and raft hold none).
constexpr auto& data_tables = keys::data_tables;
constexpr uint32_t data_table_count = sizeof(data_tables) / sizeof(data_tables[0]);

std::string owner_mark_key(uint32_t shard) { return "owner/" + keys::encode_u32(shard); }

}  // namespace

std::string store::shard_owner_mark(uint32_t shard, status* st) const {
  status s;
  auto v = impl_->get(table::meta, owner_mark_key(shard), &s);
  if (st) *st = s;
  return v.value_or("");
}

status store::set_shard_owner_mark(uint32_t shard, const std::string& membership) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Put(wo, impl_->cf(table::meta), owner_mark_key(shard), membership);
  if (!s.ok()) return status::error("cannot write shard owner mark: " + s.ToString());
  return {};
}

bool store::has_shard_data(uint32_t shard, status* st) const {
  bool found = false;
  for (auto t : data_tables) {
    auto s = impl_->scan(t, keys::shard_prefix(shard), [&](std::string_view, std::string_view) {
      found = true;
      return false;
    });
    if (!s.ok()) {
      if (st) *st = s;
      return false;
    }
    if (found) break;
  }
  if (st) *st = {};
  return found;
}

status store::export_chunk(uint32_t shard, uint32_t table_index, const std::string& after_key,
                           size_t max_bytes, pb::HandoffChunk* out) const {
  status st;
  const bool has_data = has_shard_data(shard, &st);
  if (!st.ok()) return st;
  // The same walk a replica's snapshot stream makes (raft_records.cpp), at a view of now.
  st = read_chunk(*hold_view(), shard, table_index, after_key, max_bytes, out);
  out->set_has_data(has_data);
  return st;
}

status store::import_chunk(uint32_t shard, const pb::HandoffChunk& chunk) {
  auto prefix = keys::shard_prefix(shard);
  rocksdb::WriteBatch wb;
  for (auto& e : chunk.entries()) {
    if (e.table() >= data_table_count)
      return status::error("handoff entry names unknown table " + std::to_string(e.table()));
    if (e.key().compare(0, prefix.size(), prefix) != 0)
      return status::error("handoff entry belongs to another shard");
    const auto t = data_tables[e.table()];
    if (t == table::visibility && keys::put_once_visibility_key(e.key())) {
      status st;  // a chunk imported again: the entry must not be put twice (SingleDelete)
      if (impl_->exists(t, e.key(), &st)) continue;
      if (!st.ok()) return st;
    }
    wb.Put(impl_->cf(t), e.key(), e.value());
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &wb);
  if (!s.ok()) return status::error("cannot write handoff chunk: " + s.ToString());
  return {};
}

status store::drop_shard(uint32_t shard) {
  auto prefix = keys::shard_prefix(shard);
  auto upper = keys::prefix_successor(prefix);
  rocksdb::WriteBatch wb;
  for (auto t : data_tables) {
    if (upper) {
      wb.DeleteRange(impl_->cf(t), prefix, *upper);
    } else {  // the last shard ID: delete key by key
      auto s = impl_->scan(t, prefix, [&](std::string_view k, std::string_view) {
        wb.Delete(impl_->cf(t), rocksdb::Slice(k.data(), k.size()));
        return true;
      });
      if (!s.ok()) return s;
    }
  }
  wb.Delete(impl_->cf(table::meta), owner_mark_key(shard));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &wb);
  if (!s.ok()) return status::error("cannot drop shard " + std::to_string(shard) + ": " + s.ToString());
  return {};
}

}  // namespace chronicle::storage
