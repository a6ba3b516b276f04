// chronicle completion bash|zsh: a shell completion script generated from the CLI11 app.
#include <iostream>
#include <memory>

#include "tools/commands.hpp"
#include "tools/completion.hpp"

namespace chronicle::cli {

void add_completion_command(CLI::App& app, command_list& out) {
  auto shell = std::make_shared<std::string>();
  auto* completion = app.add_subcommand(
    "completion", "print a shell completion script: source <(chronicle completion bash)");
  completion->add_option("shell", *shell, "bash or zsh")
    ->required()
    ->check(CLI::IsMember({"bash", "zsh"}));
  out.push_back({completion, [&app, shell](const globals&) {
                   std::cout << (*shell == "bash" ? bash_completion(app, "chronicle")
                                                  : zsh_completion(app, "chronicle"));
                   return 0;
                 }});
}

}  // namespace chronicle::cli
