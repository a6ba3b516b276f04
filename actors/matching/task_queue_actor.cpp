// The task queue actor (see matching_actor.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <map>
#include <set>
#include <type_traits>

#include "actors/routing/routing.hpp"
#include "actors/matching/matching_actor.hpp"
#include "actors/node/namespaces.hpp"
#include "shards/flow_control.hpp"

namespace chronicle {

struct task_queue_state {
  struct task {
    std::string key;
    pb::DispatchRequest req;
    bool delivered = false;  // a workflow task handed to its worker (started in history)
    std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
    // A workflow task whose start was asked of its execution (not answered yet).
    std::optional<std::chrono::steady_clock::time_point> start_asked;
    // When it was handed to its worker (an activity sent, a workflow task delivered).
    std::optional<std::chrono::steady_clock::time_point> handed_at;
    int misses = 0;  // registrations in a row of its worker that did not list it (see reconcile)
    int32_t priority = default_priority;  // its effective priority key (1 first)
  };
  struct worker {
    caf::actor handle;
    std::string identity;
    std::string sticky_key;  // names it to executions when it keeps a sticky cache (else empty)
    std::string build_id;    // as it registered (shown by describe)
    std::string via_node;    // the node it is connected to
    int32_t sticky_cache_size = 0;
    int64_t last_seen_ms = 0;  // its latest registration
    int32_t slots = 0;
    bool reports_held = false;  // its registrations list the tasks it holds (reconciled)
    flow_limits limits;         // the flow control it asked for (activity queues)
    std::map<std::string, task> inflight;
  };
  // The tasks of a reconciled worker whose connection was lost, kept for it by identity until it
  // registers again (then reconciled) or `until` passes (then lost as with a dead worker).
  struct parked_tasks {
    std::map<std::string, task> inflight;
    std::chrono::steady_clock::time_point until;
  };
  env_ptr env;
  std::string ns, queue;
  task_kind kind = task_kind::workflow;
  std::deque<task> backlog;
  std::set<std::string> known;  // keys of tasks in the backlog or in flight
  std::map<caf::actor_addr, worker> workers;
  std::map<std::string, parked_tasks> parked;  // by worker identity
  caf::actor_addr last;         // round-robin position
  bool overflowed = false;      // dispatches were dropped (they stay durable in transfers)
  bool sweep_armed = false;     // a sweep for unanswered workflow task starts is scheduled
  forwards forwarded;           // worker answers passed to a shard on another node
  // Flow control of an activity queue (docs/semantics.md "Flow control"): the limits in force
  // (an operator's, else the smallest of its workers'), the rate's bucket, the per-key buckets,
  // and when an armed pump is due (0: none armed).
  effective_limits flow;
  const flow_limits& limits() const { return flow.limits; }
  rate_bucket bucket;
  key_buckets per_key;
  int64_t pump_due_ms = 0;
};

namespace {

using self_ptr = caf::stateful_actor<task_queue_state>*;
using unpark_atom = caf::atom_constant<caf::atom("unpark")>;

// A task counts as lost when two registrations of its worker in a row do not list it and it was
// handed out at least in_flight_grace ago. One registration is not enough: the worker may have
// built it before the task reached it (the task still on its way or behind the registration in
// the worker's mailbox); the next one is built after the worker took the task.
constexpr auto in_flight_grace = std::chrono::seconds(2);
constexpr int lost_after_misses = 2;
// How long the tasks of a reconciled worker whose connection dropped wait for it to register
// again (it reconnects within about a second) before they count as lost with a dead worker.
constexpr auto lost_worker_grace = std::chrono::seconds(3);

// Activity tasks are keyed per attempt: a retry is a new task even while an earlier attempt (timed
// out, still running somewhere) holds its slot.
std::string task_key(const pb::TaskToken& t, bool activity) {
  auto key = t.run_id() + '\0' + t.workflow_id() + '\0' + std::to_string(t.scheduled_event_id());
  if (activity) key += '\0' + std::to_string(t.attempt());
  return key;
}

// Names a worker with a sticky cache, in executions' state: its actor ID and a hash of its node
// (short; a collision only costs a worker a request for the whole history).
std::string sticky_key(const caf::actor& handle) {
  auto node = std::hash<std::string>{}(caf::to_string(handle.node()));
  return fmt::format("{}@{:016x}", handle.id(), node);
}

// The worker a workflow task prefers (it holds the run in its sticky cache) when it has a free
// slot; else the next worker with a free slot after the last one served; else nullptr.
task_queue_state::worker* free_worker(self_ptr self, const std::string& sticky) {
  auto& ws = self->state.workers;
  if (ws.empty()) return nullptr;
  if (!sticky.empty())
    for (auto& [addr, w] : ws)
      if (w.sticky_key == sticky && static_cast<int32_t>(w.inflight.size()) < w.slots) return &w;
  auto start = ws.upper_bound(self->state.last);
  for (size_t i = 0; i < ws.size(); ++i, ++start) {
    if (start == ws.end()) start = ws.begin();
    auto& w = start->second;
    if (static_cast<int32_t>(w.inflight.size()) < w.slots) {
      self->state.last = start->first;
      return &w;
    }
  }
  return nullptr;
}

void lose_workflow_task(self_ptr self, const pb::TaskToken& token, const std::string& cause) {
  pb::WorkflowTaskLost lost;
  *lost.mutable_token() = token;
  lost.set_cause(cause);
  tell_shard(*self->state.env, wt_lost_atom::value, encode(lost));
}

void pump(self_ptr self);

using flow_pump_atom = caf::atom_constant<caf::atom("flowpump")>;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

const std::string& fairness_key_of(const task_queue_state::task& t) {
  return t.req.activity_task().fairness_key();
}

// The activities handed out and not answered, by fairness key (tasks kept for an unreachable
// worker included: they may still run).
std::map<std::string, int32_t> running_by_key(const task_queue_state& st) {
  std::map<std::string, int32_t> running;
  auto count = [&](const std::map<std::string, task_queue_state::task>& inflight) {
    for (auto& [key, t] : inflight)
      if (t.req.has_activity_task() && !fairness_key_of(t).empty()) ++running[fairness_key_of(t)];
  };
  for (auto& [addr, w] : st.workers) count(w.inflight);
  for (auto& [identity, p] : st.parked) count(p.inflight);
  return running;
}

// The queue's limits: those an operator set (kept in the namespace's record) win over those of
// its registered workers (recomputed when one registers or leaves, or the record changes).
void update_limits(self_ptr self) {
  auto& st = self->state;
  if (st.kind != task_kind::activity) return;
  std::vector<flow_limits> all;
  for (auto& [addr, w] : st.workers) all.push_back(w.limits);
  auto op = st.env->config.namespaces->task_queue_config(st.ns, st.queue);
  auto flow = apply_operator(combine_limits(all), op ? &*op : nullptr);
  if (flow == st.flow) return;
  st.flow = flow;
  auto now = steady_ms();
  st.bucket.set_rate(flow.limits.activities_per_second, now);
  st.per_key.set_rate(flow.limits.per_key_activities_per_second, now);
  spdlog::info("task queue {}/{}: flow control {} activities/s ({}), {} running per fairness key "
               "({}), {} activities/s per fairness key ({}) (0: none)", st.ns, st.queue,
               flow.limits.activities_per_second, source_name(flow.rate),
               flow.limits.max_running_per_key, source_name(flow.max_running),
               flow.limits.per_key_activities_per_second, source_name(flow.key_rate));
}

using sweep_starts_atom = caf::atom_constant<caf::atom("sweepwts")>;

// Starting a workflow task failed (or its answer did not come in time): it is handed out again,
// unless it was handled elsewhere already.
void start_failed(self_ptr self, const caf::actor_addr& addr, const std::string& key,
                  const caf::error& err) {
  auto& st = self->state;
  auto wi = st.workers.find(addr);
  std::optional<task_queue_state::task> t;
  if (wi != st.workers.end()) {
    auto it = wi->second.inflight.find(key);
    if (it != wi->second.inflight.end() && !it->second.delivered) {
      t = std::move(it->second);
      wi->second.inflight.erase(it);
    }
  }
  auto code = chronicle_code(err);
  if (code == static_cast<uint8_t>(errc::stale_task)
      || code == static_cast<uint8_t>(errc::not_found)) {
    st.known.erase(key);  // already handled elsewhere
  } else if (t) {
    spdlog::warn("task queue {}: starting workflow task failed ({}), retrying", st.queue,
                 error_text(err));
    st.known.erase(key);
    self->delayed_send(self, std::chrono::seconds(1), dispatch_atom::value, encode(t->req));
  }
  pump(self);
}

// One clock entry per queue instead of a timeout per request: every second while starts are
// pending, those asked longer than request_timeout ago count as failed. A late answer then finds
// its task gone and reports it lost (see start_workflow_task).
void arm_start_sweep(self_ptr self) {
  if (self->state.sweep_armed) return;
  self->state.sweep_armed = true;
  self->delayed_send(self, std::chrono::seconds(1), sweep_starts_atom::value);
}

void sweep_starts(self_ptr self) {
  auto& st = self->state;
  st.sweep_armed = false;
  auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<caf::actor_addr, std::string>> late;
  bool pending = false;
  for (auto& [addr, w] : st.workers)
    for (auto& [key, t] : w.inflight)
      if (t.start_asked && !t.delivered) {
        if (now - *t.start_asked >= request_timeout) late.emplace_back(addr, key);
        else pending = true;
      }
  for (auto& [addr, key] : late)
    start_failed(self, addr, key, caf::make_error(caf::sec::request_timeout));
  if (pending) arm_start_sweep(self);
}

void start_workflow_task(self_ptr self, task_queue_state::worker& w, const std::string& key) {
  pb::RecordWorkflowTaskStarted rec;
  auto& task = w.inflight[key];
  auto token = task.req.token();
  task.start_asked = std::chrono::steady_clock::now();
  *rec.mutable_token() = token;
  rec.set_identity(w.identity);
  rec.set_sticky_worker(w.sticky_key);
  auto addr = w.handle.address();
  arm_start_sweep(self);
  caf::atom_value kind = wt_start_atom::value;
  auto bytes = encode(rec);
  auto dest = shard_destination_of(*self->state.env, kind, bytes);
  if (!dest) return start_failed(self, addr, key, dest.error());
  (dest->forward ? self->request(dest->actor, caf::infinite, fwd_atom::value, kind, std::move(bytes))
                 : self->request(dest->actor, caf::infinite, kind, std::move(bytes)))
    .then(
      [=](std::string& task_bytes) {
        auto& st = self->state;
        auto wi = st.workers.find(addr);
        if (wi == st.workers.end() || !wi->second.inflight.count(key)) {
          lose_workflow_task(self, token, "worker lost before delivery");
          return;
        }
        auto& t = wi->second.inflight[key];
        t.delivered = true;
        t.start_asked.reset();
        t.handed_at = std::chrono::steady_clock::now();
        self->send(wi->second.handle, wf_task_atom::value, std::move(task_bytes));
      },
      [=](caf::error& err) { start_failed(self, addr, key, err); });
}

// Hands activity task `t` (out of the backlog) to worker `w`.
void hand_out_activity(self_ptr self, task_queue_state::worker& w, task_queue_state::task t) {
  auto& st = self->state;
  st.env->metrics->on_task_dispatched(st.ns, st.queue, false, st.backlog.size(), t.queued_at);
  auto key = t.key;
  auto bytes = encode(t.req.activity_task());
  pb::RecordActivityTaskStarted started;
  *started.mutable_token() = t.req.token();
  started.set_identity(w.identity);
  t.handed_at = std::chrono::steady_clock::now();
  w.inflight.emplace(key, std::move(t));
  // One-way (through its shard): a stale attempt is refused there.
  tell_shard(*st.env, act_start_atom::value, encode(started));
  self->send(w.handle, act_task_atom::value, std::move(bytes));
}

// A pump in `wait_ms` (unless one is armed that comes sooner).
void arm_pump(self_ptr self, int64_t wait_ms) {
  auto& st = self->state;
  auto due = steady_ms() + wait_ms;
  if (st.pump_due_ms != 0 && st.pump_due_ms <= due) return;
  st.pump_due_ms = due;
  self->delayed_send(self, std::chrono::milliseconds(wait_ms), flow_pump_atom::value);
}

// pump of an activity queue with flow control: the first task in the backlog (ordered by
// priority) whose fairness key is under its running limit and has a token of its per-key rate
// goes next (a key at its limit does not block the others), when the queue's rate allows;
// otherwise a pump is armed for the moment the next token is there.
void pump_limited(self_ptr self) {
  auto& st = self->state;
  auto running = running_by_key(st);
  auto now = steady_ms();
  if (st.per_key.size() > 1024) st.per_key.prune(now);  // idle keys' buckets (bounded memory)
  int64_t key_wait = 0;  // the soonest a key held back by its rate has a token (0: none waits)
  auto it = st.backlog.begin();
  while (it != st.backlog.end()) {
    std::string key = fairness_key_of(*it);
    if (held_back(key, running, st.limits().max_running_per_key)) {
      ++it;
      continue;
    }
    if (auto wait = st.per_key.wait_ms(key, now); wait > 0) {
      key_wait = key_wait == 0 ? wait : std::min(key_wait, wait);
      ++it;
      continue;
    }
    auto* w = free_worker(self, "");
    if (!w) return;  // a freed slot pumps again
    if (!st.bucket.take(now)) {
      arm_pump(self, st.bucket.wait_ms(now));
      return;
    }
    st.per_key.take(key, now);
    auto t = std::move(*it);
    it = st.backlog.erase(it);
    if (!key.empty()) ++running[key];
    hand_out_activity(self, *w, std::move(t));
  }
  if (key_wait > 0) arm_pump(self, key_wait);
}

void pump(self_ptr self) {
  auto& st = self->state;
  if (st.overflowed && st.backlog.size() <= st.env->config.max_task_queue_backlog / 2) {
    st.overflowed = false;
    spdlog::info("task queue {}/{} is no longer overloaded", st.ns, st.queue);
    self->send(st.env->matching, overload_atom::value, st.ns, st.queue, false);
  }
  if (st.kind == task_kind::activity && st.limits().any()) return pump_limited(self);
  while (!st.backlog.empty()) {
    auto* w = free_worker(self, st.backlog.front().req.sticky_worker());
    if (!w) return;
    auto t = std::move(st.backlog.front());
    st.backlog.pop_front();
    auto key = t.key;
    if (t.req.has_activity_task()) {
      hand_out_activity(self, *w, std::move(t));
    } else {
      st.env->metrics->on_task_dispatched(st.ns, st.queue, true, st.backlog.size(), t.queued_at);
      w->inflight.emplace(key, std::move(t));
      start_workflow_task(self, *w, key);
    }
  }
}

// The tasks of a worker that is gone (dead, or lost and not back in time): an activity attempt
// fails (WorkerLost), a delivered workflow task is lost.
void fail_tasks(self_ptr self, std::map<std::string, task_queue_state::task> inflight,
                const std::string& wi_identity) {
  auto& st = self->state;
  for (auto& [key, t] : inflight) {
    if (t.req.has_activity_task()) {
      // A failed attempt (retried by its policy), not a silent re-queue: the retry need not
      // wait for the start-to-close timeout.
      st.known.erase(key);
      pb::RespondActivityTaskFailed failed;
      *failed.mutable_token() = t.req.token();
      failed.set_identity(wi_identity);
      auto* f = failed.mutable_failure();
      f->set_type("WorkerLost");
      f->set_message("worker '" + wi_identity + "' was lost while running the activity");
      f->set_source("server");
      tell_shard(*st.env, act_fail_atom::value, encode(failed));
    } else if (t.delivered) {
      st.known.erase(key);
      lose_workflow_task(self, t.req.token(), "worker lost");
    }
    // An undelivered workflow task is reported lost when its start request returns.
  }
}

void on_worker_down(self_ptr self, const caf::actor_addr& addr) {
  auto& st = self->state;
  auto wi = st.workers.find(addr);
  if (wi == st.workers.end()) return;
  auto inflight = std::move(wi->second.inflight);
  auto identity = wi->second.identity;
  bool reconciled = wi->second.reports_held && !identity.empty();
  st.workers.erase(wi);
  update_limits(self);
  if (reconciled && !inflight.empty()) {
    // Its connection may only have dropped: the tasks wait for it to register again.
    spdlog::info("task queue {}: worker '{}' is unreachable, {} task(s) kept for {} s", st.queue,
                 identity, inflight.size(),
                 std::chrono::duration_cast<std::chrono::seconds>(lost_worker_grace).count());
    auto& p = st.parked[identity];
    for (auto& [key, t] : inflight)
      if (t.handed_at)  // an undelivered workflow task is reported lost when its start returns
        p.inflight.insert_or_assign(key, std::move(t));
    p.until = std::chrono::steady_clock::now() + lost_worker_grace;
    self->delayed_send(self, lost_worker_grace, unpark_atom::value, identity);
  } else {
    spdlog::info("task queue {}: worker '{}' is gone, {} task(s) failed or handed out again",
                 st.queue, identity, inflight.size());
    fail_tasks(self, std::move(inflight), identity);
  }
  pump(self);
}

// The tasks kept for an unreachable worker that did not come back in time.
void unpark(self_ptr self, const std::string& identity) {
  auto& st = self->state;
  auto it = st.parked.find(identity);
  if (it == st.parked.end() || std::chrono::steady_clock::now() < it->second.until) return;
  auto inflight = std::move(it->second.inflight);
  st.parked.erase(it);
  spdlog::info("task queue {}: worker '{}' did not come back, {} task(s) failed or handed out again",
               st.queue, identity, inflight.size());
  fail_tasks(self, std::move(inflight), identity);
  pump(self);
}

// A task handed to a worker that does not hold it any more (the task or its answer was lost
// with a connection): reported to its shard, which retries it if that attempt is still current.
void report_lost(self_ptr self, const std::string& key, const task_queue_state::task& t,
                 const std::string& identity) {
  auto& st = self->state;
  st.known.erase(key);
  auto cause = "worker '" + identity + "' does not hold the task it was handed";
  if (t.req.has_activity_task()) {
    pb::ActivityTaskLost lost;
    *lost.mutable_token() = t.req.token();
    lost.set_cause(cause);
    tell_shard(*st.env, act_lost_atom::value, encode(lost));
  } else {
    lose_workflow_task(self, t.req.token(), cause);
  }
}

// An activity a worker reports at its first registration here that it runs
// (RegisterWorkerRequest.held_activities) and that this queue did not hand to it (the node
// restarted, or the queue moved here): it counts as running from now on, so that the per-key
// limits hold after a restart. A copy of it waiting in the backlog (its
// shard dispatched it again on recovery) is taken out: the worker runs that very attempt. None
// when another worker holds it here.
std::optional<task_queue_state::task> adopt_reported(self_ptr self, const std::string& key,
                                                     const pb::HeldActivity& h) {
  auto& st = self->state;
  auto queued = std::find_if(st.backlog.begin(), st.backlog.end(),
                             [&](const task_queue_state::task& t) { return t.key == key; });
  if (queued != st.backlog.end()) {
    auto t = std::move(*queued);
    st.backlog.erase(queued);
    return t;
  }
  if (st.known.count(key)) return std::nullopt;  // in flight with another worker
  task_queue_state::task t;
  t.key = key;
  t.req.set_namespace_(st.ns);
  t.req.set_task_queue(st.queue);
  *t.req.mutable_token() = h.token();
  auto* at = t.req.mutable_activity_task();
  *at->mutable_token() = h.token();
  at->set_fairness_key(h.fairness_key());
  st.known.insert(key);
  return t;
}

// A registration of a worker that reports what it holds (see RegisterWorkerRequest.held): its
// earlier entries (same identity, an older handle) and the tasks kept for it since its connection
// dropped become this entry's; every task it does not hold any more is reported lost (see
// lost_after_misses). The worker is told which of the adopted tasks it holds (its answers
// for them must go to this queue's new handle).
void reconcile(self_ptr self, const caf::actor_addr& addr, const pb::RegisterWorkerRequest& req,
               bool first) {
  auto& st = self->state;
  auto& w = st.workers[addr];
  std::map<std::string, task_queue_state::task> adopted;
  for (auto it = st.workers.begin(); it != st.workers.end();) {
    if (it->first != addr && it->second.identity == w.identity) {
      for (auto& [key, t] : it->second.inflight)
        if (t.handed_at) adopted.insert_or_assign(key, std::move(t));  // (see on_worker_down)
      self->demonitor(it->second.handle);
      if (st.last == it->first) st.last = caf::actor_addr{};
      it = st.workers.erase(it);
    } else {
      ++it;
    }
  }
  if (auto p = st.parked.find(w.identity); p != st.parked.end()) {
    for (auto& [key, t] : p->second.inflight) adopted.insert_or_assign(key, std::move(t));
    st.parked.erase(p);
  }
  std::set<std::string> held;
  for (auto& tok : req.held()) held.insert(task_key(tok, st.kind == task_kind::activity));
  pb::HeldTasks kept;
  for (auto& [key, t] : adopted) {
    if (held.count(key)) *kept.add_tokens() = t.req.token();
    w.inflight.insert_or_assign(key, std::move(t));
  }
  auto now = std::chrono::steady_clock::now();
  int recounted = 0;
  // Only at its first registration here: a later one may list an activity whose answer
  // overtook it (the answer erased it here already).
  if (st.kind == task_kind::activity && first)
    for (auto& h : req.held_activities()) {
      auto key = task_key(h.token(), true);
      if (w.inflight.count(key)) continue;
      if (auto t = adopt_reported(self, key, h)) {
        t->handed_at = now;
        *kept.add_tokens() = h.token();
        w.inflight.insert_or_assign(key, std::move(*t));
        ++recounted;
      }
    }
  if (recounted > 0)
    spdlog::info("task queue {}: worker '{}' runs {} activit(ies) this queue did not know of "
                 "(counted as running)", st.queue, w.identity, recounted);
  int lost = 0;
  for (auto it = w.inflight.begin(); it != w.inflight.end();) {
    auto& t = it->second;
    if (!t.handed_at) {
      ++it;
      continue;
    }
    if (held.count(it->first)) t.misses = 0;
    else ++t.misses;
    if (t.misses < lost_after_misses || now - *t.handed_at < in_flight_grace) {
      ++it;
      continue;
    }
    report_lost(self, it->first, t, w.identity);
    ++lost;
    it = w.inflight.erase(it);
  }
  if (lost > 0 || !adopted.empty())
    spdlog::info("task queue {}: worker '{}' registered again: {} task(s) kept, {} lost and retried",
                 st.queue, w.identity, kept.tokens_size(), lost);
  if (kept.tokens_size() > 0) self->send(w.handle, held_atom::value, encode(kept));
}

using pass_atom = caf::atom_constant<caf::atom("pass")>;
constexpr int max_answer_passes = 20;

// Passes a worker's one-way answer to its shard and makes sure it arrives: while the shard's node
// is unreachable (`unavailable`, e.g. a watched forward failed when the connection to it dropped)
// or does not answer, the same bytes (same task token) are sent again every second, up to
// max_answer_passes times. A repeat is harmless: the execution refuses an answer for an attempt
// it already closed as stale, so nothing is recorded twice.
void pass_answer(self_ptr self, caf::atom_value atom, std::string bytes, int pass) {
  auto kind = atom;
  auto dest = shard_destination_of(*self->state.env, kind, bytes);
  auto again = [=](const caf::error& err) {
    auto code = chronicle_code(err);
    bool system = err.category() == caf::atom("system");
    bool retry = code == static_cast<uint8_t>(errc::unavailable)
                 || (system && (err.code() == static_cast<uint8_t>(caf::sec::request_timeout)
                                || err.code() == static_cast<uint8_t>(caf::sec::request_receiver_down)));
    if (!retry || pass + 1 >= max_answer_passes) {
      spdlog::debug("task queue {}: a worker's answer was not recorded: {}", self->state.queue,
                    error_text(err));
      return;
    }
    // (kind and bytes as validated: a validator may have rewritten them)
    self->delayed_send(self, std::chrono::seconds(1), pass_atom::value, kind, bytes, pass + 1);
  };
  if (!dest) return again(dest.error());
  (dest->forward ? self->request(dest->actor, request_timeout, fwd_atom::value, kind, bytes)
                 : self->request(dest->actor, request_timeout, kind, bytes))
    .then([](const std::string&) {}, [=](caf::error& err) { again(err); });
}

// A worker's message about one of its tasks (catalog: queue_pass): an answer frees the task's
// slot; then it goes to the workflow's shard (which replies to the worker). A heartbeat or a
// request for a task's whole history keeps the slot taken.
caf::result<caf::message> from_worker(self_ptr self, caf::atom_value atom, std::string& bytes) {
  auto* entry = find_message(atom);
  if (!entry || entry->pass == queue_pass::none)
    return make_error(errc::bad_message, "a task queue does not serve " + caf::to_string(atom));
  auto& st = self->state;
  if (entry->pass == queue_pass::frees_slot) {
    auto token = token_of(atom, bytes);
    if (!token) return token.error();
    // The answer may come from another actor than the worker (activities run in their own
    // actors): find the task by its key.
    auto key = task_key(*token, entry->activity);
    for (auto& [addr, w] : st.workers)
      if (w.inflight.erase(key) > 0) {
        st.known.erase(key);
        break;
      }
    for (auto& [identity, p] : st.parked)
      if (p.inflight.erase(key) > 0) st.known.erase(key);
    pump(self);
    // A worker's answer is one-way (no one waits for the reply): make sure it arrives.
    if (!self->current_message_id().is_request()) {
      pass_answer(self, atom, std::move(bytes), 0);
      return caf::message{};
    }
  }
  return delegate_to_shard(self, *st.env, st.forwarded, atom, bytes);
}

// This queue's part of a task queue's description (matching merges the kinds and the nodes):
// its workers and its backlog.
pb::DescribeTaskQueueResponse describe(self_ptr self) {
  auto& st = self->state;
  pb::DescribeTaskQueueResponse resp;
  resp.set_namespace_(st.ns);
  resp.set_task_queue(st.queue);
  auto kind = st.kind == task_kind::workflow ? "workflow" : "activity";
  for (auto& [addr, w] : st.workers) {
    auto* p = resp.add_pollers();
    p->set_identity(w.identity);
    p->set_build_id(w.build_id);
    p->set_kind(kind);
    p->set_node(w.via_node);
    p->set_queue_node(st.env->config.name);
    p->set_slots(w.slots);
    p->set_free_slots(std::max(0, w.slots - static_cast<int32_t>(w.inflight.size())));
    p->set_last_seen_ms(w.last_seen_ms);
    p->set_sticky_cache_size(w.sticky_cache_size);
  }
  auto* b = resp.add_backlogs();
  b->set_kind(kind);
  b->set_count(static_cast<int64_t>(st.backlog.size()));
  if (!st.backlog.empty()) {
    // The deque is in arrival order, but a task whose start failed comes back at its end.
    auto oldest = std::chrono::steady_clock::now();
    for (auto& t : st.backlog) oldest = std::min(oldest, t.queued_at);
    b->set_oldest_age_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - oldest).count());
  }
  int64_t in_flight = 0;
  for (auto& [addr, w] : st.workers) in_flight += static_cast<int64_t>(w.inflight.size());
  for (auto& [identity, p] : st.parked) in_flight += static_cast<int64_t>(p.inflight.size());
  b->set_in_flight(in_flight);
  b->set_capped(st.overflowed);
  std::map<int32_t, int32_t> by_priority;
  for (auto& t : st.backlog) ++by_priority[t.priority];
  for (auto& [p, n] : by_priority) {
    auto* pc = b->add_priorities();
    pc->set_priority(p);
    pc->set_count(n);
  }
  if (st.kind == task_kind::activity) {
    auto* fc = resp.add_flow_control();
    fc->set_node(st.env->config.name);
    auto& lim = st.limits();
    fc->set_activities_per_second(lim.activities_per_second);
    fc->set_max_running_per_key(lim.max_running_per_key);
    fc->set_per_key_activities_per_second(lim.per_key_activities_per_second);
    fc->set_activities_per_second_source(source_name(st.flow.rate));
    fc->set_max_running_per_key_source(source_name(st.flow.max_running));
    fc->set_per_key_activities_per_second_source(source_name(st.flow.key_rate));
    std::map<std::string, std::pair<int32_t, int32_t>> keys;  // running, waiting
    for (auto& [key, n] : running_by_key(st)) keys[key].first = n;
    for (auto& t : st.backlog)
      if (!fairness_key_of(t).empty()) ++keys[fairness_key_of(t)].second;
    for (auto& [key, counts] : keys) {
      if (fc->keys_size() >= 100) break;  // the first 100 keys by name
      auto* k = fc->add_keys();
      k->set_key(key);
      k->set_running(counts.first);
      k->set_waiting(counts.second);
    }
  }
  return resp;
}

}  // namespace

caf::behavior task_queue_actor(caf::stateful_actor<task_queue_state>* self, env_ptr env,
                               std::string ns, std::string queue, task_kind kind) {
  auto& st = self->state;
  st.env = std::move(env);
  st.ns = std::move(ns);
  st.queue = std::move(queue);
  st.kind = kind;
  harden(self, "task queue");
  update_limits(self);  // an operator's limits apply before any worker registers
  self->set_down_handler([=](caf::down_msg& msg) {
    if (!self->state.forwarded.on_down(self, msg)) on_worker_down(self, msg.source);
  });
  return {
    [=](register_atom, const std::string& bytes, const caf::actor& handle) {
      auto req = decode<pb::RegisterWorkerRequest>(bytes, "RegisterWorkerRequest");
      if (!req) return;
      auto& w = self->state.workers[handle.address()];
      bool first = !w.handle;
      if (first) {
        self->monitor(handle);
        spdlog::info("worker '{}' registered on {}/{} ({} tasks)", req->identity(),
                     self->state.ns, self->state.queue,
                     self->state.kind == task_kind::workflow ? "workflow" : "activity");
      }
      w.handle = handle;
      w.identity = req->identity();
      w.build_id = req->build_id();
      w.via_node = req->via_node().empty() ? self->state.env->config.name : req->via_node();
      w.sticky_cache_size = req->sticky_cache_size();
      w.last_seen_ms = now_ms();
      w.sticky_key = req->sticky_cache_size() > 0 ? sticky_key(handle) : std::string{};
      w.slots = self->state.kind == task_kind::workflow ? req->workflow_slots()
                                                         : req->activity_slots();
      w.reports_held = req->reports_held();
      w.limits = flow_limits{req->task_queue_activities_per_second(),
                             req->max_running_activities_per_key(), 0};
      update_limits(self);
      if (w.reports_held && !w.identity.empty()) reconcile(self, handle.address(), *req, first);
      pump(self);
    },
    [=](gone_atom, const std::string& identity, caf::actor_id id) {
      // A worker connected to another node died (see matching_actor): as if monitored here.
      for (auto& [addr, w] : self->state.workers)
        if (w.identity == identity && w.handle.id() == id) {
          auto gone = addr;  // on_worker_down erases the entry
          on_worker_down(self, gone);
          return;
        }
    },
    [=](sweep_starts_atom) { sweep_starts(self); },
    [=](flow_pump_atom) {
      self->state.pump_due_ms = 0;  // (an extra pump of an earlier timer is harmless)
      pump(self);
    },
    [=](tq_config_atom) {
      // The namespace's record changed (matching): the operator's limits may be new.
      update_limits(self);
      pump(self);
    },
    [=](unpark_atom, const std::string& identity) { unpark(self, identity); },
    [=](pass_atom, caf::atom_value atom, std::string& bytes, int pass) {
      pass_answer(self, atom, std::move(bytes), pass);
    },
    [=](dispatch_atom, const std::string& bytes) {
      auto req = decode<pb::DispatchRequest>(bytes, "DispatchRequest");
      if (!req) return;
      auto key = task_key(req->token(), req->has_activity_task());
      auto& st = self->state;
      if (st.known.count(key)) return;  // already queued or in flight
      if (st.backlog.size() >= st.env->config.max_task_queue_backlog) {
        // Bounded memory: the task stays in its shard's transfers table and is dispatched again
        // once the backlog has drained (see pump).
        if (!st.overflowed) {
          st.overflowed = true;
          spdlog::warn("task queue {}/{} is overloaded ({} tasks waiting)", st.ns, st.queue,
                       st.backlog.size());
          self->send(st.env->matching, overload_atom::value, st.ns, st.queue, true);
        }
        return;
      }
      st.known.insert(key);
      // Ordered by priority (1 first), in arrival order within one priority.
      task_queue_state::task t;
      t.key = key;
      t.priority = effective_priority(req->priority());
      t.req = std::move(*req);
      auto at = priority_position(st.backlog.begin(), st.backlog.end(), t.priority,
                                  [](const task_queue_state::task& b) { return b.priority; });
      st.backlog.insert(at, std::move(t));
      st.env->metrics->on_task_queued(st.ns, st.queue, st.kind == task_kind::workflow, st.backlog.size());
      pump(self);
    },
    [=](tq_describe_atom) { return encode(describe(self)); },
    [=](tq_holds_atom, const std::string& bytes) -> caf::result<std::string> {
      // A shard's new leader: which of these tasks this queue holds (see QueueHoldsRequest); it
      // wakes only the runs of the others.
      auto req = decode<pb::QueueHoldsRequest>(bytes, "QueueHoldsRequest");
      if (!req) return req.error();
      pb::QueueHoldsResponse resp;
      const bool activity = self->state.kind == task_kind::activity;
      for (int i = 0; i < req->tokens_size(); ++i)
        if (self->state.known.count(task_key(req->tokens(i), activity))) resp.add_held(i);
      return encode(resp);
    },
    [=](qtask_atom, std::string& bytes) -> caf::result<caf::message> {
      // A query goes to any registered worker (round-robin, outside the slots: it is read-only);
      // the worker answers the client directly.
      auto& ws = self->state.workers;
      if (ws.empty())
        return make_error(errc::unavailable, "no worker is polling task queue '"
                                               + self->state.queue + "': the query cannot be answered");
      auto it = ws.upper_bound(self->state.last);
      if (it == ws.end()) it = ws.begin();
      self->state.last = it->first;
      self->delegate(it->second.handle, query_atom::value, std::move(bytes));
      return caf::delegated<caf::message>{};
    },
    // Last: a worker's message about one of its tasks (see from_worker).
    [=](caf::atom_value atom, std::string& bytes) { return from_worker(self, atom, bytes); },
  };
}

caf::actor spawn_task_queue(caf::event_based_actor* parent, env_ptr env, std::string ns,
                            std::string queue, task_kind kind) {
  return parent->spawn<caf::linked>(task_queue_actor, std::move(env), std::move(ns),
                                    std::move(queue), kind);
}

}  // namespace chronicle
