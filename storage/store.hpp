// The node's RocksDB database: one DB, column families per table, every key prefixed by the shard
// ID (big-endian) so that a shard's keys are contiguous. The only place that includes RocksDB.
#pragma once

#include <atomic>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chronicle/v1/batch.pb.h"
#include "protocol/codec.hpp"

namespace chronicle::storage {

// Result of a storage operation: ok, or an error message naming what failed.
class status {
public:
  status() = default;
  static status error(std::string msg) { status s; s.msg_ = std::move(msg); s.ok_ = false; return s; }
  // A write that could not be made durable here and now (a replicated shard without its
  // leadership or majority): the caller may retry elsewhere or later; its outcome may be unknown.
  static status unavailable(std::string msg) {
    auto s = error(std::move(msg));
    s.unavailable_ = true;
    return s;
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool is_unavailable() const { return unavailable_; }
  [[nodiscard]] const std::string& message() const { return msg_; }
private:
  bool ok_ = true;
  bool unavailable_ = false;
  std::string msg_;
};

enum class durability { fsync, os };

// Identifies one run of a workflow inside a shard.
struct run_key {
  uint32_t shard = 0;
  std::string ns;
  std::string workflow_id;
  std::string run_id;
};

// The single records a shard keeps in the raft column family (key layout in storage/keys.hpp).
enum class raft_record : uint8_t { term, vote, snapshot_meta, snapshot_data, applied_index };

// A set of changes applied atomically by store::write.
class write_batch {
public:
  write_batch();
  ~write_batch();
  write_batch(write_batch&&) noexcept;
  write_batch& operator=(write_batch&&) noexcept;

  // Appends events (dense, ascending IDs) to the run's history, keyed by the first event ID.
  void append_history(const run_key& run, const std::vector<pb::HistoryEvent>& events);
  void put_state(const run_key& run, const pb::MutableState& state);
  void put_current(uint32_t shard, const std::string& ns, const std::string& workflow_id,
                   const pb::CurrentRun& current);
  void put_timer(uint32_t shard, const pb::TimerRecord& timer);
  void delete_timer(uint32_t shard, const pb::TimerRecord& timer);
  void put_transfer(uint32_t shard, const pb::TransferRecord& transfer);
  void delete_transfer(uint32_t shard, const pb::TransferRecord& transfer);
  // The run's visibility record (same key while running and closed: keyed by start time) and
  // its entries in the per-status and per-type-and-status indexes (under info.status();
  // `previous` != UNSPECIFIED: the entries under that status are deleted, e.g. Running when the
  // run closes), the per-type index and the per-ID index (neither includes the status: a closing
  // run rewrites the same keys), and the per-attribute index (one entry per indexed search
  // attribute value; `before`: the record as last written, whose entries for values the run no
  // longer has are deleted, after an upsert).
  void put_visibility(uint32_t shard, const pb::WorkflowExecutionInfo& info,
                      pb::WorkflowExecutionStatus previous = pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED,
                      const pb::WorkflowExecutionInfo* before = nullptr);
  // Deletes the record and its entries in every index (under info.status()).
  void delete_visibility(uint32_t shard, const pb::WorkflowExecutionInfo& info);
  // The record that has retention delete a closed run at `delete_at_ms`.
  void put_retention(uint32_t shard, int64_t delete_at_ms, const pb::WorkflowExecutionInfo& info);
  void delete_retention(uint32_t shard, int64_t delete_at_ms, const pb::WorkflowExecutionInfo& info);
  void delete_state(const run_key& run);
  // A schedule's record (storage/schedules.cpp).
  void put_schedule(uint32_t shard, const pb::ScheduleRecord& rec);
  void delete_schedule(uint32_t shard, const std::string& ns, const std::string& schedule_id);
  // A batch job's record (storage/batches.cpp).
  void put_batch_job(uint32_t shard, const pb::BatchJobRecord& rec);
  void delete_batch_job(uint32_t shard, const std::string& ns, const std::string& job_id);
  void delete_current(uint32_t shard, const std::string& ns, const std::string& workflow_id);
  [[nodiscard]] bool empty() const;
  // Empty unless a record could not be serialized (store::write then fails the batch).
  [[nodiscard]] const std::string& serialization_error() const;

  // --- as bytes: a transition's batch is a raft log entry (storage/batch_bytes.cpp) ---
  // The batch's operations in Chronicle's own format (version byte, then per operation its kind,
  // table tag, key and value): tables are named by their keys::table tag, never by a database's
  // column family IDs, so the bytes mean the same on every replica. Fails (out untouched) when a
  // record could not be serialized or an operation is outside the data tables (raft, meta).
  [[nodiscard]] status to_bytes(std::string* out) const;
  // A batch rebuilt from to_bytes's bytes. Validates everything: version, kinds, data tables
  // only, lengths, no trailing bytes, and every key in `shard`'s range (an entry of one shard
  // never writes another's keys). Returns nullopt with *st set on any of these, never crashes.
  static std::optional<write_batch> from_bytes(std::string_view bytes, uint32_t shard, status* st);
  // Appends the operations of `part` (to_bytes's bytes) to `joined` (empty, or to_bytes's bytes
  // too): `joined` becomes the bytes of one batch holding both, in order. Several transitions'
  // batches proposed as one raft entry (one append, one message, one apply for all of them).
  static void append_bytes(std::string* joined, std::string_view part);
  // The number of operations (puts and deletes) in the batch.
  [[nodiscard]] size_t size() const;

  // --- raft column family (storage/raft/rocks_log_store.cpp, shard_state_machine.cpp) ---
  void put_raft(uint32_t shard, raft_record record, std::string value);
  void delete_raft(uint32_t shard, raft_record record);
  void put_raft_entry(uint32_t shard, uint64_t index, std::string value);
  // Deletes the shard's entries with index in [from, to); to == 0: every entry from `from` on.
  // One range deletion (a single tombstone whatever the number of entries).
  void delete_raft_entries(uint32_t shard, uint64_t from, uint64_t to = 0);
  // Deletes every key of the shard in every data table (range deletions).
  void delete_shard_data(uint32_t shard);
  // A snapshot received in chunks is staged in the raft table under its stream ID until it is
  // complete and restored (storage/raft/shard_state_machine.hpp, "streams"): the entry of data
  // table `table_tag`, the marker that the stream is complete (the applied index it stands for),
  // the stream's staged keys, and every stream's but `keep`'s (0: all).
  void put_stage(uint32_t shard, uint64_t stream, uint8_t table_tag, std::string_view key,
                 std::string value);
  void put_stage_complete(uint32_t shard, uint64_t stream, uint64_t applied_index);
  void delete_stage(uint32_t shard, uint64_t stream);
  void delete_stages_except(uint32_t shard, uint64_t keep);
  // Puts (table, key, value) as read by store::read_shard; a table other than a data table
  // fails the batch (serialization_error).
  void put_data(uint8_t table_tag, std::string key, std::string value);
  // Moves `other`'s operations to the end of this batch (and its error, if this has none).
  void append(write_batch other);

private:
  friend class store;
  friend class batch_coalescer;
  struct impl;
  // The per-attribute index entries of put_visibility.
  void put_attribute_entries(uint32_t shard, const pb::WorkflowExecutionInfo& info,
                             const std::string& value, const pb::WorkflowExecutionInfo* before,
                             bool is_new);
  std::unique_ptr<impl> impl_;
};

class committer;
// Shared by the batches of one writer: set once one of them failed (see committer.hpp).
using committer_chain = std::shared_ptr<std::atomic<bool>>;

namespace query { struct expr; }

// Which runs a list wants (ListWorkflowsRequest's filters); an unset field does not filter.
struct visibility_filter {
  pb::WorkflowExecutionStatus status = pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  std::string workflow_type;
  std::string workflow_id_prefix;
  int64_t start_time_from_ms = 0;  // inclusive
  int64_t start_time_to_ms = 0;    // exclusive
  int64_t close_time_from_ms = 0;  // either close bound set: closed runs only
  int64_t close_time_to_ms = 0;    // exclusive
  std::string build_id;            // a workflow task completed by this build (BuildIds)
  // A list query (storage/query.hpp), checked against every record as well; null: none.
  std::shared_ptr<const query::expr> where;
  // Search attributes the query requires to equal a value (an AND of `Attr = value` at its top
  // level, on an indexed type): each one's index is a candidate (storage/visibility.cpp).
  std::vector<std::pair<std::string, pb::SearchAttributeValue>> attribute_equals;
  // The query groups a count by status (GROUP BY ExecutionStatus).
  bool group_by_status = false;
  // One index range: the runs of a status, of a workflow type, or of a search attribute value.
  struct index_term {
    enum class kind : uint8_t { status, type, attribute } k = kind::status;
    pb::WorkflowExecutionStatus status = pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
    std::string name;  // type: the workflow type; attribute: its name
    pb::SearchAttributeValue value;  // attribute
  };
  // Each element is a top-level conjunct of the query that is an OR (or IN) of such ranges
  // (`CustomerId = 'a' OR CustomerId = 'b'`, `Status IN ('Failed', 'TimedOut')`,
  // `WorkflowType = 'A' OR Region = 'eu'`): the union of its ranges holds every match, so it
  // is a candidate index read newest first (storage/visibility.cpp).
  std::vector<std::vector<index_term>> unions;
  // Returns true iff `info` passes every filter that is set.
  [[nodiscard]] bool matches(const pb::WorkflowExecutionInfo& info) const;
};
// Whether the run's BuildIds attribute lists `build_id`.
[[nodiscard]] bool has_build_id(const pb::WorkflowExecutionInfo& info, const std::string& build_id);

// One shard's page of a list: runs newest start first, each with its position (the
// keys::visibility_suffix a page token names); `more` when the shard holds further matches.
struct visibility_page {
  std::vector<std::pair<std::string, pb::WorkflowExecutionInfo>> items;
  bool more = false;
  std::string index;  // the index that answered: "all", "status", "type", "type+status",
                      // "id" or "attribute" (diagnostics)
};

// One shard's count of a filter's runs, per status.
struct visibility_count {
  std::map<pb::WorkflowExecutionStatus, int64_t> per_status;
  std::string index;  // the index read (diagnostics), as visibility_page::index
};

class store {
public:
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // Opens (creating if needed) the database under `path`. Records num_shards in the meta table on
  // first open; fails with a clear message when an existing database was created with another
  // num_shards, when the directory is not writable, or when the files are corrupted.
  static std::unique_ptr<store> open(const std::string& path, uint32_t num_shards,
                                     durability mode, status* st);

  // Writes the batch atomically; synced to disk when durability is fsync. Blocks the caller.
  status write(write_batch& batch);
  // Writes several batches atomically as one RocksDB write (one sync). Blocks the caller.
  status write_group(const std::vector<write_batch*>& batches);
  // write() synced whatever the durability mode (raft term and vote: durable on return).
  status write_synced(write_batch& batch);
  // write() never synced (a raft replica applying a committed entry: the log is the durable
  // copy). Still atomic, and ordered before every later write in RocksDB's log.
  status write_unsynced(write_batch& batch);
  // Queues the batch for the store's committer thread (storage/committer.hpp), which groups
  // concurrent batches into one synced write, and returns at once. `done` runs exactly once on the
  // committer thread after the batch is durable (or failed); it must be short and thread-safe.
  void write_async(write_batch batch, std::function<void(const status&)> done);
  // The same within a chain of batches (see committer::chain): once one failed, the chain's later
  // batches fail unwritten.
  void write_async(write_batch batch, std::function<void(const status&)> done,
                   committer_chain chain);
  // Waits until every write_async so far is done and its callback returned (committer::drain):
  // at a process's end, after its actors stopped, before its actor system goes.
  void drain_async_writes();
  // Called after every RocksDB write with its duration, the number of batches it carried and
  // whether it was synced (metrics). Set it once, before the first write; it must be short and
  // thread-safe.
  using write_observer =
    std::function<void(std::chrono::nanoseconds took, size_t batches, bool synced)>;
  void set_write_observer(write_observer fn) { observer_ = std::move(fn); }

  // Returns the full history of a run in event ID order (empty when unknown).
  status read_history(const run_key& run, std::vector<pb::HistoryEvent>* out) const;
  // Only the events after `after_event_id`, in order: starts at the history record holding the
  // next one (its first events dropped), not at the run's first record.
  status read_history_after(const run_key& run, int64_t after_event_id,
                            std::vector<pb::HistoryEvent>* out) const;
  // Returns nullopt when the run is unknown.
  std::optional<pb::MutableState> load_state(const run_key& run, status* st) const;
  std::optional<pb::CurrentRun> load_current(uint32_t shard, const std::string& ns,
                                             const std::string& workflow_id, status* st) const;

  // Visits every schedule record of a shard (storage/schedules.cpp).
  status scan_schedules(uint32_t shard,
                        const std::function<void(const pb::ScheduleRecord&)>& fn) const;
  // Visits every batch job record of a shard (storage/batches.cpp).
  status scan_batch_jobs(uint32_t shard,
                         const std::function<void(const pb::BatchJobRecord&)>& fn) const;

  // Visits every timer of a shard in fire-time order / every transfer of a shard.
  status scan_timers(uint32_t shard, const std::function<void(const pb::TimerRecord&)>& fn) const;
  status scan_transfers(uint32_t shard,
                        const std::function<void(const pb::TransferRecord&)>& fn) const;

  // Visits the namespace's visibility records of a shard, newest start first, starting after the
  // position `after` (a visibility_suffix; empty: from the newest), until fn returns false.
  // `only` != UNSPECIFIED: the per-status index of that status (the same order and positions).
  status scan_visibility(uint32_t shard, const std::string& ns, const std::string& after,
                         const std::function<bool(const std::string& suffix,
                                                  const pb::WorkflowExecutionInfo&)>& fn,
                         pb::WorkflowExecutionStatus only = pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED) const;
  // Fills `out` with the first `page_size` runs of the namespace in the shard that match `filter`
  // and come after position `after` (empty: from the newest), newest start first. Reads the
  // cheapest index for the filter (storage/visibility.cpp). Fails on page_size 0.
  status list_visibility(uint32_t shard, const std::string& ns, const visibility_filter& filter,
                         const std::string& after, size_t page_size, visibility_page* out) const;
  // Counts the shard's runs in namespace `ns` that match `filter`, per status: reads the whole
  // range of the candidate index that RocksDB estimates smallest (storage/visibility.cpp).
  status count_visibility(uint32_t shard, const std::string& ns, const visibility_filter& filter,
                          visibility_count* out) const;
  // An ID-prefix range RocksDB estimates at no more than this many bytes is read alone, without
  // a newest-first index in step (default 1 MB; 0: always in step, as tests of the choice do).
  void set_id_range_alone_bytes(uint64_t bytes) { id_range_alone_bytes_ = bytes; }
  // Visits closed runs whose retention ended at or before `now_ms`, oldest first, at most `limit`.
  status scan_expired(uint32_t shard, int64_t now_ms, size_t limit,
                      const std::function<void(int64_t delete_at_ms,
                                               const pb::WorkflowExecutionInfo&)>& fn) const;
  // Adds to `batch` the deletion of every history batch of the run.
  status delete_history(const run_key& run, write_batch& batch) const;

  // Counts the workflow IDs of a shard whose current run is open (running) or closed.
  status count_runs(uint32_t shard, uint64_t* open, uint64_t* closed) const;

  [[nodiscard]] uint32_t num_shards() const { return num_shards_; }
  // This data dir's incarnation (random, non-zero; drawn when the database was created or first
  // opened by a build that has them).
  [[nodiscard]] uint64_t incarnation() const { return incarnation_; }
  // The incarnation recorded for member `name` (0: none yet) / records it (synced).
  uint64_t peer_incarnation(const std::string& name, status* st) const;
  status set_peer_incarnation(const std::string& name, uint64_t incarnation);
  // How this data dir's replicas name themselves in the shards' Raft groups (0: not decided
  // yet; actors/node/membership.hpp raft_identity) / records it (synced).
  uint64_t raft_identity(status* st) const;
  status set_raft_identity(uint64_t identity);
  // Namespace records (NamespaceInfo bytes by name, docs/operations.md "Namespaces"): records one
  // (synced) / reads them all.
  status put_namespace(const std::string& name, const std::string& bytes);
  status load_namespaces(std::vector<std::string>* out) const;
  // Whether this data dir may serve a node with replication (`replicated`: replication_factor
  // > 1) or without: an error saying why not, else records which kind it serves (synced). A data
  // dir serves one kind for good. A single-copy node's shards live in one data dir each, with no
  // Raft state: a replicated node would found each shard's group without them, so a failover
  // could make acknowledged runs vanish (and let their IDs be started again). A data dir from
  // before this record is judged by what it holds: Raft state or founders recorded, replicated;
  // a shard's data without them, single copy; nothing, either (a new data dir).
  // `convert` (replicated only): a single-copy node's data dir, or a new one, is converted to
  // serve a replicated node instead of being refused (records `converted`, then the kind; a dir
  // already converted passes; a replicated one that was not converted is refused: its groups were
  // founded the usual way). *converting (when given) is set when this call converted it.
  status check_replication(bool replicated, bool convert = false, bool* converting = nullptr);
  // Whether the data dir holds a replicated node's state: founders recorded or any shard's Raft
  // state (false with *st set when it cannot be read).
  bool holds_raft_state(status* st) const;
  // Whether the data dir was converted from single copy (meta_converted).
  bool converted(status* st) const;
  // The founding members, comma-separated and sorted ("" none recorded) / records them (synced).
  std::string raft_founders(status* st) const;
  status set_raft_founders(const std::string& names);

  // RocksDB's memory: the block cache every column family shares (data, index and filter blocks,
  // and the memtables' reservation), the memtables against their budget (part of the cache), and
  // what open table files hold outside the cache.
  struct memory {
    uint64_t block_cache_capacity = 0;
    uint64_t block_cache_bytes = 0;
    uint64_t memtable_budget = 0;
    uint64_t memtable_bytes = 0;
    uint64_t table_readers_bytes = 0;
  };
  [[nodiscard]] memory memory_usage() const;

  // --- replicated shards (storage/raft_records.cpp) ---
  // A record of the shard's raft state: nullopt when absent.
  std::optional<std::string> get_raft(uint32_t shard, raft_record record, status* st) const;
  // Visits the shard's raft log entries in index order until fn returns false.
  status scan_raft_entries(uint32_t shard,
                           const std::function<bool(uint64_t index, std::string_view value)>& fn) const;
  // True when the raft column family holds any key of the shard.
  bool has_raft_state(uint32_t shard, status* st) const;
  // True when the store holds a copy of the shard beyond its raft term and vote: data, raft log
  // entries, snapshot or applied index, staged snapshots.
  bool holds_shard_copy(uint32_t shard, status* st) const;
  // Deletes the shard's copy (what holds_shard_copy looks for) in one synced write, then its
  // stage files; keeps the raft term and vote: a replica added to the group again later must not
  // vote twice in a term, and has_raft_state stays true (a founder never bootstraps the shard's
  // group a second time). For a node whose replica the group no longer counts (copy_cleanup.hpp).
  status drop_shard_copy(uint32_t shard);
  // Reads, at one RocksDB snapshot, the shard's applied index (0 when absent) and then every key
  // of the shard in every data table (keys::data_tables order, key order in each), calling fn
  // with the table's tag. Stops early when fn returns false.
  status read_shard(uint32_t shard, uint64_t* applied_index,
                    const std::function<bool(uint8_t table_tag, std::string_view key,
                                             std::string_view value)>& fn) const;

  // A consistent view of the whole store (a RocksDB snapshot), held while a copy is alive:
  // what a leader streams a snapshot from, chunk by chunk (storage/raft_records.cpp).
  struct read_view;
  [[nodiscard]] std::shared_ptr<const read_view> hold_view() const;
  // The shard's applied index as of the view (0 when absent).
  status applied_index_at(const read_view& view, uint32_t shard, uint64_t* out) const;
  // The shard's data keys as of the view, in read_shard's order, after (table index in
  // keys::data_tables, after_key; empty: from the table's start), about max_bytes (at least one
  // entry when any is left); next_table / next_after_key say where the next chunk starts, done
  // that none is left.
  status read_chunk(const read_view& view, uint32_t shard, uint32_t table_index,
                    const std::string& after_key, size_t max_bytes, pb::HandoffChunk* out) const;
  // The staged entries of `stream` (write_batch::put_stage) in order until fn returns false,
  // and the applied index of its complete marker (nullopt: not complete).
  status scan_stage(uint32_t shard, uint64_t stream, std::optional<uint64_t>* complete,
                    const std::function<bool(uint8_t table_tag, std::string_view key,
                                             std::string_view value)>& fn) const;

  // --- snapshot stages as table files (storage/snapshot_stage.cpp) ---
  // A snapshot pulled in chunks is written as RocksDB table files (SST) under
  // <path>/snapshot-stage/<shard>/<stream>/, one file per data table (more past 256 MB), and
  // ingested into the data tables when restored: its data is written once on the receiver, with
  // no log, memtable or compaction of a staged copy (docs/replication.md "Snapshots in chunks").
  class stage_writer {
   public:
    ~stage_writer();
    stage_writer(const stage_writer&) = delete;
    stage_writer& operator=(const stage_writer&) = delete;
    // Adds an entry of data table `table_tag`. Within a table, keys come in ascending order
    // (a leader's stream reads them so); a table may not come back once another has begun.
    status add(uint8_t table_tag, std::string_view key, std::string_view value);
    // Closes the files (each synced) and writes the complete marker holding `applied_index`
    // (synced, with the directories): the stage is durable when this returns.
    status finish(uint64_t applied_index);
    [[nodiscard]] uint64_t stream() const { return stream_; }

   private:
    friend class store;
    struct file;
    stage_writer(const store& db, uint32_t shard, uint64_t stream, std::string dir);
    status close_file();
    const store& db_;
    uint32_t shard_;
    uint64_t stream_;
    std::string dir_;
    std::unique_ptr<file> file_;
    int files_ = 0;
    int last_table_ = -1;
  };
  // Starts the stage of `stream` (a previous try's files of it are removed first).
  std::unique_ptr<stage_writer> begin_stage(uint32_t shard, uint64_t stream, status* st) const;
  // The applied index the stage's complete marker holds (nullopt: no stage, or incomplete).
  std::optional<uint64_t> stage_files_complete(uint32_t shard, uint64_t stream) const;
  // Replaces the shard's data with the complete stage's files: the shard's keys are deleted
  // (unless it has none) and the files ingested into every data table at once. The stage stays
  // (the files are linked, not moved): a crash before the caller records the applied index can
  // run this again. Fails, changing nothing, when the stage is not complete.
  status ingest_stage(uint32_t shard, uint64_t stream);
  // Removes the stage files of `stream` / of every stream of the shard but `keep` (0: all).
  status remove_stage_files(uint32_t shard, uint64_t stream) const;
  status remove_stage_files_except(uint32_t shard, uint64_t keep) const;
  // True when the shard has any stage files (of any stream).
  bool has_stage_files(uint32_t shard) const;

  // --- shard handoff (storage/handoff.cpp) ---
  // The membership under which this node last took ownership of a shard (empty: never).
  std::string shard_owner_mark(uint32_t shard, status* st) const;
  status set_shard_owner_mark(uint32_t shard, const std::string& membership);
  // True when any table holds a key of the shard.
  bool has_shard_data(uint32_t shard, status* st) const;
  // Reads the shard's keys in table order after (table, after_key), up to about max_bytes.
  status export_chunk(uint32_t shard, uint32_t table, const std::string& after_key,
                      size_t max_bytes, pb::HandoffChunk* out) const;
  // Writes received entries (synced). Rejects entries of another shard or unknown tables.
  status import_chunk(uint32_t shard, const pb::HandoffChunk& chunk);
  // Deletes every key of the shard in every data table and its owner mark.
  status drop_shard(uint32_t shard);

private:
  store();
  status write_batches(const std::vector<write_batch*>& batches, bool sync);
  struct impl;
  std::unique_ptr<impl> impl_;
  std::unique_ptr<committer> committer_;  // destroyed first (see ~store)
  uint32_t num_shards_ = 0;
  uint64_t incarnation_ = 0;
  durability mode_ = durability::fsync;
  write_observer observer_;
  uint64_t id_range_alone_bytes_ = uint64_t{1} << 20;
};

}  // namespace chronicle::storage
