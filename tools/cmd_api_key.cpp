// chronicle api-key new: a fresh random API key and the config entry with its hash (the node
// stores only the hash; the key is shown once). See docs/security.md.
#include <iostream>
#include <memory>

#include "actors/node/api_keys.hpp"
#include "tools/commands.hpp"

namespace chronicle::cli {

void add_api_key_command(CLI::App& app, command_list& out) {
  auto* group = app.add_subcommand("api-key", "API keys for the node's config (no node needed)");
  group->require_subcommand(1);
  struct options {
    std::string name = "my-key";
    std::string ns = "*";
    std::string role = "read";
  };
  auto o = std::make_shared<options>();
  auto* make = group->add_subcommand(
    "new", "print a new random key and the api_keys entry (its SHA-256 hash) for the config");
  make->add_option("--name", o->name, "the key's name in the config and in logs")
    ->capture_default_str();
  make->add_option("--for-namespace", o->ns, "namespace of its role (\"*\": every namespace)")
    ->capture_default_str();
  make->add_option("--role", o->role, "read, write or admin")
    ->capture_default_str()
    ->check(CLI::IsMember({"read", "write", "admin"}));
  out.push_back({make, [o](const globals& g) {
                   auto key = new_api_key();
                   if (key.empty()) return fail(g, "the random generator failed (OpenSSL RAND_bytes)");
                   auto entry = "- {name: " + o->name + ", hash: \"sha256:" + sha256_hex(key)
                                + "\", roles: {\"" + o->ns + "\": " + o->role + "}}";
                   if (g.json) {
                     std::cout << nlohmann::json{{"key", key},
                                                 {"name", o->name},
                                                 {"hash", "sha256:" + sha256_hex(key)},
                                                 {"config_entry", entry}}
                                    .dump()
                               << "\n";
                     return 0;
                   }
                   std::cout << "key (shown once; give it to the client, e.g. CHRONICLE_API_KEY):\n  "
                             << key << "\n"
                             << "entry for the node config's api_keys list (then SIGHUP the node):\n"
                             << "api_keys:\n  " << entry << "\n";
                   return 0;
                 }});
}

}  // namespace chronicle::cli
