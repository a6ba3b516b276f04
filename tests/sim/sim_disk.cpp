#include "sim_disk.hpp"

#include <condition_variable>
#include <mutex>

namespace chronicle::sim {

// Callables posted by rocks_log_store from the committer thread.
struct sim_disk::posted {
  std::mutex mtx;
  std::condition_variable cv;
  std::deque<std::function<void()>> queue;
};

namespace {

bool same(const raft::stored_snapshot& a, const raft::stored_snapshot& b) {
  return a.index == b.index && a.term == b.term && a.configuration == b.configuration &&
         a.configuration_index == b.configuration_index && a.data == b.data;
}

}  // namespace

sim_disk::sim_disk(std::string rocks_path, uint32_t shard)
    : path_(std::move(rocks_path)), shard_(shard), posted_(std::make_shared<posted>()) {
  if (!path_.empty()) open_rocks();
}

sim_disk::~sim_disk() {
  rocks_.reset();
  db_.reset();
}

void sim_disk::differ(const std::string& what) {
  if (mismatch_.empty()) mismatch_ = "rocks_log_store differs from the model: " + what;
}

void sim_disk::open_rocks() {
  rocks_.reset();
  db_.reset();  // closes: the committer writes what it holds first (nothing: ops wait for it)
  storage::status st;
  // durability os: a crash here is a process crash (RocksDB's log survives it); term and vote
  // are synced anyway.
  db_ = storage::store::open(path_, 4, storage::durability::os, &st);
  if (!db_) {
    differ("cannot open " + path_ + ": " + st.message());
    return;
  }
  auto p = posted_;
  rocks_ = std::make_unique<raft::rocks_log_store>(*db_, shard_, [p](std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(p->mtx);
      p->queue.push_back(std::move(fn));
    }
    p->cv.notify_all();
  });
}

bool sim_disk::run_posted(const std::function<void(raft::log_store::done_fn)>& op) {
  std::optional<bool> result;
  op([&](bool ok) { result = ok; });
  while (!result) {
    std::unique_lock<std::mutex> lock(posted_->mtx);
    posted_->cv.wait(lock, [&] { return !posted_->queue.empty(); });
    auto fn = std::move(posted_->queue.front());
    posted_->queue.pop_front();
    lock.unlock();
    fn();
  }
  return *result;
}

raft::loaded_state sim_disk::load() {
  auto expected = model_.load();
  if (!rocks_) return expected;
  auto got = rocks_->load();
  if (!got.error.empty()) {
    differ("load failed: " + got.error);
    return expected;
  }
  if (got.term != expected.term || got.vote != expected.vote)
    differ("term/vote " + std::to_string(got.term) + "/" + std::to_string(got.vote) + " vs " +
           std::to_string(expected.term) + "/" + std::to_string(expected.vote));
  if (got.snapshot.has_value() != expected.snapshot.has_value() ||
      (got.snapshot && !same(*got.snapshot, *expected.snapshot)))
    differ("snapshot");
  // The model keeps start where its last snapshot left it even with no entries; compare the
  // entries by index.
  if (got.entries.size() != expected.entries.size() ||
      (!got.entries.empty() && got.start_index != expected.start_index) ||
      got.entries != expected.entries)
    differ("log " + std::to_string(got.start_index) + "+" + std::to_string(got.entries.size()) +
           " vs " + std::to_string(expected.start_index) + "+" + std::to_string(expected.entries.size()));
  return got;  // raft runs on what RocksDB holds
}

bool sim_disk::bootstrap(const raft::stored_entry& first) {
  bool ok = model_.bootstrap(first);
  if (rocks_ && rocks_->bootstrap(first) != ok) differ("bootstrap");
  return ok;
}

bool sim_disk::set_term(uint64_t term) {
  model_.set_term(term);
  return rocks_ ? rocks_->set_term(term) : true;
}

bool sim_disk::set_vote(uint64_t server_id) {
  model_.set_vote(server_id);
  return rocks_ ? rocks_->set_vote(server_id) : true;
}

void sim_disk::append(uint64_t first_index, std::vector<raft::stored_entry> entries, done_fn done) {
  if (rocks_)
    rocks_ops_.push_back([this, first_index, entries] {
      if (!run_posted([&](done_fn d) { rocks_->append(first_index, entries, std::move(d)); }))
        differ("append at " + std::to_string(first_index) + " failed: " + rocks_->error());
    });
  model_.append(first_index, std::move(entries), std::move(done));
}

void sim_disk::truncate(uint64_t index) {
  if (rocks_) rocks_ops_.push_back([this, index] { rocks_->truncate(index); });
  model_.truncate(index);
}

void sim_disk::put_snapshot(raft::stored_snapshot snapshot, unsigned trailing, done_fn done) {
  if (rocks_)
    rocks_ops_.push_back([this, snapshot, trailing] {
      if (!run_posted([&](done_fn d) { rocks_->put_snapshot(snapshot, trailing, std::move(d)); }))
        differ("snapshot " + std::to_string(snapshot.index) + " failed: " + rocks_->error());
    });
  model_.put_snapshot(std::move(snapshot), trailing, std::move(done));
}

std::optional<raft::stored_snapshot> sim_disk::get_snapshot() {
  auto expected = model_.get_snapshot();
  if (!rocks_) return expected;
  auto got = rocks_->get_snapshot();
  if (got.has_value() != expected.has_value() || (got && !same(*got, *expected)))
    differ("get_snapshot");
  return expected;
}

bool sim_disk::complete_next() {
  if (rocks_ && !rocks_ops_.empty()) {
    // Durable in RocksDB first, then the model reports it (its callback runs the completion).
    auto op = std::move(rocks_ops_.front());
    rocks_ops_.pop_front();
    op();
  }
  return model_.complete_next();
}

void sim_disk::crash() {
  model_.crash();
  rocks_ops_.clear();
  if (rocks_) open_rocks();  // close and reopen: raft's next load reads RocksDB
}

}  // namespace chronicle::sim
