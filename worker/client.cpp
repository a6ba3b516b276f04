#include "worker/client.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>

#include "protocol/task_token.hpp"
#include "worker/worker.hpp"

namespace chronicle {

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

client::client(caf::actor_system& sys, std::string host, uint16_t port, caf::actor node)
  : sys_(&sys), host_(std::move(host)), port_(port) {
  use_node(std::move(node));
}

void client::use_node(caf::actor node) {
  node_ = std::move(node);
  auto gone = std::make_shared<std::atomic<bool>>(false);
  node_gone_ = gone;
  // Runs at once when the proxy is already dead. CAF drops a request sent to the proxy of a node
  // whose connection was lost (the caller would wait for its whole timeout): call() connects
  // again first.
  if (node_) node_->attach_functor([gone] { gone->store(true); });
}

void client::reconnect_if_gone() {
  if (!node_gone_ || !node_gone_->load()) return;
  reconnect();
}

bool client::reconnect() {
  if (auto node = connect_node(*sys_, host_, port_, std::chrono::seconds(2))) {
    use_node(*node);
    return true;
  }
  for (size_t i = 0; i < others_.size(); ++i) {
    // Rotate: the address tried last goes to the back of the list.
    others_.emplace_back(std::move(host_), port_);
    std::tie(host_, port_) = others_.front();
    others_.erase(others_.begin());
    if (auto node = connect_node(*sys_, host_, port_, std::chrono::seconds(2))) {
      use_node(*node);
      return true;
    }
  }
  return false;
}

caf::expected<client> client::connect(caf::actor_system& sys,
                                      const std::vector<std::string>& addresses,
                                      std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, uint16_t>> parsed;
  for (auto& a : addresses) {
    std::string host;
    uint16_t port = 0;
    if (!parse_address(a, &host, &port))
      return make_error(errc::invalid_argument, "node address '" + a + "' is not host:port");
    parsed.emplace_back(host, port);
  }
  if (parsed.empty()) return make_error(errc::invalid_argument, "no node address given");
  // Each address gets a share of the time; a refused key or secret is final.
  auto share = std::max(std::chrono::milliseconds(500), timeout / static_cast<int>(parsed.size()));
  caf::error last;
  for (size_t i = 0; i < parsed.size(); ++i) {
    auto c = connect(sys, parsed[i].first, parsed[i].second, share);
    if (!c) {
      if (chronicle_code(c.error()) == static_cast<uint8_t>(errc::unauthenticated))
        return c.error();
      last = c.error();
      continue;
    }
    for (size_t j = 1; j < parsed.size(); ++j) c->others_.push_back(parsed[(i + j) % parsed.size()]);
    return c;
  }
  return last;
}

caf::expected<client> client::connect(caf::actor_system& sys, const std::string& host,
                                      uint16_t port, std::chrono::milliseconds timeout) {
  // A node that is just starting may refuse the first attempt: retry until the timeout.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto node = connect_node(sys, host, port, std::max(left, std::chrono::milliseconds(100)));
    if (node) {
      // The middleman may hand out its proxy of a node process that just died at that address
      // (a restart right after kill -9): only a node that answers a ping counts.
      client c{sys, host, port, *node};
      if (c.call_ping() || std::chrono::steady_clock::now() >= deadline) return c;
      node = make_error(errc::unavailable, "the node at " + host + ":" + std::to_string(port)
                                             + " does not answer");
    }
    if (chronicle_code(node.error()) == static_cast<uint8_t>(errc::unauthenticated)
        || std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline)
      return node.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

caf::scoped_actor& client::self() {
  if (!caller_.actor) caller_.actor = std::make_unique<caf::scoped_actor>(*sys_);
  return *caller_.actor;
}

template <class Msg, class Atom>
caf::expected<Msg> client::call(Atom atom, const std::string& bytes,
                                std::chrono::milliseconds timeout) {
  reconnect_if_gone();
  auto& self = this->self();
  caf::expected<Msg> out = make_error(errc::internal, "no reply");
  self->request(node_, timeout, atom, bytes)
    .receive(
      [&](const std::string& reply) {
        auto msg = decode<Msg>(reply, "reply");
        if (msg) out = std::move(*msg);
        else out = msg.error();
      },
      [&](caf::error& err) { out = err; });
  // No answer (timeout, connection lost): when the node no longer answers pings, connect again
  // so that the caller's next call reaches the node if it came back (e.g. restarted). The failed
  // call itself is not repeated: it may have been carried out.
  if (!out && chronicle_code(out.error()) == 0 && atom != ping_atom::value && !call_ping())
    reconnect();
  return out;
}

template <class Msg, class Atom>
caf::expected<Msg> client::call_retrying(Atom atom, const std::string& bytes,
                                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(50);
  caf::error unavailable;  // the last `unavailable` answer
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto res = call<Msg>(atom, bytes, std::max(left, std::chrono::milliseconds(1)));
    // A retry cut short by the deadline says less than the refusal before it.
    if (!res && unavailable && chronicle_code(res.error()) == 0) return unavailable;
    if (res || chronicle_code(res.error()) != static_cast<uint8_t>(errc::unavailable)
        || std::chrono::steady_clock::now() + pause >= deadline)
      return res;
    unavailable = res.error();
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(400));
  }
}

caf::expected<pb::StartWorkflowResponse> client::start(const pb::StartWorkflowRequest& req) {
  if (!req.request_id().empty())
    return call_retrying<pb::StartWorkflowResponse>(start_atom::value, encode(req), timeout_);
  auto with_id = req;
  with_id.set_request_id(new_request_id());
  return call_retrying<pb::StartWorkflowResponse>(start_atom::value, encode(with_id), timeout_);
}

caf::expected<pb::GetResultResponse> client::result(const std::string& ns,
                                                    const std::string& workflow_id,
                                                    const std::string& run_id,
                                                    std::chrono::milliseconds timeout) {
  pb::GetResultRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  auto bytes = encode(req);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // A request to a node that dies is never answered: ask in slices and reconnect when needed.
  constexpr auto slice = std::chrono::milliseconds(5000);
  caf::error last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto res = call<pb::GetResultResponse>(result_atom::value, bytes, std::min(left, slice));
    if (res && res->status() == pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
        && !res->new_run_id().empty()) {
      req.set_run_id(res->new_run_id());  // follow the chain of runs to the last one
      bytes = encode(req);
      continue;
    }
    if (res) return res;
    last = res.error();
    // A shard changing leader (replicated clusters) answers `unavailable`: the result is a
    // read, asked again a moment later. Any other answer from the node is final (not found).
    if (chronicle_code(last) == static_cast<uint8_t>(errc::unavailable)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (chronicle_code(last) != 0) return last;
    // Timeout or lost connection: make sure the node is still there, else reconnect.
    auto ping = call_ping();
    if (!ping) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      reconnect();
    }
  }
  return make_error(errc::unavailable, "timed out waiting for the result of '" + workflow_id
                                         + "' (" + error_text(last) + ")");
}

caf::expected<pb::GetHistoryResponse> client::history(const std::string& ns,
                                                      const std::string& workflow_id,
                                                      const std::string& run_id) {
  pb::GetHistoryRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  return call_retrying<pb::GetHistoryResponse>(history_atom::value, encode(req), timeout_);
}

caf::expected<pb::GetHistoryResponse> client::history_after(const std::string& ns,
                                                            const std::string& workflow_id,
                                                            const std::string& run_id,
                                                            int64_t after_event_id,
                                                            std::chrono::milliseconds wait) {
  pb::GetHistoryRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_after_event_id(after_event_id);
  req.set_wait_ms(wait.count());
  // The node answers by itself once `wait` passes: a short margin notices a dead node soon.
  constexpr auto margin = std::chrono::milliseconds(2000);
  return call<pb::GetHistoryResponse>(history_atom::value, encode(req),
                                      wait + std::min(timeout_, margin));
}

caf::expected<pb::DescribeWorkflowResponse> client::describe(const std::string& ns,
                                                             const std::string& workflow_id,
                                                             const std::string& run_id) {
  pb::DescribeWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  return call_retrying<pb::DescribeWorkflowResponse>(describe_atom::value, encode(req), timeout_);
}

caf::expected<pb::ListWorkflowsResponse> client::list(const pb::ListWorkflowsRequest& req) {
  return call_retrying<pb::ListWorkflowsResponse>(list_atom::value, encode(req), timeout_);
}

caf::expected<pb::CountWorkflowsResponse> client::count(const pb::CountWorkflowsRequest& req) {
  return call_retrying<pb::CountWorkflowsResponse>(count_atom::value, encode(req), timeout_);
}

caf::expected<pb::NamespaceResponse> client::register_namespace(
  const pb::RegisterNamespaceRequest& req) {
  return call<pb::NamespaceResponse>(ns_register_atom::value, encode(req), timeout_);
}

caf::expected<pb::NamespaceResponse> client::update_namespace(const pb::UpdateNamespaceRequest& req) {
  return call<pb::NamespaceResponse>(ns_update_atom::value, encode(req), timeout_);
}

caf::expected<pb::NamespaceResponse> client::describe_namespace(const std::string& ns) {
  pb::DescribeNamespaceRequest req;
  req.set_namespace_(ns);
  return call_retrying<pb::NamespaceResponse>(ns_describe_atom::value, encode(req), timeout_);
}

caf::expected<pb::ListNamespacesResponse> client::list_namespaces() {
  return call_retrying<pb::ListNamespacesResponse>(ns_list_atom::value,
                                                   encode(pb::ListNamespacesRequest{}), timeout_);
}

caf::expected<pb::DescribeTaskQueueResponse> client::describe_task_queue(const std::string& ns,
                                                                         const std::string& queue) {
  pb::DescribeTaskQueueRequest req;
  req.set_namespace_(ns);
  req.set_task_queue(queue);
  return call_retrying<pb::DescribeTaskQueueResponse>(tq_describe_atom::value, encode(req),
                                                      timeout_);
}

caf::expected<pb::TaskQueueConfigResponse> client::set_task_queue_config(
  const pb::SetTaskQueueConfigRequest& req) {
  return call<pb::TaskQueueConfigResponse>(tq_config_set_atom::value, encode(req), timeout_);
}

caf::expected<pb::TaskQueueConfigResponse> client::get_task_queue_config(const std::string& ns,
                                                                         const std::string& queue) {
  pb::GetTaskQueueConfigRequest req;
  req.set_namespace_(ns);
  req.set_task_queue(queue);
  return call_retrying<pb::TaskQueueConfigResponse>(tq_config_get_atom::value, encode(req),
                                                    timeout_);
}

caf::expected<pb::ScheduleDescription> client::create_schedule(const pb::CreateScheduleRequest& req) {
  return call_retrying<pb::ScheduleDescription>(sch_create_atom::value, encode(req), timeout_);
}

caf::expected<pb::ScheduleDescription> client::update_schedule(const pb::UpdateScheduleRequest& req) {
  return call_retrying<pb::ScheduleDescription>(sch_update_atom::value, encode(req), timeout_);
}

caf::expected<pb::ScheduleDescription> client::patch_schedule(const pb::PatchScheduleRequest& req) {
  return call_retrying<pb::ScheduleDescription>(sch_patch_atom::value, encode(req), timeout_);
}

caf::expected<pb::ScheduleDescription> client::delete_schedule(const std::string& ns,
                                                               const std::string& schedule_id) {
  pb::DeleteScheduleRequest req;
  req.set_namespace_(ns);
  req.set_schedule_id(schedule_id);
  return call_retrying<pb::ScheduleDescription>(sch_delete_atom::value, encode(req), timeout_);
}

caf::expected<pb::ScheduleDescription> client::describe_schedule(const std::string& ns,
                                                                 const std::string& schedule_id) {
  pb::DescribeScheduleRequest req;
  req.set_namespace_(ns);
  req.set_schedule_id(schedule_id);
  return call_retrying<pb::ScheduleDescription>(sch_describe_atom::value, encode(req), timeout_);
}

caf::expected<pb::ListSchedulesResponse> client::list_schedules(const std::string& ns) {
  pb::ListSchedulesRequest req;
  req.set_namespace_(ns);
  return call_retrying<pb::ListSchedulesResponse>(sch_list_atom::value, encode(req), timeout_);
}

caf::expected<pb::BatchJobDescription> client::start_batch(pb::StartBatchJobRequest req) {
  if (req.request_id().empty()) req.set_request_id(new_request_id());
  return call_retrying<pb::BatchJobDescription>(bat_start_atom::value, encode(req), timeout_);
}

caf::expected<pb::BatchJobDescription> client::describe_batch(const std::string& ns,
                                                              const std::string& job_id) {
  pb::DescribeBatchJobRequest req;
  req.set_namespace_(ns);
  req.set_job_id(job_id);
  return call_retrying<pb::BatchJobDescription>(bat_describe_atom::value, encode(req), timeout_);
}

caf::expected<pb::BatchJobDescription> client::stop_batch(const std::string& ns,
                                                          const std::string& job_id,
                                                          const std::string& reason,
                                                          const std::string& identity) {
  pb::StopBatchJobRequest req;
  req.set_namespace_(ns);
  req.set_job_id(job_id);
  req.set_reason(reason);
  req.set_identity(identity);
  return call_retrying<pb::BatchJobDescription>(bat_stop_atom::value, encode(req), timeout_);
}

caf::expected<pb::ListBatchJobsResponse> client::list_batches(const std::string& ns) {
  pb::ListBatchJobsRequest req;
  req.set_namespace_(ns);
  return call_retrying<pb::ListBatchJobsResponse>(bat_list_atom::value, encode(req), timeout_);
}

caf::expected<pb::SignalWorkflowResponse> client::signal(const std::string& ns,
                                                         const std::string& workflow_id,
                                                         const std::string& run_id,
                                                         const std::string& signal_name,
                                                         const pb::Payload& input,
                                                         const std::string& identity) {
  pb::SignalWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_signal_name(signal_name);
  *req.mutable_input() = input;
  req.set_identity(identity);
  req.set_request_id(new_request_id());
  return call_retrying<pb::SignalWorkflowResponse>(signal_atom::value, encode(req), timeout_);
}

caf::expected<pb::SignalWithStartWorkflowResponse>
client::signal_with_start(const pb::StartWorkflowRequest& start, const std::string& signal_name,
                          const pb::Payload& input) {
  pb::SignalWithStartWorkflowRequest req;
  req.set_namespace_(start.namespace_());
  req.set_workflow_id(start.workflow_id());
  req.set_workflow_type(start.workflow_type());
  req.set_task_queue(start.task_queue());
  *req.mutable_input() = start.input();
  req.set_identity(start.identity());
  req.set_request_id(start.request_id().empty() ? new_request_id() : start.request_id());
  req.set_signal_name(signal_name);
  *req.mutable_signal_input() = input;
  return call_retrying<pb::SignalWithStartWorkflowResponse>(sigstart_atom::value, encode(req),
                                                   request_timeout);
}

caf::expected<pb::UpdateWorkflowResponse> client::update(pb::UpdateWorkflowRequest req,
                                                         std::chrono::milliseconds timeout) {
  if (req.update_id().empty()) req.set_update_id(new_request_id());
  if (req.has_start() && req.start().request_id().empty())
    req.mutable_start()->set_request_id(new_request_id());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The node holds each call up to the wait, then answers with the stage reached: ask again.
  constexpr auto slice = std::chrono::milliseconds(5000);
  constexpr auto margin = std::chrono::milliseconds(3000);
  caf::error last;
  pb::UpdateStage stage = pb::UPDATE_STAGE_UNSPECIFIED;
  bool started = false;
  while (std::chrono::steady_clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    auto wait = std::max(std::min(left, slice), std::chrono::milliseconds(1));
    req.set_wait_ms(wait.count());
    auto res = call<pb::UpdateWorkflowResponse>(update_atom::value, encode(req), wait + margin);
    if (res && res->started()) {
      started = true;
      req.clear_start();  // started by this call: only the update remains
    }
    if (res && res->stage() == pb::UPDATE_STAGE_COMPLETED) {
      res->set_started(started);
      return res;
    }
    if (res) {
      stage = res->stage();
      continue;
    }
    last = res.error();
    if (chronicle_code(last) == static_cast<uint8_t>(errc::unavailable)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (chronicle_code(last) != 0) return last;
    // Timeout or lost connection (a node restart): reconnect when needed and ask again.
    if (!call_ping()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      reconnect();
    }
  }
  std::string reached = stage == pb::UPDATE_STAGE_ACCEPTED   ? "accepted, its handler still runs"
                        : stage == pb::UPDATE_STAGE_ADMITTED ? "admitted, not yet taken by a worker"
                                                             : error_text(last);
  return make_error(errc::unavailable, "timed out waiting for update '" + req.update_id() + "' of '"
                                         + req.workflow_id() + "' (" + reached + ")");
}

caf::expected<pb::TerminateWorkflowResponse> client::terminate(const std::string& ns,
                                                               const std::string& workflow_id,
                                                               const std::string& run_id,
                                                               const std::string& reason,
                                                               const std::string& identity) {
  pb::TerminateWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_reason(reason);
  req.set_identity(identity);
  return call<pb::TerminateWorkflowResponse>(terminate_atom::value, encode(req), timeout_);
}

caf::expected<pb::ResetWorkflowResponse> client::reset(const pb::ResetWorkflowRequest& req) {
  return call<pb::ResetWorkflowResponse>(reset_atom::value, encode(req), timeout_);
}

caf::expected<pb::DeleteWorkflowResponse> client::delete_workflow(const std::string& ns,
                                                                  const std::string& workflow_id,
                                                                  const std::string& run_id,
                                                                  const std::string& identity) {
  pb::DeleteWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_identity(identity);
  return call<pb::DeleteWorkflowResponse>(delete_atom::value, encode(req), timeout_);
}

namespace {

template <class Req>
Req pause_request(const std::string& ns, const std::string& workflow_id, const std::string& run_id,
                  const std::string& reason, const std::string& identity) {
  Req req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_reason(reason);
  req.set_identity(identity);
  return req;
}

}  // namespace

caf::expected<pb::PauseWorkflowResponse> client::pause(const std::string& ns,
                                                       const std::string& workflow_id,
                                                       const std::string& run_id,
                                                       const std::string& reason,
                                                       const std::string& identity) {
  auto req = pause_request<pb::PauseWorkflowRequest>(ns, workflow_id, run_id, reason, identity);
  return call<pb::PauseWorkflowResponse>(pause_atom::value, encode(req), timeout_);
}

caf::expected<pb::UnpauseWorkflowResponse> client::unpause(const std::string& ns,
                                                           const std::string& workflow_id,
                                                           const std::string& run_id,
                                                           const std::string& reason,
                                                           const std::string& identity) {
  auto req = pause_request<pb::UnpauseWorkflowRequest>(ns, workflow_id, run_id, reason, identity);
  return call<pb::UnpauseWorkflowResponse>(unpause_atom::value, encode(req), timeout_);
}

template <class Fill>
caf::expected<pb::RespondActivityByTokenResponse>
client::by_token(const std::string& task_token, const std::string& identity, bool retry,
                 Fill fill) {
  pb::RespondActivityByTokenRequest req;
  if (auto why = parse_task_token(task_token, req.mutable_token()); !why.empty())
    return make_error(errc::invalid_argument, why);
  req.set_namespace_(req.token().namespace_());
  req.set_workflow_id(req.token().workflow_id());
  req.set_identity(identity);
  fill(req);
  using resp = pb::RespondActivityByTokenResponse;
  return retry ? call_retrying<resp>(act_token_atom::value, encode(req), timeout_)
               : call<resp>(act_token_atom::value, encode(req), timeout_);
}

caf::expected<pb::RespondActivityByTokenResponse>
client::complete_activity(const std::string& task_token, const pb::Payload& result,
                          const std::string& identity) {
  return by_token(task_token, identity, false,
                  [&](auto& req) { *req.mutable_result() = result; });
}

caf::expected<pb::RespondActivityByTokenResponse>
client::fail_activity(const std::string& task_token, const pb::Failure& failure,
                      const std::string& identity) {
  return by_token(task_token, identity, false,
                  [&](auto& req) { *req.mutable_failure() = failure; });
}

caf::expected<pb::RespondActivityByTokenResponse>
client::heartbeat_activity(const std::string& task_token, const pb::Payload& details,
                           const std::string& identity) {
  return by_token(task_token, identity, true,
                  [&](auto& req) { *req.mutable_heartbeat_details() = details; });
}

caf::expected<pb::RequestCancelWorkflowResponse> client::cancel(const std::string& ns,
                                                                const std::string& workflow_id,
                                                                const std::string& run_id,
                                                                const std::string& reason,
                                                                const std::string& identity) {
  pb::RequestCancelWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_reason(reason);
  req.set_identity(identity);
  req.set_request_id(new_request_id());
  return call_retrying<pb::RequestCancelWorkflowResponse>(cancel_atom::value, encode(req), timeout_);
}

caf::expected<pb::QueryWorkflowResponse> client::query(const std::string& ns,
                                                       const std::string& workflow_id,
                                                       const std::string& run_id,
                                                       const std::string& type,
                                                       const pb::Payload& args) {
  pb::QueryWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(workflow_id);
  req.set_run_id(run_id);
  req.set_query_type(type);
  *req.mutable_args() = args;
  return call_retrying<pb::QueryWorkflowResponse>(query_atom::value, encode(req), timeout_);
}

std::map<uint32_t, std::string> client::serving_leaders(const pb::ClusterStatusResponse& status) {
  std::map<uint32_t, std::string> out;
  for (auto& n : status.nodes())
    for (auto& s : n.shards())
      if (s.available() && s.replication().leader() == n.node()) out[s.shard()] = n.node();
  return out;
}

caf::expected<pb::ClusterStatusResponse> client::cluster_status(bool with_shards,
                                                                bool with_digests) {
  pb::ClusterStatusRequest req;
  req.set_with_shards(with_shards);
  req.set_with_digests(with_digests);
  return call<pb::ClusterStatusResponse>(cluster_atom::value, encode(req), timeout_);
}

bool client::call_ping() {
  auto& self = this->self();
  bool ok = false;
  self->request(node_, std::chrono::milliseconds(1000), ping_atom::value)
    .receive([&](const std::string&) { ok = true; },
             // A refusal (e.g. unauthenticated) is an answer too: the node is there.
             [&](caf::error& err) { ok = chronicle_code(err) != 0; });
  return ok;
}

}  // namespace chronicle
