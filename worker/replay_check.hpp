// Checking a new worker build against a live cluster before it is deployed: every closed run of
// a workflow type is read from the cluster and replayed against the build's registry
// (sdk/replay_history.hpp); the runs that would hit a non-determinism error are reported.
//
// replay_closed_runs contract:
//  - Pages through the runs of `workflow_type` in options.ns that are closed (any close status,
//    continued-as-new included), newest start first, ANDed with options.query (the list query
//    language, docs/semantics.md "List queries"), up to options.max_runs (0: all of them).
//  - Each run's history is read (client::history) and replayed; a run that does not replay clean
//    is in `failed` with its replay_result (NonDeterminismError with the event, or another
//    error type). A history that could not be read, or members that did not answer the list
//    (their runs are missing), are in `errors`: the check is then incomplete, not passed.
//  - The list itself failing (no node, a bad query) is the returned error. The cluster is only
//    read: nothing is started, signaled or written.
//
// replay_check_main: what a worker binary's `--replay-check TYPE` runs (samples/greeting_worker):
// connects to `addresses` (one or several "host:port"), runs replay_closed_runs, prints one line
// per failed run and a summary to `out` (errors to `err`), and returns the process's exit code:
// 0 every run replays clean, 1 some run does not (or the check was incomplete), 2 the check could
// not run (no connection, bad address, the list refused).
#pragma once

#include <caf/all.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "worker/client.hpp"
#include "worker/sdk/registry.hpp"
#include "worker/sdk/replay_history.hpp"

namespace chronicle {

struct replay_check_options {
  std::string ns = "default";
  std::string query;       // narrows the runs further, e.g. "CloseTime > '2026-12-01'"
  int64_t max_runs = 0;    // 0: every closed run of the type
  int32_t page_size = 100;
};

struct replay_check_failure {
  std::string workflow_id;
  std::string run_id;
  sdk::replay_result result;
};

struct replay_check_report {
  int64_t runs_checked = 0;
  std::vector<replay_check_failure> failed;
  std::vector<std::string> errors;  // runs not checked (their history unreadable), missing nodes

  bool ok() const { return failed.empty() && errors.empty(); }
};

caf::expected<replay_check_report> replay_closed_runs(client& c, const std::string& workflow_type,
                                                      const sdk::registry& reg,
                                                      const replay_check_options& options = {});

int replay_check_main(caf::actor_system& sys, const std::string& addresses,
                      const std::string& workflow_type, const sdk::registry& reg,
                      const replay_check_options& options, std::ostream& out, std::ostream& err);

}  // namespace chronicle
