// A schedule's state machine (docs/schedules.md): what each input does to its record
// (pb::ScheduleRecord) and which workflows to start, cancel or terminate once that record is
// durable. Pure: `now` is an argument, the spec is compiled by the caller (schedule_spec.hpp).
//
// The rule that makes actions exactly-once across crashes: an action is recorded (in
// info.running, with processed_until_ms past its time) in the same write that decides it, and
// its workflow is started only after that write is durable, under an ID derived from the
// schedule and the nominal time (workflow_id_for) with a start that never makes a second run of
// that ID. After a crash, the running entries without a run ID are started again (a start that
// finds the ID answers the existing run) and the action times after processed_until_ms are
// taken, or skipped and counted when older than the catch-up window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/codec.hpp"
#include "shards/schedule_spec.hpp"

namespace chronicle::schedules {

inline constexpr int64_t default_catchup_window_ms = int64_t{365} * 86'400'000;
inline constexpr int recent_actions_kept = 10;
inline constexpr int max_buffered = 1000;
// At most this many action times are handled by one advance; the rest by the next one (at once).
inline constexpr int max_actions_per_advance = 1000;

// What the scheduler does once the write of the new record is durable.
struct effects {
  std::vector<pb::ScheduleActionResult> start;  // workflows to start (workflow_id set)
  std::vector<std::string> cancel;              // running workflows to cancel (by ID)
  std::vector<std::string> terminate;           // running workflows to terminate (by ID)
  [[nodiscard]] bool empty() const { return start.empty() && cancel.empty() && terminate.empty(); }
};

// "<schedule id>-<nominal time RFC 3339>", as Temporal names a scheduled workflow.
std::string workflow_id_for(const std::string& schedule_id, int64_t nominal_ms);

// Checks a definition: the spec (check_spec), the action (workflow type and task queue set,
// timeouts not negative), the policies (catch-up window not negative, a known overlap policy).
// Returns the first problem or "".
std::string check_definition(const pb::ScheduleDefinition& def,
                             const std::string& zone_dir = "/usr/share/zoneinfo");

// A new schedule at `now`: action times up to `now` are not taken.
pb::ScheduleRecord created(const std::string& ns, const std::string& schedule_id,
                           const pb::ScheduleDefinition& def, int64_t now);

// A new definition (spec, action, policies; pause state and note kept unless `def` pauses):
// the new spec applies to the times after `now`.
void updated(pb::ScheduleRecord& rec, const pb::ScheduleDefinition& def, int64_t now);

// Pause (with a note) / unpause: the action times that pass while paused are not taken.
void pause(pb::ScheduleRecord& rec, const std::string& note, int64_t now);
void unpause(pb::ScheduleRecord& rec, const std::string& note, int64_t now);

// Takes the action times whose actual time is at or before `now` and whose nominal time is after
// processed_until_ms (at most max_actions_per_advance): one older than the catch-up window is
// counted in missed_catchup_window, the others go through the overlap policy. A paused schedule
// lets them pass.
effects advance(pb::ScheduleRecord& rec, const compiled_spec& spec, int64_t now);

// A manual action at `now` (its nominal time), with `overlap` (UNSPECIFIED: the schedule's).
effects trigger(pb::ScheduleRecord& rec, pb::ScheduleOverlapPolicy overlap, int64_t now);

// Manual actions at the spec's times in [from_ms, to_ms] (at most max_actions_per_advance), in
// order, as if each happened then, with `overlap` (UNSPECIFIED: the schedule's).
effects backfill(pb::ScheduleRecord& rec, const compiled_spec& spec, int64_t from_ms,
                 int64_t to_ms, pb::ScheduleOverlapPolicy overlap, int64_t now);

// The start of a running action's workflow was answered with its run. Returns false when the
// workflow is not among the running ones (nothing changed).
bool started(pb::ScheduleRecord& rec, const std::string& workflow_id, const std::string& run_id);

// A running action's workflow closed with `status` (or could not start: FAILED). It moves to the
// recent actions; when nothing runs any more the first buffered action starts. Returns nullopt
// when the workflow is not among the running ones (nothing changed).
std::optional<effects> closed(pb::ScheduleRecord& rec, const std::string& workflow_id,
                              const std::string& run_id, pb::WorkflowExecutionStatus status);

// The stops that an action waiting under cancel other / terminate other still needs: every
// running workflow to cancel / terminate (none when no such action waits at the head of the
// buffer). The scheduler sends them again when it loads the record (the stops decided before a
// crash may never have been sent) and after a stop failed (one that reached a workflow whose start
// was not recorded yet, a node down), until the running workflows closed.
effects pending_stops(const pb::ScheduleRecord& rec);

// When advance has something to do next: the actual time of the next action (nullopt: paused,
// or no action time left).
std::optional<int64_t> next_wakeup(const pb::ScheduleRecord& rec, const compiled_spec& spec);

// The record as describe shows it: the next `n` action times and the number buffered filled in.
pb::ScheduleDescription describe(const pb::ScheduleRecord& rec, const compiled_spec& spec, int n = 5);

}  // namespace chronicle::schedules
