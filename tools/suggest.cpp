#include "tools/suggest.hpp"

#include <algorithm>

namespace chronicle::cli {

size_t edit_distance(const std::string& a, const std::string& b) {
  // d[i][j]: distance between the first i characters of a and the first j of b.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  auto strip = [](const std::string& s) {
    return s.substr(std::min(s.find_first_not_of('-'), s.size()));
  };
  auto bare = strip(word);
  if (bare.empty()) return {};
  size_t limit = std::clamp<size_t>(bare.size() / 3, 1, 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (auto& c : candidates) {
    auto name = strip(c);
    size_t dist = edit_distance(bare, name);
    if (dist > limit && name.rfind(bare, 0) == 0) dist = limit;  // a prefix: "desc" -> "describe"
    if (dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

namespace {

// "chronicle workflow start" -> "workflow start".
std::string command_path(const CLI::App* app) {
  std::string path;
  for (; app && app->get_parent(); app = app->get_parent())
    path = app->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// The option `name` ("--type", "-t") of `app` or, when options fall through, of its parents.
const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  for (; app; app = app->get_fallthrough() ? app->get_parent() : nullptr)
    if (auto* opt = app->get_option_no_throw(name)) return opt;
  return nullptr;
}

std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app; app = app->get_fallthrough() ? app->get_parent() : nullptr)
    for (auto* opt : app->get_options()) {
      for (auto& l : opt->get_lnames()) names.push_back("--" + l);
      for (auto& s : opt->get_snames()) names.push_back("-" + s);
    }
  return names;
}

std::string did_you_mean(const std::string& guess) {
  return guess.empty() ? std::string() : "; did you mean '" + guess + "'?";
}

}  // namespace

std::string usage_hint(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* cur = &app;
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      // "--name=value", "--name value", "-n value" or "-nvalue".
      bool inline_value = arg.find('=') != std::string::npos || (arg[1] != '-' && arg.size() > 2);
      std::string name = arg[1] == '-' ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
      auto* opt = find_option(cur, name);
      if (!opt) {
        auto where = command_path(cur);
        return "unknown option '" + name + "'" + (where.empty() ? "" : " for '" + where + "'")
               + did_you_mean(closest(name, option_names(cur)));
      }
      if (opt->get_expected_min() > 0 && !inline_value) ++i;  // skip the option's value
      continue;
    }
    auto subs = cur->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) continue;  // a positional argument
    auto match = std::find_if(subs.begin(), subs.end(),
                              [&](const CLI::App* s) { return s->check_name(arg); });
    if (match != subs.end()) {
      cur = *match;
      continue;
    }
    std::vector<std::string> names;
    for (auto* s : subs) names.push_back(s->get_name());
    auto where = command_path(cur);
    return "unknown command '" + (where.empty() ? "" : where + " ") + arg + "'"
           + did_you_mean(closest(arg, names));
  }
  return {};
}

}  // namespace chronicle::cli
