// GET .../workflows/{wid}/history and .../events: a run's events, all or after event N, at once,
// as a long poll (the node answers once the run durably appends an event, closes, or the wait
// ends), or as server-sent events (a chain of long polls, one piece of the stream each).
#include "actors/http/api.hpp"
#include "actors/http/json.hpp"
#include "actors/http/query_params.hpp"
#include "actors/routing/validation.hpp"

namespace chronicle::http {

namespace {

constexpr auto call_timeout = std::chrono::milliseconds(request_timeout);
constexpr int64_t default_wait_ms = 60'000;
constexpr int64_t max_wait_ms = 600'000;
// An open event stream polls for this long at a time; a poll that ends empty sends a comment
// line, which keeps proxies from closing the connection and shows a gone client.
constexpr int64_t heartbeat_ms = 15'000;
constexpr int64_t max_event_id = int64_t{1} << 53;

step finish(reply r) { return step{std::move(r), std::nullopt}; }
step bad_request(const std::string& message) {
  return finish(error_reply(400, "invalid_argument", message));
}

pb::GetHistoryRequest history_request(const std::string& ns, const std::string& wid,
                                      const std::string& run_id, int64_t after, int64_t wait_ms) {
  pb::GetHistoryRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(wid);
  req.set_run_id(run_id);
  req.set_after_event_id(after);
  req.set_wait_ms(wait_ms);
  return req;
}

// The node call of one history request; the node answers a long poll itself when its wait ends,
// so the call's own timeout is later.
node_call history_call(const pb::GetHistoryRequest& req,
                       std::function<step(caf::expected<pb::GetHistoryResponse>)> then) {
  return node_call{history_atom::value, encode(req),
                   std::chrono::milliseconds(req.wait_ms()) + call_timeout,
                   [then = std::move(then)](caf::expected<std::string> answer) {
                     if (!answer) return then(answer.error());
                     return then(decode<pb::GetHistoryResponse>(*answer, "reply"));
                   }};
}

// One SSE message per event: "id: <event id>" and "data: <event as JSON>" (one line).
std::string sse_events(const pb::GetHistoryResponse& r) {
  std::string out;
  for (auto& ev : r.events()) {
    out += "id: " + std::to_string(ev.event_id()) + "\n";
    out += "data: " + to_json(ev).dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
  }
  return out;
}

// The stream's poll after event `after` of `run`; `first`: nothing sent yet (an error is then a
// plain JSON error reply, a closed run with nothing more 204, which tells EventSource to stop).
node_call stream_poll(std::string ns, std::string wid, std::string run, int64_t after, bool first) {
  // The first poll answers at once: the stream's head goes out without waiting for an event.
  auto req = history_request(ns, wid, run, after, first ? 0 : heartbeat_ms);
  return history_call(req, [=](caf::expected<pb::GetHistoryResponse> r) -> step {
    if (!r && first) return finish(error_reply(r.error()));
    if (!r) {  // mid-stream: an error event, then the end (EventSource reconnects and resumes)
      auto err = error_reply(r.error());
      return finish(reply{200, "text/event-stream", "event: error\ndata: " + err.body + "\n\n"});
    }
    bool running = r->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING;
    if (first && r->events().empty() && !running) return finish(reply{204, "text/plain", ""});
    auto text = r->events().empty() ? std::string(first ? ": open\n\n" : ": heartbeat\n\n")
                                    : sse_events(*r);
    // EventSource reconnects after this long when the connection drops.
    if (first) text = "retry: 2000\n\n" + text;
    reply piece{200, "text/event-stream", std::move(text)};
    piece.cache_control = "no-cache";
    int64_t last = r->events().empty() ? after : r->events().rbegin()->event_id();
    // Ends with the run's close event (its last: the status was read before the events).
    if (running || last < r->last_event_id())
      piece.more = std::make_shared<node_call>(stream_poll(ns, wid, r->run_id(), last, false));
    return finish(std::move(piece));
  });
}

// The event ID to resume after: Last-Event-ID (an EventSource reconnecting) wins over ?after=.
int64_t resume_after(const request& req, const query_map& query, std::string* error) {
  if (req.last_event_id.empty())
    return int_param(query, "after", 0, 0, max_event_id, error);
  query_map header{{"Last-Event-ID", req.last_event_id}};
  return int_param(header, "Last-Event-ID", 0, 0, max_event_id, error);
}

}  // namespace

step history_endpoint(const std::string& ns, const std::string& wid, const query_map& query) {
  if (auto why = check_params(query, {"run_id", "after", "wait", "timeout_ms"}); !why.empty())
    return bad_request(why);
  auto wait = param(query, "wait");
  if (!wait.empty() && wait != "true" && wait != "false")
    return bad_request("query parameter 'wait' must be true or false");
  if (wait != "true" && query.count("timeout_ms"))
    return bad_request("query parameter 'timeout_ms' needs wait=true");
  std::string error;
  auto after = int_param(query, "after", 0, 0, max_event_id, &error);
  auto timeout = int_param(query, "timeout_ms", default_wait_ms, 1, max_wait_ms, &error);
  if (!error.empty()) return bad_request(error);
  auto req = history_request(ns, wid, param(query, "run_id"), after, wait == "true" ? timeout : 0);
  return step{std::nullopt,
              history_call(req, [](caf::expected<pb::GetHistoryResponse> r) {
                if (!r) return finish(error_reply(r.error()));
                return finish(reply{200, "application/json",
                                    to_json(*r).dump(-1, ' ', false,
                                                     json::error_handler_t::replace)});
              })};
}

step events_endpoint(const request& req, const std::string& ns, const std::string& wid,
                     const query_map& query) {
  if (auto why = check_params(query, {"run_id", "after"}); !why.empty()) return bad_request(why);
  std::string error;
  auto after = resume_after(req, query, &error);
  if (!error.empty()) return bad_request(error);
  if (auto why = check_id("workflow ID", wid); !why.empty()) return bad_request(why);
  return step{std::nullopt, stream_poll(ns, wid, param(query, "run_id"), after, true)};
}

}  // namespace chronicle::http
