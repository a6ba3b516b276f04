// State of an execution actor (see execution_actor.hpp).
//
// Commit protocol: a transition's records are built into one write_batch and handed to the
// store's committer thread (store::write_async), which groups the batches of all executions into
// one synced RocksDB write. Until that write is durable the actor awaits its answer: CAF keeps
// every other message in the mailbox (in order), so the actor handles its inputs one at a time
// exactly as when the write was synchronous. Only then are the effects performed (dispatch to
// matching, arm timers, answer result waiters) and the continuation called (it replies).
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <optional>
#include <vector>

#include "actors/execution_actor.hpp"
#include "shards/decide.hpp"

namespace chronicle {

// The answer of the committer to an execution: ok, error message.
using committed_atom = caf::atom_constant<caf::atom("committed")>;

struct execution_state {
  // Called once: with none after the transition is durable and its effects performed (`run` is
  // then the new state), else with the rejection or storage error (nothing changed).
  using step_done = std::function<void(caf::error)>;

  execution_args args;
  bool loaded = false;
  std::optional<pb::MutableState> run;   // the current run, if any
  std::vector<caf::response_promise> result_waiters;  // for the current run
  uint64_t handled = 0;                  // messages handled (for passivation)
  int64_t last_message_ms = 0;
  bool tick_armed = false;
  // The current run's history as encoded WorkflowTask.history fields (field 3), so that a
  // workflow task is built without reading RocksDB. Valid when history_cached; filled on the
  // first workflow task after activation (or at run creation) and extended by every commit.
  std::string history_wire;
  bool history_cached = false;
  int outbound_in_flight = 0;            // messages to other workflows awaiting an answer
  // WorkflowTaskStarted applied in memory but not written yet: its records go to disk at the
  // start of this execution's next write (new_batch). Losing it in a crash is the same as the
  // task timing out before it started: on disk the task is still scheduled and its transfer
  // record makes recovery dispatch it again. Saves a synced write and a wait per workflow task.
  std::optional<transition> deferred;

  storage::run_key key() const;
  // Loads the current run from the store once. Returns an error when the store fails.
  caf::error load();
  // Runs `in` through decide on the current run (a fresh state for a start, or for a
  // signal-with-start when there is no run yet) and commits it; `done` as described above.
  void step(caf::event_based_actor* self, const decide_input& in, step_done done);
  // Writes a transition in one (grouped) batch, awaits durability, performs its effects, calls done.
  void commit(caf::event_based_actor* self, transition t, step_done done);
  // A batch for this execution's next write: it starts with the deferred records, if any (the
  // caller's records, added after, override them).
  storage::write_batch new_batch() const;
  // Writes `batch` (from new_batch; grouped), awaits durability, then calls done (CAF holds
  // other messages meanwhile). Once durable, the deferred records are written.
  void write(caf::event_based_actor* self, storage::write_batch batch,
             std::function<void(const storage::status&)> done);
  // Sends a queued message to another workflow (child start, parent notification, parent close
  // policy) through the frontend; retried until answered, then acknowledged (removed).
  void send_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec);
  // The receiver answered: the message is removed from its run's state and transfer records.
  void ack_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec);
  // Retention: deletes the closed run `info` (history, state, visibility, current record).
  void purge(caf::event_based_actor* self, const pb::WorkflowExecutionInfo& info,
             int64_t delete_at_ms);
  // Appends the current run's cached history (reading it from the store first if needed) to
  // `task_wire`, an encoded WorkflowTask.
  caf::error append_history(std::string& task_wire);
  // Sends the current run's pending tasks to matching again (after a restart): its activities,
  // and its scheduled workflow task when `workflow_task`.
  void redispatch(caf::event_based_actor* self, bool workflow_task);
  pb::TransferRecord transfer(pb::TransferKind kind, int64_t scheduled_id,
                              const std::string& queue) const;
  void dispatch(caf::event_based_actor* self, const pb::TransferRecord& rec);
  void answer_waiters();

private:
  // Applies a WorkflowTaskStarted transition in memory (see deferred).
  void defer(caf::event_based_actor* self, transition t);
  void effects(caf::event_based_actor* self, transition& t, bool new_run);
  // Adds a transition's records for run `k` to the batch (visibility included).
  void add_records(storage::write_batch& batch, const transition& t, bool new_run) const;
};

}  // namespace chronicle
