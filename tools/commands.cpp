// What the command groups share: see commands.hpp.
#include "tools/commands.hpp"

#include <iostream>

#include "protocol/runtime.hpp"
#include "tools/render.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::cli {

int context::failed(const caf::error& err, const std::string& workflow_id,
                    const std::string& run_id) const {
  auto text = error_text(err);
  bool missing = chronicle_code(err) == static_cast<uint8_t>(errc::not_found)
                 && text.find("not found") != std::string::npos;
  bool by_id = !workflow_id.empty() && run_id.empty();
  return fail(g, text, missing && by_id ? not_found_hint(c, g, workflow_id) : std::string());
}

int context::print(const nlohmann::json& j, const std::string& text) const {
  std::cout << (g.json ? j.dump() : text) << "\n";
  return 0;
}

int context::print_document(const nlohmann::json& j, const std::string& text) const {
  if (g.json) std::cout << j.dump(2) << "\n";
  else std::cout << text;
  return 0;
}

command_fn with_node(std::function<int(const context&)> body) {
  return [body = std::move(body)](const globals& g) {
    caf::actor_system_config cfg;
    chronicle::configure_network(cfg);
    cfg.set("scheduler.max-threads", size_t{2});
    cfg.set("logger.console", caf::atom("none"));
    caf::actor_system sys{cfg};
    auto c = connect(sys, g);
    if (!c) return 1;
    return body(context{g, *c});
  };
}

void add_run_options(CLI::App* sub, std::string& workflow_id, std::string& run_id) {
  sub->add_option("-w,--workflow-id", workflow_id, "workflow ID")->required();
  sub->add_option("-r,--run-id", run_id, "run ID (default: current run)");
}

void add_json_flag(CLI::App* sub, globals& g, const std::string& what) {
  sub->add_flag("--json", g.json, what);
}

std::optional<pb::Payload> json_payload(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return sdk::to_payload(j);
}

std::optional<std::pair<std::string, pb::Payload>> named_payload(const std::string& text) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  auto value = text.substr(eq + 1);
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded()) j = value;
  return std::make_pair(text.substr(0, eq), sdk::to_payload(j));
}

}  // namespace chronicle::cli
