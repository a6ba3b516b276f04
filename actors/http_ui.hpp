// The web UI's files (ui/), embedded into the binary at build time by cmake/embed_files.cmake.
#pragma once

#include <cstddef>
#include <vector>

namespace chronicle::http {

struct ui_file {
  const char* name;           // file name under ui/, e.g. "app.js"
  const unsigned char* data;
  size_t size;
};

// Every file of ui/, sorted by name (generated: ui_assets.cpp in the build dir).
const std::vector<ui_file>& ui_files();

}  // namespace chronicle::http
