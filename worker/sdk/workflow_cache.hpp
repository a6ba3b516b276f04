// A worker's cache of workflow runs (Temporal's sticky cache). Per run it keeps the history seen
// so far and the replay machine that answered the run's last workflow task, i.e. the workflow
// code suspended where that task left it. A workflow task that carries only the events after the
// cached ones (first_event_id > 1) is then answered by applying those events to the machine,
// instead of replaying the run from its first event.
//
// Contract: run() gives the result run_workflow_task (workflow_task.hpp) gives for the whole
// history:
//  - a task with the whole history (first_event_id 0 or 1) replaces what is cached for its run
//    and is answered as by run_workflow_task;
//  - a task whose events follow the cached ones: when the last task answered here completed (its
//    WorkflowTaskCompleted is among the new events), the machine goes on from there ("resumed");
//    otherwise (it failed, timed out, or was answered with a failure) the cached and new events
//    are replayed from the start ("replayed");
//  - a task whose events do not follow the cached ones (can_answer is false: nothing cached, an
//    evicted run, a task missed) fails with InvalidHistory: ask the server for the whole history
//    first.
// A run is dropped once its code has finished (its last task closes it); beyond `capacity` runs
// the least recently used is evicted (0: nothing is kept). Not thread-safe: one caller at a time.
//
// Local activities (local_activity.hpp): when the code of a completed run() waits for local
// activities, its answer is not final: the run is kept (never evicted, whatever the capacity)
// until finish_local or abandon_local. take_local_activities gives the requests nobody runs yet;
// deliver_local_activity records an outcome and resumes the code (a failure answer when the code
// threw: the run's code is then dropped); finish_local gives the task's answer with every command
// produced so far; abandon_local drops the run's code (the task is given up: a newer task of the
// run arrived).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "protocol/messages.hpp"
#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/registry.hpp"
#include "worker/sdk/workflow_task.hpp"

namespace chronicle::sdk {

namespace detail {
class replay_machine;
}

class workflow_cache {
 public:
  struct counters {
    uint64_t full = 0;      // tasks with the whole history
    uint64_t resumed = 0;   // tasks with new events, applied to the cached machine
    uint64_t replayed = 0;  // tasks with new events, replayed with the cached ones from the start
    uint64_t evicted = 0;   // runs evicted for capacity
  };

  explicit workflow_cache(size_t capacity);
  ~workflow_cache();
  workflow_cache(const workflow_cache&) = delete;
  workflow_cache& operator=(const workflow_cache&) = delete;

  bool can_answer(const pb::WorkflowTask& task) const;
  workflow_task_result run(const registry& reg, pb::WorkflowTask task, const std::string& identity);
  size_t size() const { return lru_.size(); }

  std::vector<detail::local_activity_request> take_local_activities(const pb::TaskToken& token);
  bool wants_local_activity(const pb::TaskToken& token, const std::string& activity_id) const;
  std::optional<pb::RespondWorkflowTaskFailed> deliver_local_activity(
      const pb::TaskToken& token, const detail::local_activity_outcome& outcome,
      const std::string& identity);
  workflow_task_result finish_local(const pb::TaskToken& token, const std::string& identity,
                                    const pb::RespondWorkflowTaskCompleted& first);
  void abandon_local(const pb::TaskToken& token);
  const counters& stats() const { return stats_; }

 private:
  struct entry;
  void drop(const std::string& key);
  entry* find(const pb::TaskToken& token) const;
  void evict();

  size_t capacity_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  counters stats_;
};

}  // namespace chronicle::sdk
