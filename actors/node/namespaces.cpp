#include "actors/node/namespaces.hpp"

#include <cctype>
#include <mutex>
#include <tuple>

#include "actors/routing/validation.hpp"
#include "protocol/messages.hpp"

namespace chronicle {

namespace {

constexpr size_t max_description_bytes = 1024;
constexpr size_t max_attributes = 100;  // custom search attributes per namespace
constexpr int64_t max_retention_ms = 10LL * 365 * 24 * 3600 * 1000;

std::string check_description(const std::string& d) {
  if (d.size() > max_description_bytes)
    return "description is " + std::to_string(d.size()) + " bytes long (at most "
           + std::to_string(max_description_bytes) + ")";
  return {};
}

std::string check_retention(int64_t ms) {
  if (ms < 0 || ms > max_retention_ms)
    return "retention_ms must be in 0.." + std::to_string(max_retention_ms)
           + " (0: the node's retention_ms), got " + std::to_string(ms);
  return {};
}

std::string check_namespace_name(const std::string& name) {
  if (name.empty()) return "namespace is empty";
  if (name.size() > 255) return "namespace is longer than 255 bytes";
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.')
      return "namespace '" + name + "' may hold only letters, digits, '-', '_' and '.'";
  return {};
}

}  // namespace

namespace_registry::namespace_registry(const std::set<std::string>& names,
                                       const std::map<std::string, search::schema>& schemas,
                                       const std::map<std::string, int64_t>& retention_ms) {
  std::set<std::string> all = names;
  all.insert(std::string(default_namespace));
  for (auto& [ns, s] : schemas) all.insert(ns);
  for (auto& [ns, ms] : retention_ms) all.insert(ns);
  for (auto& ns : all) {
    pb::NamespaceInfo info;
    info.set_name(ns);
    if (auto it = retention_ms.find(ns); it != retention_ms.end()) info.set_retention_ms(it->second);
    if (auto it = schemas.find(ns); it != schemas.end())
      for (auto& [attr, type] : it->second)
        (*info.mutable_search_attributes())[attr] = search::type_name(type);
    put_locked(info);
  }
}

void namespace_registry::put_locked(const pb::NamespaceInfo& info) {
  search::schema s;
  to_schema(info.search_attributes(), &s);  // checked when made: nothing is left out
  auto& slot = schemas_[info.name()];
  if (slot) replaced_.push_back(slot);
  slot = std::make_shared<const search::schema>(std::move(s));
  records_[info.name()] = info;
}

bool namespace_registry::known(const std::string& ns) const {
  std::shared_lock lock(mu_);
  return records_.count(ns) > 0;
}

std::optional<pb::NamespaceInfo> namespace_registry::find(const std::string& ns) const {
  std::shared_lock lock(mu_);
  auto it = records_.find(ns);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::vector<pb::NamespaceInfo> namespace_registry::all() const {
  std::shared_lock lock(mu_);
  std::vector<pb::NamespaceInfo> out;
  for (auto& [name, info] : records_) out.push_back(info);
  return out;
}

bool namespace_registry::merge(const pb::NamespaceInfo& info) {
  if (info.name().empty()) return false;
  std::unique_lock lock(mu_);
  auto it = records_.find(info.name());
  if (it != records_.end() && !namespace_newer(info, it->second)) return false;
  put_locked(info);
  return true;
}

const search::schema& namespace_registry::schema_of(const std::string& ns) const {
  static const search::schema none;
  std::shared_lock lock(mu_);
  auto it = schemas_.find(ns);
  return it == schemas_.end() ? none : *it->second;
}

std::optional<pb::TaskQueueConfig> namespace_registry::task_queue_config(
  const std::string& ns, const std::string& queue) const {
  std::shared_lock lock(mu_);
  auto it = records_.find(ns);
  if (it == records_.end()) return std::nullopt;
  auto q = it->second.task_queues().find(queue);
  if (q == it->second.task_queues().end()) return std::nullopt;
  return q->second;
}

std::optional<int64_t> namespace_registry::retention_of(const std::string& ns) const {
  std::shared_lock lock(mu_);
  auto it = records_.find(ns);
  if (it == records_.end() || it->second.retention_ms() <= 0) return std::nullopt;
  return it->second.retention_ms();
}

std::string unknown_namespace(const std::string& ns) {
  return "namespace '" + ns + "' is not registered (chronicle namespace register " + ns
         + "; chronicle namespace list shows the registered ones)";
}

bool namespace_newer(const pb::NamespaceInfo& a, const pb::NamespaceInfo& b) {
  return std::make_tuple(a.version(), a.update_time_ms(), a.updated_by())
         > std::make_tuple(b.version(), b.update_time_ms(), b.updated_by());
}

std::string check_attribute_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= search::max_name_bytes
            && (std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char ch : name) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
  if (!ok)
    return "'" + name + "' is not a valid search attribute name (letters, digits and _, starting "
           "with a letter or _, at most 64)";
  if (search::is_builtin(name)) return "'" + name + "' is a built-in field";
  return {};
}

std::string to_schema(const google::protobuf::Map<std::string, std::string>& attrs,
                      search::schema* out) {
  if (attrs.size() > max_attributes)
    return "at most " + std::to_string(max_attributes) + " search attributes per namespace";
  for (auto& [name, type_text] : attrs) {
    if (auto why = check_attribute_name(name); !why.empty()) return why;
    auto type = search::type_from_name(type_text);
    if (!type)
      return "search attribute '" + name + "' has type '" + type_text
             + "' (keyword, text, int, double, bool, datetime or keyword_list)";
    (*out)[name] = *type;
  }
  return {};
}

std::optional<pb::NamespaceInfo> registered(const pb::RegisterNamespaceRequest& req,
                                            std::string* why) {
  *why = check_namespace_name(req.namespace_());
  if (why->empty()) *why = check_description(req.description());
  if (why->empty()) *why = check_retention(req.retention_ms());
  search::schema s;
  if (why->empty()) *why = to_schema(req.search_attributes(), &s);
  if (!why->empty()) return std::nullopt;
  pb::NamespaceInfo info;
  info.set_name(req.namespace_());
  info.set_description(req.description());
  info.set_retention_ms(req.retention_ms());
  for (auto& [name, type] : s) (*info.mutable_search_attributes())[name] = search::type_name(type);
  info.set_version(1);
  return info;
}

std::optional<pb::NamespaceInfo> updated(const pb::NamespaceInfo& current,
                                         const pb::UpdateNamespaceRequest& req, std::string* why) {
  why->clear();
  pb::NamespaceInfo next = current;
  if (req.has_description()) {
    *why = check_description(req.description());
    next.set_description(req.description());
  }
  if (why->empty() && req.has_retention_ms()) {
    *why = check_retention(req.retention_ms());
    next.set_retention_ms(req.retention_ms());
  }
  search::schema added;
  if (why->empty()) *why = to_schema(req.add_search_attributes(), &added);
  for (auto& [name, type] : added) {
    if (!why->empty()) break;
    auto it = current.search_attributes().find(name);
    auto type_text = std::string(search::type_name(type));
    if (it != current.search_attributes().end() && it->second != type_text)
      *why = "search attribute '" + name + "' is already registered as " + it->second
             + " (attributes can be added, not retyped)";
    (*next.mutable_search_attributes())[name] = type_text;
  }
  if (why->empty() && next.search_attributes().size() > max_attributes)
    *why = "at most " + std::to_string(max_attributes) + " search attributes per namespace";
  if (!why->empty()) return std::nullopt;
  next.set_version(current.version() + 1);
  return next;
}

}  // namespace chronicle
