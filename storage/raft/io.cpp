#include "storage/raft/io.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "storage/raft/codec.hpp"

namespace chronicle::raft {
namespace {

io* self(raft_io* r) { return static_cast<io*>(r->impl); }

std::string concat(const raft_buffer* bufs, unsigned n) {
  std::string out;
  for (unsigned i = 0; i < n; ++i) out.append(static_cast<const char*>(bufs[i].base), bufs[i].len);
  return out;
}

// libraft 0.15's progress state of a follower it is sending a snapshot to (src/progress.h,
// PROGRESS__SNAPSHOT: not in the public header).
constexpr unsigned short snapshot_progress_state = 2;

// Builds a raft_malloc'd snapshot as raft_io.load / snapshot_get hand it over.
raft_snapshot* to_raft(const stored_snapshot& s) {
  auto* out = static_cast<raft_snapshot*>(raft_calloc(1, sizeof(raft_snapshot)));
  if (out == nullptr) return nullptr;
  out->index = s.index;
  out->term = s.term;
  raft_configuration_init(&out->configuration);
  out->configuration_index = s.configuration_index;
  out->bufs = static_cast<raft_buffer*>(raft_calloc(1, sizeof(raft_buffer)));
  void* data = raft_malloc(s.data.empty() ? 1 : s.data.size());
  if (out->bufs == nullptr || data == nullptr ||
      !decode_configuration(s.configuration, out->configuration)) {
    raft_configuration_close(&out->configuration);
    raft_free(out->bufs);
    raft_free(data);
    raft_free(out);
    return nullptr;
  }
  std::memcpy(data, s.data.data(), s.data.size());
  out->bufs[0].base = data;
  out->bufs[0].len = s.data.size();
  out->n_bufs = 1;
  return out;
}

}  // namespace

// The C entry points of struct raft_io, each forwarding to the io object in raw_.impl.
struct io_callbacks {
  static int init(raft_io*, raft_id, const char*) { return 0; }

  static void close(raft_io* r, raft_io_close_cb cb) {
    io* s = self(r);
    s->closed_ = true;
    s->tick_cb_ = nullptr;
    s->recv_cb_ = nullptr;
    auto pending = std::move(s->pending_);
    s->pending_.clear();
    // Newest first: libraft truncates its in-memory log from a canceled append's first index,
    // so an older append canceled first would leave the newer one pointing past the log's end.
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) it->second(RAFT_CANCELED);
    if (cb != nullptr) cb(r);
  }

  static int load(raft_io* r, raft_term* term, raft_id* vote, raft_snapshot** snapshot,
                  raft_index* start_index, raft_entry** entries, size_t* n_entries) {
    io* s = self(r);
    loaded_state st = s->store_.load();
    if (!st.error.empty()) {
      std::fprintf(stderr, "raft log store: %s\n", st.error.c_str());
      return RAFT_CORRUPT;
    }
    *term = st.term;
    *vote = st.vote;
    *snapshot = nullptr;
    *start_index = st.start_index;
    *entries = nullptr;
    *n_entries = 0;
    if (st.snapshot) {
      *snapshot = to_raft(*st.snapshot);
      if (*snapshot == nullptr) return RAFT_NOMEM;
      s->snap_index_ = st.snapshot->index;
      s->snap_term_ = st.snapshot->term;
      s->committed_conf_ = st.snapshot->configuration;
      s->committed_conf_index_ = st.snapshot->configuration_index;
    }
    s->mirror_start_ = st.start_index;
    s->mirror_.clear();
    s->change_entries_.clear();
    if (!st.entries.empty()) {
      auto* es = static_cast<raft_entry*>(raft_calloc(st.entries.size(), sizeof(raft_entry)));
      if (es == nullptr) return RAFT_NOMEM;
      for (size_t i = 0; i < st.entries.size(); ++i) {
        const auto& e = st.entries[i];
        es[i].term = e.term;
        es[i].type = e.type;
        es[i].buf.len = e.data.size();
        es[i].buf.base = raft_malloc(e.data.empty() ? 1 : e.data.size());
        std::memcpy(es[i].buf.base, e.data.data(), e.data.size());
        es[i].batch = nullptr;  // raft frees buf.base on its own
        s->mirror_.push_back(e.term);
      }
      s->note_change_entries(st.start_index, es, st.entries.size());
      *entries = es;
      *n_entries = st.entries.size();
    }
    return 0;
  }

  static int start(raft_io* r, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv) {
    io* s = self(r);
    s->tick_cb_ = tick;
    s->recv_cb_ = recv;
    std::weak_ptr<int> alive = s->alive_;
    s->clock_.every(msecs, [s, alive] {
      if (alive.expired() || s->closed_ || s->tick_cb_ == nullptr) return;
      s->tick_cb_(&s->raw_);
      s->done_event();
    });
    return 0;
  }

  static int bootstrap(raft_io* r, const raft_configuration* conf) {
    io* s = self(r);
    // A RAFT_CHANGE entry carries libraft's own encoding of the configuration.
    raft_buffer buf{};
    int rv = raft_configuration_encode(conf, &buf);
    if (rv != 0) return rv;
    stored_entry first{1, RAFT_CHANGE, std::string(static_cast<const char*>(buf.base), buf.len)};
    raft_free(buf.base);
    return s->store_.bootstrap(first) ? 0 : RAFT_CANTBOOTSTRAP;
  }

  static int recover(raft_io*, const raft_configuration*) { return RAFT_NOTFOUND; }

  static int set_term(raft_io* r, raft_term term) {
    return self(r)->store_.set_term(term) ? 0 : RAFT_IOERR;
  }

  static int set_vote(raft_io* r, raft_id id) {
    return self(r)->store_.set_vote(id) ? 0 : RAFT_IOERR;
  }

  static int send(raft_io* r, raft_io_send* req, const raft_message* m, raft_io_send_cb cb) {
    io* s = self(r);
    req->cb = cb;
    bool stale = m->type == RAFT_IO_APPEND_ENTRIES_RESULT && s->options_.drop_stale_results &&
                 s->completing_term_ && s->raft_ != nullptr &&
                 s->raft_->current_term != *s->completing_term_;
    raft_message capped;
    if (!stale && m->type == RAFT_IO_APPEND_ENTRIES_RESULT && s->options_.cap_results &&
        m->append_entries_result.rejected == 0 && s->result_bound_ &&
        m->append_entries_result.last_log_index > *s->result_bound_) {
      capped = *m;
      capped.append_entries_result.last_log_index = *s->result_bound_;
      m = &capped;
      ++s->stats_.capped_results;
    }
    raft_message cut;
    if (m->type == RAFT_IO_APPEND_ENTRIES && m->append_entries.n_entries > 0 &&
        s->options_.max_append_bytes > 0) {
      unsigned k = s->entries_to_send(m->append_entries);
      if (k < m->append_entries.n_entries) {
        cut = *m;
        cut.append_entries.n_entries = k;
        m = &cut;
        s->clamp_next_[m->server_id] = m->append_entries.prev_log_index + k + 1;
      }
    }
    if (m->type == RAFT_IO_INSTALL_SNAPSHOT && s->raft_ != nullptr)
      s->reindexed_to_[m->server_id] = m->install_snapshot.last_index;
    raft_message prevote;
    if (m->type == RAFT_IO_REQUEST_VOTE_RESULT && s->options_.prevote_term && s->raft_ != nullptr &&
        m->request_vote_result.pre_vote == raft_tribool_true &&
        !m->request_vote_result.vote_granted &&
        s->raft_->current_term > m->request_vote_result.term) {
      prevote = *m;
      prevote.request_vote_result.term = s->raft_->current_term;
      m = &prevote;
      ++s->stats_.prevote_terms;
    }
    if (stale) {
      ++s->stats_.stale_results;
    } else if (m->server_id != s->options_.id) {
      s->net_.send(m->server_id, encode_message(*m, s->options_.id, s->options_.address));
    }
    // The message is encoded already; raft's memory may be released once the callback runs.
    uint64_t id = s->add_pending([req, cb](int status) {
      if (cb != nullptr) cb(req, status);
    });
    s->defer([s, id] {
      if (auto fn = s->take_pending(id)) {
        fn(0);
        s->done_event();
      }
    });
    return 0;
  }

  static int append(raft_io* r, raft_io_append* req, const raft_entry entries[], unsigned n,
                    raft_io_append_cb cb) {
    io* s = self(r);
    req->cb = cb;
    uint64_t first = s->mirror_start_ + s->mirror_.size();
    std::vector<stored_entry> copy;
    copy.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      copy.push_back({entries[i].term, entries[i].type,
                      std::string(static_cast<const char*>(entries[i].buf.base), entries[i].buf.len)});
    }
    s->mirror_append(first, entries, n);
    s->note_change_entries(first, entries, n);
    uint64_t term = s->raft_ != nullptr ? s->raft_->current_term : 0;
    uint64_t last = first + n - 1;
    uint64_t id = s->add_pending([s, req, cb, term, last](int status) {
      s->completing_term_ = term;
      s->result_bound_ = last;
      if (cb != nullptr) cb(req, status);
      s->completing_term_.reset();
      s->result_bound_.reset();
    });
    std::weak_ptr<int> alive = s->alive_;
    s->store_.append(first, std::move(copy), [s, alive, id](bool ok) {
      if (alive.expired()) return;
      if (auto fn = s->take_pending(id)) {
        fn(ok ? 0 : RAFT_IOERR);
        s->done_event();
      }
    });
    return 0;
  }

  static int truncate(raft_io* r, raft_index index) {
    io* s = self(r);
    s->mirror_truncate(index);
    s->change_entries_.erase(s->change_entries_.lower_bound(index), s->change_entries_.end());
    s->store_.truncate(index);
    return 0;
  }

  static int snapshot_put(raft_io* r, unsigned trailing, raft_io_snapshot_put* req,
                          const raft_snapshot* snap, raft_io_snapshot_put_cb cb) {
    io* s = self(r);
    req->cb = cb;
    stored_snapshot copy{snap->index, snap->term, encode_configuration(snap->configuration),
                         snap->configuration_index, concat(snap->bufs, snap->n_bufs)};
    s->mirror_snapshot(snap->index, snap->term, trailing);
    bool install = trailing == 0;
    if (install) {  // raft's log is replaced by the snapshot
      s->change_entries_.clear();
      s->committed_conf_ = copy.configuration;
      s->committed_conf_index_ = snap->configuration_index;
    } else if (s->options_.rollback_configuration && s->raft_ != nullptr &&
               s->raft_->configuration_uncommitted_index != 0 &&
               s->committed_conf_index_ == snap->configuration_index &&
               copy.configuration != s->committed_conf_) {
      copy.configuration = s->committed_conf_;  // not the uncommitted one libraft 0.15 copied
      ++s->stats_.snapshot_configurations;
    }
    uint64_t term = s->raft_ != nullptr ? s->raft_->current_term : 0;
    uint64_t last = snap->index;
    uint64_t id = s->add_pending([s, req, cb, term, install, last](int status) {
      if (install) {
        s->completing_term_ = term;
        s->result_bound_ = last;
      }
      if (cb != nullptr) cb(req, status);
      s->completing_term_.reset();
      s->result_bound_.reset();
    });
    std::weak_ptr<int> alive = s->alive_;
    s->store_.put_snapshot(std::move(copy), trailing, [s, alive, id](bool ok) {
      if (alive.expired()) return;
      if (auto fn = s->take_pending(id)) {
        fn(ok ? 0 : RAFT_IOERR);
        s->done_event();
      }
    });
    return 0;
  }

  static int snapshot_get(raft_io* r, raft_io_snapshot_get* req, raft_io_snapshot_get_cb cb) {
    io* s = self(r);
    req->cb = cb;
    auto stored = s->store_.get_snapshot();
    if (stored && s->expand_snapshot) {
      auto data = s->expand_snapshot(stored->data);
      if (data) stored->data = std::move(*data);
      else stored.reset();  // not now: libraft aborts this send and tries again later
    }
    if (stored && s->sent_snapshot_index) s->reindex_snapshot(*stored);
    raft_snapshot* snap = stored ? to_raft(*stored) : nullptr;
    uint64_t id = s->add_pending([req, cb, snap](int status) {
      if (status != 0 && snap != nullptr) {
        raft_configuration_close(&snap->configuration);
        raft_free(snap->bufs[0].base);
        raft_free(snap->bufs);
        raft_free(snap);
        cb(req, nullptr, status);
        return;
      }
      cb(req, snap, snap == nullptr ? RAFT_NOTFOUND : 0);
    });
    s->defer([s, id] {
      if (auto fn = s->take_pending(id)) {
        fn(0);
        s->done_event();
      }
    });
    return 0;
  }

  static raft_time time(raft_io* r) { return self(r)->clock_.now_ms(); }

  static int random(raft_io* r, int min, int max) { return self(r)->clock_.random(min, max); }
};

io::io(io_options options, log_store& store, transport& net, clock& time)
    : options_(std::move(options)), store_(store), net_(net), clock_(time) {
  raw_.version = 1;
  raw_.impl = this;
  raw_.init = io_callbacks::init;
  raw_.close = io_callbacks::close;
  raw_.load = io_callbacks::load;
  raw_.start = io_callbacks::start;
  raw_.bootstrap = io_callbacks::bootstrap;
  raw_.recover = io_callbacks::recover;
  raw_.set_term = io_callbacks::set_term;
  raw_.set_vote = io_callbacks::set_vote;
  raw_.send = io_callbacks::send;
  raw_.append = io_callbacks::append;
  raw_.truncate = io_callbacks::truncate;
  raw_.snapshot_put = io_callbacks::snapshot_put;
  raw_.snapshot_get = io_callbacks::snapshot_get;
  raw_.time = io_callbacks::time;
  raw_.random = io_callbacks::random;
  raw_.async_work = nullptr;
}

io::~io() { alive_.reset(); }

void io::receive(uint64_t from, std::string_view bytes) {
  if (closed_ || recv_cb_ == nullptr) return;
  apply_clamps();
  decoded_message d;
  if (!decode_message(bytes, d) || d.from != from) {
    if (d.from == from) d.release();
    ++stats_.malformed;
    return;
  }
  if (d.msg.type == RAFT_IO_APPEND_ENTRIES_RESULT && options_.hold_results && raft_ != nullptr &&
      raft_->state == RAFT_LEADER && term_at(raft_->last_stored) != raft_->current_term) {
    ++stats_.held_results;
    held_[from] = {raft_->current_term, std::string(bytes)};  // release_held, once durable
    d.release();
    return;
  }
  if (d.msg.type == RAFT_IO_APPEND_ENTRIES_RESULT && options_.repair_progress && raft_ != nullptr &&
      raft_->state == RAFT_LEADER) {
    // libraft 0.15 can leave a follower's next index at or below its match index (a probe
    // rejection whose hint is below what the follower confirmed); results then claim nothing
    // above the match index, are ignored, and the follower never catches up. The match index
    // is what the follower confirmed, so sending from just after it is always correct.
    auto& conf = raft_->configuration;
    for (unsigned i = 0; i < conf.n; ++i)
      if (conf.servers[i].id == from) {
        auto& p = raft_->leader_state.progress[i];
        if (p.next_index <= p.match_index) {
          p.next_index = p.match_index + 1;
          ++stats_.repaired_progress;
        }
      }
  }
  if (d.msg.type == RAFT_IO_APPEND_ENTRIES_RESULT && raft_ != nullptr &&
      raft_->state == RAFT_LEADER && d.msg.append_entries_result.rejected != 0) {
    // A refused snapshot that was sent at its data's index (reindex_snapshot): raft aborts a
    // snapshot only on a refusal of the index it knows it sent, and would otherwise wait for
    // its install timeout.
    auto sent = reindexed_to_.find(from);
    auto& conf = raft_->configuration;
    for (unsigned i = 0; sent != reindexed_to_.end() && i < conf.n; ++i) {
      auto& p = raft_->leader_state.progress[i];
      if (conf.servers[i].id == from && p.state == snapshot_progress_state &&
          d.msg.append_entries_result.rejected == sent->second && p.snapshot_index != sent->second)
        d.msg.append_entries_result.rejected = p.snapshot_index;
    }
  }
  if (d.msg.type == RAFT_IO_APPEND_ENTRIES && options_.rollback_configuration &&
      raft_ != nullptr && !before_append_entries(d.msg.append_entries)) {
    d.release();
    ++stats_.not_rolled_back;
    return;
  }
  auto& address = addresses_[from];
  if (address != d.from_address) address = d.from_address;
  d.msg.server_address = address.c_str();
  if (d.msg.type == RAFT_IO_APPEND_ENTRIES)
    result_bound_ = d.msg.append_entries.prev_log_index + d.msg.append_entries.n_entries;
  recv_cb_(&raw_, &d.msg);  // raft owns the entries / snapshot data from here
  result_bound_.reset();
  done_event();
}

void io::reindex_snapshot(stored_snapshot& s) {
  if (raft_ == nullptr || raft_->state != RAFT_LEADER) return;
  uint64_t j = sent_snapshot_index(s.data);
  if (j <= s.index || j > raft_->commit_index || committed_conf_index_ == 0 ||
      committed_conf_index_ > j || committed_conf_index_ != raft_->configuration_index)
    return;
  uint64_t term = term_at(j);
  if (term == 0) return;
  s.index = j;
  s.term = term;
  s.configuration = committed_conf_;
  s.configuration_index = committed_conf_index_;
  ++stats_.reindexed_snapshots;
}

uint64_t io::term_at(uint64_t index) const {
  if (index == 0) return 0;
  if (index >= mirror_start_ && index - mirror_start_ < mirror_.size())
    return mirror_[index - mirror_start_];
  if (index == snap_index_) return snap_term_;
  return 0;
}

uint64_t io::add_pending(cancel_fn fn) {
  uint64_t id = next_pending_++;
  pending_.emplace(id, std::move(fn));
  return id;
}

io::cancel_fn io::take_pending(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return {};
  cancel_fn fn = std::move(it->second);
  pending_.erase(it);
  return fn;
}

void io::defer(std::function<void()> fn) {
  std::weak_ptr<int> alive = alive_;
  clock_.defer([alive, fn = std::move(fn)] {
    if (!alive.expired()) fn();
  });
}

void io::mirror_append(uint64_t first_index, const raft_entry* entries, unsigned n) {
  if (first_index < mirror_start_) first_index = mirror_start_;
  mirror_truncate(first_index);
  for (unsigned i = 0; i < n; ++i) mirror_.push_back(entries[i].term);
}

void io::mirror_truncate(uint64_t index) {
  if (index < mirror_start_) {
    mirror_.clear();
    return;
  }
  uint64_t keep = index - mirror_start_;
  if (keep < mirror_.size()) mirror_.resize(keep);
}

void io::mirror_snapshot(uint64_t index, uint64_t term, unsigned trailing) {
  snap_index_ = index;
  snap_term_ = term;
  if (trailing == 0) {
    mirror_.clear();
    mirror_start_ = index + 1;
    return;
  }
  uint64_t first_kept = index > trailing ? index - trailing + 1 : 1;
  while (mirror_start_ < first_kept && !mirror_.empty()) {
    mirror_.pop_front();
    ++mirror_start_;
  }
}

void io::note_change_entries(uint64_t first_index, const raft_entry* entries, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (entries[i].type == RAFT_CHANGE)
      change_entries_[first_index + i] =
          std::string(static_cast<const char*>(entries[i].buf.base), entries[i].buf.len);
  while (change_entries_.size() > 16) change_entries_.erase(change_entries_.begin());
}

void io::note_configuration() {
  if (raft_ == nullptr || raft_->configuration_index == 0 ||
      raft_->configuration_index == committed_conf_index_)
    return;
  if (raft_->configuration_uncommitted_index == 0) {
    committed_conf_ = encode_configuration(raft_->configuration);
    committed_conf_index_ = raft_->configuration_index;
    return;
  }
  auto it = change_entries_.find(raft_->configuration_index);
  if (it == change_entries_.end()) return;
  raft_configuration c;
  raft_configuration_init(&c);
  if (decode_change_entry(it->second, c)) {
    committed_conf_ = encode_configuration(c);
    committed_conf_index_ = raft_->configuration_index;
  }
  raft_configuration_close(&c);
}

// libraft truncates a follower's conflicting tail and, when that removes its uncommitted
// configuration, reads the committed one back from its log: gone after a snapshot, libraft 0.15
// asserts. When that is about to happen the committed configuration is put back from the copy
// here first, so raft has nothing to roll back. Without a copy the message is dropped (the
// leader sends it again; nothing is lost, the follower waits).
bool io::before_append_entries(const raft_append_entries& a) {
  auto& r = *raft_;
  uint64_t uncommitted = r.configuration_uncommitted_index;
  uint64_t committed = r.configuration_index;
  if (uncommitted == 0 || committed == 0 || a.term < r.current_term) return true;
  if (committed >= mirror_start_ && committed - mirror_start_ < mirror_.size()) return true;
  if (a.prev_log_index > 0 && term_at(a.prev_log_index) != a.prev_log_term) return true;
  uint64_t conflict = 0;
  for (unsigned j = 0; j < a.n_entries; ++j) {
    uint64_t index = a.prev_log_index + 1 + j;
    uint64_t local = term_at(index);
    if (local == 0) break;
    if (local != a.entries[j].term) {
      conflict = index;
      break;
    }
  }
  if (conflict == 0 || conflict > uncommitted || conflict <= r.commit_index) return true;
  if (committed_conf_index_ != committed) return false;
  raft_configuration c;
  raft_configuration_init(&c);
  if (!decode_configuration(committed_conf_, c)) {
    raft_configuration_close(&c);
    return false;
  }
  raft_configuration_close(&r.configuration);
  r.configuration = c;
  r.configuration_uncommitted_index = 0;
  ++stats_.rolled_back;
  return true;
}

unsigned io::entries_to_send(const raft_append_entries& a) {
  unsigned k = 0;
  size_t bytes = 0;
  for (; k < a.n_entries; ++k) {
    size_t next = bytes + a.entries[k].buf.len + 16;
    if (k > 0 && options_.max_append_bytes > 0 && next > options_.max_append_bytes) break;
    bytes = next;
  }
  if (k < a.n_entries) ++stats_.split_appends;
  return k;
}

void io::apply_clamps() {
  if (clamp_next_.empty()) return;
  if (raft_ != nullptr && raft_->state == RAFT_LEADER) {
    auto& conf = raft_->configuration;
    for (unsigned i = 0; i < conf.n; ++i) {
      auto it = clamp_next_.find(conf.servers[i].id);
      if (it == clamp_next_.end()) continue;
      auto& p = raft_->leader_state.progress[i];
      // Only lower, and never to or below what the follower confirmed.
      if (p.next_index > it->second && it->second > p.match_index) p.next_index = it->second;
    }
  }
  clamp_next_.clear();
}

void io::done_event() {
  apply_clamps();
  release_held();
  if (after_event) after_event();
}

void io::release_held() {
  if (held_.empty() || raft_ == nullptr) return;
  if (raft_->state != RAFT_LEADER) {
    held_.clear();
    return;
  }
  if (term_at(raft_->last_stored) != raft_->current_term) return;
  auto held = std::move(held_);
  held_.clear();
  for (auto& [from, result] : held)
    if (result.first == raft_->current_term && !closed_) receive(from, result.second);
}

}  // namespace chronicle::raft
