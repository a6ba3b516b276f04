// The namespaces of the cluster as this node knows them: their records (description, retention,
// search attribute schema), the rules of a register and an update, and the merge of records from
// other nodes. Every node keeps every record (in its meta table, storage/store.hpp) and the nodes
// exchange them (actors/admin/namespaces.cpp); docs/operations.md "Namespaces".
//
// Thread-safe: read by the frontend, executions, list workers and the HTTP gateway at once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "protocol/search_attributes.hpp"

namespace chronicle {

class namespace_registry {
public:
  // The initial set, at version 0: "default" and the namespaces of the node's config (their
  // search attributes and retention as configured).
  namespace_registry(const std::set<std::string>& names,
                     const std::map<std::string, search::schema>& schemas,
                     const std::map<std::string, int64_t>& retention_ms);

  [[nodiscard]] bool known(const std::string& ns) const;
  [[nodiscard]] std::optional<pb::NamespaceInfo> find(const std::string& ns) const;
  [[nodiscard]] std::vector<pb::NamespaceInfo> all() const;  // by name

  // Takes `info` when its namespace is new here or it is newer than the record here (version,
  // then update time, then the node that made it). Returns true when taken.
  bool merge(const pb::NamespaceInfo& info);

  // The schema of `ns` (empty when unknown). The reference stays valid for the registry's life,
  // also after an update replaced the schema (a step in progress keeps reading the one it took).
  [[nodiscard]] const search::schema& schema_of(const std::string& ns) const;
  // The flow limits an operator set for task queue `queue` of `ns`, if any.
  [[nodiscard]] std::optional<pb::TaskQueueConfig> task_queue_config(const std::string& ns,
                                                                     const std::string& queue) const;
  // The retention of `ns` when it sets one (> 0).
  [[nodiscard]] std::optional<int64_t> retention_of(const std::string& ns) const;

private:
  void put_locked(const pb::NamespaceInfo& info);

  mutable std::shared_mutex mu_;
  std::map<std::string, pb::NamespaceInfo> records_;
  std::map<std::string, std::shared_ptr<const search::schema>> schemas_;
  std::vector<std::shared_ptr<const search::schema>> replaced_;  // kept: references stay valid
};

// --- the rules of a change (pure: no registry, no store) ---

// The error text for a request in a namespace that is not registered.
std::string unknown_namespace(const std::string& ns);

// Whether record `a` wins over record `b` of the same namespace: a higher version, then a later
// update time, then the greater name of the node that made it.
bool namespace_newer(const pb::NamespaceInfo& a, const pb::NamespaceInfo& b);

// "" or why `name` cannot be a custom search attribute's name.
std::string check_attribute_name(const std::string& name);
// The schema of a record's (or a request's) attributes: name -> type; "" or the first problem.
std::string to_schema(const google::protobuf::Map<std::string, std::string>& attrs,
                      search::schema* out);

// The record a register makes (version 1), or why it is refused.
std::optional<pb::NamespaceInfo> registered(const pb::RegisterNamespaceRequest& req,
                                            std::string* why);
// `current` changed by `req` (version + 1), or why it is refused: attributes can be added, not
// retyped.
std::optional<pb::NamespaceInfo> updated(const pb::NamespaceInfo& current,
                                         const pb::UpdateNamespaceRequest& req, std::string* why);

}  // namespace chronicle
