// Answering a query task from the workflow's state.
//
// run_query contract: replays the run's recorded history (closed by a synthetic workflow task, so
// that it replays like one) through the workflow function as for a workflow task; the commands are
// discarded. Then calls the handler the code registered with on_query for task.query_type() on
// the decoded task.args(). Returns the handler's result, or an error message: "workflow type
// '<type>' is not registered on this worker", "unknown query type '<type>' (known: <names>)", or
// "query failed: <what>" for a handler that threw, an invalid history or non-determinism.
// No exception escapes; the history is not changed.
#pragma once

#include <string>
#include <variant>

#include "protocol/messages.hpp"
#include "worker/sdk/registry.hpp"

namespace chronicle::sdk {

std::variant<json, std::string> run_query(const registry& reg, const pb::QueryTask& task);

}  // namespace chronicle::sdk
