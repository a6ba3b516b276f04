#include "actors/node/api_keys.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace chronicle {

namespace {

bool same_bytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::optional<role> parse_role(const std::string& text) {
  if (text == "read") return role::read;
  if (text == "write") return role::write;
  if (text == "admin") return role::admin;
  return std::nullopt;
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// One entry of the list; throws std::invalid_argument with the problem.
api_key parse_entry(const YAML::Node& entry, size_t index) {
  auto where = "api_keys entry " + std::to_string(index + 1);
  if (!entry.IsMap()) throw std::invalid_argument(where + " must be a mapping");
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    auto k = it->first.as<std::string>();
    if (k != "name" && k != "hash" && k != "roles" && k != "revoked")
      throw std::invalid_argument("unknown key '" + k + "' in " + where
                                  + " (allowed: hash, name, revoked, roles)");
  }
  api_key key;
  if (!entry["name"] || !entry["name"].IsScalar() || entry["name"].as<std::string>().empty())
    throw std::invalid_argument(where + " needs a 'name'");
  key.name = entry["name"].as<std::string>();
  where = "api key '" + key.name + "'";
  if (!entry["hash"] || !entry["hash"].IsScalar())
    throw std::invalid_argument(where + " needs a 'hash' (sha256:<hex>, from chronicle api-key new)");
  auto hash = entry["hash"].as<std::string>();
  if (hash.rfind("sha256:", 0) != 0 || !is_hex64(hash.substr(7)))
    throw std::invalid_argument(where + ": 'hash' must be sha256: and 64 lower-case hex digits "
                                "(chronicle api-key new prints it), got '" + hash.substr(0, 80) + "'");
  key.sha256 = hash.substr(7);
  auto roles = entry["roles"];
  if (!roles || !roles.IsMap() || roles.size() == 0)
    throw std::invalid_argument(where + " needs 'roles': a map of namespace (or \"*\") to "
                                "read, write or admin");
  for (auto it = roles.begin(); it != roles.end(); ++it) {
    auto ns = it->first.as<std::string>();
    if (ns.empty()) throw std::invalid_argument(where + " has an empty namespace in 'roles'");
    auto value = it->second.IsScalar() ? it->second.as<std::string>() : std::string("(not text)");
    auto r = parse_role(value);
    if (!r)
      throw std::invalid_argument(where + ": role '" + value + "' for namespace '" + ns
                                  + "' is not read, write or admin");
    key.roles[ns] = *r;
  }
  if (entry["revoked"]) {
    try {
      key.revoked = entry["revoked"].as<bool>();
    } catch (const YAML::Exception&) {
      throw std::invalid_argument(where + ": 'revoked' must be true or false");
    }
  }
  return key;
}

}  // namespace

const char* role_name(role r) {
  switch (r) {
    case role::read: return "read";
    case role::write: return "write";
    case role::admin: return "admin";
    case role::none: break;
  }
  return "none";
}

role api_key::role_in(const std::string& ns) const {
  auto it = roles.find(ns);
  if (it != roles.end()) return it->second;
  it = roles.find("*");
  return it == roles.end() ? role::none : it->second;
}

role api_key::best_role() const {
  role best = role::none;
  for (auto& [ns, r] : roles) best = std::max(best, r);
  return best;
}

const api_key* key_table::find(std::string_view presented) const {
  return find_hash(sha256_hex(presented));
}

const api_key* key_table::find_hash(std::string_view hash) const {
  const api_key* found = nullptr;
  for (auto& k : keys)
    if (same_bytes(hash, k.sha256)) found = &k;
  return found;
}

std::optional<key_table> parse_key_table(const YAML::Node& list, std::string* error) {
  if (!list.IsSequence()) {
    *error = "'api_keys' must be a list of {name, hash, roles}";
    return std::nullopt;
  }
  key_table table;
  std::set<std::string> names, hashes;
  try {
    for (size_t i = 0; i < list.size(); ++i) {
      auto key = parse_entry(list[i], i);
      if (!names.insert(key.name).second)
        throw std::invalid_argument("api key '" + key.name + "' is listed twice");
      if (!hashes.insert(key.sha256).second)
        throw std::invalid_argument("api key '" + key.name + "' has the hash of another key");
      table.keys.push_back(std::move(key));
    }
  } catch (const std::invalid_argument& e) {
    *error = e.what();
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    *error = std::string("'api_keys': ") + e.what();
    return std::nullopt;
  }
  return table;
}

access check_access(const key_table& table, const std::optional<std::string>& presented,
                    const std::string& ns, role needed) {
  if (table.open()) return {};
  std::optional<std::string> hash;
  if (presented && !presented->empty()) hash = sha256_hex(*presented);
  return check_access_hash(table, hash, ns, needed);
}

access check_access_hash(const key_table& table, const std::optional<std::string>& sha256,
                         const std::string& ns, role needed) {
  using v = access::verdict;
  if (table.open()) return {};
  if (!sha256) return {v::unauthenticated, "", "this node requires an API key"};
  auto* key = table.find_hash(*sha256);
  if (!key) return {v::unauthenticated, "unknown", "unknown API key"};
  if (key->revoked) return {v::unauthenticated, key->name, "API key '" + key->name + "' is revoked"};
  auto has = ns.empty() ? key->best_role() : key->role_in(ns);
  if (has >= needed) return {v::allowed, key->name, ""};
  auto where = ns.empty() ? std::string("any namespace") : "namespace '" + ns + "'";
  return {v::forbidden, key->name,
          "API key '" + key->name + "' has role " + role_name(has) + " in " + where
            + "; this request needs " + role_name(needed)};
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string new_api_key() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return {};
  static const char* alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "chr_";
  uint32_t acc = 0;
  int bits = 0;
  for (auto b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += alphabet[(acc << (6 - bits)) & 63];
  return out;
}

}  // namespace chronicle
