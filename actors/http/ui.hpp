// The web UI's files (tools/webui/), embedded into the binary at build time by cmake/embed_files.cmake.
#pragma once

#include <cstddef>
#include <vector>

namespace chronicle::http {

struct ui_file {
  const char* name;           // file name under tools/webui/, e.g. "app.js"
  const unsigned char* data;
  size_t size;
};

// Every file of tools/webui/, sorted by name (generated: ui_assets.cpp in the build dir).
const std::vector<ui_file>& ui_files();

}  // namespace chronicle::http
