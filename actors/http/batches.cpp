// /api/v1/namespaces/{ns}/batches[/{id}[/stop]]: batch jobs (docs/operations.md "Batch
// operations", docs/http.md). GET lists (ListBatchJobsResponse), POST starts (a flat body, see
// start_request); GET …/{id} describes, POST …/{id}/stop stops ({"reason"}). Every answer but
// the list is a BatchJobDescription.
#include "actors/http/api.hpp"
#include "actors/http/json.hpp"
#include "actors/http/object_steps.hpp"
#include "actors/http/query_params.hpp"

namespace chronicle::http {

namespace {

using object_steps::bad_request;
using object_steps::call;
using object_steps::finish;
using object_steps::not_allowed;

// A start reads the query's first page through the cluster-wide list before it answers.
constexpr auto batch_timeout = std::chrono::seconds(30);

// A string field of the body ("" when absent); false (with *why) when present and not a string.
bool text_field(const json& body, const char* name, std::string* out, std::string* why) {
  if (!body.contains(name)) return true;
  if (!body[name].is_string()) {
    *why = std::string("'") + name + "' must be a string";
    return false;
  }
  *out = body[name].get<std::string>();
  return true;
}

// {"query", "operation": "terminate"|"cancel"|"signal"|"reset", "signal_name", "input" (any
// JSON), "reset_type": "first"|"last", "reapply_signals" (bool, default true), "reason", "rps",
// "job_id", "request_id", "identity"}.
std::optional<pb::StartBatchJobRequest> start_request(const request& req, const std::string& ns,
                                                      std::string* why) {
  auto body = parse_body(req.body, json::object(), why);
  if (!body) return std::nullopt;
  if (!body->is_object()) {
    *why = "the body must be a JSON object";
    return std::nullopt;
  }
  static const std::set<std::string> known = {"query", "operation", "signal_name", "input",
                                              "reset_type", "reapply_signals", "reason", "rps",
                                              "job_id", "request_id", "identity", "namespace"};
  for (auto& [k, v] : body->items())
    if (!known.count(k)) {
      *why = "unknown field '" + k + "' in the body";
      return std::nullopt;
    }
  std::string body_ns, query, operation, signal_name, reset_type, reason, job_id, request_id,
    identity;
  for (auto& [name, out] : {std::pair{"namespace", &body_ns}, std::pair{"query", &query},
                            std::pair{"operation", &operation}, std::pair{"signal_name", &signal_name},
                            std::pair{"reset_type", &reset_type}, std::pair{"reason", &reason},
                            std::pair{"job_id", &job_id}, std::pair{"request_id", &request_id},
                            std::pair{"identity", &identity}})
    if (!text_field(*body, name, out, why)) return std::nullopt;
  if (!body_ns.empty() && body_ns != ns) {
    *why = "the body's namespace differs from the path's";
    return std::nullopt;
  }
  pb::StartBatchJobRequest r;
  r.set_namespace_(ns);
  r.set_job_id(job_id);
  r.set_request_id(request_id);
  auto* def = r.mutable_definition();
  def->set_query(query);
  def->set_reason(reason);
  def->set_identity(identity.empty() ? "http" : identity);
  if (body->contains("rps")) {
    if (!(*body)["rps"].is_number()) {
      *why = "'rps' must be a number";
      return std::nullopt;
    }
    def->set_rps((*body)["rps"].get<double>());
  }
  auto* op = def->mutable_operation();
  if (operation == "terminate") op->mutable_terminate();
  else if (operation == "cancel") op->mutable_cancel();
  else if (operation == "signal") {
    op->mutable_signal()->set_name(signal_name);
    if (body->contains("input")) *op->mutable_signal()->mutable_input() = to_payload((*body)["input"]);
  } else if (operation == "reset") {
    if (reset_type != "first" && reset_type != "last") {
      *why = "a reset needs 'reset_type': \"first\" or \"last\"";
      return std::nullopt;
    }
    op->mutable_reset()->set_reset_type(reset_type == "first" ? pb::RESET_TYPE_FIRST_WORKFLOW_TASK
                                                               : pb::RESET_TYPE_LAST_WORKFLOW_TASK);
    bool reapply = true;
    if (body->contains("reapply_signals")) {
      if (!(*body)["reapply_signals"].is_boolean()) {
        *why = "'reapply_signals' must be true or false";
        return std::nullopt;
      }
      reapply = (*body)["reapply_signals"].get<bool>();
    }
    op->mutable_reset()->set_reapply_type(reapply ? pb::RESET_REAPPLY_TYPE_SIGNAL
                                                  : pb::RESET_REAPPLY_TYPE_NONE);
  } else {
    *why = "'operation' must be \"terminate\", \"cancel\", \"signal\" or \"reset\"";
    return std::nullopt;
  }
  if (operation != "signal" && (body->contains("signal_name") || body->contains("input"))) {
    *why = "'signal_name' and 'input' go with the operation \"signal\"";
    return std::nullopt;
  }
  return r;
}

step one_job(const request& req, const std::string& ns, const std::vector<std::string>& rest) {
  const auto& id = rest[0];
  if (rest.size() == 1) {
    if (req.method != "GET") return not_allowed("GET");
    pb::DescribeBatchJobRequest d;
    d.set_namespace_(ns);
    d.set_job_id(id);
    return call<pb::BatchJobDescription>(bat_describe_atom::value, encode(d), 200, batch_timeout);
  }
  if (rest.size() != 2 || rest[1] != "stop")
    return finish(error_reply(404, "not_found", "no such path under batches/{id}"));
  if (req.method != "POST") return not_allowed("POST");
  std::string why;
  auto body = parse_body(req.body, json::object(), &why);
  if (!body) return bad_request(why);
  if (!body->is_object()) return bad_request("the body must be a JSON object");
  pb::StopBatchJobRequest s;
  s.set_namespace_(ns);
  s.set_job_id(id);
  for (auto& [k, v] : body->items()) {
    if (k != "reason" && k != "identity") return bad_request("unknown field '" + k + "' in the body");
    if (!v.is_string()) return bad_request("'" + k + "' must be a string");
  }
  if (body->contains("reason")) s.set_reason((*body)["reason"].get<std::string>());
  s.set_identity(body->contains("identity") ? (*body)["identity"].get<std::string>() : "http");
  return call<pb::BatchJobDescription>(bat_stop_atom::value, encode(s), 200, batch_timeout);
}

}  // namespace

step batches_endpoint(const request& req, const std::string& ns,
                      const std::vector<std::string>& rest, const query_map& query) {
  if (auto why = check_params(query, {}); !why.empty()) return bad_request(why);
  if (!rest.empty()) return one_job(req, ns, rest);
  if (req.method == "GET") {
    pb::ListBatchJobsRequest l;
    l.set_namespace_(ns);
    return call<pb::ListBatchJobsResponse>(bat_list_atom::value, encode(l), 200, batch_timeout);
  }
  if (req.method != "POST") return not_allowed("GET, POST");
  std::string why;
  auto r = start_request(req, ns, &why);
  if (!r) return bad_request(why);
  return call<pb::BatchJobDescription>(bat_start_atom::value, encode(*r), 201, batch_timeout);
}

}  // namespace chronicle::http
