// chronicle cluster status|shards: what the admin actors say about the cluster.
#include <iostream>

#include "tools/commands.hpp"
#include "tools/render.hpp"

namespace chronicle::cli {

void add_cluster_commands(CLI::App& app, globals& g, command_list& out) {
  auto* cluster = app.add_subcommand("cluster", "ask the admin actors about the cluster");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand("status",
                                         "members: up/down, address, uptime, shards, workflows");
  add_json_flag(status, g);
  auto* shards = cluster->add_subcommand("shards", "shard -> node map with open and closed counts");
  add_json_flag(shards, g);
  auto run = [](bool with_shards) {
    return with_node([with_shards](const context& ctx) {
      auto resp = ctx.c.cluster_status(with_shards, with_shards);
      if (!resp) return ctx.failed(resp.error());
      return ctx.print_document(to_json(*resp),
                                with_shards ? shards_text(*resp) : cluster_text(*resp));
    });
  };
  out.push_back({status, run(false)});
  out.push_back({shards, run(true)});
}

}  // namespace chronicle::cli
