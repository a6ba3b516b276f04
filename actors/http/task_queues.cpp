// GET /api/v1/namespaces/{ns}/task-queues/{name}: a task queue's pollers and backlog per kind
// (DescribeTaskQueueResponse), gathered by matching from every node that hosts the queue.
#include "actors/http/api.hpp"
#include "actors/http/json.hpp"
#include "actors/http/query_params.hpp"
#include "actors/routing/validation.hpp"

namespace chronicle::http {

namespace {

step finish(reply r) { return step{std::move(r), std::nullopt}; }

}  // namespace

step task_queues_endpoint(const request& req, const std::string& ns,
                          const std::vector<std::string>& rest, const query_map& query) {
  if (rest.size() != 1) {
    auto what = rest.empty() ? "a task queue's name is needed: GET …/task-queues/{name}"
                             : "no such path under task-queues/{name}";
    return finish(error_reply(404, "not_found", what));
  }
  if (req.method != "GET") {
    auto r = error_reply(405, "method_not_allowed", "this path accepts GET");
    r.allow = "GET";
    return finish(std::move(r));
  }
  for (auto& [what, value] : {std::pair{"namespace", &ns}, std::pair{"task queue", &rest[0]}})
    if (auto why = check_id(what, *value); !why.empty())
      return finish(error_reply(400, "invalid_argument", why));
  if (auto why = check_params(query, {}); !why.empty())
    return finish(error_reply(400, "invalid_argument", why));
  pb::DescribeTaskQueueRequest d;
  d.set_namespace_(ns);
  d.set_task_queue(rest[0]);
  return step{std::nullopt,
              node_call{tq_describe_atom::value, encode(d), std::chrono::seconds(10),
                        [](caf::expected<std::string> answer) {
                          if (!answer) return finish(error_reply(answer.error()));
                          auto resp = decode<pb::DescribeTaskQueueResponse>(
                            *answer, "DescribeTaskQueueResponse");
                          if (!resp) return finish(error_reply(resp.error()));
                          return finish(reply{200, "application/json", to_json(*resp).dump()});
                        }}};
}

}  // namespace chronicle::http
