// The test environment's worker side: workflow tasks answered by the registry's code (with the
// updates they carry), activity tasks run by mocks or the registry. See environment.hpp.
#include <algorithm>

#include "worker/sdk/activity_runner.hpp"
#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/testing/environment_impl.hpp"
#include "worker/sdk/workflow_cache.hpp"
#include "worker/sdk/workflow_task.hpp"

namespace chronicle::sdk::testing {

namespace {

// The speculative task's events, which the node appends to the task it sends (not yet written:
// execution_state::append_speculative_events).
void append_speculative_events(pb::WorkflowTask& task, const pb::PendingWorkflowTask& wt,
                               const std::string& task_queue) {
  auto* sched = task.add_history();
  sched->set_event_id(wt.scheduled_event_id());
  sched->set_event_time_ms(wt.scheduled_time_ms());
  sched->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
  sched->mutable_workflow_task_scheduled()->set_task_queue(task_queue);
  sched->mutable_workflow_task_scheduled()->set_attempt(wt.attempt());
  auto* started = task.add_history();
  started->set_event_id(wt.started_event_id());
  started->set_event_time_ms(wt.started_time_ms());
  started->set_event_type(pb::EVENT_TYPE_WORKFLOW_TASK_STARTED);
  started->mutable_workflow_task_started()->set_scheduled_event_id(wt.scheduled_event_id());
  started->mutable_workflow_task_started()->set_identity(wt.identity());
}

}  // namespace

pb::WorkflowTask environment::impl::workflow_task() const {
  const auto& wt = state.workflow_task();
  pb::WorkflowTask task;
  *task.mutable_token() = token(wt.scheduled_event_id(), wt.attempt());
  task.set_workflow_type(workflow_type);
  for (const auto& event : history) *task.add_history() = event;
  if (wt.speculative()) append_speculative_events(task, wt, state.task_queue());
  task.set_started_event_id(wt.started_event_id());
  // Every update admitted and not yet accepted goes with each task, as the node sends them.
  for (const auto& u : updates)
    if (!u.outcome->accepted) *task.add_updates() = u.request;
  return task;
}

void environment::impl::run_workflow_task(const pb::TransferRecord& r) {
  const auto& wt = state.workflow_task();
  if (!state.has_workflow_task() || wt.scheduled_event_id() != r.scheduled_event_id() ||
      wt.started_event_id() != 0)
    return;  // stale: the task was answered or replaced
  if (++workflow_tasks > max_workflow_tasks) {
    error = "more than " + std::to_string(max_workflow_tasks) +
            " workflow tasks: the workflow seems to run forever";
    return;
  }
  const int64_t scheduled = r.scheduled_event_id();
  if (auto refused = step(input::workflow_task_started{scheduled, test_identity})) {
    error = "workflow task " + std::to_string(scheduled) + " could not start: " + refused->message;
    return;
  }
  // Local activities run inside the task, by their mocks too, on a clock of their own that
  // skips their retries' backoffs (the environment's clock does not move during a task).
  registry local;
  for (const auto& name : reg.activity_names())
    if (!mocks.find_activity(name)) local.register_activity(name, *reg.find_activity(name));
  for (const auto& name : mocks.activity_names())
    local.register_activity(name, *mocks.find_activity(name));
  int64_t local_now = now;
  sdk::local_clock clock{[&] { return local_now; }, [&](int64_t until) { local_now = until; }};
  workflow_cache cache(0);
  auto result = sdk::run_workflow_task_inline(cache, reg, workflow_task(), test_identity,
                                              10'000, clock, &local);
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result)) {
    error = "workflow task failed: " + failed->failure().type() + ": " +
            failed->failure().message();
    return;
  }
  answer_workflow_task(scheduled, std::get<pb::RespondWorkflowTaskCompleted>(result));
}

void environment::impl::answer_workflow_task(int64_t scheduled,
                                             const pb::RespondWorkflowTaskCompleted& r) {
  for (const auto& rejection : r.update_rejections()) {
    auto it = std::find_if(updates.begin(), updates.end(), [&](const pending_update& u) {
      return u.request.update_id() == rejection.update_id();
    });
    if (it == updates.end()) continue;
    it->outcome->rejected = it->outcome->completed = true;
    it->outcome->failure = rejection.failure();
    updates.erase(it);
  }
  input::workflow_task_completed in;
  in.scheduled_event_id = scheduled;
  in.commands.assign(r.commands().begin(), r.commands().end());
  in.identity = test_identity;
  in.new_run_id = first_run_id + "-" + std::to_string(runs + 1);  // -2, -3, ...
  const size_t before = history.size();
  if (auto refused = step(in)) {
    error = "the workflow task's answer was refused: " + refused->message;
    return;
  }
  // Commands decide refused fail the task (WorkflowTaskFailed) and would fail every retry.
  for (size_t i = before; i < history.size(); ++i) {
    const auto& event = history[i];
    if (event.event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_FAILED) continue;
    const auto& attrs = event.workflow_task_failed();
    if (attrs.cause() == pb::WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND) continue;  // retried
    error = "workflow task failed: " + pb::WorkflowTaskFailedCause_Name(attrs.cause()) + ": " +
            attrs.failure().message();
  }
}

void environment::impl::run_activity_task(const pb::TransferRecord& r) {
  auto it = state.pending_activities().find(r.scheduled_event_id());
  if (it == state.pending_activities().end()) return;  // stale
  const pb::PendingActivity activity = it->second;
  const int64_t scheduled = activity.scheduled_event_id();
  const int32_t attempt = activity.attempt();
  if (step(input::activity_started{scheduled, attempt, test_identity})) return;  // stale
  pb::ActivityTask task;
  *task.mutable_token() = token(scheduled, attempt);
  task.set_activity_id(activity.activity_id());
  task.set_activity_type(activity.activity_type());
  *task.mutable_input() = activity.input();
  task.set_workflow_type(workflow_type);
  *task.mutable_heartbeat_details() = activity.last_heartbeat_details();
  task.set_heartbeat_timeout_ms(activity.heartbeat_timeout_ms());
  const registry& runner = mocks.find_activity(activity.activity_type()) ? mocks : reg;
  // Heartbeats are recorded as a worker's are: the next attempt finds the last details.
  auto heartbeat = [this, scheduled, attempt](const pb::Payload& details) {
    step(input::activity_heartbeat{scheduled, attempt, details, test_identity});
  };
  auto result = sdk::run_activity_task(runner, task, test_identity, heartbeat);
  if (auto* done = std::get_if<pb::RespondActivityTaskCompleted>(&result))
    step(input::activity_completed{scheduled, done->result(), test_identity, attempt});
  else if (auto* failed = std::get_if<pb::RespondActivityTaskFailed>(&result))
    step(input::activity_failed{scheduled, failed->failure(), test_identity, attempt});
  else if (auto* canceled = std::get_if<pb::RespondActivityTaskCanceled>(&result))
    step(input::activity_canceled{scheduled, attempt, canceled->details(), test_identity});
  // ActivityTaskAsync (do_not_complete_on_return): nobody completes it here; its timeouts apply.
}

void environment::impl::settle_updates() {
  for (auto it = updates.begin(); it != updates.end();) {
    auto& out = *it->outcome;
    auto known = state.updates().find(it->request.update_id());
    if (known != state.updates().end()) {
      out.accepted = true;
      if (known->second.completed_event_id() != 0) {
        out.completed = true;
        if (known->second.has_failure()) out.failure = known->second.failure();
        else out.result = from_payload(known->second.result());
      }
    }
    if (!out.completed && !is_running(state)) {
      out.completed = true;
      out.failure.set_type("NotFound");
      out.failure.set_message("the workflow closed before the update '" +
                              it->request.update_id() + "' completed");
    }
    it = out.completed ? updates.erase(it) : it + 1;
  }
}

std::shared_ptr<const update_outcome> environment::update(const std::string& name,
                                                          const json& input) {
  auto& s = *impl_;
  auto out = std::make_shared<update_outcome>();
  if (!s.started || !is_running(s.state)) {
    out->completed = out->rejected = true;
    out->failure.set_type("NotFound");
    out->failure.set_message("the workflow is not running");
    return out;
  }
  impl::pending_update u;
  u.request.set_update_id("update-" + std::to_string(++s.update_ids));
  u.request.set_name(name);
  *u.request.mutable_input() = to_payload(input);
  u.request.set_identity(test_identity);
  u.outcome = out;
  s.updates.push_back(std::move(u));
  // Admitted: a speculative workflow task takes it to the validator (or the pending task does).
  if (auto refused = s.step(input::update_admitted{})) {
    out->completed = out->rejected = true;
    out->failure.set_type("NotFound");
    out->failure.set_message(refused->message);
    s.updates.pop_back();
  }
  return out;
}

}  // namespace chronicle::sdk::testing
