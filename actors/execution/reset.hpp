// Reset and delete of a workflow's runs (docs/semantics.md "Reset", "Delete"): handlers of the
// execution actor, in their own room.
#pragma once

#include <string>

#include "actors/execution/lifecycle.hpp"

namespace chronicle {

// ResetWorkflowRequest: reads the base run's history (the cache for the current run), decides
// the reset (shards/reset.hpp) and commits it as one batch: the current run terminated (when
// running), the base run's link, the new run `new_run_id` made current. Answers
// ResetWorkflowResponse{new run} once durable; a request ID the current run was made by answers
// that run.
caf::result<std::string> on_reset(execution_self self, const std::string& bytes,
                                  const std::string& new_run_id);

// DeleteWorkflowRequest: a running run is terminated first (reason "deleted"); once that is
// durable the run is purged (history, state, visibility, retention and current record). Answers
// DeleteWorkflowResponse{run} once the deletion is durable.
caf::result<std::string> on_delete(execution_self self, const std::string& bytes);

}  // namespace chronicle
