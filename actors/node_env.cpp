#include "actors/node_env.hpp"

namespace chronicle {

namespace {

template <class Msg>
caf::expected<pb::TaskToken> token(const std::string& bytes, const char* what) {
  auto msg = decode<Msg>(bytes, what);
  if (!msg) return msg.error();
  return msg->token();
}

template <class Msg>
caf::expected<route_key> from_request(const std::string& bytes, const char* what) {
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
    case wf_done_atom::uint_value():
      return token<pb::RespondWorkflowTaskCompleted>(bytes, "RespondWorkflowTaskCompleted");
    case wf_fail_atom::uint_value():
      return token<pb::RespondWorkflowTaskFailed>(bytes, "RespondWorkflowTaskFailed");
    case act_done_atom::uint_value():
      return token<pb::RespondActivityTaskCompleted>(bytes, "RespondActivityTaskCompleted");
    case act_fail_atom::uint_value():
      return token<pb::RespondActivityTaskFailed>(bytes, "RespondActivityTaskFailed");
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
    case timer_atom::uint_value():
      return from_request<pb::TimerRecord>(bytes, "TimerRecord");
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

}  // namespace chronicle
