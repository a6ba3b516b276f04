#include "actors/node_env.hpp"

#include <spdlog/spdlog.h>

namespace chronicle {

namespace {

// Only the routing fields are read (peek_token, peek_route); `Msg` is decoded whole only to
// word the error of malformed bytes as a whole decode would.
template <class Msg>
caf::expected<pb::TaskToken> token(const std::string& bytes, const char* what) {
  pb::TaskToken tok;
  if (peek_token(bytes, &tok)) return tok;
  auto msg = decode<Msg>(bytes, what);
  if (!msg) return msg.error();
  return msg->token();
}

template <class Msg>
caf::expected<route_key> from_request(const std::string& bytes, const char* what) {
  route_key key;
  if (peek_route(bytes, &key.ns, &key.workflow_id)) return key;
  auto msg = decode<Msg>(bytes, what);
  if (!msg) return msg.error();
  return route_key{msg->namespace_(), msg->workflow_id()};
}

}  // namespace

caf::expected<pb::TaskToken> token_of(caf::atom_value kind, const std::string& bytes) {
  switch (static_cast<uint64_t>(kind)) {
    case wt_start_atom::uint_value():
      return token<pb::RecordWorkflowTaskStarted>(bytes, "RecordWorkflowTaskStarted");
    case wt_lost_atom::uint_value():
      return token<pb::WorkflowTaskLost>(bytes, "WorkflowTaskLost");
    case wt_history_atom::uint_value():
      return token<pb::GetWorkflowTaskHistory>(bytes, "GetWorkflowTaskHistory");
    case wf_done_atom::uint_value():
      return token<pb::RespondWorkflowTaskCompleted>(bytes, "RespondWorkflowTaskCompleted");
    case wf_fail_atom::uint_value():
      return token<pb::RespondWorkflowTaskFailed>(bytes, "RespondWorkflowTaskFailed");
    case act_done_atom::uint_value():
      return token<pb::RespondActivityTaskCompleted>(bytes, "RespondActivityTaskCompleted");
    case act_fail_atom::uint_value():
      return token<pb::RespondActivityTaskFailed>(bytes, "RespondActivityTaskFailed");
    case act_start_atom::uint_value():
      return token<pb::RecordActivityTaskStarted>(bytes, "RecordActivityTaskStarted");
    case act_beat_atom::uint_value():
      return token<pb::RecordActivityTaskHeartbeat>(bytes, "RecordActivityTaskHeartbeat");
    default:
      return make_error(errc::bad_message, "message kind carries no task token");
  }
}

caf::expected<route_key> route_of(caf::atom_value kind, const std::string& bytes) {
  switch (static_cast<uint64_t>(kind)) {
    case start_atom::uint_value():
      return from_request<pb::StartWorkflowRequest>(bytes, "StartWorkflowRequest");
    case result_atom::uint_value():
      return from_request<pb::GetResultRequest>(bytes, "GetResultRequest");
    case signal_atom::uint_value():
      return from_request<pb::SignalWorkflowRequest>(bytes, "SignalWorkflowRequest");
    case sigstart_atom::uint_value():
      return from_request<pb::SignalWithStartWorkflowRequest>(bytes, "SignalWithStartWorkflowRequest");
    case terminate_atom::uint_value():
      return from_request<pb::TerminateWorkflowRequest>(bytes, "TerminateWorkflowRequest");
    case cancel_atom::uint_value():
      return from_request<pb::RequestCancelWorkflowRequest>(bytes, "RequestCancelWorkflowRequest");
    case timer_atom::uint_value():
      return from_request<pb::TimerRecord>(bytes, "TimerRecord");
    case child_done_atom::uint_value(): {
      auto msg = decode<pb::ChildWorkflowClosed>(bytes, "ChildWorkflowClosed");
      if (!msg) return msg.error();
      return route_key{msg->parent().namespace_(), msg->parent().workflow_id()};
    }
    default: {
      auto tok = token_of(kind, bytes);
      if (!tok) return tok.error();
      return route_key{tok->namespace_(), tok->workflow_id()};
    }
  }
}

std::string check_id(const std::string& what, const std::string& value) {
  if (value.empty()) return what + " is empty";
  if (value.size() > max_id_length)
    return what + " is " + std::to_string(value.size()) + " bytes long (at most "
           + std::to_string(max_id_length) + ")";
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f) return what + " contains a control character";
  return {};
}

void harden(caf::scheduled_actor* self, const char* name) {
  self->set_default_handler([name](caf::scheduled_actor* s, caf::message_view& x)
                              -> caf::result<caf::message> {
    auto text = caf::to_string(x.content());
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    spdlog::warn("{}: dropped unexpected message {}", name, text);
    if (s->current_mailbox_element()->mid.is_request())
      return make_error(errc::bad_message, std::string("unexpected message ") + text);
    return caf::message{};
  });
  self->set_error_handler([name](caf::error& err) {
    spdlog::warn("{}: dropped error message: {}", name, error_text(err));
  });
}

bool node_env::owns_shard(uint32_t shard) const {
  return ring->shard_owner(shard) == config.name;
}

namespace {

placement place_on(const node_env& env, const std::string& owner, const std::string& what) {
  placement p;
  if (owner == env.config.name) {
    p.local = true;
    return p;
  }
  std::string why;
  if (auto peer = env.peers->peer(owner, &why)) {
    p.peer = *peer;
  } else {
    p.error = make_error(errc::unavailable, what + " unavailable (owner " + owner + " down"
                                              + (why.empty() ? "" : ": " + why) + ")");
  }
  return p;
}

}  // namespace

placement place_shard(const node_env& env, uint32_t shard) {
  return place_on(env, env.ring->shard_owner(shard), "shard " + std::to_string(shard));
}

placement place_task_queue(const node_env& env, const std::string& ns, const std::string& queue) {
  return place_on(env, env.ring->task_queue_owner(ns, queue), "task queue '" + queue + "'");
}

}  // namespace chronicle
