// Key encoding; the layout is documented in keys.hpp.
#include "storage/keys.hpp"

#include <algorithm>

namespace chronicle::storage::keys {

namespace {

constexpr char executions_state_tag = 'm';
constexpr char executions_current_tag = 'c';
constexpr char executions_schedule_tag = 'S';
constexpr char executions_batch_tag = 'B';
constexpr char visibility_type_tag = 't';
constexpr char visibility_id_tag = 'i';
constexpr char visibility_type_status_tag = 'y';
constexpr char visibility_attribute_tag = 'a';
constexpr char visibility_count_tag = 'n';
constexpr char visibility_type_count_tag = 'N';
constexpr char visibility_attribute_count_tag = 'A';
constexpr char raft_term_tag = 't';
constexpr char raft_vote_tag = 'v';
constexpr char raft_entry_tag = 'e';
constexpr char raft_snapshot_meta_tag = 's';
constexpr char raft_snapshot_data_tag = 'd';
constexpr char raft_applied_tag = 'a';
constexpr char raft_stage_tag = 'g';

uint64_t as_u64(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

// The position just after the terminator of the escaped string that starts at `from`, or npos
// when the key ends first.
size_t string_end(std::string_view key, size_t from) {
  size_t i = from;
  while (i + 1 < key.size()) {
    if (key[i] != '\0') {
      ++i;
    } else if (key[i + 1] == '\x01') {
      return i + 2;
    } else {
      i += 2;  // an escaped 0x00
    }
  }
  return std::string_view::npos;
}

std::string run_prefix(const run_key& run) {
  std::string k = shard_prefix(run.shard);
  put_string(&k, run.ns);
  put_string(&k, run.workflow_id);
  put_string(&k, run.run_id);
  return k;
}

}  // namespace

const char* table_name(table t) {
  switch (t) {
    case table::default_cf: return "default";
    case table::history: return "history";
    case table::executions: return "executions";
    case table::timers: return "timers";
    case table::transfers: return "transfers";
    case table::visibility: return "visibility";
    case table::meta: return "meta";
    case table::raft: return "raft";
  }
  return "unknown";
}

bool is_data_table(uint8_t tag) {
  for (auto t : data_tables)
    if (static_cast<uint8_t>(t) == tag) return true;
  return false;
}

void put_u32(std::string* dst, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) dst->push_back(static_cast<char>((v >> shift) & 0xFF));
}

void put_u64(std::string* dst, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) dst->push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::string encode_u32(uint32_t v) {
  std::string s;
  put_u32(&s, v);
  return s;
}

std::string encode_u64(uint64_t v) {
  std::string s;
  put_u64(&s, v);
  return s;
}

std::optional<uint32_t> decode_u32(std::string_view bytes) {
  if (bytes.size() != 4) return std::nullopt;
  uint32_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

void put_string_prefix(std::string* dst, std::string_view s) {
  // Runs without a 0x00 byte are copied whole (IDs seldom hold one).
  for (size_t nul; (nul = s.find('\0')) != std::string_view::npos; s.remove_prefix(nul + 1)) {
    dst->append(s.data(), nul);
    dst->append("\0\xFF", 2);
  }
  dst->append(s);
}

void put_string(std::string* dst, std::string_view s) {
  put_string_prefix(dst, s);
  dst->push_back('\0');
  dst->push_back('\x01');
}

std::string shard_prefix(uint32_t shard) {
  std::string k;
  k.reserve(128);  // one allocation for a whole key of usual IDs, appended to this prefix
  put_u32(&k, shard);
  return k;
}

std::optional<uint64_t> decode_u64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string raft_key(uint32_t shard, raft_record record) {
  std::string k = shard_prefix(shard);
  switch (record) {
    case raft_record::term: k.push_back(raft_term_tag); break;
    case raft_record::vote: k.push_back(raft_vote_tag); break;
    case raft_record::snapshot_meta: k.push_back(raft_snapshot_meta_tag); break;
    case raft_record::snapshot_data: k.push_back(raft_snapshot_data_tag); break;
    case raft_record::applied_index: k.push_back(raft_applied_tag); break;
  }
  return k;
}

std::string raft_entries_prefix(uint32_t shard) {
  std::string k = shard_prefix(shard);
  k.push_back(raft_entry_tag);
  return k;
}

std::string raft_stages_prefix(uint32_t shard) {
  std::string k = shard_prefix(shard);
  k.push_back(raft_stage_tag);
  return k;
}

std::string raft_stage_prefix(uint32_t shard, uint64_t stream) {
  std::string k = raft_stages_prefix(shard);
  put_u64(&k, stream);
  return k;
}

std::string raft_entry_key(uint32_t shard, uint64_t index) {
  std::string k = raft_entries_prefix(shard);
  put_u64(&k, index);
  return k;
}

std::optional<uint64_t> raft_entry_index(uint32_t shard, std::string_view key) {
  auto prefix = raft_entries_prefix(shard);
  if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  return decode_u64(key.substr(prefix.size()));
}

std::string history_prefix(const run_key& run) { return run_prefix(run); }

std::string history_key(const run_key& run, int64_t first_event_id) {
  std::string k = run_prefix(run);
  put_u64(&k, as_u64(first_event_id));
  return k;
}

std::string state_key(const run_key& run) {
  std::string k = shard_prefix(run.shard);
  k.push_back(executions_state_tag);
  put_string(&k, run.ns);
  put_string(&k, run.workflow_id);
  put_string(&k, run.run_id);
  return k;
}

std::string current_key(uint32_t shard, std::string_view ns, std::string_view workflow_id) {
  std::string k = shard_prefix(shard);
  k.push_back(executions_current_tag);
  put_string(&k, ns);
  put_string(&k, workflow_id);
  return k;
}

std::string schedules_prefix(uint32_t shard) {
  std::string k = shard_prefix(shard);
  k.push_back(executions_schedule_tag);
  return k;
}

std::string schedule_key(uint32_t shard, std::string_view ns, std::string_view schedule_id) {
  std::string k = schedules_prefix(shard);
  put_string(&k, ns);
  put_string(&k, schedule_id);
  return k;
}

std::string batch_jobs_prefix(uint32_t shard) {
  std::string k = shard_prefix(shard);
  k.push_back(executions_batch_tag);
  return k;
}

std::string batch_job_key(uint32_t shard, std::string_view ns, std::string_view job_id) {
  std::string k = batch_jobs_prefix(shard);
  put_string(&k, ns);
  put_string(&k, job_id);
  return k;
}

std::string timer_key(uint32_t shard, const pb::TimerRecord& timer) {
  std::string k = shard_prefix(shard);
  put_u64(&k, as_u64(timer.fire_time_ms()));
  put_string(&k, timer.namespace_());
  put_string(&k, timer.workflow_id());
  put_string(&k, timer.run_id());
  put_u64(&k, as_u64(timer.started_event_id()));
  return k;
}

std::string transfer_key(uint32_t shard, const pb::TransferRecord& transfer) {
  std::string k = shard_prefix(shard);
  put_string(&k, transfer.namespace_());
  put_string(&k, transfer.workflow_id());
  put_string(&k, transfer.run_id());
  put_u64(&k, as_u64(transfer.scheduled_event_id()));
  return k;
}

std::string visibility_prefix(uint32_t shard, std::string_view ns) {
  std::string k = shard_prefix(shard);
  k.push_back('v');
  put_string(&k, ns);
  return k;
}

std::string visibility_suffix(const pb::WorkflowExecutionInfo& info) {
  std::string k;
  put_u64(&k, ~as_u64(info.start_time_ms()));
  put_string(&k, info.workflow_id());
  put_string(&k, info.run_id());
  return k;
}

std::string visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info) {
  return visibility_prefix(shard, info.namespace_()) + visibility_suffix(info);
}

std::optional<int64_t> position_start_time(std::string_view position) {
  if (position.size() < 8) return std::nullopt;
  uint64_t inverted = 0;
  for (size_t i = 0; i < 8; ++i) inverted = (inverted << 8) | static_cast<uint8_t>(position[i]);
  return static_cast<int64_t>(~inverted);
}

bool position_id_starts_with(std::string_view position, std::string_view escaped_id_prefix) {
  return position.size() >= 8 && position.substr(8).substr(0, escaped_id_prefix.size()) == escaped_id_prefix;
}

std::string status_visibility_prefix(uint32_t shard, std::string_view ns,
                                     pb::WorkflowExecutionStatus status) {
  std::string k = shard_prefix(shard);
  k.push_back('s');
  put_string(&k, ns);
  put_u32(&k, static_cast<uint32_t>(status));
  return k;
}

std::string status_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info) {
  return status_visibility_prefix(shard, info.namespace_(), info.status()) + visibility_suffix(info);
}

std::string type_visibility_prefix(uint32_t shard, std::string_view ns, std::string_view type) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_type_tag);
  put_string(&k, ns);
  put_string(&k, type);
  return k;
}

std::string type_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info) {
  return type_visibility_prefix(shard, info.namespace_(), info.workflow_type())
         + visibility_suffix(info);
}

bool put_once_visibility_key(std::string_view key) {
  return key.size() > 4 && (key[4] == 's' || key[4] == visibility_type_status_tag);
}

std::string type_status_visibility_prefix(uint32_t shard, std::string_view ns,
                                          std::string_view type, pb::WorkflowExecutionStatus status) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_type_status_tag);
  put_string(&k, ns);
  put_string(&k, type);
  put_u32(&k, static_cast<uint32_t>(status));
  return k;
}

std::string count_prefix(uint32_t shard, std::string_view ns) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_count_tag);
  put_string(&k, ns);
  return k;
}

std::string count_key(uint32_t shard, std::string_view ns, pb::WorkflowExecutionStatus status) {
  auto k = count_prefix(shard, ns);
  put_u32(&k, static_cast<uint32_t>(status));
  return k;
}

std::string type_count_prefix(uint32_t shard, std::string_view ns, std::string_view type) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_type_count_tag);
  put_string(&k, ns);
  put_string(&k, type);
  return k;
}

std::string type_count_key(uint32_t shard, std::string_view ns, std::string_view type,
                           pb::WorkflowExecutionStatus status) {
  auto k = type_count_prefix(shard, ns, type);
  put_u32(&k, static_cast<uint32_t>(status));
  return k;
}

std::string attribute_count_key(std::string_view attribute_key, size_t suffix_size) {
  std::string k(attribute_key.substr(0, attribute_key.size() - suffix_size));
  k[4] = visibility_attribute_count_tag;
  return k;
}

std::optional<std::string> attribute_count_key(uint32_t shard, std::string_view ns,
                                               std::string_view name,
                                               const pb::SearchAttributeValue& value) {
  auto k = attribute_value_prefix(shard, ns, name, value);
  if (k) (*k)[4] = visibility_attribute_count_tag;
  return k;
}

std::optional<pb::WorkflowExecutionStatus> count_key_status(std::string_view key) {
  if (key.size() < 4 + 1 + 4) return std::nullopt;
  auto v = decode_u32(key.substr(key.size() - 4));
  if (!v) return std::nullopt;
  return static_cast<pb::WorkflowExecutionStatus>(*v);
}

std::string type_status_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info) {
  return type_status_visibility_prefix(shard, info.namespace_(), info.workflow_type(),
                                       info.status())
         + visibility_suffix(info);
}

std::string id_visibility_range(uint32_t shard, std::string_view ns, std::string_view id_prefix) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_id_tag);
  put_string(&k, ns);
  put_string_prefix(&k, id_prefix);
  return k;
}

std::string id_visibility_key(uint32_t shard, const pb::WorkflowExecutionInfo& info) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_id_tag);
  put_string(&k, info.namespace_());
  put_string(&k, info.workflow_id());
  put_u64(&k, ~as_u64(info.start_time_ms()));
  put_string(&k, info.run_id());
  return k;
}

std::optional<std::string> id_visibility_position(std::string_view key, size_t id_offset) {
  // key: ... | escaped workflow_id 0x00 0x01 | ~start (8 bytes) | escaped run_id 0x00 0x01
  const size_t id_end = string_end(key, id_offset);  // after the terminator
  if (id_end == std::string_view::npos || key.size() < id_end + 8 + 2) return std::nullopt;
  std::string pos;
  pos.reserve(key.size() - id_offset);
  pos.append(key.substr(id_end, 8));
  pos.append(key.substr(id_offset, id_end - id_offset));
  pos.append(key.substr(id_end + 8));
  return pos;
}

size_t insert_hint_prefix_length(table t, std::string_view key) {
  constexpr size_t shard_bytes = 4, u64_bytes = 8, u32_bytes = 4, npos = std::string_view::npos;
  switch (t) {
    case table::history:
    case table::transfers:  // run | event ID: per run, in event order
      return key.size() > shard_bytes + u64_bytes ? key.size() - u64_bytes : 0;
    case table::executions:  // mutable state and current run: the same key again and again
      return key.size() > shard_bytes ? key.size() : 0;
    case table::timers:  // shard | fire time: mostly later and later
      return key.size() > shard_bytes ? shard_bytes : 0;
    case table::visibility: {
      // shard | tag | ...: newest start first in each index, so a new run goes next to the last
      // one written under the same leading fields.
      const size_t tagged = shard_bytes + 1;
      if (key.size() < tagged) return 0;
      const char tag = key[shard_bytes];
      if (tag == 'r') return tagged;  // delete time first
      size_t end = string_end(key, tagged);  // namespace
      if (end != npos && (tag == visibility_type_tag || tag == visibility_type_status_tag))
        end = string_end(key, end);  // workflow type
      if (end != npos && (tag == 's' || tag == visibility_type_status_tag)) end += u32_bytes;
      return end == npos || end > key.size() ? tagged : end;
    }
    case table::raft:  // truncations and snapshots delete ranges of entries: no hints (above)
    case table::default_cf:
    case table::meta: return 0;
  }
  return 0;
}

std::optional<std::string> attribute_value_prefix(uint32_t shard, std::string_view ns,
                                                  std::string_view name,
                                                  const pb::SearchAttributeValue& value) {
  std::string k = shard_prefix(shard);
  k.push_back(visibility_attribute_tag);
  put_string(&k, ns);
  put_string(&k, name);
  // A type byte first, so that a schema change of the attribute's type never mixes encodings.
  switch (value.value_case()) {
    case pb::SearchAttributeValue::kKeyword:
    case pb::SearchAttributeValue::kKeywordList:  // an element, given as a keyword
      k.push_back('k');
      put_string(&k, value.keyword());
      return k;
    case pb::SearchAttributeValue::kIntValue:
      k.push_back('i');
      put_u64(&k, static_cast<uint64_t>(value.int_value()) ^ (1ULL << 63));  // signed order
      return k;
    case pb::SearchAttributeValue::kDatetimeMs:
      k.push_back('d');
      put_u64(&k, static_cast<uint64_t>(value.datetime_ms()) ^ (1ULL << 63));
      return k;
    case pb::SearchAttributeValue::kBoolValue:
      k.push_back('b');
      k.push_back(value.bool_value() ? '\x01' : '\x00');
      return k;
    default: return std::nullopt;  // text, double: not indexed
  }
}

std::vector<std::string> attribute_visibility_keys(uint32_t shard,
                                                   const pb::WorkflowExecutionInfo& info) {
  std::vector<std::string> out;
  if (info.search_attributes().empty()) return out;
  const auto suffix = visibility_suffix(info);
  for (const auto& [name, value] : info.search_attributes()) {
    if (value.has_keyword_list()) {
      for (const auto& element : value.keyword_list().values()) {
        pb::SearchAttributeValue one;
        one.set_keyword(element);
        out.push_back(*attribute_value_prefix(shard, info.namespace_(), name, one) + suffix);
      }
      continue;
    }
    if (auto prefix = attribute_value_prefix(shard, info.namespace_(), name, value))
      out.push_back(*prefix + suffix);
  }
  // A list holding a value twice has one entry for it.
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string retention_prefix(uint32_t shard) {
  std::string k = shard_prefix(shard);
  k.push_back('r');
  return k;
}

std::string retention_key(uint32_t shard, int64_t delete_at_ms, const pb::WorkflowExecutionInfo& info) {
  std::string k = retention_prefix(shard);
  put_u64(&k, as_u64(delete_at_ms));
  put_string(&k, info.namespace_());
  put_string(&k, info.workflow_id());
  put_string(&k, info.run_id());
  return k;
}

std::optional<std::string> prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto last = static_cast<uint8_t>(s.back());
    if (last != 0xFF) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

}  // namespace chronicle::storage::keys
