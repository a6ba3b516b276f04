// The test environment's insides (environment.hpp says what it does): each workflow's state and
// history as decide leaves them, the records a node would act on, the virtual clock they share.
// environment.cpp: the loop, time skipping and the client calls; environment_tasks.cpp:
// answering workflow and activity tasks, updates; environment_children.cpp: child workflows,
// messages between the workflows, parent close policies.
#pragma once

#include <deque>
#include <map>
#include <memory>

#include "shards/decide.hpp"
#include "worker/sdk/testing/environment.hpp"

namespace chronicle::sdk::testing {

// What the workflows of one environment share: the virtual clock, the test's callbacks and the
// executions themselves (the one execute started first, then its children in initiation order),
// so that a workflow can signal or cancel another and a parent's close reaches its children.
struct environment::world {
  explicit world(int64_t start) : now(start) {}
  int64_t now;
  std::multimap<int64_t, std::function<void()>> callbacks;  // by virtual time, in order added
  std::vector<impl*> executions;
  std::vector<std::unique_ptr<environment>> children;  // the children's executions, owned here

  // The execution of `workflow_id` (the latest one of that ID), or null.
  impl* find(const std::string& workflow_id) const;
};

struct environment::impl {
  struct pending_update {
    pb::UpdateRequest request;
    std::shared_ptr<update_outcome> outcome;
  };

  // A workflow of its own world (execute's), or one more in `shared` (a child).
  impl(const registry& r, int64_t start, world* shared = nullptr)
      : reg(r), start_ms(start), own(shared ? nullptr : std::make_unique<world>(start)),
        w(shared ? *shared : *own), now(w.now), callbacks(w.callbacks) {
    w.executions.push_back(this);
  }

  // Starts the run (WorkflowExecutionStarted): empty, or why it was refused. `parent` (a child's)
  // may be null.
  std::string start(const std::string& type, const json& input, const start_options& options,
                    const pb::ParentInfo* parent, pb::ParentClosePolicy policy);
  // The loop over every execution of the world until this one closed (and the others closed or
  // cannot move), or the environment stops.
  workflow_outcome run_until_closed();
  // One pending record of any execution dispatched; false when none is left.
  bool dispatch_one();
  // The first execution's stop, as the environment reports it ("child workflow 'id': ..." for a
  // child's); empty when none stopped.
  std::string world_error() const;

  // decide at `now`; the transition is taken, a rejection returned (nothing changed).
  std::optional<rejection> step(const decide_input& in);
  void take(transition& t);
  void start_next_run(transition& next);
  // What a node does with each record: tasks run at once, others are out of reach.
  void dispatch(const pb::TransferRecord& r);
  void run_workflow_task(const pb::TransferRecord& r);
  void run_activity_task(const pb::TransferRecord& r);
  // A child workflow starts in this world (environment_children.cpp); its close reaches the
  // parent (PARENT_NOTIFY), the parent's close reaches it (CHILD_POLICY).
  void run_child(const pb::TransferRecord& r);
  void notify_parent();
  void apply_close_policy(const pb::TransferRecord& r);
  // A signal / cancel request to another workflow of the world, answered to this one at once.
  void deliver_external(const pb::TransferRecord& r);
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
  std::unique_ptr<world> own;  // execute's execution owns the world
  world& w;
  int64_t& now;
  std::multimap<int64_t, std::function<void()>>& callbacks;
  std::string label;  // a child's: "child workflow 'id'" (its stop is reported with it)
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
