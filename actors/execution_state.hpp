// State of an execution actor (see execution_actor.hpp).
//
// Commit protocol (write-behind, acknowledgements after durability):
// - A transition is applied in memory at once and its records are handed to the store's
//   committer thread (store::write_async), which groups the batches of all executions into one
//   synced RocksDB write. The actor does not wait: it goes on with its next message while the
//   write is in flight, so the transitions of one execution pipeline into successive groups.
// - Batches of one execution are written in submission order and form a chain: once one
//   failed, the later ones fail unwritten, and the actor quits so that its next activation
//   reloads what is on disk (no gaps).
// - Internal effects happen at once: tasks go to matching (a worker may run them before the
//   write is durable: activities are at-least-once and a workflow task's answer is recorded
//   after, in a later batch, so a crash in between loses both and the task runs again), timers
//   are armed.
// - Everything another party may rely on waits until every write before it is durable
//   (when_durable): replies to clients (start, signal, cancel, terminate, result), messages to
//   other workflows (child start, parent notification, parent close policy).
// A few rare writes that change state only once durable (acknowledging an outbound message,
// retention) still await their write (`write` with blocking = true): CAF then holds the actor's
// other messages, in order, until the write is durable.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "actors/execution_actor.hpp"
#include "shards/decide.hpp"

namespace chronicle {

// The answer of the committer to an execution: sequence number, ok, error message.
using committed_atom = caf::atom_constant<caf::atom("committed")>;

struct execution_state {
  // Called once, before step/commit returns: with none once the transition is applied (`run` is
  // the new state, its write queued, its internal effects done), else with the rejection
  // (nothing changed). Replies to others go through when_durable.
  using step_done = std::function<void(caf::error)>;
  using durable_fn = std::function<void(const caf::error&)>;

  execution_args args;
  bool loaded = false;
  std::optional<pb::MutableState> run;   // the current run, if any
  std::vector<caf::response_promise> result_waiters;  // for the current run
  uint64_t handled = 0;                  // messages handled (for passivation)
  int64_t last_message_ms = 0;
  int64_t tick_due_ms = 0;               // when the armed tick fires (0: none armed)
  struct watched_task {
    int64_t scheduled_id = 0, started_id = 0, deadline_ms = 0;  // 0: none
  } wt_deadline;                         // the started workflow task's start-to-close deadline
  // The current run's history as encoded WorkflowTask.history fields (field 3), so that a
  // workflow task is built without reading RocksDB. Valid when history_cached; filled on the
  // first workflow task after activation (or at run creation) and extended by every commit.
  std::string history_wire;
  bool history_cached = false;
  // Sticky cache (see WorkflowTask.first_event_id): the run's state names the worker handed its
  // last workflow task and the first event that worker has not seen (MutableState.sticky_*,
  // durable so that they survive passivation); this is where that event begins in history_wire
  // (npos: not known, e.g. not cached yet; found again when the history is read into the cache).
  size_t sticky_offset = std::string::npos;
  int outbound_in_flight = 0;            // messages to other workflows awaiting an answer
  // WorkflowTaskStarted applied in memory but not written yet: its records go to disk at the
  // start of this execution's next write (new_batch). Losing it in a crash is the same as the
  // task timing out before it started: on disk the task is still scheduled and its transfer
  // record makes recovery dispatch it again. Saves a synced write and a wait per workflow task.
  std::optional<transition> deferred;
  // Timers removed by applied transitions whose batch is not queued yet: the next write tells
  // the shard to drop them from its in-memory queue once that batch is durable (before, a failed
  // write leaves them on disk, and the stale timer firing is harmless).
  std::vector<pb::TimerRecord> disarm_pending;
  // Write-behind bookkeeping: writes are numbered; durable_seq is the highest one known durable
  // (the committer writes in order, so every earlier one is durable too).
  uint64_t write_seq = 0;
  uint64_t durable_seq = 0;
  std::deque<std::pair<uint64_t, durable_fn>> durable_waiters;
  storage::committer_chain chain = std::make_shared<std::atomic<bool>>(false);
  bool failed = false;  // a write failed: the actor is quitting

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
  // Queues `batch` (from new_batch, so the deferred records go with it). Blocking: awaits
  // durability (CAF holds other messages meanwhile), then calls done. Not blocking: returns at
  // once; done (may be empty) is called when durable, through when_durable.
  void write(caf::event_based_actor* self, storage::write_batch batch,
             std::function<void(const storage::status&)> done, bool blocking = true);
  // Calls fn once every write queued so far is durable (at once when none is pending), or with
  // the error when one failed.
  void when_durable(durable_fn fn);
  // Nothing written is still in flight.
  bool all_durable() const { return durable_seq == write_seq; }
  // The committer's answer for write `seq`.
  void on_committed(caf::event_based_actor* self, uint64_t seq, bool ok, const std::string& what);
  // Sends a queued message to another workflow (child start, parent notification, parent close
  // policy) through the frontend; retried until answered, then acknowledged (removed).
  void send_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec);
  // The receiver answered: the message is removed from its run's state and transfer records.
  void ack_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec);
  // Retention: deletes the closed run `info` (history, state, visibility, current record).
  void purge(caf::event_based_actor* self, const pb::WorkflowExecutionInfo& info,
             int64_t delete_at_ms);
  // Appends to task_wire the started workflow task `task` (its header) and what `worker` (empty:
  // none in particular) is to be sent of the current run's history: the events it has not seen
  // when it was handed the run's previous task (unless `whole`), else all, read from the store
  // first if not cached. `worker` is then the sticky worker.
  caf::error append_task_history(std::string& task_wire, pb::WorkflowTask& task,
                                 const std::string& worker, bool whole = false);
  // Forgets the cached history (and where the sticky worker's unseen events begin in it).
  void reset_history_cache(bool cached);
  // Sets the sticky mark, here and in the run's state (empty worker: none).
  void set_sticky(std::string worker, int64_t next_event_id, size_t offset);
  // Fills history_wire from the store unless cached (an error while a write is in flight: the
  // store is then behind; commit fills the cache before its first write).
  caf::error cache_history();
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
  void fail(caf::event_based_actor* self, const std::string& what);
  // Adds a transition's records for run `k` to the batch (visibility included).
  // `carried`: a deferred transition of the same run whose records go with t's.
  void add_records(storage::write_batch& batch, const transition& t, bool new_run,
                   const transition* carried = nullptr) const;
};

}  // namespace chronicle
