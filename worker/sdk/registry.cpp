#include "worker/sdk/registry.hpp"

#include <stdexcept>
#include <utility>

namespace chronicle::sdk {

namespace {

template <class Fn>
void add(std::map<std::string, Fn>& map, const char* kind, std::string name, Fn fn) {
  if (name.empty()) throw std::invalid_argument(std::string(kind) + " type name must not be empty");
  if (!fn) throw std::invalid_argument(std::string(kind) + " '" + name + "' has no function");
  if (map.count(name) != 0)
    throw std::invalid_argument(std::string(kind) + " '" + name + "' is already registered");
  map.emplace(std::move(name), std::move(fn));
}

template <class Fn>
const Fn* find(const std::map<std::string, Fn>& map, const std::string& name) {
  auto it = map.find(name);
  return it == map.end() ? nullptr : &it->second;
}

template <class Fn>
std::vector<std::string> names(const std::map<std::string, Fn>& map) {
  std::vector<std::string> out;
  out.reserve(map.size());
  for (const auto& entry : map) out.push_back(entry.first);
  return out;
}

}  // namespace

void registry::register_workflow(std::string name, workflow_fn fn) {
  add(workflows_, "workflow", std::move(name), std::move(fn));
}

void registry::register_activity(std::string name, activity_fn fn) {
  add(activities_, "activity", std::move(name), std::move(fn));
}

const workflow_fn* registry::find_workflow(const std::string& name) const {
  return find(workflows_, name);
}

const activity_fn* registry::find_activity(const std::string& name) const {
  return find(activities_, name);
}

std::vector<std::string> registry::workflow_names() const { return names(workflows_); }
std::vector<std::string> registry::activity_names() const { return names(activities_); }

}  // namespace chronicle::sdk
