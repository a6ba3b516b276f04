// Validation of everything that enters a node's workflow path from clients and workers: identifiers,
// defaults (namespace), and payload sizes (max_payload_bytes, 2 MiB by default like Temporal).
#pragma once

#include <caf/all.hpp>

#include <string>

#include "actors/config.hpp"

namespace chronicle {

// Checks a message of kind `kind` and rewrites it in place: fills in the default namespace, and
// turns a worker answer that carries a payload over the limit into a failure answer (activity:
// RespondActivityTaskFailed "PayloadTooLarge", non-retryable; workflow task:
// RespondWorkflowTaskFailed), changing `kind` accordingly. Returns an invalid_argument error for
// a client request that must be refused, and an overloaded error for a start (or
// signal-with-start) whose task queue is in `overloaded` (may be null).
caf::error validate_request(const node_config& config, const class overload_registry* overloaded,
                            caf::atom_value& kind, std::string& bytes);

}  // namespace chronicle
