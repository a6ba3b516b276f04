#include "actors/execution/execution_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "actors/execution/execution_state.hpp"
#include "actors/execution/lifecycle.hpp"
#include "actors/execution/reset.hpp"
#include "actors/routing/validation.hpp"
#include "shards/workflow_rules.hpp"

namespace chronicle {

namespace {

using self_ptr = execution_self;

std::string make_run_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto a = rng(), b = rng();
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", uint32_t(a >> 32),
                uint32_t((a >> 16) & 0xffff), uint32_t(a & 0x0fff),
                uint32_t(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

// Checks that a task token addresses the current run.
caf::error check_token(self_ptr self, const pb::TaskToken& tok) {
  auto& st = self->state;
  if (!st.run) return make_error(errc::not_found, "workflow " + st.args.workflow_id + " not found");
  if (tok.run_id() != st.run->run_id())
    return make_error(errc::stale_task, "task belongs to run " + tok.run_id()
                                          + ", current run is " + st.run->run_id());
  // The retries of a failing workflow task (transient) share its scheduled ID: a late answer
  // of an earlier attempt is told apart by the attempt.
  const auto& wt = st.run->workflow_task();
  if (st.run->has_workflow_task() && wt.transient() && tok.scheduled_event_id() == wt.scheduled_event_id()
      && tok.attempt() != 0 && tok.attempt() != wt.attempt())
    return make_error(errc::stale_task, "workflow task attempt " + std::to_string(tok.attempt())
                                          + " was retried (attempt " + std::to_string(wt.attempt())
                                          + " is current)");
  return caf::none;
}

// Who a reply is for: another party (a client, another workflow) gets it once every write before
// it is durable; a node-internal task message (a task queue, a worker's answer) at once.
enum class audience { external, internal };

// Answers `rp` with `reply`: at once, or once durable (see audience).
void deliver(self_ptr self, caf::response_promise rp, caf::expected<std::string> reply,
             audience who) {
  if (who == audience::internal) {
    if (reply) rp.deliver(std::move(*reply));
    else rp.deliver(std::move(reply.error()));
    return;
  }
  self->state.when_durable([rp, reply = std::move(reply)](const caf::error& err) mutable {
    if (err) rp.deliver(err);
    else if (reply) rp.deliver(std::move(*reply));
    else rp.deliver(std::move(reply.error()));
  });
}

// A reply to another party computed now (from the state in memory), sent once that state is
// durable.
caf::result<std::string> reply_durable(self_ptr self, caf::expected<std::string> reply) {
  if (self->state.all_durable()) {
    if (reply) return std::move(*reply);
    return std::move(reply.error());
  }
  auto rp = self->make_response_promise();
  deliver(self, rp, std::move(reply), audience::external);
  return caf::delegated<std::string>{};
}

// Runs `settle(done)` (a step or a rule's transition) and answers the current request with
// make_reply() (a caf::expected<std::string>, computed right after the transition is applied) or
// with the rejection; see audience for when.
template <class Settle, class MakeReply>
caf::result<std::string> reply_after(self_ptr self, Settle settle, MakeReply make_reply,
                                     audience who = audience::external) {
  auto rp = self->make_response_promise();
  settle([self, rp, who, make_reply = std::move(make_reply)](caf::error err) mutable {
    if (err) deliver(self, rp, std::move(err), who);
    else deliver(self, rp, make_reply(), who);
  });
  passivate_soon_if_closed(self);
  return caf::delegated<std::string>{};
}

// reply_after for an input run through decide.
template <class MakeReply>
caf::result<std::string> reply_after_step(self_ptr self, const decide_input& in,
                                          MakeReply make_reply,
                                          audience who = audience::external) {
  return reply_after(
    self, [self, &in](execution_state::step_done done) { self->state.step(self, in, std::move(done)); },
    std::move(make_reply), who);
}

// Common path of worker answers: decode, check the token, decide, commit; replies "" when done.
template <class Msg, class MakeInput>
caf::result<std::string> on_answer(self_ptr self, const std::string& bytes, const char* what,
                                   MakeInput make_input) {
  touch(self);
  if (auto err = self->state.load()) return err;
  auto msg = decode<Msg>(bytes, what);
  if (!msg) return msg.error();
  if (auto err = check_token(self, msg->token())) return err;
  return reply_after_step(self, make_input(*msg), [] { return caf::expected<std::string>{""}; },
                          audience::internal);
}

// Whether the workflow asked to cancel the activity of `tok` (its heartbeats say so).
bool cancel_requested(self_ptr self, const pb::TaskToken& tok) {
  auto& st = self->state;
  if (!st.run) return false;
  auto it = st.run->pending_activities().find(tok.scheduled_event_id());
  return it != st.run->pending_activities().end() && it->second.cancel_requested_event_id() != 0;
}

// A worker's heartbeat: recorded like an answer, then answered with whether the workflow asked to
// cancel the activity (the SDK's heartbeat() reports it).
caf::result<std::string> on_heartbeat(self_ptr self, const std::string& bytes) {
  touch(self);
  if (auto err = self->state.load()) return err;
  auto msg = decode<pb::RecordActivityTaskHeartbeat>(bytes, "RecordActivityTaskHeartbeat");
  if (!msg) return msg.error();
  if (auto err = check_token(self, msg->token())) return err;
  decide_input in = input::activity_heartbeat{msg->token().scheduled_event_id(),
                                              msg->token().attempt(), msg->details(),
                                              msg->identity()};
  return reply_after_step(
    self, in,
    [self, tok = msg->token()] {
      pb::RecordActivityTaskHeartbeatResponse resp;
      resp.set_cancel_requested(cancel_requested(self, tok));
      return caf::expected<std::string>{encode(resp)};
    },
    audience::internal);
}

// The worker's activity function returned without a result: it is completed elsewhere by its
// token. Nothing changes (the attempt stays started, its timeouts run); a stale token is refused
// so that the worker's log says so.
caf::result<std::string> on_async(self_ptr self, const std::string& bytes) {
  touch(self);
  if (auto err = self->state.load()) return err;
  auto msg = decode<pb::ActivityTaskAsync>(bytes, "ActivityTaskAsync");
  if (!msg) return msg.error();
  if (auto err = check_token(self, msg->token())) return err;
  if (!is_running(*self->state.run))
    return make_error(errc::stale_task, "workflow execution is closed");
  return std::string{};
}

// A client completes, fails or heartbeats an activity attempt by its task token (asynchronous
// completion): decided as the worker's answer would be, answered once durable.
caf::result<std::string> on_by_token(self_ptr self, const std::string& bytes) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto msg = decode<pb::RespondActivityByTokenRequest>(bytes, "RespondActivityByTokenRequest");
  if (!msg) return msg.error();
  const auto& tok = msg->token();
  if (!st.run)
    return make_error(errc::not_found, "workflow " + st.args.workflow_id + " not found");
  if (tok.run_id() != st.run->run_id())
    return make_error(errc::stale_task, "the activity's run " + tok.run_id() + " of workflow "
                                          + st.args.workflow_id + " is not its current run");
  if (!is_running(*st.run))
    return make_error(errc::stale_task, "the activity's run " + tok.run_id() + " of workflow "
                                          + st.args.workflow_id + " is closed ("
                                          + status_name(st.run->status()) + ")");
  auto id = tok.scheduled_event_id();
  auto identity = msg->identity().empty() ? std::string("async completion") : msg->identity();
  decide_input in;
  switch (msg->outcome_case()) {
    case pb::RespondActivityByTokenRequest::kResult:
      in = input::activity_completed{id, msg->result(), identity, tok.attempt()};
      break;
    case pb::RespondActivityByTokenRequest::kFailure:
      in = input::activity_failed{id, msg->failure(), identity, tok.attempt()};
      break;
    case pb::RespondActivityByTokenRequest::kHeartbeatDetails:
      in = input::activity_heartbeat{id, tok.attempt(), msg->heartbeat_details(), identity};
      break;
    default:
      return make_error(errc::invalid_argument, "no result, failure or heartbeat given");
  }
  return reply_after_step(self, in, [self, tok] {
    pb::RespondActivityByTokenResponse resp;
    resp.set_cancel_requested(cancel_requested(self, tok));
    return caf::expected<std::string>{encode(resp)};
  });
}

std::string start_response(const std::string& run_id, bool started) {
  pb::StartWorkflowResponse resp;
  resp.set_run_id(run_id);
  resp.set_started(started);
  return encode(resp);
}

// A start: the workflow ID policies (shards/workflow_rules.hpp) decide between a new run, the
// existing one, a refusal, or one transition that terminates the running run and starts the next.
caf::result<std::string> on_start(self_ptr self, const std::string& bytes) {
  auto& st = self->state;
  auto req = decode<pb::StartWorkflowRequest>(bytes, "StartWorkflowRequest");
  if (!req) return req.error();
  auto res = decide_start(st.run ? &*st.run : nullptr, *req, make_run_id(), now_ms());
  if (auto* rej = std::get_if<rejection>(&res)) return make_error(rej->code, rej->message);
  if (auto* existing = std::get_if<start_existing>(&res))
    return reply_durable(self, start_response(existing->run_id, false));
  decide_result t = std::get<transition>(std::move(res));
  return reply_after(
    self,
    [self, t = std::move(t)](execution_state::step_done done) mutable {
      self->state.settle(self, std::move(t), false, std::move(done));
    },
    [self] {
      auto& st = self->state;
      spdlog::debug("started workflow {}/{} run {}", st.args.ns, st.args.workflow_id,
                    st.run->run_id());
      return caf::expected<std::string>{start_response(st.run->run_id(), true)};
    });
}

caf::result<std::string> on_result(self_ptr self, const std::string& bytes) {
  auto& st = self->state;
  auto req = decode<pb::GetResultRequest>(bytes, "GetResultRequest");
  if (!req) return req.error();
  if (!st.run) return make_error(errc::not_found, "workflow '" + st.args.workflow_id + "' not found");
  const pb::MutableState* ms = &*st.run;
  std::optional<pb::MutableState> other;
  if (!req->run_id().empty() && req->run_id() != st.run->run_id()) {
    storage::status sst;
    other = st.args.env->store->load_state(
      storage::run_key{st.args.shard_id, st.args.ns, st.args.workflow_id, req->run_id()}, &sst);
    if (!sst.ok()) return make_error(errc::internal, sst.message());
    if (!other) return make_error(errc::not_found, "run " + req->run_id() + " not found");
    ms = &*other;
  }
  if (is_running(*ms)) {
    auto rp = self->make_response_promise();
    st.result_waiters.push_back(rp);
    return caf::delegated<std::string>{};
  }
  pb::GetResultResponse resp;
  resp.set_run_id(ms->run_id());
  resp.set_status(ms->status());
  *resp.mutable_result() = ms->result();
  *resp.mutable_failure() = ms->failure();
  resp.set_new_run_id(ms->continued_to_run_id());
  return reply_durable(self, encode(resp));
}

// The started workflow task `token` names, for `worker` (see append_task_history).
caf::expected<std::string> started_task(self_ptr self, const pb::TaskToken& token,
                                        const std::string& worker, bool whole = false) {
  auto& st = self->state;
  pb::WorkflowTask task;
  *task.mutable_token() = token;
  task.mutable_token()->set_attempt(st.run->workflow_task().attempt());
  task.set_workflow_type(st.run->workflow_type());
  task.set_started_event_id(st.run->workflow_task().started_event_id());
  st.attach_updates(task);
  std::string wire;
  if (auto err = st.append_task_history(wire, task, worker, whole)) return err;
  using kind = metrics::registry::task_history;
  st.args.env->metrics->on_workflow_task_sent(whole                        ? kind::refetched
                                              : task.first_event_id() > 1 ? kind::new_events
                                                                          : kind::whole);
  return wire;
}

caf::result<std::string> on_workflow_task_started(self_ptr self, const std::string& bytes) {
  auto req = decode<pb::RecordWorkflowTaskStarted>(bytes, "RecordWorkflowTaskStarted");
  if (!req) return req.error();
  if (auto err = check_token(self, req->token())) return err;
  auto in = input::workflow_task_started{req->token().scheduled_event_id(), req->identity()};
  return reply_after_step(self, in, [self, token = req->token(),
                                     worker = req->sticky_worker()]() -> caf::expected<std::string> {
    watch_workflow_task(self);
    return started_task(self, token, worker);
  }, audience::internal);
}

// A worker sent only the new events of a started task lacks the earlier ones: the whole task.
caf::result<std::string> on_workflow_task_history(self_ptr self, const std::string& bytes) {
  auto req = decode<pb::GetWorkflowTaskHistory>(bytes, "GetWorkflowTaskHistory");
  if (!req) return req.error();
  if (auto err = check_token(self, req->token())) return err;
  auto& st = self->state;
  const auto& wt = st.run->workflow_task();
  if (!st.run->has_workflow_task() || wt.started_event_id() == 0
      || wt.scheduled_event_id() != req->token().scheduled_event_id()
      || wt.attempt() != req->token().attempt())
    return make_error(errc::stale_task, "workflow task "
                                          + std::to_string(req->token().scheduled_event_id())
                                          + " of " + st.args.workflow_id + " is not the started one");
  // The asking worker was handed the task: it stays the sticky one, now holding everything.
  return started_task(self, req->token(), st.run->sticky_worker(), true);
}

// A signal, terminate or cancel request addresses the current run, by default or by its ID; any
// other run is closed (only the current run can run) or unknown.
caf::error check_addressed_run(self_ptr self, const std::string& run_id) {
  auto& st = self->state;
  const auto& wid = st.args.workflow_id;
  if (!st.run) return make_error(errc::not_found, "workflow '" + wid + "' not found");
  if (run_id.empty() || run_id == st.run->run_id()) return caf::none;
  storage::status sst;
  auto other = st.args.env->store->load_state(
    storage::run_key{st.args.shard_id, st.args.ns, wid, run_id}, &sst);
  if (!sst.ok()) return make_error(errc::internal, sst.message());
  if (!other) return make_error(errc::not_found, "run " + run_id + " of workflow '" + wid
                                                   + "' not found");
  return make_error(errc::not_found, "workflow '" + wid + "' run " + run_id + " is closed ("
                                       + status_name(other->status()) + ")");
}

// Signal, terminate, cancel: decode Msg, check the run, decide, commit; answers Resp{run_id}.
template <class Msg, class Resp, class MakeInput>
caf::result<std::string> on_addressed(self_ptr self, const std::string& bytes, const char* what,
                                      MakeInput make_input) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto req = decode<Msg>(bytes, what);
  if (!req) return req.error();
  if (auto err = check_addressed_run(self, req->run_id())) return err;
  return reply_after_step(self, make_input(*req), [self]() -> caf::expected<std::string> {
    Resp resp;
    resp.set_run_id(self->state.run->run_id());
    return encode(resp);
  });
}

caf::result<std::string> on_signal_with_start(self_ptr self, const std::string& bytes) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto req = decode<pb::SignalWithStartWorkflowRequest>(bytes, "SignalWithStartWorkflowRequest");
  if (!req) return req.error();
  input::signal_with_start in;
  in.request.set_namespace_(req->namespace_());
  in.request.set_workflow_id(req->workflow_id());
  in.request.set_workflow_type(req->workflow_type());
  in.request.set_task_queue(req->task_queue());
  *in.request.mutable_input() = req->input();
  in.request.set_identity(req->identity());
  in.request.set_request_id(req->request_id());
  in.run_id = make_run_id();
  in.signal = {req->signal_name(), req->signal_input(), req->identity(), req->request_id()};
  bool was_running = st.run && is_running(*st.run);
  return reply_after_step(self, in, [self, was_running, name = req->signal_name()]()
                                      -> caf::expected<std::string> {
    auto& st = self->state;
    pb::SignalWithStartWorkflowResponse resp;
    resp.set_run_id(st.run->run_id());
    resp.set_started(!was_running);
    if (!was_running)
      spdlog::debug("started workflow {}/{} run {} with signal '{}'", st.args.ns,
                    st.args.workflow_id, resp.run_id(), name);
    return encode(resp);
  });
}

// Workflow Update: with a start (update-with-start) and no running run, the run starts first
// (the ID reuse policy applies; a running run is updated: USE_EXISTING); then the update is
// admitted (updates.cpp), or answered from the run's state when known.
caf::result<std::string> on_update(self_ptr self, const std::string& bytes) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto req = decode<pb::UpdateWorkflowRequest>(bytes, "UpdateWorkflowRequest");
  if (!req) return req.error();
  bool started = false;
  if (req->has_start() && !(st.run && is_running(*st.run))) {
    auto start = req->start();
    start.set_id_conflict_policy(pb::WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING);
    auto res = decide_start(st.run ? &*st.run : nullptr, start, make_run_id(), now_ms());
    if (auto* rej = std::get_if<rejection>(&res)) return make_error(rej->code, rej->message);
    if (auto* t = std::get_if<transition>(&res)) {
      caf::error failed;
      st.settle(self, std::move(*t), false, [&failed](caf::error err) { failed = std::move(err); });
      if (failed) return failed;
      started = true;
      spdlog::debug("started workflow {}/{} run {} with update '{}'", st.args.ns,
                    st.args.workflow_id, st.run->run_id(), req->name());
    }
  } else if (auto err = check_addressed_run(self, req->run_id())) {
    return err;
  }
  auto result = st.admit_update(self, *req, started);
  wake_at(self, now_ms() + update_wait_ms(req->wait_ms()));
  return result;
}

// A worker's answer to a workflow task: decided like the other answers; then the updates its
// validators refused are answered (when the task completed), and admitted updates that no task
// carries get a speculative one.
caf::result<std::string> on_workflow_task_completed(self_ptr self, const std::string& bytes) {
  touch(self);
  auto& st = self->state;
  if (auto err = st.load()) return err;
  auto msg = decode<pb::RespondWorkflowTaskCompleted>(bytes, "RespondWorkflowTaskCompleted");
  if (!msg) return msg.error();
  if (auto err = check_token(self, msg->token())) return err;
  if (!msg->build_id().empty())  // recorded in history and indexed: checked like an ID
    if (auto why = check_id("build ID", msg->build_id()); !why.empty())
      return make_error(errc::invalid_argument, why);
  auto scheduled = msg->token().scheduled_event_id();
  input::workflow_task_completed in{scheduled, {msg->commands().begin(), msg->commands().end()},
                                    msg->identity(), {}};
  in.build_id = msg->build_id();
  if (!in.commands.empty() && in.commands.back().has_continue_as_new_workflow_execution())
    in.new_run_id = make_run_id();
  in.undelivered_updates = st.undelivered_updates(scheduled);
  in.search_schema = &st.args.env->config.search_attributes_of(st.args.ns);  // used by the step
  const auto& wt = st.run->workflow_task();
  bool speculative = st.run->has_workflow_task() && wt.speculative()
                     && wt.scheduled_event_id() == scheduled;
  auto last_completed = st.run->last_workflow_task_completed_event_id();
  return reply_after_step(
    self, decide_input{std::move(in)},
    [self, speculative, last_completed,
     rejections = std::move(*msg->mutable_update_rejections())]() -> caf::expected<std::string> {
      auto& st = self->state;
      bool completed = st.run->last_workflow_task_completed_event_id() != last_completed
                       || (speculative && !st.run->has_workflow_task());
      if (completed) st.reject_updates(rejections);
      st.schedule_update_task(self);
      return std::string();
    },
    audience::internal);
}

// Dispatches the pending tasks in `scope` again (routing.hpp).
void redispatch_moved(caf::stateful_actor<execution_state>* self, const redispatch_scope& scope) {
  touch(self);
  if (auto err = self->state.load()) return;
  self->state.redispatch(self, true, scope);
}

}  // namespace

caf::behavior execution_actor(caf::stateful_actor<execution_state>* self, execution_args args) {
  self->state.args = std::move(args);
  self->state.pipeline = commit_pipeline{self->state.args.log.get()};
  harden(self, "execution");
  return {
    [=](start_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      return on_start(self, bytes);
    },
    [=](result_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      return on_result(self, bytes);
    },
    [=](history_wait_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      auto req = decode<pb::GetHistoryRequest>(bytes, "GetHistoryRequest");
      if (!req) return req.error();
      return self->state.wait_history(self, *req);
    },
    [=](signal_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_addressed<pb::SignalWorkflowRequest, pb::SignalWorkflowResponse>(
        self, bytes, "SignalWorkflowRequest", [](auto& m) {
          return decide_input{input::signal_workflow{m.signal_name(), m.input(), m.identity(),
                                                     m.request_id()}};
        });
    },
    [=](sigstart_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_signal_with_start(self, bytes);
    },
    [=](terminate_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_addressed<pb::TerminateWorkflowRequest, pb::TerminateWorkflowResponse>(
        self, bytes, "TerminateWorkflowRequest", [=](auto& m) {
          spdlog::info("terminating workflow {}/{}: {}", m.namespace_(), m.workflow_id(),
                       m.reason());
          return decide_input{input::terminate_workflow{m.reason(), m.identity()}};
        });
    },
    [=](reset_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_reset(self, bytes, make_run_id());
    },
    [=](delete_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_delete(self, bytes);
    },
    [=](pause_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_addressed<pb::PauseWorkflowRequest, pb::PauseWorkflowResponse>(
        self, bytes, "PauseWorkflowRequest", [=](auto& m) {
          spdlog::info("pausing workflow {}/{}: {}", m.namespace_(), m.workflow_id(), m.reason());
          return decide_input{input::pause_workflow{m.reason(), m.identity()}};
        });
    },
    [=](unpause_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_addressed<pb::UnpauseWorkflowRequest, pb::UnpauseWorkflowResponse>(
        self, bytes, "UnpauseWorkflowRequest", [=](auto& m) {
          spdlog::info("unpausing workflow {}/{}: {}", m.namespace_(), m.workflow_id(),
                       m.reason());
          return decide_input{input::unpause_workflow{m.reason(), m.identity()}};
        });
    },
    [=](cancel_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_addressed<pb::RequestCancelWorkflowRequest, pb::RequestCancelWorkflowResponse>(
        self, bytes, "RequestCancelWorkflowRequest", [](auto& m) {
          return decide_input{input::request_cancel_workflow{m.reason(), m.identity(),
                                                             m.request_id()}};
        });
    },
    [=](wt_start_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      return on_workflow_task_started(self, bytes);
    },
    [=](wt_history_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      return on_workflow_task_history(self, bytes);
    },
    [=](wt_lost_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::WorkflowTaskLost>(self, bytes, "WorkflowTaskLost", [](auto& m) {
        return decide_input{input::workflow_task_timed_out{m.token().scheduled_event_id(), m.cause()}};
      });
    },
    [=](wf_done_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_workflow_task_completed(self, bytes);
    },
    [=](update_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_update(self, bytes);
    },
    [=](child_done_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      auto msg = decode<pb::ChildWorkflowClosed>(bytes, "ChildWorkflowClosed");
      if (!msg) return msg.error();
      if (!self->state.run)
        return make_error(errc::not_found, "parent workflow '" + self->state.args.workflow_id
                                             + "' not found");
      return reply_after_step(self, input::child_closed{std::move(*msg)},
                              [] { return caf::expected<std::string>{""}; });
    },
    [=](child_started_atom, int64_t initiated, const std::string& run_id,
        const std::string& cause) {
      touch_internal(self);
      auto& st = self->state;
      if (auto err = st.load(); err || !st.run) return;
      decide_input in = input::child_started{initiated, run_id};
      if (run_id.empty()) in = input::child_start_failed{initiated, cause};
      st.step(self, in, [self](caf::error err) {
        if (err && chronicle_code(err) != static_cast<uint8_t>(errc::stale_task))
          spdlog::error("child of {}: {}", self->state.args.workflow_id, error_text(err));
      });
    },
    [=](external_done_atom, const std::string& bytes, const std::string& run_id,
        const std::string& cause, const std::string& message) {
      touch_internal(self);
      auto& st = self->state;
      if (auto err = st.load()) return;
      auto rec = decode<pb::TransferRecord>(bytes, "TransferRecord");
      if (!rec) return;
      // Recorded in the run that sent it while it runs; otherwise the answer is only forgotten.
      if (!st.run || st.run->run_id() != rec->run_id() || !is_running(*st.run))
        return st.ack_outbound(self, *rec);
      decide_input in = input::external_delivered{rec->scheduled_event_id(), run_id};
      if (!cause.empty()) in = input::external_failed{rec->scheduled_event_id(), cause, message};
      st.step(self, in, [self, rec = *rec](caf::error err) {
        if (!err) return;
        if (chronicle_code(err) == static_cast<uint8_t>(errc::stale_task))
          self->state.ack_outbound(self, rec);  // answered meanwhile, or the run closed
        else
          spdlog::error("message of {} to {}: {}", self->state.args.workflow_id,
                        rec.target_workflow_id(), error_text(err));
      });
    },
    [=](outbound_atom, const std::string& bytes) {
      touch_internal(self);
      auto& st = self->state;
      if (auto err = st.load(); err || !st.run) return;
      auto rec = decode<pb::TransferRecord>(bytes, "TransferRecord");
      if (!rec) return;
      for (auto& queued : st.run->outbound())  // still queued (not answered meanwhile)?
        if (queued.kind() == rec->kind() && queued.scheduled_event_id() == rec->scheduled_event_id()
            && queued.run_id() == rec->run_id()) {
          st.send_outbound(self, *rec);
          return;
        }
    },
    [=](purge_atom, const std::string& bytes, int64_t delete_at) {
      touch(self);
      auto& st = self->state;
      if (auto err = st.load()) return;
      auto info = decode<pb::WorkflowExecutionInfo>(bytes, "WorkflowExecutionInfo");
      if (info) st.purge(self, *info, delete_at);
    },
    [=](wf_fail_atom, const std::string& bytes) -> caf::result<std::string> {
      // The worker's code is in an unknown state: the next attempt carries the whole history.
      if (!self->state.load()) self->state.set_sticky({}, 0, std::string::npos);
      return on_answer<pb::RespondWorkflowTaskFailed>(
        self, bytes, "RespondWorkflowTaskFailed", [](auto& m) {
          return decide_input{input::workflow_task_failed{m.token().scheduled_event_id(),
                                                          m.failure(), m.identity()}};
        });
    },
    [=](act_done_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::RespondActivityTaskCompleted>(
        self, bytes, "RespondActivityTaskCompleted", [](auto& m) {
          return decide_input{input::activity_completed{m.token().scheduled_event_id(), m.result(),
                                                        m.identity(), m.token().attempt()}};
        });
    },
    [=](act_fail_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::RespondActivityTaskFailed>(
        self, bytes, "RespondActivityTaskFailed", [](auto& m) {
          return decide_input{input::activity_failed{m.token().scheduled_event_id(), m.failure(),
                                                     m.identity(), m.token().attempt()}};
        });
    },
    [=](act_lost_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::ActivityTaskLost>(self, bytes, "ActivityTaskLost", [](auto& m) {
        return decide_input{input::activity_lost{m.token().scheduled_event_id(),
                                                 m.token().attempt(), m.cause()}};
      });
    },
    [=](act_start_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::RecordActivityTaskStarted>(
        self, bytes, "RecordActivityTaskStarted", [](auto& m) {
          return decide_input{input::activity_started{m.token().scheduled_event_id(),
                                                      m.token().attempt(), m.identity()}};
        });
    },
    [=](act_beat_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_heartbeat(self, bytes);
    },
    [=](act_cancel_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::RespondActivityTaskCanceled>(
        self, bytes, "RespondActivityTaskCanceled", [](auto& m) {
          return decide_input{input::activity_canceled{m.token().scheduled_event_id(),
                                                       m.token().attempt(), m.details(),
                                                       m.identity()}};
        });
    },
    [=](act_async_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_async(self, bytes);
    },
    [=](act_token_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_by_token(self, bytes);
    },
    [=](timer_atom, const std::string& bytes) {
      touch(self);
      auto& st = self->state;
      if (auto err = st.load()) {
        spdlog::error("timer for {}: {}", st.args.workflow_id, error_text(err));
        return;
      }
      auto rec = decode<pb::TimerRecord>(bytes, "TimerRecord");
      if (!rec || !st.run || rec->run_id() != st.run->run_id()) return;
      decide_input in = input::timer_fired{rec->started_event_id()};
      if (rec->kind() == pb::TIMER_KIND_ACTIVITY)
        in = input::activity_timer{rec->started_event_id(), rec->fire_time_ms()};
      else if (rec->kind() == pb::TIMER_KIND_WORKFLOW_TIMEOUT)
        in = input::workflow_timed_out{rec->fire_time_ms()};
      bool timeout = rec->kind() == pb::TIMER_KIND_WORKFLOW_TIMEOUT;
      st.step(self, in, [self, timeout](caf::error err) {
        auto& st = self->state;
        if (err && chronicle_code(err) != static_cast<uint8_t>(errc::stale_task))
          spdlog::error("timer for {}: {}", st.args.workflow_id, error_text(err));
        if (!err && timeout) spdlog::info("workflow {}/{} timed out", st.args.ns, st.args.workflow_id);
      });
    },
    [=](recover_atom) {
      touch(self);
      auto& st = self->state;
      if (auto err = st.load()) {
        spdlog::error("recovering {}: {}", st.args.workflow_id, error_text(err));
        return;
      }
      if (!st.run) return;
      // A closed run may still have messages to other workflows to send (its own, or those of
      // the runs it replaced): redispatch sends them and nothing else.
      if (!is_running(*st.run)) return st.redispatch(self, false);
      auto& wt = st.run->workflow_task();
      if (st.run->has_workflow_task() && wt.started_event_id() != 0) {
        // The worker's answer can never arrive: this node restarted since the task started.
        st.step(self, input::workflow_task_timed_out{wt.scheduled_event_id(), "node restarted"},
                [self](caf::error err) {
                  if (err)
                    spdlog::error("recovering {}: {}", self->state.args.workflow_id,
                                  error_text(err));
                  // The new workflow task was dispatched by that transition; the activities
                  // were not.
                  self->state.redispatch(self, false);
                });
        return;
      }
      st.redispatch(self, true);
    },
    [=](redispatch_atom) { redispatch_moved(self, {}); },  // every task (a shard's wake)
    [=](redispatch_atom, const redispatch_scope& scope) { redispatch_moved(self, scope); },
    [=](tick_atom, int64_t due) { on_tick(self, due); },
    [=](stand_down_atom, const std::string& why) { self->state.stand_down(self, why); },
    [=](committed_atom, uint64_t seq, uint8_t outcome, const std::string& what) {
      self->state.on_committed(self, seq, committed_status(outcome, what));
    },
  };
}

}  // namespace chronicle
