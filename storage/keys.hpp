// Key layout of every column family: the one place that turns records into RocksDB keys.
//
// Every key starts with the shard ID as 4 bytes big-endian, so a shard's keys are contiguous.
// Integers are fixed-width big-endian (byte order == numeric order). Strings are escaped and
// terminated: each 0x00 byte becomes 0x00 0xFF and the string ends with 0x00 0x01. This is
// unambiguous (no string's encoding is a prefix of another's) and preserves byte order, with no
// length limit.
//
//   history    shard | ns | workflow_id | run_id | first_event_id (u64)       -> pb::HistoryBatch
//   executions shard | 'm' | ns | workflow_id | run_id                          -> pb::MutableState
//              shard | 'c' | ns | workflow_id                                   -> pb::CurrentRun
//              shard | 'S' | ns | schedule_id                                   -> pb::ScheduleRecord
//              (schedules, docs/schedules.md: state on the shard of their ID, replicated and
//              handed off with the shard's other data)
//              shard | 'B' | ns | job_id                                        -> pb::BatchJobRecord
//              (batch jobs, docs/operations.md "Batch operations": on the shard of their job ID)
//   timers     shard | fire_time_ms (u64, negatives as 0) | ns | workflow_id | run_id
//                    | started_event_id (u64)                                   -> pb::TimerRecord
//   transfers  shard | ns | workflow_id | run_id | scheduled_event_id (u64)     -> pb::TransferRecord
//   visibility shard | 'v' | ns | ~start_time_ms (u64) | workflow_id | run_id -> pb::WorkflowExecutionInfo
//              shard | 'r' | delete_at_ms (u64) | ns | workflow_id | run_id  -> pb::WorkflowExecutionInfo
//              shard | 's' | ns | status (u32) | ~start_time_ms | workflow_id | run_id -> the same
//              (the same order per status: list with a status filter reads only its runs)
//              shard | 't' | ns | workflow_type | ~start_time_ms | workflow_id | run_id -> the same
//              (the same order per workflow type)
//              shard | 'y' | ns | workflow_type | status (u32) | ~start_time_ms | workflow_id
//                    | run_id -> the same (per type and status, as Temporal's by-type index)
//              shard | 'i' | ns | workflow_id | ~start_time_ms | run_id      -> the same
//              (by workflow ID: an ID prefix is one range; newest first only within one ID)
//              shard | 'a' | ns | attribute | value | ~start_time_ms | workflow_id | run_id
//                    -> the same (per custom search attribute value, newest first per value;
//                    keyword, keyword list (one entry per element), int, bool, datetime; value
//                    encoded by attribute_value_prefix; text and double are not indexed)
//              shard | 'n' | ns | status (u32)                      -> run count (i64, merged)
//              shard | 'N' | ns | workflow_type | status (u32)      -> run count (i64, merged)
//              shard | 'A' | ns | attribute | value (as in 'a') -> run count (i64, merged)
//              (counters kept by every transition's batch through a merge operator, so a count
//              by status, type and status, or of every run is a few keys; schema 4)
//              ('v': newest start first; 'r': closed runs by the time retention deletes them)
//              'v', 's', 't', 'y', 'a' share their suffix after the index's prefix (visibility_suffix),
//              which is the position a list page token names.
//   meta       "num_shards" -> u32, "schema_version" -> u32 (no shard prefix)
//              (schema 2 added 't' and 'i', schema 3 'y', schema 4 'n' and 'N'; opening an
//              older database writes them, see store_impl.hpp)
//   raft       (replicated shards, storage/raft/rocks_log_store.hpp and shard_state_machine.hpp;
//              a database without it gets it on open, no schema change)
//              shard | 't'                -> current term (u64)
//              shard | 'v'                -> vote: server ID (u64)
//              shard | 'e' | index (u64)  -> log entry: term (u64) | type (u16) | data
//              shard | 's'                -> last snapshot: index | term | configuration_index
//                                            (u64 each) | configuration (io's encoding)
//              shard | 'd'                -> last snapshot's data (shard_state_machine's bytes)
//              shard | 'a'                -> applied index (u64) of the shard's data tables
//
// The tag bytes and column family names are part of the on-disk format: never reuse or rename.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.hpp"
#include "storage/store.hpp"

namespace chronicle::storage::keys {

// Column family names. The order of `table` is the order of handles in the open database.
enum class table : uint8_t { default_cf, history, executions, timers, transfers, visibility, meta,
                             raft };
inline constexpr int table_count = 8;
// The tables that hold a shard's replicated data (a transition writes only these; a shard's
// snapshot, digest and handoff cover exactly these). Not meta, default or raft.
inline constexpr table data_tables[] = {table::history, table::executions, table::timers,
                                        table::transfers, table::visibility};
// Whether `tag` (a table's numeric value) names one of data_tables.
bool is_data_table(uint8_t tag);
const char* table_name(table t);

inline constexpr std::string_view meta_num_shards = "num_shards";
inline constexpr std::string_view meta_schema_version = "schema_version";
// A random number drawn when the data dir is created: tells a wiped-and-restarted node from the
// same node with its data (docs/replication.md, "Wiped nodes").
inline constexpr std::string_view meta_incarnation = "incarnation";
// "peer_incarnation/<member>" -> u64: the incarnation this node first saw each peer with.
inline constexpr std::string_view meta_peer_incarnation = "peer_incarnation/";
// "raft_identity" -> u64: 1 founding member (Raft ID = position in the member list), 2 joined
// (Raft ID drawn from the name and incarnation: the data dir was created after the cluster).
inline constexpr std::string_view meta_raft_identity = "raft_identity";
// "raft_founders" -> "node1,node2,node3": the members when the groups were founded (sorted); a
// founding Raft ID is a position in this list.
inline constexpr std::string_view meta_raft_founders = "raft_founders";
// "copies" -> u64: 1 when the data dir holds a single-copy node's data (replication_factor 1),
// 2 when a replicated node's (store::check_replication): a data dir never serves the other kind.
inline constexpr std::string_view meta_copies = "copies";
// "converted" -> u64 1: the data dir held a single-copy node's data and was converted to serve a
// replicated one (chronicle-node --convert-to-replicated): each shard's group is seeded by the
// member that held its single copy, alone, and the others join it (never a full bootstrap).
inline constexpr std::string_view meta_converted = "converted";
// "namespace/<name>" -> NamespaceInfo: the namespaces this node knows (actors/node/namespaces.hpp;
// every node keeps every one).
inline constexpr std::string_view meta_namespace = "namespace/";
inline constexpr uint32_t schema_version = 4;

// Fixed-width big-endian integers.
void put_u32(std::string* dst, uint32_t v);
void put_u64(std::string* dst, uint64_t v);
std::string encode_u32(uint32_t v);
std::string encode_u64(uint64_t v);
// Returns nullopt unless `bytes` is exactly 4 bytes.
std::optional<uint32_t> decode_u32(std::string_view bytes);
// Appends the escaped, terminated form of `s` (see the header comment).
void put_string(std::string* dst, std::string_view s);
// Appends the escaped form of `s` without the terminator: a prefix of the encoding of every string
// that starts with `s`, and of no other.
void put_string_prefix(std::string* dst, std::string_view s);

// The 4-byte prefix of every key of a shard.
std::string shard_prefix(uint32_t shard);
// Returns nullopt unless `bytes` is exactly 8 bytes.
std::optional<uint64_t> decode_u64(std::string_view bytes);

// raft: a shard's single records and its log entries (index big-endian: log order).
std::string raft_key(uint32_t shard, raft_record record);
std::string raft_entry_key(uint32_t shard, uint64_t index);
std::string raft_entries_prefix(uint32_t shard);
// The index of a raft_entry_key of `shard`; nullopt for any other key.
std::optional<uint64_t> raft_entry_index(uint32_t shard, std::string_view key);
// raft: a snapshot being received in chunks (write_batch::put_stage): shard | 'g' | stream (u64)
// | data table tag (u8) | the data key; shard | 'g' | stream | 0xFF: the stream is complete.
std::string raft_stages_prefix(uint32_t shard);
std::string raft_stage_prefix(uint32_t shard, uint64_t stream);
inline constexpr char raft_stage_complete_tag = '\xFF';

// history
std::string history_prefix(const run_key& run);
std::string history_key(const run_key& run, int64_t first_event_id);
// executions
std::string state_key(const run_key& run);
std::string current_key(uint32_t shard, std::string_view ns, std::string_view workflow_id);
// schedules: one schedule's key, and the prefix of all of a shard's.
std::string schedule_key(uint32_t shard, std::string_view ns, std::string_view schedule_id);
std::string schedules_prefix(uint32_t shard);
// batch jobs: one job's key, and the prefix of all of a shard's.
std::string batch_job_key(uint32_t shard, std::string_view ns, std::string_view job_id);
std::string batch_jobs_prefix(uint32_t shard);
// timers, transfers
std::string timer_key(uint32_t shard, const pb::TimerRecord& timer);
std::string transfer_key(uint32_t shard, const pb::TransferRecord& transfer);

// visibility: the per-namespace prefix, the part after it (the list order and page token), the
// full key, and the retention key of a closed run.
std::string visibility_prefix(uint32_t shard, std::string_view ns);
std::string visibility_suffix(const pb::WorkflowExecutionInfo& info);
std::string visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info);
// What a position (visibility_suffix) says without the record: the run's start time (negative
// times read as 0), and whether its workflow ID starts with the string whose put_string_prefix
// form is `escaped_id_prefix`. Both return nullopt / false for a position shorter than 8 bytes.
std::optional<int64_t> position_start_time(std::string_view position);
bool position_id_starts_with(std::string_view position, std::string_view escaped_id_prefix);
// The per-status index: prefix for one status, and the key of `info` under info.status().
std::string status_visibility_prefix(uint32_t shard, std::string_view ns,
                                     pb::WorkflowExecutionStatus status);
std::string status_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info);
// The per-type index: prefix for one workflow type, and the key of `info` under its type.
std::string type_visibility_prefix(uint32_t shard, std::string_view ns, std::string_view type);
std::string type_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info);
// Whether a visibility key is a per-status or per-type-and-status entry: such a key is put at most
// once while it exists (its status is part of it, so a closing run writes a new one; an upsert
// SingleDeletes it before putting it again), which lets the Running entry go with a SingleDelete. Writers outside the transitions (the schema upgrade,
// a shard handoff's import) skip such a key when it exists.
bool put_once_visibility_key(std::string_view key);
// The per-type-and-status index: prefix for one type and status, and the key of `info`.
std::string type_status_visibility_prefix(uint32_t shard, std::string_view ns,
                                          std::string_view type, pb::WorkflowExecutionStatus status);
std::string type_status_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info);
// The run counters: per namespace and status, per namespace, workflow type and status (the key's
// last 4 bytes are the status: count_key_status). Values are i64 (encode_i64), changed by merges.
std::string count_prefix(uint32_t shard, std::string_view ns);
std::string count_key(uint32_t shard, std::string_view ns, pb::WorkflowExecutionStatus status);
std::string type_count_prefix(uint32_t shard, std::string_view ns, std::string_view type);
std::string type_count_key(uint32_t shard, std::string_view ns, std::string_view type,
                           pb::WorkflowExecutionStatus status);
std::optional<pb::WorkflowExecutionStatus> count_key_status(std::string_view key);
// The run counter of one search attribute value: from an attribute entry's key (cut before the
// run's visibility_suffix of `suffix_size` bytes), or from the value (nullopt: not indexed).
std::string attribute_count_key(std::string_view attribute_key, size_t suffix_size);
std::optional<std::string> attribute_count_key(uint32_t shard, std::string_view ns,
                                               std::string_view name,
                                               const pb::SearchAttributeValue& value);
// The per-ID index: the prefix of every key whose workflow ID starts with `id_prefix` (the
// escaped prefix without its terminator, so the range holds exactly those IDs), and the key.
std::string id_visibility_range(uint32_t shard, std::string_view ns, std::string_view id_prefix);
std::string id_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info);
// The list position (visibility_suffix) of the run a per-ID key names, from the key's bytes alone;
// `id_offset` is where the workflow ID starts (id_visibility_range(shard, ns, "").size()).
// Returns nullopt when the key is malformed.
std::optional<std::string> id_visibility_position(std::string_view key, size_t id_offset);
// The per-attribute index: the prefix of the runs whose attribute `name` has `value` (for a
// keyword list: holds it as one element, given as a keyword), and the keys of `info`'s indexed
// attributes (one per value; text and double attributes have none). nullopt / nothing for a value
// of a type that is not indexed.
std::optional<std::string> attribute_value_prefix(uint32_t shard, std::string_view ns,
                                                  std::string_view name,
                                                  const pb::SearchAttributeValue& value);
std::vector<std::string> attribute_visibility_keys(uint32_t shard,
                                                   const pb::WorkflowExecutionInfo& info);
std::string retention_prefix(uint32_t shard);
std::string retention_key(uint32_t shard, int64_t delete_at_ms, const pb::WorkflowExecutionInfo& info);

// The length of the part of `key` (a key of table `t`) by which RocksDB's memtable keeps an insert
// hint (store.cpp): keys sharing it are mostly written one after another at neighbouring places,
// so an insert starts from where the last one with the same part went instead of from the top of
// the skip list. history and transfers: the run; executions: the whole key (rewritten in place);
// timers: the shard; visibility: the index and its leading fields (namespace, type, status).
// 0 (no hint) for a key that is only a shard prefix, and for the raft table: such keys start
// range deletions (store::drop_shard, write_batch::delete_shard_data, delete_raft_entries), and
// RocksDB 7.8's memtable keeps ONE hint per prefix for both its point-key and its range-deletion
// skip lists, so a range deletion whose start key shares a hint with point keys is inserted from
// a node of the other list (InlineSkipList assertion, or a corrupt memtable without asserts).
// 0 for a table without hints or a key too short to have the part. Only a hint: any length is
// correct, a good one saves memtable comparisons.
size_t insert_hint_prefix_length(table t, std::string_view key);

// Returns the smallest key greater than every key starting with `prefix`, for use as an
// exclusive upper bound. Returns nullopt when no such key exists (prefix is all 0xFF bytes).
std::optional<std::string> prefix_successor(std::string_view prefix);

}  // namespace chronicle::storage::keys
