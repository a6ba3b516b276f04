// /api/v1/namespaces/{ns}/workflows[/{wid}[/history|result|signal/{name}|query/{name}|
// update/{name}|cancel|terminate]]: each endpoint builds the client library's request, and renders its answer.
#include <charconv>
#include <cstdio>
#include <random>
#include <set>

#include "actors/http/api.hpp"
#include "actors/http/json.hpp"
#include "actors/http/query_params.hpp"
#include "actors/routing/validation.hpp"

namespace chronicle::http {

namespace {

constexpr auto call_timeout = std::chrono::milliseconds(request_timeout);
constexpr int64_t default_wait_ms = 60'000;
constexpr int64_t max_wait_ms = 600'000;
constexpr const char* identity = "http-gateway";

step finish(reply r) { return step{std::move(r), std::nullopt}; }
step bad_request(const std::string& message) {
  return finish(error_reply(400, "invalid_argument", message));
}

reply json_reply(unsigned status, const json& body) {
  return reply{status, "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

// "running", "Running", "timed_out", "WORKFLOW_EXECUTION_STATUS_RUNNING" ... -> status.
std::optional<pb::WorkflowExecutionStatus> parse_status(const std::string& text) {
  auto norm = [](std::string s) {
    std::string out;
    for (char c : s)
      if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  auto want = norm(text);
  for (int s = pb::WORKFLOW_EXECUTION_STATUS_RUNNING; s <= pb::WORKFLOW_EXECUTION_STATUS_TIMED_OUT; ++s) {
    auto status = static_cast<pb::WorkflowExecutionStatus>(s);
    if (want == norm(status_name(status)) || want == norm(pb::WorkflowExecutionStatus_Name(status)))
      return status;
  }
  return std::nullopt;
}

// GetResultResponse as JSON: what to_json prints (failure left out when empty), built directly
// for the common answers (no failure, a JSON result) without protobuf's JSON printer.
json render_result(const pb::GetResultResponse& r) {
  bool simple = r.failure().ByteSizeLong() == 0;
  json result;
  if (simple && r.has_result()) {
    const auto& data = r.result().data();
    if (data.empty()) {
      result = nullptr;
    } else {
      result = json::parse(data, nullptr, false);
      simple = !result.is_discarded();
    }
  }
  if (!simple) {
    auto j = to_json(r);
    if (r.failure().ByteSizeLong() == 0) j.erase("failure");
    return j;
  }
  json j{{"run_id", r.run_id()},
         {"status", pb::WorkflowExecutionStatus_Name(r.status())},
         {"new_run_id", r.new_run_id()}};
  if (r.has_result()) j["result"] = std::move(result);
  return j;
}

// Fills a start request from its JSON body. The common body (string fields only) is read
// directly; anything else goes through protobuf's JSON parser, which also words the errors.
std::string fill_start(const json& body, pb::StartWorkflowRequest* start) {
  using setter = void (pb::StartWorkflowRequest::*)(const std::string&);
  static const std::map<std::string, setter, std::less<>> direct{
    {"workflow_id", &pb::StartWorkflowRequest::set_workflow_id},
    {"workflow_type", &pb::StartWorkflowRequest::set_workflow_type},
    {"task_queue", &pb::StartWorkflowRequest::set_task_queue},
    {"identity", &pb::StartWorkflowRequest::set_identity},
    {"request_id", &pb::StartWorkflowRequest::set_request_id}};
  bool plain = true;
  for (auto it = body.begin(); it != body.end() && plain; ++it)
    plain = it.value().is_string() && direct.count(it.key()) > 0;
  if (!plain) return fill_message(body, start);
  start->Clear();
  for (auto it = body.begin(); it != body.end(); ++it)
    (start->*direct.find(it.key())->second)(it.value().get_ref<const std::string&>());
  return {};
}

// A call whose answer is decoded as Resp and rendered with `render` (default: the whole message).
template <class Resp>
step call(caf::atom_value kind, std::string bytes, std::chrono::milliseconds timeout,
          std::function<reply(const Resp&)> render) {
  return step{std::nullopt,
              node_call{kind, std::move(bytes), timeout,
                        [render = std::move(render)](caf::expected<std::string> answer) {
                          if (!answer) return finish(error_reply(answer.error()));
                          auto resp = decode<Resp>(*answer, "reply");
                          if (!resp) return finish(error_reply(resp.error()));
                          return finish(render(*resp));
                        }}};
}

template <class Resp>
step call(caf::atom_value kind, std::string bytes) {
  return call<Resp>(kind, std::move(bytes), call_timeout,
                    [](const Resp& r) { return json_reply(200, to_json(r)); });
}

step start_and_wait(const pb::StartWorkflowRequest& start, std::chrono::milliseconds timeout);

// POST .../workflows: starts a run. With ?wait=true (start-and-wait) the same request then waits
// up to timeout_ms for the run's result and answers with both; a run still open by then answers
// its status RUNNING.
// A start body's "search_attributes" and "memo": plain JSON objects (name -> any JSON value), as
// `input` is plain JSON; moved out of `body` into `start`. Returns what is wrong, else "".
std::string take_named_payloads(json& body, pb::StartWorkflowRequest* start) {
  for (const char* key : {"search_attributes", "memo"}) {
    if (!body.contains(key)) continue;
    const json& fields = body[key];
    if (!fields.is_object())
      return std::string("'") + key + "' must be a JSON object of name to value";
    for (const auto& [name, value] : fields.items()) {
      if (std::string(key) == "memo") (*start->mutable_memo()->mutable_fields())[name] = to_payload(value);
      else (*start->mutable_search_attributes()->mutable_indexed_fields())[name] = to_payload(value);
    }
    body.erase(key);
  }
  return {};
}

step start(const request& req, const std::string& ns, const query_map& query) {
  if (auto why = check_params(query, {"wait", "timeout_ms"}); !why.empty()) return bad_request(why);
  auto wait = param(query, "wait");
  if (!wait.empty() && wait != "true" && wait != "false")
    return bad_request("query parameter 'wait' must be true or false");
  std::string error;
  auto timeout = int_param(query, "timeout_ms", default_wait_ms, 1, max_wait_ms, &error);
  if (!error.empty()) return bad_request(error);
  if (wait != "true" && query.count("timeout_ms"))
    return bad_request("query parameter 'timeout_ms' needs wait=true");
  auto body = parse_body(req.body, json::object(), &error);
  if (!body) return bad_request(error);
  if (!body->is_object()) return bad_request("request body must be a JSON object");
  pb::StartWorkflowRequest start;
  json input = body->contains("input") ? (*body)["input"] : json(nullptr);
  body->erase("input");
  pb::StartWorkflowRequest named;  // set after fill_start, whose parse clears the message
  if (auto why = take_named_payloads(*body, &named); !why.empty()) return bad_request(why);
  if (body->contains("parent")) return bad_request("'parent' is set by the server only");
  if (body->contains("namespace") && (*body)["namespace"] != ns)
    return bad_request("'namespace' in the body differs from the namespace in the path");
  body->erase("namespace");
  if (auto why = fill_start(*body, &start); !why.empty())
    return bad_request("invalid start request: " + why);
  start.set_namespace_(ns);
  *start.mutable_input() = to_payload(input);
  *start.mutable_search_attributes() = named.search_attributes();
  *start.mutable_memo() = named.memo();
  if (start.identity().empty()) start.set_identity(identity);
  if (wait == "true") return start_and_wait(start, std::chrono::milliseconds(timeout));
  return call<pb::StartWorkflowResponse>(
    start_atom::value, encode(start), call_timeout,
    [ns, wid = start.workflow_id()](const pb::StartWorkflowResponse& r) {
      return json_reply(r.started() ? 201 : 200, json{{"namespace", ns},
                                                      {"workflow_id", wid},
                                                      {"run_id", r.run_id()},
                                                      {"started", r.started()}});
    });
}

// The second half of a start-and-wait: the start's answer, then a result long poll of the run.
step start_and_wait(const pb::StartWorkflowRequest& start, std::chrono::milliseconds timeout) {
  auto head = [ns = start.namespace_(), wid = start.workflow_id()](const pb::StartWorkflowResponse& r) {
    return json{{"namespace", ns}, {"workflow_id", wid}, {"run_id", r.run_id()},
                {"started", r.started()}};
  };
  return step{
    std::nullopt,
    node_call{
      start_atom::value, encode(start), call_timeout,
      [head, timeout, ns = start.namespace_(),
       wid = start.workflow_id()](caf::expected<std::string> answer) {
        if (!answer) return finish(error_reply(answer.error()));
        auto started = decode<pb::StartWorkflowResponse>(*answer, "reply");
        if (!started) return finish(error_reply(started.error()));
        pb::GetResultRequest get;
        get.set_namespace_(ns);
        get.set_workflow_id(wid);
        get.set_run_id(started->run_id());
        unsigned status = started->started() ? 201 : 200;
        auto j = head(*started);
        return step{std::nullopt,
                    node_call{result_atom::value, encode(get), timeout,
                              [j, status](caf::expected<std::string> answer) mutable {
                                if (!answer && answer.error() == caf::sec::request_timeout) {
                                  j["status"] = "WORKFLOW_EXECUTION_STATUS_RUNNING";
                                  return finish(json_reply(status, j));
                                }
                                if (!answer) return finish(error_reply(answer.error()));
                                auto r = decode<pb::GetResultResponse>(*answer, "reply");
                                if (!r) return finish(error_reply(r.error()));
                                auto rendered = render_result(*r);
                                for (auto& [k, v] : rendered.items()) j[k] = v;
                                return finish(json_reply(status, j));
                              }}};
      }}};
}

step list(const std::string& ns, const query_map& query) {
  if (auto why = check_params(query, {"status", "type", "prefix", "start_time_from_ms",
                                      "start_time_to_ms", "close_time_from_ms",
                                      "close_time_to_ms", "page_size", "next_page_token", "query",
                                      "build_id"});
      !why.empty())
    return bad_request(why);
  pb::ListWorkflowsRequest req;
  req.set_namespace_(ns);
  if (auto s = param(query, "status"); !s.empty()) {
    auto status = parse_status(s);
    if (!status)
      return bad_request("unknown status '" + s + "' (running, completed, failed, canceled, "
                         "terminated, continued_as_new, timed_out)");
    req.set_status(*status);
  }
  req.set_workflow_type(param(query, "type"));
  req.set_workflow_id_prefix(param(query, "prefix"));
  req.set_query(param(query, "query"));
  req.set_build_id(param(query, "build_id"));
  std::string error;
  constexpr int64_t max_time = int64_t{1} << 53;
  req.set_start_time_from_ms(int_param(query, "start_time_from_ms", 0, 0, max_time, &error));
  req.set_start_time_to_ms(int_param(query, "start_time_to_ms", 0, 0, max_time, &error));
  req.set_close_time_from_ms(int_param(query, "close_time_from_ms", 0, 0, max_time, &error));
  req.set_close_time_to_ms(int_param(query, "close_time_to_ms", 0, 0, max_time, &error));
  req.set_page_size(static_cast<int32_t>(int_param(query, "page_size", 0, 1, 1000, &error)));
  if (!error.empty()) return bad_request(error);
  auto token = hex_decode(param(query, "next_page_token"));
  if (!token) return bad_request("next_page_token must be the hex string of a previous page");
  req.set_next_page_token(*token);
  return call<pb::ListWorkflowsResponse>(
    list_atom::value, encode(req), call_timeout, [](const pb::ListWorkflowsResponse& r) {
      auto j = to_json(r);
      j["next_page_token"] = hex_encode(r.next_page_token());
      return json_reply(200, j);
    });
}

template <class Req>
Req addressed(const std::string& ns, const std::string& wid, const query_map& query) {
  Req req;
  req.set_namespace_(ns);
  req.set_workflow_id(wid);
  req.set_run_id(param(query, "run_id"));
  return req;
}

// GET .../{wid}/result: without wait, the result of a closed run or its Running status at once;
// with wait=true, a long poll of up to timeout_ms that ends with the result, or the Running status.
step result(const std::string& ns, const std::string& wid, const query_map& query) {
  if (auto why = check_params(query, {"run_id", "wait", "timeout_ms"}); !why.empty())
    return bad_request(why);
  auto wait = param(query, "wait");
  if (!wait.empty() && wait != "true" && wait != "false")
    return bad_request("query parameter 'wait' must be true or false");
  std::string error;
  auto timeout = int_param(query, "timeout_ms", default_wait_ms, 1, max_wait_ms, &error);
  if (!error.empty()) return bad_request(error);
  auto describe = encode(addressed<pb::DescribeWorkflowRequest>(ns, wid, query));
  auto get = encode(addressed<pb::GetResultRequest>(ns, wid, query));
  auto get_result = [get](std::chrono::milliseconds t) {
    return call<pb::GetResultResponse>(result_atom::value, get, t, [](const auto& r) {
      return json_reply(200, render_result(r));
    });
  };
  // Describe first: a running run answers its status, a closed one its result.
  auto at_once = [describe, get_result]() {
    return step{std::nullopt,
                node_call{describe_atom::value, describe, call_timeout,
                          [get_result](caf::expected<std::string> answer) {
                            if (!answer) return finish(error_reply(answer.error()));
                            auto d = decode<pb::DescribeWorkflowResponse>(*answer, "reply");
                            if (!d) return finish(error_reply(d.error()));
                            if (d->status() != pb::WORKFLOW_EXECUTION_STATUS_RUNNING)
                              return get_result(call_timeout);
                            return finish(json_reply(
                              200, json{{"run_id", d->run_id()},
                                        {"status", pb::WorkflowExecutionStatus_Name(d->status())}}));
                          }}};
  };
  if (wait != "true") return at_once();
  auto s = get_result(std::chrono::milliseconds(timeout));
  s.call->finish = [inner = std::move(s.call->finish), at_once](caf::expected<std::string> answer) {
    if (!answer && answer.error() == caf::sec::request_timeout) return at_once();
    return inner(std::move(answer));
  };
  return s;
}

step signal(const request& req, const std::string& ns, const std::string& wid,
            const std::string& name, const query_map& query) {
  if (auto why = check_params(query, {"run_id", "request_id"}); !why.empty())
    return bad_request(why);
  std::string error;
  auto input = parse_body(req.body, json(nullptr), &error);
  if (!input) return bad_request(error);
  auto sig = addressed<pb::SignalWorkflowRequest>(ns, wid, query);
  sig.set_signal_name(name);
  *sig.mutable_input() = to_payload(*input);
  sig.set_identity(identity);
  sig.set_request_id(param(query, "request_id"));
  return call<pb::SignalWorkflowResponse>(signal_atom::value, encode(sig));
}

// POST .../{wid}/update/{name}: the body is the update's input (JSON); with ?start=true it is
// {"input": ..., "start": {workflow_type, task_queue, input, ...}} (update-with-start). Waits up
// to timeout_ms (default 10 s, at most 60 s) for the outcome: 200 with result (or failure, and
// rejected: true when the validator refused it); 202 with the stage reached when it is not
// completed yet: ask again with the same update_id (generated when the request named none).
step update(const request& req, const std::string& ns, const std::string& wid,
            const std::string& name, const query_map& query) {
  if (auto why = check_params(query, {"run_id", "update_id", "timeout_ms", "start"}); !why.empty())
    return bad_request(why);
  std::string error;
  auto timeout = int_param(query, "timeout_ms", 10'000, 1, 60'000, &error);
  if (!error.empty()) return bad_request(error);
  auto with_start = param(query, "start");
  if (!with_start.empty() && with_start != "true" && with_start != "false")
    return bad_request("query parameter 'start' must be true or false");
  auto body = parse_body(req.body, json(nullptr), &error);
  if (!body) return bad_request(error);
  auto u = addressed<pb::UpdateWorkflowRequest>(ns, wid, query);
  u.set_name(name);
  u.set_identity(identity);
  u.set_update_id(param(query, "update_id"));
  if (u.update_id().empty()) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[33];
    std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    u.set_update_id(buf);
  }
  json input = *body;
  if (with_start == "true") {
    if (!body->is_object() || !body->contains("start") || !(*body)["start"].is_object())
      return bad_request("with start=true the body is {\"input\": ..., \"start\": {...}}");
    auto start_body = (*body)["start"];
    json start_input = start_body.contains("input") ? start_body["input"] : json(nullptr);
    start_body.erase("input");
    if (auto why = fill_start(start_body, u.mutable_start()); !why.empty())
      return bad_request("invalid start request: " + why);
    *u.mutable_start()->mutable_input() = to_payload(start_input);
    if (u.start().identity().empty()) u.mutable_start()->set_identity(identity);
    input = body->contains("input") ? (*body)["input"] : json(nullptr);
  }
  *u.mutable_input() = to_payload(input);
  u.set_wait_ms(timeout);
  return call<pb::UpdateWorkflowResponse>(
    update_atom::value, encode(u), std::chrono::milliseconds(timeout + 5'000),
    [ns, wid](const pb::UpdateWorkflowResponse& r) {
      json j{{"namespace", ns},
             {"workflow_id", wid},
             {"run_id", r.run_id()},
             {"update_id", r.update_id()},
             {"stage", pb::UpdateStage_Name(r.stage())},
             {"started", r.started()}};
      if (r.stage() != pb::UPDATE_STAGE_COMPLETED) return json_reply(202, j);
      if (r.has_failure()) {
        j["failure"] = to_json(r.failure());
        j["rejected"] = r.rejected();
      } else {
        auto result = json::parse(r.result().data(), nullptr, false);
        j["result"] = result.is_discarded() ? json(r.result().data()) : result;
      }
      return json_reply(200, j);
    });
}

step query_workflow(const request& req, const std::string& ns, const std::string& wid,
                    const std::string& type, const query_map& query) {
  if (auto why = check_params(query, {"run_id"}); !why.empty()) return bad_request(why);
  std::string error;
  auto args = parse_body(req.body, json(nullptr), &error);
  if (!args) return bad_request(error);
  auto q = addressed<pb::QueryWorkflowRequest>(ns, wid, query);
  q.set_query_type(type);
  *q.mutable_args() = to_payload(*args);
  return call<pb::QueryWorkflowResponse>(query_atom::value, encode(q));
}

// Cancel, terminate, pause and unpause: an optional body {"reason", "run_id", "identity"[,
// "request_id"]}.
template <class Req, class Resp>
step close_request(caf::atom_value kind, const request& req, const std::string& ns,
                   const std::string& wid, const query_map& query) {
  if (auto why = check_params(query, {"run_id"}); !why.empty()) return bad_request(why);
  std::string error;
  auto body = parse_body(req.body, json::object(), &error);
  if (!body) return bad_request(error);
  if (!body->is_object()) return bad_request("request body must be a JSON object");
  for (auto key : {"namespace", "workflow_id", "workflowId"})
    if (body->contains(key)) return bad_request(std::string("'") + key + "' is taken from the path");
  Req r;  // the body first: parsing it clears the message
  if (auto why = fill_message(*body, &r); !why.empty()) return bad_request("invalid body: " + why);
  r.set_namespace_(ns);
  r.set_workflow_id(wid);
  if (auto run = param(query, "run_id"); !run.empty()) r.set_run_id(run);
  if (r.identity().empty()) r.set_identity(identity);
  return call<Resp>(kind, encode(r));
}

// Reset: the body of a terminate plus "event_id", or "type" ("first" | "last"), and
// "reapply_signals" (default true); "reset_type" / "reapply_type" are the protobuf spellings.
step reset_request(const request& req, const std::string& ns, const std::string& wid,
                   const query_map& query) {
  std::string error;
  auto body = parse_body(req.body, json::object(), &error);
  if (!body) return bad_request(error);
  if (!body->is_object()) return bad_request("request body must be a JSON object");
  if (body->contains("type")) {
    auto& t = (*body)["type"];
    if (!t.is_string() || (t != "first" && t != "last"))
      return bad_request("'type' must be \"first\" or \"last\"");
    (*body)["reset_type"] = t == "first" ? "RESET_TYPE_FIRST_WORKFLOW_TASK"
                                         : "RESET_TYPE_LAST_WORKFLOW_TASK";
    body->erase("type");
  }
  if (body->contains("reapply_signals")) {
    auto& r = (*body)["reapply_signals"];
    if (!r.is_boolean()) return bad_request("'reapply_signals' must be true or false");
    (*body)["reapply_type"] = r.get<bool>() ? "RESET_REAPPLY_TYPE_SIGNAL" : "RESET_REAPPLY_TYPE_NONE";
    body->erase("reapply_signals");
  }
  request rewritten = req;
  rewritten.body = body->dump();
  return close_request<pb::ResetWorkflowRequest, pb::ResetWorkflowResponse>(
    reset_atom::value, rewritten, ns, wid, query);
}

}  // namespace

step count_endpoint(const request& req, const std::string& ns, const query_map& query) {
  if (req.method != "GET") {
    auto r = error_reply(405, "method_not_allowed", "this path accepts GET");
    r.allow = "GET";
    return finish(std::move(r));
  }
  if (auto why = check_id("namespace", ns); !why.empty()) return bad_request(why);
  if (auto why = check_params(query, {"query"}); !why.empty()) return bad_request(why);
  pb::CountWorkflowsRequest c;
  c.set_namespace_(ns);
  c.set_query(param(query, "query"));
  return call<pb::CountWorkflowsResponse>(count_atom::value, encode(c), call_timeout,
                                          [](const pb::CountWorkflowsResponse& r) {
                                            return json_reply(200, to_json(r));
                                          });
}

step workflows_endpoint(const request& req, const std::string& ns,
                        const std::vector<std::string>& rest, const query_map& query) {
  const auto& m = req.method;
  auto only = [&](const char* method) { return m == method; };
  auto not_allowed = [](const std::string& allow) {
    auto r = error_reply(405, "method_not_allowed", "this path accepts " + allow);
    r.allow = allow;
    return finish(std::move(r));
  };
  if (auto why = check_id("namespace", ns); !why.empty()) return bad_request(why);
  if (rest.empty()) {
    if (m == "POST") return start(req, ns, query);
    if (m == "GET") return list(ns, query);
    return not_allowed("GET, POST");
  }
  const auto& wid = rest[0];
  if (rest.size() == 1 && m == "DELETE") {
    if (auto why = check_params(query, {"run_id"}); !why.empty()) return bad_request(why);
    auto d = addressed<pb::DeleteWorkflowRequest>(ns, wid, query);
    d.set_identity(identity);
    return call<pb::DeleteWorkflowResponse>(delete_atom::value, encode(d));
  }
  if (rest.size() == 1) {
    if (!only("GET")) return not_allowed("GET, DELETE");
    if (auto why = check_params(query, {"run_id"}); !why.empty()) return bad_request(why);
    return call<pb::DescribeWorkflowResponse>(
      describe_atom::value, encode(addressed<pb::DescribeWorkflowRequest>(ns, wid, query)));
  }
  const auto& what = rest[1];
  if (rest.size() == 2 && (what == "history" || what == "events")) {
    if (!only("GET")) return not_allowed("GET");
    return what == "history" ? history_endpoint(ns, wid, query)
                             : events_endpoint(req, ns, wid, query);
  }
  if (rest.size() == 2 && what == "result") {
    if (!only("GET")) return not_allowed("GET");
    return result(ns, wid, query);
  }
  if (rest.size() == 3 && what == "update") {
    if (!only("POST")) return not_allowed("POST");
    return update(req, ns, wid, rest[2], query);
  }
  if (rest.size() == 3 && (what == "signal" || what == "query")) {
    if (!only("POST")) return not_allowed("POST");
    return what == "signal" ? signal(req, ns, wid, rest[2], query)
                            : query_workflow(req, ns, wid, rest[2], query);
  }
  if (rest.size() == 2 && what == "reset") {
    if (!only("POST")) return not_allowed("POST");
    return reset_request(req, ns, wid, query);
  }
  if (rest.size() == 2 && (what == "pause" || what == "unpause")) {
    if (!only("POST")) return not_allowed("POST");
    if (what == "pause")
      return close_request<pb::PauseWorkflowRequest, pb::PauseWorkflowResponse>(
        pause_atom::value, req, ns, wid, query);
    return close_request<pb::UnpauseWorkflowRequest, pb::UnpauseWorkflowResponse>(
      unpause_atom::value, req, ns, wid, query);
  }
  if (rest.size() == 2 && (what == "cancel" || what == "terminate")) {
    if (!only("POST")) return not_allowed("POST");
    if (what == "cancel")
      return close_request<pb::RequestCancelWorkflowRequest, pb::RequestCancelWorkflowResponse>(
        cancel_atom::value, req, ns, wid, query);
    return close_request<pb::TerminateWorkflowRequest, pb::TerminateWorkflowResponse>(
      terminate_atom::value, req, ns, wid, query);
  }
  return finish(error_reply(404, "not_found", "no such path: " + req.target));
}

}  // namespace chronicle::http
