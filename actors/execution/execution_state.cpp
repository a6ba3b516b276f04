#include "actors/execution/execution_state.hpp"

#include "actors/routing/routing.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "shards/workflow_rules.hpp"

namespace chronicle {

storage::run_key execution_state::key() const {
  return storage::run_key{args.shard_id, args.ns, args.workflow_id, run ? run->run_id() : ""};
}

caf::error execution_state::load() {
  if (loaded) return caf::none;
  storage::status st;
  auto current = args.env->store->load_current(args.shard_id, args.ns, args.workflow_id, &st);
  if (!st.ok()) return make_error(errc::internal, st.message());
  if (current) {
    storage::run_key k{args.shard_id, args.ns, args.workflow_id, current->run_id()};
    run = args.env->store->load_state(k, &st);
    if (!st.ok()) return make_error(errc::internal, st.message());
    if (!run) return make_error(errc::internal, "current run " + current->run_id() + " of "
                                                  + args.workflow_id + " has no mutable state");
    durable_run_id = run->run_id();  // what is on disk is durable
    durable_event_id = run->next_event_id() - 1;
  }
  loaded = true;
  return caf::none;
}

void execution_state::step(caf::event_based_actor* self, const decide_input& in, step_done done) {
  static const pb::MutableState empty;
  bool is_start = std::holds_alternative<input::start_workflow>(in);
  bool may_start = is_start || std::holds_alternative<input::signal_with_start>(in);
  if (!may_start && !run) return done(make_error(errc::not_found, "workflow not found"));
  // A task handed to a worker (WorkflowTaskStarted, an activity's start) is applied in memory and
  // written with the next write (see `deferred`).
  bool deferrable = std::holds_alternative<input::workflow_task_started>(in)
                    || std::holds_alternative<input::activity_started>(in);
  settle(self, decide(is_start || !run ? empty : *run, in, now_ms()), deferrable, std::move(done));
}

void execution_state::settle(caf::event_based_actor* self, decide_result res, bool deferrable,
                             step_done done) {
  if (auto* rej = std::get_if<rejection>(&res)) return done(make_error(rej->code, rej->message));
  auto& t = std::get<transition>(res);
  if (t.memory_only) {  // the speculative workflow task (Workflow Update): nothing to write
    apply_in_memory(self, std::move(t.state));
    return done(caf::none);
  }
  auto limit = static_cast<int64_t>(args.env->config.max_history_events);
  if (run)
    if (auto term = over_history_limit(*run, t, limit, now_ms()))
      return commit(self, std::move(*term), [done, limit](caf::error err) {
        done(err ? err
                 : make_error(errc::invalid_argument,
                              "workflow terminated: " + history_limit_reason(limit)));
      });
  if (deferrable && history.cached() && run && t.state.run_id() == run->run_id()
      && t.transfers_added.empty() && !t.closed && !t.next_run) {
    defer(self, std::move(t));
    return done(caf::none);
  }
  commit(self, std::move(t), std::move(done));
}

namespace {

// Removes `r` from `added` if it is there (a timer added and removed before either was written).
bool cancel_added(std::vector<pb::TimerRecord>& added, const pb::TimerRecord& r) {
  for (auto it = added.begin(); it != added.end(); ++it)
    if (same_timer(*it, r)) {
      added.erase(it);
      return true;
    }
  return false;
}

}  // namespace

void execution_state::defer(caf::event_based_actor* self, transition t) {
  if (!deferred) deferred.emplace();
  auto& d = *deferred;
  d.events.insert(d.events.end(), t.events.begin(), t.events.end());
  d.transfers_removed.insert(d.transfers_removed.end(), t.transfers_removed.begin(),
                             t.transfers_removed.end());
  for (auto& r : t.timers_removed)
    if (!cancel_added(d.timers_added, r)) d.timers_removed.push_back(r);
  d.timers_added.insert(d.timers_added.end(), t.timers_added.begin(), t.timers_added.end());
  disarm_pending.insert(disarm_pending.end(), t.timers_removed.begin(), t.timers_removed.end());
  d.state = t.state;
  effects(self, t, false);  // arms the added timers in the shard's memory at once
}

storage::write_batch execution_state::new_batch() const {
  storage::write_batch batch;
  if (!deferred) return batch;
  storage::run_key k{args.shard_id, args.ns, args.workflow_id, deferred->state.run_id()};
  if (!deferred->events.empty()) batch.append_history(k, deferred->events);
  put_durable_state(batch, k, deferred->state);
  for (auto& r : deferred->timers_added) batch.put_timer(args.shard_id, r);
  for (auto& r : deferred->timers_removed) batch.delete_timer(args.shard_id, r);
  for (auto& r : deferred->transfers_removed) batch.delete_transfer(args.shard_id, r);
  return batch;
}

void put_durable_state(storage::write_batch& batch, const storage::run_key& k,
                       const pb::MutableState& state) {
  if (!state.has_workflow_task() || !state.workflow_task().speculative()
      || state.workflow_task().transient())  // a transient one is durable (state.proto)
    return batch.put_state(k, state);
  pb::MutableState durable = state;  // an update's speculative workflow task lives in memory only
  durable.clear_workflow_task();
  batch.put_state(k, durable);
}

pb::WorkflowExecutionInfo visibility_info(const pb::MutableState& ms, const search::schema& schema) {
  pb::WorkflowExecutionInfo info;
  info.set_namespace_(ms.namespace_());
  info.set_workflow_id(ms.workflow_id());
  info.set_run_id(ms.run_id());
  info.set_workflow_type(ms.workflow_type());
  info.set_task_queue(ms.task_queue());
  info.set_status(ms.status());
  info.set_start_time_ms(ms.start_time_ms());
  info.set_close_time_ms(ms.close_time_ms());
  if (!is_running(ms)) info.set_history_length(ms.next_event_id() - 1);
  if (ms.has_parent()) {
    info.set_parent_workflow_id(ms.parent().workflow_id());
    info.set_parent_run_id(ms.parent().run_id());
  }
  search::put_typed(ms.search_attributes(), schema, info.mutable_search_attributes());
  if (!ms.build_ids().empty()) {
    auto* list = (*info.mutable_search_attributes())[search::build_ids_attribute].mutable_keyword_list();
    list->mutable_values()->CopyFrom(ms.build_ids());
  }
  if (!ms.memo().fields().empty()) *info.mutable_memo() = ms.memo();
  if (ms.paused() && is_running(ms)) {
    info.set_paused(true);
    (*info.mutable_search_attributes())[search::paused_attribute].set_bool_value(true);
  }
  return info;
}

namespace {

// Whether the transition changes the run's visibility record while it runs: its events upsert
// its search attributes or memo, a workflow task of a new build completed, or it was paused or
// unpaused.
bool changes_visibility(const std::vector<pb::HistoryEvent>& events,
                        const pb::MutableState& before, const pb::MutableState& after) {
  return build_ids_changed(before, after) || before.paused() != after.paused()
         || std::any_of(events.begin(), events.end(), [](const pb::HistoryEvent& ev) {
              return ev.has_upsert_workflow_search_attributes()
                     || ev.has_workflow_properties_modified();
            });
}

}  // namespace

void execution_state::add_records(storage::write_batch& batch, const transition& t,
                                  bool new_run, const transition* carried) const {
  storage::run_key k{args.shard_id, args.ns, args.workflow_id, t.state.run_id()};
  if (carried && !carried->events.empty()) {
    // The deferred events come first, in the same history record.
    std::vector<pb::HistoryEvent> events;
    events.reserve(carried->events.size() + t.events.size());
    events.insert(events.end(), carried->events.begin(), carried->events.end());
    events.insert(events.end(), t.events.begin(), t.events.end());
    batch.append_history(k, events);
  } else if (!t.events.empty()) {
    batch.append_history(k, t.events);
  }
  // Timers the carried transition added and t removes were never written: neither is.
  std::vector<pb::TimerRecord> carried_added;
  if (carried) carried_added = carried->timers_added;
  std::vector<const pb::TimerRecord*> removed;
  for (auto& r : t.timers_removed)
    if (!cancel_added(carried_added, r)) removed.push_back(&r);
  if (carried) {
    for (auto& r : carried_added) batch.put_timer(args.shard_id, r);
    for (auto& r : carried->timers_removed) batch.delete_timer(args.shard_id, r);
    for (auto& r : carried->transfers_removed) batch.delete_transfer(args.shard_id, r);
  }
  put_durable_state(batch, k, t.state);  // supersedes the carried state
  const auto& schema = args.env->config.search_attributes_of(args.ns);
  if (!new_run && !t.closed && run && changes_visibility(t.events, *run, t.state)) {
    // An upsert or a new build ID: the record is rewritten (same key), the entries of replaced
    // values deleted. `run` is the state before this transition (as written: a carried
    // transition never upserts nor completes a workflow task).
    auto before = visibility_info(*run, schema);
    batch.put_visibility(args.shard_id, visibility_info(t.state, schema),
                         pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED, &before);
  }
  if (new_run || t.closed) {
    pb::CurrentRun cur;
    cur.set_run_id(t.state.run_id());
    cur.set_status(t.state.status());
    batch.put_current(args.shard_id, args.ns, args.workflow_id, cur);
    // The visibility record: written when the run starts, rewritten when it closes (same key),
    // with the retention record that deletes the closed run later.
    auto info = visibility_info(t.state, schema);
    // A closing run leaves the Running entry of the per-status index (a run closes once); its
    // last task may have upserted too (the entries of replaced values go).
    std::optional<pb::WorkflowExecutionInfo> before;
    if (t.closed && !new_run && run && changes_visibility(t.events, *run, t.state))
      before = visibility_info(*run, schema);
    batch.put_visibility(args.shard_id, info,
                         t.closed && !new_run ? pb::WORKFLOW_EXECUTION_STATUS_RUNNING
                                              : pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED,
                         before ? &*before : nullptr);
    if (t.closed)
      batch.put_retention(args.shard_id,
                          t.state.close_time_ms() + args.env->config.retention_of(args.ns), info);
  }
  for (auto& r : t.timers_added) batch.put_timer(args.shard_id, r);
  for (auto* r : removed) batch.delete_timer(args.shard_id, *r);
  for (auto& r : t.transfers_added) batch.put_transfer(args.shard_id, r);
  for (auto& r : t.transfers_removed) batch.delete_transfer(args.shard_id, r);
}

void execution_state::commit(caf::event_based_actor* self, transition t, step_done done) {
  bool new_run = !run || run->run_id() != t.state.run_id();
  // The cache must hold the run's history before its first write of this activation: once a
  // write is in flight, the store no longer has the whole history (cache_history reads it).
  if (!new_run && !history.cached())
    if (auto err = cache_history()) return done(err);
  if (!is_running(t.state)) {  // no workflow task will follow: a closed run keeps no sticky mark
    t.state.clear_sticky_worker();
    t.state.clear_sticky_next_event_id();
  }
  // The deferred records of the same run share this transition's history record and state (one
  // of each instead of two); of another run they go first on their own.
  bool carry = deferred && deferred->state.run_id() == t.state.run_id();
  storage::write_batch batch = carry ? storage::write_batch{} : new_batch();
  add_records(batch, t, new_run, carry ? &*deferred : nullptr);
  if (t.next_run) add_records(batch, *t.next_run, true);  // continue-as-new: current = next run
  for (auto& other : t.other_states)  // reset: the base run's link to the new run
    put_durable_state(batch, storage::run_key{args.shard_id, args.ns, args.workflow_id, other.run_id()},
                      other);
  disarm_pending.insert(disarm_pending.end(), t.timers_removed.begin(), t.timers_removed.end());
  if (t.next_run)
    disarm_pending.insert(disarm_pending.end(), t.next_run->timers_removed.begin(),
                          t.next_run->timers_removed.end());
  write(self, std::move(batch), nullptr, false);
  effects(self, t, new_run);
  if (t.next_run) effects(self, *t.next_run, true);
  notify_history_when_durable();
  done(caf::none);
}

void execution_state::write(caf::event_based_actor* self, storage::write_batch batch,
                            std::function<void(const storage::status&)> done, bool blocking) {
  // Deferred events go to disk with this batch: history long polls may learn of them. (The
  // current run in memory includes them; commit notifies again for its own events.)
  bool flushes_events = deferred && !deferred->events.empty();
  deferred.reset();  // its records are in this batch (new_batch)
  auto dest = caf::actor_cast<caf::strong_actor_ptr>(self);
  caf::message_id mid;
  if (blocking) {
    // Await the committer's answer: CAF holds back every other message of this actor until then.
    mid = self->new_request_id(caf::message_priority::normal).response_id();
    self->add_awaited_response_handler(
      mid, caf::behavior{[this, self, done = std::move(done)](committed_atom, uint64_t seq,
                                                              uint8_t outcome,
                                                              const std::string& what) {
        auto st = committed_status(outcome, what);
        on_committed(self, seq, st);
        if (done) done(st);
      }});
  }
  auto seq = pipeline.submit(std::move(batch), [dest, mid](uint64_t seq, const storage::status& st) {
    dest->enqueue(caf::make_mailbox_element(nullptr, mid, {}, committed_atom::value, seq,
                                            committed_outcome(st), st.message()),
                  nullptr);
  });
  if (!blocking && done) pipeline.after(seq, std::move(done));
  if (flushes_events) notify_history_when_durable();
  if (!disarm_pending.empty()) {
    // Runs once this batch is durable (registered after it).
    pipeline.after(seq, [self, shard = args.shard,
                         timers = std::move(disarm_pending)](const storage::status& st) {
      if (!st.ok()) return;
      for (auto& r : timers) self->send(shard, disarm_atom::value, encode(r));
    });
    disarm_pending.clear();
  }
}

void execution_state::when_durable(durable_fn fn) {
  pipeline.when_durable([fn = std::move(fn)](const storage::status& st) {
    if (st.ok()) fn(caf::none);
    else if (st.is_unavailable()) fn(make_error(errc::unavailable, st.message()));
    else fn(make_error(errc::internal, "storage write failed: " + st.message()));
  });
}

void execution_state::on_committed(caf::event_based_actor* self, uint64_t seq,
                                   const storage::status& st) {
  if (pipeline.on_committed(seq, st)) fail(self, st);
}

uint8_t committed_outcome(const storage::status& st) {
  return st.ok() ? 0 : st.is_unavailable() ? 2 : 1;
}

storage::status committed_status(uint8_t outcome, const std::string& what) {
  if (outcome == 0) return {};
  return outcome == 2 ? storage::status::unavailable(what) : storage::status::error(what);
}

// A write failed: what is in memory is ahead of the disk. Everyone waiting gets the error and the
// actor quits; its shard forgets it and the next message reloads the durable state.
void execution_state::fail(caf::event_based_actor* self, const storage::status& st) {
  spdlog::error("write failed for {}/{}: {}", args.ns, args.workflow_id, st.message());
  auto err = st.is_unavailable() ? make_error(errc::unavailable, st.message())
                                 : make_error(errc::internal, "storage write failed: " + st.message());
  for (auto& rp : result_waiters) rp.deliver(err);
  result_waiters.clear();
  for (auto& w : history_waiters) w.rp.deliver(err);
  history_waiters.clear();
  fail_update_waiters(err);
  self->quit(err);
}

// The shard's replica stopped leading: every waiter (a write's, a result's) is answered
// unavailable (a pending write's outcome is unknown: it may still commit under the next leader),
// and the actor quits; the next leader recovers the run from the replicated data.
void execution_state::stand_down(caf::event_based_actor* self, const std::string& why) {
  auto st = storage::status::unavailable(why);
  pipeline.abandon(st);
  auto err = make_error(errc::unavailable, why);
  for (auto& rp : result_waiters) rp.deliver(err);
  result_waiters.clear();
  for (auto& w : history_waiters) w.rp.deliver(err);  // the client asks the new leader
  history_waiters.clear();
  fail_update_waiters(err);
  self->quit();
}

// Applied (its write queued): internal effects now, messages to others once durable.
void execution_state::effects(caf::event_based_actor* self, transition& t, bool new_run) {
  args.env->metrics->on_transition(new_run, t.closed, t.state.status(), t.events.size());
  if (new_run) {
    result_waiters.clear();
    history.reset(true);  // a new run's history starts with this transition
  }
  history.append(t.events);
  run = std::move(t.state);
  for (auto& r : t.transfers_added) {
    // A started workflow task (a speculative one just written) is already with its worker.
    if (r.kind() == pb::TRANSFER_KIND_WORKFLOW_TASK && run->has_workflow_task()
        && run->workflow_task().scheduled_event_id() == r.scheduled_event_id()
        && run->workflow_task().started_event_id() != 0)
      continue;
    if (r.kind() == pb::TRANSFER_KIND_WORKFLOW_TASK || r.kind() == pb::TRANSFER_KIND_ACTIVITY_TASK)
      dispatch(self, r);
    else
      when_durable([this, self, r](const caf::error& err) {
        if (!err) send_outbound(self, r);
      });
  }
  for (auto& r : t.timers_added) self->send(args.shard, arm_atom::value, encode(r));
  // Continue-as-new: waiters get the next run's ID and follow the chain (client::result).
  if (t.closed) answer_waiters();
  settle_updates();
}

caf::error execution_state::append_task_history(std::string& task_wire, pb::WorkflowTask& task,
                                                const std::string& worker, bool whole) {
  if (auto err = cache_history()) return err;
  size_t from = 0;
  if (!whole && !worker.empty() && worker == run->sticky_worker()
      && run->sticky_next_event_id() > 1 && history.sticky_offset() < history.size()) {
    task.set_first_event_id(run->sticky_next_event_id());
    from = history.sticky_offset();
  }
  task.AppendToString(&task_wire);
  task_wire.append(history.wire(), from, std::string::npos);
  if (run->workflow_task().speculative()) {
    append_speculative_events(task_wire);
    // Its events may never be written: the worker's next task carries the whole history.
    set_sticky({}, 0, std::string::npos);
    return caf::none;
  }
  set_sticky(worker, task.started_event_id() + 1, history.size());
  return caf::none;
}

void execution_state::set_sticky(std::string worker, int64_t next_event_id, size_t offset) {
  if (worker.empty()) next_event_id = 0;
  if (run) {
    run->set_sticky_worker(std::move(worker));
    run->set_sticky_next_event_id(next_event_id);
  }
  history.set_sticky_offset(offset);
}

caf::error execution_state::cache_history() {
  if (history.cached()) return caf::none;
  // Only complete on disk while nothing is in flight (commit fills the cache before writing).
  if (!all_durable())
    return make_error(errc::internal, "history of " + args.workflow_id + " not cached");
  std::vector<pb::HistoryEvent> events;
  auto sst = args.env->store->read_history(key(), &events);
  if (!sst.ok()) return make_error(errc::internal, sst.message());
  history.fill(events, run->sticky_next_event_id());
  return caf::none;
}

void execution_state::dispatch(caf::event_based_actor* self, const pb::TransferRecord& rec) {
  // Paused: nothing goes to a worker; the unpause's transition lists the waiting tasks again.
  if (run && run->paused()) return;
  pb::DispatchRequest req;
  req.set_namespace_(rec.namespace_());
  req.set_task_queue(rec.task_queue());
  auto* tok = req.mutable_token();
  tok->set_namespace_(rec.namespace_());
  tok->set_workflow_id(rec.workflow_id());
  tok->set_run_id(rec.run_id());
  tok->set_scheduled_event_id(rec.scheduled_event_id());
  std::chrono::milliseconds delay{0};
  if (rec.kind() == pb::TRANSFER_KIND_WORKFLOW_TASK) {
    auto attempt = run->workflow_task().attempt();
    tok->set_attempt(attempt);
    req.set_workflow_task(true);
    req.set_sticky_worker(run->sticky_worker());
    req.set_priority(run->priority());
    // A workflow task failing again and again (a bug, non-determinism) is retried with a growing
    // delay: attempt 2 at once, then 1 s, 2 s, 4 s ... at most 10 s. Not durable: after a restart
    // the task is dispatched at once.
    if (attempt >= 3)
      delay = std::chrono::milliseconds(std::min<int64_t>(int64_t{1000} << std::min(attempt - 3, 4),
                                                          10'000));
  } else {
    auto it = run->pending_activities().find(rec.scheduled_event_id());
    if (it == run->pending_activities().end()) return;
    auto& pa = it->second;
    if (pa.state() == pb::ACTIVITY_STATE_BACKOFF) return;  // its retry timer dispatches it
    // Asked to cancel while a worker ran it (e.g. dispatched again after a restart): not run again;
    // the running attempt hears of it at its next heartbeat, else its timeouts close it.
    if (pa.cancel_requested_event_id() != 0) return;
    tok->set_attempt(pa.attempt());
    auto* at = req.mutable_activity_task();
    *at->mutable_token() = *tok;
    at->set_activity_id(pa.activity_id());
    at->set_activity_type(pa.activity_type());
    *at->mutable_input() = pa.input();
    at->set_workflow_type(run->workflow_type());
    if (pa.has_last_heartbeat_details()) *at->mutable_heartbeat_details() = pa.last_heartbeat_details();
    at->set_heartbeat_timeout_ms(pa.heartbeat_timeout_ms());
    at->set_start_to_close_timeout_ms(pa.start_to_close_timeout_ms());
    at->set_fairness_key(run->fairness_key());  // flow control in the activity queue
    req.set_priority(pa.priority() != 0 ? pa.priority() : run->priority());
  }
  if (delay.count() > 0)
    self->delayed_send(args.env->matching, delay, dispatch_atom::value, encode(req));
  else
    self->send(args.env->matching, dispatch_atom::value, encode(req));
}

pb::TransferRecord execution_state::transfer(pb::TransferKind kind, int64_t scheduled_id,
                                             const std::string& queue) const {
  pb::TransferRecord r;
  r.set_namespace_(args.ns);
  r.set_workflow_id(args.workflow_id);
  r.set_run_id(run->run_id());
  r.set_scheduled_event_id(scheduled_id);
  r.set_kind(kind);
  r.set_task_queue(queue);
  return r;
}

void execution_state::redispatch(caf::event_based_actor* self, bool workflow_task,
                                 const redispatch_scope& scope) {
  if (!run) return;
  if (scope.covers_messages())
    for (auto& rec : run->outbound()) send_outbound(self, rec);
  if (!is_running(*run)) return;
  auto moved = [&](const std::string& queue) { return scope.covers(*args.env, args.ns, queue); };
  auto& wt = run->workflow_task();
  if (workflow_task && run->has_workflow_task() && wt.started_event_id() == 0 &&
      moved(run->task_queue()))
    dispatch(self, transfer(pb::TRANSFER_KIND_WORKFLOW_TASK, wt.scheduled_event_id(),
                            run->task_queue()));
  for (auto& [id, pa] : run->pending_activities())
    if (moved(pa.task_queue()))
      dispatch(self, transfer(pb::TRANSFER_KIND_ACTIVITY_TASK, id, pa.task_queue()));
}

void execution_state::answer_waiters() {
  if (result_waiters.empty()) return;
  pb::GetResultResponse resp;
  resp.set_run_id(run->run_id());
  resp.set_status(run->status());
  *resp.mutable_result() = run->result();
  *resp.mutable_failure() = run->failure();
  resp.set_new_run_id(run->continued_to_run_id());
  auto waiters = std::move(result_waiters);
  result_waiters.clear();
  when_durable([waiters = std::move(waiters), bytes = encode(resp)](const caf::error& err) mutable {
    for (auto& rp : waiters) {
      if (err) rp.deliver(err);
      else rp.deliver(bytes);
    }
  });
}

}  // namespace chronicle
