#pragma once
// Switches and sizes read once from the environment, for A/B benchmarks of one build
// (docs/performance.md): CHRONICLE_RAFT_OUTBOX=0, CHRONICLE_RECOVERY_ASK_QUEUES=0, ... Only for
// comparing variants in the same minutes; the defaults are what a deployment runs.

#include <cstddef>
#include <cstdlib>
#include <string_view>

namespace chronicle::ab {

// Whether the feature `name` switches is on: it is unless the variable is set to "0".
inline bool on(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr || std::string_view(v) != "0";
}

// The variable as a size, `fallback` when it is unset or empty.
inline size_t size(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<size_t>(std::strtoull(v, nullptr, 10)) : fallback;
}

}  // namespace chronicle::ab
