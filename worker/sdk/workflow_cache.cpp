// The sticky cache: see workflow_cache.hpp for the contract.
#include "worker/sdk/workflow_cache.hpp"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/history_check.hpp"
#include "worker/sdk/replay_machine.hpp"

namespace chronicle::sdk {

// One cached run. Its machine reads `events` (a list node: its address is stable).
struct workflow_cache::entry {
  std::string key;
  std::string workflow_type;
  google::protobuf::RepeatedPtrField<pb::HistoryEvent> events;
  std::unique_ptr<detail::replay_machine> machine;  // null: replay `events` at the next task
  bool pinned = false;  // its task waits for local activities: never evicted
  std::vector<detail::local_activity_request> local;  // taken from the machine, not handed out
  int64_t last_event_id() const { return events.empty() ? 0 : events.rbegin()->event_id(); }
};

workflow_cache::workflow_cache(size_t capacity) : capacity_(capacity) {}
workflow_cache::~workflow_cache() = default;

namespace {
std::string cache_key(const pb::TaskToken& token) {
  return token.workflow_id() + '\0' + token.run_id();
}
}  // namespace

bool workflow_cache::can_answer(const pb::WorkflowTask& task) const {
  if (task.first_event_id() <= 1) return true;
  auto it = index_.find(cache_key(task.token()));
  return it != index_.end() && it->second->last_event_id() + 1 == task.first_event_id();
}

void workflow_cache::drop(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

workflow_task_result workflow_cache::run(const registry& reg, pb::WorkflowTask task,
                                         const std::string& identity) {
  const std::string key = cache_key(task.token());
  entry* e = nullptr;
  std::vector<pb::UpdateRejection> rejections;
  std::vector<pb::UpdateRequest> requests(task.updates().begin(), task.updates().end());
  // Runs the machine (run or resume) with the task's updates; keeps its rejections.
  auto answer = [&](detail::replay_machine& m, bool resume) -> std::optional<std::vector<pb::Command>> {
    m.set_update_requests(requests);
    auto commands = resume ? m.resume() : std::optional<std::vector<pb::Command>>(m.run());
    rejections = m.take_rejections();
    return commands;
  };
  auto result = detail::answer_task(task.token(), identity, [&]() -> std::vector<pb::Command> {
    if (task.first_event_id() <= 1) {  // the whole history: whatever was cached is replaced
      drop(key);
      std::string workflow_type = detail::validate_history(task);
      const workflow_fn& fn = detail::find_workflow(reg, workflow_type);
      lru_.emplace_front();
      index_[key] = lru_.begin();
      e = &lru_.front();
      e->key = key;
      e->workflow_type = std::move(workflow_type);
      e->events.Swap(task.mutable_history());
      ++stats_.full;
      e->machine = std::make_unique<detail::replay_machine>(e->events, task.token(),
                                                             e->workflow_type, fn);
      return *answer(*e->machine, false);
    }
    auto it = index_.find(key);
    if (it == index_.end() || it->second->last_event_id() + 1 != task.first_event_id())
      detail::invalid_history("the task carries the events from " +
                              std::to_string(task.first_event_id()) +
                              " on, but this worker holds no earlier events of the run");
    lru_.splice(lru_.begin(), lru_, it->second);  // most recently used first
    entry& cached = *it->second;
    if (task.history_size() == 0 || task.history(0).event_id() != task.first_event_id())
      detail::invalid_history("the task's first event is not its first_event_id " +
                              std::to_string(task.first_event_id()));
    if (!task.workflow_type().empty() && task.workflow_type() != cached.workflow_type)
      detail::invalid_history("the task's workflow type '" + task.workflow_type() +
                              "' differs from the cached run's '" + cached.workflow_type + "'");
    detail::validate_events(task.history(), 0, cached.last_event_id(), task.started_event_id());
    const workflow_fn& fn = detail::find_workflow(reg, cached.workflow_type);
    e = &cached;  // from here on the code runs: a failure leaves it in an unknown state
    for (auto& event : *task.mutable_history()) e->events.Add(std::move(event));
    if (e->machine && !e->machine->finished()) {
      if (auto commands = answer(*e->machine, true)) {
        ++stats_.resumed;
        return std::move(*commands);
      }
    }
    ++stats_.replayed;  // the last task answered here did not complete: replay from the start
    e->machine = std::make_unique<detail::replay_machine>(e->events, task.token(),
                                                           e->workflow_type, fn);
    return *answer(*e->machine, false);
  }, &rejections);
  if (e) {
    e->pinned = false;
    // A failed task leaves the code in an unknown state: the next task replays the events.
    if (!std::holds_alternative<pb::RespondWorkflowTaskCompleted>(result)) {
      e->machine.reset();
    } else if (e->machine && e->machine->finished()) {
      drop(key);  // the run is closing
    } else if (e->machine) {
      e->local = e->machine->take_local_activities();
      e->pinned = !e->local.empty();  // the answer waits for them
    }
  }
  evict();
  return result;
}

void workflow_cache::evict() {
  for (auto it = lru_.end(); lru_.size() > capacity_ && it != lru_.begin();) {
    --it;
    if (it->pinned) continue;
    index_.erase(it->key);
    it = lru_.erase(it);
    ++stats_.evicted;
  }
}

workflow_cache::entry* workflow_cache::find(const pb::TaskToken& token) const {
  auto it = index_.find(cache_key(token));
  return it == index_.end() || !it->second->machine ? nullptr : &*it->second;
}

std::vector<detail::local_activity_request> workflow_cache::take_local_activities(
    const pb::TaskToken& token) {
  entry* e = find(token);
  if (!e) return {};
  auto out = std::exchange(e->local, {});
  for (auto& r : e->machine->take_local_activities()) out.push_back(std::move(r));
  return out;
}

bool workflow_cache::wants_local_activity(const pb::TaskToken& token,
                                          const std::string& activity_id) const {
  entry* e = find(token);
  return e && e->machine->wants_local_activity(activity_id);
}

std::optional<pb::RespondWorkflowTaskFailed> workflow_cache::deliver_local_activity(
    const pb::TaskToken& token, const detail::local_activity_outcome& outcome,
    const std::string& identity) {
  entry* e = find(token);
  if (!e) return std::nullopt;
  auto result = detail::answer_task(token, identity, [&] {
    e->machine->deliver_local_activity(outcome);
    return std::vector<pb::Command>{};
  });
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result)) {
    abandon_local(token);
    return *failed;
  }
  return std::nullopt;
}

workflow_task_result workflow_cache::finish_local(const pb::TaskToken& token,
                                                  const std::string& identity,
                                                  const pb::RespondWorkflowTaskCompleted& first) {
  entry* e = find(token);
  if (!e) {  // dropped meanwhile: the task's attempt fails and the next one replays
    pb::RespondWorkflowTaskFailed failed;
    *failed.mutable_token() = token;
    *failed.mutable_failure() = worker_failure(workflow_task_error_type,
                                               "the run's code was dropped from the cache");
    failed.set_identity(identity);
    return failed;
  }
  pb::RespondWorkflowTaskCompleted done = first;
  done.clear_commands();
  for (auto& command : e->machine->pending_commands()) *done.add_commands() = std::move(command);
  e->pinned = false;
  if (e->machine->finished()) drop(e->key);
  evict();
  return done;
}

void workflow_cache::abandon_local(const pb::TaskToken& token) {
  auto it = index_.find(cache_key(token));
  if (it == index_.end()) return;
  it->second->machine.reset();
  it->second->local.clear();
  it->second->pinned = false;
  evict();
}

}  // namespace chronicle::sdk
