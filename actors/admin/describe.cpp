// A run's pending work for `workflow describe` (admin_actor.cpp reads the state): activities
// (cancel-requested ones marked), timers, children, and the messages to other workflows it has
// not delivered yet. Read from the stored mutable state, so it shows what is durable.
#include "actors/admin/admin_actor.hpp"

namespace chronicle {

namespace {

const char* activity_state(pb::ActivityState s) {
  switch (s) {
    case pb::ACTIVITY_STATE_STARTED: return "started";
    case pb::ACTIVITY_STATE_BACKOFF: return "backoff";
    default: return "scheduled";
  }
}

// A signal / cancel request to another workflow not acknowledged yet: in `outbound` until the
// target answered (also after the sending run closed; see docs/semantics.md "Messages to other
// workflows"). Awaiting an answer while the sending run lists it in pending_externals.
void add_external(const pb::MutableState& ms, const pb::TransferRecord& rec,
                  pb::DescribeWorkflowResponse& resp) {
  auto* e = resp.add_pending_externals();
  e->set_kind(rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL ? "signal" : "cancel");
  e->set_namespace_(rec.target_namespace());
  e->set_workflow_id(rec.target_workflow_id());
  e->set_run_id(rec.target_run_id());
  e->set_initiated_event_id(rec.scheduled_event_id());
  e->set_sender_run_id(rec.run_id());
  e->set_signal_name(rec.signal_name());
  e->set_awaiting_answer(rec.run_id() == ms.run_id()
                         && ms.pending_externals().count(rec.scheduled_event_id()) > 0);
}

}  // namespace

void describe_pending_work(const pb::MutableState& ms, pb::DescribeWorkflowResponse& resp) {
  for (auto& [id, pa] : ms.pending_activities()) {
    auto* a = resp.add_pending_activities();
    a->set_activity_id(pa.activity_id());
    a->set_activity_type(pa.activity_type());
    a->set_scheduled_event_id(id);
    a->set_attempt(pa.attempt());
    a->set_state(activity_state(pa.state()));
    if (pa.has_last_failure()) *a->mutable_last_failure() = pa.last_failure();
    if (pa.has_last_heartbeat_details())
      *a->mutable_last_heartbeat_details() = pa.last_heartbeat_details();
    a->set_last_heartbeat_time_ms(pa.last_heartbeat_time_ms());
    a->set_next_attempt_time_ms(pa.retry_time_ms());
    a->set_last_worker_identity(pa.started_identity());
    a->set_cancel_requested(pa.cancel_requested_event_id() != 0);
    a->set_cancel_requested_event_id(pa.cancel_requested_event_id());
    a->set_priority(pa.priority() != 0 ? pa.priority() : (ms.priority() != 0 ? ms.priority() : 3));
  }
  for (auto& [id, pt] : ms.pending_timers()) {
    auto* t = resp.add_pending_timers();
    t->set_timer_id(pt.timer_id());
    t->set_started_event_id(id);
    t->set_fire_time_ms(pt.fire_time_ms());
  }
  for (auto& [id, pc] : ms.pending_children()) {
    auto* c = resp.add_pending_children();
    c->set_workflow_id(pc.workflow_id());
    c->set_run_id(pc.run_id());
    c->set_workflow_type(pc.workflow_type());
    c->set_initiated_event_id(id);
    c->set_parent_close_policy(pc.parent_close_policy());
    c->set_state(pc.run_id().empty() ? "initiated" : "started");
  }
  for (auto& rec : ms.outbound())
    if (rec.kind() == pb::TRANSFER_KIND_SIGNAL_EXTERNAL
        || rec.kind() == pb::TRANSFER_KIND_CANCEL_EXTERNAL)
      add_external(ms, rec, resp);
}

}  // namespace chronicle
