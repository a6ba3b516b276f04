#include "actors/routing/catalog.hpp"

#include "actors/batch/batch_runner.hpp"
#include "actors/routing/validation.hpp"
#include "actors/schedule/scheduler_actor.hpp"

namespace chronicle {

namespace {

// The routing fields of each route kind (see message_kind::peek): only the fields needed are
// read (peek_route, peek_token in protocol/codec.hpp) except for the nested parent of a
// ChildWorkflowClosed.
bool peek_workflow(const std::string& bytes, std::string* ns, std::string* wid, pb::TaskToken*) {
  return peek_route(bytes, ns, wid);
}

bool peek_parent(const std::string& bytes, std::string* ns, std::string* wid, pb::TaskToken*) {
  pb::ChildWorkflowClosed msg;
  if (!msg.ParseFromString(bytes)) return false;
  *ns = msg.parent().namespace_();
  *wid = msg.parent().workflow_id();
  return true;
}

bool peek_task(const std::string& bytes, std::string* ns, std::string* wid, pb::TaskToken* tok) {
  if (!peek_token(bytes, tok)) return false;
  *ns = tok->namespace_();
  *wid = tok->workflow_id();
  return true;
}

using r = route_by;
using s = served_by;
using by = sent_by;
using q = queue_pass;

// clang-format off
const std::vector<message_kind> catalog = {
  // atom                      protobuf type                     route         served by     sender        task queue     activity validator                      peek           API key role
  // --- client API: through the published node actor to the frontend, then the workflow's shard
  {start_atom::value,          "StartWorkflowRequest",           r::workflow,  s::frontend,  by::client,   q::none,       false, validators::start,             peek_workflow, role::write},
  {result_atom::value,         "GetResultRequest",               r::workflow,  s::frontend,  by::client,   q::none,       false, validators::result,            peek_workflow, role::read},
  {signal_atom::value,         "SignalWorkflowRequest",          r::workflow,  s::frontend,  by::client,   q::none,       false, validators::signal,            peek_workflow, role::write},
  {sigstart_atom::value,       "SignalWithStartWorkflowRequest", r::workflow,  s::frontend,  by::client,   q::none,       false, validators::signal_with_start, peek_workflow, role::write},
  {terminate_atom::value,      "TerminateWorkflowRequest",       r::workflow,  s::frontend,  by::client,   q::none,       false, validators::terminate,         peek_workflow, role::admin},
  {reset_atom::value,          "ResetWorkflowRequest",           r::workflow,  s::frontend,  by::client,   q::none,       false, validators::reset,             peek_workflow, role::admin},
  {delete_atom::value,         "DeleteWorkflowRequest",          r::workflow,  s::frontend,  by::client,   q::none,       false, validators::delete_workflow,   peek_workflow, role::admin},
  {pause_atom::value,          "PauseWorkflowRequest",           r::workflow,  s::frontend,  by::client,   q::none,       false, validators::pause,             peek_workflow, role::admin},
  {unpause_atom::value,        "UnpauseWorkflowRequest",         r::workflow,  s::frontend,  by::client,   q::none,       false, validators::unpause,           peek_workflow, role::admin},
  {cancel_atom::value,         "RequestCancelWorkflowRequest",   r::workflow,  s::frontend,  by::client,   q::none,       false, validators::cancel,            peek_workflow, role::write},
  {update_atom::value,         "UpdateWorkflowRequest",          r::workflow,  s::frontend,  by::client,   q::none,       false, validators::update,            peek_workflow, role::write},
  {act_token_atom::value,      "RespondActivityByTokenRequest",  r::workflow,  s::frontend,  by::client,   q::none,       true,  validators::activity_by_token, peek_workflow, role::write},
  // --- client API served by the admin actor (it asks the owning node's admin itself)
  {describe_atom::value,       "DescribeWorkflowRequest",        r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {history_atom::value,        "GetHistoryRequest",              r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {query_atom::value,          "QueryWorkflowRequest",           r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {list_atom::value,           "ListWorkflowsRequest",           r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {count_atom::value,          "CountWorkflowsRequest",          r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {cluster_atom::value,        "ClusterStatusRequest",           r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  // --- namespaces, served by the admin actor (a change goes to every member from there)
  {ns_register_atom::value,    "RegisterNamespaceRequest",       r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::admin},
  {ns_update_atom::value,      "UpdateNamespaceRequest",         r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::admin},
  {ns_describe_atom::value,    "DescribeNamespaceRequest",       r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {ns_list_atom::value,        "ListNamespacesRequest",          r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  {tq_config_set_atom::value,  "SetTaskQueueConfigRequest",      r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::admin},
  {tq_config_get_atom::value,  "GetTaskQueueConfigRequest",      r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  // --- schedules: on the shard of their schedule ID (its scheduler), list from every node's admin
  {sch_create_atom::value,     "CreateScheduleRequest",          r::workflow,  s::frontend,  by::client,   q::none,       false, validate_schedule_request,     peek_workflow, role::admin},
  {sch_update_atom::value,     "UpdateScheduleRequest",          r::workflow,  s::frontend,  by::client,   q::none,       false, validate_schedule_request,     peek_workflow, role::admin},
  {sch_patch_atom::value,      "PatchScheduleRequest",           r::workflow,  s::frontend,  by::client,   q::none,       false, validate_schedule_request,     peek_workflow, role::admin},
  {sch_delete_atom::value,     "DeleteScheduleRequest",          r::workflow,  s::frontend,  by::client,   q::none,       false, validate_schedule_request,     peek_workflow, role::admin},
  {sch_describe_atom::value,   "DescribeScheduleRequest",        r::workflow,  s::frontend,  by::client,   q::none,       false, validate_schedule_request,     peek_workflow, role::read},
  {sch_list_atom::value,       "ListSchedulesRequest",           r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  // --- batch jobs: on the shard of their job ID (its batch runner), list from every node's admin
  {bat_start_atom::value,      "StartBatchJobRequest",           r::workflow,  s::frontend,  by::client,   q::none,       false, validate_batch_request,        peek_workflow, role::admin},
  {bat_stop_atom::value,       "StopBatchJobRequest",            r::workflow,  s::frontend,  by::client,   q::none,       false, validate_batch_request,        peek_workflow, role::admin},
  {bat_describe_atom::value,   "DescribeBatchJobRequest",        r::workflow,  s::frontend,  by::client,   q::none,       false, validate_batch_request,        peek_workflow, role::read},
  {bat_list_atom::value,       "ListBatchJobsRequest",           r::node,      s::admin,     by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  // --- client API served by matching (it asks every node that hosts the task queue itself)
  {tq_describe_atom::value,    "DescribeTaskQueueRequest",       r::node,      s::matching,  by::client,   q::none,       false, nullptr,                       nullptr,        role::read},
  // --- workers
  {register_atom::value,       "RegisterWorkerRequest",          r::task_queue, s::matching, by::worker,   q::none,       false, nullptr,                       nullptr,        role::write},
  {wf_done_atom::value,        "RespondWorkflowTaskCompleted",   r::token,     s::frontend,  by::worker,   q::frees_slot, false, validators::workflow_answer,   peek_task},
  {wf_fail_atom::value,        "RespondWorkflowTaskFailed",      r::token,     s::frontend,  by::worker,   q::frees_slot, false, nullptr,                       peek_task},
  {act_done_atom::value,       "RespondActivityTaskCompleted",   r::token,     s::frontend,  by::worker,   q::frees_slot, true,  validators::activity_answer,   peek_task},
  {act_fail_atom::value,       "RespondActivityTaskFailed",      r::token,     s::frontend,  by::worker,   q::frees_slot, true,  nullptr,                       peek_task},
  {act_cancel_atom::value,     "RespondActivityTaskCanceled",    r::token,     s::frontend,  by::worker,   q::frees_slot, true,  nullptr,                       peek_task},
  {act_async_atom::value,      "ActivityTaskAsync",              r::token,     s::frontend,  by::worker,   q::frees_slot, true,  nullptr,                       peek_task},
  {wt_history_atom::value,     "GetWorkflowTaskHistory",         r::token,     s::frontend,  by::worker,   q::keeps_slot, false, nullptr,                       peek_task},
  {act_beat_atom::value,       "RecordActivityTaskHeartbeat",    r::token,     s::frontend,  by::worker,   q::keeps_slot, true,  nullptr,                       peek_task},
  // --- node-internal: task queue -> shard, execution -> frontend -> shard, between nodes
  {wt_start_atom::value,       "RecordWorkflowTaskStarted",      r::token,     s::frontend,  by::internal, q::none,       false, nullptr,                       peek_task},
  {wt_lost_atom::value,        "WorkflowTaskLost",               r::token,     s::frontend,  by::internal, q::none,       false, nullptr,                       peek_task},
  {act_start_atom::value,      "RecordActivityTaskStarted",      r::token,     s::frontend,  by::internal, q::none,       true,  nullptr,                       peek_task},
  {act_lost_atom::value,       "ActivityTaskLost",               r::token,     s::frontend,  by::internal, q::none,       true,  nullptr,                       peek_task},
  {child_done_atom::value,     "ChildWorkflowClosed",            r::parent,    s::frontend,  by::internal, q::none,       false, nullptr,                       peek_parent},
  {history_wait_atom::value,   "GetHistoryRequest",              r::workflow,  s::frontend,  by::internal, q::none,       false, nullptr,                       peek_workflow},
  {dispatch_atom::value,       "DispatchRequest",                r::task_queue, s::matching, by::internal},
  {qtask_atom::value,          "QueryTask",                      r::task_queue, s::matching, by::internal},
  {tq_holds_atom::value,       "QueueHoldsRequest",              r::task_queue, s::matching, by::internal},
  {overload_atom::value,       "OverloadNote",                   r::node,      s::node,      by::internal},
  {ns_sync_atom::value,        "NamespaceSync",                  r::node,      s::admin,     by::internal},
  {gone_atom::value,           "WorkerGone",                     r::node,      s::matching,  by::internal},
  {redispatch_atom::value,     "(none)",                         r::node,      s::node,      by::internal},
};
// clang-format on

}  // namespace

const message_kind* find_message(caf::atom_value atom) {
  for (auto& k : catalog)
    if (k.atom == atom) return &k;
  return nullptr;
}

const std::vector<message_kind>& message_catalog() { return catalog; }

}  // namespace chronicle
