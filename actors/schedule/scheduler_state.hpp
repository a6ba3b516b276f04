// The scheduler actor's state and the functions its two files share (scheduler_actor.cpp:
// requests, ticks, writes; scheduler_runs.cpp: the workflows it starts and watches).
#pragma once

#include <caf/all.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "actors/execution/commit_pipeline.hpp"
#include "actors/node/node_env.hpp"
#include "shards/schedule_state.hpp"

namespace chronicle {

using sch_tick_atom = caf::atom_constant<caf::atom("schtick")>;      // an action time came
using sch_commit_atom = caf::atom_constant<caf::atom("schcommit")>;  // a write's outcome
using sch_reload_atom = caf::atom_constant<caf::atom("schreload")>;  // reload after a failure
using sch_start_atom = caf::atom_constant<caf::atom("schstart")>;    // (ns, id, workflow ID) again
using sch_watch_atom = caf::atom_constant<caf::atom("schwatch")>;    // (ns, id, workflow, run) again
using sch_stop_atom = caf::atom_constant<caf::atom("schstop")>;      // (ns, id, workflow ID) again

struct scheduler_state {
  struct entry {
    pb::ScheduleRecord rec;
    std::shared_ptr<const schedules::compiled_spec> spec;  // null: the spec no longer compiles
    std::string spec_error;
  };
  env_ptr env;
  uint32_t shard = 0;
  std::shared_ptr<storage::commit_log> log;
  std::unique_ptr<commit_pipeline> pipe;
  uint64_t generation = 0;  // of `pipe`: answers of an older pipeline are dropped
  std::map<std::string, entry> schedules;  // key: ns '\0' schedule_id
  std::set<std::string> watched;           // ns '\0' workflow_id: a start or result poll is out
  int64_t wakeup_at = 0;                   // 0: none scheduled
};

using scheduler_ptr = caf::stateful_actor<scheduler_state>*;

std::string schedule_key(const std::string& ns, const std::string& id);

// Writes `e`'s record (or its deletion) through the commit pipeline; once durable, performs
// `fx` and calls `done` (with the write's status).
void commit(scheduler_ptr self, scheduler_state::entry& e, schedules::effects fx,
            std::function<void(const storage::status&)> done = nullptr, bool erase = false);

// Schedules the next tick at the earliest action time of any schedule.
void rearm(scheduler_ptr self);

// --- scheduler_runs.cpp ---
// Performs effects of schedule (ns, id): starts, cancels, terminates.
void perform(scheduler_ptr self, const std::string& ns, const std::string& id,
             const schedules::effects& fx);
// Starts the workflow of a running action (idempotent: its ID and request ID are the action's).
void start_workflow(scheduler_ptr self, const std::string& ns, const std::string& id,
                    const std::string& workflow_id);
// Waits for the workflow to close (result long poll), then records its outcome.
void watch_workflow(scheduler_ptr self, const std::string& ns, const std::string& id,
                    const std::string& workflow_id, const std::string& run_id);
// Restarts what a loaded record had in flight: starts not yet answered, workflows running, the
// stops a waiting cancel other / terminate other action needs.
void resume_runs(scheduler_ptr self, const pb::ScheduleRecord& rec);
// Stops `workflow_id` again when the schedule still needs it stopped (schedules::pending_stops).
void stop_again(scheduler_ptr self, const std::string& ns, const std::string& id,
                const std::string& workflow_id);

}  // namespace chronicle
