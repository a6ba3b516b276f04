// Visibility reads: list pages over the newest-first indexes ('v' every run, 's' per status, 't'
// per workflow type, 'y' per type and status) and the per-ID index ('i'); the one-time upgrade
// that writes the newer indexes' entries of a schema 1 or 2 database. Key layout: storage/keys.hpp.
//
// Choosing the index. Every index that can hold all matches of a filter is a candidate:
//   - the per-type-and-status index when both are set, else the per-type index when a type is
//     set, the per-status index when a status is set, the index of every run when neither is:
//     read newest first from the page's position, each entry checked against the remaining
//     filters, until page_size + 1 matches (or the start-time lower bound) are reached. Cost: the entries up to the page's last match (an entry whose key rules
//     it out, by start time or ID prefix, is not parsed).
//   - the per-ID index when an ID prefix is set: its prefix range is ordered by workflow ID, not
//     by start time, so every entry of the range is read and the page_size + 1 newest matches
//     after the page's position are kept (with a bound, see by_id_prefix), then sorted. Cost:
//     the runs whose ID has the prefix (an entry's position comes from its key, so only those
//     that can still be in the page are parsed); memory: two pages.
// The candidates run in step, one entry each in turn, and the first to finish answers: all of them
// give the same runs in the same order, so the answer does not depend on which one wins, and the
// cost is at most (number of candidates, <= 2) x the cheapest one's. A narrow ID prefix
// ("fill-12345", 11 runs) is answered by the per-ID index after 11 reads; a wide one ("fill-", a
// million runs) by the newest-first index after about a page's worth (or, when the newest runs do
// not have the prefix, by the per-ID index after reading its range); a type and a status together
// by their own index, whose entries all match. One exception to the lockstep: with only an ID
// prefix (and start-time bounds), an ID range that RocksDB estimates at no more than 1 MB
// (store::set_id_range_alone_bytes: about 15,000 runs at ~65 bytes each on disk, a few ms to read)
// is read alone, its cost being known and bounded (measured: `fill-1` at 1.1 M runs is 6,900 runs
// and 455 KB per shard; the estimate takes 5-20 µs). The worst case left is a filter whose
// matches are rare in every candidate index (e.g. a close-time range far back with a wide ID
// prefix): that costs the cheapest candidate's entries up to the page's last match.
#include <rocksdb/snapshot.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include "storage/query.hpp"
#include "storage/store_impl.hpp"

namespace chronicle::storage {

bool visibility_filter::matches(const pb::WorkflowExecutionInfo& info) const {
  if (status != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED && info.status() != status) return false;
  if (!workflow_type.empty() && info.workflow_type() != workflow_type) return false;
  if (!workflow_id_prefix.empty() && info.workflow_id().rfind(workflow_id_prefix, 0) != 0)
    return false;
  if (start_time_from_ms && info.start_time_ms() < start_time_from_ms) return false;
  if (start_time_to_ms && info.start_time_ms() >= start_time_to_ms) return false;
  if (close_time_from_ms || close_time_to_ms) {
    if (info.close_time_ms() == 0) return false;
    if (info.close_time_ms() < close_time_from_ms) return false;
    if (close_time_to_ms && info.close_time_ms() >= close_time_to_ms) return false;
  }
  if (!build_id.empty() && !has_build_id(info, build_id)) return false;
  return !where || query::matches(*where, info);
}

bool has_build_id(const pb::WorkflowExecutionInfo& info, const std::string& build_id) {
  auto it = info.search_attributes().find(search::build_ids_attribute);
  if (it == info.search_attributes().end()) return false;
  const auto& ids = it->second.keyword_list().values();
  return std::find(ids.begin(), ids.end(), build_id) != ids.end();
}

namespace {

using entry = std::pair<std::string, pb::WorkflowExecutionInfo>;

// The visibility table as one list reads it: the database, the column family, a snapshot.
struct source {
  rocksdb::DB* db;
  rocksdb::ColumnFamilyHandle* cf;
  const rocksdb::Snapshot* snapshot;
};

// An iterator over the keys of the visibility table that start with `prefix` (upper bound set).
class prefix_iterator {
public:
  prefix_iterator(const source& src, std::string prefix) : prefix_(std::move(prefix)) {
    rocksdb::ReadOptions ro;
    ro.snapshot = src.snapshot;
    if (auto upper = keys::prefix_successor(prefix_)) {
      upper_ = std::move(*upper);
      upper_slice_ = rocksdb::Slice(upper_);
      ro.iterate_upper_bound = &upper_slice_;
    }
    it_.reset(src.db->NewIterator(ro, src.cf));
  }
  prefix_iterator(const prefix_iterator&) = delete;
  prefix_iterator& operator=(const prefix_iterator&) = delete;

  // Positions at the first key >= prefix + from (> when `skip_equal` and it is equal).
  void seek(const std::string& from, bool skip_equal) {
    const std::string start = prefix_ + from;
    it_->Seek(start);
    if (skip_equal && it_->Valid() && it_->key().ToStringView() == start) it_->Next();
  }
  [[nodiscard]] bool valid() const { return it_->Valid() && it_->key().starts_with(prefix_); }
  void next() { it_->Next(); }
  [[nodiscard]] std::string_view key() const { return it_->key().ToStringView(); }
  [[nodiscard]] std::string_view key_suffix() const {
    return it_->key().ToStringView().substr(prefix_.size());
  }
  [[nodiscard]] std::string value() const { return it_->value().ToString(); }
  // Parses the current value; false when it is not a WorkflowExecutionInfo.
  bool parse(pb::WorkflowExecutionInfo* info) const {
    auto v = it_->value();
    return info->ParseFromArray(v.data(), static_cast<int>(v.size()));
  }
  [[nodiscard]] status error() const {
    if (!it_->status().ok())
      return status::error("RocksDB scan of visibility failed: " + it_->status().ToString());
    return {};
  }

private:
  std::string prefix_;
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Several newest-first index ranges read as one (a union: an OR or IN of index ranges), merged
// by position (every index's suffix after its prefix is the run's visibility_suffix, so the
// ranges share one order); a run found in several ranges (two values of one keyword list, or a
// status and a type of an OR) comes out once. With one range it is that range's iterator.
class merged_iterator {
public:
  merged_iterator(const source& src, const std::vector<std::string>& prefixes) {
    for (const auto& p : prefixes) its_.push_back(std::make_unique<prefix_iterator>(src, p));
  }
  void seek(const std::string& from, bool skip_equal) {
    for (auto& it : its_) it->seek(from, skip_equal);
    pick();
  }
  [[nodiscard]] bool valid() const { return cur_ != nullptr; }
  void next() {
    if (its_.size() == 1) {
      cur_->next();
      pick();
      return;
    }
    const std::string at(cur_->key_suffix());
    for (auto& it : its_)
      if (it->valid() && it->key_suffix() == at) it->next();
    pick();
  }
  [[nodiscard]] std::string_view key_suffix() const { return cur_->key_suffix(); }
  bool parse(pb::WorkflowExecutionInfo* info) const { return cur_->parse(info); }
  [[nodiscard]] status error() const {
    for (const auto& it : its_)
      if (auto st = it->error(); !st.ok()) return st;
    return {};
  }

private:
  void pick() {
    cur_ = nullptr;
    for (auto& it : its_)
      if (it->valid() && (cur_ == nullptr || it->key_suffix() < cur_->key_suffix())) cur_ = it.get();
  }
  std::vector<std::unique_ptr<prefix_iterator>> its_;
  prefix_iterator* cur_ = nullptr;
};

// The index prefixes of one union of filter.unions (nullopt: a value that has no index).
std::optional<std::vector<std::string>> union_prefixes(uint32_t shard, const std::string& ns,
                                                       const std::vector<visibility_filter::index_term>& terms) {
  using kind = visibility_filter::index_term::kind;
  std::vector<std::string> out;
  for (const auto& t : terms) {
    switch (t.k) {
      case kind::status: out.push_back(keys::status_visibility_prefix(shard, ns, t.status)); break;
      case kind::type: out.push_back(keys::type_visibility_prefix(shard, ns, t.name)); break;
      case kind::attribute: {
        auto p = keys::attribute_value_prefix(shard, ns, t.name, t.value);
        if (!p) return std::nullopt;
        out.push_back(std::move(*p));
        break;
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());  // `IN ('a', 'a')`
  return out;
}

// One way to answer a page, one index entry per step().
class candidate {
public:
  explicit candidate(const char* name) : name_(name) {}
  virtual ~candidate() = default;
  candidate(const candidate&) = delete;
  candidate& operator=(const candidate&) = delete;
  // Reads one entry. Returns true when the answer is complete or the read failed (see error());
  // then step() must not be called again.
  virtual bool step() = 0;
  // Moves the answer to `out` (sets error() if a record read only now is corrupt).
  // REQUIRES: step() returned true and error() is ok.
  virtual void take(visibility_page* out) = 0;
  [[nodiscard]] const status& error() const { return error_; }
  [[nodiscard]] const char* name() const { return name_; }

protected:
  status error_;

private:
  const char* name_;
};

// Reads a newest-first index ('v', 's', 't', 'y', 'a', or a union of ranges) from the page's
// position.
class newest_first final : public candidate {
public:
  newest_first(const char* name, const source& src, uint32_t shard, std::string prefix,
               const std::string& from, bool from_is_token, const visibility_filter& filter,
               size_t page_size)
      : newest_first(name, src, shard, std::vector<std::string>{std::move(prefix)}, from,
                     from_is_token, filter, page_size) {}
  newest_first(const char* name, const source& src, uint32_t shard,
               const std::vector<std::string>& prefixes, const std::string& from,
               bool from_is_token, const visibility_filter& filter, size_t page_size)
      : candidate(name), it_(src, prefixes), shard_(shard), filter_(filter),
        page_size_(page_size) {
    keys::put_string_prefix(&escaped_id_prefix_, filter.workflow_id_prefix);
    it_.seek(from, from_is_token);
  }

  bool step() override {
    if (!it_.valid()) {
      error_ = it_.error();
      return true;
    }
    // The start time and the workflow ID are in the key: entries they rule out are not parsed.
    const auto pos = it_.key_suffix();
    const auto start = keys::position_start_time(pos);
    if (!start) return corrupt();
    if (filter_.start_time_from_ms && *start < filter_.start_time_from_ms)
      return true;  // older entries follow: none can match
    if (!escaped_id_prefix_.empty() && !keys::position_id_starts_with(pos, escaped_id_prefix_)) {
      it_.next();
      return false;
    }
    if (!it_.parse(&info_)) return corrupt();
    if (filter_.matches(info_)) {
      if (items_.size() == page_size_) {
        more_ = true;
        return true;
      }
      items_.emplace_back(std::string(it_.key_suffix()), info_);
    }
    it_.next();
    return false;
  }

  void take(visibility_page* out) override {
    out->items = std::move(items_);
    out->more = more_;
    out->index = name();
  }

private:
  bool corrupt() {
    error_ = status::error("corrupt visibility record in shard " + std::to_string(shard_));
    return true;
  }

  merged_iterator it_;
  uint32_t shard_;
  const visibility_filter& filter_;
  size_t page_size_;
  std::string escaped_id_prefix_;
  pb::WorkflowExecutionInfo info_;
  std::vector<entry> items_;
  bool more_ = false;
};

// Whether a per-ID key alone decides `filter` (ID prefix and start-time bounds only: no type,
// status or close-time filter), so that no entry has to be parsed to know it matches.
bool id_key_decides(const visibility_filter& filter) {
  return filter.workflow_type.empty() && filter.status == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED &&
         !filter.close_time_from_ms && !filter.close_time_to_ms && !filter.where;
}

// Reads the per-ID index's range of an ID prefix, keeping the page_size + 1 first matches in list
// order, then sorts them. Kept entries are collected unordered; whenever there are twice that
// many, only the page_size + 1 first stay (nth_element) and the last of them bounds the rest: an
// entry after it cannot be in the page. The position comes from the key, so an entry that cannot
// be in the page (before the token, after the bound, or outside the start-time bounds) is not
// parsed. When the key decides the whole filter (no type, status or close-time filter), no entry
// is parsed while reading: the values' bytes are kept and only the page's runs are parsed at the
// end. (In a range read in ID order, a run newer than the page so far is common: IDs given out in
// start order make every entry one, so this costs O(1) per entry where a heap cost O(log page).)
class by_id_prefix final : public candidate {
public:
  by_id_prefix(const source& src, uint32_t shard, const std::string& ns, const std::string& after,
               const visibility_filter& filter, size_t page_size)
      : candidate("id"), it_(src, keys::id_visibility_range(shard, ns, filter.workflow_id_prefix)),
        id_offset_(keys::id_visibility_range(shard, ns, "").size()), shard_(shard), after_(after),
        filter_(filter), page_size_(page_size),
        key_decides_(id_key_decides(filter)) {
    it_.seek({}, false);
  }

  bool step() override {
    if (!it_.valid()) {
      error_ = it_.error();
      return true;
    }
    auto pos = keys::id_visibility_position(it_.key(), id_offset_);
    if (!pos) return corrupt();
    const auto start = keys::position_start_time(*pos);
    const bool in_time = (!filter_.start_time_from_ms || *start >= filter_.start_time_from_ms) &&
                         (!filter_.start_time_to_ms || *start < filter_.start_time_to_ms);
    if (in_time && (after_.empty() || *pos > after_) && (bound_.empty() || *pos < bound_)) {
      std::string value = it_.value();
      if (!key_decides_) {
        if (!info_.ParseFromString(value)) return corrupt();
        if (!filter_.matches(info_)) value.clear();
      }
      if (!value.empty()) {
        kept_.push_back({std::move(*pos), std::move(value)});
        if (kept_.size() >= 2 * (page_size_ + 1)) cut();
      }
    }
    it_.next();
    return false;
  }

  void take(visibility_page* out) override {
    std::sort(kept_.begin(), kept_.end(), by_position);
    out->more = kept_.size() > page_size_;
    if (out->more) kept_.resize(page_size_);
    out->items.reserve(kept_.size());
    for (auto& [pos, value] : kept_) {
      pb::WorkflowExecutionInfo info;
      if (!info.ParseFromString(value)) {  // checked while reading unless key_decides_
        corrupt();
        out->items.clear();
        return;
      }
      out->items.emplace_back(std::move(pos), std::move(info));
    }
    out->index = name();
  }

private:
  using raw_entry = std::pair<std::string, std::string>;  // position, value bytes
  static bool by_position(const raw_entry& a, const raw_entry& b) { return a.first < b.first; }
  // Keeps the page_size + 1 first entries; the last of them is the new bound.
  void cut() {
    auto nth = kept_.begin() + static_cast<std::ptrdiff_t>(page_size_);
    std::nth_element(kept_.begin(), nth, kept_.end(), by_position);
    kept_.resize(page_size_ + 1);
    bound_ = kept_.back().first;  // the element nth_element put at page_size_
  }
  bool corrupt() {
    error_ = status::error("corrupt visibility ID index record in shard " + std::to_string(shard_));
    return true;
  }

  prefix_iterator it_;
  size_t id_offset_;
  uint32_t shard_;
  const std::string& after_;
  const visibility_filter& filter_;
  size_t page_size_;
  bool key_decides_;
  pb::WorkflowExecutionInfo info_;
  std::vector<raw_entry> kept_;
  std::string bound_;  // empty: none yet (a position is never empty)
};

// The candidates in step, one entry each in turn; the first to finish answers.
status answer(std::vector<std::unique_ptr<candidate>>& candidates, visibility_page* out) {
  for (;;) {
    for (auto& c : candidates) {
      if (!c->step()) continue;
      if (!c->error().ok()) return c->error();
      c->take(out);
      return c->error();  // a value parsed only by take() may be corrupt
    }
  }
}

// RocksDB's estimate of the bytes (files and memtables) of the keys starting with `prefix`.
uint64_t range_bytes(const source& src, const std::string& prefix) {
  auto upper = keys::prefix_successor(prefix);
  if (!upper) return std::numeric_limits<uint64_t>::max();
  rocksdb::Range range(prefix, *upper);
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  uint64_t bytes = 0;
  if (!src.db->GetApproximateSizes(options, src.cf, &range, 1, &bytes).ok())
    return std::numeric_limits<uint64_t>::max();
  return bytes;
}

}  // namespace

status store::list_visibility(uint32_t shard, const std::string& ns,
                              const visibility_filter& filter, const std::string& after,
                              size_t page_size, visibility_page* out) const {
  *out = {};
  if (page_size == 0) return status::error("list page size must be at least 1");
  if (shard >= num_shards_)
    return status::error("shard " + std::to_string(shard) + " is out of range (num_shards " +
                         std::to_string(num_shards_) + ")");
  // Where the newest-first indexes start: after the token, and not before the runs that started
  // before start_time_to_ms (entries are ordered by descending start time).
  std::string from = after;
  bool from_is_token = !after.empty();
  if (filter.start_time_to_ms) {
    pb::WorkflowExecutionInfo bound;
    bound.set_start_time_ms(filter.start_time_to_ms - 1);
    auto seek = keys::visibility_suffix(bound);
    seek.resize(8);
    if (from.empty() || seek > from) {
      from = std::move(seek);
      from_is_token = false;
    }
  }
  rocksdb::ManagedSnapshot snapshot(impl_->db.get());  // every candidate reads the same state
  const source src{impl_->db.get(), impl_->cf(table::visibility), snapshot.snapshot()};
  std::vector<std::unique_ptr<candidate>> candidates;
  if (!filter.workflow_id_prefix.empty()) {
    candidates.push_back(
      std::make_unique<by_id_prefix>(src, shard, ns, after, filter, page_size));
    // A small ID range is read alone when its keys decide the filter (no entry is parsed): its
    // cost is known and bounded, the index of every run's is not (it ends at the page's last
    // match, which may be behind every newer run). With a type or status filter their own
    // index stays in step: it reaches a page of matches soonest when they are recent.
    // (0: never alone. RocksDB's estimate of a small range in a memtable may be 0, which made
    // the tests that set 0 to keep the candidates in step fail about 1 run in 6.)
    if (id_key_decides(filter) && id_range_alone_bytes_ != 0 &&
        range_bytes(src, keys::id_visibility_range(shard, ns, filter.workflow_id_prefix)) <=
          id_range_alone_bytes_)
      return answer(candidates, out);
  }
  // Each `Attr = value` of the query: its index holds every match, newest first.
  for (const auto& [name, value] : filter.attribute_equals)
    if (auto prefix = keys::attribute_value_prefix(shard, ns, name, value))
      candidates.push_back(std::make_unique<newest_first>("attribute", src, shard,
                                                          std::move(*prefix), from, from_is_token,
                                                          filter, page_size));
  // Each OR / IN of index ranges: the union of its ranges holds every match.
  for (const auto& terms : filter.unions)
    if (auto prefixes = union_prefixes(shard, ns, terms))
      candidates.push_back(std::make_unique<newest_first>("union", src, shard, *prefixes, from,
                                                          from_is_token, filter, page_size));
  const bool by_attribute = candidates.size() > (filter.workflow_id_prefix.empty() ? 0 : 1);
  const bool by_status = filter.status != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  if (!filter.workflow_type.empty() && by_status)  // holds exactly the runs of both: enough
    candidates.push_back(std::make_unique<newest_first>(
      "type+status", src, shard,
      keys::type_status_visibility_prefix(shard, ns, filter.workflow_type, filter.status), from,
      from_is_token, filter, page_size));
  else if (!filter.workflow_type.empty())
    candidates.push_back(std::make_unique<newest_first>(
      "type", src, shard, keys::type_visibility_prefix(shard, ns, filter.workflow_type),
      from, from_is_token, filter, page_size));
  else if (by_status)
    candidates.push_back(std::make_unique<newest_first>(
      "status", src, shard, keys::status_visibility_prefix(shard, ns, filter.status),
      from, from_is_token, filter, page_size));
  if (filter.workflow_type.empty() && !by_status && !by_attribute)
    candidates.push_back(std::make_unique<newest_first>("all", src, shard,
                                                        keys::visibility_prefix(shard, ns), from,
                                                        from_is_token, filter, page_size));
  return answer(candidates, out);
}

status store::count_visibility(uint32_t shard, const std::string& ns,
                               const visibility_filter& filter, visibility_count* out) const {
  *out = {};
  if (shard >= num_shards_)
    return status::error("shard " + std::to_string(shard) + " is out of range (num_shards " +
                         std::to_string(num_shards_) + ")");
  rocksdb::ManagedSnapshot snapshot(impl_->db.get());
  const source src{impl_->db.get(), impl_->cf(table::visibility), snapshot.snapshot()};
  // A filter of a status and/or a workflow type only (or none): the run counters answer, a few
  // keys whatever the number of runs (keys::count_key, kept by every transition's batch).
  const bool by_status = filter.status != pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED;
  if (filter.workflow_id_prefix.empty() && !filter.start_time_from_ms && !filter.start_time_to_ms &&
      !filter.close_time_from_ms && !filter.close_time_to_ms && filter.attribute_equals.empty() &&
      filter.build_id.empty() && (!filter.where || query::decided_by_status_and_type(*filter.where))) {
    out->index = "counters";
    auto prefix = filter.workflow_type.empty()
                    ? keys::count_prefix(shard, ns)
                    : keys::type_count_prefix(shard, ns, filter.workflow_type);
    prefix_iterator it(src, prefix);
    it.seek({}, false);
    for (; it.valid(); it.next()) {
      auto st = keys::count_key_status(it.key());
      auto n = keys::decode_u64(it.value());
      if (!st || !n) return status::error("corrupt run counter in shard " + std::to_string(shard));
      if (by_status && *st != filter.status) continue;
      if (static_cast<int64_t>(*n) != 0) out->per_status[*st] += static_cast<int64_t>(*n);
    }
    return it.error();
  }
  // `Attr = value` alone on an indexed attribute, not grouped by status: its run counter.
  if (filter.attribute_equals.size() == 1 && !filter.group_by_status && filter.where &&
      query::is_single_test(*filter.where, query::field::custom, query::op::eq) && !by_status &&
      filter.workflow_type.empty() && filter.workflow_id_prefix.empty() && filter.build_id.empty() &&
      !filter.start_time_from_ms && !filter.start_time_to_ms && !filter.close_time_from_ms &&
      !filter.close_time_to_ms) {
    const auto& [name, value] = filter.attribute_equals.front();
    if (auto key = keys::attribute_count_key(shard, ns, name, value)) {
      out->index = "counters";
      std::string bytes;
      auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(table::visibility), *key, &bytes);
      if (s.IsNotFound()) return {};
      if (!s.ok()) return status::error("RocksDB read of visibility failed: " + s.ToString());
      auto n = keys::decode_u64(bytes);
      if (!n) return status::error("corrupt run counter in shard " + std::to_string(shard));
      if (static_cast<int64_t>(*n) != 0)
        out->per_status[pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED] += static_cast<int64_t>(*n);
      return {};
    }
  }
  // Every index that holds all matches; the one RocksDB estimates smallest is read whole.
  std::vector<std::pair<const char*, std::vector<std::string>>> ranges;
  auto one = [](std::string p) { return std::vector<std::string>{std::move(p)}; };
  if (!filter.workflow_type.empty() && by_status)
    ranges.emplace_back("type+status", one(keys::type_status_visibility_prefix(
                                         shard, ns, filter.workflow_type, filter.status)));
  else if (!filter.workflow_type.empty())
    ranges.emplace_back("type", one(keys::type_visibility_prefix(shard, ns, filter.workflow_type)));
  else if (by_status)
    ranges.emplace_back("status", one(keys::status_visibility_prefix(shard, ns, filter.status)));
  for (const auto& [name, value] : filter.attribute_equals)
    if (auto prefix = keys::attribute_value_prefix(shard, ns, name, value))
      ranges.emplace_back("attribute", one(std::move(*prefix)));
  for (const auto& terms : filter.unions)
    if (auto prefixes = union_prefixes(shard, ns, terms)) ranges.emplace_back("union", std::move(*prefixes));
  if (ranges.empty()) ranges.emplace_back("all", one(keys::visibility_prefix(shard, ns)));
  size_t best = 0;
  if (ranges.size() > 1) {
    uint64_t smallest = std::numeric_limits<uint64_t>::max();
    for (size_t i = 0; i < ranges.size(); ++i) {
      uint64_t bytes = 0;
      for (const auto& p : ranges[i].second) bytes += range_bytes(src, p);
      if (bytes < smallest) {
        smallest = bytes;
        best = i;
      }
    }
  }
  out->index = ranges[best].first;
  // Only the status of each entry counts when the index alone decides the filter: the status
  // index (its key has the status), or the type+status one, with nothing else to check.
  const bool key_decides = (out->index == std::string("status") ||
                            out->index == std::string("type+status")) &&
                           filter.workflow_id_prefix.empty() && !filter.where &&
                           !filter.start_time_from_ms && !filter.start_time_to_ms &&
                           !filter.close_time_from_ms && !filter.close_time_to_ms &&
                           filter.attribute_equals.empty();
  merged_iterator it(src, ranges[best].second);
  it.seek({}, false);
  int64_t n = 0;
  pb::WorkflowExecutionInfo info;
  for (; it.valid(); it.next()) {
    if (key_decides) {
      ++n;
      continue;
    }
    if (!it.parse(&info))
      return status::error("corrupt visibility record in shard " + std::to_string(shard));
    if (filter.matches(info)) ++out->per_status[info.status()];
  }
  if (n) out->per_status[filter.status] += n;
  return it.error();
}

status store::scan_visibility(
  uint32_t shard, const std::string& ns, const std::string& after,
  const std::function<bool(const std::string&, const pb::WorkflowExecutionInfo&)>& fn,
  pb::WorkflowExecutionStatus only) const {
  const auto prefix = only == pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
                        ? keys::visibility_prefix(shard, ns)
                        : keys::status_visibility_prefix(shard, ns, only);
  prefix_iterator it(source{impl_->db.get(), impl_->cf(table::visibility), nullptr}, prefix);
  it.seek(after, !after.empty());
  pb::WorkflowExecutionInfo info;
  for (; it.valid(); it.next()) {
    if (!it.parse(&info))
      return status::error("corrupt visibility record in shard " + std::to_string(shard));
    if (!fn(std::string(it.key_suffix()), info)) return {};
  }
  return it.error();
}

namespace {

// Visits every visibility record ('v') of every shard in key order: fn(shard, record, its
// bytes); stops at the first error (of fn, a record that does not parse, or the scan).
status each_visibility_record(
  rocksdb::DB& db, rocksdb::ColumnFamilyHandle* cf,
  const std::function<status(uint32_t, const pb::WorkflowExecutionInfo&, const rocksdb::Slice&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions(), cf));
  pb::WorkflowExecutionInfo info;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    if (key.size() <= 4 || key[4] != 'v') continue;
    auto shard = keys::decode_u32(key.substr(0, 4));
    auto v = it->value();
    if (!shard || !info.ParseFromArray(v.data(), static_cast<int>(v.size())))
      return status::error("corrupt visibility record (key of " + std::to_string(key.size()) +
                           " bytes)");
    if (auto st = fn(*shard, info, v); !st.ok()) return st;
  }
  if (!it->status().ok())
    return status::error("RocksDB scan of visibility failed: " + it->status().ToString());
  return {};
}

}  // namespace

// Schema 1 or 2 -> 3: writes the index entries the newer schemas added for every visibility
// record ('v'): from 1 the per-type, per-ID and per-type-and-status entries (and the per-status
// ones schema 1 already has), from 2 the per-type-and-status ones. Idempotent (the same keys and
// values; a per-status or per-type-and-status key that exists is not put again, see
// keys::put_once_visibility_key), so an upgrade cut short is simply run again; the caller records
// schema 3 (synced) only after it succeeded.
status store::impl::upgrade_visibility_indexes(uint32_t from_version) {
  constexpr size_t records_per_write = 10000;
  rocksdb::WriteBatch wb;
  size_t in_batch = 0;
  auto flush = [&]() -> status {
    if (in_batch == 0) return {};
    auto s = db->Write(rocksdb::WriteOptions(), &wb);
    wb.Clear();
    in_batch = 0;
    if (!s.ok()) return status::error("RocksDB write failed: " + s.ToString());
    return {};
  };
  std::vector<std::string> entries;
  auto st = each_visibility_record(*db, cf(table::visibility), [&](uint32_t shard,
                                                                    const pb::WorkflowExecutionInfo& info,
                                                                    const rocksdb::Slice& v) -> status {
    entries.clear();
    if (from_version < 2)
      entries = {keys::status_visibility_key(shard, info), keys::type_visibility_key(shard, info),
                 keys::id_visibility_key(shard, info)};  // 's': schema 1 builds before the per-status index
    entries.push_back(keys::type_status_visibility_key(shard, info));
    for (const auto& k : entries) {
      status st;
      // Only a running run's entries are ever SingleDeleted (when it closes).
      if (info.status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING &&
          keys::put_once_visibility_key(k) && exists(table::visibility, k, &st))
        continue;
      if (!st.ok()) return st;
      auto s = wb.Put(cf(table::visibility), k, v);
      if (!s.ok()) return status::error("cannot build RocksDB write batch: " + s.ToString());
    }
    if (++in_batch == records_per_write) return flush();
    return {};
  });
  if (!st.ok()) return st;
  return flush();
}

// Schema 4: the run counters of every shard, namespace, status and type, computed from the
// visibility records ('v') and written as plain values (absolute, so an upgrade cut short is
// simply run again). The caller records schema 4 (synced) only after it succeeded.
status store::impl::upgrade_visibility_counters() {
  std::map<std::string, int64_t> counts;
  auto st = each_visibility_record(*db, cf(table::visibility), [&](uint32_t shard,
                                                                    const pb::WorkflowExecutionInfo& info,
                                                                    const rocksdb::Slice&) -> status {
    ++counts[keys::count_key(shard, info.namespace_(), info.status())];
    ++counts[keys::type_count_key(shard, info.namespace_(), info.workflow_type(), info.status())];
    const auto suffix_size = keys::visibility_suffix(info).size();
    for (const auto& k : keys::attribute_visibility_keys(shard, info))
      ++counts[keys::attribute_count_key(k, suffix_size)];
    return {};
  });
  if (!st.ok()) return st;
  rocksdb::WriteBatch wb;
  for (const auto& [key, n] : counts) {
    std::string value;
    keys::put_u64(&value, static_cast<uint64_t>(n));
    auto s = wb.Put(cf(table::visibility), key, value);
    if (!s.ok()) return status::error("cannot build RocksDB write batch: " + s.ToString());
  }
  auto s = db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) return status::error("RocksDB write failed: " + s.ToString());
  return {};
}

}  // namespace chronicle::storage
