// Helpers shared by the decide tests.
#pragma once

#include <doctest/doctest.h>

#include <utility>
#include <variant>
#include <vector>

#include "shards/decide.hpp"

namespace chronicle::testing {

inline constexpr int64_t t0 = 1'700'000'000'000;

// The transition of an accepted input; fails the test when it was rejected.
inline transition must(decide_result r) {
  if (auto* rej = std::get_if<rejection>(&r)) FAIL("rejected: " << rej->message);
  return std::get<transition>(std::move(r));
}

// A run driven through decide, keeping its whole history.
struct decided_run {
  pb::MutableState state;
  std::vector<pb::HistoryEvent> history;

  transition step(const decide_input& in, int64_t now = t0) {
    auto t = must(decide(state, in, now));
    state = t.state;
    history.insert(history.end(), t.events.begin(), t.events.end());
    return t;
  }
  int64_t wt() const { return state.workflow_task().scheduled_event_id(); }
  void take_task() { step(input::workflow_task_started{wt(), "w1"}); }

  // Started as run "run-1" with its first workflow task started.
  static decided_run started(const pb::StartWorkflowRequest& req) {
    decided_run r;
    r.step(input::start_workflow{req, "run-1"});
    r.take_task();
    return r;
  }
};

}  // namespace chronicle::testing
