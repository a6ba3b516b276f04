#include "actors/execution_actor.hpp"

#include <spdlog/spdlog.h>

#include <random>

#include "actors/execution_state.hpp"

namespace chronicle {

namespace {

using self_ptr = caf::stateful_actor<execution_state>*;

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

// Arms the idle check: the actor asks its shard to passivate it once idle for the configured time.
void touch(self_ptr self) {
  auto& st = self->state;
  ++st.handled;
  st.last_message_ms = now_ms();
  if (!st.tick_armed) {
    st.tick_armed = true;
    self->delayed_send(self, std::chrono::milliseconds(st.args.env->config.passivate_after_ms),
                       tick_atom::value);
  }
}

void on_idle_tick(self_ptr self) {
  auto& st = self->state;
  st.tick_armed = false;
  auto idle_for = now_ms() - st.last_message_ms;
  auto limit = st.args.env->config.passivate_after_ms;
  if (idle_for >= limit && st.result_waiters.empty()) {
    self->send(st.args.shard, passivate_atom::value, st.args.ns + '\0' + st.args.workflow_id,
               st.handled);
    return;
  }
  st.tick_armed = true;
  self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(limit - idle_for, 10)),
                     tick_atom::value);
}

// Checks that a task token addresses the current run.
caf::error check_token(self_ptr self, const pb::TaskToken& tok) {
  auto& st = self->state;
  if (!st.run) return make_error(errc::not_found, "workflow " + st.args.workflow_id + " not found");
  if (tok.run_id() != st.run->run_id())
    return make_error(errc::stale_task, "task belongs to run " + tok.run_id()
                                          + ", current run is " + st.run->run_id());
  return caf::none;
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
  auto t = self->state.step(self, make_input(*msg));
  if (!t) return t.error();
  return std::string{};
}

caf::result<std::string> on_start(self_ptr self, const std::string& bytes) {
  auto& st = self->state;
  auto req = decode<pb::StartWorkflowRequest>(bytes, "StartWorkflowRequest");
  if (!req) return req.error();
  if (st.run && is_running(*st.run)) {
    if (!req->request_id().empty() && req->request_id() == st.run->start_request_id()) {
      pb::StartWorkflowResponse resp;  // a retry of the start that created this run
      resp.set_run_id(st.run->run_id());
      return encode(resp);
    }
    return make_error(errc::already_started, "workflow '" + st.args.workflow_id
                                               + "' is already running (run "
                                               + st.run->run_id() + ")");
  }
  auto t = st.step(self, input::start_workflow{*req, make_run_id()});
  if (!t) return t.error();
  spdlog::info("started workflow {}/{} run {}", st.args.ns, st.args.workflow_id, t->state.run_id());
  pb::StartWorkflowResponse resp;
  resp.set_run_id(t->state.run_id());
  resp.set_started(true);
  return encode(resp);
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
  return encode(resp);
}

caf::result<std::string> on_workflow_task_started(self_ptr self, const std::string& bytes) {
  auto& st = self->state;
  auto req = decode<pb::RecordWorkflowTaskStarted>(bytes, "RecordWorkflowTaskStarted");
  if (!req) return req.error();
  if (auto err = check_token(self, req->token())) return err;
  auto t = st.step(self, input::workflow_task_started{req->token().scheduled_event_id(),
                                                      req->identity()});
  if (!t) return t.error();
  pb::WorkflowTask task;
  *task.mutable_token() = req->token();
  task.mutable_token()->set_attempt(st.run->workflow_task().attempt());
  task.set_workflow_type(st.run->workflow_type());
  task.set_started_event_id(st.run->workflow_task().started_event_id());
  std::vector<pb::HistoryEvent> history;
  auto sst = st.args.env->store->read_history(st.key(), &history);
  if (!sst.ok()) return make_error(errc::internal, sst.message());
  for (auto& ev : history) *task.add_history() = std::move(ev);
  return encode(task);
}

}  // namespace

caf::behavior execution_actor(caf::stateful_actor<execution_state>* self, execution_args args) {
  self->state.args = std::move(args);
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
    [=](wt_start_atom, const std::string& bytes) -> caf::result<std::string> {
      touch(self);
      if (auto err = self->state.load()) return err;
      return on_workflow_task_started(self, bytes);
    },
    [=](wt_lost_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::WorkflowTaskLost>(self, bytes, "WorkflowTaskLost", [](auto& m) {
        return decide_input{input::workflow_task_timed_out{m.token().scheduled_event_id(), m.cause()}};
      });
    },
    [=](wf_done_atom, const std::string& bytes) -> caf::result<std::string> {
      return on_answer<pb::RespondWorkflowTaskCompleted>(
        self, bytes, "RespondWorkflowTaskCompleted", [](auto& m) {
          return decide_input{input::workflow_task_completed{
            m.token().scheduled_event_id(), {m.commands().begin(), m.commands().end()},
            m.identity()}};
        });
    },
    [=](wf_fail_atom, const std::string& bytes) -> caf::result<std::string> {
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
    [=](timer_atom, const std::string& bytes) {
      touch(self);
      auto& st = self->state;
      if (auto err = st.load()) {
        spdlog::error("timer for {}: {}", st.args.workflow_id, error_text(err));
        return;
      }
      auto rec = decode<pb::TimerRecord>(bytes, "TimerRecord");
      if (!rec || !st.run || rec->run_id() != st.run->run_id()) return;
      auto t = st.step(self, input::timer_fired{rec->started_event_id()});
      if (!t && chronicle_code(t.error()) != static_cast<uint8_t>(errc::stale_task))
        spdlog::error("timer for {}: {}", st.args.workflow_id, error_text(t.error()));
    },
    [=](recover_atom) {
      touch(self);
      auto& st = self->state;
      if (auto err = st.load()) {
        spdlog::error("recovering {}: {}", st.args.workflow_id, error_text(err));
        return;
      }
      if (!st.run || !is_running(*st.run)) return;
      auto& wt = st.run->workflow_task();
      if (st.run->has_workflow_task() && wt.started_event_id() != 0) {
        // The worker's answer can never arrive: this node restarted since the task started.
        auto t = st.step(self, input::workflow_task_timed_out{wt.scheduled_event_id(),
                                                              "node restarted"});
        if (!t) spdlog::error("recovering {}: {}", st.args.workflow_id, error_text(t.error()));
        // The new workflow task was dispatched by that transition; the activities were not.
        st.redispatch(self, false);
        return;
      }
      st.redispatch(self, true);
    },
    [=](tick_atom) { on_idle_tick(self); },
  };
}

}  // namespace chronicle
