#include "actors/shard_actor.hpp"

#include <spdlog/spdlog.h>

#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "actors/execution_actor.hpp"
#include "actors/execution_state.hpp"

namespace chronicle {

struct shard_state {
  struct entry {
    caf::actor actor;
    uint64_t forwarded = 0;  // messages routed to it, compared with its own count to passivate
  };
  env_ptr env;
  uint32_t id = 0;
  std::unordered_map<std::string, entry> executions;  // key: ns '\0' workflow_id
  std::multimap<int64_t, pb::TimerRecord> timers;     // by fire time
  // The ticks its executions asked for (execution_actor's arm_tick), by due time rounded up to
  // a slot: the shard's one clock entry per slot replaces a clock entry per execution (the CAF
  // clock's insert, wake-up and dispatch were ~7 % of the node's CPU at C=64).
  std::map<int64_t, std::vector<std::pair<caf::actor_addr, int64_t>>> ticks;  // slot -> (who, due)
  int64_t wakeup_at = 0;                              // 0: no tick scheduled
  bool ready = false;  // recovered; until then (e.g. during a handoff) requests are refused

  // The node's gauges count what this shard holds in memory; a stopped shard holds nothing. Its
  // executions stop with it (they are monitored, not linked: see execution_for).
  ~shard_state() {
    for (auto& [key, e] : executions)
      if (e.actor) caf::anon_send_exit(e.actor, caf::exit_reason::user_shutdown);
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

caf::actor& execution_for(self_ptr self, const std::string& ns, const std::string& wid) {
  auto& st = self->state;
  auto& e = st.executions[exec_key(ns, wid)];
  if (!e.actor) {
    // Monitored, not linked: unlinking at passivation walks the shard's list of links (one per
    // live execution), a demonitor only the execution's own short list. The shard stops its
    // executions when it stops (~shard_state).
    e.actor = self->spawn(execution_actor, execution_args{st.env, self, st.id, ns, wid});
    self->monitor(e.actor);
    e.forwarded = 0;
    st.env->metrics->on_executions_active(1);
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

// Rebuilds the timer queue and re-activates executions with pending tasks.
void recover(self_ptr self) {
  auto& st = self->state;
  size_t timers = 0;
  auto s1 = st.env->store->scan_timers(st.id, [&](const pb::TimerRecord& r) {
    st.queue_timer(r);
    ++timers;
  });
  std::set<std::pair<std::string, std::string>> pending;
  auto s2 = st.env->store->scan_transfers(st.id, [&](const pb::TransferRecord& r) {
    pending.emplace(r.namespace_(), r.workflow_id());
  });
  if (!s1.ok() || !s2.ok()) {
    spdlog::error("shard {}: recovery failed: {}", st.id, s1.ok() ? s2.message() : s1.message());
    return;
  }
  for (auto& [ns, wid] : pending) self->send(execution_for(self, ns, wid), recover_atom::value);
  if (timers || !pending.empty())
    spdlog::info("shard {}: recovered {} timers, {} executions with pending tasks", st.id, timers,
                 pending.size());
  schedule_wakeup(self);
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
}

// Asks every execution with pending tasks to dispatch them again (they are deduplicated by the
// task queues).
void redispatch(self_ptr self) {
  auto& st = self->state;
  std::set<std::pair<std::string, std::string>> pending;
  auto s = st.env->store->scan_transfers(st.id, [&](const pb::TransferRecord& r) {
    pending.emplace(r.namespace_(), r.workflow_id());
  });
  if (!s.ok()) {
    spdlog::error("shard {}: redispatch failed: {}", st.id, s.message());
    return;
  }
  // Live executions too: a task whose transition is applied but not yet durable is not in the
  // transfers table yet, and its first dispatch may have been dropped (its queue's owner was down).
  for (auto& [key, e] : st.executions) {
    auto sep = key.find('\0');
    if (sep != std::string::npos) pending.emplace(key.substr(0, sep), key.substr(sep + 1));
  }
  for (auto& [ns, wid] : pending) self->send(execution_for(self, ns, wid), redispatch_atom::value);
}

// A handler that routes a workflow-addressed message (atom, bytes) to its execution actor.
template <class Atom>
auto route(self_ptr self) {
  return [=](Atom atom, std::string& bytes) -> caf::result<caf::message> {
    if (!self->state.ready)
      return make_error(errc::unavailable, "shard " + std::to_string(self->state.id)
                                             + " unavailable (taking over its data)");
    auto key = route_of(atom, bytes);
    if (!key) return key.error();
    self->delegate(execution_for(self, key->ns, key->workflow_id), atom, std::move(bytes));
    return caf::delegated<caf::message>{};
  };
}

}  // namespace

caf::behavior shard_actor(caf::stateful_actor<shard_state>* self, env_ptr env, uint32_t shard_id) {
  self->state.env = std::move(env);
  self->state.id = shard_id;
  harden(self, "shard");
  // An execution actor that stops by itself (a failed write, an exception) is forgotten (its
  // state is durable; the next message respawns it). Passivated ones are demonitored first.
  self->set_down_handler([=](caf::down_msg& msg) {
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
      if (self->state.ready) return;
      self->state.ready = true;
      recover(self);
      sweep_retention(self);
      self->state.env->shard_ready[self->state.id] = true;
    },
    [=](redispatch_atom) {
      if (self->state.ready) redispatch(self);
    },
    route<start_atom>(self),
    route<result_atom>(self),
    route<signal_atom>(self),
    route<sigstart_atom>(self),
    route<terminate_atom>(self),
    route<cancel_atom>(self),
    route<wt_start_atom>(self),
    route<wt_lost_atom>(self),
    route<wt_history_atom>(self),
    route<wf_done_atom>(self),
    route<wf_fail_atom>(self),
    route<act_done_atom>(self),
    route<act_fail_atom>(self),
    route<act_start_atom>(self),
    route<act_beat_atom>(self),
    route<child_done_atom>(self),
    [=](sweep_atom) { sweep_retention(self); },
    [=](arm_atom, const std::string& bytes) {
      if (auto rec = decode<pb::TimerRecord>(bytes, "TimerRecord")) arm(self, std::move(*rec));
    },
    [=](disarm_atom, const std::string& bytes) {
      if (auto rec = decode<pb::TimerRecord>(bytes, "TimerRecord")) disarm(self, *rec);
    },
    [=](tick_atom) { fire_due_timers(self); },
    [=](tick_atom, int64_t due) { arm_execution_tick(self, due); },
    [=](passivate_atom, const std::string& key, uint64_t handled) {
      auto& execs = self->state.executions;
      auto it = execs.find(key);
      if (it == execs.end() || it->second.forwarded != handled) return;  // busy again: keep it
      self->demonitor(it->second.actor);
      self->send_exit(it->second.actor, caf::exit_reason::kill);
      self->state.forget_execution(it);
    },
  };
}

caf::actor spawn_shard(caf::actor_system& sys, env_ptr env, uint32_t shard_id) {
  return sys.spawn(shard_actor, std::move(env), shard_id);
}

}  // namespace chronicle
