// Local activities (Temporal's): an activity function run by the worker inside the workflow task
// instead of being scheduled on the server; its outcome is recorded as a "LocalActivity" marker.
// The options (local_activity_options) are in workflow_context.hpp; this is internal to the SDK.
//
// Contract:
//  - Marker (Temporal's name "LocalActivity"): details "activity_id" (JSON string, "1", "2", ...
//    per run in call order), "activity_type", "attempt" (the last attempt run, 0 when none),
//    "scheduled_time_ms" (the first attempt's start, worker clock), on success "data" (the
//    result payload), and "backoff_ms" (> 0: not over, the next attempt runs when a timer of
//    that length fires); the marker's failure is the last attempt's failure (the final one
//    when backoff_ms is 0 and there is no "data").
//  - next_step: after a failed attempt, what the retry policy says (the server's defaults for
//    zero fields: initial 1 s, coefficient 2, maximum 100 x initial, unlimited attempts):
//    fail (non-retryable failure or type, attempts used up, the schedule-to-close deadline
//    before the next attempt), retry here (backoff <= local_retry_threshold and the next attempt
//    starts before the task's deadline), else retry on a durable timer.
//  - local_activity_session: the local activities of one open workflow task, as a pure state
//    machine over times the caller passes in (ms, one clock); see its members.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/sdk/workflow_context.hpp"
#include "worker/sdk/workflow_task.hpp"

namespace chronicle::sdk {

class registry;
struct activity_control;
class workflow_cache;

namespace detail {

inline constexpr const char* local_activity_marker_name = "LocalActivity";

// An attempt of a local activity to run.
struct local_activity_request {
  std::string workflow_id;
  std::string run_id;
  std::string activity_id;
  std::string activity_type;
  pb::Payload input;
  local_activity_options options;
  int32_t attempt = 1;            // the attempt to run next
  int64_t scheduled_time_ms = 0;  // the first attempt's start (0: not started yet)
  pb::Failure last_failure;       // of the attempt before (fallback timer)
};

// What is recorded in a marker (see the contract).
struct local_activity_outcome {
  std::string activity_id;
  std::string activity_type;
  int32_t attempt = 0;
  bool completed = false;
  pb::Payload result;
  pb::Failure failure;
  int64_t backoff_ms = 0;
  int64_t scheduled_time_ms = 0;
};

pb::Command local_activity_marker(const local_activity_outcome& outcome);
// The marker's outcome; nullopt when it is not a well-formed LocalActivity marker.
std::optional<local_activity_outcome> local_activity_of(
    const pb::MarkerRecordedEventAttributes& marker);

struct retry_step {
  enum kind_t { fail, retry_here, retry_on_timer } kind = fail;
  int64_t backoff_ms = 0;
};
retry_step next_step(const local_activity_request& request, const pb::Failure& failure,
                     int64_t now_ms, int64_t task_deadline_ms);

// A local activity's operation state in the replay machine.
struct local_activity_state {
  enum phase_t { ready, taken, waiting_timer } phase = ready;  // taken: a worker runs it
  local_activity_request request;
  operation* timer = nullptr;  // waiting_timer: the fallback timer
};

// One attempt's outcome: ok with result, or failed with failure.
struct attempt_result {
  bool ok = false;
  pb::Payload result;
  pb::Failure failure;
};

// Runs one attempt on the calling thread with run_activity_task's rules (activity_runner.hpp);
// a function that asks for asynchronous completion fails (not offered for local activities).
attempt_result run_local_attempt(const registry& reg, const local_activity_request& request,
                                 const std::string& identity,
                                 std::shared_ptr<activity_control> control);

// The local activities of one open workflow task. Times are ms of one clock; `task_deadline_ms`
// is when the task must be answered (its budget).
class local_activity_session {
 public:
  explicit local_activity_session(int64_t task_deadline_ms) : deadline_(task_deadline_ms) {}

  // Requests the code made (taken from the replay machine): each attempt is due at once.
  void add(std::vector<local_activity_request> requests, int64_t now_ms);
  // The attempts due by now, marked running (their scheduled_time set at the first attempt).
  std::vector<local_activity_request> start_due(int64_t now_ms);
  // An attempt ended: the outcome to record, or nullopt when it is retried here (or was not
  // the current attempt: timed out meanwhile). A result after its attempt's deadline is a
  // timeout.
  std::optional<local_activity_outcome> finish(const std::string& activity_id, int32_t attempt,
                                               const attempt_result& result, int64_t now_ms);
  // Running attempts past their deadline fail (TimeoutError; their IDs go to *timed_out for the
  // caller to tell the functions); at the task's deadline every waiting retry and every new
  // request moves to a timer. Returns the outcomes to record.
  std::vector<local_activity_outcome> expire(int64_t now_ms, std::vector<std::string>* timed_out);
  // The code no longer waits for it (canceled): forgotten.
  void forget(const std::string& activity_id) { entries_.erase(activity_id); }
  bool busy() const { return !entries_.empty(); }
  std::vector<std::string> ids() const;
  // When the caller must look again (a retry due, an attempt's deadline, the task's deadline).
  int64_t next_wakeup() const;
  int64_t deadline() const { return deadline_; }

 private:
  struct entry {
    local_activity_request request;
    bool running = false;
    int64_t due_ms = 0;       // waiting: when the attempt starts
    int64_t attempt_deadline_ms = 0;  // running: when it times out
  };
  std::optional<local_activity_outcome> failed(entry& e, const pb::Failure& failure,
                                               int64_t now_ms);
  static local_activity_outcome outcome_of(const entry& e);

  int64_t deadline_;
  std::map<std::string, entry> entries_;  // by activity ID
};

}  // namespace detail

// A clock for run_workflow_task_inline (ms); defaults: the system clock and a real sleep.
struct local_clock {
  std::function<int64_t()> now;
  std::function<void(int64_t until_ms)> sleep_until;
};

// Answers a workflow task with its local activities run on the calling thread, one attempt after
// the other (tests, the time-skipping environment; the worker runs them on their own threads):
// the task through `cache` (run), then the local activity session until its answer is final.
// An attempt cannot be interrupted here: one that returns after its deadline counts as timed out.
// The task's budget is 80 % of task_timeout_ms from its start. The local activities' functions
// come from `activities` when given (e.g. mocks), else from `reg`.
workflow_task_result run_workflow_task_inline(workflow_cache& cache, const registry& reg,
                                              pb::WorkflowTask task, const std::string& identity,
                                              int64_t task_timeout_ms,
                                              const local_clock& clock = {},
                                              const registry* activities = nullptr);

}  // namespace chronicle::sdk
