// store and write_batch over one RocksDB database. Key layout: storage/keys.hpp.
//
// Thread safety: every const member function and write() may be called concurrently; the only
// state is the rocksdb::DB and its column family handles, which RocksDB makes thread-safe.
#include "storage/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string_view>

#include "protocol/ab_switch.hpp"
#include "storage/committer.hpp"
#include "storage/keys.hpp"
#include <rocksdb/merge_operator.h>

#include "storage/counter_merge.hpp"
#include "storage/store_impl.hpp"

namespace chronicle::storage {

namespace fs = std::filesystem;
using keys::table;

namespace {

void set_status(status* st, status value) {
  if (st != nullptr) *st = std::move(value);
}

std::string run_name(const run_key& run) {
  return "shard " + std::to_string(run.shard) + " " + run.ns + "/" + run.workflow_id + "/" +
         run.run_id;
}

// Creates `path` if needed and checks that files can be created in it.
status check_writable(const std::string& path) {
  const std::string prefix = "data_dir " + path + " is not writable: ";
  if (path.empty()) return status::error("data_dir is empty");
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return status::error(prefix + ec.message());
  if (!fs::is_directory(path, ec)) return status::error(prefix + "not a directory");
  const std::string probe = (fs::path(path) / ".chronicle-write-probe").string();
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return status::error(prefix + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

// Memory: one budget for the whole database instead of one per column family (7 x 16 MB x 3
// memtables and 7 default 8 MB block caches before, plus index and filter blocks held by every
// open table outside any limit). The block cache holds data, index and filter blocks of every
// column family; the memtables of every column family are charged to the same cache by the
// write buffer manager, which flushes the oldest memtable when they reach their share. So
// RocksDB's memory is about block_cache_bytes, whatever the number of runs stored.
constexpr size_t block_cache_bytes = size_t{128} << 20;
constexpr size_t memtable_budget_bytes = size_t{64} << 20;  // part of the block cache's bytes

// The memory shared by every column family of one database (kept alive by the options too).
struct shared_memory {
  // 16 shards of 8 MB (the default, 64 of 2 MB, is too small for one file's metadata blocks).
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(block_cache_bytes, 4);
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers =
    std::make_shared<rocksdb::WriteBufferManager>(memtable_budget_bytes, cache);
};

// The memtable's insert hint prefix of a table (keys::insert_hint_prefix_length): with it an insert
// starts its skip-list search from where the last key with the same prefix went (profiled at
// C=64: without hints the skip list's search was the largest single cost of the committer).
class insert_hint_prefix final : public rocksdb::SliceTransform {
 public:
  explicit insert_hint_prefix(table t)
      : table_(t), name_(std::string("chronicle.InsertHint.") + keys::table_name(t)) {}
  const char* Name() const override { return name_.c_str(); }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), keys::insert_hint_prefix_length(table_, {key.data(), key.size()})};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return keys::insert_hint_prefix_length(table_, {key.data(), key.size()}) > 0;
  }

 private:
  table table_;
  std::string name_;
};

// The run counters of the visibility table (keys::count_key): an i64 as 8 bytes big-endian
// (keys::put_u64 of its two's complement), a merge operand is a delta of the same form; a value
// of any other size reads as 0 (never written by us).
class counter_add final : public rocksdb::AssociativeMergeOperator {
 public:
  const char* Name() const override { return "chronicle.CounterAdd"; }
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    auto read = [](const rocksdb::Slice& s) -> int64_t {
      auto v = keys::decode_u64({s.data(), s.size()});
      return v ? static_cast<int64_t>(*v) : 0;
    };
    int64_t sum = read(value) + (existing ? read(*existing) : 0);
    new_value->clear();
    keys::put_u64(new_value, static_cast<uint64_t>(sum));
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> counter_merge_operator() {
  return std::make_shared<counter_add>();
}

namespace {

// `point_lookups`: the table is read by key (executions: mutable state and current run), so its
// files get a bloom filter (10 bits per key, ~1% false positives); the others are only scanned.
// `block_size`: 16 KB for visibility, whose lists read long ranges (a quarter of the per-block
// work of 4 KB blocks), the default 4 KB elsewhere.
rocksdb::ColumnFamilyOptions cf_options(const shared_memory& mem, std::optional<table> hinted,
                                        bool point_lookups, size_t block_size = 4096) {
  rocksdb::ColumnFamilyOptions o;
  if (hinted)  // tables without hints: no key is in the extractor's domain
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<insert_hint_prefix>(*hinted);
  // Per column family: a memtable is flushed at 16 MB (or earlier, when the shared budget is
  // reached); up to 3 so that writes go on while one is flushed.
  o.write_buffer_size = 16 << 20;
  o.max_write_buffer_number = 3;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = mem.cache;
  t.block_size = block_size;
  t.cache_index_and_filter_blocks = true;  // charged to the cache, not held per open file
  t.cache_index_and_filter_blocks_with_high_priority = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;  // L0 files are read most; stay cached
  // Partitioned index (and filters): a 64 MB file's index is about 1 MB, which a seek read and
  // copied again whenever the cache had evicted it (2-3 ms per list of 16 shards at 1 M runs);
  // its 4 KB partitions are cached like data blocks, the small top level stays pinned.
  t.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  t.metadata_block_size = 4096;
  t.pin_top_level_index_and_filter = true;
  if (point_lookups) {
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.optimize_filters_for_memory = true;
    t.partition_filters = true;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

rocksdb::DBOptions db_options(const shared_memory& mem) {
  rocksdb::DBOptions o;
  o.write_buffer_manager = mem.write_buffers;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.max_background_jobs = 2;
  o.keep_log_file_num = 5;
  o.max_log_file_size = 16 << 20;
  return o;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// write_batch: records operations; store::write turns them into one rocksdb::WriteBatch.

// write_batch::impl is in storage/store_impl.hpp (shared with batch_bytes.cpp, raft_records.cpp).

write_batch::write_batch() : impl_(std::make_unique<impl>()) {}
write_batch::~write_batch() = default;
write_batch::write_batch(write_batch&&) noexcept = default;
write_batch& write_batch::operator=(write_batch&&) noexcept = default;

void write_batch::append_history(const run_key& run, const std::vector<pb::HistoryEvent>& events) {
  if (events.empty()) return;
  pb::HistoryBatch batch;
  batch.mutable_events()->Reserve(static_cast<int>(events.size()));
  for (const auto& e : events) *batch.add_events() = e;
  impl_->put(table::history, keys::history_key(run, events.front().event_id()), batch);
}

void write_batch::put_state(const run_key& run, const pb::MutableState& state) {
  impl_->put(table::executions, keys::state_key(run), state);
}

void write_batch::put_current(uint32_t shard, const std::string& ns,
                              const std::string& workflow_id, const pb::CurrentRun& current) {
  impl_->put(table::executions, keys::current_key(shard, ns, workflow_id), current);
}

void write_batch::put_timer(uint32_t shard, const pb::TimerRecord& timer) {
  impl_->put(table::timers, keys::timer_key(shard, timer), timer);
}

void write_batch::delete_timer(uint32_t shard, const pb::TimerRecord& timer) {
  impl_->del(table::timers, keys::timer_key(shard, timer));
}

void write_batch::put_transfer(uint32_t shard, const pb::TransferRecord& transfer) {
  impl_->put(table::transfers, keys::transfer_key(shard, transfer), transfer);
}

void write_batch::delete_transfer(uint32_t shard, const pb::TransferRecord& transfer) {
  impl_->del(table::transfers, keys::transfer_key(shard, transfer));
}

void write_batch::put_visibility(uint32_t shard, const pb::WorkflowExecutionInfo& info,
                                 pb::WorkflowExecutionStatus previous,
                                 const pb::WorkflowExecutionInfo* before) {
  // Every index holds the same record: serialized once.
  const std::string value = impl_->serialize(info);
  impl_->put_bytes(table::visibility, keys::visibility_key(shard, info), value);
  if (previous != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && previous != info.status()) {
    auto old = info;
    old.set_status(previous);
    // Written once when the run started and never again (import_chunk and the schema upgrade
    // do not write a key twice either): a SingleDelete, which vanishes with the Put at the next
    // flush or compaction that sees both. A plain Delete would leave a tombstone in the Running
    // range of both indexes for every short run, which lists with status Running then skip.
    impl_->single_del(table::visibility, keys::status_visibility_key(shard, old));
    impl_->single_del(table::visibility, keys::type_status_visibility_key(shard, old));
  } else if (previous == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && before != nullptr) {
    // A rewrite under the same status (an upsert): the per-status entries are put again under
    // the same keys. Each Put of such a key must meet exactly one SingleDelete, so the one put
    // before goes first; otherwise the close's SingleDelete would meet only the newer Put and the
    // older one, in an earlier file, would list the closed run as Running again.
    impl_->single_del(table::visibility, keys::status_visibility_key(shard, info));
    impl_->single_del(table::visibility, keys::type_status_visibility_key(shard, info));
  }
  // The run counters: a new record counts once under its status, a status change moves it.
  // A rewrite under the same status (an upsert: `before` given) changes none.
  const auto& ns = info.namespace_();
  if (previous != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && previous != info.status()) {
    impl_->add_count(keys::count_key(shard, ns, previous), -1);
    impl_->add_count(keys::type_count_key(shard, ns, info.workflow_type(), previous), -1);
  }
  if ((previous == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && before == nullptr) ||
      (previous != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && previous != info.status())) {
    impl_->add_count(keys::count_key(shard, ns, info.status()), 1);
    impl_->add_count(keys::type_count_key(shard, ns, info.workflow_type(), info.status()), 1);
  }
  impl_->put_bytes(table::visibility, keys::status_visibility_key(shard, info), value);
  impl_->put_bytes(table::visibility, keys::type_status_visibility_key(shard, info), value);
  impl_->put_bytes(table::visibility, keys::type_visibility_key(shard, info), value);
  impl_->put_bytes(table::visibility, keys::id_visibility_key(shard, info), value);
  put_attribute_entries(shard, info, value, before,
                        previous == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && before == nullptr);
}

void write_batch::put_attribute_entries(uint32_t shard, const pb::WorkflowExecutionInfo& info,
                                        const std::string& value,
                                        const pb::WorkflowExecutionInfo* before, bool is_new) {
  auto now = keys::attribute_visibility_keys(shard, info);  // sorted, no key twice
  const auto suffix_size = now.empty() ? 0 : keys::visibility_suffix(info).size();
  // The per-value run counters: every value of a new record, the values an upsert added or
  // removed.
  std::vector<std::string> old;
  if (before) old = keys::attribute_visibility_keys(shard, *before);
  for (auto& k : old)
    if (!std::binary_search(now.begin(), now.end(), k)) {
      impl_->add_count(keys::attribute_count_key(k, keys::visibility_suffix(*before).size()), -1);
      impl_->del(table::visibility, std::move(k));  // a value the upsert replaced or removed
    }
  for (auto& k : now) {
    if (is_new || (before && !std::binary_search(old.begin(), old.end(), k)))
      impl_->add_count(keys::attribute_count_key(k, suffix_size), 1);
    impl_->put_bytes(table::visibility, std::move(k), value);
  }
}

void write_batch::delete_visibility(uint32_t shard, const pb::WorkflowExecutionInfo& info) {
  impl_->add_count(keys::count_key(shard, info.namespace_(), info.status()), -1);
  impl_->add_count(keys::type_count_key(shard, info.namespace_(), info.workflow_type(), info.status()), -1);
  impl_->del(table::visibility, keys::visibility_key(shard, info));
  impl_->del(table::visibility, keys::status_visibility_key(shard, info));
  impl_->del(table::visibility, keys::type_visibility_key(shard, info));
  impl_->del(table::visibility, keys::type_status_visibility_key(shard, info));
  impl_->del(table::visibility, keys::id_visibility_key(shard, info));
  const auto suffix_size = keys::visibility_suffix(info).size();
  for (auto& k : keys::attribute_visibility_keys(shard, info)) {
    impl_->add_count(keys::attribute_count_key(k, suffix_size), -1);
    impl_->del(table::visibility, std::move(k));
  }
}

void write_batch::put_retention(uint32_t shard, int64_t delete_at_ms,
                                const pb::WorkflowExecutionInfo& info) {
  impl_->put(table::visibility, keys::retention_key(shard, delete_at_ms, info), info);
}

void write_batch::delete_retention(uint32_t shard, int64_t delete_at_ms,
                                   const pb::WorkflowExecutionInfo& info) {
  impl_->del(table::visibility, keys::retention_key(shard, delete_at_ms, info));
}

void write_batch::delete_state(const run_key& run) {
  impl_->del(table::executions, keys::state_key(run));
}

void write_batch::delete_current(uint32_t shard, const std::string& ns,
                                 const std::string& workflow_id) {
  impl_->del(table::executions, keys::current_key(shard, ns, workflow_id));
}

bool write_batch::empty() const { return impl_->ops.empty(); }

const std::string& write_batch::serialization_error() const { return impl_->error; }

// ---------------------------------------------------------------------------------------------
// store

// store::impl is in storage/store_impl.hpp (shared with storage/handoff.cpp).

store::store() = default;

store::~store() {
  committer_.reset();  // writes what is queued while the database is still open
}

std::unique_ptr<store> store::open(const std::string& path, uint32_t num_shards, durability mode,
                                   status* st) {
  if (num_shards == 0) {
    set_status(st, status::error("num_shards must be at least 1"));
    return nullptr;
  }
  if (auto w = check_writable(path); !w.ok()) {
    set_status(st, w);
    return nullptr;
  }
  const shared_memory mem;
  const auto options = db_options(mem);
  // Open every column family the database has (a newer build may have added some) plus ours.
  std::vector<std::string> existing;
  (void)rocksdb::DB::ListColumnFamilies(options, path, &existing);  // fails on a new database
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < keys::table_count; ++i) {
    auto t = static_cast<table>(i);
    descriptors.emplace_back(keys::table_name(t), cf_options(mem, t, t == table::executions,
                                                             t == table::visibility ? 16384 : 4096));
    if (t == table::visibility) descriptors.back().options.merge_operator = counter_merge_operator();
    if (t == table::raft && !ab::on("CHRONICLE_RAFT_COMPRESSION"))
      descriptors.back().options.compression = rocksdb::kNoCompression;
  }
  for (const auto& name : existing) {
    bool known = false;
    for (const auto& d : descriptors) known = known || d.name == name;
    if (!known) descriptors.emplace_back(name, cf_options(mem, std::nullopt, false));
  }

  auto s = std::unique_ptr<store>(new store());  // private constructor: make_unique cannot reach it
  s->impl_ = std::make_unique<impl>();
  s->impl_->path = path;
  rocksdb::DB* raw = nullptr;
  auto rs = rocksdb::DB::Open(options, path, descriptors, &s->impl_->handles, &raw);
  if (!rs.ok()) {
    set_status(st, status::error("cannot open RocksDB at " + path + ": " + rs.ToString()));
    return nullptr;
  }
  s->impl_->db.reset(raw);
  s->impl_->cache = mem.cache;
  s->impl_->write_buffers = mem.write_buffers;
  if (auto m = s->impl_->check_meta(num_shards); !m.ok()) {
    set_status(st, m);
    return nullptr;
  }
  s->num_shards_ = num_shards;
  s->mode_ = mode;
  if (auto inc = s->impl_->ensure_incarnation(&s->incarnation_); !inc.ok()) {
    set_status(st, inc);
    return nullptr;
  }
  s->committer_ = std::make_unique<committer>(
    [raw_store = s.get()](std::vector<write_batch*>& batches) { return raw_store->write_group(batches); });
  set_status(st, {});
  return s;
}

status store::write(write_batch& batch) { return write_group({&batch}); }

status store::write_group(const std::vector<write_batch*>& batches) {
  return write_batches(batches, mode_ == durability::fsync);
}

status store::write_synced(write_batch& batch) { return write_batches({&batch}, true); }

status store::write_unsynced(write_batch& batch) { return write_batches({&batch}, false); }

status store::write_batches(const std::vector<write_batch*>& batches, bool sync) {
  rocksdb::WriteBatch wb;
  for (const auto* batch : batches) {
    const auto& b = *batch->impl_;
    if (!b.error.empty()) return status::error(b.error);
    for (const auto& op : b.ops) {
      rocksdb::Status rs;
      switch (op.kind) {
        case op_kind::put: rs = wb.Put(impl_->cf(op.cf), op.key, op.value); break;
        case op_kind::del: rs = wb.Delete(impl_->cf(op.cf), op.key); break;
        case op_kind::single_del: rs = wb.SingleDelete(impl_->cf(op.cf), op.key); break;
        case op_kind::range_del: rs = wb.DeleteRange(impl_->cf(op.cf), op.key, op.value); break;
        case op_kind::merge: rs = wb.Merge(impl_->cf(op.cf), op.key, op.value); break;
      }
      if (!rs.ok()) return status::error("cannot build RocksDB write batch: " + rs.ToString());
    }
  }
  if (wb.Count() == 0) return {};
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto started = std::chrono::steady_clock::now();
  auto rs = impl_->db->Write(wo, &wb);
  if (observer_) observer_(std::chrono::steady_clock::now() - started, batches.size(), sync);
  if (!rs.ok()) return status::error("RocksDB write failed: " + rs.ToString());
  return {};
}

void store::write_async(write_batch batch, std::function<void(const status&)> done) {
  committer_->submit(std::move(batch), std::move(done));
}

void store::write_async(write_batch batch, std::function<void(const status&)> done,
                        committer_chain chain) {
  committer_->submit(std::move(batch), std::move(done), std::move(chain));
}

void store::drain_async_writes() { committer_->drain(); }

status store::read_history(const run_key& run, std::vector<pb::HistoryEvent>* out) const {
  out->clear();
  status parse_error;
  auto st = impl_->scan(table::history, keys::history_prefix(run),
                        [&](std::string_view, std::string_view value) {
                          pb::HistoryBatch batch;
                          if (!batch.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                            parse_error = status::error("corrupt history batch of " + run_name(run));
                            return false;
                          }
                          for (auto& e : *batch.mutable_events()) out->push_back(std::move(e));
                          return true;
                        });
  if (!st.ok()) return st;
  return parse_error;
}

status store::read_history_after(const run_key& run, int64_t after_event_id,
                                 std::vector<pb::HistoryEvent>* out) const {
  out->clear();
  status parse_error;
  auto st = impl_->scan_from(table::history, keys::history_prefix(run),
                             keys::history_key(run, after_event_id + 1),
                             [&](std::string_view, std::string_view value) {
                               pb::HistoryBatch batch;
                               if (!batch.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                                 parse_error = status::error("corrupt history batch of " + run_name(run));
                                 return false;
                               }
                               for (auto& e : *batch.mutable_events())
                                 if (e.event_id() > after_event_id) out->push_back(std::move(e));
                               return true;
                             });
  if (!st.ok()) return st;
  return parse_error;
}

std::optional<pb::MutableState> store::load_state(const run_key& run, status* st) const {
  status local;
  auto value = impl_->get(table::executions, keys::state_key(run), &local);
  std::optional<pb::MutableState> result;
  if (local.ok() && value) {
    result.emplace();
    if (!result->ParseFromString(*value)) {
      result.reset();
      local = status::error("corrupt mutable state of " + run_name(run));
    }
  }
  set_status(st, local);
  return result;
}

std::optional<pb::CurrentRun> store::load_current(uint32_t shard, const std::string& ns,
                                                  const std::string& workflow_id,
                                                  status* st) const {
  status local;
  auto value = impl_->get(table::executions, keys::current_key(shard, ns, workflow_id), &local);
  std::optional<pb::CurrentRun> result;
  if (local.ok() && value) {
    result.emplace();
    if (!result->ParseFromString(*value)) {
      result.reset();
      local = status::error("corrupt current-run record of shard " + std::to_string(shard) + " " +
                            ns + "/" + workflow_id);
    }
  }
  set_status(st, local);
  return result;
}

status store::scan_timers(uint32_t shard,
                          const std::function<void(const pb::TimerRecord&)>& fn) const {
  return impl_->scan_records(table::timers, shard, fn);
}

status store::scan_transfers(uint32_t shard,
                             const std::function<void(const pb::TransferRecord&)>& fn) const {
  return impl_->scan_records(table::transfers, shard, fn);
}

// store::list_visibility and store::scan_visibility are in storage/visibility.cpp.

store::memory store::memory_usage() const {
  memory m;
  m.block_cache_capacity = impl_->cache->GetCapacity();
  m.block_cache_bytes = impl_->cache->GetUsage();
  m.memtable_budget = impl_->write_buffers->buffer_size();
  uint64_t memtables = 0;  // active, immutable and pinned memtables of every column family
  if (impl_->db->GetAggregatedIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &memtables))
    m.memtable_bytes = memtables;
  uint64_t readers = 0;
  if (impl_->db->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimateTableReadersMem, &readers))
    m.table_readers_bytes = readers;
  return m;
}

status store::scan_expired(
  uint32_t shard, int64_t now_ms, size_t limit,
  const std::function<void(int64_t, const pb::WorkflowExecutionInfo&)>& fn) const {
  const auto prefix = keys::retention_prefix(shard);
  size_t seen = 0;
  status parse_error;
  auto st = impl_->scan(table::visibility, prefix, [&](std::string_view key, std::string_view value) {
    if (key.size() < prefix.size() + 8 || seen >= limit) return false;
    uint64_t at = 0;
    for (size_t i = 0; i < 8; ++i) at = (at << 8) | static_cast<uint8_t>(key[prefix.size() + i]);
    if (static_cast<int64_t>(at) > now_ms) return false;
    pb::WorkflowExecutionInfo info;
    if (!info.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parse_error = status::error("corrupt retention record in shard " + std::to_string(shard));
      return false;
    }
    ++seen;
    fn(static_cast<int64_t>(at), info);
    return true;
  });
  if (!st.ok()) return st;
  return parse_error;
}

status store::delete_history(const run_key& run, write_batch& batch) const {
  return impl_->scan(table::history, keys::history_prefix(run),
                     [&](std::string_view key, std::string_view) {
                       batch.impl_->del(table::history, std::string(key));
                       return true;
                     });
}

status store::count_runs(uint32_t shard, uint64_t* open, uint64_t* closed) const {
  *open = 0;
  *closed = 0;
  status parse_error;
  auto st = impl_->scan(table::executions, keys::shard_prefix(shard) + 'c',
                        [&](std::string_view, std::string_view value) {
                          pb::CurrentRun cur;
                          if (!cur.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                            parse_error = status::error("corrupt current-run record in shard "
                                                        + std::to_string(shard));
                            return false;
                          }
                          if (cur.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING) ++*open;
                          else ++*closed;
                          return true;
                        });
  if (!st.ok()) return st;
  return parse_error;
}

}  // namespace chronicle::storage

namespace chronicle::storage {

uint64_t store::peer_incarnation(const std::string& name, status* st) const {
  return impl_->meta_u64(std::string(keys::meta_peer_incarnation) + name, st);
}

status store::set_peer_incarnation(const std::string& name, uint64_t incarnation) {
  return impl_->set_meta_u64(std::string(keys::meta_peer_incarnation) + name, incarnation,
                        "the incarnation of " + name);
}

uint64_t store::raft_identity(status* st) const {
  return impl_->meta_u64(std::string(keys::meta_raft_identity), st);
}

status store::put_namespace(const std::string& name, const std::string& bytes) {
  return impl_->set_meta(std::string(keys::meta_namespace) + name, bytes,
                         "namespace '" + name + "'");
}

status store::load_namespaces(std::vector<std::string>* out) const {
  return impl_->scan(table::meta, std::string(keys::meta_namespace),
                     [&](std::string_view, std::string_view value) {
                       out->emplace_back(value);
                       return true;
                     });
}

std::string store::raft_founders(status* st) const {
  auto v = impl_->get(table::meta, std::string(keys::meta_raft_founders), st);
  return st->ok() && v ? *v : std::string{};
}

status store::set_raft_founders(const std::string& names) {
  return impl_->set_meta(std::string(keys::meta_raft_founders), names,
                         "the founding members");
}

bool store::holds_raft_state(status* st) const {
  if (!raft_founders(st).empty() || !st->ok()) return st->ok();
  for (uint32_t shard = 0; shard < num_shards_; ++shard)
    if (has_raft_state(shard, st) || !st->ok()) return st->ok();
  return false;
}

bool store::converted(status* st) const {
  return impl_->meta_u64(std::string(keys::meta_converted), st) == 1;
}

status store::check_replication(bool replicated, bool convert, bool* converting) {
  status st;
  if (converting != nullptr) *converting = false;
  if (convert && !replicated)
    return status::error("--convert-to-replicated needs replication_factor 3 (or more) in the "
                         "config: it converts a single-copy data dir to serve a replicated node");
  const uint64_t want = replicated ? 2 : 1;
  uint64_t have = impl_->meta_u64(std::string(keys::meta_copies), &st);
  if (!st.ok()) return st;
  const bool recorded = have != 0;
  if (convert) {
    const bool done = converted(&st);
    if (!st.ok()) return st;
    if (done) return {};  // converted before (the flag is only needed once)
    bool raft = holds_raft_state(&st);
    if (!st.ok()) return st;
    if (raft || (recorded && have == 2))
      return status::error(
        "data_dir " + impl_->path + " already serves a replicated node: --convert-to-replicated is "
        "only for the data dirs of a cluster that ran with replication_factor 1 (start this node "
        "without it)");
    // Recorded first: a crash before the kind is recorded leaves a dir that converts again.
    if (auto w = impl_->set_meta_u64(std::string(keys::meta_converted), 1,
                                     "that the data dir was converted to replication");
        !w.ok())
      return w;
    if (converting != nullptr) *converting = true;
    return impl_->set_meta_u64(std::string(keys::meta_copies), 2,
                               "which kind of node the data dir serves");
  }
  if (!recorded) {  // not recorded yet: what the data dir holds
    bool raft = holds_raft_state(&st);
    bool data = false;
    for (uint32_t shard = 0; st.ok() && shard < num_shards_ && !raft && !data; ++shard)
      data = holds_shard_copy(shard, &st);
    if (!st.ok()) return st;
    have = raft ? 2 : data ? 1 : want;
  }
  if (have != want) {
    auto path = impl_->path;
    if (have == 1)
      return status::error(
        "data_dir " + path + " holds the data of a node without replication (replication_factor "
        "1): it cannot serve a replicated cluster as it is, whose shards' groups would be founded "
        "without that data (runs would vanish after a failover). Convert it: stop every node, "
        "then start each once with --convert-to-replicated (docs/operations.md); or keep "
        "replication_factor 1 for this data");
    return status::error(
      "data_dir " + path + " holds the data of a replicated node (Raft state of its shards): it "
      "cannot serve a node with replication_factor 1. A cluster cannot change "
      "replication_factor in place: set the replication_factor this data was written with, or "
      "use a new, empty data dir");
  }
  if (recorded) return {};
  return impl_->set_meta_u64(std::string(keys::meta_copies), have,
                             "which kind of node the data dir serves");
}

status store::set_raft_identity(uint64_t identity) {
  return impl_->set_meta_u64(std::string(keys::meta_raft_identity), identity,
                        "this node's raft identity");
}

}  // namespace chronicle::storage
