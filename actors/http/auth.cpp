#include "actors/http/auth.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "actors/http/json.hpp"

namespace chronicle::http {

namespace {

// The role of an endpoint under /api/v1/namespaces/{ns}/workflows: `rest` are the segments after
// "workflows" (docs/http.md lists the endpoints; docs/security.md the roles).
role workflows_role(std::string_view method, const std::vector<std::string>& rest) {
  bool get = method == "GET" || method == "HEAD";
  if (rest.size() == 1 && method == "DELETE") return role::admin;  // delete a run
  if (rest.size() <= 1) return get ? role::read : role::write;  // list, describe / start
  const auto& what = rest[1];
  if (what == "terminate" || what == "reset" || what == "pause" || what == "unpause")
    return role::admin;
  if (what == "signal" || what == "cancel" || what == "update") return role::write;
  return role::read;  // history, result, query, and paths that do not exist
}

}  // namespace

requirement required_access(std::string_view method, std::string_view target) {
  auto p = split_path(target.substr(0, target.find('?')));
  if (!p) return requirement{false, "", role::read};
  // The web UI's files carry no data: a browser must load them before it can ask for a key.
  if (p->empty() || ((*p)[0] == "ui" && p->size() <= 2)) return requirement{true, "", role::read};
  if (p->size() >= 5 && (*p)[0] == "api" && (*p)[1] == "v1" && (*p)[2] == "namespaces"
      && (*p)[4] == "workflows")
    return requirement{false, (*p)[3],
                       workflows_role(method, std::vector<std::string>(p->begin() + 5, p->end()))};
  // Namespaces: listing needs read in some namespace, registering admin in every one ('*': the
  // new namespace is named in the body), describing read and updating admin in the namespace.
  if (p->size() >= 3 && p->size() <= 5 && (*p)[0] == "api" && (*p)[1] == "v1"
      && (*p)[2] == "namespaces" && (p->size() < 5 || (*p)[4] == "update")) {
    bool get = method == "GET" || method == "HEAD";
    if (p->size() == 3) return requirement{false, get ? "" : "*", get ? role::read : role::admin};
    return requirement{false, (*p)[3], get ? role::read : role::admin};
  }
  if (p->size() >= 5 && (*p)[0] == "api" && (*p)[1] == "v1" && (*p)[2] == "namespaces"
      && (*p)[4] == "task-queues")  // describe, config get: read; config set: admin
    return requirement{false, (*p)[3],
                       method == "GET" || method == "HEAD" ? role::read : role::admin};
  // Schedules: reading (list, describe) needs read, every change admin.
  if (p->size() >= 5 && (*p)[0] == "api" && (*p)[1] == "v1" && (*p)[2] == "namespaces"
      && (*p)[4] == "schedules")
    return requirement{false, (*p)[3],
                       method == "GET" || method == "HEAD" ? role::read : role::admin};
  // Batch jobs: reading (list, describe) needs read, start and stop admin.
  if (p->size() >= 5 && (*p)[0] == "api" && (*p)[1] == "v1" && (*p)[2] == "namespaces"
      && (*p)[4] == "batches")
    return requirement{false, (*p)[3],
                       method == "GET" || method == "HEAD" ? role::read : role::admin};
  // Activities completed by task token: write in the path's namespace (the token's).
  if (p->size() >= 5 && (*p)[0] == "api" && (*p)[1] == "v1" && (*p)[2] == "namespaces"
      && (*p)[4] == "activities")
    return requirement{false, (*p)[3], method == "POST" ? role::write : role::read};
  return requirement{false, "", role::read};  // /metrics, /api/v1/cluster, unknown paths
}

std::optional<std::string> bearer_key(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
  auto key = authorization.substr(scheme.size());
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  if (key.empty()) return std::nullopt;
  return std::string(key);
}

std::optional<reply> authorize(const request& req, std::string_view authorization,
                               const key_table& keys) {
  if (keys.open()) return std::nullopt;
  auto need = required_access(req.method, req.target);
  if (need.open) return std::nullopt;
  auto verdict = check_access(keys, bearer_key(authorization), need.ns, need.needed);
  if (verdict.ok()) return std::nullopt;
  auto path = req.target.substr(0, std::min(req.target.find('?'), size_t{200}));
  auto who = verdict.key_name.empty() ? std::string("(none)") : verdict.key_name;
  spdlog::warn("refused {} {}: key {}: {}", req.method, path, who, verdict.message);
  if (verdict.result == access::verdict::forbidden)
    return error_reply(403, "permission_denied", verdict.message);
  auto r = error_reply(401, "unauthenticated",
                       verdict.message + " (send it as Authorization: Bearer <key>)");
  r.www_authenticate = "Bearer realm=\"chronicle\"";
  return r;
}

}  // namespace chronicle::http
