#include "actors/http/api.hpp"

#include "actors/http/json.hpp"

namespace chronicle::http {

namespace {

step finish(reply r) { return step{std::move(r), std::nullopt}; }

reply method_not_allowed(const std::string& allow) {
  auto r = error_reply(405, "method_not_allowed", "this path accepts " + allow);
  r.allow = allow;
  return r;
}

step cluster_endpoint(const std::map<std::string, std::string>& query) {
  pb::ClusterStatusRequest req;
  auto it = query.find("shards");
  req.set_with_shards(it == query.end() || it->second != "false");
  it = query.find("digests");  // replicated shards' digests (read the data): unless false
  req.set_with_digests(req.with_shards() && (it == query.end() || it->second != "false"));
  for (auto& [k, v] : query)
    if (k != "shards" && k != "digests")
      return finish(error_reply(400, "invalid_argument", "unknown query parameter '" + k
                                                           + "' (allowed: shards, digests)"));
  return step{std::nullopt,
              node_call{cluster_atom::value, encode(req), std::chrono::seconds(10),
                        [](caf::expected<std::string> answer) {
                          if (!answer) return finish(error_reply(answer.error()));
                          auto resp = decode<pb::ClusterStatusResponse>(*answer,
                                                                        "ClusterStatusResponse");
                          if (!resp) return finish(error_reply(resp.error()));
                          return finish(reply{200, "application/json", to_json(*resp).dump()});
                        }}};
}

}  // namespace

reply error_reply(unsigned status, const std::string& code, const std::string& message) {
  json body{{"code", code}, {"message", message}};
  return reply{status, "application/json",
               body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

reply error_reply(const caf::error& err) {
  auto text = error_text(err);
  switch (static_cast<errc>(chronicle_code(err))) {
    case errc::invalid_argument: return error_reply(400, "invalid_argument", text);
    case errc::bad_message: return error_reply(400, "invalid_argument", text);
    case errc::not_found: return error_reply(404, "not_found", text);
    case errc::already_started: return error_reply(409, "already_started", text);
    case errc::unavailable: return error_reply(503, "unavailable", text);
    case errc::overloaded: return error_reply(503, "overloaded", text);
    case errc::unauthenticated: return error_reply(401, "unauthenticated", text);
    case errc::permission_denied: return error_reply(403, "permission_denied", text);
    // A task token whose attempt is over (asynchronous completion): the request came too late.
    case errc::stale_task: return error_reply(409, "stale_task", text);
    case errc::internal: return error_reply(500, "internal", text);
    case errc::failed_precondition: return error_reply(409, "failed_precondition", text);
  }
  if (err == caf::sec::request_timeout)
    return error_reply(503, "unavailable", "the node did not answer in time (request_timeout)");
  return error_reply(500, "internal", text);
}

step handle(const request& req, const node_env& env) {
  std::string_view target = req.target;
  auto qmark = target.find('?');
  auto path = split_path(target.substr(0, qmark));
  auto query = parse_query(qmark == std::string_view::npos ? std::string_view{}
                                                           : target.substr(qmark + 1));
  if (!path || !query)
    return finish(error_reply(400, "invalid_argument", "malformed percent-escape in the URL"));
  auto& p = *path;
  bool get = req.method == "GET";
  if (p.empty() || p[0] == "ui") {
    if (!get) return finish(method_not_allowed("GET"));
    auto file = ui_endpoint(p.empty() ? "/" : "/" + p[0] + (p.size() > 1 ? "/" + p[1] : ""));
    if (file && p.size() <= 2) return finish(std::move(*file));
  } else if (p.size() == 1 && p[0] == "metrics") {
    if (!get) return finish(method_not_allowed("GET"));
    return finish(metrics_endpoint(env));
  } else if (p.size() >= 2 && p[0] == "api" && p[1] == "v1") {
    if (p.size() == 3 && p[2] == "cluster") {
      if (!get) return finish(method_not_allowed("GET"));
      return cluster_endpoint(*query);
    }
    if (p.size() == 5 && p[2] == "namespaces" && p[4] == "workflow-count")
      return count_endpoint(req, p[3], *query);
    if (p.size() >= 3 && p.size() <= 5 && p[2] == "namespaces"
        && (p.size() < 5 || p[4] == "update"))
      return namespaces_endpoint(req, std::vector<std::string>(p.begin() + 3, p.end()), *query);
    if (p.size() >= 5 && p[2] == "namespaces" && p[4] == "task-queues")
      return task_queues_endpoint(req, p[3], std::vector<std::string>(p.begin() + 5, p.end()),
                                  *query);
    if (p.size() >= 5 && p[2] == "namespaces" && p[4] == "schedules")
      return schedules_endpoint(req, p[3], std::vector<std::string>(p.begin() + 5, p.end()),
                                *query);
    if (p.size() >= 5 && p[2] == "namespaces" && p[4] == "batches")
      return batches_endpoint(req, p[3], std::vector<std::string>(p.begin() + 5, p.end()),
                              *query);
    if (p.size() >= 5 && p[2] == "namespaces" && p[4] == "activities")
      return activities_endpoint(req, p[3], std::vector<std::string>(p.begin() + 5, p.end()));
    if (p.size() >= 5 && p[2] == "namespaces" && p[4] == "workflows")
      return workflows_endpoint(req, p[3], std::vector<std::string>(p.begin() + 5, p.end()),
                                *query);
  }
  return finish(error_reply(404, "not_found", "no such path: " + std::string(target.substr(0, qmark))));
}

}  // namespace chronicle::http

namespace chronicle::http {

reply metrics_endpoint(const node_env& env) {
  auto out = env.metrics->render(env.config.name);
  auto node = "node=\"" + metrics::label_value(env.config.name) + "\"";
  uint32_t owned = 0, ready = 0;
  for (uint32_t shard = 0; shard < env.config.num_shards; ++shard) {
    if (!env.owns_shard(shard)) continue;
    ++owned;
    if (env.shard_ready && env.shard_ready[shard].load()) ++ready;
  }
  int peers_up = 0;
  for (auto& m : env.config.members)
    if (m.name != env.config.name && env.peers->info(m.name).up) ++peers_up;
  auto gauge = [&](const char* name, const char* help, double value) {
    metrics::render_header(out, name, "gauge", help);
    metrics::render_sample(out, name, node, value);
  };
  gauge("chronicle_shards_owned", "Shards this node owns on the hash ring.", owned);
  gauge("chronicle_shards_ready", "Owned shards that have recovered and serve requests.", ready);
  gauge("chronicle_peers_up", "Other members this node is connected to.", peers_up);
  gauge("chronicle_uptime_seconds", "Seconds since the node started.",
        static_cast<double>(now_ms() - env.started_at_ms) / 1000.0);
  if (env.replicated() && env.shard_lag && env.shard_leader) {
    const char* name = "chronicle_raft_replication_lag_entries";
    metrics::render_header(out, name, "gauge",
                           "Per shard led by this node: the most log entries a replica of its "
                           "group lacks (the leader's last index minus that replica's match "
                           "index, as of the last Raft tick).");
    const auto own = env.peers->own_raft_id();
    for (uint32_t shard = 0; shard < env.config.num_shards; ++shard)
      if (own != 0 && env.shard_leader[shard].load() == own)
        metrics::render_sample(out, name, node + ",shard=\"" + std::to_string(shard) + "\"",
                               static_cast<double>(env.shard_lag[shard].load()));
  }
  return reply{200, "text/plain; version=0.0.4; charset=utf-8", std::move(out)};
}

}  // namespace chronicle::http
