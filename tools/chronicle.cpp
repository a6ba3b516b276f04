// chronicle: the command-line client. `chronicle --help` and `chronicle workflow <cmd> --help`.
// main declares the global options, lets each command group declare its subcommands
// (tools/commands.hpp), parses and runs the command picked.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "tools/commands.hpp"
#include "tools/session.hpp"

using namespace chronicle;

int main(int argc, char** argv) {
  CLI::App app{"chronicle: start, inspect and wait for Chronicle workflows"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: `workflow list -o json`
  cli::globals g;
  if (const char* env = std::getenv("CHRONICLE_ADDRESS")) g.address = env;
  app.add_option("--address", g.address, "node to talk to, host:port, or several comma-separated (tried in turn; env CHRONICLE_ADDRESS)")
    ->capture_default_str();
  app.add_option("-n,--namespace", g.ns, "namespace")->capture_default_str();
  std::string api_key;
  app.add_option("--api-key", api_key,
                 "API key, when the node requires one (env CHRONICLE_API_KEY; docs/security.md)");
  app.add_option("-o,--output", g.output, "output format: table (for people) or json")
    ->capture_default_str()
    ->check(CLI::IsMember({"table", "json"}));

  cli::command_list commands;
  cli::add_workflow_commands(app, g, commands);
  cli::add_activity_commands(app, g, commands);
  cli::add_cluster_commands(app, g, commands);
  cli::add_task_queue_commands(app, g, commands);
  cli::add_namespace_commands(app, g, commands);
  cli::add_schedule_commands(app, g, commands);
  cli::add_batch_commands(app, g, commands);
  cli::add_completion_command(app, commands);
  cli::add_api_key_command(app, commands);

  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli::parse_failed(app, e, args);
  }
  if (g.output == "json") g.json = true;
  // The client library reads the key from the environment (like the cluster secret), also when
  // it reconnects.
  if (!api_key.empty()) setenv("CHRONICLE_API_KEY", api_key.c_str(), 1);
  for (const auto& cmd : commands)
    if (cmd.sub->parsed()) return cmd.run(g);
  return cli::usage(g, "no command given");
}
