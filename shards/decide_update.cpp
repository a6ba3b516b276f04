// decide for Workflow Update: admitting an update (a speculative workflow task when none is
// pending) and the update commands of a completed workflow task. See decide.hpp.
#include <set>
#include <string>

#include "shards/transition_builder.hpp"

namespace chronicle::detail {

decide_result on_update_admitted(const pb::MutableState& s, int64_t now) {
  if (!is_running(s))
    return reject(errc::not_found, "workflow '" + s.workflow_id() + "' is closed ("
                                     + status_name(s.status()) + ")");
  if (s.paused())
    return reject(errc::invalid_argument, "workflow '" + s.workflow_id()
                                            + "' is paused: updates are refused until it is "
                                              "unpaused");
  transition t;
  t.state = s;
  t.memory_only = true;
  if (s.has_workflow_task()) return t;  // the update goes with the pending task
  auto* wt = t.state.mutable_workflow_task();
  wt->set_scheduled_event_id(s.next_event_id());
  wt->set_attempt(1);
  wt->set_speculative(true);
  wt->set_scheduled_time_ms(now);
  // Not written: the execution dispatches it from memory (no transfer record).
  return t;
}

std::string check_update_commands(const pb::MutableState& s,
                                  const std::vector<pb::Command>& commands, size_t* index) {
  std::set<std::string> accepted, completed;
  for (auto& [id, info] : s.updates()) {
    accepted.insert(id);
    if (info.completed_event_id() != 0) completed.insert(id);
  }
  for (size_t i = 0; i < commands.size(); ++i) {
    *index = i;
    if (commands[i].has_accept_workflow_update()) {
      auto& id = commands[i].accept_workflow_update().update_id();
      if (!accepted.insert(id).second)
        return "AcceptWorkflowUpdate: update '" + id + "' is already accepted";
    } else if (commands[i].has_complete_workflow_update()) {
      auto& id = commands[i].complete_workflow_update().update_id();
      if (!accepted.count(id))
        return "CompleteWorkflowUpdate: update '" + id + "' is not accepted";
      if (!completed.insert(id).second)
        return "CompleteWorkflowUpdate: update '" + id + "' is already completed";
    }
  }
  return {};
}

void accept_update(builder& b, const pb::AcceptWorkflowUpdateCommandAttributes& ca,
                   int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
              .mutable_workflow_execution_update_accepted();
  a->set_update_id(ca.update_id());
  a->set_name(ca.name());
  *a->mutable_input() = ca.input();
  a->set_identity(ca.identity());
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
}

void complete_update(builder& b, const pb::CompleteWorkflowUpdateCommandAttributes& ca,
                     int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
              .mutable_workflow_execution_update_completed();
  a->set_update_id(ca.update_id());
  a->set_accepted_event_id(b.state().updates().at(ca.update_id()).accepted_event_id());
  if (ca.has_failure()) *a->mutable_failure() = ca.failure();
  else *a->mutable_result() = ca.result();
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
}

}  // namespace chronicle::detail
