// run_workflow_task_inline: a workflow task with its local activities on the calling thread. See
// local_activity.hpp.
#include <chrono>
#include <thread>
#include <utility>

#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/registry.hpp"
#include "worker/sdk/workflow_cache.hpp"

namespace chronicle::sdk {

namespace {

local_clock with_defaults(local_clock clock) {
  if (!clock.now)
    clock.now = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  if (!clock.sleep_until)
    clock.sleep_until = [now = clock.now](int64_t until) {
      int64_t wait = until - now();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    };
  return clock;
}

}  // namespace

workflow_task_result run_workflow_task_inline(workflow_cache& cache, const registry& reg,
                                              pb::WorkflowTask task, const std::string& identity,
                                              int64_t task_timeout_ms, const local_clock& given,
                                              const registry* activities) {
  const local_clock clock = with_defaults(given);
  const pb::TaskToken token = task.token();
  const int64_t start = clock.now();
  auto first = cache.run(reg, std::move(task), identity);
  auto* completed = std::get_if<pb::RespondWorkflowTaskCompleted>(&first);
  if (!completed) return first;
  auto requests = cache.take_local_activities(token);
  if (requests.empty()) return first;  // no local activity: the answer is final
  detail::local_activity_session session(start + task_timeout_ms * 8 / 10);
  session.add(std::move(requests), clock.now());
  auto deliver = [&](const detail::local_activity_outcome& o) {
    return cache.deliver_local_activity(token, o, identity);
  };
  for (;;) {
    session.add(cache.take_local_activities(token), clock.now());
    for (const auto& id : session.ids())
      if (!cache.wants_local_activity(token, id)) session.forget(id);  // canceled
    if (!session.busy()) break;
    bool progress = false;
    for (const auto& outcome : session.expire(clock.now(), nullptr)) {
      progress = true;
      if (auto failed = deliver(outcome)) return *failed;
    }
    for (const auto& request : session.start_due(clock.now())) {
      progress = true;
      if (!cache.wants_local_activity(token, request.activity_id)) continue;
      auto result = detail::run_local_attempt(activities ? *activities : reg, request, identity,
                                              nullptr);
      if (auto outcome = session.finish(request.activity_id, request.attempt, result, clock.now()))
        if (auto failed = deliver(*outcome)) return *failed;
    }
    if (!progress) clock.sleep_until(session.next_wakeup());
  }
  return cache.finish_local(token, identity, *completed);
}

}  // namespace chronicle::sdk
