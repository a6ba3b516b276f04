// Reset (docs/semantics.md "Reset"): a new run of a workflow ID built from a prefix of another
// run's history. Pure: the caller reads the base run's history and writes the one transition
// decide_reset returns (the new run is its next_run, the closing or linked runs its other parts).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "shards/decide.hpp"

namespace chronicle {

namespace input {
struct reset_workflow {
  pb::ResetType type = pb::RESET_TYPE_UNSPECIFIED;
  int64_t event_id = 0;  // with RESET_TYPE_UNSPECIFIED
  std::string reason;
  std::string identity;
  std::string request_id;
  bool reapply_signals = true;
};
}  // namespace input

// The reset point in `history` (a run's whole history, dense IDs from 1): the ID of the
// WorkflowTaskStarted event of the chosen workflow task, the last event the new run copies.
// Temporal's rule: event_id names a WorkflowTaskCompleted, WorkflowTaskFailed or
// WorkflowTaskTimedOut (its task's Started is the point) or a WorkflowTaskStarted; FIRST is the
// run's first workflow task; LAST the last completed one. Anything else: invalid_argument.
std::variant<int64_t, rejection> find_reset_point(const std::vector<pb::HistoryEvent>& history,
                                                  pb::ResetType type, int64_t event_id);

// The new run `new_run_id`: the events of `base_history` up to `point` (same IDs and contents),
// WorkflowTaskFailed (cause RESET_WORKFLOW, base and new run IDs, the reason), the signals the
// base recorded after the point (when in.reapply_signals; copied with new IDs and time `now`),
// and WorkflowTaskScheduled. Its state is the fold of apply over those events with: the reset
// links (reset_from_run_id, reset_event_id, reset_request_id), start time `now`, a run timeout
// counted again from `now` (the execution timeout's deadline kept), its records: the workflow
// task's transfer, a timer record per pending timer (fire time as started: one past fires at
// once), and each pending activity scheduled again as attempt 1 at `now` (transfer and timeout
// timer). Refused (invalid_argument) when the prefix leaves a child workflow or a message to
// another workflow pending (not supported: their answers would go to the base run).
std::variant<transition, rejection> reset_run(const std::vector<pb::HistoryEvent>& base_history,
                                              const std::string& base_run_id, int64_t point,
                                              const input::reset_workflow& in,
                                              const std::string& new_run_id, int64_t now);

// The whole reset as one transition on the workflow ID: `current` is its current run and `base`
// the run reset (the same run, or a closed earlier one), `base_history` base's history.
// The transition's own part is the current run: when running, terminated (reason "reset") and
// naming the new run (reset_to_run_id); when closed, unchanged but for that link if it is the
// base. A closed
// base that is not the current run gets that link through other_states. next_run is the new run
// (reset_run), which also carries the current run's undelivered messages (carry_outbound).
decide_result decide_reset(const pb::MutableState& current, const pb::MutableState& base,
                           const std::vector<pb::HistoryEvent>& base_history,
                           const input::reset_workflow& in, const std::string& new_run_id,
                           int64_t now);

}  // namespace chronicle
