// Running one workflow task of a history_builder's history in a unit test: its completed answer
// (a failed task fails the test) and the result of the CompleteWorkflowExecution that ends it.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "worker/sdk/history_builder.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/sdk/replayer.hpp"

namespace chronicle::sdk::testing {

inline pb::RespondWorkflowTaskCompleted run_completed(const registry& reg,
                                                      const history_builder& h,
                                                      const std::string& identity = "worker-1") {
  auto result = run_workflow_task(reg, h.workflow_task(), identity);
  if (auto* failed = std::get_if<pb::RespondWorkflowTaskFailed>(&result))
    FAIL("workflow task failed: " << failed->failure().type() << ": "
                                  << failed->failure().message());
  return std::get<pb::RespondWorkflowTaskCompleted>(result);
}

// REQUIRES: the answer's last command completes the workflow.
inline json completed_result(const pb::RespondWorkflowTaskCompleted& r) {
  REQUIRE(r.commands_size() >= 1);
  const auto& last = r.commands(r.commands_size() - 1);
  REQUIRE(last.has_complete_workflow_execution());
  return from_payload(last.complete_workflow_execution().result());
}

}  // namespace chronicle::sdk::testing
