// "Did you mean ...?" for the chronicle CLI: edit distance over the names a CLI11 app knows.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace chronicle::cli {

// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost 1 ("describ" -> "describe" is 1, "lsit" -> "list" is 1).
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `word`, or "" when none is close: within a third of the word's length
// (at least 1, at most 3) or one that starts with the word.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// Explains why `args` (argv without the program name) do not parse against `app`: names the first
// unknown subcommand or option and suggests the closest known one ("unknown command 'workflow
// describ'; did you mean 'describe'?"). Empty when every name is known (the error is elsewhere,
// e.g. a missing required option).
std::string usage_hint(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace chronicle::cli
