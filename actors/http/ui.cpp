// GET / and /ui/<file>: the embedded web UI (no framework, no build step at run time).
#include <cstring>
#include <string_view>

#include "actors/http/api.hpp"
#include "actors/http/ui.hpp"

namespace chronicle::http {

namespace {

const char* content_type(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

}  // namespace

std::optional<reply> ui_endpoint(const std::string& path) {
  std::string_view name = path == "/" ? "index.html" : std::string_view(path);
  if (name.rfind("/ui/", 0) == 0) name.remove_prefix(4);
  else if (path != "/") return std::nullopt;
  for (const auto& f : ui_files())
    if (name == f.name) {
      reply r{200, content_type(name), std::string(reinterpret_cast<const char*>(f.data), f.size)};
      r.cache_control = "no-cache";
      return r;
    }
  return std::nullopt;
}

}  // namespace chronicle::http
