// workflow_context: what workflow code sees of the world. Every method is deterministic: the
// commands it records and the values it returns depend only on the history being replayed.
//
// Contract:
//  - activity(type, input, task_queue) records a ScheduleActivityTask command *when called*
//    (activity_id "1", "2", ... in call order) and returns an awaitable; `co_await` on it yields
//    the activity's JSON result, or throws activity_failure when the activity failed. Calling
//    several activities before awaiting them runs them in parallel.
//    activity(type, input, options) does the same with timeouts and a retry policy (see
//    activity_options); only the options' task queue, not the other options, must stay the same
//    across code versions (they are not checked on replay).
//  - sleep(d) records a StartTimer command (timer_id "1", "2", ... in call order); `co_await`
//    returns when the timer fired. A zero duration is ready at once and records nothing; a
//    negative one throws std::invalid_argument.
//  - Signals: every WorkflowExecutionSignaled of the history is delivered in history order to the
//    oldest pending wait_signal(name) of its name, else kept in a queue per name until the code
//    asks for it. wait_signal(name) takes the next signal of that name *when called* (from the
//    queue, or the next one to arrive); `co_await` yields its JSON input (payload_error when it
//    is not JSON). poll_signal(name) takes the next queued signal without waiting (nullopt if none).
//  - Cancellation: when the history records WorkflowExecutionCancelRequested, cancel_requested()
//    becomes true and every activity, timer and signal wait not yet resolved is canceled: its
//    `co_await` throws canceled_error, RequestCancelActivityTask / CancelTimer commands are recorded
//    for activities / timers the server knows (those whose result is not already in the history
//    the task carries), and the commands of ones not yet sent are dropped. A started child gets
//    RequestCancelExternalWorkflowExecution (an initiated one once ChildWorkflowExecutionStarted
//    arrives) and its await goes on until the child closes; a signal / cancel request to another
//    workflow already sent is delivered anyway. Operations created after the request are canceled
//    at once (no command). An activity's options choose what its cancellation does once the server
//    knows it (activity_cancellation_type): the above is try_cancel (the default);
//    wait_cancellation_completed sends RequestCancelActivityTask but its await ends only with the
//    activity's recorded outcome (canceled_error once ActivityTaskCanceled is recorded, or its
//    result, failure or timeout); abandon sends nothing and throws canceled_error at once (the
//    activity runs on; its result is ignored). Those created while a non_cancellable() shield is
//    alive, or inside a shielded_scope, are never canceled: use them to clean up. A
//    canceled_error escaping the workflow function ends the execution Canceled
//    (CancelWorkflowExecution).
//  - Cancellation scopes (Temporal's CancellationScope): cancellation_scope(fn) makes a scope
//    inside the active one and runs fn in it (synchronously); the operations created meanwhile
//    (and by later scope.run(fn) calls) belong to it. scope.cancel(reason) cancels them (and those
//    of scopes inside it that are not shielded) as a cancel request does, at the point of the code
//    where it is called (deterministic on replay); canceled_error carries `reason`. Operations
//    created in a canceled scope are canceled at once. shielded_scope(fn): neither the workflow's
//    cancel request nor a parent scope reaches it. A scope's canceled_error escaping the workflow
//    function fails it (the workflow itself was not asked to cancel).
//  - signal_external(workflow_id, [run_id,] name, input) / cancel_external(workflow_id[, run_id,
//    reason]) record SignalExternalWorkflowExecution / RequestCancelExternalWorkflowExecution when
//    called; the server delivers them to the target on any node (exactly once). `co_await`
//    returns once the target recorded it, or throws external_workflow_failure (cause
//    ExternalWorkflowExecutionNotFound when there is no such workflow or it is closed).
//  - child_workflow(type, input, options) records a StartChildWorkflowExecution command *when
//    called* and returns an awaitable; `co_await` yields the child's JSON result, or throws
//    child_workflow_failure when the child could not start (e.g. its ID is in use) or closed
//    otherwise than Completed. The child's workflow ID defaults to "<parent ID>-child-<n>" (n in
//    call order). What happens to a running child when the parent closes is its
//    parent_close_policy (default: terminate). A cancel request of the parent (or a canceled
//    scope) asks the child to cancel (see Cancellation).
//  - continue_as_new(input, options) throws continue_as_new_error; when it escapes the workflow
//    function the run closes ContinuedAsNew and a new run of the same workflow ID starts with
//    `input` and an empty history (same type and task queue unless options say otherwise).
//  - patched(change_id) (Temporal's versioning; the Go SDK's GetVersion with two versions): on a
//    first run of the code (not replaying) it records a "core_patch" marker and returns true; on
//    replay it returns true iff the history holds that patch's marker (old runs, started before
//    the patch, take the old branch). The first answer per change ID holds for the rest of the
//    run. deprecate_patch(change_id) is the step after every run without the marker has closed:
//    the code keeps only the new branch and still records the marker; on replay it records it
//    only when the history has it. Patch markers in history that the code no longer asks for
//    are skipped on replay (so the call can finally be removed).
//  - local_activity(type, input, options) (Temporal's local activity): the registered activity
//    `type` is run by this worker inside the workflow task, not scheduled on the server. The
//    code goes on meanwhile; once every coroutine waits and only local activities are left, the
//    worker runs them (retries with short backoffs included) and records each outcome as a
//    "LocalActivity" marker (local_activity.hpp) when it is known, then resumes the code there.
//    `co_await` yields the result, or throws activity_failure / canceled_error as for an
//    activity. On replay the marker's outcome is used and the function is not called. A retry
//    whose backoff exceeds local_retry_threshold, or that would outlive the task's budget,
//    records a marker with the attempt and failure so far and waits on a timer (same timer IDs
//    as sleep); the next attempt runs in the task of the timer's fire. A cancel request or a
//    canceled scope resolves it with canceled_error (its timer canceled; a running function is
//    told through activity_info::is_cancel_requested and its result dropped).
//  - side_effect(fn) calls fn once, on the first run of that point of the code, and records its
//    result in a "SideEffect" marker; on replay it returns the recorded result without calling
//    fn. fn must not fail: an exception fails the workflow task (and fn runs again on retry).
//  - random() / uuid(): deterministic pseudo-random values from a generator seeded by the run
//    ID (FNV-1a): the same sequence on every replay of the run, a different one per run.
//  - wait_condition(pred) returns an awaitable that is ready when pred() is true; pred is
//    evaluated when called and again after every history event the replay applies (only while
//    the awaitable is unresolved). It must be a pure read of workflow state. `co_await` yields
//    true. wait_condition(pred, timeout) also starts a timer (a StartTimer command, same timer
//    IDs as sleep); `co_await` yields false if the timer fires first, and a pred that becomes
//    true first cancels the timer (CancelTimer, or the unsent StartTimer is dropped). A cancel
//    request of the workflow cancels a condition wait like a signal wait.
//  - on_update(name, validator, handler) (Temporal's Workflow Update): an update sent to the run
//    reaches the worker in a workflow task. The validator runs first (in that task, on the state
//    the code has then; it must only read): when it throws (or no handler is registered under the
//    name, or the workflow code already returned) the update is rejected and nothing is recorded;
//    the client gets the exception's message (application_error: its failure). Otherwise an
//    AcceptWorkflowUpdate command is recorded (WorkflowExecutionUpdateAccepted) and the handler, a
//    coroutine like the workflow function (it may await activities, timers, signals, conditions),
//    starts at once; when it returns, CompleteWorkflowUpdate records its result
//    (WorkflowExecutionUpdateCompleted), when it throws, its failure (application_error: its
//    failure; anything else: type "UpdateHandlerError"). Updates of a task are delivered after the
//    events it carries, in the order they were admitted. On replay the updates the history accepted
//    are delivered at the same point without running the validator. Register handlers before the
//    workflow function's first co_await, once per name (the handler object must live as long as
//    the run: it is copied into each update's coroutine).
//  - now_ms() is the event time of the WorkflowTaskStarted of the workflow task whose events the
//    code is reacting to; is_replaying() is true while that task is not the one being answered.
//    With the worker's sticky cache the code of earlier tasks usually does not run again at all
//    (see workflow_cache.hpp); is_replaying() is for logging, never for decisions.
//  - Each awaitable may be awaited by one coroutine at a time; awaiting one that is already
//    being awaited throws std::logic_error.
//  - GCC 12 rejects a braced list inside a co_await expression ("array used as initializer"):
//    build the input first (`json args = {{"name", n}}; co_await ctx.activity("Greet", args);`).
//    Likewise C++ forbids co_await inside a catch handler: remember the error, await after it.
//  - Instances are created only by the replay machine (replay_machine.hpp) and outlive the workflow
//    coroutine they are handed to.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/sdk/task.hpp"

namespace chronicle::sdk {

// What canceling an activity the server knows does (Temporal's ActivityCancellationType; see the
// contract above and docs/semantics.md "Cancel"). An activity whose command was not sent yet is
// dropped whatever its type.
enum class activity_cancellation_type : uint8_t {
  try_cancel,                   // RequestCancelActivityTask; the await throws canceled_error at once
  wait_cancellation_completed,  // RequestCancelActivityTask; the await ends with the recorded outcome
  abandon,                      // nothing sent; the await throws at once, the activity runs on
};

namespace detail {

class replay_machine;

enum class operation_kind : uint8_t {
  activity, timer, signal, child, condition, external, local_activity
};

struct local_activity_state;  // local_activity.hpp

// A cancellation scope (see cancellation_scope): the operations created while it is active belong
// to it. Owned by the context.
struct scope_state {
  scope_state* parent = nullptr;  // null: the workflow itself (its cancel request)
  bool shielded = false;          // its parent's cancellation (and the workflow's) does not reach it
  bool canceled = false;
  std::string reason;
};

// An activity, timer or signal wait issued by workflow code; resolved by a history event or by a
// cancel request.
struct operation {
  operation_kind kind = operation_kind::activity;
  bool resolved = false;
  bool failed = false;                   // activity failed: `failure` holds why
  bool canceled = false;                 // resolved by a cancel request: awaiting throws
  bool cancellable = true;               // false when created under a non_cancellable() shield
  pb::Payload result;                    // activity result / signal input
  pb::Failure failure;                   // failed: the activity's failure; canceled: why
  std::coroutine_handle<> waiter;        // the coroutine suspended on it, if any
  std::string name;                      // timer_id / signal name / child workflow ID
  std::string how;                       // child: the close event's name when not completed
  int64_t recorded_event_id = 0;         // its ActivityTaskScheduled / TimerStarted, once matched
  std::function<bool()> predicate;       // condition: what it waits for (cleared once resolved)
  operation* linked = nullptr;           // condition <-> its timeout timer
  scope_state* scope = nullptr;          // the cancellation scope it was created in (null: none)
  std::string run_id;                    // child: its run, once started
  bool child_started = false;            // child: ChildWorkflowExecutionStarted applied
  bool cancel_sent = false;              // child / activity: its cancellation was asked for
  std::shared_ptr<local_activity_state> local;  // local activity: its request and phase
  activity_cancellation_type cancellation = activity_cancellation_type::try_cancel;  // activity
};

void wait_on(operation& op, std::coroutine_handle<> waiter);

}  // namespace detail

class activity_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  json await_resume() const;  // result, or throws activity_failure / canceled_error / payload_error

 private:
  friend class workflow_context;
  explicit activity_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

class timer_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  void await_resume() const;  // throws canceled_error when canceled

 private:
  friend class workflow_context;
  explicit timer_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

class signal_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  json await_resume() const;  // the signal's input, or throws canceled_error / payload_error

 private:
  friend class workflow_context;
  explicit signal_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

class child_workflow_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  json await_resume() const;  // the child's result, or throws child_workflow_failure

 private:
  friend class workflow_context;
  explicit child_workflow_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

class condition_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  bool await_resume() const;  // true: the condition holds; false: timed out; throws canceled_error

 private:
  friend class workflow_context;
  explicit condition_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

// A signal or cancel request sent to another workflow (signal_external, cancel_external).
class external_awaitable {
 public:
  bool await_ready() const noexcept { return op_->resolved; }
  void await_suspend(std::coroutine_handle<> waiter) { detail::wait_on(*op_, waiter); }
  void await_resume() const;  // delivered; or throws external_workflow_failure / canceled_error

 private:
  friend class workflow_context;
  explicit external_awaitable(detail::operation* op) noexcept : op_(op) {}
  detail::operation* op_;
};

// How a child workflow is started (zero / empty = not set).
struct child_workflow_options {
  std::string workflow_id;  // empty: "<parent workflow ID>-child-<n>"
  std::string task_queue;   // empty: the parent's
  std::chrono::milliseconds execution_timeout{0};
  std::chrono::milliseconds run_timeout{0};
  pb::ParentClosePolicy parent_close_policy = pb::PARENT_CLOSE_POLICY_UNSPECIFIED;  // terminate
  pb::WorkflowIdReusePolicy id_reuse_policy = pb::WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED;
};

// What the next run of continue_as_new is (empty / zero: the same as this run's).
struct continue_as_new_options {
  std::string workflow_type;
  std::string task_queue;
  std::chrono::milliseconds run_timeout{0};
};

// How an activity is retried (Temporal's RetryPolicy). Zero fields take the server's defaults:
// initial interval 1 s, backoff coefficient 2.0, maximum interval 100 x initial, maximum attempts
// 0 = unlimited. A failure whose type is listed in non_retryable_error_types (or thrown as a
// non-retryable application_error) is never retried.
struct retry_policy {
  std::chrono::milliseconds initial_interval{0};
  double backoff_coefficient = 0;
  std::chrono::milliseconds maximum_interval{0};
  int32_t maximum_attempts = 0;
  std::vector<std::string> non_retryable_error_types;
};

// Per-activity options (zero = not set). Without start_to_close_timeout the server uses
// schedule_to_close_timeout when set, else 10 minutes. heartbeat_timeout: an attempt that does
// not heartbeat within it times out (and is retried).
struct activity_options {
  std::string task_queue;  // empty: the workflow's task queue
  std::chrono::milliseconds schedule_to_close_timeout{0};
  std::chrono::milliseconds schedule_to_start_timeout{0};
  std::chrono::milliseconds start_to_close_timeout{0};
  std::chrono::milliseconds heartbeat_timeout{0};
  retry_policy retry;
  // What a cancellation (of the workflow, or of the scope the activity belongs to) does to it.
  activity_cancellation_type cancellation_type = activity_cancellation_type::try_cancel;
  // Its priority key in the task queue (docs/semantics.md "Flow control"): 1 (highest) .. 5
  // (lowest); 0: the run's (as started, default 3).
  int32_t priority = 0;
};

// How a local activity runs (zero = not set; see local_activity.hpp and docs/semantics.md "Local
// activities"). An attempt runs until start_to_close_timeout (without one: until
// schedule_to_close_timeout), and never beyond the workflow task's budget (80 % of its timeout):
// longer work belongs in a normal activity. A retry whose backoff is longer than
// local_retry_threshold (0: 1 minute) waits on a durable timer instead of in the worker.
struct local_activity_options {
  std::chrono::milliseconds schedule_to_close_timeout{0};
  std::chrono::milliseconds start_to_close_timeout{0};
  retry_policy retry;
  std::chrono::milliseconds local_retry_threshold{0};
};

class workflow_context;
template <class In, class Out>
struct activity_def;
template <class Out>
class typed_activity_awaitable;

// While alive, the activities, timers and signal waits its context creates are not canceled by a
// cancel request (Temporal's disconnected / non-cancellable scope). Move-only.
class [[nodiscard]] cancel_shield {
 public:
  cancel_shield(cancel_shield&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  cancel_shield& operator=(cancel_shield&&) = delete;
  cancel_shield(const cancel_shield&) = delete;
  ~cancel_shield();

 private:
  friend class workflow_context;
  explicit cancel_shield(workflow_context* ctx) noexcept : ctx_(ctx) {}
  workflow_context* ctx_;
};

// A cancellation scope (Temporal's CancellationScope): the activities, timers, signal waits,
// conditions, child workflows and external signals created inside run(fn) belong to it, and
// cancel() cancels those not yet resolved (see the contract above). A handle: copies name the same
// scope, which lives as long as its workflow context.
class cancellation_scope {
 public:
  // Calls fn() with this scope active (operations fn creates belong to it) and returns its result.
  // fn runs synchronously: awaitables it returns may be awaited after run() returned.
  template <class F>
  decltype(auto) run(F&& fn);
  void cancel(const std::string& reason = "canceled scope");
  bool canceled() const { return state_->canceled; }
  bool shielded() const { return state_->shielded; }

 private:
  friend class workflow_context;
  cancellation_scope(workflow_context* ctx, detail::scope_state* state) noexcept
      : ctx_(ctx), state_(state) {}
  workflow_context* ctx_;
  detail::scope_state* state_;
};

class workflow_context {
 public:
  workflow_context(const workflow_context&) = delete;
  workflow_context& operator=(const workflow_context&) = delete;

  [[nodiscard]] activity_awaitable activity(std::string type, json input,
                                            std::string task_queue = {});
  [[nodiscard]] activity_awaitable activity(std::string type, json input,
                                            const activity_options& options);
  // Typed calls (typed.hpp): the input converted with to_json, the result with from_json.
  template <class Out, class In>
  [[nodiscard]] typed_activity_awaitable<Out> activity(std::string type, const In& input);
  template <class Out, class In>
  [[nodiscard]] typed_activity_awaitable<Out> activity(std::string type, const In& input,
                                                       const activity_options& options);
  template <class In, class Out>
  [[nodiscard]] typed_activity_awaitable<Out> activity(const activity_def<In, Out>& def,
                                                       const std::type_identity_t<In>& input);
  template <class In, class Out>
  [[nodiscard]] typed_activity_awaitable<Out> activity(const activity_def<In, Out>& def,
                                                       const std::type_identity_t<In>& input,
                                                       const activity_options& options);
  // Local activities (see the contract and local_activity_options): the same awaitable as an
  // activity's; the function is a registered activity run by this worker inside the task.
  [[nodiscard]] activity_awaitable local_activity(std::string type, json input);
  [[nodiscard]] activity_awaitable local_activity(std::string type, json input,
                                                  const local_activity_options& options);
  template <class Out, class In>
  [[nodiscard]] typed_activity_awaitable<Out> local_activity(std::string type, const In& input,
                                                             const local_activity_options& options);
  template <class In, class Out>
  [[nodiscard]] typed_activity_awaitable<Out> local_activity(const activity_def<In, Out>& def,
                                                             const std::type_identity_t<In>& input,
                                                             const local_activity_options& options);
  [[nodiscard]] timer_awaitable sleep(std::chrono::milliseconds duration);
  [[nodiscard]] signal_awaitable wait_signal(const std::string& name);
  std::optional<json> poll_signal(const std::string& name);
  // (No default argument for the options: GCC 12 destroys a default-argument temporary inside a
  // co_await expression twice.)
  [[nodiscard]] child_workflow_awaitable child_workflow(std::string type, json input);
  [[nodiscard]] child_workflow_awaitable child_workflow(std::string type, json input,
                                                        const child_workflow_options& options);
  [[noreturn]] void continue_as_new(json input, const continue_as_new_options& options = {});

  // Messages to other workflows (see the contract above). An empty run_id: the current run.
  [[nodiscard]] external_awaitable signal_external(std::string workflow_id, std::string signal_name,
                                                   json input);
  [[nodiscard]] external_awaitable signal_external(std::string workflow_id, std::string run_id,
                                                   std::string signal_name, json input);
  [[nodiscard]] external_awaitable cancel_external(std::string workflow_id);
  [[nodiscard]] external_awaitable cancel_external(std::string workflow_id, std::string run_id,
                                                   std::string reason);

  // Cancellation scopes (see the contract above): a new scope inside the active one (the
  // workflow when none), fn run inside it; the scope is returned for cancel() and further run().
  // A shielded scope is not canceled by the workflow's cancel request nor by its parent's.
  ::chronicle::sdk::cancellation_scope cancellation_scope(const std::function<void()>& fn = {});
  ::chronicle::sdk::cancellation_scope shielded_scope(const std::function<void()>& fn = {});

  // Versioning and escape hatches (see the contract above).
  bool patched(const std::string& change_id);
  void deprecate_patch(const std::string& change_id);
  json side_effect(const std::function<json()>& fn);
  uint64_t random();
  std::string uuid();
  [[nodiscard]] condition_awaitable wait_condition(std::function<bool()> predicate);
  [[nodiscard]] condition_awaitable wait_condition(std::function<bool()> predicate,
                                                   std::chrono::milliseconds timeout);

  // Registers a query handler: a read-only question answered from the replayed state (never
  // recorded in history). Register it early in the workflow function; the handler must not block
  // or change workflow state.
  using query_handler = std::function<json(const json& args)>;
  void on_query(std::string name, query_handler handler) {
    query_handlers_[std::move(name)] = std::move(handler);
  }
  const std::map<std::string, query_handler>& query_handlers() const { return query_handlers_; }

  // Workflow Update (see the contract above). The validator throws to reject; the handler's
  // result is the update's result. Without a validator every update of that name is accepted.
  using update_validator = std::function<void(const json& args)>;
  using update_handler = std::function<task<json>(json args)>;
  void on_update(std::string name, update_validator validator, update_handler handler) {
    update_handlers_[std::move(name)] = {std::move(validator), std::move(handler)};
  }
  std::vector<std::string> update_names() const {
    std::vector<std::string> names;
    for (auto& [name, entry] : update_handlers_) names.push_back(name);
    return names;
  }

  // Search attributes and memo (docs/semantics.md "Search attributes"): `fields` is a JSON
  // object merged into the run's (a null value removes one), recorded with this workflow task's
  // commands (UpsertWorkflowSearchAttributes / WorkflowPropertiesModified) and visible to lists
  // once that task's answer is durable. An attribute the namespace does not register, or a value
  // of the wrong type, fails the workflow task (BadSearchAttributes), as Temporal does. Throws
  // std::invalid_argument when `fields` is not a non-empty object.
  void upsert_search_attributes(const json& fields);
  void upsert_memo(const json& fields);

  bool cancel_requested() const { return cancel_requested_; }
  [[nodiscard]] cancel_shield non_cancellable();

  int64_t now_ms() const { return now_ms_; }
  const std::string& workflow_id() const { return workflow_id_; }
  const std::string& run_id() const { return run_id_; }
  const std::string& workflow_type() const { return workflow_type_; }
  bool is_replaying() const { return replaying_; }

 private:
  friend class detail::replay_machine;
  friend class cancel_shield;
  friend class ::chronicle::sdk::cancellation_scope;

  // The scope new operations belong to (null: none) and a new scope inside it.
  detail::scope_state* active_scope() const {
    return scope_stack_.empty() ? nullptr : scope_stack_.back();
  }
  ::chronicle::sdk::cancellation_scope new_scope(bool shielded, const std::function<void()>& fn);
  // Why an operation of `scope` is canceled from its creation (nullopt: it is not): a canceled
  // scope reaches it (no shielded scope in between), or the workflow's cancel request does
  // (`cancellable`: no cancel_shield alive).
  std::optional<std::string> canceled_at_creation(const detail::scope_state* scope,
                                                  bool cancellable) const;
  // The command of a signal / cancel request to another workflow, with its operation.
  external_awaitable external(pb::Command command, std::string workflow_id, const char* what);

  workflow_context(std::string workflow_id, std::string run_id, std::string workflow_type);

  // Records a command; `op` is the operation its events resolve (null for other commands).
  void add_command(pb::Command command, detail::operation* op);
  // A new operation; already canceled when the cancel was requested and no shield is alive.
  detail::operation* new_operation(detail::operation_kind kind);
  // What canceled_error says: "workflow execution canceled[: <reason>]".
  std::string cancel_message() const;

  std::string workflow_id_;
  std::string run_id_;
  std::string workflow_type_;
  int64_t now_ms_ = 0;
  bool replaying_ = false;
  bool cancel_requested_ = false;
  std::string cancel_reason_;
  int shields_ = 0;
  int64_t activity_seq_ = 0;
  int64_t timer_seq_ = 0;
  int64_t child_seq_ = 0;
  int64_t side_effect_seq_ = 0;
  int64_t local_activity_seq_ = 0;
  std::optional<uint64_t> random_state_;                  // splitmix64 state, seeded lazily
  std::map<std::string, bool> patches_;                   // answers given, by change ID
  std::map<std::string, bool> recorded_patches_;          // patch markers in history (deprecated?)
  std::map<int64_t, pb::Payload> recorded_side_effects_;  // SideEffect markers in history, by ID
  std::vector<pb::Command> commands_;          // every command produced, in order
  std::vector<detail::operation*> command_ops_;  // parallel to commands_
  std::vector<std::unique_ptr<detail::operation>> operations_;  // in creation order
  std::map<std::string, query_handler> query_handlers_;
  struct update_entry {
    update_validator validator;
    update_handler handler;
  };
  std::map<std::string, update_entry> update_handlers_;
  std::map<std::string, std::deque<pb::Payload>> signal_queue_;           // received, not taken
  std::map<std::string, std::deque<detail::operation*>> signal_waiters_;  // waiting, oldest first
  std::vector<std::unique_ptr<detail::scope_state>> scopes_;
  std::vector<detail::scope_state*> scope_stack_;  // the scopes whose run() is on the stack
  // Set by the replay machine: cancels the operations of a scope (commands, resumed waiters).
  std::function<void(detail::scope_state*)> cancel_scope_;
};

template <class F>
decltype(auto) cancellation_scope::run(F&& fn) {
  struct active {
    workflow_context* ctx;
    ~active() { ctx->scope_stack_.pop_back(); }
  };
  ctx_->scope_stack_.push_back(state_);
  active guard{ctx_};
  return std::forward<F>(fn)();
}

}  // namespace chronicle::sdk

#include "worker/sdk/typed.hpp"  // the typed members' definitions
