// The replay machine: runs a workflow function against its history, one event at a time.
// Internal to the SDK (namespace detail); run_workflow_task, workflow_cache and run_query drive it.
//
// Contract (the rules themselves are the ones run_workflow_task states in workflow_task.hpp):
//  - REQUIRES: `history` passed validate_history (history_check.hpp), and `history`, `fn` and the
//    machine's own address stay put while the machine lives (the coroutine frames point into it).
//  - run() applies every event from the first and returns the commands produced but not
//    recorded in history, in order. It throws task_failure (invalid history, undecodable input,
//    workflow code that threw something other than the ways a workflow ends) or
//    nondeterminism_error; after a throw the machine must be dropped.
//  - resume() is for a history that grew by appending (the next workflow task's events): when
//    the workflow task answered last completed, it applies only the new events and returns the
//    same commands a run() over the whole history would; otherwise nullopt, and the machine
//    must be dropped (replay from the start with a new one). Throws as run() does.
//  - finished(): the workflow code returned or threw; no later task can continue it.
//  - context(): after run(), the query handlers the code registered.
//  - Deterministic: no threads, clocks or randomness; "now" is the effective task's event time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/history_check.hpp"
#include "worker/sdk/local_activity.hpp"
#include "worker/sdk/registry.hpp"
#include "worker/sdk/workflow_context.hpp"

namespace chronicle::sdk::detail {

// Member order matters: ctx_ outlives root_, whose coroutine frames hold awaitables pointing
// into ctx_.
class replay_machine {
 public:
  // `history` is read at every run/resume; it may grow (by appending) between them.
  replay_machine(const history_t& history, const pb::TaskToken& token, std::string workflow_type,
                 const workflow_fn& fn);

  const workflow_context& context() const { return ctx_; }
  // Workflow Update: the updates the task being answered carries (run/resume deliver them at its
  // WorkflowTaskStarted, validators first), and the ones rejected there (taken once).
  void set_update_requests(std::vector<pb::UpdateRequest> requests) {
    requests_ = std::move(requests);
  }
  std::vector<pb::UpdateRejection> take_rejections() { return std::exchange(rejections_, {}); }
  std::vector<pb::Command> run();
  std::optional<std::vector<pb::Command>> resume();
  bool finished() const { return finished_; }

  // Local activities of the task being answered (replay_machine_local.cpp), after run()/resume():
  // the ones the code waits for and nobody runs yet (marked taken: a worker runs them); whether
  // the code still waits for one taken (not canceled, code not finished); an outcome recorded
  // (its marker, and a timer when it falls back to one) and the code resumed there. Throws as
  // run() does (the code runs).
  std::vector<local_activity_request> take_local_activities();
  bool wants_local_activity(const std::string& activity_id) const;
  void deliver_local_activity(const local_activity_outcome& outcome);
  // The commands produced but not recorded in history, in order (what run() returned, grown by
  // local activity outcomes).
  std::vector<pb::Command> pending_commands() const { return unrecorded(); }

 private:
  struct timer_entry {
    operation* op;
    std::string timer_id;
  };

  // History side (replay_machine.cpp): events applied in order, commands matched to them.
  std::vector<pb::Command> unrecorded() const;
  void index_tasks(int from);
  void scan_markers(int from);
  void apply(int index, json& input);
  void check_recorded();
  void match(const pb::HistoryEvent& event);
  static bool same(const pb::HistoryEvent& event, const pb::Command& command);
  operation* activity_of(const pb::HistoryEvent& event, int64_t scheduled_event_id);
  operation* child_of(const pb::HistoryEvent& event, int64_t initiated_event_id);
  operation* timer_of(const pb::HistoryEvent& event);
  operation* external_of(const pb::HistoryEvent& event, int64_t initiated_event_id);
  void resolve_external(const pb::HistoryEvent& event, int64_t initiated_event_id,
                        const std::string* cause, const std::string& message);
  // Local activities (replay_machine_local.cpp): a LocalActivity marker in history that is not the
  // echo of a command of this machine delivers its outcome (replay); the outcome's commands.
  bool is_own_marker(const pb::HistoryEvent& event) const;
  void apply_local_marker(const pb::HistoryEvent& event);
  void record_local_outcome(operation* op, const local_activity_outcome& outcome, bool replay);
  operation* local_activity_op(const std::string& activity_id) const;

  // Code side (replay_machine_code.cpp): starting, resuming and ending the workflow coroutine.
  void start(json input);
  void check_finished();
  void finish(const std::function<json()>& outcome);
  void resolve(operation* op);
  void check_conditions(int index);
  void cancel_linked_timer(int index, operation* timer);
  void deliver_signal(const std::string& name, const pb::Payload& input);
  void mark_canceled(operation* op);
  void cancel_workflow(int index, const std::string& reason);
  // Cancels every unresolved operation `reached` selects (commands, dropped unsent commands),
  // then resumes the code waiting on those it canceled.
  void cancel_operations(int index, const std::function<bool(const operation&)>& reached,
                         const std::string& message);
  // One operation; false when it stays pending (a message already sent, a child whose
  // cancellation was requested: its close event resolves it).
  bool cancel_one(int index, operation* op, const std::string& message);
  // A child's cancellation: RequestCancelExternalWorkflowExecution once it started.
  void cancel_child(operation* op);
  // An activity of type wait_cancellation_completed: asked to cancel, awaited on (returns false).
  bool cancel_and_wait(int index, operation* op, const std::string& message);
  void cancel_scope(scope_state* scope);
  bool resolved_in_batch(int index, const operation& op) const;
  void drop_unsent_command(operation* op);
  // Workflow Update (replay_machine_update.cpp): at the effective WorkflowTaskStarted `index`,
  // the updates its task accepted (from history) and, for the task being answered, the requests.
  void deliver_updates(int index);
  void start_update(const pb::UpdateRequest& request, bool validate);

  const history_t& history_;
  const workflow_fn& fn_;
  workflow_context ctx_;
  task<json> root_;
  std::vector<task<void>> update_tasks_;  // one per accepted update: its handler, then the outcome
  std::vector<pb::UpdateRequest> requests_;
  std::vector<pb::UpdateRejection> rejections_;
  std::set<std::string> accepted_updates_;
  std::vector<int> task_of_;      // index of the effective WorkflowTaskStarted of each event
  std::vector<bool> effective_;
  bool started_ = false;
  bool finished_ = false;
  int applied_ = 0;               // events applied so far
  size_t matched_ = 0;            // commands matched by history events so far
  size_t produced_by_task_ = 0;   // commands produced up to the last effective WorkflowTaskStarted
  size_t must_match_ = 0;
  std::optional<int64_t> pending_check_;  // WorkflowTaskCompleted whose commands are being matched
  std::map<int64_t, operation*> activities_;  // by ActivityTaskScheduled event id
  std::map<int64_t, timer_entry> timers_;     // by TimerStarted event id
  std::map<int64_t, operation*> children_;    // by StartChildWorkflowExecutionInitiated event id
  std::map<int64_t, operation*> externals_;   // by Signal/RequestCancelExternal...Initiated id
  std::vector<std::unique_ptr<operation>> internal_ops_;  // a child's cancel request
  int current_index_ = 0;                     // the event being applied (code runs "at" it)
  int64_t task_time_ms_ = 0;  // event time of the last effective WorkflowTaskStarted applied
};

}  // namespace chronicle::sdk::detail
