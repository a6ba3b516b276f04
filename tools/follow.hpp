// How `chronicle workflow result` waits: quietly with a progress line on a terminal, or following
// the history event by event (--follow).
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <ostream>
#include <string>

#include "protocol/messages.hpp"
#include "worker/client.hpp"

namespace chronicle::cli {

struct result_request {
  std::string ns;
  std::string workflow_id;
  std::string run_id;  // empty: the current run
  std::chrono::milliseconds timeout{0};
};

// Waits for the result like client::result (following continue-as-new). When `progress` is set
// and the wait passes ~2 s, keeps one line "waiting for workflow 'x' (status Running, N events)..."
// on it, rewritten in place every few seconds and erased before returning; `progress` must be a
// terminal.
caf::expected<pb::GetResultResponse> wait_result(client& c, const result_request& r,
                                                 std::ostream* progress);

// Prints each event of the run to `out` as it is appended (like `workflow show`, or one JSON
// object per line when `json`): long polls of the events after the last one printed, so each
// event is printed once, in order. When the run continues as new, goes on with the next run
// (table output marks the switch with a "--- continued as new" line). When the node goes away
// (restart, shard moving), says so once on `notes` ("reconnecting..."), asks again with backoff
// until it answers, and resumes after the last event printed. Returns the result of the last run
// once it closes, or an error when the run is unknown or `r.timeout` passes.
caf::expected<pb::GetResultResponse> follow_result(client& c, const result_request& r, bool json,
                                                   std::ostream& out, std::ostream& notes);

}  // namespace chronicle::cli
