// GET /api/v1/namespaces/{ns}/task-queues/{name}: a task queue's pollers and backlog per kind
// (DescribeTaskQueueResponse), gathered by matching from every node that hosts the queue.
// GET …/task-queues/{name}/config: the flow limits an operator set (TaskQueueConfigResponse);
// PUT (or POST) …/config with a SetTaskQueueConfigRequest body sets or unsets them.
#include "actors/http/api.hpp"
#include "actors/http/json.hpp"
#include "actors/http/query_params.hpp"
#include "actors/routing/validation.hpp"

namespace chronicle::http {

namespace {

step finish(reply r) { return step{std::move(r), std::nullopt}; }

step not_allowed(const std::string& allow) {
  auto r = error_reply(405, "method_not_allowed", "this path accepts " + allow);
  r.allow = allow;
  return finish(std::move(r));
}

// A call whose answer, a Resp, is rendered as JSON with 200.
template <class Resp>
step call(caf::atom_value kind, std::string bytes) {
  return step{std::nullopt,
              node_call{kind, std::move(bytes), std::chrono::seconds(10),
                        [](caf::expected<std::string> answer) {
                          if (!answer) return finish(error_reply(answer.error()));
                          auto resp = decode<Resp>(*answer, Resp::descriptor()->name().c_str());
                          if (!resp) return finish(error_reply(resp.error()));
                          return finish(reply{200, "application/json", to_json(*resp).dump()});
                        }}};
}

// …/config: get or set the operator's limits.
step config_endpoint(const request& req, const std::string& ns, const std::string& queue) {
  if (req.method == "GET") {
    pb::GetTaskQueueConfigRequest g;
    g.set_namespace_(ns);
    g.set_task_queue(queue);
    return call<pb::TaskQueueConfigResponse>(tq_config_get_atom::value, encode(g));
  }
  if (req.method != "PUT" && req.method != "POST") return not_allowed("GET, PUT, POST");
  std::string why;
  auto body = parse_body(req.body, json::object(), &why);
  if (body && !body->is_object()) why = "the body must be a JSON object";
  if (!why.empty() || !body) return finish(error_reply(400, "invalid_argument", why));
  for (auto [field, value] : {std::pair{"namespace", &ns}, std::pair{"task_queue", &queue}})
    if (body->contains(field) && (*body)[field] != *value)
      return finish(error_reply(400, "invalid_argument",
                                std::string("the body's ") + field + " differs from the path's"));
  body->erase("namespace");
  body->erase("task_queue");
  pb::SetTaskQueueConfigRequest set;
  why = fill_message(*body, &set);
  if (!why.empty()) return finish(error_reply(400, "invalid_argument", why));
  set.set_namespace_(ns);
  set.set_task_queue(queue);
  if (set.identity().empty()) set.set_identity("http");
  return call<pb::TaskQueueConfigResponse>(tq_config_set_atom::value, encode(set));
}

}  // namespace

step task_queues_endpoint(const request& req, const std::string& ns,
                          const std::vector<std::string>& rest, const query_map& query) {
  bool config = rest.size() == 2 && rest[1] == "config";
  if (rest.size() != 1 && !config) {
    auto what = rest.empty() ? "a task queue's name is needed: GET …/task-queues/{name}"
                             : "no such path under task-queues/{name} (…/config is)";
    return finish(error_reply(404, "not_found", what));
  }
  if (!config && req.method != "GET") return not_allowed("GET");
  for (auto& [what, value] : {std::pair{"namespace", &ns}, std::pair{"task queue", &rest[0]}})
    if (auto why = check_id(what, *value); !why.empty())
      return finish(error_reply(400, "invalid_argument", why));
  if (auto why = check_params(query, {}); !why.empty())
    return finish(error_reply(400, "invalid_argument", why));
  if (config) return config_endpoint(req, ns, rest[0]);
  pb::DescribeTaskQueueRequest d;
  d.set_namespace_(ns);
  d.set_task_queue(rest[0]);
  return call<pb::DescribeTaskQueueResponse>(tq_describe_atom::value, encode(d));
}

}  // namespace chronicle::http
