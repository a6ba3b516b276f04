#include "actors/node/config.hpp"
#include "actors/node/namespaces.hpp"
#include "actors/routing/validation.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace chronicle {

namespace {

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                const std::string& where) {
  if (!map.IsMap()) throw config_error(where + " must be a mapping");
  for (auto it = map.begin(); it != map.end(); ++it) {
    auto key = it->first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
      throw config_error("unknown key '" + key + "' in " + where + " (allowed: " + list + ")");
    }
  }
}

template <class T>
T get(const YAML::Node& node, const std::string& key) {
  try {
    return node[key].as<T>();
  } catch (const YAML::Exception&) {
    throw config_error("key '" + key + "' has an invalid value '" + YAML::Dump(node[key]) + "'");
  }
}

// Integer `key`, when present, into `out`: in lo..hi, or 0 too when `zero_means` says what 0 is.
template <class T>
void read_int(const YAML::Node& node, const std::string& key, int64_t lo, int64_t hi, T* out,
              const char* zero_means = nullptr) {
  if (!node[key]) return;
  auto n = get<int64_t>(node, key);
  if ((n < lo || n > hi) && !(zero_means && n == 0))
    throw config_error(key + " must be " + (zero_means ? std::string("0 (") + zero_means + ") or " : "")
                       + "in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got "
                       + std::to_string(n));
  *out = static_cast<T>(n);
}

// namespaces.<ns>.search_attributes: a map of attribute name to type.
search::schema search_attributes(const YAML::Node& node, const std::string& ns) {
  const std::string where = "namespace '" + ns + "': search_attributes";
  if (!node.IsMap()) throw config_error(where + " must be a map of attribute name to type");
  search::schema out;
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto name = it->first.as<std::string>();
    bool ok_name = !name.empty() && name.size() <= search::max_name_bytes &&
                   (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
    for (char ch : name) ok_name = ok_name && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
    if (!ok_name)
      throw config_error(where + ": '" + name + "' is not a valid name (letters, digits and _, "
                         "starting with a letter or _, at most 64)");
    if (search::is_builtin(name))
      throw config_error(where + ": '" + name + "' is a built-in field");
    auto type = it->second.IsScalar() ? search::type_from_name(it->second.as<std::string>())
                                      : std::nullopt;
    if (!type)
      throw config_error(where + ": '" + name + "' has type '" + YAML::Dump(it->second) +
                         "' (keyword, text, int, double, bool, datetime or keyword_list)");
    out[name] = *type;
  }
  return out;
}

uint16_t parse_port(const YAML::Node& node, const std::string& key) {
  auto v = get<int64_t>(node, key);
  if (v < 1 || v > 65535)
    throw config_error("key '" + key + "' must be a TCP port in 1..65535, got " + std::to_string(v));
  return static_cast<uint16_t>(v);
}

member_config parse_address(const std::string& name, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error("member '" + name + "' address '" + address + "' is not host:port");
  member_config m;
  m.name = name;
  m.host = address.substr(0, colon);
  int64_t port = -1;
  try {
    size_t used = 0;
    port = std::stoll(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 1 || port > 65535)
    throw config_error("member '" + name + "' address '" + address + "' has an invalid port");
  m.port = static_cast<uint16_t>(port);
  return m;
}

node_config parse(const YAML::Node& root, const std::filesystem::path& base) {
  check_keys(root, {"node", "data_dir", "num_shards", "replication_factor", "raft_snapshot_entries", "raft_snapshot_chunk_bytes", "raft_snapshot_pulls", "raft_snapshot_bytes_per_s", "raft_snapshot_log_bytes", "members", "durability", "log_level",
                    "passivate_after_ms", "scheduler_threads", "max_payload_bytes", "cluster_secret", "max_task_queue_backlog", "tls", "max_history_events", "workflow_task_timeout_ms",
                    "retention_ms", "retention_sweep_ms", "namespaces", "http_port", "http_host",
                    "http_max_body_bytes", "http_tls", "api_keys"},
             "the config");
  node_config c;
  if (!root["node"]) throw config_error("missing key 'node'");
  auto node = root["node"];
  check_keys(node, {"name", "host", "port"}, "'node'");
  if (!node["name"] || !node["port"]) throw config_error("'node' needs 'name' and 'port'");
  c.name = get<std::string>(node, "name");
  if (c.name.empty()) throw config_error("'node.name' is empty");
  if (node["host"]) c.host = get<std::string>(node, "host");
  c.port = parse_port(node, "port");

  if (!root["data_dir"]) throw config_error("missing key 'data_dir'");
  std::filesystem::path dir = get<std::string>(root, "data_dir");
  if (dir.empty()) throw config_error("'data_dir' is empty");
  c.data_dir = (dir.is_relative() ? base / dir : dir).lexically_normal().string();

  read_int(root, "num_shards", 1, 65536, &c.num_shards);
  read_int(root, "replication_factor", 1, 7, &c.replication_factor);
  read_int(root, "raft_snapshot_entries", 16, 100'000'000, &c.raft_snapshot_entries);
  read_int(root, "raft_snapshot_chunk_bytes", 1024, int64_t{64} << 20, &c.raft_snapshot_chunk_bytes);
  read_int(root, "raft_snapshot_pulls", 1, 1024, &c.raft_snapshot_pulls, "no limit");
  read_int(root, "raft_snapshot_bytes_per_s", 65536, int64_t{1} << 40, &c.raft_snapshot_bytes_per_s,
           "no limit");
  read_int(root, "raft_snapshot_log_bytes", int64_t{1} << 20, int64_t{64} << 30,
           &c.raft_snapshot_log_bytes, "no bound");
  if (root["durability"]) {
    auto d = get<std::string>(root, "durability");
    if (d == "fsync") c.durability = storage::durability::fsync;
    else if (d == "os") c.durability = storage::durability::os;
    else throw config_error("durability must be 'fsync' or 'os', got '" + d + "'");
  }
  if (root["retention_ms"]) {
    c.retention_ms = get<int64_t>(root, "retention_ms");
    if (c.retention_ms < 0) throw config_error("retention_ms must be >= 0");
  }
  if (root["retention_sweep_ms"]) {
    c.retention_sweep_ms = get<int64_t>(root, "retention_sweep_ms");
    if (c.retention_sweep_ms < 10) throw config_error("retention_sweep_ms must be >= 10");
  }
  if (auto nss = root["namespaces"]) {
    if (!nss.IsMap()) throw config_error("'namespaces' must be a map of namespace name to settings");
    for (auto it = nss.begin(); it != nss.end(); ++it) {
      auto name = it->first.as<std::string>();
      if (name.empty()) throw config_error("'namespaces' has an empty namespace name");
      auto entry = it->second;
      if (!entry.IsMap()) throw config_error("namespace '" + name + "' settings must be a map");
      check_keys(entry, {"retention_ms", "search_attributes"}, "namespace '" + name + "'");
      c.configured_namespaces.insert(name);
      if (entry["search_attributes"])
        c.namespace_search_attributes[name] = search_attributes(entry["search_attributes"], name);
      if (entry["retention_ms"]) {
        auto ms = get<int64_t>(entry, "retention_ms");
        if (ms < 0) throw config_error("namespace '" + name + "': retention_ms must be >= 0");
        c.namespace_retention_ms[name] = ms;
      }
    }
  }
  if (root["log_level"]) {
    c.log_level = get<std::string>(root, "log_level");
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
    if (!levels.count(c.log_level))
      throw config_error("log_level must be one of trace, debug, info, warn, error, off");
  }
  if (root["passivate_after_ms"]) {
    c.passivate_after_ms = get<int64_t>(root, "passivate_after_ms");
    if (c.passivate_after_ms < 10) throw config_error("passivate_after_ms must be >= 10");
  }
  if (root["workflow_task_timeout_ms"]) {
    c.workflow_task_timeout_ms = get<int64_t>(root, "workflow_task_timeout_ms");
    if (c.workflow_task_timeout_ms < 100 || c.workflow_task_timeout_ms > 3'600'000)
      throw config_error("workflow_task_timeout_ms must be in 100..3600000");
  }
  if (root["max_history_events"]) {
    auto n = get<int64_t>(root, "max_history_events");
    if (n < 10 || n > 10'000'000) throw config_error("max_history_events must be in 10..10000000");
    c.max_history_events = static_cast<size_t>(n);
  }
  if (root["max_task_queue_backlog"]) {
    auto n = get<int64_t>(root, "max_task_queue_backlog");
    if (n < 10 || n > 100'000'000) throw config_error("max_task_queue_backlog must be in 10..100000000");
    c.max_task_queue_backlog = static_cast<size_t>(n);
  }
  if (root["tls"]) {
    auto tls = root["tls"];
    check_keys(tls, {"certificate", "key", "ca"}, "'tls'");
    if (!tls["certificate"] || !tls["key"] || !tls["ca"])
      throw config_error("'tls' needs 'certificate', 'key' and 'ca' (PEM files)");
    c.tls_certificate = get<std::string>(tls, "certificate");
    c.tls_key = get<std::string>(tls, "key");
    c.tls_ca = get<std::string>(tls, "ca");
    std::error_code ec;
    for (auto* f : {&c.tls_certificate, &c.tls_key, &c.tls_ca})
      if (!std::filesystem::is_regular_file(*f, ec))
        throw config_error("TLS file '" + *f + "' does not exist");
  }
  if (root["cluster_secret"]) {
    c.cluster_secret = get<std::string>(root, "cluster_secret");
    if (c.cluster_secret.size() < 16)
      throw config_error("cluster_secret must be at least 16 characters");
  }
  if (root["max_payload_bytes"]) {
    auto n = get<int64_t>(root, "max_payload_bytes");
    if (n < 1024 || n > 64 * 1024 * 1024)
      throw config_error("max_payload_bytes must be in 1024..67108864");
    c.max_payload_bytes = static_cast<size_t>(n);
  }
  if (root["scheduler_threads"]) {
    auto n = get<int64_t>(root, "scheduler_threads");
    if (n < 0 || n > 256) throw config_error("scheduler_threads must be in 0..256");
    c.scheduler_threads = static_cast<size_t>(n);
  }
  if (root["http_port"]) c.http_port = parse_port(root, "http_port");
  if (root["http_host"]) {
    c.http_host = get<std::string>(root, "http_host");
    if (c.http_host.empty()) throw config_error("'http_host' is empty");
  }
  if (c.http_host.empty()) c.http_host = c.host;
  if (root["http_max_body_bytes"]) {
    auto n = get<int64_t>(root, "http_max_body_bytes");
    if (n < 1024 || n > 256 * 1024 * 1024)
      throw config_error("http_max_body_bytes must be in 1024..268435456");
    c.http_max_body_bytes = static_cast<size_t>(n);
  }
  if (root["http_tls"]) {
    auto tls = root["http_tls"];
    check_keys(tls, {"certificate", "key"}, "'http_tls'");
    if (!tls["certificate"] || !tls["key"])
      throw config_error("'http_tls' needs 'certificate' and 'key' (PEM files)");
    c.http_tls_certificate = get<std::string>(tls, "certificate");
    c.http_tls_key = get<std::string>(tls, "key");
    std::error_code ec;
    for (auto* f : {&c.http_tls_certificate, &c.http_tls_key})
      if (!std::filesystem::is_regular_file(*f, ec))
        throw config_error("http_tls file '" + *f + "' does not exist");
  }
  if (root["api_keys"]) {
    std::string why;
    auto keys = parse_key_table(root["api_keys"], &why);
    if (!keys) throw config_error(why);
    c.api_keys = std::move(*keys);
  }
  if (c.http_port != 0 && c.http_port == c.port && c.http_host == c.host)
    throw config_error("http_port " + std::to_string(c.http_port) + " is the node's own port");
  if (root["members"]) {
    auto members = root["members"];
    if (!members.IsSequence()) throw config_error("'members' must be a list");
    std::set<std::string> names;
    for (const auto& m : members) {
      check_keys(m, {"name", "address"}, "a member");
      if (!m["name"] || !m["address"]) throw config_error("each member needs 'name' and 'address'");
      auto mc = parse_address(get<std::string>(m, "name"), get<std::string>(m, "address"));
      if (!names.insert(mc.name).second) throw config_error("member '" + mc.name + "' is listed twice");
      c.members.push_back(mc);
    }
    if (!names.count(c.name))
      throw config_error("node '" + c.name + "' is not in its own member list");
  } else {
    c.members.push_back(member_config{c.name, c.host, c.port});
  }
  if (c.replication_factor > c.members.size())
    throw config_error("replication_factor " + std::to_string(c.replication_factor)
                       + " needs at least as many members, the config lists "
                       + std::to_string(c.members.size()));
  // Peer messages (forwarded requests, handoff, Raft) are not checked against API keys: in a
  // cluster, only the cluster secret keeps a client from posing as a peer.
  if (!c.api_keys.open() && c.members.size() > 1 && c.cluster_secret.empty())
    throw config_error("'api_keys' in a cluster of several members needs 'cluster_secret' too "
                       "(else a client could send peer messages; see docs/security.md)");
  return c;
}

}  // namespace

std::optional<node_config> load_config(const std::string& path, std::string* error) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    *error = "config file '" + path + "' does not exist or is not a file";
    return std::nullopt;
  }
  try {
    auto root = YAML::LoadFile(path);
    // A relative data_dir is resolved against the working directory, as a shell user expects.
    return parse(root, std::filesystem::current_path());
  } catch (const config_error& e) {
    *error = "config '" + path + "': " + e.what();
  } catch (const YAML::Exception& e) {
    *error = "config '" + path + "' is not valid YAML: " + e.what();
  }
  return std::nullopt;
}

int64_t node_config::retention_of(const std::string& ns) const {
  if (namespaces)
    if (auto ms = namespaces->retention_of(ns)) return *ms;
  auto it = namespace_retention_ms.find(ns);
  return it == namespace_retention_ms.end() ? retention_ms : it->second;
}

const search::schema& node_config::search_attributes_of(const std::string& ns) const {
  if (namespaces) return namespaces->schema_of(ns);
  static const search::schema none;
  auto it = namespace_search_attributes.find(ns);
  return it == namespace_search_attributes.end() ? none : it->second;
}

bool node_config::namespace_known(const std::string& ns) const {
  if (namespaces) return namespaces->known(ns);
  return ns == default_namespace || configured_namespaces.count(ns) > 0;
}

}  // namespace chronicle
