// The sticky cache: see workflow_cache.hpp for the contract.
#include "worker/sdk/workflow_cache.hpp"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "worker/sdk/history_check.hpp"
#include "worker/sdk/replay_machine.hpp"

namespace chronicle::sdk {

// One cached run. Its machine reads `events` (a list node: its address is stable).
struct workflow_cache::entry {
  std::string key;
  std::string workflow_type;
  google::protobuf::RepeatedPtrField<pb::HistoryEvent> events;
  std::unique_ptr<detail::replay_machine> machine;  // null: replay `events` at the next task
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
    // A failed task leaves the code in an unknown state: the next task replays the events.
    if (!std::holds_alternative<pb::RespondWorkflowTaskCompleted>(result)) e->machine.reset();
    else if (e->machine && e->machine->finished()) drop(key);  // the run is closing
  }
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++stats_.evicted;
  }
  return result;
}

}  // namespace chronicle::sdk
