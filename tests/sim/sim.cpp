#include "sim.hpp"

#include "storage/raft/c_raft.hpp"

#include <cstdarg>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <vector>

#include "storage/raft/codec.hpp"
#include "storage/raft/group.hpp"
#include "storage/raft/memory_log_store.hpp"
#include "sim_disk.hpp"

namespace chronicle::sim {
namespace {

namespace cr = chronicle::raft;

class simulator;

// The replicated state machine of the simulation: index -> entry, so that any two replicas can
// be compared entry by entry and by digest.
struct fsm_state {
  std::map<uint64_t, std::string> applied;
  uint64_t last = 0;
};

std::string encode_fsm(const fsm_state& f) {
  std::string out;
  auto put = [&out](uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); };
  put(f.last);
  put(f.applied.size());
  for (const auto& [i, e] : f.applied) {
    put(i);
    put(e.size());
    out += e;
  }
  return out;
}

bool decode_fsm(std::string_view in, fsm_state& f) {
  auto get = [&in](uint64_t& v) {
    if (in.size() < 8) return false;
    std::memcpy(&v, in.data(), 8);
    in.remove_prefix(8);
    return true;
  };
  uint64_t n = 0;
  f = fsm_state{};
  if (!get(f.last) || !get(n)) return false;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t i = 0, len = 0;
    if (!get(i) || !get(len) || len > in.size()) return false;
    f.applied[i] = std::string(in.substr(0, len));
    in.remove_prefix(len);
  }
  return in.empty();
}

// reference_snapshots: what a replica stores as its snapshot — a magic and the applied index.
constexpr std::string_view reference_magic = "REF!";
std::string encode_reference(uint64_t last) {
  std::string out(reference_magic);
  out.append(reinterpret_cast<const char*>(&last), 8);
  return out;
}
std::optional<uint64_t> decode_reference(std::string_view in) {
  if (in.size() != reference_magic.size() + 8 || in.substr(0, reference_magic.size()) != reference_magic)
    return std::nullopt;
  uint64_t v = 0;
  std::memcpy(&v, in.data() + reference_magic.size(), 8);
  return v;
}

uint64_t digest(const fsm_state& f) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](const void* p, size_t n) {
    for (size_t k = 0; k < n; ++k) {
      h ^= static_cast<const unsigned char*>(p)[k];
      h *= 1099511628211ull;
    }
  };
  for (const auto& [i, e] : f.applied) {
    mix(&i, sizeof i);
    mix(e.data(), e.size());
  }
  return h;
}

class sim_clock final : public cr::clock {
 public:
  sim_clock(simulator& s, int node, uint64_t inc) : s_(s), node_(node), inc_(inc) {}
  uint64_t now_ms() override;
  int random(int min, int max) override;
  void every(unsigned ms, std::function<void()> tick) override;
  void defer(std::function<void()> fn) override;

 private:
  void tick_loop(unsigned ms, std::shared_ptr<std::function<void()>> tick);
  simulator& s_;
  int node_;
  uint64_t inc_;
};

class sim_transport final : public cr::transport {
 public:
  sim_transport(simulator& s, int node) : s_(s), node_(node) {}
  void send(uint64_t to, std::string bytes) override;

 private:
  simulator& s_;
  int node_;
};

struct incarnation {
  incarnation(simulator& s, int node, uint64_t no) : no(no), clk(s, node, no), net(s, node) {}
  uint64_t no;
  sim_clock clk;
  sim_transport net;
  fsm_state fsm;
  std::unique_ptr<cr::group> g;
  uint64_t leader_term = 0;  // term in which this incarnation was last seen as raft leader
};

struct node {
  explicit node(std::string rocks_path)
      : path(std::move(rocks_path)), store(std::make_unique<sim_disk>(path)) {}
  std::string path;
  uint64_t id = 0;
  bool joined = false;  // wiped: starts with no configuration, under a new ID
  std::unique_ptr<sim_disk> store;
  uint64_t disk_epoch = 0;
  uint64_t inc_no = 0;
  bool up = false;
  std::unique_ptr<incarnation> inc;
  // reference_snapshots: the state machine as durable on this disk, and as it was when each
  // queued disk write was submitted (made durable with that write).
  fsm_state disk_fsm;
  std::deque<fsm_state> fsm_at_submit;
};

class simulator {
 public:
  explicit simulator(const config& c) : cfg_(c), rng_(c.seed * 0x9E3779B97F4A7C15ull + 7) {
    nodes_.resize(c.replicas);
    for (int i = 0; i < c.replicas; ++i) {
      nodes_[i] = std::make_unique<node>(
        c.rocks_dir.empty() ? std::string() : c.rocks_dir + "/n" + std::to_string(i + 1));
      nodes_[i]->id = i + 1;
      setup_disk(i);
    }
    blocked_.assign(c.replicas, std::vector<bool>(c.replicas, false));
  }

  void setup_disk(int i) {
    nodes_[i]->store->set_ack_before_durable(cfg_.break_durability);
    nodes_[i]->store->set_on_submit([this, i] { disk_submitted(i); });
  }

  int index_of(uint64_t id) const {
    for (int i = 0; i < cfg_.replicas; ++i)
      if (nodes_[i]->id == id) return i;
    return -1;
  }

  result run() {
    for (int i = 0; i < cfg_.replicas; ++i) start_node(i);
    if (cfg_.wipes) schedule(200, [this] { reconcile(); });
    schedule(rnd(100, 500), [this] { chaos(); });
    schedule(rnd(10, 60), [this] { client(); });
    schedule(cfg_.chaos_ms, [this] { heal_all(); });
    end_ = cfg_.chaos_ms + cfg_.settle_ms;
    while (!queue_.empty() && res_.ok) {
      auto e = queue_.top();
      queue_.pop();
      if (e.t > end_) break;
      now_ = e.t;
      e.fn();
      if (res_.ok) check_leaders();
      for (size_t i = 0; i < nodes_.size() && res_.ok; ++i)
        if (!nodes_[i]->store->mismatch().empty()) fail("n%zu: %s", i + 1, nodes_[i]->store->mismatch().c_str());
    }
    if (res_.ok) final_checks();
    res_.sim_ms = now_;
    for (auto& n : nodes_) {
      if (n->inc && n->inc->g) {
        res_.held_results += n->inc->g->raw_io().stats().held_results;
        res_.stale_results += n->inc->g->raw_io().stats().stale_results;
        res_.capped_results += n->inc->g->raw_io().stats().capped_results;
        res_.rolled_back += n->inc->g->raw_io().stats().rolled_back;
        res_.not_rolled_back += n->inc->g->raw_io().stats().not_rolled_back;
        res_.split_appends += n->inc->g->raw_io().stats().split_appends;
        res_.reindexed_snapshots += n->inc->g->raw_io().stats().reindexed_snapshots;
      }
      n->up = false;
      n->inc.reset();
    }
    res_.held_results += held_;
    res_.stale_results += stale_;
    res_.capped_results += capped_;
    res_.rolled_back += rolled_back_;
    res_.not_rolled_back += not_rolled_back_;
    res_.split_appends += split_;
    res_.reindexed_snapshots += reindexed_;
    return res_;
  }

  uint64_t now() const { return now_; }
  int rnd(int lo, int hi) { return lo + static_cast<int>(rng_() % uint64_t(hi - lo + 1)); }
  bool chance(double p) { return (rng_() % 1000000) < uint64_t(p * 1000000); }

  void schedule(uint64_t delay, std::function<void()> fn) {
    queue_.push(event{now_ + delay, seq_++, std::move(fn)});
  }
  // Runs fn later only if node `i` is still the same incarnation and up.
  void node_event(int i, uint64_t inc, uint64_t delay, std::function<void()> fn) {
    schedule(delay, [this, i, inc, fn = std::move(fn)] {
      if (nodes_[i]->up && nodes_[i]->inc_no == inc) fn();
    });
  }

  void send(int from, uint64_t to_id, std::string bytes) {
    int to = index_of(to_id);
    if (to < 0) return;  // an ID no replica answers to any more (wiped)
    uint64_t from_id = nodes_[from]->id;
    ++res_.messages;
    if (cfg_.verbose && std::getenv("CHRONICLE_SIM_MESSAGES") != nullptr) trace_message(from, to, bytes);
    int copies = chance(dup_) ? 2 : 1;
    auto shared = std::make_shared<std::string>(std::move(bytes));
    for (int k = 0; k < copies; ++k) {
      if (blocked_[from][to] || chance(drop_)) continue;
      uint64_t delay = chance(slow_) ? rnd(50, 700) : rnd(1, 15);
      schedule(delay, [this, from, to, to_id, from_id, shared] {
        node& n = *nodes_[to];
        if (!n.up || blocked_[from][to] || n.id != to_id) return;
        n.inc->g->receive(from_id, *shared);
      });
    }
  }

  void trace_message(int from, int to, const std::string& bytes) {
    cr::decoded_message d;
    if (!cr::decode_message(bytes, d)) return;
    const auto& m = d.msg;
    auto u = [](uint64_t v) { return (unsigned long long)v; };
    switch (m.type) {
      case RAFT_IO_APPEND_ENTRIES:
        trace("  n%d->n%d AE term %llu prev %llu/%llu commit %llu entries %u (first term %llu)", from + 1, to + 1,
              u(m.append_entries.term), u(m.append_entries.prev_log_index), u(m.append_entries.prev_log_term),
              u(m.append_entries.leader_commit), m.append_entries.n_entries,
              u(m.append_entries.n_entries ? m.append_entries.entries[0].term : 0));
        break;
      case RAFT_IO_APPEND_ENTRIES_RESULT:
        trace("  n%d->n%d AE-result term %llu rejected %llu last %llu", from + 1, to + 1,
              u(m.append_entries_result.term), u(m.append_entries_result.rejected), u(m.append_entries_result.last_log_index));
        break;
      case RAFT_IO_REQUEST_VOTE:
        trace("  n%d->n%d RV term %llu last %llu/%llu pre %d disrupt %d", from + 1, to + 1, u(m.request_vote.term),
              u(m.request_vote.last_log_index), u(m.request_vote.last_log_term), int(m.request_vote.pre_vote), int(m.request_vote.disrupt_leader));
        break;
      case RAFT_IO_REQUEST_VOTE_RESULT:
        trace("  n%d->n%d RV-result term %llu granted %d pre %d", from + 1, to + 1, u(m.request_vote_result.term),
              int(m.request_vote_result.vote_granted), int(m.request_vote_result.pre_vote));
        break;
      case RAFT_IO_INSTALL_SNAPSHOT:
        trace("  n%d->n%d SNAP term %llu last %llu/%llu", from + 1, to + 1, u(m.install_snapshot.term),
              u(m.install_snapshot.last_index), u(m.install_snapshot.last_term));
        break;
      case RAFT_IO_TIMEOUT_NOW:
        trace("  n%d->n%d TIMEOUT-NOW term %llu", from + 1, to + 1, u(m.timeout_now.term));
        break;
    }
    d.release();
  }

  void trace(const char* fmt, ...) {
    if (!cfg_.verbose) return;
    std::fprintf(stderr, "[%6llu] ", static_cast<unsigned long long>(now_));
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
  }

  void fail(const char* fmt, ...) {
    if (!res_.ok) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    res_.ok = false;
    res_.violation = "t=" + std::to_string(now_) + "ms seed=" + std::to_string(cfg_.seed) + ": " + buf;
    trace("VIOLATION %s", buf);
  }

 private:
  struct event {
    uint64_t t, seq;
    std::function<void()> fn;
    bool operator>(const event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
  };

  void disk_submitted(int i) {
    node& n = *nodes_[i];
    uint64_t epoch = n.disk_epoch;
    if (cfg_.reference_snapshots) n.fsm_at_submit.push_back(n.inc ? n.inc->fsm : n.disk_fsm);
    schedule(rnd(1, 25), [this, i, epoch] {
      node& n = *nodes_[i];
      if (n.disk_epoch != epoch || !n.store->complete_next()) return;
      if (cfg_.reference_snapshots && !n.fsm_at_submit.empty()) {
        if (n.fsm_at_submit.front().last >= n.disk_fsm.last) n.disk_fsm = std::move(n.fsm_at_submit.front());
        n.fsm_at_submit.pop_front();
      }
    });
  }

  void start_node(int i) {
    node& n = *nodes_[i];
    n.up = true;
    n.inc_no++;
    n.inc = std::make_unique<incarnation>(*this, i, n.inc_no);
    incarnation* inc = n.inc.get();
    cr::group_options o;
    o.id = n.id;
    if (!n.joined)
      for (int k = 0; k < cfg_.replicas; ++k) o.members.push_back({uint64_t(k + 1), std::string("n").append(std::to_string(k + 1))});
    o.snapshot_threshold = cfg_.snapshot_threshold;
    o.snapshot_trailing = cfg_.snapshot_trailing;
    o.snapshot_log_bytes = cfg_.snapshot_log_bytes;
    o.first_snapshot_entries = cfg_.first_snapshot_entries;
    o.hold_results = (cfg_.io_guards & 1) != 0;
    o.drop_stale_results = (cfg_.io_guards & 2) != 0;
    o.cap_results = (cfg_.io_guards & 4) != 0;
    o.prevote_term = (cfg_.io_guards & 8) != 0;
    o.repair_progress = (cfg_.io_guards & 16) != 0;
    o.repair_configuration = (cfg_.io_guards & 32) != 0;
    o.rollback_configuration = (cfg_.io_guards & 64) != 0;
    o.max_append_bytes = cfg_.max_append_bytes;

    cr::state_machine sm;
    if (cfg_.reference_snapshots) inc->fsm = n.disk_fsm;  // the data survived the crash
    sm.apply = [this, i, inc](uint64_t index, std::string_view entry) {
      if (cfg_.reference_snapshots && index <= inc->fsm.last) {
        // Applied again after a restart or an installed snapshot past libraft's index: skipped
        // (shard_state_machine::apply), but it must be the entry applied before.
        auto it = inc->fsm.applied.find(index);
        if (it != inc->fsm.applied.end() && it->second != entry)
          fail("n%d re-applied '%.*s' at index %llu where '%s' was applied", i + 1, int(entry.size()),
               entry.data(), (unsigned long long)index, it->second.c_str());
        return;
      }
      if (index <= inc->fsm.last) fail("n%d applied index %llu after %llu", i + 1, (unsigned long long)index, (unsigned long long)inc->fsm.last);
      auto [it, fresh] = committed_.emplace(index, std::string(entry));
      if (!fresh && it->second != entry)
        fail("n%d applied '%.*s' at index %llu where '%s' was applied before (committed entry changed)",
             i + 1, int(entry.size()), entry.data(), (unsigned long long)index, it->second.c_str());
      inc->fsm.applied[index] = std::string(entry);
      inc->fsm.last = index;
    };
    if (cfg_.reference_snapshots) {
      sm.take_snapshot = [inc] { return encode_reference(inc->fsm.last); };
      sm.snapshot_to_send = [inc](std::string_view) -> std::optional<std::string> {
        return encode_fsm(inc->fsm);
      };
      if (cfg_.reindex_snapshots)
        sm.sent_index = [](std::string_view bytes) -> uint64_t {
          fsm_state f;
          return decode_fsm(bytes, f) ? f.last : 0;
        };
    } else {
      sm.take_snapshot = [inc] { return encode_fsm(inc->fsm); };
    }
    sm.restore = [this, i, inc](std::string_view bytes) {
      if (auto ref = decode_reference(bytes)) {  // our own, at start
        if (*ref > inc->fsm.last)
          fail("n%d: its snapshot stands for index %llu but its durable state is at %llu", i + 1,
               (unsigned long long)*ref, (unsigned long long)inc->fsm.last);
        return;
      }
      ++res_.snapshots_installed;
      fsm_state got;
      if (!decode_fsm(bytes, got)) fail("n%d got a snapshot it cannot decode", i + 1);
      if (cfg_.reference_snapshots && got.last <= inc->fsm.last) return;  // already at or past it
      inc->fsm = std::move(got);
      for (const auto& [index, e] : inc->fsm.applied) {
        auto [it, fresh] = committed_.emplace(index, e);
        if (!fresh && it->second != e)
          fail("n%d restored '%s' at index %llu where '%s' was applied before", i + 1, e.c_str(),
               (unsigned long long)index, it->second.c_str());
      }
      trace("n%d restored a snapshot up to %llu", i + 1, (unsigned long long)inc->fsm.last);
    };
    sm.on_leadership = [this, i, inc](uint64_t leader, uint64_t term) {
      trace("n%d sees leader n%llu term %llu", i + 1, (unsigned long long)leader, (unsigned long long)term);
      if (leader != nodes_[i]->id) return;
      // A serving leader has applied every acknowledged entry.
      for (const auto& [index, e] : acked_) {
        auto it = inc->fsm.applied.find(index);
        if (it == inc->fsm.applied.end() || it->second != e)
          fail("leader n%d of term %llu serves without acknowledged '%s' at %llu", i + 1,
               (unsigned long long)term, e.c_str(), (unsigned long long)index);
      }
    };
    n.inc->g = std::make_unique<cr::group>(o, *n.store, inc->net, inc->clk, std::move(sm));
    trace("n%d starts (incarnation %llu)", i + 1, (unsigned long long)n.inc_no);
    if (n.inc->g->start() != cr::status::ok) fail("n%d failed to start", i + 1);
  }

  void crash_node(int i) {
    node& n = *nodes_[i];
    if (!n.up) return;
    trace("n%d crashes (%zu disk writes lost)", i + 1, n.store->queued());
    ++res_.crashes;
    n.up = false;
    n.store->crash();
    n.disk_epoch++;
    n.fsm_at_submit.clear();  // those writes were lost
    if (cfg_.verbose) {
      auto st = n.store->load();
      trace("n%d durable: term %llu vote %llu log %llu..%llu (last term %llu)", i + 1,
            (unsigned long long)st.term, (unsigned long long)st.vote,
            (unsigned long long)st.start_index,
            (unsigned long long)(st.start_index + st.entries.size() - 1),
            (unsigned long long)(st.entries.empty() ? 0 : st.entries.back().term));
    }
    held_ += n.inc->g->raw_io().stats().held_results;
    stale_ += n.inc->g->raw_io().stats().stale_results;
    if (cfg_.leader_gone)
      for (int k = 0; k < cfg_.replicas; ++k)
        if (k != i) tell_leader_gone(k, n.id, rnd(0, 50));
    capped_ += n.inc->g->raw_io().stats().capped_results;
    rolled_back_ += n.inc->g->raw_io().stats().rolled_back;
    not_rolled_back_ += n.inc->g->raw_io().stats().not_rolled_back;
    split_ += n.inc->g->raw_io().stats().split_appends;
    reindexed_ += n.inc->g->raw_io().stats().reindexed_snapshots;
    n.inc.reset();
  }

  // Replica k hears, after `after_ms`, that the replica with Raft ID `gone` is gone.
  void tell_leader_gone(int k, uint64_t gone, int after_ms) {
    uint64_t epoch = nodes_[k]->disk_epoch;
    schedule(after_ms, [this, k, gone, epoch] {
      node& m = *nodes_[k];
      if (!m.up || m.disk_epoch != epoch || !m.inc || !m.inc->g) return;
      unsigned in_ms = static_cast<unsigned>(rnd(0, 600));
      if (m.inc->g->leader_gone(gone, in_ms)) {
        ++res_.leaders_forgotten;
        trace("n%d forgets leader %llu, campaigns in %u ms", k + 1, (unsigned long long)gone, in_ms);
      }
    });
  }

  int down_count() const {
    int d = 0;
    for (const auto& n : nodes_) d += n->up ? 0 : 1;
    return d;
  }

  int serving_node() const {
    for (int i = 0; i < cfg_.replicas; ++i)
      if (nodes_[i]->up && nodes_[i]->inc->g->serving()) return i;
    return -1;
  }

  void chaos() {
    if (now_ >= cfg_.chaos_ms) return;
    int roll = rnd(0, 99);
    int n = cfg_.replicas;
    if (roll < 25) {
      int max_down = chance(0.1) ? n / 2 + 1 : (n - 1) / 2;
      if (down_count() < max_down) {
        int leader = serving_node();
        int victim = (leader >= 0 && chance(0.5)) ? leader : rnd(0, n - 1);
        if (nodes_[victim]->up) {
          crash_node(victim);
          schedule(rnd(100, 4000), [this, victim] {
            if (!nodes_[victim]->up) start_node(victim);
          });
        }
      }
    } else if (roll < 45) {
      ++res_.partitions;
      for (auto& row : blocked_) row.assign(n, false);
      if (chance(0.5)) {  // symmetric: a random side against the rest
        std::vector<bool> side(n);
        for (int k = 0; k < n; ++k) side[k] = chance(0.5);
        for (int a = 0; a < n; ++a)
          for (int b = 0; b < n; ++b) blocked_[a][b] = side[a] != side[b];
        trace("partition (symmetric)");
        if (cfg_.leader_gone)  // as if the connections dropped: a hint about a live leader
          for (int a = 0; a < n; ++a)
            for (int b = 0; b < n; ++b)
              if (blocked_[a][b] && nodes_[b]->up && chance(0.5))
                tell_leader_gone(a, nodes_[b]->id, rnd(0, 50));
      } else {  // one-way links
        int links = rnd(1, n);
        for (int k = 0; k < links; ++k) {
          int a = rnd(0, n - 1), b = rnd(0, n - 1);
          if (a != b) blocked_[a][b] = true;
        }
        trace("partition (one-way)");
      }
      uint64_t gen = ++partition_gen_;
      schedule(rnd(200, 5000), [this, gen] {
        if (gen != partition_gen_) return;
        for (auto& row : blocked_) row.assign(cfg_.replicas, false);
        trace("partition healed");
      });
    } else if (roll < 57) {
      int leader = serving_node();
      if (leader >= 0) {
        ++res_.transfers;
        uint64_t to = chance(0.5) ? 0 : nodes_[rnd(0, n - 1)]->id;
        if (to == nodes_[leader]->id) to = 0;
        trace("n%d transfers leadership to %llu", leader + 1, (unsigned long long)to);
        nodes_[leader]->inc->g->transfer_leadership(to, nullptr);
      }
    } else if (cfg_.wipes && roll >= 90 && wipe_allowed()) {
      wipe_node(rnd(0, n - 1));
    } else if (roll < 67) {
      static const double drops[] = {0, 0, 0.02, 0.1, 0.3};
      drop_ = drops[rnd(0, 4)];
      dup_ = chance(0.5) ? 0.0 : 0.05;
      slow_ = chance(0.5) ? 0.0 : 0.1;
      trace("network: drop %.2f dup %.2f slow %.2f", drop_, dup_, slow_);
    }
    schedule(rnd(100, 700), [this] { chaos(); });
  }

  // The serving leader's configuration, or empty when none serves.
  std::vector<cr::config_member> leader_configuration() const {
    int l = serving_node();
    return l < 0 ? std::vector<cr::config_member>{} : nodes_[l]->inc->g->configuration();
  }

  // Every replica's current ID is a voter of the leader's configuration and nothing else is in
  // it: a wipe now loses one of three copies, never two.
  bool membership_complete() const {
    auto conf = leader_configuration();
    if (conf.size() != nodes_.size()) return false;
    for (auto& m : conf)
      if (index_of(m.id) < 0 || m.role != cr::role::voter) return false;
    return true;
  }

  // Also every replica must know the configuration that makes it a voter: libraft 0.15 grants
  // no vote while its own configuration says it is not a voter (election.c electionVote), so a
  // member promoted whose log still lacks the promotion, plus a second replica lost for good,
  // leaves a 3-replica group with no electable majority (docs/replication.md, "Liveness").
  bool wipe_allowed() const {
    if (down_count() != 0 || !membership_complete()) return false;
    for (auto& n : nodes_) {
      auto conf = n->inc->g->configuration();
      auto self = std::find_if(conf.begin(), conf.end(), [&](auto& m) { return m.id == n->id; });
      if (conf.size() != nodes_.size() || self == conf.end() || self->role != cr::role::voter)
        return false;
    }
    return true;
  }

  void wipe_node(int i) {
    node& n = *nodes_[i];
    crash_node(i);
    ++res_.wipes;
    n.store.reset();
    n.disk_epoch++;
    if (!n.path.empty()) n.path += "w";
    n.store = std::make_unique<sim_disk>(n.path);
    n.disk_fsm = fsm_state{};
    setup_disk(i);
    if (!cfg_.wipe_keeps_id) {
      n.id = uint64_t(100 * (res_.wipes + 1) + i + 1);
      n.joined = true;
    }
    trace("n%d wiped: comes back empty as ID %llu", i + 1, (unsigned long long)n.id);
    schedule(rnd(100, 4000), [this, i] {
      if (!nodes_[i]->up) start_node(i);
    });
  }

  // What the shard actor's reconcile does: the serving leader removes IDs no replica answers to
  // any more, adds replicas that are up and missing, then promotes them; one change at a time.
  int leader_node() const {
    for (int i = 0; i < cfg_.replicas; ++i)
      if (nodes_[i]->up && nodes_[i]->inc->g->is_leader()) return i;
    return -1;
  }

  void reconcile() {
    schedule(200, [this] { reconcile(); });
    int l = leader_node();
    if (l < 0) return;
    cr::group& g = *nodes_[l]->inc->g;
    // The replica's watchdog (actors/shard/replica.cpp): a leader whose commit index has not
    // moved for 10 s while it holds uncommitted entries restarts its group.
    if (g.commit_index() != watch_commit_ || l != watch_node_) {
      watch_commit_ = g.commit_index();
      watch_node_ = l;
      watch_since_ = now_;
    } else if (g.last_index() > g.commit_index() && now_ - watch_since_ >= 10000) {
      trace("n%d: commit stuck at %llu for 10 s: the watchdog restarts it", l + 1,
            (unsigned long long)g.commit_index());
      ++res_.watchdog_restarts;
      watch_since_ = now_;
      crash_node(l);
      start_node(l);
      return;
    }
    if (!g.serving()) return;
    if (g.changing()) return;
    auto done = [this](const char* what, uint64_t id) {
      return [this, what, id](cr::status s) {
        if (s == cr::status::ok) ++res_.membership_changes;
        trace("membership: %s %llu: %s", what, (unsigned long long)id, cr::to_string(s));
      };
    };
    auto conf = g.configuration();
    for (auto& m : conf) {
      int owner = index_of(m.id);
      int was = static_cast<int>((m.id - 1) % 100);
      if (owner < 0 && was < cfg_.replicas && nodes_[was]->up) {
        trace("n%d removes old ID %llu", l + 1, (unsigned long long)m.id);
        return g.remove_member(m.id, done("removed", m.id));
      }
    }
    for (int i = 0; i < cfg_.replicas; ++i) {
      if (!nodes_[i]->up) continue;
      uint64_t id = nodes_[i]->id;
      auto it = std::find_if(conf.begin(), conf.end(), [id](auto& m) { return m.id == id; });
      if (it == conf.end()) {
        trace("n%d adds ID %llu", l + 1, (unsigned long long)id);
        return g.add_member(id, std::string("n").append(std::to_string(i + 1)), done("added", id));
      }
      if (it->role != cr::role::voter) {
        trace("n%d promotes ID %llu", l + 1, (unsigned long long)id);
        return g.promote(id, done("promoted", id));
      }
    }
  }

  void heal_all() {
    trace("heal: network whole, every replica up");
    ++partition_gen_;
    for (auto& row : blocked_) row.assign(cfg_.replicas, false);
    drop_ = dup_ = slow_ = 0;
    for (int i = 0; i < cfg_.replicas; ++i)
      if (!nodes_[i]->up) start_node(i);
    healed_ = true;
  }

  void client() {
    if (now_ + 5000 >= end_) return;  // quiet at the end so every replica can catch up
    int target = serving_node();
    if (target < 0 || chance(0.05)) target = rnd(0, cfg_.replicas - 1);
    node& n = *nodes_[target];
    if (n.up) {
      std::string entry = std::string("p").append(std::to_string(++res_.proposals)) + "@n" + std::to_string(n.id);
      bool after_heal = healed_;
      int i = target;
      n.inc->g->propose(entry, [this, i, entry, after_heal](cr::status s, uint64_t index) {
        if (s != cr::status::ok) return;
        trace("n%d acknowledged '%s' at %llu", i + 1, entry.c_str(), (unsigned long long)index);
        ++res_.acked;
        if (after_heal) acked_after_heal_ = true;
        auto c = committed_.find(index);
        if (c == committed_.end() || c->second != entry)
          fail("n%d acknowledged '%s' at %llu but the committed entry there is '%s'", i + 1,
               entry.c_str(), (unsigned long long)index,
               c == committed_.end() ? "(none)" : c->second.c_str());
        ack_term_.emplace(index, nodes_[i]->inc->g->term());
        auto [it, fresh] = acked_.emplace(index, entry);
        if (!fresh && it->second != entry)
          fail("index %llu acknowledged twice: '%s' and '%s'", (unsigned long long)index,
               it->second.c_str(), entry.c_str());
      });
    }
    schedule(rnd(10, 60), [this] { client(); });
  }

  // After every event: at most one leader per term; a new leader holds every acknowledged entry.
  void check_leaders() {
    for (int i = 0; i < cfg_.replicas; ++i) {
      node& n = *nodes_[i];
      if (!n.up || !n.inc->g->is_leader()) continue;
      uint64_t term = n.inc->g->term();
      if (term > res_.max_term) res_.max_term = term;
      auto [it, fresh] = leaders_.emplace(term, n.id);
      if (!fresh && it->second != n.id) {
        fail("two leaders in term %llu: n%llu and n%llu", (unsigned long long)term,
             (unsigned long long)it->second, (unsigned long long)n.id);
        return;
      }
      if (n.inc->leader_term == term) continue;
      n.inc->leader_term = term;
      ++res_.elections;
      trace("n%d is leader of term %llu", i + 1, (unsigned long long)term);
      uint64_t snap = n.store->visible_snapshot_index();
      for (const auto& [index, e] : acked_) {
        if (index <= snap) continue;  // covered by the snapshot; checked when it serves
        // Raft's leader completeness: an entry acknowledged in term A is in the log of every
        // leader of a later term. A leader of an earlier term can still win after it (vote
        // answers delayed in the network), lacking the entry; it cannot commit anything, since
        // a majority moved past its term, and it serves only once its barrier commits (checked
        // in on_leadership, by time).
        if (term <= ack_term_[index]) continue;
        auto entry = n.store->visible_entry(index);
        if (!entry || entry->data != e) {
          fail("leader n%d of term %llu lacks acknowledged '%s' at %llu in its log", i + 1,
               (unsigned long long)term, e.c_str(), (unsigned long long)index);
          return;
        }
      }
    }
  }

  void dump() {
    for (int i = 0; i < cfg_.replicas; ++i) {
      auto& n = *nodes_[i];
      if (!n.up) continue;
      struct raft* r = n.inc->g->raw();
      trace("n%d state %d term %llu commit %llu applied %llu stored %llu last %llu queued %zu snap %llu",
            i + 1, r->state, (unsigned long long)r->current_term, (unsigned long long)r->commit_index,
            (unsigned long long)r->last_applied, (unsigned long long)r->last_stored,
            (unsigned long long)raft_last_index(r), n.store->queued(),
            (unsigned long long)n.store->visible_snapshot_index());
      if (r->state == RAFT_LEADER)
        for (unsigned k = 0; k < r->configuration.n; ++k) {
          auto& p = r->leader_state.progress[k];
          trace("   progress n%llu: mode %d next %llu match %llu snapshot %llu", (unsigned long long)r->configuration.servers[k].id, p.state,
                (unsigned long long)p.next_index, (unsigned long long)p.match_index, (unsigned long long)p.snapshot_index);
        }
    }
  }

  void final_checks() {
    dump();
    if (cfg_.wipes && !membership_complete()) {
      fail("membership: the leader's configuration did not converge to the replicas' IDs");
      return;
    }
    if (!acked_after_heal_) {
      fail("liveness: nothing was committed in the %llu ms after healing",
           (unsigned long long)cfg_.settle_ms);
      return;
    }
    uint64_t want_applied = 0;
    for (const auto& n : nodes_) want_applied = std::max(want_applied, n->inc->g->applied_index());
    res_.last_index = want_applied;
    const fsm_state& ref = nodes_[0]->inc->fsm;
    for (int i = 0; i < cfg_.replicas; ++i) {
      auto& n = *nodes_[i];
      if (n.inc->g->applied_index() != want_applied) {
        fail("n%d applied up to %llu, others up to %llu after settling", i + 1,
             (unsigned long long)n.inc->g->applied_index(), (unsigned long long)want_applied);
        return;
      }
      if (digest(n.inc->fsm) != digest(ref)) {
        fail("digest of n%d differs from n1's", i + 1);
        return;
      }
    }
    for (const auto& [index, e] : acked_) {
      auto it = ref.applied.find(index);
      if (it == ref.applied.end() || it->second != e) {
        fail("acknowledged '%s' at %llu is missing from the final state", e.c_str(),
             (unsigned long long)index);
        return;
      }
    }
  }

  config cfg_;
  std::mt19937_64 rng_;
  std::priority_queue<event, std::vector<event>, std::greater<event>> queue_;
  uint64_t now_ = 0, seq_ = 0, end_ = 0;
  std::vector<std::unique_ptr<node>> nodes_;
  std::vector<std::vector<bool>> blocked_;
  uint64_t partition_gen_ = 0;
  double drop_ = 0, dup_ = 0, slow_ = 0;
  bool healed_ = false, acked_after_heal_ = false;
  std::map<uint64_t, std::string> committed_;  // index -> entry, from every apply anywhere
  std::map<uint64_t, std::string> acked_;      // index -> entry reported ok to a client
  std::map<uint64_t, uint64_t> ack_term_;      // index -> term of the leader that acknowledged it
  std::map<uint64_t, uint64_t> leaders_;       // term -> leader id
  uint64_t held_ = 0, stale_ = 0, capped_ = 0, rolled_back_ = 0, not_rolled_back_ = 0,
           split_ = 0, reindexed_ = 0;
  uint64_t watch_commit_ = 0, watch_since_ = 0;
  int watch_node_ = -1;
  result res_;
};

uint64_t sim_clock::now_ms() { return s_.now(); }
int sim_clock::random(int min, int max) { return s_.rnd(min, max); }
void sim_clock::every(unsigned ms, std::function<void()> tick) {
  tick_loop(ms, std::make_shared<std::function<void()>>(std::move(tick)));
}
void sim_clock::tick_loop(unsigned ms, std::shared_ptr<std::function<void()>> tick) {
  s_.node_event(node_, inc_, ms, [this, ms, tick] {
    (*tick)();
    tick_loop(ms, tick);
  });
}
void sim_clock::defer(std::function<void()> fn) { s_.node_event(node_, inc_, 0, std::move(fn)); }
void sim_transport::send(uint64_t to, std::string bytes) { s_.send(node_, to, std::move(bytes)); }

}  // namespace

result run(const config& c) {
  simulator s(c);
  return s.run();
}

}  // namespace chronicle::sim
