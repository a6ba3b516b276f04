// Workflow rules around decide(): what a start does to a workflow ID that has runs (Temporal's
// ID conflict and ID reuse policies) and the history size limit. Pure like decide: no actors, no
// I/O, "now" is an argument; the execution actor commits what these return as it commits decide's
// transitions.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "shards/decide.hpp"

namespace chronicle {

// The start is answered with the workflow's current run (started = false): a retry of the start
// that created it (same request ID), or the ID conflict policy use-existing.
struct start_existing {
  std::string run_id;
};

using start_result = std::variant<transition, start_existing, rejection>;

// `current` is the workflow's current run (nullptr: it has none); `run_id` is a fresh run ID.
// In this order:
// - no current run: a new run `run_id`;
// - the request ID is the one that started `current`: start_existing;
// - `current` is running: conflict policy use-existing -> start_existing; terminate-existing (or
//   reuse policy terminate-if-running) -> ONE transition that terminates `current` (reason names
//   the new start) and starts run `run_id` (transition.next_run, written in the same batch);
//   otherwise rejected with already_started;
// - `current` is closed: reuse policy reject-duplicate, or allow-duplicate-failed-only when
//   `current` completed or continued as new -> rejected with already_started naming the policy;
//   otherwise a new run.
start_result decide_start(const pb::MutableState* current, const pb::StartWorkflowRequest& req,
                          const std::string& run_id, int64_t now_ms);

// When `t`, decided on the running run `before`, would take its history past `limit` events,
// the transition that terminates `before` instead (as Temporal does; the caller reports the
// reason), else nullopt. A transition that closes the run or starts another one is never
// replaced.
std::optional<transition> over_history_limit(const pb::MutableState& before, const transition& t,
                                             int64_t limit, int64_t now_ms);

// The reason over_history_limit's termination records.
std::string history_limit_reason(int64_t limit);

}  // namespace chronicle
