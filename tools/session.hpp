// What every chronicle command shares: the global options, reporting failures (text with hints,
// or JSON objects with -o json) and connecting to the node.
#pragma once

#include <CLI/CLI.hpp>
#include <caf/all.hpp>

#include <optional>
#include <string>
#include <vector>

#include "worker/client.hpp"

namespace chronicle::cli {

struct globals {
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
  std::string output = "table";
  bool json = false;  // -o json, or a command's --json
};

// Reports a failure: "chronicle: msg" (and the hint) on stderr, or with -o json the error object
// on stdout. Returns `code`: 1 for failures, 2 for usage errors.
int fail(const globals& g, const std::string& msg, const std::string& hint = {}, int code = 1);
inline int usage(const globals& g, const std::string& msg) { return fail(g, msg, {}, 2); }

// A CLI11 parse error of `args` (argv without the program): help is printed as asked (returns 0);
// anything else is a usage error (returns 2) naming the unknown subcommand or option with the
// closest known one when there is one.
int parse_failed(const CLI::App& app, const CLI::ParseError& e,
                 const std::vector<std::string>& args);

// The hint for a workflow that is not found: a similar ID when the visibility index has one, and
// the `workflow list --prefix` command that shows IDs starting like it.
std::string not_found_hint(client& c, const globals& g, const std::string& workflow_id);

// Connects to the node named by --address; reports the failure (naming the address and how to
// pick another) and returns nullopt when that fails.
std::optional<client> connect(caf::actor_system& sys, const globals& g);

}  // namespace chronicle::cli
