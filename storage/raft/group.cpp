#include "storage/raft/group.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace chronicle::raft {
namespace {

status from_raft(int rv) {
  switch (rv) {
    case 0: return status::ok;
    case RAFT_NOTLEADER: return status::not_leader;
    case RAFT_LEADERSHIPLOST: return status::leadership_lost;
    case RAFT_SHUTDOWN:
    case RAFT_CANCELED: return status::shutdown;
    default: return status::error;
  }
}

raft_buffer copy_to_raft(std::string_view bytes) {
  raft_buffer buf{};
  buf.base = raft_malloc(bytes.empty() ? 1 : bytes.size());
  if (buf.base != nullptr) {
    std::memcpy(buf.base, bytes.data(), bytes.size());
    buf.len = bytes.size();
  }
  return buf;
}

struct apply_request {
  struct raft_apply req{};
  group::done_fn done;
};

struct barrier_request {
  struct raft_barrier req{};
  group::done_fn done;
};

struct change_request {
  struct raft_change req{};
  std::function<void(status)> done;
};

struct transfer_request {
  struct raft_transfer req{};
  group* owner = nullptr;
  std::weak_ptr<int> alive;
  std::function<void(status)> done;
};

}  // namespace

const char* to_string(status s) {
  switch (s) {
    case status::ok: return "ok";
    case status::not_leader: return "not leader";
    case status::leadership_lost: return "leadership lost (outcome unknown)";
    case status::shutdown: return "shut down (outcome unknown)";
    case status::error: return "error";
    case status::not_yet: return "not caught up yet";
  }
  return "?";
}

// libraft's FSM and request callbacks, forwarding to the group in fsm.data / req.data.
struct group_callbacks {
  static int apply(raft_fsm* fsm, const raft_buffer* buf, void** result) {
    auto* g = static_cast<group*>(fsm->data);
    // libraft 0.15 raises last_applied after this call returns: this entry is the next one.
    uint64_t index = g->raft_->last_applied + 1;
    if (g->sm_.apply) g->sm_.apply(index, {static_cast<const char*>(buf->base), buf->len});
    g->note_applied(buf->len);
    *result = nullptr;
    return 0;
  }

  static int snapshot(raft_fsm* fsm, raft_buffer* bufs[], unsigned* n_bufs) {
    auto* g = static_cast<group*>(fsm->data);
    if (g->sm_.postpone_snapshot && g->sm_.postpone_snapshot()) return RAFT_BUSY;  // retried
    std::string bytes = g->sm_.take_snapshot ? g->sm_.take_snapshot() : std::string();
    auto* out = static_cast<raft_buffer*>(raft_malloc(sizeof(raft_buffer)));
    if (out == nullptr) return RAFT_NOMEM;
    out[0] = copy_to_raft(bytes);
    if (out[0].base == nullptr) {
      raft_free(out);
      return RAFT_NOMEM;
    }
    *bufs = out;
    *n_bufs = 1;
    return 0;
  }

  static int restore(raft_fsm* fsm, raft_buffer* buf) {
    auto* g = static_cast<group*>(fsm->data);
    if (g->sm_.restore) g->sm_.restore({static_cast<const char*>(buf->base), buf->len});
    raft_free(buf->base);  // ownership passed to the FSM
    return 0;
  }

  static void applied(struct raft_apply* req, int rv, void*) {
    auto* r = static_cast<apply_request*>(req->data);
    auto done = std::move(r->done);
    uint64_t index = req->index;
    delete r;
    if (done) done(from_raft(rv), rv == 0 ? index : 0);
  }

  static void barrier_done(struct raft_barrier* req, int rv) {
    auto* r = static_cast<barrier_request*>(req->data);
    auto done = std::move(r->done);
    uint64_t index = req->index;
    delete r;
    if (done) done(from_raft(rv), rv == 0 ? index : 0);
  }

  static void changed(struct raft_change* req, int rv) {
    auto* r = static_cast<change_request*>(req->data);
    auto done = std::move(r->done);
    delete r;
    if (done) done(from_raft(rv));
  }

  static void transferred(struct raft_transfer* req) {
    auto* r = static_cast<transfer_request*>(req->data);
    auto done = std::move(r->done);
    bool ok = !r->alive.expired() && r->owner->raft_->state != RAFT_LEADER;
    delete r;
    if (done) done(ok ? status::ok : status::error);
  }
};

group::group(group_options options, log_store& store, transport& net, clock& time,
             state_machine sm)
    : options_(std::move(options)),
      sm_(std::move(sm)),
      io_(io_options{options_.id, std::string("n") + std::to_string(options_.id), options_.hold_results,
                     options_.drop_stale_results, options_.cap_results, options_.prevote_term,
                     options_.repair_progress, options_.rollback_configuration,
                     options_.max_append_bytes},
          store, net, time),
      raft_(std::make_unique<struct raft>()) {
  fsm_.version = 1;
  fsm_.data = this;
  fsm_.apply = group_callbacks::apply;
  fsm_.snapshot = group_callbacks::snapshot;
  fsm_.restore = group_callbacks::restore;
  io_.expand_snapshot = sm_.snapshot_to_send;
  io_.sent_snapshot_index = sm_.sent_index;
}

group::~group() {
  alive_.reset();
  close_now();
}

void group::close_now() {
  if (closed_) return;
  closed_ = true;
  if (!started_) return;
  // With chronicle::raft::io, close completes synchronously: pending requests are canceled and
  // raft's close callback runs before raft_close returns.
  raft_close(raft_.get(), nullptr);
}

// The byte bound on libraft's in-memory log (group_options::snapshot_log_bytes): the average
// applied entry (over the last ~100) sets how many entries fit; threshold and trailing shrink
// together by that factor (never grow past the configured ones), so snapshots, which are cheap
// references to the data, come more often when entries are large. Checked every tune_every
// applies; a change of more than an eighth is passed to libraft (no churn on noise).
constexpr unsigned tune_every = 64;
constexpr unsigned min_snapshot_threshold = 16;

void group::note_applied(size_t entry_bytes) {
  if (first_snapshot_pending_ && raft_->log.snapshot.last_index > 0) {
    first_snapshot_pending_ = false;  // taken (or loaded at the start): the usual thresholds
    tune_snapshots();
  }
  if (options_.snapshot_log_bytes == 0) return;
  entry_bytes_avg_ = entry_bytes_avg_ == 0 ? static_cast<double>(entry_bytes)
                                           : entry_bytes_avg_ * 0.99 + entry_bytes * 0.01;
  if (++applies_since_tune_ >= tune_every) {
    applies_since_tune_ = 0;
    tune_snapshots();
  }
}

void group::tune_snapshots() {
  double entries = options_.snapshot_threshold + options_.snapshot_trailing;
  double fit = options_.snapshot_log_bytes == 0
                 ? entries
                 : static_cast<double>(options_.snapshot_log_bytes) / std::max(entry_bytes_avg_, 1.0);
  double f = std::min(1.0, fit / entries);
  auto threshold = std::max(min_snapshot_threshold,
                            static_cast<unsigned>(options_.snapshot_threshold * f));
  auto trailing = std::min(threshold, static_cast<unsigned>(options_.snapshot_trailing * f));
  if (first_snapshot_pending_) threshold = std::min(threshold, options_.first_snapshot_entries);
  if (threshold_now_ != 0 && threshold * 8 > threshold_now_ * 7 && threshold * 8 < threshold_now_ * 9)
    return;
  threshold_now_ = threshold;
  trailing_now_ = trailing;
  raft_set_snapshot_threshold(raft_.get(), threshold_now_);
  raft_set_snapshot_trailing(raft_.get(), trailing_now_);
}

status group::start() {
  io_.attach(raft_.get());
  io_.after_event = [this] { after_event(); };
  if (raft_init(raft_.get(), io_.raw(), &fsm_, options_.id,
                (std::string("n") + std::to_string(options_.id)).c_str()) != 0)
    return status::error;
  started_ = true;
  raft_set_election_timeout(raft_.get(), options_.election_timeout_ms);
  raft_set_heartbeat_timeout(raft_.get(), options_.heartbeat_ms);
  raft_set_install_snapshot_timeout(raft_.get(), options_.install_snapshot_timeout_ms);
  threshold_now_ = options_.snapshot_threshold;
  trailing_now_ = options_.snapshot_trailing;
  first_snapshot_pending_ = options_.first_snapshot_entries > 0 &&
                            options_.first_snapshot_entries < options_.snapshot_threshold;
  if (first_snapshot_pending_) threshold_now_ = options_.first_snapshot_entries;
  raft_set_snapshot_threshold(raft_.get(), threshold_now_);
  raft_set_snapshot_trailing(raft_.get(), trailing_now_);
  raft_set_pre_vote(raft_.get(), options_.pre_vote);

  raft_configuration conf;
  raft_configuration_init(&conf);
  for (const auto& m : options_.members) {
    std::string address = m.address.empty() ? std::string("n") + std::to_string(m.id) : m.address;
    if (raft_configuration_add(&conf, m.id, address.c_str(), RAFT_VOTER) != 0) {
      raft_configuration_close(&conf);
      return status::error;
    }
  }
  int rv = 0;
  if (!options_.members.empty()) {  // a joining replica starts with no configuration
    rv = raft_bootstrap(raft_.get(), &conf);
    if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
      raft_configuration_close(&conf);
      return status::error;
    }
  }
  raft_configuration_close(&conf);
  rv = raft_start(raft_.get());
  if (rv != 0) {
    std::fprintf(stderr, "raft_start: %s (%s)\n", raft_strerror(rv), raft_errmsg(raft_.get()));
    return status::error;
  }
  after_event();
  return status::ok;
}

void group::propose(std::string entry, done_fn done) {
  if (closed_ || !started_) {
    if (done) done(status::shutdown, 0);
    return;
  }
  auto* r = new apply_request;
  r->req.data = r;
  r->done = std::move(done);
  raft_buffer buf = copy_to_raft(entry);
  int rv = raft_apply(raft_.get(), &r->req, &buf, 1, group_callbacks::applied);
  if (rv != 0) {
    raft_free(buf.base);
    auto d = std::move(r->done);
    delete r;
    if (d) d(from_raft(rv), 0);
  }
}

void group::barrier(done_fn done) {
  if (closed_ || !started_) {
    if (done) done(status::shutdown, 0);
    return;
  }
  auto* r = new barrier_request;
  r->req.data = r;
  r->done = std::move(done);
  int rv = raft_barrier(raft_.get(), &r->req, group_callbacks::barrier_done);
  if (rv != 0) {
    auto d = std::move(r->done);
    delete r;
    if (d) d(from_raft(rv), 0);
  }
}

void group::transfer_leadership(uint64_t to, std::function<void(status)> done) {
  if (closed_ || !started_) {
    if (done) done(status::shutdown);
    return;
  }
  auto* r = new transfer_request;
  r->req.data = r;
  r->owner = this;
  r->alive = alive_;
  r->done = std::move(done);
  int rv = raft_transfer(raft_.get(), &r->req, to, group_callbacks::transferred);
  if (rv != 0) {
    auto d = std::move(r->done);
    delete r;
    if (d) d(from_raft(rv));
  }
}

namespace {

// Starts a membership change; `call` is the libraft function with the request filled in.
template <class Call>
void start_change(bool usable, std::function<void(status)> done, Call call) {
  if (!usable) {
    if (done) done(status::shutdown);
    return;
  }
  auto* r = new change_request;
  r->req.data = r;
  r->done = std::move(done);
  int rv = call(&r->req);
  if (rv != 0) {
    auto d = std::move(r->done);
    delete r;
    if (d) d(from_raft(rv));
  }
}

}  // namespace

void group::add_member(uint64_t id, const std::string& address, std::function<void(status)> done) {
  start_change(started_ && !closed_, std::move(done), [&](struct raft_change* req) {
    return raft_add(raft_.get(), req, id, address.c_str(), group_callbacks::changed);
  });
}

void group::promote(uint64_t id, std::function<void(status)> done) {
  int role = RAFT_SPARE;
  bool caught_up = false;
  if (started_ && !closed_ && raft_->state == RAFT_LEADER) {
    auto& conf = raft_->configuration;
    for (unsigned i = 0; i < conf.n; ++i)
      if (conf.servers[i].id == id) {
        role = conf.servers[i].role;
        caught_up = raft_->leader_state.progress[i].match_index == raft_last_index(raft_.get());
      }
  }
  if (role == RAFT_STANDBY && !caught_up) {
    if (done) done(status::not_yet);
    return;
  }
  int to = role == RAFT_STANDBY ? RAFT_VOTER : RAFT_STANDBY;
  start_change(started_ && !closed_, std::move(done), [&](struct raft_change* req) {
    return raft_assign(raft_.get(), req, id, to, group_callbacks::changed);
  });
}

void group::remove_member(uint64_t id, std::function<void(status)> done) {
  start_change(started_ && !closed_, std::move(done), [&](struct raft_change* req) {
    return raft_remove(raft_.get(), req, id, group_callbacks::changed);
  });
}

std::vector<config_member> group::configuration() const {
  std::vector<config_member> out;
  if (!started_ || closed_) return out;
  auto& conf = raft_->configuration;
  for (unsigned i = 0; i < conf.n; ++i) {
    auto& s = conf.servers[i];
    out.push_back(config_member{s.id, s.address ? s.address : "",
                                s.role == RAFT_VOTER     ? role::voter
                                : s.role == RAFT_STANDBY ? role::standby
                                                         : role::spare});
  }
  return out;
}

bool group::changing() const {
  if (!started_ || closed_ || raft_->state != RAFT_LEADER) return false;
  return raft_->leader_state.change != nullptr || raft_->configuration_uncommitted_index != 0;
}

void group::receive(uint64_t from, std::string_view bytes) {
  if (!closed_ && started_) io_.receive(from, bytes);
}

bool group::is_leader() const { return started_ && !closed_ && raft_->state == RAFT_LEADER; }
bool group::serving() const { return is_leader() && serving_term_ == raft_->current_term; }
uint64_t group::term() const { return started_ ? raft_->current_term : 0; }
uint64_t group::commit_index() const { return started_ ? raft_->commit_index : 0; }

std::optional<uint64_t> group::behind(uint64_t id) const {
  if (!started_ || closed_ || raft_->state != RAFT_LEADER) return std::nullopt;
  auto& conf = raft_->configuration;
  for (unsigned i = 0; i < conf.n; ++i)
    if (conf.servers[i].id == id) {
      auto last = raft_last_index(raft_.get());
      auto match = raft_->leader_state.progress[i].match_index;
      return match >= last ? 0 : last - match;
    }
  return std::nullopt;
}
uint64_t group::most_behind() const {
  if (!started_ || closed_ || raft_->state != RAFT_LEADER) return 0;
  auto& conf = raft_->configuration;
  const auto last = raft_last_index(raft_.get());
  uint64_t most = 0;
  for (unsigned i = 0; i < conf.n; ++i) {
    if (conf.servers[i].id == options_.id) continue;
    auto match = raft_->leader_state.progress[i].match_index;
    most = std::max<uint64_t>(most, match >= last ? 0 : last - match);
  }
  return most;
}
uint64_t group::last_index() const { return started_ ? raft_last_index(raft_.get()) : 0; }
uint64_t group::applied_index() const { return started_ ? raft_->last_applied : 0; }

uint64_t group::leader_id() const {
  if (!started_ || closed_) return 0;
  raft_id id = 0;
  const char* address = nullptr;
  raft_leader(raft_.get(), &id, &address);
  return id;
}

bool group::leader_gone(uint64_t leader_id, unsigned campaign_in_ms) {
  if (!started_ || closed_ || leader_id == 0) return false;
  auto* r = raft_.get();
  if (r->state != RAFT_FOLLOWER || r->follower_state.current_leader.id != leader_id) return false;
  // As libraft itself forgets a leader (convert.c): id and address.
  r->follower_state.current_leader.id = 0;
  if (r->follower_state.current_leader.address != nullptr) {
    raft_free(r->follower_state.current_leader.address);
    r->follower_state.current_leader.address = nullptr;
  }
  // The election timer (electionTimerExpired: now - start >= randomized timeout) made to expire
  // campaign_in_ms from now, unless it expires sooner anyway. libraft draws the timeout again
  // whenever it resets the timer (an append from a leader, a vote, becoming candidate).
  const raft_time now = r->io->time(r->io);
  const raft_time expires = r->election_timer_start + r->follower_state.randomized_election_timeout;
  if (now + campaign_in_ms < expires) {
    r->election_timer_start = now;
    r->follower_state.randomized_election_timeout = campaign_in_ms;
  }
  after_event();  // on_leadership(0): routing stops sending to the gone leader
  return true;
}

void group::after_event() {
  if (closed_ || !started_) return;
  io_.note_configuration();
  const bool candidate = raft_->state == RAFT_CANDIDATE;
  if (candidate && !was_candidate_) ++campaigns_;
  was_candidate_ = candidate;
  uint64_t term = raft_->current_term;
  // libraft 0.15 can keep a configuration marked uncommitted after its entry committed (applied
  // while this replica was a follower, or covered by an installed snapshot); as leader it then
  // refuses every membership change for good (RAFT_CANTCHANGE). Committed is committed.
  if (options_.repair_configuration && raft_->state == RAFT_LEADER &&
      raft_->configuration_uncommitted_index != 0 &&
      raft_->configuration_uncommitted_index <= raft_->commit_index) {
    raft_->configuration_index = raft_->configuration_uncommitted_index;
    raft_->configuration_uncommitted_index = 0;
    ++repaired_configurations_;
  }
  if (raft_->state == RAFT_LEADER && barrier_term_ != term) {
    // A transfer this replica started as leader of an earlier term and libraft has not closed
    // yet (it does so an election timeout after the start, or once the transferee leads) would
    // make libraft 0.15 refuse the barrier (raft_barrier: RAFT_NOTLEADER while r->transfer is
    // set), and this leader would never serve. Closed here as libraft closes it
    // (membershipLeadershipTransferClose): its callback sees that this replica leads (failed).
    if (auto* stale = raft_->transfer; stale != nullptr) {
      raft_->transfer = nullptr;
      if (stale->cb != nullptr) stale->cb(stale);
      if (closed_) return;
    }
    // A new leader serves only once a barrier of its own term is applied: then every entry
    // committed by earlier leaders is applied here, and its term has a durable entry.
    barrier_term_ = term;
    std::weak_ptr<int> alive = alive_;
    barrier([this, alive, term](status s, uint64_t) {
      if (alive.expired()) return;
      // Refused (e.g. a transfer this leader started meanwhile): asked again at the next event
      // while it still leads this term, rather than never serving in it.
      if (s != status::ok && barrier_term_ == term) barrier_term_ = 0;
      if (s != status::ok) return;
      if (raft_->state == RAFT_LEADER && raft_->current_term == term) {
        serving_term_ = term;
        after_event();
      }
    });
    if (closed_) return;
  }
  uint64_t leader = serving() ? options_.id : (is_leader() ? 0 : leader_id());
  if (leader != seen_leader_ || term != seen_term_) {
    seen_leader_ = leader;
    seen_term_ = term;
    if (sm_.on_leadership) sm_.on_leadership(leader, term);
  }
}

}  // namespace chronicle::raft
