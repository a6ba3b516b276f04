// /api/v1/namespaces[/{ns}[/update]]: namespaces as objects (docs/operations.md "Namespaces").
// GET lists, POST registers; GET …/{ns} describes, POST …/{ns}/update changes one.
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

// The body as a Req (protobuf's JSON mapping); the path's namespace wins when `ns` is set.
template <class Req>
std::optional<Req> body_request(const request& req, const std::string& ns, std::string* why) {
  auto body = parse_body(req.body, json::object(), why);
  if (!body) return std::nullopt;
  if (!body->is_object()) {
    *why = "the body must be a JSON object";
    return std::nullopt;
  }
  if (!ns.empty()) {
    if (body->contains("namespace") && (*body)["namespace"] != ns) {
      *why = "the body's namespace differs from the path's";
      return std::nullopt;
    }
    body->erase("namespace");
  }
  Req out;
  *why = fill_message(*body, &out);
  if (!why->empty()) return std::nullopt;
  if (!ns.empty()) out.set_namespace_(ns);
  return out;
}

}  // namespace

step namespaces_endpoint(const request& req, const std::vector<std::string>& rest,
                         const query_map& query) {
  if (auto why = check_params(query, {}); !why.empty()) return bad_request(why);
  std::string why;
  if (rest.empty()) {
    if (req.method == "GET")
      return call<pb::ListNamespacesResponse>(ns_list_atom::value,
                                              encode(pb::ListNamespacesRequest{}), 200);
    if (req.method != "POST") return not_allowed("GET, POST");
    auto r = body_request<pb::RegisterNamespaceRequest>(req, {}, &why);
    if (!r) return bad_request(why);
    return call<pb::NamespaceResponse>(ns_register_atom::value, encode(*r), 201);
  }
  const auto& ns = rest[0];
  if (rest.size() == 1) {
    if (req.method != "GET") return not_allowed("GET");
    pb::DescribeNamespaceRequest d;
    d.set_namespace_(ns);
    return call<pb::NamespaceResponse>(ns_describe_atom::value, encode(d), 200);
  }
  if (rest.size() == 2 && rest[1] == "update") {
    if (req.method != "POST") return not_allowed("POST");
    auto r = body_request<pb::UpdateNamespaceRequest>(req, ns, &why);
    if (!r) return bad_request(why);
    return call<pb::NamespaceResponse>(ns_update_atom::value, encode(*r), 200);
  }
  return finish(error_reply(404, "not_found", "no such path under /api/v1/namespaces/{ns}"));
}

}  // namespace chronicle::http
