// The workflows a scheduler starts, watches, cancels and terminates. Every request goes through
// the node's frontend (the workflow's shard may be anywhere). A start is idempotent: the
// workflow ID is the action's, the request ID too, an ID already used is never started again
// (REJECT_DUPLICATE) and a running one is answered (USE_EXISTING), so a start sent again after a
// crash or a lost answer makes no second run.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "actors/schedule/scheduler_state.hpp"

namespace chronicle {

namespace {

constexpr auto start_timeout = std::chrono::seconds(30);
// A result long poll is asked again after this long (it stays one poll per workflow).
constexpr auto watch_timeout = std::chrono::minutes(10);
constexpr auto retry_delay = std::chrono::seconds(1);

scheduler_state::entry* find(scheduler_ptr self, const std::string& ns, const std::string& id) {
  auto it = self->state.schedules.find(schedule_key(ns, id));
  return it == self->state.schedules.end() ? nullptr : &it->second;
}

// A running action's workflow closed (or cannot start): recorded, then the buffered action
// whose turn came is started.
void close_action(scheduler_ptr self, const std::string& ns, const std::string& id,
                  const std::string& wid, const std::string& run_id,
                  pb::WorkflowExecutionStatus status) {
  auto* e = find(self, ns, id);
  if (!e) return;  // deleted meanwhile
  auto fx = schedules::closed(e->rec, wid, run_id, status);
  if (!fx) return;
  commit(self, *e, std::move(*fx));
  rearm(self);
}

void on_started(scheduler_ptr self, const std::string& ns, const std::string& id,
                const std::string& wid, const std::string& run_id) {
  auto* e = find(self, ns, id);
  if (!e) return;
  if (schedules::started(e->rec, wid, run_id)) commit(self, *e, {});
  watch_workflow(self, ns, id, wid, run_id);
}

pb::StartWorkflowRequest start_request(const pb::ScheduleRecord& rec, const std::string& wid) {
  auto& a = rec.definition().action();
  pb::StartWorkflowRequest req;
  req.set_namespace_(rec.namespace_());
  req.set_workflow_id(wid);
  req.set_workflow_type(a.workflow_type());
  req.set_task_queue(a.task_queue());
  *req.mutable_input() = a.input();
  req.set_workflow_execution_timeout_ms(a.workflow_execution_timeout_ms());
  req.set_workflow_run_timeout_ms(a.workflow_run_timeout_ms());
  req.set_identity("schedule " + rec.schedule_id());
  req.set_request_id("schedule/" + rec.schedule_id() + "/" + wid);
  req.set_id_reuse_policy(pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE);
  req.set_id_conflict_policy(pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING);
  return req;
}

void stop_workflow(scheduler_ptr self, const std::string& ns, const std::string& id,
                   const std::string& wid, bool terminate) {
  std::string bytes;
  auto reason = "schedule '" + id + "': overlap policy";
  if (terminate) {
    pb::TerminateWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_workflow_id(wid);
    req.set_reason(reason);
    req.set_identity("schedule " + id);
    bytes = encode(req);
  } else {
    pb::RequestCancelWorkflowRequest req;
    req.set_namespace_(ns);
    req.set_workflow_id(wid);
    req.set_reason(reason);
    req.set_identity("schedule " + id);
    req.set_request_id("schedule/" + id + "/cancel/" + wid);
    bytes = encode(req);
  }
  caf::atom_value kind = terminate ? caf::atom_value{terminate_atom::value}
                                   : caf::atom_value{cancel_atom::value};
  self->request(self->state.env->frontend, request_timeout, kind, std::move(bytes))
    .then([](const std::string&) {},
          [=](caf::error& err) {
            // Closed meanwhile (the watch records it), not started yet (its start was still on
            // its way) or a node down: asked again while the schedule still needs it stopped.
            spdlog::info("schedule '{}': stopping '{}' failed: {} (asked again while it runs)", id,
                         wid, error_text(err));
            self->delayed_send(self, retry_delay, sch_stop_atom::value, ns, id, wid);
          });
}

}  // namespace

void start_workflow(scheduler_ptr self, const std::string& ns, const std::string& id,
                    const std::string& wid) {
  auto* e = find(self, ns, id);
  auto key = schedule_key(ns, wid);
  if (!e || self->state.watched.count(key)) return;
  self->state.watched.insert(key);
  self->request(self->state.env->frontend, start_timeout, caf::atom_value{start_atom::value},
                encode(start_request(e->rec, wid)))
    .then(
      [=](const std::string& reply) {
        self->state.watched.erase(key);
        auto resp = decode<pb::StartWorkflowResponse>(reply, "StartWorkflowResponse");
        on_started(self, ns, id, wid, resp ? resp->run_id() : std::string{});
      },
      [=](caf::error& err) {
        self->state.watched.erase(key);
        auto code = static_cast<errc>(chronicle_code(err));
        if (code == errc::already_started) {
          // Started before (a crash between the start and the record of its run): its
          // outcome is that run's.
          watch_workflow(self, ns, id, wid, "");
        } else if (code == errc::invalid_argument || code == errc::permission_denied) {
          spdlog::warn("schedule '{}': workflow '{}' cannot start: {}", id, wid, error_text(err));
          close_action(self, ns, id, wid, "", pb::WORKFLOW_EXECUTION_STATUS_FAILED);
        } else {
          self->delayed_send(self, retry_delay, sch_start_atom::value, ns, id, wid);
        }
      });
}

void watch_workflow(scheduler_ptr self, const std::string& ns, const std::string& id,
                    const std::string& wid, const std::string& run_id) {
  auto key = schedule_key(ns, wid);
  if (!find(self, ns, id) || self->state.watched.count(key)) return;
  self->state.watched.insert(key);
  pb::GetResultRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(wid);
  req.set_run_id(run_id);
  self->request(self->state.env->frontend, watch_timeout, caf::atom_value{result_atom::value}, encode(req))
    .then(
      [=](const std::string& reply) {
        self->state.watched.erase(key);
        auto resp = decode<pb::GetResultResponse>(reply, "GetResultResponse");
        if (!resp) return close_action(self, ns, id, wid, run_id, pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED);
        if (resp->status() == pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
            && !resp->new_run_id().empty())
          return watch_workflow(self, ns, id, wid, resp->new_run_id());  // the chain goes on
        close_action(self, ns, id, wid, resp->run_id(), resp->status());
      },
      [=](caf::error& err) {
        self->state.watched.erase(key);
        if (static_cast<errc>(chronicle_code(err)) == errc::not_found)
          return close_action(self, ns, id, wid, run_id, pb::WORKFLOW_EXECUTION_STATUS_UNSPECIFIED);
        self->delayed_send(self, retry_delay, sch_watch_atom::value, ns, id, wid, run_id);
      });
}

void perform(scheduler_ptr self, const std::string& ns, const std::string& id,
             const schedules::effects& fx) {
  for (auto& wid : fx.cancel) stop_workflow(self, ns, id, wid, false);
  for (auto& wid : fx.terminate) stop_workflow(self, ns, id, wid, true);
  for (auto& a : fx.start) start_workflow(self, ns, id, a.workflow_id());
}

void resume_runs(scheduler_ptr self, const pb::ScheduleRecord& rec) {
  for (auto& r : rec.info().running()) {
    if (r.run_id().empty()) start_workflow(self, rec.namespace_(), rec.schedule_id(), r.workflow_id());
    else watch_workflow(self, rec.namespace_(), rec.schedule_id(), r.workflow_id(), r.run_id());
  }
  // The stops decided before a crash may never have been sent (they follow the durable write).
  perform(self, rec.namespace_(), rec.schedule_id(), schedules::pending_stops(rec));
}

void stop_again(scheduler_ptr self, const std::string& ns, const std::string& id,
                const std::string& workflow_id) {
  auto* e = find(self, ns, id);
  if (!e) return;
  auto fx = schedules::pending_stops(e->rec);
  auto has = [&](const std::vector<std::string>& v) {
    return std::find(v.begin(), v.end(), workflow_id) != v.end();
  };
  if (has(fx.cancel)) stop_workflow(self, ns, id, workflow_id, false);
  else if (has(fx.terminate)) stop_workflow(self, ns, id, workflow_id, true);
}

}  // namespace chronicle
