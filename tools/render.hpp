// Renders API responses for people (one line per event, aligned fields) and for programs (JSON),
// with payloads shown as the JSON they carry instead of base64.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include <string>

#include "protocol/messages.hpp"

namespace chronicle::cli {

// A protobuf message as JSON (proto3 JSON mapping), with every Payload replaced by its decoded
// JSON value when its encoding is json/plain.
nlohmann::json to_json(const google::protobuf::Message& msg);

// "   5  2026-11-25T10:00:00.123Z  ActivityTaskScheduled  {"activityId":"1",...}"
std::string event_line(const pb::HistoryEvent& ev);
// One event as a single line of JSON (`show -o json` prints them as an array, --follow as lines).
std::string event_json_line(const pb::HistoryEvent& ev);
// True iff the event closes its run (completed, failed, timed out, canceled, terminated or
// continued as new): no event follows it.
bool is_close_event(const pb::HistoryEvent& ev);

std::string format_time(int64_t epoch_ms);

// Multi-line human-readable description of an execution.
std::string describe_text(const pb::DescribeWorkflowResponse& d);

// The table of `chronicle workflow list`: one line per run.
std::string list_text(const pb::ListWorkflowsResponse& l);
// Parses a status name as the CLI accepts it ("running", "Completed", "timed-out", ...);
// UNSPECIFIED when unknown.
pb::WorkflowExecutionStatus parse_status(const std::string& text);
// Parses a point in time: epoch milliseconds, "2026-11-30T10:00:00Z" (UTC, optional .mmm), or a
// duration ago ("10m", "2h"); returns -1 when malformed.
int64_t parse_time_ms(const std::string& text, int64_t now_ms);
// Bytes as lowercase hex and back (page tokens on the command line); from_hex: nullopt if malformed.
std::string to_hex(const std::string& bytes);
std::optional<std::string> from_hex(const std::string& hex);
// Tables for `chronicle cluster status` and `chronicle cluster shards`.
std::string cluster_text(const pb::ClusterStatusResponse& c);
std::string shards_text(const pb::ClusterStatusResponse& c);

// The JSON text a payload carries (its data), or a note when it is not JSON.
std::string payload_text(const pb::Payload& p);

// Why a closed run has no result, for people: "workflow 'x' was terminated: reason". REQUIRES: the
// status is not Completed.
std::string result_failure_text(const pb::GetResultResponse& r, const std::string& workflow_id);

// The JSON error object of `-o json`: {"error": message} plus "hint" when there is one.
nlohmann::json error_json(const std::string& message, const std::string& hint = {});

// Parses a duration "250ms", "10s", "5m", "2h" or a plain number of seconds into milliseconds;
// returns -1 when malformed or not positive.
int64_t parse_duration_ms(const std::string& text);

}  // namespace chronicle::cli
