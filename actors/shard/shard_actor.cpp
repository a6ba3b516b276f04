#include "actors/shard/shard_actor.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "protocol/ab_switch.hpp"
#include "actors/execution/execution_actor.hpp"
#include "actors/execution/execution_state.hpp"
#include "actors/routing/routing.hpp"
#include "actors/batch/batch_runner.hpp"
#include "actors/schedule/scheduler_actor.hpp"
#include "actors/shard/replica.hpp"

namespace chronicle {

struct shard_state {
  struct entry {
    caf::actor actor;
    uint64_t forwarded = 0;  // messages routed to it, compared with its own count to passivate
  };
  env_ptr env;
  uint32_t id = 0;
  // Where this shard's writes become durable: the node's store (one copy); replication puts the
  // shard's consensus group here.
  std::shared_ptr<storage::commit_log> log;
  std::unordered_map<std::string, entry> executions;  // key: ns '\0' workflow_id
  std::multimap<int64_t, pb::TimerRecord> timers;     // by fire time
  // The ticks its executions asked for (execution_actor's arm_tick), by due time rounded up to
  // a slot: the shard's one clock entry per slot replaces a clock entry per execution (the CAF
  // clock's insert, wake-up and dispatch were ~7 % of the node's CPU at C=64).
  std::map<int64_t, std::vector<std::pair<caf::actor_addr, int64_t>>> ticks;  // slot -> (who, due)
  int64_t wakeup_at = 0;                              // 0: no tick scheduled
  bool ready = false;  // recovered; until then (e.g. during a handoff) requests are refused
  // replication_factor > 1: this node's replica of the shard; the shard serves only while it
  // leads. Requests that arrive while no leader is known (an election) wait here a little.
  std::unique_ptr<shard_replica> replica;
  struct held_request {
    caf::atom_value atom;
    std::string bytes;
    caf::response_promise rp;
    int64_t deadline_ms;
  };
  std::vector<held_request> held;
  forwards forwarded;  // requests passed to the leader's node (forwarding.hpp)
  bool sweep_armed = false;  // a retention sweep is scheduled
  // Executions to wake with recover_atom (recovery) or redispatch_atom (tasks dispatched again),
  // at most reactivate_window at a time (reactivate_some), in order; reactivate_with holds each
  // one's message by its key in `executions`. One that a request wakes first gets its message
  // before the request (execution_for). `reactivations` counts the waves: answers of a wave that
  // step_down dropped are ignored.
  std::deque<std::pair<std::string, std::string>> to_reactivate;  // (namespace, workflow ID)
  std::unordered_map<std::string, caf::atom_value> reactivate_with;
  size_t reactivating = 0;
  uint64_t reactivations = 0;
  int64_t leading_since_ms = 0;  // replicated: when this replica started serving (0: not)
  // Replicated, while leading in place of the preferred leader: since when the preferred one has
  // been up and a voter (0: it is not), so that leadership goes back only once it settled.
  int64_t preferred_ready_since_ms = 0;
  // Replicated: the last time this leader handed its leadership away because a peer's member
  // list leaves this node out (it is being removed; at most one attempt per second).
  int64_t leave_tried_ms = 0;
  caf::actor scheduler;  // the shard's schedules while it serves (actors/schedule/)
  caf::actor batch_runner;  // the shard's batch jobs while it serves (actors/batch/)

  // The node's gauges count what this shard holds in memory; a stopped shard holds nothing. Its
  // executions stop with it (they are monitored, not linked: see execution_for).
  ~shard_state() {
    for (auto& [key, e] : executions)
      if (e.actor) caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
    if (scheduler) caf::anon_send_exit(scheduler, caf::exit_reason::user_shutdown);
    if (batch_runner) caf::anon_send_exit(batch_runner, caf::exit_reason::user_shutdown);
    if (!env) return;
    env->metrics->on_timers_queued(-static_cast<int64_t>(timers.size()));
    env->metrics->on_executions_active(-static_cast<int64_t>(executions.size()));
  }
  void queue_timer(pb::TimerRecord rec) {
    auto fire = rec.fire_time_ms();
    timers.emplace(fire, std::move(rec));
    env->metrics->on_timers_queued(1);
  }
  void forget_timer(std::multimap<int64_t, pb::TimerRecord>::iterator it) {
    timers.erase(it);
    env->metrics->on_timers_queued(-1);
  }
  void forget_execution(std::unordered_map<std::string, entry>::iterator it) {
    executions.erase(it);
    env->metrics->on_executions_active(-1);
  }
};

namespace {

using self_ptr = caf::stateful_actor<shard_state>*;

std::string exec_key(const std::string& ns, const std::string& wid) { return ns + '\0' + wid; }

caf::actor& execution_for(self_ptr self, const std::string& ns, const std::string& wid);

// Where a shard-routed request goes: schedule requests to the shard's scheduler, the others to
// their workflow's execution.
caf::actor target_for(self_ptr self, caf::atom_value atom, const route_key& key) {
  if (is_schedule_request(atom)) return self->state.scheduler;
  if (is_batch_request(atom)) return self->state.batch_runner;
  return execution_for(self, key.ns, key.workflow_id);
}

caf::actor& execution_for(self_ptr self, const std::string& ns, const std::string& wid) {
  auto& st = self->state;
  auto& e = st.executions[exec_key(ns, wid)];
  if (!e.actor) {
    // Monitored, not linked: unlinking at passivation walks the shard's list of links (one per
    // live execution), a demonitor only the execution's own short list. The shard stops its
    // executions when it stops (~shard_state).
    e.actor = self->spawn(execution_actor, execution_args{st.env, self, st.id, st.log, ns, wid});
    self->monitor(e.actor);
    e.forwarded = 0;
    st.env->metrics->on_executions_active(1);
    // Queued for recovery or a dispatch again (reactivate): that first, then what woke it.
    if (auto with = st.reactivate_with.find(exec_key(ns, wid)); with != st.reactivate_with.end()) {
      self->send(e.actor, with->second);
      st.reactivate_with.erase(with);
      ++e.forwarded;
    }
  }
  ++e.forwarded;
  return e.actor;
}

// Executions' ticks are sent at most this late (their deadlines are a second or more away).
constexpr int64_t tick_slot_ms = 50;

// Schedules a tick for the earliest timer or execution tick if none is due earlier.
void schedule_wakeup(self_ptr self) {
  auto& st = self->state;
  if (st.timers.empty() && st.ticks.empty()) return;
  constexpr auto never = std::numeric_limits<int64_t>::max();
  auto first = std::min(st.timers.empty() ? never : st.timers.begin()->first,
                        st.ticks.empty() ? never : st.ticks.begin()->first);
  if (st.wakeup_at != 0 && st.wakeup_at <= first) return;
  st.wakeup_at = first;
  auto delay = std::max<int64_t>(first - now_ms(), 0);
  self->delayed_send(self, std::chrono::milliseconds(delay), tick_atom::value);
}

void fire_due_timers(self_ptr self) {
  auto& st = self->state;
  st.wakeup_at = 0;
  auto now = now_ms();
  while (!st.timers.empty() && st.timers.begin()->first <= now) {
    auto rec = std::move(st.timers.begin()->second);
    st.forget_timer(st.timers.begin());
    self->send(execution_for(self, rec.namespace_(), rec.workflow_id()), timer_atom::value,
               encode(rec));
  }
  while (!st.ticks.empty() && st.ticks.begin()->first <= now) {
    for (auto& [who, due] : st.ticks.begin()->second)
      if (auto exec = caf::actor_cast<caf::actor>(who))  // not if passivated meanwhile
        self->send(exec, tick_atom::value, due);
    st.ticks.erase(st.ticks.begin());
  }
  schedule_wakeup(self);
}

// An execution's tick (see execution_actor's arm_tick): sent back to it in the first wake-up at
// or after `due`.
void arm_execution_tick(self_ptr self, int64_t due) {
  auto slot = (due + tick_slot_ms - 1) / tick_slot_ms * tick_slot_ms;
  self->state.ticks[slot].emplace_back(caf::actor_cast<caf::actor_addr>(self->current_sender()), due);
  schedule_wakeup(self);
}

void arm(self_ptr self, pb::TimerRecord rec) {
  self->state.queue_timer(std::move(rec));
  schedule_wakeup(self);
}

// Drops one queued entry of a timer whose record was deleted (a completed activity's timeout, a
// cancelled timer), so that it neither holds memory nor wakes a passivated execution. One entry:
// a timer armed twice (deleted and put again under the same key) stays queued once.
void disarm(self_ptr self, const pb::TimerRecord& rec) {
  auto& timers = self->state.timers;
  auto [from, to] = timers.equal_range(rec.fire_time_ms());
  for (auto it = from; it != to; ++it) {
    if (same_timer(it->second, rec)) {
      self->state.forget_timer(it);
      return;
    }
  }
}

// Executions woken at once by recovery or a dispatch again (each loads its state and dispatches
// its tasks). A shard with a backlog of thousands of pending tasks (workers away, a failover)
// wakes them a window at a time, the next as answers come back, so requests that arrive
// meanwhile are not queued behind thousands of loads on the node's threads.
constexpr size_t reactivate_window = 64;

void reactivate_some(self_ptr self) {
  auto& st = self->state;
  while (st.reactivating < reactivate_window && !st.to_reactivate.empty()) {
    auto [ns, wid] = std::move(st.to_reactivate.front());
    st.to_reactivate.pop_front();
    auto with = st.reactivate_with.find(exec_key(ns, wid));
    if (with == st.reactivate_with.end()) continue;  // a request woke it first (execution_for)
    auto atom = with->second;
    st.reactivate_with.erase(with);
    ++st.reactivating;
    auto done = [self, wave = st.reactivations] {
      auto& s = self->state;
      if (wave != s.reactivations) return;  // dropped by step_down
      --s.reactivating;
      reactivate_some(self);
    };
    // The execution answers once it handled the message (its writes may still be in flight).
    self->request(execution_for(self, ns, wid), std::chrono::seconds(30), atom)
      .then([done] { done(); }, [done](caf::error&) { done(); });
  }
}

// Queues executions to wake (reactivate_some); one already queued is not queued twice.
void reactivate(self_ptr self, const std::set<std::pair<std::string, std::string>>& which,
                caf::atom_value atom) {
  auto& st = self->state;
  for (auto& [ns, wid] : which)
    if (st.reactivate_with.emplace(exec_key(ns, wid), atom).second)
      st.to_reactivate.emplace_back(ns, wid);
  reactivate_some(self);
}

using run_set = std::set<std::pair<std::string, std::string>>;  // (namespace, workflow ID)

// At most this many tokens in one QueueHoldsRequest.
constexpr size_t holds_chunk = 2048;

// Whether a new leader may ask a task queue about this transfer instead of waking its run: a
// workflow task, or an activity task that names its attempt (the activity queue keys tasks by
// attempt; records written before TransferRecord.attempt name none).
bool askable(const pb::TransferRecord& r) {
  return r.kind() == pb::TRANSFER_KIND_WORKFLOW_TASK
         || (r.kind() == pb::TRANSFER_KIND_ACTIVITY_TASK && r.attempt() > 0);
}

// A replicated shard's new leader: the runs whose pending transfers are all tasks (workflow
// tasks, activity tasks) are woken only when a task queue does not hold one of their tasks
// already (it was dispatched by an earlier leader and is queued, handed out, or kept for a
// reconnecting worker). Waking every run with a pending task made a hand-over under load wait
// behind thousands of loads. A queue that cannot be asked (its owner down, no answer in time)
// has every run of the question woken.
void recover_unless_held(self_ptr self,
                         std::map<std::pair<std::string, std::string>,
                                  std::vector<pb::TransferRecord>> candidates) {
  auto& st = self->state;
  // Per run: woken yet (at the first of its tasks a queue does not hold).
  struct run_tally {
    std::pair<std::string, std::string> run;
    bool woken = false;
  };
  struct tally {
    std::vector<run_tally> runs;
    size_t tasks = 0, held = 0, answers = 0, questions = 0;
  };
  auto t = std::make_shared<tally>();
  // (namespace, task queue, activity?) -> (run index, its task)
  std::map<std::tuple<std::string, std::string, bool>,
           std::vector<std::pair<size_t, const pb::TransferRecord*>>>
    by_queue;
  for (auto& [run, recs] : candidates) {
    size_t i = t->runs.size();
    t->runs.push_back({run, false});
    for (auto& r : recs)
      by_queue[{r.namespace_(), r.task_queue(), r.kind() == pb::TRANSFER_KIND_ACTIVITY_TASK}]
        .emplace_back(i, &r);
    t->tasks += recs.size();
  }
  for (auto& [q, tasks] : by_queue)
    t->questions += (tasks.size() + holds_chunk - 1) / holds_chunk;
  for (auto& [q, tasks] : by_queue) {
    auto& [ns, queue, activity] = q;
    for (size_t from = 0; from < tasks.size(); from += holds_chunk) {
      auto to = std::min(tasks.size(), from + holds_chunk);
      pb::QueueHoldsRequest req;
      req.set_namespace_(ns);
      req.set_task_queue(queue);
      req.set_activity(activity);
      auto owners = std::make_shared<std::vector<size_t>>();
      for (size_t i = from; i < to; ++i) {
        const auto& rec = *tasks[i].second;
        auto* tok = req.add_tokens();
        tok->set_namespace_(rec.namespace_());
        tok->set_workflow_id(rec.workflow_id());
        tok->set_run_id(rec.run_id());
        tok->set_scheduled_event_id(rec.scheduled_event_id());
        if (activity) tok->set_attempt(rec.attempt());
        owners->push_back(tasks[i].first);
      }
      auto answered = [self, t, owners, wave = st.reactivations](const std::vector<bool>& held) {
        auto& s = self->state;
        if (wave != s.reactivations) return;  // stepped down meanwhile
        run_set wake;
        for (size_t i = 0; i < owners->size(); ++i) {
          auto& r = t->runs[(*owners)[i]];
          if (i < held.size() && held[i]) {
            ++t->held;
          } else if (!r.woken) {
            r.woken = true;
            wake.insert(r.run);
          }
        }
        reactivate(self, wake, recover_atom::value);
        if (++t->answers == t->questions) {
          size_t woken = 0;
          for (auto& r : t->runs) woken += r.woken ? 1 : 0;
          spdlog::info("shard {}: {} of {} pending tasks are held by their task queues; {} of {} "
                       "runs whose pending transfers are all tasks not woken",
                       s.id, t->held, t->tasks, t->runs.size() - woken, t->runs.size());
        }
      };
      self->request(st.env->matching, std::chrono::seconds(2), tq_holds_atom::value, encode(req))
        .then(
          [answered, n = owners->size()](const std::string& bytes) {
            std::vector<bool> held(n, false);
            if (auto resp = decode<pb::QueueHoldsResponse>(bytes, "QueueHoldsResponse"))
              for (auto i : resp->held())
                if (i < n) held[i] = true;
            answered(held);
          },
          [answered, self, ns = ns, queue = queue](caf::error& err) {
            spdlog::info("shard {}: task queue {}/{} could not say which tasks it holds ({}): "
                         "waking their runs", self->state.id, ns, queue, error_text(err));
            answered({});
          });
    }
  }
}

// Rebuilds the timer queue and re-activates executions with pending tasks.
void recover(self_ptr self) {
  auto& st = self->state;
  size_t timers = 0;
  auto s1 = st.env->store->scan_timers(st.id, [&](const pb::TimerRecord& r) {
    st.queue_timer(r);
    ++timers;
  });
  // Replicated: the runs whose pending transfers are all tasks a queue can be asked about, with
  // them (candidates for recover_unless_held); a run with any other transfer is woken.
  std::map<std::pair<std::string, std::string>, std::vector<pb::TransferRecord>> candidates;
  run_set pending;
  // (CHRONICLE_RECOVERY_ASK_QUEUES=0: every run is woken, for A/B benchmarks.)
  static const bool ask_queues = ab::on("CHRONICLE_RECOVERY_ASK_QUEUES");
  auto s2 = st.env->store->scan_transfers(st.id, [&](const pb::TransferRecord& r) {
    std::pair<std::string, std::string> run{r.namespace_(), r.workflow_id()};
    if (!st.replica || !ask_queues || pending.count(run)) {
      pending.insert(std::move(run));
      return;
    }
    if (askable(r)) {
      candidates[run].push_back(r);
      return;
    }
    candidates.erase(run);
    pending.insert(std::move(run));
  });
  if (!s1.ok() || !s2.ok()) {
    spdlog::error("shard {}: recovery failed: {}", st.id, s1.ok() ? s2.message() : s1.message());
    return;
  }
  reactivate(self, pending, recover_atom::value);
  if (timers || !pending.empty() || !candidates.empty())
    spdlog::info("shard {}: recovered {} timers, {} executions with pending tasks", st.id, timers,
                 pending.size() + candidates.size());
  schedule_wakeup(self);
  if (!candidates.empty()) recover_unless_held(self, std::move(candidates));
}

// Retention: asks the execution of every closed run whose retention ended to delete it (at most
// a thousand per sweep), then sweeps again after retention_sweep_ms.
void sweep_retention(self_ptr self) {
  auto& st = self->state;
  auto s = st.env->store->scan_expired(st.id, now_ms(), 1000,
                                       [&](int64_t at, const pb::WorkflowExecutionInfo& info) {
                                         self->send(execution_for(self, info.namespace_(),
                                                                  info.workflow_id()),
                                                    purge_atom::value, encode(info), at);
                                       });
  if (!s.ok()) spdlog::error("shard {}: retention sweep failed: {}", st.id, s.message());
  self->delayed_send(self, std::chrono::milliseconds(st.env->config.retention_sweep_ms),
                     sweep_atom::value);
  st.sweep_armed = true;
}

// Asks every execution with pending tasks in `scope` (routing.hpp: all, the queues that moved
// with a member, one queue that drained) to dispatch them again (they are deduplicated by the
// task queues); the others' tasks are where they were.
void redispatch(self_ptr self, const redispatch_scope& scope) {
  auto& st = self->state;
  std::set<std::pair<std::string, std::string>> pending;
  std::map<std::pair<std::string, std::string>, bool> covered;  // (namespace, queue) -> in scope
  size_t skipped = 0;
  auto s = st.env->store->scan_transfers(st.id, [&](const pb::TransferRecord& r) {
    bool in = true;
    if (scope.all()) {
    } else if (r.task_queue().empty()) {
      in = scope.covers_messages();
    } else {
      auto [it, fresh] = covered.try_emplace({r.namespace_(), r.task_queue()}, false);
      if (fresh) it->second = scope.covers(*st.env, r.namespace_(), r.task_queue());
      in = it->second;
    }
    if (!in) {
      ++skipped;
      return;
    }
    pending.emplace(r.namespace_(), r.workflow_id());
  });
  if (!s.ok()) {
    spdlog::error("shard {}: redispatch failed: {}", st.id, s.message());
    return;
  }
  if (skipped > 0)
    spdlog::debug("shard {}: dispatching {} again: {} runs, {} other transfers not", st.id,
                  scope.describe(), pending.size(), skipped);
  // Live executions too: a task whose transition is applied but not yet durable is not in the
  // transfers table yet, and its first dispatch may have been dropped (its queue's owner was down).
  for (auto& [key, e] : st.executions)
    if (e.actor) self->send(e.actor, redispatch_atom::value, scope);
  for (auto it = pending.begin(); it != pending.end();)
    it = st.executions.count(exec_key(it->first, it->second)) ? pending.erase(it) : std::next(it);
  reactivate(self, pending, redispatch_atom::value);
}

// A replica leading in place of the shard's preferred leader hands leadership back after this
// long, once the preferred one is up.
constexpr int64_t rebalance_after_ms = 5000;

// How long a request waits for a leader of a replicated shard before it is refused.
constexpr int64_t leader_wait_ms = 3000;

// Routes a shard-routed message of the catalog (atom, bytes) to its execution actor, or, for a
// replicated shard this replica does not lead, to the leader's node; with no leader known, the
// request waits (release_held).
caf::result<caf::message> route(self_ptr self, caf::atom_value atom, std::string& bytes) {
  auto& st = self->state;
  if (st.ready) {
    auto key = route_of(atom, bytes);
    if (!key) return key.error();
    self->delegate(target_for(self, atom, *key), atom, std::move(bytes));
    return caf::delegated<caf::message>{};
  }
  if (!st.replica)
    return make_error(errc::unavailable,
                      "shard " + std::to_string(st.id) + " unavailable (taking over its data)");
  auto leader = st.replica->leader();
  if (!leader.empty() && leader != st.env->config.name)
    if (auto peer = st.env->peers->peer(leader)) {
      return st.forwarded.forward(self, *peer, atom, std::move(bytes));
    }
  auto rp = self->make_response_promise();
  st.held.push_back({atom, std::move(bytes), rp, now_ms() + leader_wait_ms});
  return rp;
}

// Requests held while no leader was known: served (this replica leads), forwarded (another one
// does), or refused once they waited leader_wait_ms.
void release_held(self_ptr self) {
  auto& st = self->state;
  if (st.held.empty()) return;
  auto now = now_ms();
  auto leader = st.replica ? st.replica->leader() : std::string{};
  std::optional<caf::actor> peer;
  if (!st.ready && !leader.empty() && leader != st.env->config.name)
    peer = st.env->peers->peer(leader);
  std::vector<shard_state::held_request> keep;
  for (auto& h : st.held) {
    if (st.ready) {
      auto key = route_of(h.atom, h.bytes);
      if (!key) h.rp.deliver(key.error());
      else h.rp.delegate(target_for(self, h.atom, *key), h.atom, std::move(h.bytes));
    } else if (peer) {
      st.forwarded.forward(self, *peer, h.atom, std::move(h.bytes), h.rp);
    } else if (now >= h.deadline_ms) {
      h.rp.deliver(make_error(errc::unavailable,
                              "shard " + std::to_string(st.id) + " unavailable: no leader "
                                + (leader.empty() ? "elected" : leader + " unreachable")
                                + " (a majority of its replicas must be up)"));
    } else {
      keep.push_back(std::move(h));
    }
  }
  st.held = std::move(keep);
}

// Stops serving: this replica no longer leads (its executions' pending writes fail with the
// group's "leadership lost"; the new leader recovers from the replicated data).
void step_down(self_ptr self) {
  auto& st = self->state;
  st.ready = false;
  st.env->shard_ready[st.id] = false;
  for (auto& [key, e] : st.executions)
    if (e.actor) {
      // Urgent, so the execution handles it before anything else in its mailbox (as a kill
      // would), but it answers its waiters first instead of leaving them hanging.
      self->demonitor(e.actor);
      self->send<caf::message_priority::high>(
        e.actor, stand_down_atom::value,
        "shard " + std::to_string(st.id) + ": " + st.env->config.name
          + " stopped leading it; the request's outcome is unknown, retry with the same request ID");
    }
  st.env->metrics->on_executions_active(-static_cast<int64_t>(st.executions.size()));
  st.executions.clear();
  st.to_reactivate.clear();
  st.reactivate_with.clear();
  st.reactivating = 0;
  ++st.reactivations;
  st.env->metrics->on_timers_queued(-static_cast<int64_t>(st.timers.size()));
  st.timers.clear();
  st.ticks.clear();
  if (st.scheduler) self->send_exit(st.scheduler, caf::exit_reason::user_shutdown);
  st.scheduler = nullptr;
  if (st.batch_runner) self->send_exit(st.batch_runner, caf::exit_reason::user_shutdown);
  st.batch_runner = nullptr;
}

void become_ready(self_ptr self) {
  auto& st = self->state;
  st.ready = true;
  recover(self);
  if (!st.scheduler) st.scheduler = spawn_scheduler(self, st.env, st.id, st.log);
  if (!st.batch_runner) st.batch_runner = spawn_batch_runner(self, st.env, st.id, st.log);
  if (!st.sweep_armed) sweep_retention(self);
  st.env->shard_ready[st.id] = true;
}

}  // namespace

caf::behavior shard_actor(caf::stateful_actor<shard_state>* self, env_ptr env, uint32_t shard_id) {
  self->state.env = std::move(env);
  self->state.id = shard_id;
  if (self->state.env->replicated()) {
    self->state.replica = std::make_unique<shard_replica>(self, self->state.env, shard_id,
                                                          [self](bool serving) {
      auto& st = self->state;
      if (serving && !st.ready) become_ready(self);
      else if (!serving && st.ready) step_down(self);
      release_held(self);
    });
    self->state.log = self->state.replica->log();
  } else {
    self->state.log = std::make_shared<storage::store_log>(*self->state.env->store);
  }
  harden(self, "shard");
  // An execution actor that stops by itself (a failed write, an exception) is forgotten (its
  // state is durable; the next message respawns it). Passivated ones are demonitored first.
  self->set_down_handler([=](caf::down_msg& msg) {
    if (self->state.forwarded.on_down(self, msg)) return;
    auto& execs = self->state.executions;
    for (auto it = execs.begin(); it != execs.end(); ++it) {
      if (it->second.actor.address() == msg.source) {
        spdlog::error("shard {}: execution actor failed: {}", self->state.id,
                      error_text(msg.reason));
        self->state.forget_execution(it);
        return;
      }
    }
  });
  return {
    [=](recover_atom) {
      auto& st = self->state;
      if (st.ready) return;
      // Replicated: the replica starts; the shard serves once it leads (become_ready).
      if (st.replica) {
        // A data dir the cluster has not placed yet waits for its Raft identity (node_actor.cpp
        // decide_identity: the first peer to answer the handshake).
        if (st.env->peers->own_raft_id() == 0) {
          self->delayed_send(self, std::chrono::milliseconds(100), recover_atom::value);
          return;
        }
        if (!st.replica->start()) self->quit(make_error(errc::internal, "replica did not start"));
        return;
      }
      become_ready(self);
    },
    [=](raft_atom, uint32_t, uint64_t from, const std::string& bytes) {
      if (self->state.replica) self->state.replica->receive(from, bytes);
    },
    [=](snapchunk_atom atom, uint32_t shard, uint64_t from, std::string& bytes)
      -> caf::result<std::string> {
      if (!self->state.replica) return make_error(errc::unavailable, "this shard is not replicated");
      auto read = self->state.replica->chunk_reader(bytes);
      if (!read) return read.error();
      // The read runs on a thread of its own, which answers the puller (delegate): the shard's
      // commits and Raft messages do not wait behind it.
      auto reader = self->spawn<caf::detached>([read = std::move(*read)](caf::event_based_actor* me) {
        return caf::behavior{[=](snapchunk_atom, uint32_t, uint64_t, const std::string&) {
          me->quit();
          return read();
        }};
      });
      self->delegate(reader, atom, shard, from, std::move(bytes));
      return caf::delegated<std::string>{};
    },
    [=](members_atom, uint32_t) -> caf::result<std::string> {
      if (!self->state.replica) return make_error(errc::unavailable, "this shard is not replicated");
      pb::ShardMembersResponse resp;
      self->state.replica->members(&resp);
      return encode(resp);
    },
    [=](snapchunk_atom, uint64_t generation) {
      if (self->state.replica) self->state.replica->paced_chunk_due(generation);
    },
    [=](raft_run_atom) {
      if (self->state.replica) self->state.replica->run_posted();
    },
    [=](raft_tick_atom) {
      auto& st = self->state;
      if (!st.replica) return;
      st.replica->tick();
      release_held(self);
      // Back to the preferred leader once it is up again (leaders stay spread over the nodes),
      // after leading for a while here (no flapping right after a failover).
      // The preferred replica must also have been up and a voter for that long: one that was
      // just promoted after catching up (a wiped node) is still applying what it received and
      // taking its other groups' snapshots; taking over at once would add its recovery of every
      // pending task (recover) to the catch-up.
      auto now = now_ms();
      bool preferred_ready = st.ready && st.replica->should_rebalance();
      if (!preferred_ready) st.preferred_ready_since_ms = 0;
      else if (st.preferred_ready_since_ms == 0) st.preferred_ready_since_ms = now;
      // A node being removed (a peer up runs a list without it) hands every shard it leads to a
      // replica that stays, so that the groups' leaders, on the new list, move the replicas.
      if (st.ready && now - st.leave_tried_ms >= 1000) {
        if (auto by = st.env->leaves_this_node_out(); !by.empty()) {
          st.leave_tried_ms = now;
          spdlog::info("shard {}: {} runs a member list without this node: handing the "
                       "leadership over", st.id, by);
          st.replica->transfer_leadership({}, [](bool) {});
        }
      }
      if (!st.ready) st.leading_since_ms = 0;
      else if (st.leading_since_ms == 0) st.leading_since_ms = now;
      else if (now - st.leading_since_ms >= rebalance_after_ms && preferred_ready
               && now - st.preferred_ready_since_ms >= rebalance_after_ms) {
        st.leading_since_ms = now;  // one attempt per period
        st.replica->transfer_leadership(st.env->placement.at(st.id).preferred_leader,
                                        [](bool) {});
      }
    },
    [=](propose_atom) {
      if (self->state.replica) self->state.replica->propose_queued();
    },
    [=](cluster_atom, bool with_digest) -> std::string {
      pb::ShardReplication view;
      if (self->state.replica) self->state.replica->describe(&view, with_digest);
      return encode(view);
    },
    [=](transfer_atom, const std::string& member) -> caf::result<bool> {
      // Leadership away (SIGTERM: empty member) or to `member`; false when not leading.
      if (!self->state.replica) return false;
      auto rp = self->make_response_promise<bool>();
      self->state.replica->transfer_leadership(member, [rp](bool ok) mutable { rp.deliver(ok); });
      return rp;
    },
    [=](redispatch_atom, const redispatch_scope& scope) {
      if (self->state.ready) redispatch(self, scope);
    },
    [=](leader_gone_atom, const std::string& member) {
      // The node actor: peer `member`'s connection dropped (replica.hpp leader_gone).
      if (self->state.replica) self->state.replica->leader_gone(member);
    },
    [=](sweep_atom) {
      self->state.sweep_armed = false;
      if (self->state.ready) sweep_retention(self);
    },
    [=](arm_atom, const std::string& bytes) {
      if (auto rec = decode<pb::TimerRecord>(bytes, "TimerRecord")) arm(self, std::move(*rec));
    },
    [=](disarm_atom, const std::string& bytes) {
      if (auto rec = decode<pb::TimerRecord>(bytes, "TimerRecord")) disarm(self, *rec);
    },
    [=](tick_atom) { fire_due_timers(self); },
    [=](tick_atom, int64_t due) { arm_execution_tick(self, due); },
    [=](passivate_atom, const std::string& ns, const std::string& wid, uint64_t handled) {
      auto& execs = self->state.executions;
      auto it = execs.find(exec_key(ns, wid));
      if (it == execs.end() || it->second.forwarded != handled) return;  // busy again: keep it
      self->demonitor(it->second.actor);
      self->send_exit(it->second.actor, caf::exit_reason::kill);
      self->state.forget_execution(it);
    },
    // Last: every shard-routed kind of the catalog (routing.hpp's route_of refuses the others).
    [=](caf::atom_value atom, std::string& bytes) { return route(self, atom, bytes); },
  };
}

caf::actor spawn_shard(caf::actor_system& sys, env_ptr env, uint32_t shard_id) {
  return sys.spawn(shard_actor, std::move(env), shard_id);
}

}  // namespace chronicle
