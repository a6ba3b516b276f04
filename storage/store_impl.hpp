// The RocksDB side of store and write_batch: shared by the .cpp files of storage/ only (never
// include elsewhere).
#pragma once

#include <random>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/write_buffer_manager.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/keys.hpp"
#include "storage/store.hpp"

namespace chronicle::storage {

using keys::table;

// merge: a run counter's delta (i64, keys::count_key), added by the visibility table's merge
// operator (counter_add in store.cpp).
enum class op_kind : uint8_t { put = 1, del = 2, single_del = 3, range_del = 4, merge = 5 };

// write_batch: records operations; store::write turns them into one rocksdb::WriteBatch.
struct write_batch::impl {
  struct op {
    table cf;
    op_kind kind;
    std::string key;    // range_del: the first key deleted
    std::string value;  // put: the value; range_del: the end of the range (exclusive)
  };
  std::vector<op> ops;
  std::string error;  // first serialization failure, reported by store::write

  impl() { ops.reserve(16); }  // a transition's records, without regrowing

  std::string serialize(const google::protobuf::MessageLite& msg) {
    std::string value;
    if (!msg.SerializeToString(&value) && error.empty())
      error = std::string("cannot serialize ") + msg.GetTypeName();
    return value;
  }
  void put(table cf, std::string key, const google::protobuf::MessageLite& msg) {
    put_bytes(cf, std::move(key), serialize(msg));
  }
  void put_bytes(table cf, std::string key, std::string value) {
    ops.push_back({cf, op_kind::put, std::move(key), std::move(value)});
  }
  void del(table cf, std::string key) { ops.push_back({cf, op_kind::del, std::move(key), {}}); }
  // A delete of a key put exactly once (SingleDelete).
  void single_del(table cf, std::string key) {
    ops.push_back({cf, op_kind::single_del, std::move(key), {}});
  }
  // Adds `delta` to a run counter (keys::count_key, type_count_key).
  void add_count(std::string key, int64_t delta) {
    std::string value;
    keys::put_u64(&value, static_cast<uint64_t>(delta));
    ops.push_back({table::visibility, op_kind::merge, std::move(key), std::move(value)});
  }
  void range_del(table cf, std::string begin, std::string end) {
    ops.push_back({cf, op_kind::range_del, std::move(begin), std::move(end)});
  }
};

struct store::impl {
  std::string path;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // [0, table_count) in `table` order
  std::shared_ptr<rocksdb::Cache> cache;  // the block cache every column family shares
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;  // memtables, charged to `cache`

  ~impl() {
    if (!db) return;
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db->Close();
  }

  [[nodiscard]] rocksdb::ColumnFamilyHandle* cf(table t) const {
    return handles[static_cast<size_t>(t)];
  }

  // Reads a key: nullopt when absent; *st set on error (st never null here).
  std::optional<std::string> get(table t, const std::string& key, status* st) const {
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions(), cf(t), key, &value);
    if (s.IsNotFound()) return std::nullopt;
    if (!s.ok()) {
      *st = status::error(std::string("RocksDB read from ") + keys::table_name(t) +
                          " failed: " + s.ToString());
      return std::nullopt;
    }
    return value;
  }

  // Whether `key` exists (keys::put_once_visibility_key writers ask before they put).
  bool exists(table t, const std::string& key, status* st) const {
    std::string value;
    auto s = db->Get(rocksdb::ReadOptions(), cf(t), key, &value);
    if (s.ok()) return true;
    if (!s.IsNotFound())
      *st = status::error(std::string("RocksDB read from ") + keys::table_name(t) +
                          " failed: " + s.ToString());
    return false;
  }

  // Visits every key starting with `prefix` in key order until fn returns false. Never reads
  // past the prefix (upper bound plus an explicit check).
  status scan(table t, const std::string& prefix,
              const std::function<bool(std::string_view, std::string_view)>& fn) const {
    return scan_at(t, prefix, nullptr, fn);
  }

  // Like scan, but starts at the last key of `prefix` at or before `from` (the record that may
  // hold `from`'s data; the first key of `prefix` when none is).
  status scan_from(table t, const std::string& prefix, const std::string& from,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
    return scan_at(t, prefix, &from, fn);
  }

  // scan (from == nullptr) and scan_from.
  status scan_at(table t, const std::string& prefix, const std::string* from,
                 const std::function<bool(std::string_view, std::string_view)>& fn) const {
    rocksdb::ReadOptions ro;
    auto upper = keys::prefix_successor(prefix);
    rocksdb::Slice upper_slice;
    if (upper) {
      upper_slice = rocksdb::Slice(*upper);
      ro.iterate_upper_bound = &upper_slice;
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf(t)));
    if (from) it->SeekForPrev(*from);
    if (!from || !it->Valid() || !it->key().starts_with(prefix)) it->Seek(prefix);
    for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (!fn(it->key().ToStringView(), it->value().ToStringView())) return {};
    }
    if (!it->status().ok())
      return status::error(std::string("RocksDB scan of ") + keys::table_name(t) +
                           " failed: " + it->status().ToString());
    return {};
  }

  // Visits a shard's records of type Record in key order, stopping at the first that does not
  // parse (reported as an error).
  template <class Record>
  status scan_records(table t, uint32_t shard, const std::function<void(const Record&)>& fn) const {
    return scan_records(t, keys::shard_prefix(shard), std::string(keys::table_name(t)), shard, fn);
  }

  // The same for the records under `prefix` of the shard; `what` names them in the error.
  template <class Record>
  status scan_records(table t, const std::string& prefix, const std::string& what, uint32_t shard,
                      const std::function<void(const Record&)>& fn) const {
    status parse_error;
    auto st = scan(t, prefix, [&](std::string_view, std::string_view value) {
      Record rec;
      if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        parse_error = status::error("corrupt " + what + " record in shard " + std::to_string(shard));
        return false;
      }
      fn(rec);
      return true;
    });
    if (!st.ok()) return st;
    return parse_error;
  }

  // Writes the index entries added since schema `from_version` for every visibility record
  // (storage/visibility.cpp).
  status upgrade_visibility_indexes(uint32_t from_version);
  // Writes the run counters (schema 4) from every visibility record (storage/visibility.cpp).
  status upgrade_visibility_counters();

  // Reads num_shards and schema_version; records them on first open; upgrades schemas 1 and 2.
  // A u64 record of the meta table (0 when absent), and its synced write.
  uint64_t meta_u64(const std::string& key, status* st) const {
    auto v = get(table::meta, key, st);
    if (!st->ok() || !v) return 0;
    auto n = keys::decode_u64(*v);
    return n ? *n : 0;
  }
  status set_meta_u64(const std::string& key, uint64_t value, const std::string& what) {
    std::string bytes;
    keys::put_u64(&bytes, value);
    return set_meta(key, bytes, what);
  }
  status set_meta(const std::string& key, const std::string& bytes, const std::string& what) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto s = db->Put(wo, cf(table::meta), key, bytes);
    if (!s.ok()) return status::error("cannot record " + what + ": " + s.ToString());
    return {};
  }

  // Reads this data dir's incarnation, drawing and recording (synced) one when there is none.
  status ensure_incarnation(uint64_t* out) {
    status st;
    auto have = get(table::meta, std::string(keys::meta_incarnation), &st);
    if (!st.ok()) return st;
    if (have) {
      auto v = keys::decode_u64(*have);
      if (!v || *v == 0) return status::error("data_dir " + path + " has a corrupt incarnation record");
      *out = *v;
      return {};
    }
    std::random_device rd;
    uint64_t inc = 0;
    while (inc == 0) inc = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    std::string bytes;
    keys::put_u64(&bytes, inc);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto s = db->Put(wo, cf(table::meta), std::string(keys::meta_incarnation), bytes);
    if (!s.ok()) return status::error("cannot write meta to RocksDB at " + path + ": " + s.ToString());
    *out = inc;
    return {};
  }

  status check_meta(uint32_t num_shards) {
    status st;
    auto shards = get(table::meta, std::string(keys::meta_num_shards), &st);
    if (!st.ok()) return st;
    auto version = get(table::meta, std::string(keys::meta_schema_version), &st);
    if (!st.ok()) return st;
    if (!shards) {
      rocksdb::WriteBatch wb;
      wb.Put(cf(table::meta), std::string(keys::meta_num_shards), keys::encode_u32(num_shards));
      wb.Put(cf(table::meta), std::string(keys::meta_schema_version),
             keys::encode_u32(keys::schema_version));
      rocksdb::WriteOptions wo;
      wo.sync = true;
      auto s = db->Write(wo, &wb);
      if (!s.ok()) return status::error("cannot write meta to RocksDB at " + path + ": " + s.ToString());
      return {};
    }
    auto recorded = keys::decode_u32(*shards);
    if (!recorded) return status::error("data_dir " + path + " has a corrupt num_shards record");
    if (*recorded != num_shards)
      return status::error("data_dir " + path + " was created with num_shards=" +
                           std::to_string(*recorded) + ", config says " + std::to_string(num_shards));
    auto v = version ? keys::decode_u32(*version) : std::nullopt;
    if (v && *v >= 1 && *v <= 3) {  // schema 2 added 't' and 'i', schema 3 'y', schema 4 'n' 'N'
      auto up = *v < 3 ? upgrade_visibility_indexes(*v) : status{};
      if (up.ok()) up = upgrade_visibility_counters();
      if (!up.ok())
        return status::error("data_dir " + path + ": writing the visibility indexes of schema " +
                             std::to_string(keys::schema_version) + " failed: " + up.message());
      rocksdb::WriteOptions wo;
      wo.sync = true;
      auto s = db->Put(wo, cf(table::meta), std::string(keys::meta_schema_version),
                       keys::encode_u32(keys::schema_version));
      if (!s.ok()) return status::error("cannot write meta to RocksDB at " + path + ": " + s.ToString());
      return {};
    }
    if (!v || *v != keys::schema_version)
      return status::error("data_dir " + path + " has an unsupported schema_version (this build uses " +
                           std::to_string(keys::schema_version) + ")");
    return {};
  }
};

}  // namespace chronicle::storage
