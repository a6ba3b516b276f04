// Query parameters of the gateway's endpoints: unknown ones refused, integers range-checked.
#pragma once

#include <charconv>
#include <map>
#include <set>
#include <string>

namespace chronicle::http {

using query_map = std::map<std::string, std::string>;

// Refuses query parameters outside `allowed` (typos would otherwise be silently ignored).
inline std::string check_params(const query_map& query, const std::set<std::string>& allowed) {
  for (auto& [k, v] : query)
    if (!allowed.count(k)) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return "unknown query parameter '" + k + "' (allowed: " + (list.empty() ? "none" : list) + ")";
    }
  return {};
}

inline std::string param(const query_map& query, const std::string& key) {
  auto it = query.find(key);
  return it == query.end() ? std::string() : it->second;
}

// Parses an integer parameter in [lo, hi]; absent: `fallback`. Sets *error on failure.
inline int64_t int_param(const query_map& query, const std::string& key, int64_t fallback, int64_t lo,
                  int64_t hi, std::string* error) {
  auto it = query.find(key);
  if (it == query.end()) return fallback;
  int64_t v = 0;
  auto& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) {
    *error = "query parameter '" + key + "' must be an integer in " + std::to_string(lo) + ".."
             + std::to_string(hi) + ", got '" + s + "'";
    return fallback;
  }
  return v;
}

}  // namespace chronicle::http
