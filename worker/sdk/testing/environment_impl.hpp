// The test environment's insides (environment.hpp says what it does): the run's state and
// history as decide leaves them, the records a node would act on, the virtual clock.
// environment.cpp: the loop, time skipping and the client calls; environment_tasks.cpp:
// answering workflow and activity tasks, updates; environment_children.cpp: child workflows.
#pragma once

#include <deque>
#include <map>

#include "shards/decide.hpp"
#include "worker/sdk/testing/environment.hpp"

namespace chronicle::sdk::testing {

struct environment::impl {
  struct pending_update {
    pb::UpdateRequest request;
    std::shared_ptr<update_outcome> outcome;
  };

  impl(const registry& r, int64_t start) : reg(r), start_ms(start), now(start) {}

  // decide at `now`; the transition is taken, a rejection returned (nothing changed).
  std::optional<rejection> step(const decide_input& in);
  void take(transition& t);
  void start_next_run(transition& next);
  // What a node does with each record: tasks run at once, others are out of reach.
  void dispatch(const pb::TransferRecord& r);
  void run_workflow_task(const pb::TransferRecord& r);
  void run_activity_task(const pb::TransferRecord& r);
  // A child workflow runs to its close in an environment of its own (environment_children.cpp).
  void run_child(const pb::TransferRecord& r);
  pb::WorkflowTask workflow_task() const;
  void answer_workflow_task(int64_t scheduled_event_id, const pb::RespondWorkflowTaskCompleted& r);
  // Updates whose outcome the run's state (or its close) now tells.
  void settle_updates();
  // The clock jumps to the next timer or callback and it runs; false when there is none.
  bool advance();
  void fire(const pb::TimerRecord& timer);
  workflow_outcome outcome() const;
  pb::TaskToken token(int64_t scheduled_event_id, int32_t attempt) const;

  const registry& reg;
  registry mocks;
  const int64_t start_ms;
  int64_t now;
  std::multimap<int64_t, std::function<void()>> callbacks;  // by virtual time, in order added
  pb::MutableState state;
  std::vector<pb::HistoryEvent> history;
  std::deque<pb::TransferRecord> transfers;
  std::vector<pb::TimerRecord> timers;
  std::vector<pending_update> updates;
  std::string workflow_type;
  std::string workflow_id;
  std::string run_id = "test-run-1";
  std::string first_run_id;  // the run execute started (the next runs are named after it)
  int runs = 1;              // continue-as-new starts one more
  std::string error;  // set: the environment stops
  bool started = false;
  int workflow_tasks = 0;
  int update_ids = 0;
};

inline constexpr const char* test_identity = "test-environment";
inline constexpr const char* test_namespace = "default";
// A workflow still asking for workflow tasks after this many is taken to run forever.
inline constexpr int max_workflow_tasks = 100'000;

}  // namespace chronicle::sdk::testing
