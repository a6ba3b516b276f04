// Snapshot stages as RocksDB table files: a replica pulling a leader's snapshot stream writes
// each data table's entries into SST files with rocksdb::SstFileWriter, and restoring the
// snapshot ingests them (IngestExternalFiles, all tables in one atomic step) instead of writing
// every key through the log and memtables twice (once to a stage, once to the data tables).
//
// Layout under the database's directory: snapshot-stage/<shard>/<stream>/
//   NNNNNN-TT.sst   the entries of data table TT (its tag), in key order; NNNNNN orders files
//   complete        8 bytes: the applied index the stage stands for (written last, synced)
//   ingest/         hard links of the .sst files made for one ingestion (RocksDB moves these
//                   into the database, so the stage itself stays until the caller removes it)
// RocksDB ignores directories it did not create in its own.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>

#include <rocksdb/sst_file_writer.h>

#include "storage/keys.hpp"
#include "storage/store.hpp"
#include "storage/store_impl.hpp"

namespace chronicle::storage {

namespace fs = std::filesystem;
using keys::table;

namespace {

// A table's file is closed and the next one begun past this many bytes of entries.
constexpr uint64_t stage_file_bytes = uint64_t{256} << 20;
constexpr const char* complete_name = "complete";

fs::path shard_stage_dir(const std::string& db_path, uint32_t shard) {
  return fs::path(db_path) / "snapshot-stage" / std::to_string(shard);
}

fs::path stage_dir(const std::string& db_path, uint32_t shard, uint64_t stream) {
  return shard_stage_dir(db_path, shard) / std::to_string(stream);
}

status fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return status::error("cannot open " + p.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return status::error("cannot sync " + p.string() + ": " + std::strerror(err));
  return {};
}

status remove_tree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) return status::error("cannot remove " + p.string() + ": " + ec.message());
  return {};
}

// The stage's table files by table tag, each table's in name (= write) order.
status list_stage(const fs::path& dir, std::map<uint8_t, std::vector<std::string>>* out) {
  std::error_code ec;
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".sst") names.push_back(e.path().filename());
  if (ec) return status::error("cannot list " + dir.string() + ": " + ec.message());
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    // NNNNNN-TT.sst
    unsigned long tag = 0;
    if (n.size() != 13 || n[6] != '-' || std::sscanf(n.c_str() + 7, "%2lu", &tag) != 1 ||
        !keys::is_data_table(static_cast<uint8_t>(tag)))
      return status::error("unexpected file " + (dir / n).string() + " in a snapshot stage");
    (*out)[static_cast<uint8_t>(tag)].push_back(n);
  }
  return {};
}

}  // namespace

struct store::stage_writer::file {
  rocksdb::SstFileWriter writer;
  fs::path path;
  uint64_t bytes = 0;
  file(const rocksdb::Options& o, rocksdb::ColumnFamilyHandle* cf, fs::path p)
      : writer(rocksdb::EnvOptions(), o, cf), path(std::move(p)) {}
};

store::stage_writer::stage_writer(const store& db, uint32_t shard, uint64_t stream, std::string dir)
    : db_(db), shard_(shard), stream_(stream), dir_(std::move(dir)) {}

store::stage_writer::~stage_writer() = default;

status store::stage_writer::close_file() {
  if (!file_) return {};
  auto f = std::move(file_);
  auto s = f->writer.Finish();  // syncs the file
  if (!s.ok()) return status::error("cannot finish " + f->path.string() + ": " + s.ToString());
  return {};
}

status store::stage_writer::add(uint8_t table_tag, std::string_view key, std::string_view value) {
  if (!keys::is_data_table(table_tag))
    return status::error("a snapshot chunk names table " + std::to_string(table_tag));
  if (static_cast<int>(table_tag) < last_table_)
    return status::error("a snapshot chunk goes back to table " + std::to_string(table_tag));
  if (file_ && (static_cast<int>(table_tag) != last_table_ || file_->bytes >= stage_file_bytes))
    if (auto st = close_file(); !st.ok()) return st;
  if (!file_) {
    auto* cf = db_.impl_->cf(static_cast<table>(table_tag));
    rocksdb::Options o(db_.impl_->db->GetDBOptions(), db_.impl_->db->GetOptions(cf));
    char name[32];
    std::snprintf(name, sizeof(name), "%06d-%02u.sst", files_++, static_cast<unsigned>(table_tag));
    auto f = std::make_unique<file>(o, cf, fs::path(dir_) / name);
    auto s = f->writer.Open(f->path.string());
    if (!s.ok()) return status::error("cannot create " + f->path.string() + ": " + s.ToString());
    file_ = std::move(f);
    last_table_ = table_tag;
  }
  auto s = file_->writer.Put(rocksdb::Slice(key.data(), key.size()),
                             rocksdb::Slice(value.data(), value.size()));
  if (!s.ok())
    return status::error("shard " + std::to_string(shard_) + " snapshot chunk: " + s.ToString());
  file_->bytes += key.size() + value.size();
  return {};
}

status store::stage_writer::finish(uint64_t applied_index) {
  if (auto st = close_file(); !st.ok()) return st;
  const fs::path dir(dir_);
  const auto tmp = dir / "complete.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return status::error("cannot create " + tmp.string() + ": " + std::strerror(errno));
  std::string bytes;
  keys::put_u64(&bytes, applied_index);
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return status::error("cannot write " + tmp.string() + ": " + std::strerror(err));
  std::error_code ec;
  fs::rename(tmp, dir / complete_name, ec);
  if (ec) return status::error("cannot rename " + tmp.string() + ": " + ec.message());
  // The names of the files and of the directories leading to them.
  for (const auto& p : {dir, dir.parent_path(), dir.parent_path().parent_path(),
                        fs::path(db_.impl_->path)})
    if (auto st = fsync_path(p, true); !st.ok()) return st;
  return {};
}

std::unique_ptr<store::stage_writer> store::begin_stage(uint32_t shard, uint64_t stream,
                                                        status* st) const {
  const auto dir = stage_dir(impl_->path, shard, stream);
  *st = remove_tree(dir);
  if (!st->ok()) return nullptr;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    *st = status::error("cannot create " + dir.string() + ": " + ec.message());
    return nullptr;
  }
  return std::unique_ptr<stage_writer>(new stage_writer(*this, shard, stream, dir.string()));
}

std::optional<uint64_t> store::stage_files_complete(uint32_t shard, uint64_t stream) const {
  const auto p = stage_dir(impl_->path, shard, stream) / complete_name;
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[9];
  auto n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n != 8) return std::nullopt;
  return keys::decode_u64(std::string_view(buf, 8));
}

status store::ingest_stage(uint32_t shard, uint64_t stream) {
  const auto dir = stage_dir(impl_->path, shard, stream);
  const std::string what = "shard " + std::to_string(shard) + " snapshot stage " + dir.string() + ": ";
  if (!stage_files_complete(shard, stream)) return status::error(what + "not complete");
  std::map<uint8_t, std::vector<std::string>> files;
  if (auto st = list_stage(dir, &files); !st.ok()) return st;
  // Links for RocksDB to take (it removes what it ingested from here), the stage's own names
  // staying for a second run.
  const auto links = dir / "ingest";
  if (auto st = remove_tree(links); !st.ok()) return st;
  std::error_code ec;
  fs::create_directories(links, ec);
  if (ec) return status::error(what + "cannot create " + links.string() + ": " + ec.message());
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (auto& [tag, names] : files) {
    rocksdb::IngestExternalFileArg a;
    a.column_family = impl_->cf(static_cast<table>(tag));
    for (auto& n : names) {
      fs::create_hard_link(dir / n, links / n, ec);
      if (ec) return status::error(what + "cannot link " + n + ": " + ec.message());
      a.external_files.push_back((links / n).string());
    }
    a.options.move_files = true;
    a.options.write_global_seqno = false;  // never rewrite the linked file (the stage's too)
    a.options.verify_checksums_before_ingest = true;
    args.push_back(std::move(a));
  }
  // The shard's keys go first (a wiped replica has none: then nothing overlaps the files and
  // RocksDB can place them low in the tree without flushing a memtable).
  status st;
  if (has_shard_data(shard, &st)) {
    write_batch del;
    del.delete_shard_data(shard);
    if (st = write_unsynced(del); !st.ok()) return status::error(what + st.message());
  } else if (!st.ok()) {
    return status::error(what + st.message());
  }
  if (!args.empty()) {
    auto s = impl_->db->IngestExternalFiles(args);
    if (!s.ok()) return status::error(what + "ingestion failed: " + s.ToString());
  }
  (void)remove_tree(links);
  return {};
}

status store::remove_stage_files(uint32_t shard, uint64_t stream) const {
  return remove_tree(stage_dir(impl_->path, shard, stream));
}

bool store::has_stage_files(uint32_t shard) const {
  std::error_code ec;
  auto dir = shard_stage_dir(impl_->path, shard);
  return fs::exists(dir, ec) && !fs::is_empty(dir, ec);
}

status store::remove_stage_files_except(uint32_t shard, uint64_t keep) const {
  const auto dir = shard_stage_dir(impl_->path, shard);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return {};
  status result;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (keep != 0 && e.path().filename() == std::to_string(keep)) continue;
    if (auto st = remove_tree(e.path()); !st.ok()) result = st;
  }
  if (ec) return status::error("cannot list " + dir.string() + ": " + ec.message());
  return result;
}

}  // namespace chronicle::storage
