// Steps shared by the endpoints of objects kept by the cluster (namespaces, schedules, batch
// jobs): a reply at once, 400 and 405 replies, and a call to the node actor whose protobuf answer
// is rendered as JSON with a given status.
#pragma once

#include <chrono>
#include <string>

#include "actors/http/api.hpp"
#include "actors/http/json.hpp"

namespace chronicle::http::object_steps {

inline step finish(reply r) { return step{std::move(r), std::nullopt}; }

inline step bad_request(const std::string& message) {
  return finish(error_reply(400, "invalid_argument", message));
}

inline step not_allowed(const std::string& allow) {
  auto r = error_reply(405, "method_not_allowed", "this path accepts " + allow);
  r.allow = allow;
  return finish(std::move(r));
}

// A call whose answer, a Resp, is rendered as JSON with `status`.
template <class Resp>
step call(caf::atom_value kind, std::string bytes, unsigned status,
          std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  return step{std::nullopt,
              node_call{kind, std::move(bytes), timeout,
                        [status](caf::expected<std::string> answer) {
                          if (!answer) return finish(error_reply(answer.error()));
                          Resp resp;
                          if (!resp.ParseFromString(*answer))
                            return finish(error_reply(500, "internal", "malformed answer"));
                          return finish(reply{status, "application/json", to_json(resp).dump()});
                        }}};
}

}  // namespace chronicle::http::object_steps
