// Debian's headless chromium for the web UI's e2e tests: finding it and rendering a page.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

namespace chronicle::testing {

// The chromium binary on PATH, or empty.
inline std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    for (auto name : {"chromium", "chromium-browser"}) {
      auto candidate = std::filesystem::path(dir) / name;
      std::error_code ec;
      if (std::filesystem::is_regular_file(candidate, ec)) return candidate.string();
    }
  return {};
}

// Loads `url`, lets its scripts run and fetch, and returns the rendered DOM (with chromium's own
// log lines mixed in: callers look for markup only the scripts produce). `budget_ms`: how long
// the page's timers run (chromium's virtual time; fetches are waited for).
inline std::string render(const std::string& chromium, const std::filesystem::path& profile,
                          const std::string& url, const std::string& screenshot = {},
                          int budget_ms = 5000) {
  std::vector<std::string> args{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--user-data-dir=" + profile.string(),
                                "--virtual-time-budget=" + std::to_string(budget_ms),
                                "--window-size=1280,1400"};
  args.push_back(screenshot.empty() ? "--dump-dom" : "--screenshot=" + screenshot);
  args.push_back(url);
  std::string out;
  int code = run(chromium, args, &out);
  CHECK_MESSAGE(code == 0, out);
  return out;
}

inline bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace chronicle::testing
