// API keys with roles per namespace (config `api_keys`, docs/security.md): the key table, its
// parsing, and the one decision both the HTTP gateway and the node actor (CAF clients) make:
// may the holder of this key do that in this namespace? Keys are stored as SHA-256 hashes only;
// the table is replaced whole when the node re-reads its config on SIGHUP (key_registry).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace chronicle {

// Ordered: each role implies the ones below it (admin > write > read).
enum class role : uint8_t { none = 0, read = 1, write = 2, admin = 3 };

const char* role_name(role r);  // "none", "read", "write", "admin"

struct api_key {
  std::string name;                   // shown in logs instead of the key
  std::string sha256;                 // lower-case hex of SHA-256(key)
  std::map<std::string, role> roles;  // namespace or "*" -> role
  bool revoked = false;

  // The role this key has in `ns`: its entry for `ns`, else its "*" entry, else none.
  [[nodiscard]] role role_in(const std::string& ns) const;
  // The highest role it has in any namespace.
  [[nodiscard]] role best_role() const;
};

struct key_table {
  std::vector<api_key> keys;

  // No keys configured: the node is open (every request allowed, as before API keys existed).
  [[nodiscard]] bool open() const { return keys.empty(); }
  // The entry whose hash is SHA-256(presented) (revoked ones too), or nullptr. Compares every
  // entry in constant time.
  [[nodiscard]] const api_key* find(std::string_view presented) const;
  // The same by the key's hash (sha256_hex of the key).
  [[nodiscard]] const api_key* find_hash(std::string_view sha256) const;
};

// Parses the `api_keys` list of a config. Returns nullopt and sets *error (one line naming the
// entry) on a bad entry: missing name or hash, a hash that is not "sha256:<64 hex>", a name or
// hash listed twice, no roles, an unknown role or key.
std::optional<key_table> parse_key_table(const YAML::Node& list, std::string* error);

// The verdict on one request.
struct access {
  enum class verdict : uint8_t { allowed, unauthenticated, forbidden };
  verdict result = verdict::allowed;
  std::string key_name;  // the key presented ("unknown" when it matches none, "" when none sent)
  std::string message;   // why it was refused, for the caller (never contains the key)
  [[nodiscard]] bool ok() const { return result == verdict::allowed; }
};

// May the holder of `presented` (nullopt: no key sent) act with role `needed` in namespace `ns`?
// An empty `ns` means a request about no namespace (cluster status, /metrics): any valid key
// with at least `needed` somewhere passes. An open table allows everything.
access check_access(const key_table& table, const std::optional<std::string>& presented,
                    const std::string& ns, role needed);
// The same for a key known by its hash (what the node keeps of a CAF client's key); nullopt: no
// key presented.
access check_access_hash(const key_table& table, const std::optional<std::string>& sha256,
                         const std::string& ns, role needed);

// Lower-case hex of SHA-256(data).
std::string sha256_hex(std::string_view data);

// A fresh random key: "chr_" and 43 characters of base64url (32 bytes from OpenSSL's RAND_bytes).
// Empty if the random generator fails.
std::string new_api_key();

// The live key table of a node: read on every request, replaced on SIGHUP.
class key_registry {
public:
  key_registry() : table_(std::make_shared<const key_table>()) {}
  explicit key_registry(key_table t) : table_(std::make_shared<const key_table>(std::move(t))) {}
  [[nodiscard]] std::shared_ptr<const key_table> current() const {
    std::lock_guard lock(mutex_);
    return table_;
  }
  void replace(key_table t) {
    auto next = std::make_shared<const key_table>(std::move(t));
    std::lock_guard lock(mutex_);
    table_ = std::move(next);
  }

private:
  mutable std::mutex mutex_;
  std::shared_ptr<const key_table> table_;
};

}  // namespace chronicle
