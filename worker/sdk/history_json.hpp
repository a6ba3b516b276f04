// Loading exported histories: the JSON of `chronicle workflow show -o json` and of the HTTP
// gateway's `GET /api/v1/namespaces/{ns}/workflows/{id}/history`, for replay_history.
//
// Contract (no exception escapes; errors are values):
//  - Both exports print a GetHistoryResponse, {"events": [...], ...}, but differently: the CLI
//    with camelCase names, 64-bit integers as strings and payloads replaced by the JSON value
//    they carry; the HTTP API with snake_case names, every field, integers as numbers and
//    payloads the same way (an empty payload as null). Both are accepted, and so are a bare
//    array of events and JSON lines (one event per line, as `workflow show --follow -o json`).
//  - A payload printed as its JSON value becomes a "json/plain" payload of that value again; one
//    the exports left as protobuf prints it ({"metadata": {...}, "data": base64}: data that is
//    not JSON) is read back unchanged.
//  - Fields unknown to this build are ignored (an export from a newer server); an event that is
//    not a HistoryEvent, or a document of none of the shapes above, is an error naming the event
//    (by position and id) and what is wrong. Nothing is loaded then.
//  - run_id: the document's run ID when it names one (the replay's ctx.run_id()), else empty.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/messages.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::sdk {

struct loaded_history {
  std::vector<pb::HistoryEvent> events;
  std::string run_id;
  std::string error;  // non-empty: nothing was loaded, and why

  bool ok() const { return error.empty(); }
};

loaded_history parse_history(std::string_view text);
loaded_history history_from_json(const json& document);
// Reads the file at `path` ("cannot read '<path>': ..." when it cannot) and loads it.
loaded_history load_history_file(const std::string& path);

}  // namespace chronicle::sdk
