// The CAF-facing vocabulary of Chronicle: atoms naming every message, the error category, and
// decoding the bytes CAF carries (validating on arrival). The CAF-free part is protocol/codec.hpp.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "protocol/codec.hpp"

namespace chronicle {

// --- client API (frontend) ---
using start_atom = caf::atom_constant<caf::atom("start")>;
using result_atom = caf::atom_constant<caf::atom("result")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using signal_atom = caf::atom_constant<caf::atom("signal")>;
using sigstart_atom = caf::atom_constant<caf::atom("sigstart")>;
using terminate_atom = caf::atom_constant<caf::atom("terminate")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using update_atom = caf::atom_constant<caf::atom("update")>;  // UpdateWorkflowRequest
using reset_atom = caf::atom_constant<caf::atom("wfreset")>;   // ResetWorkflowRequest
using delete_atom = caf::atom_constant<caf::atom("wfdelete")>; // DeleteWorkflowRequest
using pause_atom = caf::atom_constant<caf::atom("pause")>;      // PauseWorkflowRequest
using unpause_atom = caf::atom_constant<caf::atom("unpause")>;  // UnpauseWorkflowRequest
// --- admin ---
using describe_atom = caf::atom_constant<caf::atom("describe")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using qtask_atom = caf::atom_constant<caf::atom("qtask")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using list_atom = caf::atom_constant<caf::atom("list")>;      // ListWorkflowsRequest (visibility)
using count_atom = caf::atom_constant<caf::atom("count")>;    // CountWorkflowsRequest (visibility)
// Namespaces (actors/admin/namespaces.cpp): client requests, node-to-node records, and the node
// actor telling admin that a peer connected (its records are sent to it).
using ns_register_atom = caf::atom_constant<caf::atom("nsregister")>;  // RegisterNamespaceRequest
using ns_update_atom = caf::atom_constant<caf::atom("nsupdate")>;      // UpdateNamespaceRequest
using ns_describe_atom = caf::atom_constant<caf::atom("nsdescribe")>;  // DescribeNamespaceRequest
using ns_list_atom = caf::atom_constant<caf::atom("nslist")>;          // ListNamespacesRequest
using ns_sync_atom = caf::atom_constant<caf::atom("nssync")>;          // NamespaceSync
using ns_push_atom = caf::atom_constant<caf::atom("nspush")>;          // (member name)
using tq_describe_atom = caf::atom_constant<caf::atom("tqdescribe")>;  // DescribeTaskQueueRequest
// Operator flow limits of a task queue (kept in its namespace's record, actors/admin/namespaces.cpp)
using tq_config_set_atom = caf::atom_constant<caf::atom("tqconfset")>;  // SetTaskQueueConfigRequest
using tq_config_get_atom = caf::atom_constant<caf::atom("tqconfget")>;  // GetTaskQueueConfigRequest
// admin -> matching -> activity task queues: a namespace record changed (read the config again)
using tq_config_atom = caf::atom_constant<caf::atom("tqconfig")>;
// Schedules (actors/schedule/, docs/schedules.md)
using sch_create_atom = caf::atom_constant<caf::atom("schcreate")>;    // CreateScheduleRequest
using sch_update_atom = caf::atom_constant<caf::atom("schupdate")>;    // UpdateScheduleRequest
using sch_patch_atom = caf::atom_constant<caf::atom("schpatch")>;      // PatchScheduleRequest
using sch_delete_atom = caf::atom_constant<caf::atom("schdelete")>;    // DeleteScheduleRequest
using sch_describe_atom = caf::atom_constant<caf::atom("schdesc")>;    // DescribeScheduleRequest
using sch_list_atom = caf::atom_constant<caf::atom("schlist")>;        // ListSchedulesRequest
// Batch operations (actors/batch/, docs/operations.md "Batch operations")
using bat_start_atom = caf::atom_constant<caf::atom("batstart")>;      // StartBatchJobRequest
using bat_describe_atom = caf::atom_constant<caf::atom("batdesc")>;    // DescribeBatchJobRequest
using bat_stop_atom = caf::atom_constant<caf::atom("batstop")>;        // StopBatchJobRequest
using bat_list_atom = caf::atom_constant<caf::atom("batlist")>;        // ListBatchJobsRequest
// --- workers and task queues ---
using register_atom = caf::atom_constant<caf::atom("register")>;
using wf_task_atom = caf::atom_constant<caf::atom("wftask")>;
using act_task_atom = caf::atom_constant<caf::atom("acttask")>;
using wf_done_atom = caf::atom_constant<caf::atom("wfdone")>;
using wf_fail_atom = caf::atom_constant<caf::atom("wffail")>;
using act_done_atom = caf::atom_constant<caf::atom("actdone")>;
using act_fail_atom = caf::atom_constant<caf::atom("actfail")>;
using act_beat_atom = caf::atom_constant<caf::atom("actbeat")>;    // activity heartbeat
using act_cancel_atom = caf::atom_constant<caf::atom("actcancel")>;  // RespondActivityTaskCanceled
using act_async_atom = caf::atom_constant<caf::atom("actasync")>;    // ActivityTaskAsync
using act_token_atom = caf::atom_constant<caf::atom("acttoken")>;    // RespondActivityByTokenRequest
using act_start_atom = caf::atom_constant<caf::atom("actstart")>;  // activity handed to a worker
// --- cluster ---
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using auth_atom = caf::atom_constant<caf::atom("auth")>;
// client/worker -> node: its API key (docs/security.md), presented after connecting.
using apikey_atom = caf::atom_constant<caf::atom("apikey")>;
using overload_atom = caf::atom_constant<caf::atom("overload")>;
using fwd_atom = caf::atom_constant<caf::atom("fwd")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using local_atom = caf::atom_constant<caf::atom("local")>;
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using redispatch_atom = caf::atom_constant<caf::atom("redispatch")>;
// --- node-internal ---
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using wt_start_atom = caf::atom_constant<caf::atom("wtstart")>;
using wt_lost_atom = caf::atom_constant<caf::atom("wtlost")>;
using act_lost_atom = caf::atom_constant<caf::atom("actlost")>;  // ActivityTaskLost
using held_atom = caf::atom_constant<caf::atom("held")>;         // HeldTasks, queue -> worker
using tq_holds_atom = caf::atom_constant<caf::atom("tqholds")>;  // QueueHoldsRequest
using wt_history_atom = caf::atom_constant<caf::atom("wthistory")>;  // GetWorkflowTaskHistory
using history_wait_atom = caf::atom_constant<caf::atom("histwait")>;  // GetHistoryRequest long poll
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using arm_atom = caf::atom_constant<caf::atom("arm")>;
using disarm_atom = caf::atom_constant<caf::atom("disarm")>;  // a timer deleted from disk
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using child_done_atom = caf::atom_constant<caf::atom("childdone")>;  // ChildWorkflowClosed
using child_started_atom = caf::atom_constant<caf::atom("childup")>;  // execution-internal
using outbound_atom = caf::atom_constant<caf::atom("outbound")>;      // execution-internal
// execution-internal: the answer to a signal / cancel request sent to another workflow
using external_done_atom = caf::atom_constant<caf::atom("extdone")>;
using purge_atom = caf::atom_constant<caf::atom("purge")>;            // retention
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;            // retention
// A worker registered through another node is gone: "ns \0 queue \0 identity \0 actor id".
using gone_atom = caf::atom_constant<caf::atom("gone")>;
// --- replication (actors/shard/replica.hpp) ---
using raft_atom = caf::atom_constant<caf::atom("raft")>;          // (shard, from, bytes) between nodes
// Several shards' Raft messages to one peer in one message (actors/shard/raft_outbox.hpp): bytes.
using raft_batch_atom = caf::atom_constant<caf::atom("raftbatch")>;
using raft_flush_atom = caf::atom_constant<caf::atom("raftflush")>;  // raft outbox-internal
// node actor -> its shards: (member) a peer's connection dropped; a replica following it campaigns
using leader_gone_atom = caf::atom_constant<caf::atom("leadergone")>;
using raft_run_atom = caf::atom_constant<caf::atom("raftrun")>;   // shard-internal: posted work
using raft_tick_atom = caf::atom_constant<caf::atom("rafttick")>; // shard-internal: raft's tick
using propose_atom = caf::atom_constant<caf::atom("propose")>;    // shard-internal: queued writes
using transfer_atom = caf::atom_constant<caf::atom("transfer")>;  // leadership away / to a member
// (shard, from, SnapshotChunkRequest) -> HandoffChunk: a chunk of a leader's snapshot stream
using snapchunk_atom = caf::atom_constant<caf::atom("snapchunk")>;
// (shard) -> ShardMembersResponse: a replica's view of its group (actors/node/copy_cleanup.hpp)
using members_atom = caf::atom_constant<caf::atom("members")>;
// shard -> its executions when the replica stops leading (urgent): answer every waiter, quit.
using stand_down_atom = caf::atom_constant<caf::atom("standdown")>;

// Builds an error of the "chronicle" category carrying a human-readable message.
caf::error make_error(errc code, std::string message);

// Returns the human-readable text of any CAF error: the message of a chronicle error, else CAF's
// rendering of the error code (e.g. "request_timeout").
std::string error_text(const caf::error& err);

// Returns the code of a chronicle error, or 0 when err is of another category.
uint8_t chronicle_code(const caf::error& err);

// Parses bytes received in a message. Returns a bad_message error naming `what` on failure.
template <class Msg>
caf::expected<Msg> decode(const std::string& bytes, const char* what) {
  Msg msg;
  if (!msg.ParseFromString(bytes))
    return make_error(errc::bad_message, std::string("malformed ") + what + " message");
  return msg;
}

// Default timeout of a request between actors (client to node, node-internal).
inline constexpr auto request_timeout = std::chrono::seconds(10);

}  // namespace chronicle
