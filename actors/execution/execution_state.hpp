// State of an execution actor (see execution_actor.hpp), and its commit path.
//
// Commit protocol (write-behind, acknowledgements after durability; docs/semantics.md "Commit
// protocol"):
// - A transition is applied in memory at once and its records go to the shard's commit log
//   through the execution's commit pipeline (commit_pipeline.hpp): the actor does not wait, so
//   the transitions of one execution pipeline into successive group commits.
// - Batches of one execution become durable in submission order and form a chain: once one
//   failed, the later ones fail unwritten, and the actor quits so that its next activation
//   reloads what is on disk (no gaps).
// - Internal effects happen at once, before the write is durable: tasks go to matching (a
//   worker may run them first: activities are at-least-once, and a workflow task's answer is
//   recorded in a later batch, so a crash in between loses both and the task runs again), timers
//   are armed in the shard's memory.
// - Everything another party may rely on waits until every write before it is durable
//   (when_durable): replies to clients (start, signal, cancel, terminate, result), messages to
//   other workflows (child start, parent notification, parent close policy).
// A few rare writes that change state only once durable (acknowledging an outbound message,
// retention) await their write (`write` with blocking = true): CAF then holds the actor's other
// messages, in order, until the write is durable.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "actors/execution/commit_pipeline.hpp"
#include "actors/execution/execution_actor.hpp"
#include "actors/execution/history_cache.hpp"
#include "actors/routing/routing.hpp"
#include "shards/decide.hpp"

namespace chronicle {

// The run's visibility record as written (search attributes typed by `schema`).
pb::WorkflowExecutionInfo visibility_info(const pb::MutableState& ms, const search::schema& schema);

// Puts the run's state into the batch, without a speculative workflow task (memory only).
void put_durable_state(storage::write_batch& batch, const storage::run_key& k,
                       const pb::MutableState& state);

// How long an update call waits for the outcome (UpdateWorkflowRequest.wait_ms: 0 means 10 s; at
// most 60 s), then answered with the stage reached.
int64_t update_wait_ms(int64_t requested);

// The answer of the commit log to an execution: sequence number, outcome (committed_outcome),
// error message.
using committed_atom = caf::atom_constant<caf::atom("committed")>;
uint8_t committed_outcome(const storage::status& st);  // 0 ok, 1 error, 2 unavailable
storage::status committed_status(uint8_t outcome, const std::string& what);

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
  // History long polls (GetHistoryRequest with wait_ms, from the admin actor, which reads the
  // events from the store once woken): answered "" once a write of their run's events after
  // after_event_id is durable, once their run is no longer the current one, at their deadline
  // (on a tick), or with the error when a write fails. They keep the actor from passivating.
  struct history_waiter {
    std::string run_id;
    int64_t after_event_id = 0;
    int64_t deadline_ms = 0;
    caf::response_promise rp;
  };
  std::vector<history_waiter> history_waiters;
  // Workflow Update (updates.cpp): the updates of the current run being waited for, in the order
  // they were admitted. In memory only (Temporal's update registry): an update not yet accepted
  // is lost with the actor (a crash, a passivation without callers) and its caller's retry with
  // the same update ID admits it again; an accepted one is in the run's state (durable).
  struct update_waiter {
    caf::response_promise rp;
    int64_t deadline_ms = 0;
    bool started = false;  // update-with-start: the call started the run
  };
  struct update_call {
    pb::UpdateRequest request;
    std::string run_id;
    bool admitted = true;       // not yet accepted: goes with the next workflow task handed out
    int64_t sent_in_task = 0;   // scheduled event ID of the last task that carried it
    std::vector<update_waiter> waiters;
  };
  std::vector<update_call> update_calls;
  // The last event of run durable_run_id known to be durable: set by load() (what is on disk)
  // and by each write once durable (notify_history_when_durable).
  std::string durable_run_id;
  int64_t durable_event_id = 0;
  uint64_t handled = 0;                  // messages handled (for passivation)
  int64_t last_message_ms = 0;
  int64_t tick_due_ms = 0;               // when the armed tick fires (0: none armed)
  struct watched_task {
    int64_t scheduled_id = 0, started_id = 0, deadline_ms = 0;  // 0: none
  } wt_deadline;                         // the started workflow task's start-to-close deadline
  // The current run's history: filled on the first workflow task after activation (or at run
  // creation) and extended by every commit. Sticky cache (see WorkflowTask.first_event_id): the
  // run's state names the worker handed its last workflow task and the first event that worker
  // has not seen (MutableState.sticky_*, durable so that they survive passivation); the cache
  // knows where that event begins (found again when the history is read into it).
  history_cache history;
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
  // The writes of this execution to its shard's commit log (args.log, which outlives it: args
  // is destroyed last), and who waits for them. Set with args when the actor starts.
  commit_pipeline pipeline{nullptr};

  storage::run_key key() const;
  // Loads the current run from the store once. Returns an error when the store fails.
  caf::error load();
  // Runs `in` through decide on the current run (a fresh state for a start, or for a
  // signal-with-start when there is no run yet) and commits it; `done` as described above.
  void step(caf::event_based_actor* self, const decide_input& in, step_done done);
  // What decide (or a rule of shards/workflow_rules.hpp) returned: a rejection goes to done; a
  // transition that would pass the history limit is replaced by the run's termination;
  // `deferrable` (a task handed to a worker) is applied in memory (see deferred); anything else
  // is committed.
  void settle(caf::event_based_actor* self, decide_result res, bool deferrable, step_done done);
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
  bool all_durable() const { return pipeline.all_durable(); }
  // The commit log's answer for write `seq`.
  void on_committed(caf::event_based_actor* self, uint64_t seq, const storage::status& st);
  // Sends a queued message to another workflow (child start, parent notification, parent close
  // policy) through the frontend; retried until answered, then acknowledged (removed).
  void send_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec);
  // The receiver answered: the message is removed from its run's state and transfer records.
  void ack_outbound(caf::event_based_actor* self, const pb::TransferRecord& rec);
  // Retention and delete: deletes the closed run `info` (history, state, visibility, retention
  // and current record); `done` (may be empty) gets the write's outcome (an error when the run
  // is running or the store failed).
  void purge(caf::event_based_actor* self, const pb::WorkflowExecutionInfo& info,
             int64_t delete_at_ms, std::function<void(const storage::status&)> done = nullptr);
  // Appends to task_wire the started workflow task `task` (its header) and what `worker` (empty:
  // none in particular) is to be sent of the current run's history: the events it has not seen
  // when it was handed the run's previous task (unless `whole`), else all, read from the store
  // first if not cached. `worker` is then the sticky worker.
  caf::error append_task_history(std::string& task_wire, pb::WorkflowTask& task,
                                 const std::string& worker, bool whole = false);
  // Sets the sticky mark, here and in the run's state (empty worker: none).
  void set_sticky(std::string worker, int64_t next_event_id, size_t offset);
  // Fills history_wire from the store unless cached (an error while a write is in flight: the
  // store is then behind; commit fills the cache before its first write).
  caf::error cache_history();
  // Dispatches the pending tasks in `scope` again (the workflow task too when `workflow_task`),
  // and sends the outbound records again unless the scope is one task queue (routing.hpp).
  void redispatch(caf::event_based_actor* self, bool workflow_task,
                  const redispatch_scope& scope = {});
  pb::TransferRecord transfer(pb::TransferKind kind, int64_t scheduled_id,
                              const std::string& queue) const;
  void dispatch(caf::event_based_actor* self, const pb::TransferRecord& rec);
  void answer_waiters();
  void stand_down(caf::event_based_actor* self, const std::string& why);
  // Answers a history long poll at once ("" once what is in memory is durable) when its run is
  // not the current running one or has events after req.after_event_id, else keeps it waiting
  // (an overloaded error past max_history_waiters).
  caf::result<std::string> wait_history(caf::event_based_actor* self,
                                        const pb::GetHistoryRequest& req);
  // Called after queuing a write of the current run's events: once it is durable, those events
  // are, and the waiters it satisfies are answered.
  void notify_history_when_durable();
  // Answers the history waiters whose deadline passed ("": nothing new).
  void expire_history_waiters(int64_t now);

  // Workflow Update (updates.cpp). Admits `req` to the current run (or answers it from the run's
  // state when already accepted / completed): the caller is answered with the outcome once it is
  // durable, with the stage reached at its deadline (req.wait_ms), or with a refusal.
  caf::result<std::string> admit_update(caf::event_based_actor* self,
                                        const pb::UpdateWorkflowRequest& req, bool started);
  // Adds the admitted updates to a workflow task being handed out.
  void attach_updates(pb::WorkflowTask& task);
  // Admitted updates that the started task `scheduled_id` does not carry.
  int undelivered_updates(int64_t scheduled_id) const;
  // The worker's validators refused these updates: their callers are told; nothing was recorded.
  void reject_updates(const google::protobuf::RepeatedPtrField<pb::UpdateRejection>& rejections);
  // Admitted updates and no workflow task pending: a speculative one takes them to a worker.
  void schedule_update_task(caf::event_based_actor* self);
  // After a transition: accepted updates are no longer admitted, completed ones answer their
  // callers, and those of a closed run answer theirs with the error.
  void settle_updates();
  void expire_update_waiters(int64_t now);
  void fail_update_waiters(const caf::error& err);
  bool update_waiting() const;

private:
  // A memory_only transition (the speculative workflow task): applied, the new speculative task
  // dispatched from memory.
  void apply_in_memory(caf::event_based_actor* self, pb::MutableState state);
  // The speculative workflow task's Scheduled / Started events, as the worker is sent them.
  void append_speculative_events(std::string& task_wire) const;
  // Applies a WorkflowTaskStarted transition in memory (see deferred).
  void defer(caf::event_based_actor* self, transition t);
  void effects(caf::event_based_actor* self, transition& t, bool new_run);
  void fail(caf::event_based_actor* self, const storage::status& st);
  // Adds a transition's records for run `k` to the batch (visibility included).
  // `carried`: a deferred transition of the same run whose records go with t's.
  void add_records(storage::write_batch& batch, const transition& t, bool new_run,
                   const transition* carried = nullptr) const;
};

}  // namespace chronicle
