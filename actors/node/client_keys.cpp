#include "actors/node/client_keys.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <spdlog/spdlog.h>

#include "actors/routing/validation.hpp"

namespace chronicle {

std::string peek_namespace(const std::string& bytes) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  using wire = google::protobuf::internal::WireFormatLite;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag == ((1u << 3) | wire::WIRETYPE_LENGTH_DELIMITED)) {
      std::string ns;
      uint32_t size = 0;
      if (!in.ReadVarint32(&size) || size > 1024 || !in.ReadString(&ns, static_cast<int>(size)))
        return {};
      return ns;
    }
    if (!wire::SkipField(&in, tag)) return {};
  }
  return {};
}

caf::error client_keys::present(const node_env& env, const caf::node_id& who,
                                const std::string& key) {
  auto table = env.keys->current();
  auto hash = sha256_hex(key);
  if (!table->open()) {
    auto* found = table->find_hash(hash);
    auto why = !found ? std::string("unknown API key")
                      : found->revoked ? "API key '" + found->name + "' is revoked" : std::string();
    if (!why.empty()) {
      spdlog::warn("refused the API key of {}: key {}: {}", caf::to_string(who),
                   found ? found->name : "unknown", why);
      return make_error(errc::unauthenticated, why);
    }
  }
  hashes_[who] = std::move(hash);
  return caf::none;
}

caf::error client_keys::check(const node_env& env, const caf::node_id& who,
                              const message_kind& entry, const std::string& bytes) {
  auto table = env.keys->current();
  if (table->open()) return caf::none;
  std::optional<std::string> hash;
  if (auto it = hashes_.find(who); it != hashes_.end()) hash = it->second;
  // The cluster status is the one client request about no namespace; the others default an
  // empty namespace to "default" where they are served.
  std::string ns;
  if (entry.atom != cluster_atom::value) {
    ns = peek_namespace(bytes);
    if (ns.empty()) ns = default_namespace;
  }
  auto verdict = check_access_hash(*table, hash, ns, entry.needs);
  if (verdict.ok()) return caf::none;
  auto name = verdict.key_name.empty() ? std::string("(none)") : verdict.key_name;
  spdlog::warn("refused {} from {}: key {}: {}", caf::to_string(entry.atom), caf::to_string(who),
               name, verdict.message);
  if (verdict.result == access::verdict::forbidden)
    return make_error(errc::permission_denied, "permission denied: " + verdict.message);
  return make_error(errc::unauthenticated,
                    "unauthenticated: " + verdict.message + " (--api-key or CHRONICLE_API_KEY)");
}

}  // namespace chronicle
