#include "protocol/codec.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <chrono>

namespace chronicle {

const char* to_string(errc code) {
  switch (code) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::already_started: return "already_started";
    case errc::unavailable: return "unavailable";
    case errc::stale_task: return "stale_task";
    case errc::internal: return "internal";
    case errc::bad_message: return "bad_message";
    case errc::unauthenticated: return "unauthenticated";
    case errc::permission_denied: return "permission_denied";
    case errc::overloaded: return "overloaded";
    case errc::failed_precondition: return "failed_precondition";
  }
  return "unknown";
}

std::string encode(const google::protobuf::MessageLite& msg) {
  std::string out;
  msg.SerializeToString(&out);
  return out;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* status_name(pb::WorkflowExecutionStatus status) {
  switch (status) {
    case pb::WORKFLOW_EXECUTION_STATUS_RUNNING: return "Running";
    case pb::WORKFLOW_EXECUTION_STATUS_COMPLETED: return "Completed";
    case pb::WORKFLOW_EXECUTION_STATUS_FAILED: return "Failed";
    case pb::WORKFLOW_EXECUTION_STATUS_CANCELED: return "Canceled";
    case pb::WORKFLOW_EXECUTION_STATUS_TERMINATED: return "Terminated";
    case pb::WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: return "ContinuedAsNew";
    case pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT: return "TimedOut";
    default: return "Unspecified";
  }
}

const char* event_type_name(pb::EventType type) {
  switch (type) {
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: return "WorkflowExecutionStarted";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: return "WorkflowExecutionCompleted";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: return "WorkflowExecutionFailed";
    case pb::EVENT_TYPE_WORKFLOW_TASK_SCHEDULED: return "WorkflowTaskScheduled";
    case pb::EVENT_TYPE_WORKFLOW_TASK_STARTED: return "WorkflowTaskStarted";
    case pb::EVENT_TYPE_WORKFLOW_TASK_COMPLETED: return "WorkflowTaskCompleted";
    case pb::EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: return "WorkflowTaskTimedOut";
    case pb::EVENT_TYPE_WORKFLOW_TASK_FAILED: return "WorkflowTaskFailed";
    case pb::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: return "ActivityTaskScheduled";
    case pb::EVENT_TYPE_ACTIVITY_TASK_STARTED: return "ActivityTaskStarted";
    case pb::EVENT_TYPE_ACTIVITY_TASK_COMPLETED: return "ActivityTaskCompleted";
    case pb::EVENT_TYPE_ACTIVITY_TASK_FAILED: return "ActivityTaskFailed";
    case pb::EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: return "ActivityTaskTimedOut";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: return "WorkflowExecutionTimedOut";
    case pb::EVENT_TYPE_TIMER_STARTED: return "TimerStarted";
    case pb::EVENT_TYPE_TIMER_FIRED: return "TimerFired";
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: return "ActivityTaskCancelRequested";
    case pb::EVENT_TYPE_ACTIVITY_TASK_CANCELED: return "ActivityTaskCanceled";
    case pb::EVENT_TYPE_TIMER_CANCELED: return "TimerCanceled";
    case pb::EVENT_TYPE_MARKER_RECORDED: return "MarkerRecorded";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED: return "WorkflowExecutionCancelRequested";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: return "WorkflowExecutionCanceled";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: return "WorkflowExecutionSignaled";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: return "WorkflowExecutionTerminated";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: return "WorkflowExecutionContinuedAsNew";
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
      return "StartChildWorkflowExecutionInitiated";
    case pb::EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED:
      return "StartChildWorkflowExecutionFailed";
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: return "ChildWorkflowExecutionStarted";
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: return "ChildWorkflowExecutionCompleted";
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: return "ChildWorkflowExecutionFailed";
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: return "ChildWorkflowExecutionCanceled";
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: return "ChildWorkflowExecutionTimedOut";
    case pb::EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
      return "ChildWorkflowExecutionTerminated";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: return "WorkflowExecutionUpdateAccepted";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: return "WorkflowExecutionUpdateCompleted";
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return "SignalExternalWorkflowExecutionInitiated";
    case pb::EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return "SignalExternalWorkflowExecutionFailed";
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: return "ExternalWorkflowExecutionSignaled";
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
      return "RequestCancelExternalWorkflowExecutionInitiated";
    case pb::EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED:
      return "RequestCancelExternalWorkflowExecutionFailed";
    case pb::EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
      return "ExternalWorkflowExecutionCancelRequested";
    case pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: return "UpsertWorkflowSearchAttributes";
    case pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: return "WorkflowPropertiesModified";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_PAUSED: return "WorkflowExecutionPaused";
    case pb::EVENT_TYPE_WORKFLOW_EXECUTION_UNPAUSED: return "WorkflowExecutionUnpaused";
    default: return "Unspecified";
  }
}

namespace {

// Calls on_field(number, bytes) for each length-delimited field 1 or 2 at the top level of
// `bytes` and skips every other field; false when the bytes are not well formed or on_field is.
template <class OnField>
bool scan_fields(const std::string& bytes, OnField on_field) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  std::string value;
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    if (number == 0) return false;
    if ((number == 1 || number == 2)
        && WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t size = 0;
      if (!in.ReadVarint32(&size) || !in.ReadString(&value, static_cast<int>(size))) return false;
      if (!on_field(number, value)) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

}  // namespace

bool peek_token(const std::string& bytes, pb::TaskToken* token) {
  token->Clear();
  return scan_fields(bytes, [&](int number, const std::string& value) {
    return number != 1 || token->MergeFromString(value);
  });
}

bool peek_route(const std::string& bytes, std::string* ns, std::string* workflow_id) {
  ns->clear();
  workflow_id->clear();
  return scan_fields(bytes, [&](int number, const std::string& value) {
    *(number == 1 ? ns : workflow_id) = value;
    return true;
  });
}

}  // namespace chronicle
