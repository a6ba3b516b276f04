// The client library: start workflows, wait for results, read histories and describe executions,
// talking to any node over CAF. Used by the chronicle CLI and by tests. Calls block the caller.
#pragma once

#include <caf/all.hpp>

#include <memory>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace chronicle {

// A fresh random request ID (32 hex digits): what makes a retried start, signal or cancel
// idempotent.
std::string new_request_id();

// Calls that change a workflow (start, signal, signal-with-start, cancel) carry a request ID (a
// fresh one when the caller left it empty) and, like the reads (describe, history, query, list),
// are asked again while the answer is `unavailable` (a replicated shard changing leader, or the
// node serving the request lost with it: docs/replication.md), until the request timeout.
// Terminate is not repeated: a second terminate of a closed run is an error.
class client {
public:
  // Connects to the node at host:port. Fails with an "unavailable" error naming the address.
  static caf::expected<client> connect(caf::actor_system& sys, const std::string& host,
                                       uint16_t port,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Connects to the first of `addresses` ("host:port" each) that answers, trying them in turn
  // until `timeout`. When the connected node is lost later, the client reconnects to it or, if
  // it stays unreachable, to the next address: one dead node does not stop a client that knows
  // two others. Fails with an invalid_argument error for a malformed address.
  static caf::expected<client> connect(caf::actor_system& sys,
                                       const std::vector<std::string>& addresses,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

  caf::expected<pb::StartWorkflowResponse> start(const pb::StartWorkflowRequest& req);

  // Waits up to `timeout` for the run to close (current run when run_id is empty). A run that
  // continued as new is followed to the next run, and so on: the answer is the last run's.
  // Survives a restart of the node: reconnects and asks again until the deadline; an
  // `unavailable` answer (a replicated shard changing leader) is asked again too.
  caf::expected<pb::GetResultResponse> result(const std::string& ns, const std::string& workflow_id,
                                              const std::string& run_id,
                                              std::chrono::milliseconds timeout);

  caf::expected<pb::GetHistoryResponse> history(const std::string& ns,
                                                const std::string& workflow_id,
                                                const std::string& run_id = {});

  // The run's events after `after_event_id` (current run when run_id is empty). With `wait` > 0
  // and no such event yet, a long poll: answered once the run durably appends one, closes, or
  // `wait` passes (then with no events). One request, given up 2 s after `wait`: a node that
  // died is not asked again, the next call reconnects (see follow_result in tools/follow.hpp).
  caf::expected<pb::GetHistoryResponse> history_after(const std::string& ns,
                                                      const std::string& workflow_id,
                                                      const std::string& run_id,
                                                      int64_t after_event_id,
                                                      std::chrono::milliseconds wait);

  caf::expected<pb::DescribeWorkflowResponse> describe(const std::string& ns,
                                                       const std::string& workflow_id,
                                                       const std::string& run_id = {});

  // One page of runs from the visibility index (newest start first); pass the response's
  // next_page_token in the next request for the following page.
  caf::expected<pb::ListWorkflowsResponse> list(const pb::ListWorkflowsRequest& req);
  // The number of runs a list query matches (per status with GROUP BY ExecutionStatus).
  caf::expected<pb::CountWorkflowsResponse> count(const pb::CountWorkflowsRequest& req);
  // Namespaces as objects (docs/operations.md "Namespaces"): register (already registered:
  // already_started), update (unknown: not_found), describe, list.
  caf::expected<pb::NamespaceResponse> register_namespace(const pb::RegisterNamespaceRequest& req);
  caf::expected<pb::NamespaceResponse> update_namespace(const pb::UpdateNamespaceRequest& req);
  caf::expected<pb::NamespaceResponse> describe_namespace(const std::string& ns);
  caf::expected<pb::ListNamespacesResponse> list_namespaces();
  // A task queue's pollers and backlog per kind, from every node that hosts it (an unknown
  // queue: an empty description; a bad name: invalid_argument).
  caf::expected<pb::DescribeTaskQueueResponse> describe_task_queue(const std::string& ns,
                                                                   const std::string& queue);
  // Flow limits an operator sets for a task queue (docs/semantics.md "Flow control"): set
  // (a bad limit: invalid_argument; unknown namespace: not_found) and get (none set: an empty
  // config).
  caf::expected<pb::TaskQueueConfigResponse> set_task_queue_config(
    const pb::SetTaskQueueConfigRequest& req);
  caf::expected<pb::TaskQueueConfigResponse> get_task_queue_config(const std::string& ns,
                                                                   const std::string& queue);

  // Schedules (docs/schedules.md): create (exists: already_started), update, patch (pause,
  // unpause, trigger, backfill), delete, describe (unknown: not_found) answer the schedule's
  // description; list answers every schedule of the namespace.
  caf::expected<pb::ScheduleDescription> create_schedule(const pb::CreateScheduleRequest& req);
  caf::expected<pb::ScheduleDescription> update_schedule(const pb::UpdateScheduleRequest& req);
  caf::expected<pb::ScheduleDescription> patch_schedule(const pb::PatchScheduleRequest& req);
  caf::expected<pb::ScheduleDescription> delete_schedule(const std::string& ns,
                                                         const std::string& schedule_id);
  caf::expected<pb::ScheduleDescription> describe_schedule(const std::string& ns,
                                                           const std::string& schedule_id);
  caf::expected<pb::ListSchedulesResponse> list_schedules(const std::string& ns);

  // Batch operations (docs/operations.md "Batch operations"): start (a request ID is made when
  // empty, and the job ID from it when that is empty too, so a retry after a lost answer finds
  // the same job; a job ID in use by another start: already_started; a query that does not parse:
  // invalid_argument), describe and stop (unknown: not_found) answer the job's description; list
  // answers every job of the namespace, newest first.
  caf::expected<pb::BatchJobDescription> start_batch(pb::StartBatchJobRequest req);
  caf::expected<pb::BatchJobDescription> describe_batch(const std::string& ns,
                                                        const std::string& job_id);
  caf::expected<pb::BatchJobDescription> stop_batch(const std::string& ns,
                                                    const std::string& job_id,
                                                    const std::string& reason,
                                                    const std::string& identity = {});
  caf::expected<pb::ListBatchJobsResponse> list_batches(const std::string& ns);

  // Signals a running workflow (current run when run_id is empty). A closed or unknown workflow:
  // not_found error ("workflow 'x' is closed (Completed)" / "... not found").
  caf::expected<pb::SignalWorkflowResponse> signal(const std::string& ns,
                                                   const std::string& workflow_id,
                                                   const std::string& run_id,
                                                   const std::string& signal_name,
                                                   const pb::Payload& input,
                                                   const std::string& identity = {});

  // Signals the workflow of `start` if it is running, else starts it and signals it atomically.
  caf::expected<pb::SignalWithStartWorkflowResponse>
  signal_with_start(const pb::StartWorkflowRequest& start, const std::string& signal_name,
                    const pb::Payload& input);

  // Terminates a running workflow at once (WorkflowExecutionTerminated; result status Terminated).
  caf::expected<pb::TerminateWorkflowResponse> terminate(const std::string& ns,
                                                         const std::string& workflow_id,
                                                         const std::string& run_id,
                                                         const std::string& reason,
                                                         const std::string& identity = {});

  // Resets a run (docs/semantics.md "Reset"): a new run from its history up to a workflow task;
  // a running current run is terminated. Answers the new run's ID. A request ID makes a repeated
  // call answer the run the first one made.
  caf::expected<pb::ResetWorkflowResponse> reset(const pb::ResetWorkflowRequest& req);

  // Deletes a run (empty run_id: the current one): history, state and visibility record; a
  // running run is terminated first.
  caf::expected<pb::DeleteWorkflowResponse> delete_workflow(const std::string& ns,
                                                            const std::string& workflow_id,
                                                            const std::string& run_id,
                                                            const std::string& identity = {});
  // Pauses a running workflow (WorkflowExecutionPaused): no task of the run goes to a worker until
  // unpause; signals, fired timers and results are recorded meanwhile and reach the code after
  // it (docs/semantics.md "Pause"). Closed or already paused: failed_precondition.
  caf::expected<pb::PauseWorkflowResponse> pause(const std::string& ns,
                                                 const std::string& workflow_id,
                                                 const std::string& run_id,
                                                 const std::string& reason,
                                                 const std::string& identity = {});
  // Unpauses a paused workflow (WorkflowExecutionUnpaused); its waiting tasks go to workers.
  // Not paused: failed_precondition.
  caf::expected<pb::UnpauseWorkflowResponse> unpause(const std::string& ns,
                                                     const std::string& workflow_id,
                                                     const std::string& run_id,
                                                     const std::string& reason,
                                                     const std::string& identity = {});

  // Asks a running workflow to cancel (WorkflowExecutionCancelRequested); the code decides how.
  caf::expected<pb::RequestCancelWorkflowResponse> cancel(const std::string& ns,
                                                          const std::string& workflow_id,
                                                          const std::string& run_id,
                                                          const std::string& reason,
                                                          const std::string& identity = {});

  // Workflow Update: sends `req` (a fresh update ID when empty; with req.start: update-with-start)
  // and waits up to `timeout` for its outcome: the handler's result or failure, or the validator's
  // rejection (`rejected`, nothing recorded). Asks again with the same update ID while the node
  // answers that the update is admitted or accepted but not completed, and after a lost
  // connection or a node restart (reconnecting): the update is idempotent by its ID. Past the
  // deadline: an `unavailable` error naming the stage reached. A closed or unknown workflow:
  // not_found.
  caf::expected<pb::UpdateWorkflowResponse> update(pb::UpdateWorkflowRequest req,
                                                   std::chrono::milliseconds timeout);

  // Asynchronous completion (docs/semantics.md): the outcome of an activity attempt, or a
  // heartbeat of it, by its task token (the text of sdk::activity_info::task_token). A
  // completion is recorded like the worker's answer (a failure is retried by the activity's
  // policy); a heartbeat's answer says whether the workflow asked to cancel the activity
  // (cancel_requested). A token whose attempt is over (completed, failed, timed out, retried, or
  // its run closed): stale_task error saying why; a malformed token: invalid_argument.
  // Completions are not asked again after an `unavailable` answer (its outcome is unknown; a
  // second one may find the attempt closed); heartbeats are.
  caf::expected<pb::RespondActivityByTokenResponse>
  complete_activity(const std::string& task_token, const pb::Payload& result,
                    const std::string& identity = {});
  caf::expected<pb::RespondActivityByTokenResponse>
  fail_activity(const std::string& task_token, const pb::Failure& failure,
                const std::string& identity = {});
  caf::expected<pb::RespondActivityByTokenResponse>
  heartbeat_activity(const std::string& task_token, const pb::Payload& details,
                     const std::string& identity = {});

  // Timeout of each request except result() (default 10 s). A request to a node that dies is
  // never answered, so callers that switch nodes on failure want it short.
  void set_request_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  // Asks a worker of the run's task queue to answer query `type` from replayed state.
  caf::expected<pb::QueryWorkflowResponse> query(const std::string& ns,
                                                 const std::string& workflow_id,
                                                 const std::string& run_id, const std::string& type,
                                                 const pb::Payload& args);

  // Every member's status (and the shard map when with_shards), as seen from the connected node;
  // with_digests: replicated shards' digests too (reads the shards' data; see cluster.proto).
  caf::expected<pb::ClusterStatusResponse> cluster_status(bool with_shards,
                                                          bool with_digests = false);
  // Replicated clusters: shard -> the member serving it as leader, from a with_shards status
  // (a shard whose leader does not serve yet, e.g. during an election, is absent).
  static std::map<uint32_t, std::string> serving_leaders(const pb::ClusterStatusResponse& status);

  // The connected node's actor, for callers that send the same requests asynchronously from
  // their own actors (e.g. chronicle-bench's load driver).
  const caf::actor& node() const { return node_; }

private:
  client(caf::actor_system& sys, std::string host, uint16_t port, caf::actor node);

  // An activity request by token: `fill` sets its outcome; retried on `unavailable` when `retry`.
  template <class Fill>
  caf::expected<pb::RespondActivityByTokenResponse>
  by_token(const std::string& task_token, const std::string& identity, bool retry, Fill fill);

  // Sends (atom, bytes) and parses the reply as Msg.
  template <class Msg, class Atom>
  caf::expected<Msg> call(Atom atom, const std::string& bytes, std::chrono::milliseconds timeout);
  // call() asked again while the answer is `unavailable`, until `timeout` in all.
  template <class Msg, class Atom>
  caf::expected<Msg> call_retrying(Atom atom, const std::string& bytes,
                                   std::chrono::milliseconds timeout);

  // Takes `node` as the connected node and watches its proxy (node_gone_).
  void use_node(caf::actor node);
  // Connects again when the node's proxy died (its connection was lost).
  void reconnect_if_gone();
  // Connects to host_:port_ again or, when it does not answer, to the next address the client
  // knows (which becomes host_:port_). False when none answered.
  bool reconnect();

  // True when the node answers a ping within a second (a refusal counts as an answer).
  bool call_ping();

  // The blocking actor this client's calls are made from, created on first use and kept (a
  // scoped_actor per call costs an actor spawn and its registration each time). A copy of the
  // client gets its own: a client is used by one thread at a time.
  struct caller {
    std::unique_ptr<caf::scoped_actor> actor;
    caller() = default;
    caller(const caller&) {}
    caller& operator=(const caller&) {
      actor.reset();
      return *this;
    }
    caller(caller&&) noexcept = default;
    caller& operator=(caller&&) noexcept = default;
  };
  caf::scoped_actor& self();

  caf::actor_system* sys_;
  std::string host_;
  uint16_t port_;
  std::vector<std::pair<std::string, uint16_t>> others_;  // more nodes to move to (reconnect)
  caf::actor node_;
  caller caller_;
  std::shared_ptr<std::atomic<bool>> node_gone_;  // set when node_'s proxy terminates
  std::chrono::milliseconds timeout_ = request_timeout;
};

}  // namespace chronicle
