// Validation of everything that enters a node's workflow path from clients and workers: identifiers,
// defaults (namespace), and payload sizes (max_payload_bytes, 2 MiB by default like Temporal). The
// message catalog (catalog.cpp) names the validator of each message kind.
#pragma once

#include <caf/all.hpp>

#include <string>
#include <utility>

#include "actors/node/config.hpp"
#include "protocol/messages.hpp"

namespace chronicle {

// The namespace used when a request names none.
inline const std::string default_namespace = "default";

// Limits on identifiers (bytes).
inline constexpr size_t max_id_length = 1000;

// Returns an empty string when `value` is a valid identifier (non-empty, at most max_id_length
// bytes, no control characters), else the reason naming `what`.
std::string check_id(const std::string& what, const std::string& value);

// A request naming a task queue (a worker's registration, a describe), decoded as `what`, its
// namespace defaulted, the namespace and queue names checked.
template <class Req>
caf::expected<Req> decode_queue_request(const std::string& bytes, const char* what) {
  auto req = decode<Req>(bytes, what);
  if (!req) return req.error();
  if (req->namespace_().empty()) req->set_namespace_(default_namespace);
  for (auto& [name, value] : {std::pair{"namespace", &req->namespace_()},
                              std::pair{"task queue", &req->task_queue()}}) {
    auto reason = check_id(name, *value);
    if (!reason.empty()) return make_error(errc::invalid_argument, reason);
  }
  return req;
}

struct validation_limits {
  size_t payload;                             // max_payload_bytes
  const class overload_registry* overloaded;  // may be null (no overload checks)
  size_t backlog;                             // max_task_queue_backlog, for the message
  const node_config* config = nullptr;        // search attributes of a start; null: unchecked
};

// Checks a message of kind `kind` with the validator its catalog entry names, and rewrites it in
// place: fills in the default namespace, and turns a worker answer that carries a payload over
// the limit into a failure answer (activity: RespondActivityTaskFailed "PayloadTooLarge",
// non-retryable; workflow task: RespondWorkflowTaskFailed), changing `kind` accordingly. Returns
// an invalid_argument error for a client request that must be refused, and an overloaded error
// for a start (or signal-with-start) whose task queue is in `overloaded` (may be null).
caf::error validate_request(const node_config& config, const class overload_registry* overloaded,
                            caf::atom_value& kind, std::string& bytes);

// The validators the catalog names (see validate_request).
namespace validators {
caf::error start(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error result(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error signal(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error signal_with_start(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error terminate(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error cancel(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error reset(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error delete_workflow(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error pause(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error unpause(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error update(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error activity_answer(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error activity_by_token(const validation_limits&, caf::atom_value& kind, std::string& bytes);
caf::error workflow_answer(const validation_limits&, caf::atom_value& kind, std::string& bytes);
}  // namespace validators

}  // namespace chronicle
