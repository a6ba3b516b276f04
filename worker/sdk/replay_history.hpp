// Replaying a recorded history against workflow code: the check that a code change is safe for
// the runs already in flight (Temporal's WorkflowReplayer). Histories come from a live cluster
// (replay_check.hpp), or from files exported with `chronicle workflow show -o json` or HTTP
// `GET .../history` (history_json.hpp).
//
// replay_history contract (deterministic, no I/O; no exception escapes):
//  - `events` is a whole run's history as the server recorded it (closed or still running),
//    from WorkflowExecutionStarted on. It is replayed through the function `reg` registers for
//    the started event's workflow type as a worker replays a workflow task (workflow_task.hpp
//    states the rules), closed by a synthetic workflow task (as a query replays), so that the
//    commands of the last completed workflow task are checked against what history recorded.
//  - ok(): every command the code produced matches the event that records it. Commands the code
//    produces after the recorded events (a running run's next step) are not errors.
//  - Otherwise error_type says why: "NonDeterminismError" (event_id: the history event at which
//    code and history diverged; message names it and both sides), "InvalidHistory" (a history
//    that is not a run's: empty, not starting with WorkflowExecutionStarted, ids not increasing,
//    unknown event types), "UnknownWorkflowType", "PayloadError" (undecodable input),
//    "WorkflowTaskError" (workflow code threw something else: a bug, not non-determinism).
//  - `run_id` is what ctx.run_id() returns during the replay (histories do not record it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk {

struct replay_result {
  std::string error_type;  // empty: the history replays clean
  std::string message;
  int64_t event_id = 0;    // NonDeterminismError: the event where code and history diverged

  bool ok() const { return error_type.empty(); }
  bool nondeterministic() const;
};

replay_result replay_history(const registry& reg, const std::vector<pb::HistoryEvent>& events,
                             const std::string& run_id = {});
replay_result replay_history(const registry& reg, const pb::GetHistoryResponse& history);

// "replays clean" or "<type> at event <id>: <message>": one line for reports.
std::string describe(const replay_result& result);

}  // namespace chronicle::sdk
