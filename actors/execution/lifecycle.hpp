// The execution's lifecycle: activity accounting, its one timer (a tick, sent by its shard from
// 50 ms slots), the started workflow task's start-to-close deadline, and passivation (the actor
// asks its shard to stop it once idle; a closed run's sooner).
#pragma once

#include "actors/execution/execution_state.hpp"

namespace chronicle {

using execution_self = caf::stateful_actor<execution_state>*;

// A message forwarded by the shard: counted (the shard passivates only an actor whose count
// matches its own) and the idle check armed.
void touch(execution_self self);
// A message the actor sent itself: marks activity without counting it.
void touch_internal(execution_self self);
// The tick due at `due` (ignored when superseded by an earlier one): times out an unanswered
// workflow task, writes deferred records, and asks to be passivated when idle long enough with
// nothing in flight; else arms the next tick.
void on_tick(execution_self self, int64_t due);
// WorkflowTaskStarted was applied: its start-to-close deadline is watched from now.
void watch_workflow_task(execution_self self);
// A tick at `due` (or up to a shard slot later): a waiter's deadline (Workflow Update).
void wake_at(execution_self self, int64_t due);
// The run is closed: the actor is passivated soon (only a late result request or retention may
// still come for it).
void passivate_soon_if_closed(execution_self self);

}  // namespace chronicle
