#include "tools/session.hpp"

#include <algorithm>
#include <iostream>
#include <set>

#include "tools/render.hpp"
#include "tools/suggest.hpp"
#include "worker/worker.hpp"

namespace chronicle::cli {

int fail(const globals& g, const std::string& msg, const std::string& hint, int code) {
  if (g.json) {
    std::cout << error_json(msg, hint).dump() << "\n";
  } else {
    std::cerr << "chronicle: " << msg << "\n";
    if (!hint.empty()) std::cerr << "  " << hint << "\n";
  }
  return code;
}

int parse_failed(const CLI::App& app, const CLI::ParseError& e,
                 const std::vector<std::string>& args) {
  if (e.get_exit_code() == 0) return app.exit(e);
  auto hint = usage_hint(app, args);
  std::cerr << "chronicle: " << (hint.empty() ? e.what() : hint) << "\n"
            << "Run 'chronicle --help' (or 'chronicle <command> --help') for usage.\n";
  return 2;
}

std::string not_found_hint(client& c, const globals& g, const std::string& wid) {
  // A few first characters, fewer than the whole ID so that a typo near its end still matches.
  auto prefix = wid.substr(0, std::clamp<size_t>(wid.size() - 1, 1, 3));
  auto cmd = "chronicle workflow list --prefix " + prefix;
  if (g.ns != "default") cmd += " -n " + g.ns;
  pb::ListWorkflowsRequest req;
  req.set_namespace_(g.ns);
  req.set_workflow_id_prefix(prefix);
  std::set<std::string> ids;
  if (auto l = c.list(req))
    for (auto& e : l->executions()) ids.insert(e.workflow_id());
  auto guess = closest(wid, {ids.begin(), ids.end()});
  if (guess.empty()) return "list workflows with IDs like it: " + cmd;
  return "did you mean '" + guess + "'? (list similar IDs: " + cmd + ")";
}

std::optional<client> connect(caf::actor_system& sys, const globals& g) {
  std::string host;
  uint16_t port = 0;
  std::vector<std::string> more;
  if (auto bad = parse_addresses(g.address, &host, &port, &more); !bad.empty()) {
    fail(g, "--address '" + bad + "' is not host:port");
    return std::nullopt;
  }
  // Several nodes (comma-separated): the first that answers; the others when it is lost.
  more.insert(more.begin(), host + ":" + std::to_string(port));
  auto c = client::connect(sys, more, std::chrono::seconds(2));
  if (!c) {
    // A refused cluster secret is not a wrong address.
    auto hint = chronicle_code(c.error()) == static_cast<uint8_t>(errc::unauthenticated)
                  ? std::string()
                  : "is a node running at " + g.address
                      + "? pass --address host:port or set CHRONICLE_ADDRESS";
    fail(g, error_text(c.error()), hint);
    return std::nullopt;
  }
  return std::move(*c);
}

}  // namespace chronicle::cli
