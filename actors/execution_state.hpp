// State of an execution actor (see execution_actor.hpp).
#pragma once

#include <caf/all.hpp>

#include <optional>
#include <vector>

#include "actors/execution_actor.hpp"
#include "shards/decide.hpp"

namespace chronicle {

struct execution_state {
  execution_args args;
  bool loaded = false;
  std::optional<pb::MutableState> run;   // the current run, if any
  std::vector<caf::response_promise> result_waiters;  // for the current run
  uint64_t handled = 0;                  // messages handled (for passivation)
  int64_t last_message_ms = 0;
  bool tick_armed = false;

  storage::run_key key() const;
  // Loads the current run from the store once. Returns an error when the store fails.
  caf::error load();
  // Runs `in` through decide on the current run (a fresh state for a start, or for a
  // signal-with-start when there is no run yet) and commits it.
  caf::expected<transition> step(caf::event_based_actor* self, const decide_input& in);
  // Writes a transition in one batch, then performs its effects.
  caf::error commit(caf::event_based_actor* self, transition& t);
  // Sends the current run's pending tasks to matching again (after a restart): its activities,
  // and its scheduled workflow task when `workflow_task`.
  void redispatch(caf::event_based_actor* self, bool workflow_task);
  pb::TransferRecord transfer(pb::TransferKind kind, int64_t scheduled_id,
                              const std::string& queue) const;
  void dispatch(caf::event_based_actor* self, const pb::TransferRecord& rec);
  void answer_waiters();
};

}  // namespace chronicle
