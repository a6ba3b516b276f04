// The chronicle commands, one function per command group: each add_*_commands declares its
// subcommands (options, help texts) on the CLI11 app and appends what runs when one is picked.
// main (chronicle.cpp) only declares the global options, parses and runs the picked command.
//
// Contract of a command's run: it is called once, after a successful parse, with the global
// options final (-o json already folded into g.json). It returns the process exit code: 0 done,
// 1 a failed request or a workflow that did not complete, 2 a usage error; failures are reported
// as session.hpp says (stderr, or a JSON object on stdout with -o json), data goes to stdout.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.hpp"
#include "tools/session.hpp"
#include "worker/client.hpp"

namespace chronicle::cli {

// What a command that talks to a node gets: the global options and the connected client.
struct context {
  const globals& g;
  client& c;

  // Reports a failed request (exit 1). A workflow that is not found when named by ID alone (no
  // run ID) gets a hint at similar IDs.
  int failed(const caf::error& err, const std::string& workflow_id = {},
             const std::string& run_id = {}) const;
  // Prints `j` compactly with JSON output, else `text`, and a newline; returns 0.
  int print(const nlohmann::json& j, const std::string& text) const;
  // Prints `j` indented with JSON output, else `text` as it is; returns 0.
  int print_document(const nlohmann::json& j, const std::string& text) const;
};

// What runs when a subcommand was picked; returns the exit code.
using command_fn = std::function<int(const globals& g)>;

struct command {
  const CLI::App* sub;  // the subcommand that picks it
  command_fn run;
};
using command_list = std::vector<command>;

// Wraps `body` in a connection to the node named by --address: a CAF system for the client, and
// a failed connection reported (exit 1) without running `body`.
command_fn with_node(std::function<int(const context&)> body);

// Helpers shared by the command groups.
// -w,--workflow-id (required) and -r,--run-id.
void add_run_options(CLI::App* sub, std::string& workflow_id, std::string& run_id);
// --json, same as -o json.
void add_json_flag(CLI::App* sub, globals& g,
                   const std::string& what = "print as JSON (same as -o json)");
// The payload of a JSON argument; nullopt when `text` is not JSON.
std::optional<pb::Payload> json_payload(const std::string& text);
// NAME=VALUE as a name and a payload: VALUE's JSON, or VALUE as a JSON string when it is not JSON
// (CustomerId=c-42). nullopt without '=' or with an empty name.
std::optional<std::pair<std::string, pb::Payload>> named_payload(const std::string& text);

// chronicle workflow start|list|result|show|query|describe|signal|signal-with-start|terminate|
// cancel|reset|delete
void add_workflow_commands(CLI::App& app, globals& g, command_list& out);
// chronicle workflow list (cmd_workflow_list.cpp; add_workflow_commands declares it in its place).
command workflow_list_command(CLI::App* wf, globals& g);
command workflow_count_command(CLI::App* wf, globals& g);
// chronicle workflow reset|delete (cmd_workflow_reset.cpp)
command workflow_reset_command(CLI::App* wf, globals& g);
command workflow_delete_command(CLI::App* wf, globals& g);
// chronicle activity complete|fail|heartbeat (by task token)
void add_activity_commands(CLI::App& app, globals& g, command_list& out);
// chronicle cluster status|shards
void add_cluster_commands(CLI::App& app, globals& g, command_list& out);
// chronicle namespace register|describe|update|list
void add_namespace_commands(CLI::App& app, globals& g, command_list& out);
// chronicle task-queue describe
void add_task_queue_commands(CLI::App& app, globals& g, command_list& out);
// chronicle schedule create|describe|list|update|pause|unpause|trigger|backfill|delete
void add_schedule_commands(CLI::App& app, globals& g, command_list& out);
// chronicle batch start|describe|list|stop
void add_batch_commands(CLI::App& app, globals& g, command_list& out);
// chronicle completion bash|zsh (no node needed)
void add_completion_command(CLI::App& app, command_list& out);
// chronicle api-key new (no node needed)
void add_api_key_command(CLI::App& app, command_list& out);

}  // namespace chronicle::cli
