#include "actors/shard/replica.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <tuple>

#include "protocol/ab_switch.hpp"
#include "shards/ring.hpp"
#include "storage/raft/codec.hpp"
#include "storage/raft/group.hpp"
#include "storage/raft/rocks_log_store.hpp"
#include "storage/raft/shard_state_machine.hpp"

namespace chronicle {

namespace {

// Raft timing (docs/replication.md): election ~1 s, heartbeat 100 ms. Snapshots are one buffer
// of the shard's data (chunking is open): taken rarely (config raft_snapshot_entries), with half
// as many entries kept behind for catch-up.
constexpr unsigned election_timeout_ms = 1000;
// The most a follower is sent in one AppendEntries (libraft 0.15 would send the whole tail).
// CHRONICLE_RAFT_MAX_APPEND_BYTES overrides it for A/B benchmarks (0: the whole tail).
size_t max_append_bytes() {
  static const size_t bytes = ab::size("CHRONICLE_RAFT_MAX_APPEND_BYTES", size_t{1} << 20);
  return bytes;
}

constexpr unsigned heartbeat_ms = 100;
// A follower whose leader's node went down campaigns after leader_gone_first_ms when it is first
// in line, each next voter leader_gone_delay_ms later (shard_replica::leader_gone): the first
// waits a moment so that the others also hear of the drop and forget the leader (a replica that
// still knows a leader refuses every pre-vote); a later one campaigns only if the first has not
// won by then (its appends reset the timer).
constexpr unsigned leader_gone_first_ms = 100;
constexpr unsigned leader_gone_delay_ms = 500;

// A group's first snapshot comes after this many applied entries (group_options::
// first_snapshot_entries): from then on a replica that joins empty gets a snapshot of the data
// rather than the whole log. CHRONICLE_RAFT_FIRST_SNAPSHOT overrides it for A/B benchmarks (0:
// the first at raft_snapshot_entries, as the others).
unsigned first_snapshot_entries() {
  static const auto n = static_cast<unsigned>(ab::size("CHRONICLE_RAFT_FIRST_SNAPSHOT", 1024));
  return n;
}
// Transitions queued together are proposed as one raft entry of at most this many bytes (one
// append, one message per follower, one apply per replica for all of them; 0: one entry per
// transition). CHRONICLE_RAFT_JOIN_BYTES overrides it for A/B benchmarks.
size_t join_bytes() {
  static const size_t bytes = ab::size("CHRONICLE_RAFT_JOIN_BYTES", size_t{256} << 10);
  return bytes;
}
// The entries applied while handling one message are written together, up to this many per
// write: a catch-up message applies thousands, and one write of all of them slowed the
// leaders' foreground work while a replica caught up (0.25-0.40 of healthy against 0.47-0.55
// with one write per entry, same minutes). CHRONICLE_RAFT_APPLY_BATCH overrides it for A/B
// benchmarks (1: one write per entry, as before).
size_t max_staged() {
  static const size_t n = std::max<size_t>(1, ab::size("CHRONICLE_RAFT_APPLY_BATCH", 32));
  return n;
}
// A follower applies committed entries in windows (docs/replication.md "Followers apply in
// windows"): what it staged is written once the window is this old (ms) or holds this many
// operations, not at the end of every message as a leader does; within a window the records a
// short run writes and then overwrites or removes again are written once or not at all
// (storage::batch_coalescer). CHRONICLE_RAFT_FOLLOWER_WINDOW_MS=0 writes at every message, as
// leaders do, for A/B benchmarks.
int64_t follower_window_ms() {
  static const auto ms = static_cast<int64_t>(ab::size("CHRONICLE_RAFT_FOLLOWER_WINDOW_MS", 200));
  return ms;
}
constexpr size_t follower_window_ops = 4096;
// Snapshots go as a token for a stream the replica pulls in chunks (docs/replication.md
// "Snapshots in chunks"); CHRONICLE_RAFT_SNAPSHOT_STREAM=0 sends the data in the InstallSnapshot
// itself, as before, for A/B benchmarks.
bool stream_snapshots() {
  static const bool on = ab::size("CHRONICLE_RAFT_SNAPSHOT_STREAM", 1) != 0;
  return on;
}
// Behind by at most this many entries, a standby waiting for promotion makes the leader hold
// new proposals for at most promotion_hold_ms (shard_replica::parts::hold_since).
constexpr uint64_t promotion_hold_entries = 64;
constexpr int64_t promotion_hold_ms = 300;
// A digest is computed again no sooner than this many times what the last one took after it
// (parts::digest): describe() asked in a loop spends at most ~1/10 of the shard's thread on it.
constexpr int64_t digest_cost_factor = 10;

// The most entries a leader has proposed and not yet seen committed (0: no limit); the
// transitions submitted meanwhile wait in the queue and go as one entry when one commits, as
// the committer groups fsyncs. CHRONICLE_RAFT_IN_FLIGHT sets it for A/B benchmarks.
size_t max_in_flight() {
  static const size_t n = ab::size("CHRONICLE_RAFT_IN_FLIGHT", 0);
  return n;
}

}  // namespace

// The shard actor's mailbox as the group's loop, the peers' node actors as its network.
struct shard_replica::parts final : raft::transport, raft::clock {
  caf::event_based_actor* self;
  env_ptr env;
  uint32_t shard;
  uint64_t my_id;
  std::function<void(bool)> on_leadership;
  std::unique_ptr<raft::rocks_log_store> log_store;
  std::unique_ptr<raft::shard_state_machine> machine;
  std::unique_ptr<raft::group> group;
  std::mt19937 rng{std::random_device{}()};
  std::function<void()> tick_fn;
  unsigned tick_ms = 0;
  unsigned ticks = 0;
  bool serving = false;
  bool changing = false;  // a membership change this replica started is in flight
  bool lists_agreed = true;  // no peer up runs another member list (reconcile logs changes)
  size_t in_flight = 0;    // entries proposed, their outcome not known yet (max_in_flight)
  // A standby a few entries behind is promoted only at a moment its log matches the leader's
  // (group::promote); under steady load that moment may never come at a tick. So the leader
  // holds new proposals (they wait in the queue) until the standby has the rest, at most
  // promotion_hold_ms, then promotes it and lets them go as one entry.
  int64_t hold_since = 0;  // 0: not holding
  int64_t hold_again = 0;  // a hold that ran out: no new one before this time (ms)

  // True while proposals are held; a hold that ran out (the standby did not make it) ends
  // here, and no new one is taken for a while: the load goes on.
  bool holding() {
    if (hold_since == 0) return false;
    auto now = chronicle::now_ms();
    if (now - hold_since < promotion_hold_ms) return true;
    hold_since = 0;
    hold_again = now + 10 * promotion_hold_ms;
    return false;
  }
  // What waited in the queue goes now (as one entry).
  void wake_proposals() {
    if (auto me = caf::actor_cast<caf::actor>(addr)) caf::anon_send(me, propose_atom::value);
  }
  // The watchdog: the commit index last seen and since when (shard_replica::watchdog).
  uint64_t watch_commit = 0;
  int64_t watch_since = 0;
  // Stores of groups the watchdog restarted: kept, since the committer may still complete
  // their writes (the callbacks check that their group is gone).
  std::vector<std::unique_ptr<raft::rocks_log_store>> retired_stores;
  std::vector<std::unique_ptr<raft::shard_state_machine>> retired_machines;
  // Work handed over from other threads (committer completions, deferred calls), run in order.
  std::mutex mutex;
  std::deque<std::function<void()>> posted;
  caf::actor_addr addr;
  // Answers to proposals whose entries are staged in the state machine, not yet written: run
  // by settle() after the flush, so nobody hears of a write the store does not have yet.
  std::vector<std::function<void()>> acks;

  // The last digest describe() computed, when (steady µs) and what it took: computed again only
  // once the applied index moved and digest_cost_factor times its cost has passed, so however
  // often the status is asked, digests of a large shard take at most ~1/digest_cost_factor of
  // the shard's thread (they read all of its data).
  raft::shard_digest digest;
  bool have_digest = false;
  int64_t digest_at_us = 0, digest_cost_us = 0;

  // One of the node's snapshot pulls (config.raft_snapshot_pulls), given back with the pull.
  struct pull_slot {
    std::atomic<uint32_t>* pulls;
    explicit pull_slot(std::atomic<uint32_t>* n) : pulls(n) {}
    pull_slot(const pull_slot&) = delete;
    pull_slot& operator=(const pull_slot&) = delete;
    ~pull_slot() { --*pulls; }
  };
  std::unique_ptr<pull_slot> take_pull_slot() {
    auto limit = env->config.raft_snapshot_pulls;
    auto& n = env->snapshot_pulls;
    auto cur = n.load();
    do {
      if (limit != 0 && cur >= limit) return nullptr;
    } while (!n.compare_exchange_weak(cur, cur + 1));
    return std::make_unique<pull_slot>(&n);
  }

  // A snapshot this replica pulls from a leader's stream, chunk by chunk, before libraft sees
  // the InstallSnapshot that named it (docs/replication.md "Snapshots in chunks"). It waits for
  // a slot of the node's first (`slot` null): the InstallSnapshot is held meanwhile.
  struct pull_state {
    std::unique_ptr<pull_slot> slot;
    uint64_t from = 0;                           // the replica serving the stream
    raft::shard_state_machine::stream_token token;
    std::string message;                         // the InstallSnapshot, delivered when complete
    uint32_t table = 0;                          // where the next chunk starts
    std::string after_key;
    bool first = true;
    bool paced = false;  // the next chunk request waits for raft_snapshot_bytes_per_s
    int64_t requested_us = 0;  // when the chunk in flight was asked for
    uint64_t bytes = 0, chunks = 0;
    int64_t started_ms = 0, progress_ms = 0;
  };
  std::optional<pull_state> pull;
  uint64_t pull_generation = 0;  // of the chunk request in flight

  // The InstallSnapshot `bytes` from `from`: true when it is held (or dropped) while its stream
  // is pulled, false when libraft should have it now.
  bool hold_install(uint64_t from, const std::string& bytes) {
    auto data = raft::install_snapshot_data(bytes);
    auto token = data ? raft::shard_state_machine::parse_token(*data) : std::nullopt;
    if (!token || !machine || token->applied_index <= machine->applied_index() ||
        machine->stage_complete(*token))
      return false;  // data in the message, nothing new (a no-op restore), or already staged
    auto now = chronicle::now_ms();
    if (pull && pull->token.stream == token->stream) {
      pull->message = bytes;  // the newest of the leader's retries goes to libraft
      return true;
    }
    if (pull && pull->slot && now - pull->progress_ms < 5000) return true;  // another is moving
    if (pull && pull->slot)
      spdlog::warn("shard {}: snapshot stream {} stalled, pulling stream {} instead", shard,
                   pull->token.stream, token->stream);
    // A stalled pull's slot goes to the new one; a waiting pull had none.
    auto slot = pull && pull->slot ? std::move(pull->slot) : take_pull_slot();
    pull = pull_state{};
    pull->from = from;
    pull->token = *token;
    pull->message = bytes;
    pull->slot = std::move(slot);
    if (pull->slot) start_pull();
    else
      spdlog::info("shard {}: a snapshot at index {} waits its turn ({} pulls at once on this "
                   "node: raft_snapshot_pulls)", shard, token->applied_index,
                   env->config.raft_snapshot_pulls);
    return true;
  }
  void start_pull() {
    pull->started_ms = pull->progress_ms = chronicle::now_ms();
    spdlog::info("shard {}: pulling a snapshot at index {} from {} in chunks (stream {})", shard,
                 pull->token.applied_index, env->member_by_id(pull->from), pull->token.stream);
    request_chunk();
  }
  // Every tick: a waiting pull starts once the node has a slot free.
  void pull_when_free() {
    if (!pull || pull->slot) return;
    if (auto slot = take_pull_slot()) {
      pull->slot = std::move(slot);
      start_pull();
    }
  }
  static int64_t steady_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  }
  // raft_snapshot_bytes_per_s: the chunk of `bytes` asked for at pull->requested_us takes its
  // time of the node's rate (from then, or from the end of the time already taken by this or
  // another pull); how long (µs) the next request must wait (0: at once).
  int64_t pace(size_t bytes) {
    auto rate = env->config.raft_snapshot_bytes_per_s;
    if (rate == 0) return 0;
    auto cost = static_cast<int64_t>(static_cast<double>(bytes) * 1e6 / static_cast<double>(rate));
    auto& next = env->snapshot_pace_us;
    auto cur = next.load();
    int64_t due = 0;
    do due = std::max(cur, pull->requested_us) + cost;
    while (!next.compare_exchange_weak(cur, due));
    return std::max<int64_t>(0, due - steady_us());
  }
  // The paced chunk request is due (snapchunk_atom from the shard actor to itself).
  void paced_chunk_due(uint64_t generation) {
    if (!pull || !pull->paced || pull_generation != generation) return;
    pull->paced = false;
    request_chunk();
  }
  void abandon_pull(const std::string& why) {
    spdlog::warn("shard {}: snapshot stream {} from {} abandoned after {} chunks: {} (the leader "
                 "sends another)", shard, pull->token.stream, env->member_by_id(pull->from),
                 pull->chunks, why);
    // What it staged goes (libraft never saw its token: no restore needs it).
    if (machine && !pull->first) machine->drop_stage(pull->token.stream);
    pull.reset();
  }
  void request_chunk() {
    auto peer = env->peers->peer(env->member_by_id(pull->from));
    if (!peer) return abandon_pull("its node is not connected");
    pb::SnapshotChunkRequest req;
    req.set_shard(shard);
    req.set_stream(pull->token.stream);
    req.set_table(pull->table);
    req.set_after_key(pull->after_key);
    req.set_max_bytes(env->config.raft_snapshot_chunk_bytes);
    auto generation = ++pull_generation;  // a later pull (even of the same stream) ignores it
    pull->requested_us = steady_us();
    self->request(*peer, std::chrono::seconds(30), snapchunk_atom::value, shard, my_id, encode(req))
      .then(
        [this, generation](const std::string& bytes) {
          if (!pull || pull_generation != generation) return;
          on_chunk(bytes);
          settle();
        },
        [this, generation](const caf::error& err) {
          if (pull && pull_generation == generation) abandon_pull(error_text(err));
        });
  }
  void on_chunk(const std::string& bytes) {
    auto chunk = decode<pb::HandoffChunk>(bytes, "HandoffChunk");
    if (!chunk) return abandon_pull(error_text(chunk.error()));
    uint64_t keep = 0;  // the stream libraft stores (its restore may still need the stage)
    if (auto stored = log_store->get_snapshot())
      if (auto t = raft::shard_state_machine::parse_token(stored->data)) keep = t->stream;
    const bool first = pull->first;
    pull->first = false;
    ++pull->chunks;
    for (auto& e : chunk->entries()) pull->bytes += e.key().size() + e.value().size();
    pull->progress_ms = chronicle::now_ms();
    if (!chunk->done()) {  // the next chunk is read and sent while this one is written
      pull->table = chunk->next_table();
      pull->after_key = chunk->next_after_key();
      if (auto wait_us = pace(bytes.size()); wait_us > 0) {
        // raft_snapshot_bytes_per_s: asked for once this chunk's bytes fit the rate.
        pull->paced = true;
        self->delayed_send(self, std::chrono::microseconds(wait_us), snapchunk_atom::value,
                           pull_generation);
      } else {
        request_chunk();
        if (!pull) return;  // abandoned (the leader's node is gone)
      }
    }
    auto st = machine->stage_chunk(pull->token, *chunk, first, keep);
    if (!st.ok()) return abandon_pull(st.message());
    if (!chunk->done()) return;
    auto done = std::move(*pull);
    pull.reset();
    spdlog::info("shard {}: installing a snapshot of {} bytes at index {} (stream {}: {} chunks "
                 "in {} ms)", shard, done.bytes, done.token.applied_index, done.token.stream,
                 done.chunks, done.progress_ms - done.started_ms);
    env->metrics->on_snapshot_installed(done.bytes);
    if (group) group->receive(done.from, done.message);
  }

  // End of every message the replica handles: the entries applied meanwhile go to the store as
  // one write (shard_state_machine::stage/flush), then their proposers are answered. A follower
  // writes them once its window is due (follower_window_ms).
  void settle() {
    if (!acks.empty() || !following() || window_due()) flush_staged();
    auto run = std::move(acks);
    acks.clear();
    for (auto& ack : run) ack();
  }
  uint64_t reported_campaigns = 0;  // group::campaigns() reported to /metrics so far
  // The machine's applied operations and what was written of them, reported so far.
  uint64_t reported_ops = 0, reported_written = 0;
  void report_applied() {
    if (!machine || machine->ops_staged() == reported_ops) return;
    env->metrics->on_entries_applied(machine->ops_staged() - reported_ops,
                                     machine->ops_written() - reported_written);
    reported_ops = machine->ops_staged();
    reported_written = machine->ops_written();
  }
  // A replica that applies in windows: it neither leads nor stages answers to give.
  bool following() const {
    return follower_window_ms() > 0 && group && !group->is_leader();
  }
  int64_t staged_since_ms = 0;  // when the first entry of the current window was staged
  bool window_due() const {
    return machine && machine->staged() > 0
           && (machine->staged_ops() >= follower_window_ops
               || chronicle::now_ms() - staged_since_ms >= follower_window_ms());
  }
  void flush_staged() {
    if (!machine || !machine->staged()) return;
    auto s = machine->flush();
    report_applied();
    if (s.ok()) return;
    // Never apply a later entry over a missing one: this replica stops (the others go on).
    spdlog::critical("shard {}: writing applied entries failed: {}; the replica stops", shard,
                     s.message());
    self->quit(make_error(errc::internal, "replica apply failed: " + s.message()));
  }

  // raft::transport
  void send(uint64_t to, std::string bytes) override {
    if (env->raft_outbox) {  // joins messages to one peer (raft_outbox.hpp)
      self->send(env->raft_outbox, raft_atom::value, shard, my_id, to, std::move(bytes));
      return;
    }
    if (!env->raft_peer_ok(to)) return;  // node_actor.cpp: check_incarnation, record_raft_id
    if (auto peer = env->peers->peer(env->member_by_id(to)))
      self->send(*peer, raft_atom::value, shard, my_id, std::move(bytes));
  }
  // raft::clock
  uint64_t now_ms() override { return static_cast<uint64_t>(chronicle::now_ms()); }
  int random(int min, int max) override { return std::uniform_int_distribution<int>(min, max)(rng); }
  void every(unsigned ms, std::function<void()> tick) override {
    bool running = tick_ms != 0;  // a restarted group keeps the tick loop already running
    tick_fn = std::move(tick);
    tick_ms = ms;
    if (!running) self->delayed_send(self, std::chrono::milliseconds(ms), raft_tick_atom::value);
  }
  void defer(std::function<void()> fn) override { post(std::move(fn)); }

  void post(std::function<void()> fn) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard(mutex);
      wake = posted.empty();
      posted.push_back(std::move(fn));
    }
    if (wake)
      if (auto me = caf::actor_cast<caf::actor>(addr)) caf::anon_send(me, raft_run_atom::value);
  }
};

namespace {

// The executions' writes, proposed to the group by the shard actor: submit may be called from
// any execution's thread; the batches are proposed in submission order.
class replicated_log final : public storage::commit_log {
public:
  explicit replicated_log(caf::actor_addr shard) : shard_(std::move(shard)) {}

  void submit(storage::write_batch batch, std::function<void(const storage::status&)> done,
              storage::committer_chain chain) override {
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard(mutex_);
      wake = queue_.empty();
      queue_.push_back(item{std::move(batch), std::move(done), std::move(chain)});
    }
    if (wake)
      if (auto me = caf::actor_cast<caf::actor>(shard_)) caf::anon_send(me, propose_atom::value);
  }

  struct item {
    storage::write_batch batch;
    std::function<void(const storage::status&)> done;
    storage::committer_chain chain;
  };
  std::deque<item> take() {
    std::lock_guard<std::mutex> guard(mutex_);
    return std::move(queue_);
  }

private:
  caf::actor_addr shard_;
  std::mutex mutex_;
  std::deque<item> queue_;
};

std::string why(raft::status s, const std::string& leader) {
  switch (s) {
    case raft::status::not_leader:
      return "not the leader of this shard" + (leader.empty() ? "" : " (leader: " + leader + ")");
    case raft::status::leadership_lost:
    case raft::status::shutdown:
      return "leadership lost before the write was committed: its outcome is unknown";
    default:
      return std::string("replication failed: ") + raft::to_string(s);
  }
}

}  // namespace

shard_replica::shard_replica(caf::event_based_actor* self, env_ptr env, uint32_t shard,
                             std::function<void(bool)> on_leadership)
    : p_(std::make_unique<parts>()) {
  p_->self = self;
  p_->env = std::move(env);
  p_->shard = shard;
  p_->on_leadership = std::move(on_leadership);
  p_->addr = self->address();
  log_ = std::make_shared<replicated_log>(self->address());
}

shard_replica::~shard_replica() {
  if (p_) p_->flush_staged();  // a follower's window too (else applied again at the next start)
  if (p_) p_->settle();
  if (p_) p_->group.reset();  // pending proposals fail with shutdown before the parts go
}

bool shard_replica::start() {
  auto& p = *p_;
  auto* parts = p_.get();
  p.my_id = p.env->peers->own_raft_id();
  if (p.my_id == 0) return false;  // the node's identity is not decided yet (node_actor.cpp)
  p.log_store = std::make_unique<raft::rocks_log_store>(
    *p.env->store, p.shard, [parts](std::function<void()> fn) { parts->post(std::move(fn)); });
  storage::status st;
  if (p.env->converted && !node_env::is_joined_id(p.my_id) && !seed_converted()) return false;
  p.machine = raft::shard_state_machine::open(*p.env->store, p.shard, &st);
  p.reported_ops = p.reported_written = p.reported_campaigns = 0;
  if (!p.machine) {
    spdlog::error("shard {}: cannot open its replica: {}", p.shard, st.message());
    return false;
  }
  raft::group_options opts;
  opts.id = p.my_id;
  // A founding member bootstraps the group of the shard's replicas under the founders' ring (the
  // same first entry on each; a no-op when the store has state). Any other replica — a joined
  // node, or a founder that became a replica of this shard when members changed — starts empty
  // and waits for the leader to add it (reconcile).
  if (!node_env::is_joined_id(p.my_id) && !p.env->converted) {
    hash_ring founders(p.env->peers->founders());
    auto first = place_shards(founders, p.env->config.num_shards, p.env->config.replication_factor);
    auto& replicas = first.at(p.shard).replicas;
    if (std::find(replicas.begin(), replicas.end(), p.env->config.name) != replicas.end())
      for (auto& name : replicas) opts.members.push_back(raft::member{p.env->member_id(name), name});
  }
  opts.election_timeout_ms = election_timeout_ms;
  opts.heartbeat_ms = heartbeat_ms;
  opts.snapshot_threshold = p.env->config.raft_snapshot_entries;
  opts.snapshot_trailing = p.env->config.raft_snapshot_entries / 2;
  opts.snapshot_log_bytes = p.env->config.raft_snapshot_log_bytes;
  opts.first_snapshot_entries = first_snapshot_entries();
  opts.max_append_bytes = max_append_bytes();
  raft::state_machine sm;
  sm.apply = [parts](uint64_t index, std::string_view entry) {
    auto s = parts->machine->stage(index, entry);  // written by settle(), one write per message
    if (s.ok() && parts->machine->staged() == 1) parts->staged_since_ms = chronicle::now_ms();
    if (s.ok() && (parts->following() ? parts->window_due()
                                      : parts->machine->staged() >= max_staged())) {
      s = parts->machine->flush();
      parts->report_applied();
    }
    if (!s.ok()) {
      // Never apply a later entry over a missing one: this replica stops (the others go on).
      spdlog::critical("shard {}: applying entry {} failed: {}; the replica stops", parts->shard,
                       index, s.message());
      parts->self->quit(make_error(errc::internal, "replica apply failed: " + s.message()));
    }
  };
  // The snapshot stored is a reference to the data tables (no copy); a replica that needs one
  // is sent the shard's data as of the moment it is sent (docs/replication.md "Snapshots").
  sm.take_snapshot = [parts] {
    std::string out;
    auto s = parts->machine->take_reference(&out);
    if (!s.ok()) spdlog::error("shard {}: snapshot failed: {}", parts->shard, s.message());
    return out;
  };
  // What goes in the InstallSnapshot is a token for a stream of the data as of now, pulled by
  // the replica in chunks (docs/replication.md "Snapshots in chunks").
  sm.snapshot_to_send = [parts](std::string_view stored) -> std::optional<std::string> {
    std::string out;
    if (!stream_snapshots()) {  // the data in the message (A/B benchmarks only)
      auto s = parts->machine->take_snapshot(&out);
      if (!s.ok()) {
        spdlog::error("shard {}: reading a snapshot to send failed: {}", parts->shard, s.message());
        return std::nullopt;
      }
      spdlog::info("shard {}: sending a snapshot of {} bytes", parts->shard, out.size());
      parts->env->metrics->on_snapshot_sent(out.size());
      return out;
    }
    auto at_least = raft::shard_state_machine::snapshot_applied_index(stored).value_or(0);
    auto s = parts->machine->open_stream(at_least, &out);
    if (!s.ok()) {
      spdlog::error("shard {}: opening a snapshot stream failed: {}", parts->shard, s.message());
      return std::nullopt;
    }
    auto token = raft::shard_state_machine::parse_token(out);
    spdlog::info("shard {}: sending a snapshot at index {} (stream {})", parts->shard,
                 token->applied_index, token->stream);
    return out;
  };
  sm.sent_index = [](std::string_view bytes) {
    return raft::shard_state_machine::snapshot_applied_index(bytes).value_or(0);
  };
  sm.restore = [parts](std::string_view bytes) {
    if (raft::shard_state_machine::is_reference(bytes)) {  // our own, at start: a check only
      auto s = parts->machine->restore(bytes);
      if (!s.ok()) {
        spdlog::critical("shard {}: its snapshot: {}", parts->shard, s.message());
        parts->self->quit(make_error(errc::internal, "replica restore failed: " + s.message()));
      }
      return;
    }
    if (!raft::shard_state_machine::parse_token(bytes)) {  // data in the message (older nodes)
      spdlog::info("shard {}: installing a snapshot of {} bytes", parts->shard, bytes.size());
      parts->env->metrics->on_snapshot_installed(bytes.size());
    }
    auto s = parts->machine->restore(bytes);
    if (!s.ok()) {
      spdlog::critical("shard {}: restoring a snapshot failed: {}", parts->shard, s.message());
      parts->self->quit(make_error(errc::internal, "replica restore failed: " + s.message()));
      return;
    }
    // Installed: what other pulls staged (refused by libraft, or left by a crash) goes, unless
    // one is still being pulled.
    if (!parts->pull) parts->machine->drop_stages_except(0);
  };
  // While a replica pulls a stream, the log after the stream's index is what it needs next:
  // libraft's snapshot (which compacts the log to snapshot_trailing entries) waits, while the
  // log holds at most 4 thresholds of entries past the stored snapshot (libraft keeps them in
  // memory; docs/replication.md "Snapshots in chunks"). Without this, a pull slower than the
  // leader's snapshots ends behind the compacted log and needs another one.
  sm.postpone_snapshot = [parts] {
    if (!parts->machine || !parts->group || !parts->machine->stream_active()) return false;
    auto stored = parts->log_store->get_snapshot();
    auto base = stored ? stored->index : 0;
    return parts->group->applied_index() - base < uint64_t{4} * parts->group->snapshot_threshold();
  };
  sm.on_leadership = [parts](uint64_t leader, uint64_t term) {
    parts->flush_staged();  // serving starts with recovery, which reads the store
    auto name = parts->env->member_by_id(leader);
    parts->env->shard_leader[parts->shard].store(leader);
    bool serving = leader == parts->my_id && parts->group && parts->group->serving();
    spdlog::info("shard {}: term {} leader {}", parts->shard, term, name.empty() ? "none" : name);
    if (serving != parts->serving) {
      parts->serving = serving;
      parts->env->metrics->on_leader_change(parts->shard, serving);
    }
    parts->on_leadership(serving);
  };
  p.group = std::make_unique<raft::group>(opts, *p.log_store, p, p, std::move(sm));
  auto s = p.group->start();
  if (s != raft::status::ok) {
    spdlog::error("shard {}: its replica did not start ({})", p.shard, raft::to_string(s));
    return false;
  }
  p.env->shard_outside[p.shard].store(!is_voter(p.my_id));
  return true;
}

// A converted single-copy cluster (chronicle-node --convert-to-replicated, docs/replication.md
// "Converting a single-copy cluster"): the shard's data is in the data dir of the member that
// held its single copy (the owner the founders' ring places with replication_factor 1). That
// member seeds the group alone: a snapshot at index 1 that stands for the data already there
// (a reference), itself the only voter. Every other replica starts empty and waits to be added;
// the seed's leader adds, catches up (a snapshot of the data: its log starts after index 1) and
// promotes them (reconcile), as for a new member. The snapshot is at term 2 so that no log
// bootstrapped the usual way (index 1 at term 1) ever matches it. Returns false when the seed
// could not be written.
bool shard_replica::seed_converted() {
  auto& p = *p_;
  hash_ring founders(p.env->peers->founders());
  auto owner = place_shards(founders, p.env->config.num_shards, 1).at(p.shard).preferred_leader;
  if (owner != p.env->config.name) return true;
  storage::status st;
  if (p.env->store->has_raft_state(p.shard, &st) || !st.ok()) return st.ok();
  raft::stored_snapshot seed;
  seed.index = 1;
  seed.term = 2;
  seed.configuration = raft::encode_single_voter(p.my_id, p.env->config.name);
  seed.configuration_index = 1;
  seed.data = raft::shard_state_machine::reference(1);
  if (seed.configuration.empty() || !p.log_store->seed(seed)) {
    spdlog::error("shard {}: cannot seed its group from this node's single copy: {}", p.shard,
                  p.log_store->error());
    return false;
  }
  spdlog::info("shard {}: converted from a single copy: this node seeds its group with its data "
               "(the other replicas join and catch up from a snapshot)", p.shard);
  return true;
}

void shard_replica::receive(uint64_t from, const std::string& bytes) {
  if (p_->group && !p_->hold_install(from, bytes)) p_->group->receive(from, bytes);
  p_->settle();
  if (p_->hold_since != 0 && p_->group) reconcile();  // the standby's answer may complete it
}

caf::expected<shard_replica::chunk_read> shard_replica::chunk_reader(const std::string& bytes) {
  auto req = decode<pb::SnapshotChunkRequest>(bytes, "SnapshotChunkRequest");
  if (!req) return req.error();
  if (!p_->machine) return make_error(errc::unavailable, "this replica is not running");
  storage::status st;
  auto view = p_->machine->stream_view(req->stream(), &st);
  if (!view) return make_error(errc::unavailable, st.message());
  auto max = std::clamp<size_t>(req->max_bytes(), 1024, size_t{64} << 20);
  // The store and the metrics live as long as the node; the view as long as this read.
  return chunk_read([store = p_->env->store, metrics = p_->env->metrics, view = std::move(view),
                     shard = p_->shard, req = std::move(*req), max]() -> caf::expected<std::string> {
    pb::HandoffChunk chunk;
    auto st = store->read_chunk(*view, shard, req.table(), req.after_key(), max, &chunk);
    if (!st.ok()) return make_error(errc::unavailable, st.message());
    uint64_t sent = 0;
    for (auto& e : chunk.entries()) sent += e.key().size() + e.value().size();
    metrics->on_snapshot_sent(sent);
    return encode(chunk);
  });
}

void shard_replica::paced_chunk_due(uint64_t generation) {
  p_->paced_chunk_due(generation);
  p_->settle();
}

void shard_replica::run_posted() {
  std::deque<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> guard(p_->mutex);
    work.swap(p_->posted);
  }
  for (auto& fn : work) fn();
  p_->settle();
}

void shard_replica::tick() {
  if (!p_->tick_fn) return;
  p_->tick_fn();
  if (p_->group) {  // /metrics: elections started, and how far behind the followers are
    auto campaigns = p_->group->campaigns();
    if (campaigns > p_->reported_campaigns)
      p_->env->metrics->on_campaigns(campaigns - p_->reported_campaigns);
    p_->reported_campaigns = campaigns;
    p_->env->shard_lag[p_->shard].store(p_->group->most_behind());
  }
  p_->pull_when_free();
  p_->settle();
  if (++p_->ticks % 10 == 0) {
    watchdog();
    if (p_->machine) p_->machine->expire_streams();
  }
  if (!p_->group) return;
  // Every tick: a standby is promoted only at a moment its log matches the leader's last index.
  reconcile();
  p_->env->shard_outside[p_->shard].store(!is_voter(p_->my_id));
  p_->self->delayed_send(p_->self, std::chrono::milliseconds(p_->tick_ms), raft_tick_atom::value);
}

void shard_replica::propose_queued() {
  auto& log = static_cast<replicated_log&>(*log_);
  if (max_in_flight() != 0 && p_->in_flight >= max_in_flight() && p_->serving) return;
  if (p_->serving && p_->holding()) return;  // reconcile ends the hold
  auto items = log.take();
  // One entry per run of transitions that fits join_bytes(); the entry's outcome is each one's.
  struct waiter {
    std::function<void(const storage::status&)> done;
    storage::committer_chain chain;
  };
  std::string entry;
  std::vector<waiter> waiters;
  auto flush = [&] {
    if (waiters.empty()) return;
    ++p_->in_flight;
    p_->env->metrics->on_entry_proposed(waiters.size());
    p_->group->propose(std::move(entry), [parts = p_.get(), waiters = std::move(waiters)](
                                             raft::status s, uint64_t) mutable {
      if (parts->in_flight > 0) --parts->in_flight;
      if (max_in_flight() != 0) parts->wake_proposals();  // what waited for this entry
      if (s == raft::status::ok) {  // applied (staged): answered once written (settle)
        parts->acks.push_back([waiters = std::move(waiters)] {
          for (auto& w : waiters) w.done(storage::status{});
        });
        return;
      }
      auto leader = parts->env->member_by_id(parts->group ? parts->group->leader_id() : 0);
      auto out = s == raft::status::error ? storage::status::error(why(s, leader))
                                          : storage::status::unavailable(why(s, leader));
      for (auto& w : waiters) {
        if (w.chain) w.chain->store(true);
        w.done(out);
      }
    });
    entry.clear();
    waiters.clear();
  };
  for (auto& it : items) {
    if (it.chain && it.chain->load()) {  // an earlier batch of this writer failed
      it.done(storage::status::error("an earlier write of this execution failed"));
      continue;
    }
    std::string bytes;
    auto st = it.batch.to_bytes(&bytes);
    if (!st.ok() || !p_->group || !p_->serving) {
      if (it.chain) it.chain->store(true);
      it.done(st.ok() ? storage::status::unavailable(why(raft::status::not_leader, leader()))
                      : st);
      continue;
    }
    if (!entry.empty() && entry.size() + bytes.size() > join_bytes()) flush();
    storage::write_batch::append_bytes(&entry, bytes);
    waiters.push_back(waiter{std::move(it.done), std::move(it.chain)});
  }
  flush();
  p_->settle();
}

bool shard_replica::serving() const { return p_->serving; }

std::string shard_replica::leader() const {
  return p_->group ? p_->env->member_by_id(p_->group->leader_id()) : std::string{};
}

void shard_replica::members(pb::ShardMembersResponse* out) const {
  auto& p = *p_;
  if (!p.group) return;
  out->set_serving(p.group->serving());
  out->set_term(p.group->term());
  out->set_changing(p.group->changing());
  for (auto& m : p.group->configuration()) out->add_members(m.id);
}

void shard_replica::describe(pb::ShardReplication* out, bool with_digest) const {
  auto& p = *p_;
  auto& place = p.env->placement.at(p.shard);
  for (auto& r : place.replicas) out->add_replicas(r);
  out->set_preferred(place.preferred_leader);
  if (!p.group) {
    out->set_role("unavailable");
    return;
  }
  out->set_leader(leader());
  out->set_term(p.group->term());
  out->set_commit_index(p.group->commit_index());
  out->set_applied_index(p.group->applied_index());
  out->set_role(p.group->is_leader() ? "leader" : (p.group->leader_id() ? "follower" : "candidate"));
  out->set_identity(p.my_id == p.env->member_id(p.env->config.name) ? "founding" : "joined");
  for (auto& m : p.group->configuration()) {
    auto now = p.env->current_raft_id(m.address);
    std::string text = m.address;
    auto& replicas = p.env->placement.at(p.shard).replicas;
    if (now != 0 && now != m.id) text += " (old)";
    else if (std::find(replicas.begin(), replicas.end(), m.address) == replicas.end())
      text += " (leaving)";
    else if (m.role != raft::role::voter) text += " (joining)";
    out->add_members(text);
  }
  if (!with_digest || !p.machine) return;
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  };
  auto start = now_us();
  bool fresh = p.have_digest && p.digest.applied_index == p.group->applied_index();
  bool too_soon = p.have_digest && start - p.digest_at_us < digest_cost_factor * p.digest_cost_us;
  if (!fresh && !too_soon) {
    raft::shard_digest d;
    if (!p.machine->digest(&d).ok()) return;
    p.digest = d;
    p.have_digest = true;
    p.digest_at_us = now_us();
    p.digest_cost_us = p.digest_at_us - start;
  }
  if (!p.have_digest) return;
  out->set_digest(p.digest.digest);
  out->set_digest_hex(fmt::format("{:016x}", p.digest.digest));
  out->set_digest_index(p.digest.applied_index);
  out->set_keys(p.digest.keys);
}

void shard_replica::transfer_leadership(const std::string& member,
                                        std::function<void(bool)> done) {
  if (!p_->group || !p_->group->is_leader()) return done(false);
  auto to = member.empty() ? 0 : p_->env->current_raft_id(member);
  if (!member.empty() && !is_voter(to)) return done(false);
  auto started = chronicle::now_ms();
  p_->group->transfer_leadership(to, [shard = p_->shard, started,
                                      done = std::move(done)](raft::status s) {
    if (s != raft::status::ok)
      spdlog::warn("shard {}: leadership transfer failed: {}", shard, raft::to_string(s));
    else
      spdlog::info("shard {}: leadership handed over in {} ms", shard, chronicle::now_ms() - started);
    done(s == raft::status::ok);
  });
}

bool shard_replica::should_rebalance() const {
  if (!p_->serving) return false;
  auto& preferred = p_->env->placement.at(p_->shard).preferred_leader;
  return preferred != p_->env->config.name && p_->env->peers->peer(preferred).has_value()
         && is_voter(p_->env->current_raft_id(preferred))
         && p_->env->other_member_list().empty();  // each list's ring prefers another leader
}

void shard_replica::post(std::function<void()> fn) { p_->post(std::move(fn)); }

// A leader whose commit index has not moved for 10 s while entries wait in its log is
// wedged: the simulation found libraft 0.15 leaders whose progress for a live follower stopped
// after a membership change (docs/replication.md "Liveness"). Restarting the group (as a crash
// and restart of this replica would) rebuilds that state; pending writes fail as "outcome
// unknown" and another replica may lead.
void shard_replica::watchdog() {
  auto& p = *p_;
  auto now = chronicle::now_ms();
  auto commit = p.group->commit_index();
  if (!p.group->is_leader() || commit != p.watch_commit) {
    p.watch_commit = commit;
    p.watch_since = now;
    return;
  }
  if (p.group->last_index() <= commit || now - p.watch_since < 10000) return;
  spdlog::warn("shard {}: commit index stuck at {} for 10 s with {} entries waiting: restarting "
               "this replica's group", p.shard, commit, p.group->last_index() - commit);
  p.watch_since = now;
  p.flush_staged();  // what was applied is written and answered first
  p.settle();
  p.group.reset();  // pending proposals fail: shutdown (outcome unknown)
  p.retired_stores.push_back(std::move(p.log_store));
  p.retired_machines.push_back(std::move(p.machine));
  p.env->shard_leader[p.shard].store(0);
  if (p.serving) {
    p.serving = false;
    p.env->metrics->on_leader_change(p.shard, false);
  }
  p.on_leadership(false);
  if (!start()) p.self->quit(make_error(errc::internal, "replica did not restart"));
}

void shard_replica::leader_gone(const std::string& member) {
  auto& p = *p_;
  if (!p.group || member.empty()) return;
  // By name: a founding member's Raft ID may be known only by its position (announced as 0).
  const auto gone = p.group->leader_id();
  if (gone == 0 || p.env->member_by_id(gone) != member) return;
  // This replica's turn among the voters that may lead now: the preferred leader, then ring
  // order, then voters the placement does not name (joined members), by Raft ID; voters whose
  // node is down take no turn.
  const auto& place = p.env->placement.at(p.shard);
  auto rank = [&](const std::string& name) -> size_t {
    if (name == place.preferred_leader) return 0;
    auto it = std::find(place.replicas.begin(), place.replicas.end(), name);
    return it == place.replicas.end() ? place.replicas.size() + 1
                                      : static_cast<size_t>(it - place.replicas.begin()) + 1;
  };
  std::vector<std::tuple<size_t, uint64_t>> turns;  // (rank, Raft ID)
  for (auto& m : p.group->configuration()) {
    if (m.role != raft::role::voter || m.id == gone) continue;
    auto name = p.env->member_by_id(m.id);
    if (m.id != p.my_id && (name.empty() || !p.env->peers->peer(name))) continue;
    turns.emplace_back(rank(name), m.id);
  }
  std::sort(turns.begin(), turns.end());
  auto mine = std::find_if(turns.begin(), turns.end(),
                           [&](auto& t) { return std::get<1>(t) == p.my_id; });
  if (mine == turns.end()) return;  // not a voter: it never campaigns
  const auto turn = static_cast<unsigned>(mine - turns.begin());
  const unsigned in_ms = leader_gone_first_ms + turn * leader_gone_delay_ms;
  if (p.group->leader_gone(gone, in_ms))
    spdlog::info("shard {}: leader {} is gone (its connection dropped): campaigning in {} ms "
                 "(turn {} of {})", p.shard, member, in_ms, turn + 1, turns.size());
}

bool shard_replica::is_voter(uint64_t id) const {
  if (!p_->group || id == 0) return false;
  for (auto& m : p_->group->configuration())
    if (m.id == id) return m.role == raft::role::voter;
  return false;
}

// The leader (every heartbeat tick) moves its group's configuration toward the shard's replicas as they are now, one
// change at a time: a server whose member answers to another Raft ID now (its data dir was
// wiped or replaced) is removed, then the member's current ID is added and promoted to voter
// once libraft has caught its log up. Only members that announced their ID and are up count.
void shard_replica::reconcile() {
  auto& p = *p_;
  if (p.hold_since != 0 && !p.holding()) p.wake_proposals();  // ran out
  if (!p.serving || p.changing || !p.group || p.group->changing()) return release_hold();
  auto conf = p.group->configuration();
  auto finish = [parts = p_.get()](const char* what, uint64_t id) {
    parts->changing = true;
    auto started = chronicle::now_ms();
    return [parts, what, id, started](raft::status s) {
      parts->changing = false;
      auto name = parts->env->member_by_id(id);
      if (s == raft::status::not_yet) return;  // asked again at the next reconcile
      if (s == raft::status::ok)
        spdlog::info("shard {}: {} {} (Raft ID {}) in {} ms", parts->shard, what,
                     name.empty() ? "a server" : name, id, chronicle::now_ms() - started);
      else
        spdlog::warn("shard {}: could not {} {} (Raft ID {}): {}", parts->shard, what,
                     name.empty() ? "a server" : name, id, raft::to_string(s));
    };
  };
  for (auto& m : conf) {
    if (m.id == p.my_id) continue;
    auto now = p.env->current_raft_id(m.address);
    if (now != 0 && now != m.id) {
      spdlog::info("shard {}: removing {}'s old Raft ID {} (it answers to {} now)", p.shard,
                   m.address, m.id, now);
      return p.group->remove_member(m.id, finish("removed the old replica of", m.id));
    }
  }
  // A peer up with another member list (a rolling restart): its ring places the shard
  // elsewhere, and a leader there would undo what this one does. Meanwhile only members every
  // list names are added or promoted (a wiped one rejoining), and nobody is removed for leaving
  // the ring; the rest waits until the lists agree.
  auto other = p.env->other_member_list();
  if (other.empty() != p.lists_agreed) {
    p.lists_agreed = other.empty();
    if (!p.lists_agreed)
      spdlog::info("shard {}: membership changes that follow the ring wait: {} runs another "
                   "member list", p.shard, other);
  }
  auto& replicas = p.env->placement.at(p.shard).replicas;
  bool complete = true;  // every replica of today's ring is a voter
  for (auto& name : replicas) {
    if (name == p.env->config.name) continue;
    auto id = p.env->current_raft_id(name);
    auto it = std::find_if(conf.begin(), conf.end(), [id](auto& m) { return m.id == id; });
    if (id == 0 || it == conf.end() || it->role != raft::role::voter) complete = false;
    if (!p.env->peers->peer(name) || id == 0 || !p.env->raft_peer_ok(id)) continue;
    if (!other.empty() && !p.env->peers->listed_by_all_up(name, p.env->member_list)) continue;
    if (it == conf.end()) {
      spdlog::info("shard {}: adding {} as a new member (Raft ID {})", p.shard, name, id);
      return p.group->add_member(id, name, finish("added", id));
    }
    if (it->role != raft::role::voter) {
      if (it->role == raft::role::spare)
        spdlog::info("shard {}: catching {} up to promote it to voter", p.shard, name);
      if (it->role == raft::role::standby) {
        auto gap = p.group->behind(id).value_or(promotion_hold_entries + 1);
        if (gap > 0) {  // not yet: hold new proposals while it is close (hold_since)
          auto now = chronicle::now_ms();
          if (gap > promotion_hold_entries) return release_hold();
          if (p.hold_since == 0 && now >= p.hold_again) p.hold_since = now;
          return;
        }
        release_hold();  // the configuration entry goes first, then what waited
      }
      return p.group->promote(id, finish(it->role == raft::role::spare ? "made a standby (catching up)"
                                                                       : "promoted to voter", id));
    }
  }
  // Members changed: a replica the ring no longer places here leaves once every new one votes
  // (the group never has fewer voters of today's replicas than before).
  if (!complete || !other.empty()) return;
  for (auto& m : conf) {
    if (m.id == p.my_id || std::find(replicas.begin(), replicas.end(), m.address) != replicas.end())
      continue;
    spdlog::info("shard {}: removing {} (Raft ID {}): no longer one of its replicas", p.shard,
                 m.address, m.id);
    return p.group->remove_member(m.id, finish("removed the replica that left,", m.id));
  }
}

void shard_replica::release_hold() {
  if (p_->hold_since == 0) return;
  p_->hold_since = 0;
  p_->wake_proposals();
}

}  // namespace chronicle
