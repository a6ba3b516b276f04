// The CAF-facing vocabulary of Chronicle: atoms naming every message, the error category, and
// helpers that turn protobuf messages into the bytes CAF carries and back (validating on arrival).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "chronicle/v1/api.pb.h"
#include "chronicle/v1/cluster.pb.h"
#include "chronicle/v1/command.pb.h"
#include "chronicle/v1/common.pb.h"
#include "chronicle/v1/history.pb.h"
#include "chronicle/v1/state.pb.h"
#include "chronicle/v1/task.pb.h"

namespace chronicle {

namespace pb = ::chronicle::v1;

// --- client API (frontend) ---
using start_atom = caf::atom_constant<caf::atom("start")>;
using result_atom = caf::atom_constant<caf::atom("result")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using signal_atom = caf::atom_constant<caf::atom("signal")>;
using sigstart_atom = caf::atom_constant<caf::atom("sigstart")>;
using terminate_atom = caf::atom_constant<caf::atom("terminate")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
// --- admin ---
using describe_atom = caf::atom_constant<caf::atom("describe")>;
using query_atom = caf::atom_constant<caf::atom("query")>;
using qtask_atom = caf::atom_constant<caf::atom("qtask")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using list_atom = caf::atom_constant<caf::atom("list")>;      // ListWorkflowsRequest (visibility)
// --- workers and task queues ---
using register_atom = caf::atom_constant<caf::atom("register")>;
using wf_task_atom = caf::atom_constant<caf::atom("wftask")>;
using act_task_atom = caf::atom_constant<caf::atom("acttask")>;
using wf_done_atom = caf::atom_constant<caf::atom("wfdone")>;
using wf_fail_atom = caf::atom_constant<caf::atom("wffail")>;
using act_done_atom = caf::atom_constant<caf::atom("actdone")>;
using act_fail_atom = caf::atom_constant<caf::atom("actfail")>;
using act_beat_atom = caf::atom_constant<caf::atom("actbeat")>;    // activity heartbeat
using act_start_atom = caf::atom_constant<caf::atom("actstart")>;  // activity handed to a worker
// --- cluster ---
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using auth_atom = caf::atom_constant<caf::atom("auth")>;
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
using wt_history_atom = caf::atom_constant<caf::atom("wthistory")>;  // GetWorkflowTaskHistory
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
using purge_atom = caf::atom_constant<caf::atom("purge")>;            // retention
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;            // retention
// A worker registered through another node is gone: "ns \0 queue \0 identity \0 actor id".
using gone_atom = caf::atom_constant<caf::atom("gone")>;

// Error codes of the "chronicle" category. The context of such an error is one string: the message
// a user reads.
enum class errc : uint8_t {
  invalid_argument = 1,
  not_found,
  already_started,
  unavailable,
  stale_task,
  internal,
  bad_message,
  unauthenticated,
  overloaded,
};

const char* to_string(errc code);

// Builds an error of the "chronicle" category carrying a human-readable message.
caf::error make_error(errc code, std::string message);

// Returns the human-readable text of any CAF error: the message of a chronicle error, else CAF's
// rendering of the error code (e.g. "request_timeout").
std::string error_text(const caf::error& err);

// Returns the code of a chronicle error, or 0 when err is of another category.
uint8_t chronicle_code(const caf::error& err);

// Serializes a protobuf message into the bytes a CAF message carries.
std::string encode(const google::protobuf::MessageLite& msg);

// Parses bytes received in a message. Returns a bad_message error naming `what` on failure.
template <class Msg>
caf::expected<Msg> decode(const std::string& bytes, const char* what) {
  Msg msg;
  if (!msg.ParseFromString(bytes))
    return make_error(errc::bad_message, std::string("malformed ") + what + " message");
  return msg;
}

// The routing fields of a message, read without decoding the rest (a routing hop needs only
// them): every task answer carries its TaskToken as field 1, every workflow-addressed request its
// namespace and workflow ID as fields 1 and 2. The values are those a whole decode gives (the
// last of a repeated string wins, repeated messages merge); false when the bytes are not a
// well-formed message at the top level or the token does not decode. The fields beyond these
// are checked by the whole decode where the message is handled.
bool peek_token(const std::string& bytes, pb::TaskToken* token);
bool peek_route(const std::string& bytes, std::string* ns, std::string* workflow_id);

// Milliseconds since the Unix epoch.
int64_t now_ms();

// Default timeout of a request between actors (client to node, node-internal).
inline constexpr auto request_timeout = std::chrono::seconds(10);

const char* status_name(pb::WorkflowExecutionStatus status);
const char* event_type_name(pb::EventType type);

}  // namespace chronicle
