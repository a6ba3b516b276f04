// The samples' --replay-check / --replay-query flags (worker/replay_check.hpp: the check of a
// new build against a live cluster before it is deployed).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "worker/replay_check.hpp"

namespace chronicle {

inline void add_replay_check_flags(CLI::App& app, std::string& replay_type,
                                   replay_check_options& replay) {
  app.add_option("--replay-check", replay_type,
                 "do not serve: replay every closed run of this workflow type from the cluster "
                 "against this build's code, report the runs that would fail (exit code 1) and exit");
  app.add_option("--replay-query", replay.query,
                 "with --replay-check: only the closed runs this list query matches");
}

}  // namespace chronicle
