// The replay machine, local activities: their outcomes recorded as LocalActivity markers (live,
// by the worker) or read from those markers (replay), at the point of the code where they
// resolve. See replay_machine.hpp and local_activity.hpp.
#include <utility>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_check.hpp"
#include "worker/sdk/replay_machine.hpp"

namespace chronicle::sdk::detail {

operation* replay_machine::local_activity_op(const std::string& activity_id) const {
  for (const auto& owned : ctx_.operations_) {
    operation* op = owned.get();
    if (op->kind == operation_kind::local_activity && op->local && !op->resolved &&
        op->local->request.activity_id == activity_id)
      return op;
  }
  return nullptr;
}

std::vector<local_activity_request> replay_machine::take_local_activities() {
  std::vector<local_activity_request> out;
  if (finished_) return out;
  for (const auto& owned : ctx_.operations_) {
    operation* op = owned.get();
    if (op->kind != operation_kind::local_activity || op->resolved || !op->local ||
        op->local->phase != local_activity_state::ready)
      continue;
    op->local->phase = local_activity_state::taken;
    out.push_back(op->local->request);
  }
  return out;
}

bool replay_machine::wants_local_activity(const std::string& activity_id) const {
  const operation* op = finished_ ? nullptr : local_activity_op(activity_id);
  return op && op->local->phase == local_activity_state::taken;
}

void replay_machine::deliver_local_activity(const local_activity_outcome& outcome) {
  if (!wants_local_activity(outcome.activity_id)) return;  // canceled meanwhile: dropped
  current_index_ = history_.size() - 1;  // the code runs at the task being answered
  record_local_outcome(local_activity_op(outcome.activity_id), outcome, false);
}

// A LocalActivity marker that this machine produced (live, then recorded): matched like any
// command's event. Any other one is an outcome from an earlier run of the code.
bool replay_machine::is_own_marker(const pb::HistoryEvent& event) const {
  return matched_ < ctx_.commands_.size() && same(event, ctx_.commands_[matched_]);
}

// Replay: the code resumes where the worker delivered this outcome, i.e. right after the
// commands it had produced in that task before (they must all be recorded by now), with the
// clock of that task.
void replay_machine::apply_local_marker(const pb::HistoryEvent& event) {
  auto outcome = local_activity_of(event.marker_recorded());
  if (!outcome) invalid_history(event_label(event) + " is not a well-formed LocalActivity marker");
  operation* op = local_activity_op(outcome->activity_id);
  const bool known = op && op->local->phase != local_activity_state::waiting_timer &&
                     op->local->request.activity_type == outcome->activity_type;
  if (matched_ < ctx_.commands_.size() || !known)
    throw nondeterminism_error(
        "non-deterministic workflow: history event " + std::to_string(event.event_id()) +
            " is MarkerRecorded(LocalActivity, activity_id=" + outcome->activity_id +
            ", type=" + outcome->activity_type + ") but workflow code " +
            (matched_ < ctx_.commands_.size()
                 ? "produced " + describe_command(ctx_.commands_[matched_])
                 : std::string("waits for no such local activity")),
        event.event_id());
  ctx_.now_ms_ = task_time_ms_;
  ctx_.replaying_ = true;
  record_local_outcome(op, *outcome, true);
  // The commands the code produced after it, in that same task, must be recorded too.
  if (pending_check_) must_match_ = ctx_.commands_.size();
}

// The marker; then either the fallback timer (the next attempt runs when it fires) or the
// operation resolved and the code resumed.
void replay_machine::record_local_outcome(operation* op, const local_activity_outcome& outcome,
                                          bool replay) {
  ctx_.add_command(local_activity_marker(outcome), nullptr);
  if (replay) ++matched_;  // the marker event being applied
  auto& state = *op->local;
  if (outcome.backoff_ms > 0) {
    state.request.attempt = outcome.attempt + 1;
    state.request.scheduled_time_ms = outcome.scheduled_time_ms;
    state.request.last_failure = outcome.failure;
    internal_ops_.push_back(std::make_unique<operation>());
    operation* timer = internal_ops_.back().get();
    timer->kind = operation_kind::timer;
    timer->name = std::to_string(++ctx_.timer_seq_);
    timer->linked = op;
    pb::Command command;
    command.mutable_start_timer()->set_timer_id(timer->name);
    command.mutable_start_timer()->set_start_to_fire_timeout_ms(outcome.backoff_ms);
    ctx_.add_command(std::move(command), timer);
    state.timer = timer;
    state.phase = local_activity_state::waiting_timer;
    return;
  }
  if (outcome.completed) {
    op->result = outcome.result;
  } else {
    op->failed = true;
    op->failure = outcome.failure;
  }
  resolve(op);
  check_conditions(current_index_);
}

}  // namespace chronicle::sdk::detail
