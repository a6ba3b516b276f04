// API keys on the HTTP gateway (docs/security.md): which role each endpoint needs in which
// namespace, the key read from `Authorization: Bearer <key>`, and the 401/403 JSON refusal
// (logged with the key's name, never the key). The key table is the node's (node_env::keys),
// re-read on SIGHUP.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "actors/http/api.hpp"
#include "actors/node/api_keys.hpp"

namespace chronicle::http {

// What a request needs: nothing (public: the web UI's static files), or `needed` in `ns` (empty
// ns: in any namespace, for the cluster status and /metrics).
struct requirement {
  bool open = false;
  std::string ns;
  role needed = role::read;
};

// The requirement of `method` on `target` (path and query). Paths that do not exist need a
// valid key too (read), so that a stranger learns nothing, not even which paths exist.
requirement required_access(std::string_view method, std::string_view target);

// The key of an Authorization header value "Bearer <key>" (scheme case-insensitive); nullopt
// when the header is empty or has another scheme.
std::optional<std::string> bearer_key(std::string_view authorization);

// nullopt when the request may go on; else its refusal (401 with WWW-Authenticate: Bearer for a
// missing, unknown or revoked key, 403 for a role that does not cover the request), logged.
std::optional<reply> authorize(const request& req, std::string_view authorization,
                               const key_table& keys);

}  // namespace chronicle::http
