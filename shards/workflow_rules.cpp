#include "shards/workflow_rules.hpp"

namespace chronicle {

namespace {

transition must_transition(decide_result r) { return std::get<transition>(std::move(r)); }

decide_result new_run(const pb::StartWorkflowRequest& req, const std::string& run_id,
                      int64_t now_ms) {
  static const pb::MutableState empty;
  return decide(empty, input::start_workflow{req, run_id}, now_ms);
}

start_result from(decide_result r) {
  if (auto* rej = std::get_if<rejection>(&r)) return std::move(*rej);
  return std::get<transition>(std::move(r));
}

bool failed_close(pb::WorkflowExecutionStatus s) {
  return s != pb::WORKFLOW_EXECUTION_STATUS_COMPLETED
         && s != pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
}

}  // namespace

start_result decide_start(const pb::MutableState* current, const pb::StartWorkflowRequest& req,
                          const std::string& run_id, int64_t now_ms) {
  if (!current) return from(new_run(req, run_id, now_ms));
  const auto& cur = *current;
  const auto& wid = req.workflow_id();
  if (!req.request_id().empty() && req.request_id() == cur.start_request_id())
    return start_existing{cur.run_id()};
  auto reuse = req.id_reuse_policy();
  if (is_running(cur)) {
    auto conflict = req.id_conflict_policy();
    if (conflict == pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) return start_existing{cur.run_id()};
    if (conflict == pb::WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        || reuse == pb::WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING) {
      auto reason = "terminated by a new start of workflow '" + wid + "' (ID policy)";
      auto closing = decide(cur, input::terminate_workflow{reason, req.identity()}, now_ms);
      if (auto* rej = std::get_if<rejection>(&closing)) return std::move(*rej);
      auto next = new_run(req, run_id, now_ms);
      if (auto* rej = std::get_if<rejection>(&next)) return std::move(*rej);
      auto t = must_transition(std::move(closing));
      t.next_run = std::make_shared<transition>(must_transition(std::move(next)));
      carry_outbound(t.state, t.next_run->state);
      return t;
    }
    return rejection{errc::already_started,
                     "workflow '" + wid + "' is already running (run " + cur.run_id() + ")"};
  }
  if (reuse == pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
      || (reuse == pb::WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
          && !failed_close(cur.status())))
    return rejection{errc::already_started,
                     "workflow '" + wid + "' ran before (run " + cur.run_id() + ", "
                       + status_name(cur.status()) + ") and the ID reuse policy ("
                       + (reuse == pb::WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
                            ? "reject duplicate"
                            : "allow duplicate failed only")
                       + ") refuses a new run"};
  auto next = new_run(req, run_id, now_ms);
  // The closed run's undelivered messages are re-sent by the new current run after a crash.
  if (auto* t = std::get_if<transition>(&next)) carry_outbound(cur, t->state);
  return from(std::move(next));
}

std::string history_limit_reason(int64_t limit) {
  return "history size limit exceeded (" + std::to_string(limit) + " events)";
}

std::optional<transition> over_history_limit(const pb::MutableState& before, const transition& t,
                                             int64_t limit, int64_t now_ms) {
  if (!is_running(before) || !is_running(t.state) || t.next_run
      || t.state.run_id() != before.run_id() || t.state.next_event_id() - 1 <= limit)
    return std::nullopt;
  auto term = decide(before, input::terminate_workflow{history_limit_reason(limit), "chronicle"},
                     now_ms);
  if (auto* tt = std::get_if<transition>(&term)) return std::move(*tt);
  return std::nullopt;
}

}  // namespace chronicle
