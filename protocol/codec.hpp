// Chronicle's records without CAF: the generated protobuf types (namespace pb), the codes of
// Chronicle's errors, the bytes of a message and the routing fields read from them, and names
// of statuses and event types. shards/ and storage/ include this, never protocol/messages.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "chronicle/v1/api.pb.h"
#include "chronicle/v1/batch.pb.h"
#include "chronicle/v1/cluster.pb.h"
#include "chronicle/v1/command.pb.h"
#include "chronicle/v1/common.pb.h"
#include "chronicle/v1/history.pb.h"
#include "chronicle/v1/namespace.pb.h"
#include "chronicle/v1/schedule.pb.h"
#include "chronicle/v1/state.pb.h"
#include "chronicle/v1/task.pb.h"
#include "chronicle/v1/task_queue.pb.h"

namespace chronicle {

namespace pb = ::chronicle::v1;

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
  permission_denied,  // an API key whose role does not cover the request (docs/security.md)
  failed_precondition,  // the run is not in a state that allows it (pause a closed run, ...)
};

const char* to_string(errc code);

// Serializes a protobuf message into the bytes a CAF message carries.
std::string encode(const google::protobuf::MessageLite& msg);

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

const char* status_name(pb::WorkflowExecutionStatus status);
const char* event_type_name(pb::EventType type);

}  // namespace chronicle
