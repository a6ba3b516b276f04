// chronicle namespace register|describe|update|list: namespaces as objects of the cluster
// (docs/operations.md "Namespaces").
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "tools/commands.hpp"
#include "tools/render.hpp"

namespace chronicle::cli {

namespace {

// "7d", "12h", "30m", "90s", "0" (the node's retention) as milliseconds; -1 when malformed.
int64_t retention_ms(const std::string& text) {
  if (text == "0") return 0;
  if (!text.empty() && text.back() == 'd') {
    auto hours = parse_duration_ms(text.substr(0, text.size() - 1) + "h");
    return hours < 0 ? -1 : hours * 24;
  }
  return parse_duration_ms(text);
}

// NAME=TYPE options as a map; "" or the malformed one.
std::string parse_attributes(const std::vector<std::string>& items,
                             google::protobuf::Map<std::string, std::string>* out) {
  for (auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) return item;
    (*out)[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return {};
}

std::string retention_text(int64_t ms) {
  if (ms <= 0) return "the node's retention_ms";
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  return std::to_string(ms) + " ms";
}

std::string info_text(const pb::NamespaceInfo& n) {
  std::ostringstream os;
  os << "Namespace      " << n.name() << "\n"
     << "Description    " << (n.description().empty() ? "-" : n.description()) << "\n"
     << "Retention      " << retention_text(n.retention_ms()) << "\n"
     << "Version        " << n.version() << (n.version() == 0 ? " (from node config)" : "") << "\n";
  if (n.version() > 0)
    os << "Updated        " << format_time(n.update_time_ms()) << " by " << n.updated_by() << "\n";
  os << "Search attributes";
  if (n.search_attributes().empty()) os << "  (none)";
  os << "\n";
  std::map<std::string, std::string> sorted(n.search_attributes().begin(),
                                            n.search_attributes().end());
  for (auto& [name, type] : sorted) os << "  " << name << "  " << type << "\n";
  return os.str();
}

std::string response_text(const pb::NamespaceResponse& r) {
  auto text = info_text(r.info());
  if (!r.not_stored_on().empty()) {
    text += "not yet stored on (down; they receive it when they connect):";
    for (auto& n : r.not_stored_on()) text += " " + n;
    text += "\n";
  }
  return text;
}

std::string list_text(const pb::ListNamespacesResponse& l) {
  std::ostringstream os;
  char line[512];
  std::snprintf(line, sizeof(line), "%-24s %-10s %8s %7s  %s\n", "NAMESPACE", "RETENTION",
                "ATTRS", "VERSION", "DESCRIPTION");
  os << line;
  for (auto& n : l.namespaces()) {
    std::snprintf(line, sizeof(line), "%-24s %-10s %8d %7lld  %s\n", n.name().c_str(),
                  n.retention_ms() > 0 ? retention_text(n.retention_ms()).c_str() : "default",
                  n.search_attributes_size(), static_cast<long long>(n.version()),
                  n.description().c_str());
    os << line;
  }
  return os.str();
}

struct change_options {
  std::string name, description, retention;
  std::vector<std::string> attributes;
};

}  // namespace

void add_namespace_commands(CLI::App& app, globals& g, command_list& out) {
  auto* nsc = app.add_subcommand("namespace", "register, describe, update and list namespaces");
  nsc->require_subcommand(1);

  auto reg_opts = std::make_shared<change_options>();
  auto* reg = nsc->add_subcommand("register", "register a namespace in the cluster");
  reg->add_option("name", reg_opts->name, "the namespace's name")->required();
  reg->add_option("--description", reg_opts->description, "what it is for");
  reg->add_option("--retention", reg_opts->retention,
                  "how long closed runs are kept: 7d, 12h, 30m (default: the node's retention_ms)");
  reg->add_option("--search-attribute", reg_opts->attributes,
                  "a custom search attribute NAME=TYPE (keyword, text, int, double, bool, "
                  "datetime, keyword_list); repeatable");
  add_json_flag(reg, g);
  out.push_back({reg, with_node([reg_opts](const context& ctx) {
                   pb::RegisterNamespaceRequest req;
                   req.set_namespace_(reg_opts->name);
                   req.set_description(reg_opts->description);
                   if (!reg_opts->retention.empty()) {
                     auto ms = retention_ms(reg_opts->retention);
                     if (ms < 0) return usage(ctx.g, "--retention '" + reg_opts->retention
                                                       + "' is not a duration (7d, 12h, 30m)");
                     req.set_retention_ms(ms);
                   }
                   if (auto bad = parse_attributes(reg_opts->attributes,
                                                   req.mutable_search_attributes());
                       !bad.empty())
                     return usage(ctx.g, "--search-attribute '" + bad + "' is not NAME=TYPE");
                   auto resp = ctx.c.register_namespace(req);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), response_text(*resp));
                 })});

  auto upd_opts = std::make_shared<change_options>();
  auto upd_desc = std::make_shared<bool>(false);
  auto* upd = nsc->add_subcommand("update", "change a namespace: description, retention, "
                                            "added search attributes");
  upd->add_option("name", upd_opts->name, "the namespace (default: -n)");
  auto* desc = upd->add_option("--description", upd_opts->description, "a new description");
  upd->add_option("--retention", upd_opts->retention, "a new retention: 7d, 12h, 30m, 0 (node's)");
  upd->add_option("--add-search-attribute", upd_opts->attributes,
                  "add a custom search attribute NAME=TYPE; repeatable");
  add_json_flag(upd, g);
  out.push_back({upd, with_node([upd_opts, desc](const context& ctx) {
                   pb::UpdateNamespaceRequest req;
                   req.set_namespace_(upd_opts->name.empty() ? ctx.g.ns : upd_opts->name);
                   if (desc->count() > 0) req.set_description(upd_opts->description);
                   if (!upd_opts->retention.empty()) {
                     auto ms = retention_ms(upd_opts->retention);
                     if (ms < 0) return usage(ctx.g, "--retention '" + upd_opts->retention
                                                       + "' is not a duration (7d, 12h, 30m, 0)");
                     req.set_retention_ms(ms);
                   }
                   if (auto bad = parse_attributes(upd_opts->attributes,
                                                   req.mutable_add_search_attributes());
                       !bad.empty())
                     return usage(ctx.g, "--add-search-attribute '" + bad + "' is not NAME=TYPE");
                   if (!req.has_description() && !req.has_retention_ms()
                       && req.add_search_attributes().empty())
                     return usage(ctx.g, "nothing to change: give --description, --retention or "
                                         "--add-search-attribute");
                   auto resp = ctx.c.update_namespace(req);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), response_text(*resp));
                 })});

  auto desc_name = std::make_shared<std::string>();
  auto* describe = nsc->add_subcommand("describe", "a namespace's record");
  describe->add_option("name", *desc_name, "the namespace (default: -n)");
  add_json_flag(describe, g);
  out.push_back({describe, with_node([desc_name](const context& ctx) {
                   auto resp = ctx.c.describe_namespace(desc_name->empty() ? ctx.g.ns : *desc_name);
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), response_text(*resp));
                 })});

  auto* list = nsc->add_subcommand("list", "every namespace of the cluster");
  add_json_flag(list, g);
  out.push_back({list, with_node([](const context& ctx) {
                   auto resp = ctx.c.list_namespaces();
                   if (!resp) return ctx.failed(resp.error());
                   return ctx.print_document(to_json(*resp), list_text(*resp));
                 })});
}

}  // namespace chronicle::cli
