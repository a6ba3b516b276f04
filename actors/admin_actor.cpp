#include "actors/admin_actor.hpp"

#include "shards/ring.hpp"

namespace chronicle {

namespace {

// Finds the run a request addresses: the given run ID, else the current run.
caf::expected<pb::MutableState> find_run(const node_env& env, std::string ns,
                                         const std::string& wid, const std::string& run_id,
                                         uint32_t* shard) {
  if (ns.empty()) ns = default_namespace;
  auto reason = check_id("workflow ID", wid);
  if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  *shard = shard_of(ns, wid, env.config.num_shards);
  storage::status st;
  std::string run = run_id;
  if (run.empty()) {
    auto cur = env.store->load_current(*shard, ns, wid, &st);
    if (!st.ok()) return make_error(errc::internal, st.message());
    if (!cur) return make_error(errc::not_found, "workflow '" + wid + "' not found");
    run = cur->run_id();
  }
  auto state = env.store->load_state(storage::run_key{*shard, ns, wid, run}, &st);
  if (!st.ok()) return make_error(errc::internal, st.message());
  if (!state) return make_error(errc::not_found, "run " + run + " of workflow '" + wid + "' not found");
  return std::move(*state);
}

caf::result<std::string> describe(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::DescribeWorkflowRequest>(bytes, "DescribeWorkflowRequest");
  if (!req) return req.error();
  uint32_t shard = 0;
  auto ms = find_run(env, req->namespace_(), req->workflow_id(), req->run_id(), &shard);
  if (!ms) return ms.error();
  pb::DescribeWorkflowResponse resp;
  resp.set_namespace_(ms->namespace_());
  resp.set_workflow_id(ms->workflow_id());
  resp.set_run_id(ms->run_id());
  resp.set_workflow_type(ms->workflow_type());
  resp.set_task_queue(ms->task_queue());
  resp.set_status(ms->status());
  resp.set_start_time_ms(ms->start_time_ms());
  resp.set_close_time_ms(ms->close_time_ms());
  resp.set_history_length(ms->next_event_id() - 1);
  for (auto& [id, pa] : ms->pending_activities()) {
    auto* a = resp.add_pending_activities();
    a->set_activity_id(pa.activity_id());
    a->set_activity_type(pa.activity_type());
    a->set_scheduled_event_id(id);
    a->set_attempt(pa.attempt());
    a->set_state("scheduled");
  }
  for (auto& [id, pt] : ms->pending_timers()) {
    auto* t = resp.add_pending_timers();
    t->set_timer_id(pt.timer_id());
    t->set_started_event_id(id);
    t->set_fire_time_ms(pt.fire_time_ms());
  }
  if (ms->has_workflow_task())
    resp.set_pending_workflow_task(ms->workflow_task().started_event_id() ? "started" : "scheduled");
  resp.set_shard(static_cast<int32_t>(shard));
  resp.set_owner_node(env.config.name);
  return encode(resp);
}

caf::result<std::string> history(const node_env& env, const std::string& bytes) {
  auto req = decode<pb::GetHistoryRequest>(bytes, "GetHistoryRequest");
  if (!req) return req.error();
  uint32_t shard = 0;
  auto ms = find_run(env, req->namespace_(), req->workflow_id(), req->run_id(), &shard);
  if (!ms) return ms.error();
  std::vector<pb::HistoryEvent> events;
  auto st = env.store->read_history(
    storage::run_key{shard, ms->namespace_(), ms->workflow_id(), ms->run_id()}, &events);
  if (!st.ok()) return make_error(errc::internal, st.message());
  pb::GetHistoryResponse resp;
  resp.set_run_id(ms->run_id());
  for (auto& ev : events) *resp.add_events() = std::move(ev);
  return encode(resp);
}

}  // namespace

caf::behavior admin_actor(caf::event_based_actor* self, env_ptr env) {
  return {
    [=](describe_atom, const std::string& bytes) { return describe(*env, bytes); },
    [=](history_atom, const std::string& bytes) { return history(*env, bytes); },
    [=](ping_atom) { return env->config.name; },
  };
}

}  // namespace chronicle
