// The replay machine, Workflow Update: delivering updates to the code at a workflow task's start,
// running the validator (new updates only) and the handler coroutine, recording acceptance and
// outcome as commands. See workflow_context.hpp for the rules.
#include <utility>

#include "worker/sdk/describe.hpp"
#include "worker/sdk/errors.hpp"
#include "worker/sdk/replay_machine.hpp"

namespace chronicle::sdk::detail {

namespace {

constexpr const char* update_handler_error_type = "UpdateHandlerError";
constexpr const char* update_rejected_type = "UpdateRejected";

// One accepted update: runs the handler (copied here: the frame owns it), then records the
// outcome with `record`.
task<void> run_update(workflow_context::update_handler handler, json args, std::string update_id,
                      std::function<void(pb::Command)> record) {
  pb::Command command;
  auto* complete = command.mutable_complete_workflow_update();
  complete->set_update_id(update_id);
  try {
    auto body = handler(std::move(args));
    json result = co_await body;
    *complete->mutable_result() = to_payload(result);
  } catch (const application_error& e) {
    *complete->mutable_failure() = e.to_failure();
  } catch (const std::exception& e) {
    *complete->mutable_failure() = worker_failure(update_handler_error_type, e.what());
  }
  record(std::move(command));
}

}  // namespace

void replay_machine::deliver_updates(int index) {
  const int n = history_.size();
  // The task starting here, if it completed: its command events follow its WorkflowTaskCompleted
  // and end before the next WorkflowTaskStarted.
  int completed = index + 1;
  while (completed < n && history_[completed].event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED &&
         history_[completed].event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_STARTED)
    ++completed;
  if (completed < n && history_[completed].event_type() == pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED) {
    for (int k = completed + 1;
         k < n && history_[k].event_type() != pb::EVENT_TYPE_WORKFLOW_TASK_STARTED; ++k) {
      if (!history_[k].has_workflow_execution_update_accepted()) continue;
      const auto& a = history_[k].workflow_execution_update_accepted();
      pb::UpdateRequest request;
      request.set_update_id(a.update_id());
      request.set_name(a.name());
      *request.mutable_input() = a.input();
      request.set_identity(a.identity());
      start_update(request, false);
    }
  }
  if (index == n - 1) {
    auto requests = std::exchange(requests_, {});
    for (const auto& request : requests) start_update(request, true);
  }
}

void replay_machine::start_update(const pb::UpdateRequest& request, bool validate) {
  if (accepted_updates_.count(request.update_id())) return;  // delivered before
  auto reject = [&](pb::Failure failure) {
    pb::UpdateRejection rejection;
    rejection.set_update_id(request.update_id());
    *rejection.mutable_failure() = std::move(failure);
    rejections_.push_back(std::move(rejection));
  };
  auto it = ctx_.update_handlers_.find(request.name());
  if (it == ctx_.update_handlers_.end()) {
    // On replay no command follows: the accepted event then fails as non-determinism.
    if (validate)
      reject(worker_failure(update_rejected_type, "unknown update '" + request.name() +
                                                      "' (known: " +
                                                      join_names(ctx_.update_names()) + ")"));
    return;
  }
  if (finished_) {
    if (validate)
      reject(worker_failure(update_rejected_type, "the workflow code has already returned"));
    return;
  }
  json args;
  try {
    args = from_payload(request.input());
  } catch (const payload_error& e) {
    if (validate) reject(worker_failure(payload_error_type, std::string("update input: ") + e.what()));
    return;
  }
  if (validate && it->second.validator) {
    try {
      it->second.validator(args);
    } catch (const application_error& e) {
      reject(e.to_failure());
      return;
    } catch (const std::exception& e) {
      reject(worker_failure(update_rejected_type, e.what()));
      return;
    }
  }
  accepted_updates_.insert(request.update_id());
  pb::Command accept;
  auto* a = accept.mutable_accept_workflow_update();
  a->set_update_id(request.update_id());
  a->set_name(request.name());
  *a->mutable_input() = request.input();
  a->set_identity(request.identity());
  ctx_.add_command(std::move(accept), nullptr);
  update_tasks_.push_back(run_update(it->second.handler, std::move(args), request.update_id(),
                                     [this](pb::Command c) { ctx_.add_command(std::move(c), nullptr); }));
  update_tasks_.back().start();
  check_finished();
}

}  // namespace chronicle::sdk::detail
