// /api/v1/namespaces/{ns}/schedules[/{id}[/update|pause|unpause|trigger|backfill]]: schedules
// (docs/schedules.md, docs/http.md). GET lists, POST creates (CreateScheduleRequest); GET …/{id}
// describes, DELETE …/{id} deletes, POST …/{id}/update replaces the definition, POST
// …/{id}/pause|unpause|trigger|backfill patches (PatchScheduleRequest's fields in the body).
// Every answer but the list is a ScheduleDescription.
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

// The body as a Req; the path's namespace and schedule ID win (a body naming others is refused).
template <class Req>
std::optional<Req> body_request(const request& req, const std::string& ns, const std::string& id,
                                std::string* why) {
  auto body = parse_body(req.body, json::object(), why);
  if (!body) return std::nullopt;
  if (!body->is_object()) {
    *why = "the body must be a JSON object";
    return std::nullopt;
  }
  for (auto& [field, value] : {std::pair{"namespace", ns}, std::pair{"schedule_id", id}}) {
    if (value.empty()) continue;
    if (body->contains(field) && (*body)[field] != value) {
      *why = std::string("the body's ") + field + " differs from the path's";
      return std::nullopt;
    }
    body->erase(field);
  }
  // The action's input is any JSON (as a workflow start's): taken out, made a payload.
  std::optional<json> input;
  if (body->contains("definition") && (*body)["definition"].is_object()
      && (*body)["definition"].contains("action") && (*body)["definition"]["action"].is_object()
      && (*body)["definition"]["action"].contains("input")) {
    input = (*body)["definition"]["action"]["input"];
    (*body)["definition"]["action"].erase("input");
  }
  Req out;
  *why = fill_message(*body, &out);
  if (!why->empty()) return std::nullopt;
  if constexpr (requires { out.mutable_definition(); })
    if (input) *out.mutable_definition()->mutable_action()->mutable_input() = to_payload(*input);
  out.set_namespace_(ns);
  if (!id.empty()) out.set_schedule_id(id);
  return out;
}

step one_schedule(const request& req, const std::string& ns, const std::vector<std::string>& rest) {
  const auto& id = rest[0];
  std::string why;
  if (rest.size() == 1) {
    if (req.method == "DELETE") {
      pb::DeleteScheduleRequest d;
      d.set_namespace_(ns);
      d.set_schedule_id(id);
      return call<pb::ScheduleDescription>(sch_delete_atom::value, encode(d), 200);
    }
    if (req.method != "GET") return not_allowed("GET, DELETE");
    pb::DescribeScheduleRequest d;
    d.set_namespace_(ns);
    d.set_schedule_id(id);
    return call<pb::ScheduleDescription>(sch_describe_atom::value, encode(d), 200);
  }
  if (rest.size() != 2) return finish(error_reply(404, "not_found", "no such path under schedules/{id}"));
  const auto& what = rest[1];
  if (what == "update") {
    if (req.method != "POST") return not_allowed("POST");
    auto r = body_request<pb::UpdateScheduleRequest>(req, ns, id, &why);
    if (!r) return bad_request(why);
    return call<pb::ScheduleDescription>(sch_update_atom::value, encode(*r), 200);
  }
  if (what == "pause" || what == "unpause" || what == "trigger" || what == "backfill") {
    if (req.method != "POST") return not_allowed("POST");
    auto r = body_request<pb::PatchScheduleRequest>(req, ns, id, &why);
    if (!r) return bad_request(why);
    r->set_pause(what == "pause");
    r->set_unpause(what == "unpause");
    r->set_trigger(what == "trigger");
    if (what != "backfill") {
      r->clear_backfill_start_ms();
      r->clear_backfill_end_ms();
    } else if (r->backfill_start_ms() == 0 || r->backfill_end_ms() == 0) {
      return bad_request("a backfill needs backfill_start_ms and backfill_end_ms");
    }
    return call<pb::ScheduleDescription>(sch_patch_atom::value, encode(*r), 200);
  }
  return finish(error_reply(404, "not_found", "no such path under schedules/{id}: " + what));
}

}  // namespace

step schedules_endpoint(const request& req, const std::string& ns,
                        const std::vector<std::string>& rest, const query_map& query) {
  if (auto why = check_params(query, {}); !why.empty()) return bad_request(why);
  if (!rest.empty()) return one_schedule(req, ns, rest);
  if (req.method == "GET") {
    pb::ListSchedulesRequest l;
    l.set_namespace_(ns);
    return call<pb::ListSchedulesResponse>(sch_list_atom::value, encode(l), 200);
  }
  if (req.method != "POST") return not_allowed("GET, POST");
  std::string why;
  auto r = body_request<pb::CreateScheduleRequest>(req, ns, {}, &why);
  if (!r) return bad_request(why);
  return call<pb::ScheduleDescription>(sch_create_atom::value, encode(*r), 201);
}

}  // namespace chronicle::http
