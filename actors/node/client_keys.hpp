// API keys on the CAF port (docs/security.md): a client or worker process presents its key once
// after connecting (apikey_atom); the node keeps the key's hash per remote process and checks it
// against the key table in force, with the role the message catalog names for the request's
// kind, on every request. Peers (cluster_secret) and local actors (the HTTP gateway, which checks
// keys itself) are not checked here.
#pragma once

#include <caf/all.hpp>

#include <map>
#include <optional>
#include <string>

#include "actors/node/node_env.hpp"
#include "actors/routing/catalog.hpp"

namespace chronicle {

class client_keys {
public:
  // apikey_atom from `who`: remembers its hash. An unknown or revoked key is refused at once
  // (unauthenticated), so that a client learns of a wrong key when it connects.
  caf::error present(const node_env& env, const caf::node_id& who, const std::string& key);

  // A client request or worker registration of `entry`'s kind with `bytes` from `who` (a
  // remote process): none when the key it presented covers it, else the error to answer
  // (unauthenticated or permission_denied), logged without the key.
  caf::error check(const node_env& env, const caf::node_id& who, const message_kind& entry,
                   const std::string& bytes);

private:
  std::map<caf::node_id, std::string> hashes_;  // remote process -> SHA-256 of its key
};

// The namespace of a client request: field 1 when it is a string ("" when absent or not a string).
std::string peek_namespace(const std::string& bytes);

}  // namespace chronicle
