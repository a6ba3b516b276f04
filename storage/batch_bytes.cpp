// write_batch as bytes: a transition's batch travels as a raft log entry (docs/replication.md).
//
// Format, version 1 (integers big-endian):
//   version (u8 = 1) | count (u32) | count x operation
//   operation = kind (u8: 1 put, 2 delete, 3 single delete, 5 merge) | table (u8, keys::table tag)
//               | key length (u32) | key | put and merge only: value length (u32) | value
//   (a merge is a run counter's delta: visibility table, 8-byte value; added in schema 4)
// Tables are named by their keys::table tag (part of the on-disk format, the same on every
// node), never by a database's column family IDs, which depend on the order in which a database
// created them. Only the data tables (keys::data_tables) may appear.
#include <algorithm>
#include <string_view>

#include "storage/keys.hpp"
#include "storage/store_impl.hpp"

namespace chronicle::storage {

namespace {

constexpr uint8_t batch_format_version = 1;

// Reads big-endian integers and byte strings from `in`, failing (never reading past the end)
// once anything is short.
struct reader {
  std::string_view in;
  bool ok = true;

  uint64_t uint(size_t bytes) {
    if (!ok || in.size() < bytes) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
    in.remove_prefix(bytes);
    return v;
  }
  std::string_view bytes(size_t n) {
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    auto out = in.substr(0, n);
    in.remove_prefix(n);
    return out;
  }
};

status corrupt(const std::string& what) { return status::error("corrupt batch bytes: " + what); }

}  // namespace

status write_batch::to_bytes(std::string* out) const {
  const auto& b = *impl_;
  if (!b.error.empty()) return status::error(b.error);
  size_t total = 5;
  for (const auto& op : b.ops) total += 10 + op.key.size() + op.value.size();
  std::string bytes;
  bytes.reserve(total);
  bytes.push_back(static_cast<char>(batch_format_version));
  keys::put_u32(&bytes, static_cast<uint32_t>(b.ops.size()));
  for (const auto& op : b.ops) {
    if (!keys::is_data_table(static_cast<uint8_t>(op.cf)))
      return status::error(std::string("a batch writing table ") + keys::table_name(op.cf) +
                           " cannot be sent as bytes");
    if (op.kind == op_kind::range_del)
      return status::error("a batch with a range deletion cannot be sent as bytes");
    if (op.key.size() > UINT32_MAX || op.value.size() > UINT32_MAX)
      return status::error("a batch record over 4 GB cannot be sent as bytes");
    bytes.push_back(static_cast<char>(op.kind));
    bytes.push_back(static_cast<char>(op.cf));
    keys::put_u32(&bytes, static_cast<uint32_t>(op.key.size()));
    bytes.append(op.key);
    if (op.kind == op_kind::put || op.kind == op_kind::merge) {
      keys::put_u32(&bytes, static_cast<uint32_t>(op.value.size()));
      bytes.append(op.value);
    }
  }
  *out = std::move(bytes);
  return {};
}

std::optional<write_batch> write_batch::from_bytes(std::string_view bytes, uint32_t shard,
                                                   status* st) {
  auto fail = [&](status s) -> std::optional<write_batch> {
    if (st != nullptr) *st = std::move(s);
    return std::nullopt;
  };
  reader r{bytes};
  const auto version = r.uint(1);
  if (!r.ok) return fail(corrupt("empty"));
  if (version != batch_format_version)
    return fail(corrupt("unknown version " + std::to_string(version)));
  const auto count = r.uint(4);
  // Every operation takes at least 10 bytes: a count beyond that is a lie (no huge reserve).
  if (!r.ok || count > r.in.size() / 10) return fail(corrupt("bad operation count"));
  const std::string prefix = keys::shard_prefix(shard);
  write_batch batch;
  batch.impl_->ops.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const auto kind = r.uint(1);
    const auto tag = r.uint(1);
    const auto key = r.bytes(r.uint(4));
    if (!r.ok) return fail(corrupt("operation " + std::to_string(i) + " is cut short"));
    if (kind != static_cast<uint8_t>(op_kind::put) && kind != static_cast<uint8_t>(op_kind::del) &&
        kind != static_cast<uint8_t>(op_kind::single_del) && kind != static_cast<uint8_t>(op_kind::merge))
      return fail(corrupt("operation " + std::to_string(i) + " has unknown kind " +
                          std::to_string(kind)));
    if (!keys::is_data_table(static_cast<uint8_t>(tag)))
      return fail(corrupt("operation " + std::to_string(i) + " names table " +
                          std::to_string(tag) + ", not a data table"));
    if (key.substr(0, prefix.size()) != prefix || key.size() < prefix.size())
      return fail(corrupt("operation " + std::to_string(i) + " writes outside shard " +
                          std::to_string(shard)));
    std::string_view value;
    if (kind == static_cast<uint8_t>(op_kind::put) || kind == static_cast<uint8_t>(op_kind::merge)) {
      value = r.bytes(r.uint(4));
      if (!r.ok) return fail(corrupt("operation " + std::to_string(i) + " is cut short"));
    }
    if (kind == static_cast<uint8_t>(op_kind::merge) &&
        (tag != static_cast<uint8_t>(table::visibility) || value.size() != 8 ||
         key.size() <= prefix.size() || (key[prefix.size()] != 'n' && key[prefix.size()] != 'N')))
      return fail(corrupt("operation " + std::to_string(i) + " is a merge that is not a run counter's"));
    batch.impl_->ops.push_back({static_cast<table>(tag), static_cast<op_kind>(kind),
                                std::string(key), std::string(value)});
  }
  if (!r.in.empty()) return fail(corrupt(std::to_string(r.in.size()) + " bytes after the last operation"));
  if (st != nullptr) *st = {};
  return batch;
}

size_t write_batch::size() const { return impl_->ops.size(); }

void write_batch::append_bytes(std::string* joined, std::string_view part) {
  if (joined->empty()) {
    joined->assign(part);
    return;
  }
  auto count = [](std::string_view b) {
    uint32_t n = 0;
    for (size_t i = 1; i < 5; ++i) n = (n << 8) | static_cast<uint8_t>(b[i]);
    return n;
  };
  std::string head;
  keys::put_u32(&head, count(*joined) + count(part));
  joined->replace(1, 4, head);
  joined->append(part.substr(5));
}

void write_batch::put_data(uint8_t table_tag, std::string key, std::string value) {
  if (!keys::is_data_table(table_tag)) {
    if (impl_->error.empty()) impl_->error = "put_data names table " + std::to_string(table_tag);
    return;
  }
  impl_->put_bytes(static_cast<table>(table_tag), std::move(key), std::move(value));
}

void write_batch::append(write_batch other) {
  auto& mine = *impl_;
  auto& theirs = *other.impl_;
  if (mine.error.empty()) mine.error = std::move(theirs.error);
  if (mine.ops.empty()) {
    mine.ops = std::move(theirs.ops);
    return;
  }
  // Grown geometrically: an exact reserve here made appending n batches one by one quadratic
  // (a replica staging a thousand entries of a catch-up message moved its ops a thousand times).
  const size_t need = mine.ops.size() + theirs.ops.size();
  if (need > mine.ops.capacity()) mine.ops.reserve(std::max(need, 2 * mine.ops.capacity()));
  for (auto& op : theirs.ops) mine.ops.push_back(std::move(op));
}

}  // namespace chronicle::storage
