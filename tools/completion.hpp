// Shell completion scripts for the chronicle CLI, generated from the CLI11 app itself so that they
// cover exactly the subcommands and options the binary accepts.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace chronicle::cli {

// A bash script completing `prog`: subcommands, their options, and the values of options with a
// fixed set (--output table|json). Load with `source <(chronicle completion bash)`.
std::string bash_completion(const CLI::App& app, const std::string& prog);

// The same for zsh, with each subcommand's and option's description. Load with
// `source <(chronicle completion zsh)` after compinit, or save it as `_chronicle` in $fpath.
std::string zsh_completion(const CLI::App& app, const std::string& prog);

}  // namespace chronicle::cli
