// The execution's lifecycle (see execution_actor.hpp): its one timer, the tick (sent by its
// shard from 50 ms slots), which checks the started workflow task's start-to-close deadline,
// flushes deferred records and asks the shard to passivate the actor once it is idle.
#include "actors/execution/lifecycle.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace chronicle {

namespace {

using self_ptr = execution_self;

// The actor's one timer (one at a time, not one per workflow task): a tick at `due` (or up to a
// shard slot later), unless one is armed for earlier. The shard sends it (one clock entry per
// slot for all its executions). A tick that was superseded is ignored.
void arm_tick(self_ptr self, int64_t due) {
  auto& st = self->state;
  if (st.tick_due_ms != 0 && st.tick_due_ms <= due) return;
  st.tick_due_ms = due;
  self->send(st.args.shard, tick_atom::value, due);
}

// A closed run's execution is passivated sooner: only a late result request or a retention purge
// may still come for it, and it would keep its history cache in memory for nothing.
constexpr int64_t closed_passivate_after_ms = 1000;

int64_t passivate_limit(const execution_state& st) {
  auto limit = st.args.env->config.passivate_after_ms;
  if (st.run && !is_running(*st.run)) return std::min(limit, closed_passivate_after_ms);
  return limit;
}

// How often an active execution's tick comes: often enough for the passivation check and for
// a workflow task's start-to-close deadline (so a task's deadline seldom needs a tick of its own).
int64_t tick_period(self_ptr self) {
  const auto& cfg = self->state.args.env->config;
  return std::min(passivate_limit(self->state), cfg.workflow_task_timeout_ms);
}

// An activation's first tick comes just after a closed run's limit: a short workflow closes before
// it and is passivated by that tick, one clock entry in all (the clock's insert and wake-up were
// ~8 % of the node's CPU at C=64 with two per workflow).
constexpr int64_t first_tick_slack_ms = 100;

}  // namespace

void touch(self_ptr self) {
  auto& st = self->state;
  ++st.handled;
  st.last_message_ms = now_ms();
  if (st.tick_due_ms == 0)
    arm_tick(self, st.last_message_ms
                     + std::min(tick_period(self), closed_passivate_after_ms + first_tick_slack_ms));
}

namespace {

// Whether the workflow task `wt_deadline` watches is still started and unanswered.
bool watched_task_open(const execution_state& st) {
  const auto& w = st.wt_deadline;
  return w.deadline_ms != 0 && st.run && st.run->has_workflow_task()
         && st.run->workflow_task().scheduled_event_id() == w.scheduled_id
         && st.run->workflow_task().started_event_id() == w.started_id;
}

// The started workflow task was not answered in time (start-to-close timeout): an answer that
// never comes (lost worker, lost task queue) does not block the workflow forever.
void time_out_workflow_task(self_ptr self) {
  auto& st = self->state;
  auto scheduled_id = st.wt_deadline.scheduled_id;
  st.wt_deadline = {};
  spdlog::warn("workflow task {} of {} timed out", scheduled_id, st.args.workflow_id);
  st.step(self, input::workflow_task_timed_out{scheduled_id, "start-to-close timeout"},
          [self](caf::error err) {
            if (err)
              spdlog::error("timing out workflow task of {}: {}", self->state.args.workflow_id,
                            error_text(err));
          });
}

}  // namespace

void touch_internal(self_ptr self) { self->state.last_message_ms = now_ms(); }

void on_tick(self_ptr self, int64_t due) {
  auto& st = self->state;
  if (due != st.tick_due_ms) return;  // superseded by an earlier one
  st.tick_due_ms = 0;
  auto now = now_ms();
  if (!watched_task_open(st)) st.wt_deadline = {};  // answered (or superseded) in time
  else if (now >= st.wt_deadline.deadline_ms) time_out_workflow_task(self);
  // Deferred records (a long activity's start) reach the disk within a tick, and always before
  // the actor is passivated.
  if (st.deferred) st.write(self, st.new_batch(), nullptr, false);
  st.expire_history_waiters(now);
  st.expire_update_waiters(now);
  auto idle_for = now - st.last_message_ms;
  auto limit = passivate_limit(st);
  bool task_started = st.run && st.run->has_workflow_task()
                      && st.run->workflow_task().started_event_id() != 0;
  if (idle_for >= limit && st.result_waiters.empty() && st.history_waiters.empty() && !task_started
      && !st.update_waiting()
      && st.outbound_in_flight == 0 && st.all_durable()
      && (!st.run || st.run->outbound().empty())) {  // a message waiting to be retried
    self->send(st.args.shard, passivate_atom::value, st.args.ns, st.args.workflow_id,
               st.handled);
    return;
  }
  auto next = now + std::clamp<int64_t>(limit - idle_for, 10, tick_period(self));
  if (st.wt_deadline.deadline_ms != 0) next = std::min(next, st.wt_deadline.deadline_ms);
  for (auto& call : st.update_calls)  // an update caller is answered at its deadline
    for (auto& w : call.waiters) next = std::min(next, std::max(w.deadline_ms, now + 10));
  arm_tick(self, next);
}

void wake_at(self_ptr self, int64_t due) { arm_tick(self, due); }

void watch_workflow_task(self_ptr self) {
  auto& st = self->state;
  auto deadline = now_ms() + st.args.env->config.workflow_task_timeout_ms;
  st.wt_deadline = {st.run->workflow_task().scheduled_event_id(),
                    st.run->workflow_task().started_event_id(), deadline};
  arm_tick(self, deadline);
}

void passivate_soon_if_closed(self_ptr self) {
  auto& st = self->state;
  if (!st.run || is_running(*st.run)) return;
  auto due = now_ms() + passivate_limit(st);
  // A tick due a little later will do (usually the activation's first one).
  if (st.tick_due_ms == 0 || st.tick_due_ms > due + first_tick_slack_ms) arm_tick(self, due);
}

}  // namespace chronicle
