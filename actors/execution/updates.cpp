// Workflow Update in the execution (see execution_state::update_calls): callers waiting for an
// update's outcome, updates taken to workers in workflow tasks, the speculative workflow task.
// The rules (admission, the update commands) are decide's (shards/decide_update.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/execution/execution_state.hpp"

namespace chronicle {

namespace {

// How long a call waits for the outcome when it does not say, and at most.
constexpr int64_t default_update_wait_ms = 10'000;
constexpr int64_t max_update_wait_ms = 60'000;
// Callers of one run's updates, bounded like the history long polls.
constexpr size_t max_update_waiters = 1024;

pb::UpdateWorkflowResponse response(const std::string& run_id, const std::string& update_id,
                                    pb::UpdateStage stage, bool started) {
  pb::UpdateWorkflowResponse r;
  r.set_run_id(run_id);
  r.set_update_id(update_id);
  r.set_stage(stage);
  r.set_started(started);
  return r;
}

pb::UpdateWorkflowResponse outcome(const std::string& run_id, const std::string& update_id,
                                   const pb::UpdateInfo& info, bool started) {
  auto r = response(run_id, update_id, pb::UPDATE_STAGE_COMPLETED, started);
  if (info.has_failure()) *r.mutable_failure() = info.failure();
  else *r.mutable_result() = info.result();
  return r;
}

}  // namespace

int64_t update_wait_ms(int64_t requested) {
  return requested > 0 ? std::min(requested, max_update_wait_ms) : default_update_wait_ms;
}

caf::result<std::string> execution_state::admit_update(caf::event_based_actor* self,
                                                       const pb::UpdateWorkflowRequest& req,
                                                       bool started) {
  if (!run) return make_error(errc::not_found, "workflow '" + args.workflow_id + "' not found");
  const auto& id = req.update_id();
  auto known = run->updates().find(id);
  if (known != run->updates().end() && known->second.completed_event_id() != 0) {
    // A retry of a completed update: its recorded outcome (once what is in memory is durable).
    auto rp = self->make_response_promise();
    when_durable([rp, bytes = encode(outcome(run->run_id(), id, known->second, started))](
                   const caf::error& err) mutable {
      if (err) rp.deliver(err);
      else rp.deliver(bytes);
    });
    return caf::delegated<std::string>{};
  }
  if (!is_running(*run))
    return make_error(errc::not_found,
                      "workflow '" + args.workflow_id + "' is closed (" + status_name(run->status())
                        + ")"
                        + (known != run->updates().end() ? ": the update never completed" : ""));
  if (run->paused())
    return make_error(errc::invalid_argument, "workflow '" + args.workflow_id
                                                + "' is paused: updates are refused until it is "
                                                  "unpaused");
  size_t waiting = 0;
  for (auto& c : update_calls) waiting += c.waiters.size();
  if (waiting >= max_update_waiters)
    return make_error(errc::overloaded, "too many update calls waiting on workflow '"
                                          + args.workflow_id + "'; ask again later");
  auto call = std::find_if(update_calls.begin(), update_calls.end(),
                           [&](const update_call& c) { return c.request.update_id() == id; });
  bool fresh = call == update_calls.end();
  if (fresh) {
    update_call c;
    c.request.set_update_id(id);
    c.request.set_name(req.name());
    *c.request.mutable_input() = req.input();
    c.request.set_identity(req.identity());
    c.run_id = run->run_id();
    c.admitted = known == run->updates().end();
    update_calls.push_back(std::move(c));
    call = update_calls.end() - 1;
  }
  auto rp = self->make_response_promise();
  call->waiters.push_back({rp, now_ms() + update_wait_ms(req.wait_ms()), started});
  if (fresh && call->admitted) {
    spdlog::debug("update {} '{}' admitted for {}/{}", id, req.name(), args.ns, args.workflow_id);
    step(self, input::update_admitted{}, [this](caf::error err) {
      if (err) spdlog::error("admitting an update of {}: {}", args.workflow_id, error_text(err));
    });
  }
  return caf::delegated<std::string>{};
}

void execution_state::attach_updates(pb::WorkflowTask& task) {
  for (auto& c : update_calls) {
    if (!c.admitted || c.run_id != run->run_id()) continue;
    *task.add_updates() = c.request;
    c.sent_in_task = task.token().scheduled_event_id();
  }
}

int execution_state::undelivered_updates(int64_t scheduled_id) const {
  int n = 0;
  for (auto& c : update_calls)
    if (c.admitted && c.sent_in_task != scheduled_id) ++n;
  return n;
}

void execution_state::reject_updates(
  const google::protobuf::RepeatedPtrField<pb::UpdateRejection>& rejections) {
  for (auto& rej : rejections) {
    auto call = std::find_if(update_calls.begin(), update_calls.end(), [&](const update_call& c) {
      return c.admitted && c.request.update_id() == rej.update_id();
    });
    if (call == update_calls.end()) continue;
    for (auto& w : call->waiters) {
      auto r = response(call->run_id, rej.update_id(), pb::UPDATE_STAGE_COMPLETED, w.started);
      r.set_rejected(true);
      *r.mutable_failure() = rej.failure();
      when_durable([rp = w.rp, bytes = encode(r)](const caf::error& err) mutable {
        if (err) rp.deliver(err);
        else rp.deliver(bytes);
      });
    }
    update_calls.erase(call);
  }
}

void execution_state::schedule_update_task(caf::event_based_actor* self) {
  if (!run || !is_running(*run) || run->has_workflow_task()) return;
  bool admitted = std::any_of(update_calls.begin(), update_calls.end(),
                              [](const update_call& c) { return c.admitted; });
  if (!admitted) return;
  step(self, input::update_admitted{}, [this](caf::error err) {
    if (err) spdlog::error("update task of {}: {}", args.workflow_id, error_text(err));
  });
}

void execution_state::settle_updates() {
  if (update_calls.empty() || !run) return;
  for (auto it = update_calls.begin(); it != update_calls.end();) {
    auto known = run->run_id() == it->run_id ? run->updates().find(it->request.update_id())
                                             : run->updates().end();
    bool done = false;
    if (known != run->updates().end()) {
      it->admitted = false;
      if (known->second.completed_event_id() != 0) {
        for (auto& w : it->waiters)
          when_durable([rp = w.rp, bytes = encode(outcome(it->run_id, it->request.update_id(),
                                                          known->second, w.started))](
                         const caf::error& err) mutable {
            if (err) rp.deliver(err);
            else rp.deliver(bytes);
          });
        done = true;
      }
    }
    if (!done && (it->run_id != run->run_id() || !is_running(*run))) {
      auto err = make_error(errc::not_found, "workflow '" + args.workflow_id + "' closed before the update '"
                                               + it->request.update_id() + "' completed");
      for (auto& w : it->waiters)
        when_durable([rp = w.rp, err](const caf::error& e) mutable { rp.deliver(e ? e : err); });
      done = true;
    }
    it = done ? update_calls.erase(it) : it + 1;
  }
}

void execution_state::expire_update_waiters(int64_t now) {
  for (auto& c : update_calls) {
    auto expired = std::partition(c.waiters.begin(), c.waiters.end(),
                                  [now](const update_waiter& w) { return w.deadline_ms > now; });
    for (auto it = expired; it != c.waiters.end(); ++it)
      it->rp.deliver(encode(response(c.run_id, c.request.update_id(),
                                     c.admitted ? pb::UPDATE_STAGE_ADMITTED
                                                : pb::UPDATE_STAGE_ACCEPTED,
                                     it->started)));
    c.waiters.erase(expired, c.waiters.end());
  }
}

void execution_state::fail_update_waiters(const caf::error& err) {
  for (auto& c : update_calls)
    for (auto& w : c.waiters) w.rp.deliver(err);
  update_calls.clear();
}

bool execution_state::update_waiting() const {
  return std::any_of(update_calls.begin(), update_calls.end(),
                     [](const update_call& c) { return !c.waiters.empty(); });
}

void execution_state::apply_in_memory(caf::event_based_actor* self, pb::MutableState state) {
  bool was_speculative = run && run->has_workflow_task() && run->workflow_task().speculative();
  bool new_task = state.has_workflow_task() && state.workflow_task().speculative()
                  && state.workflow_task().started_event_id() == 0 && !was_speculative;
  run = std::move(state);
  if (new_task)
    dispatch(self, transfer(pb::TRANSFER_KIND_WORKFLOW_TASK, run->workflow_task().scheduled_event_id(),
                            run->task_queue()));
}

void execution_state::append_speculative_events(std::string& task_wire) const {
  const auto& wt = run->workflow_task();
  pb::WorkflowTask events;
  auto* sched = events.add_history();
  sched->set_event_id(wt.scheduled_event_id());
  sched->set_event_time_ms(wt.scheduled_time_ms());
  sched->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  sched->mutable_workflow_task_scheduled()->set_task_queue(run->task_queue());
  sched->mutable_workflow_task_scheduled()->set_attempt(wt.attempt());
  auto* started = events.add_history();
  started->set_event_id(wt.started_event_id());
  started->set_event_time_ms(wt.started_time_ms());
  started->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  started->mutable_workflow_task_started()->set_scheduled_event_id(wt.scheduled_event_id());
  started->mutable_workflow_task_started()->set_identity(wt.identity());
  events.AppendToString(&task_wire);
}

}  // namespace chronicle
