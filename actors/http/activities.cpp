// POST /api/v1/namespaces/{ns}/activities/complete|fail|heartbeat: asynchronous completion of an
// activity attempt by its task token (docs/http.md, docs/semantics.md). The namespace is in the
// path (it picks the API key's role, write) and must be the token's.
#include "actors/http/api.hpp"
#include "actors/http/json.hpp"
#include "actors/routing/validation.hpp"
#include "protocol/task_token.hpp"

namespace chronicle::http {

namespace {

step finish(reply r) { return step{std::move(r), std::nullopt}; }
step bad_request(const std::string& message) {
  return finish(error_reply(400, "invalid_argument", message));
}

// The body's "task_token" as a request for `ns`, or what is wrong.
std::string token_request(const json& body, const std::string& ns,
                          pb::RespondActivityByTokenRequest* req) {
  auto it = body.find("task_token");
  if (it == body.end() || !it->is_string()) return "the body needs \"task_token\" (a string)";
  if (auto why = parse_task_token(it->get<std::string>(), req->mutable_token()); !why.empty())
    return why;
  auto token_ns = req->token().namespace_().empty() ? std::string(default_namespace)
                                                    : req->token().namespace_();
  if (token_ns != ns)
    return "the task token is of namespace '" + token_ns + "', not '" + ns + "'";
  req->set_namespace_(ns);
  req->set_workflow_id(req->token().workflow_id());
  auto identity = body.find("identity");
  req->set_identity(identity != body.end() && identity->is_string() ? identity->get<std::string>()
                                                                    : "http-gateway");
  return {};
}

// Fills the outcome of `what` from the body; returns what is wrong.
std::string fill_outcome(const std::string& what, const json& body,
                         pb::RespondActivityByTokenRequest* req) {
  auto value = [&](const char* key) { return body.contains(key) ? body.at(key) : json(nullptr); };
  if (what == "complete") {
    *req->mutable_result() = to_payload(value("result"));
  } else if (what == "heartbeat") {
    *req->mutable_heartbeat_details() = to_payload(value("details"));
  } else {  // fail: {"failure": {message, type, non_retryable}} or {"reason": "..."}
    auto* f = req->mutable_failure();
    if (body.contains("failure")) {
      if (!body.at("failure").is_object()) return "\"failure\" must be an object";
      if (auto why = fill_message(body.at("failure"), f); !why.empty())
        return "invalid failure: " + why;
    } else if (body.contains("reason") && body.at("reason").is_string()) {
      f->set_message(body.at("reason").get<std::string>());
    } else {
      return "the body needs \"reason\" (a string) or \"failure\" (an object)";
    }
    if (f->type().empty()) f->set_type("AsyncActivityFailure");
    f->set_source("client");
  }
  return {};
}

}  // namespace

step activities_endpoint(const request& req, const std::string& ns,
                         const std::vector<std::string>& rest) {
  if (auto why = check_id("namespace", ns); !why.empty()) return bad_request(why);
  if (rest.size() != 1
      || (rest[0] != "complete" && rest[0] != "fail" && rest[0] != "heartbeat"))
    return finish(error_reply(404, "not_found", "no such path: " + req.target));
  if (req.method != "POST") {
    auto r = error_reply(405, "method_not_allowed", "this path accepts POST");
    r.allow = "POST";
    return finish(std::move(r));
  }
  std::string error;
  auto body = parse_body(req.body, json::object(), &error);
  if (!body) return bad_request(error);
  if (!body->is_object()) return bad_request("request body must be a JSON object");
  pb::RespondActivityByTokenRequest r;
  if (auto why = token_request(*body, ns, &r); !why.empty()) return bad_request(why);
  if (auto why = fill_outcome(rest[0], *body, &r); !why.empty()) return bad_request(why);
  return step{std::nullopt,
              node_call{act_token_atom::value, encode(r), std::chrono::milliseconds(request_timeout),
                        [](caf::expected<std::string> answer) {
                          if (!answer) return finish(error_reply(answer.error()));
                          auto resp = decode<pb::RespondActivityByTokenResponse>(*answer, "reply");
                          if (!resp) return finish(error_reply(resp.error()));
                          return finish(reply{200, "application/json", to_json(*resp).dump()});
                        }}};
}

}  // namespace chronicle::http
