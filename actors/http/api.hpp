// The HTTP gateway's endpoints, independent of the transport: a request becomes either a reply at
// once or a call to the node actor (the same encoded protobuf request the client library sends)
// whose answer becomes the reply, possibly after further calls. See docs/http.md.
#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "actors/node/node_env.hpp"

namespace chronicle::http {

struct request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query string, as received
  std::string body;
  std::string last_event_id;  // the Last-Event-ID header (an event stream's reconnection)
};

struct node_call;

struct reply {
  reply() = default;
  reply(unsigned status, std::string content_type, std::string body)
    : status(status), content_type(std::move(content_type)), body(std::move(body)) {}

  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;          // 405: the methods the path accepts
  std::string cache_control;  // empty: none sent
  std::string www_authenticate;  // 401: the scheme expected (actors/http/auth.hpp)
  // An event stream (server-sent events): this reply's body is its first piece, sent with the
  // head, unframed; `more` is the call whose step is the next piece (a reply whose body is
  // written as is, with its own `more`), until a piece without `more` ends the stream and the
  // connection. Status and headers come from the first piece only.
  std::shared_ptr<node_call> more;
};

struct step;
using query_map = std::map<std::string, std::string>;

// One request to the node actor: (kind, bytes) with a timeout; `finish` turns the answer (the
// reply bytes or the error) into the next step.
struct node_call {
  caf::atom_value kind;
  std::string bytes;
  std::chrono::milliseconds timeout;
  std::function<step(caf::expected<std::string>)> finish;
};

// Exactly one of the two is set.
struct step {
  std::optional<reply> done;
  std::optional<node_call> call;
};

// Routes and starts serving `req`. Never throws; garbage gets a 4xx reply.
step handle(const request& req, const node_env& env);

// A JSON error reply {"code": ..., "message": ...}.
reply error_reply(unsigned status, const std::string& code, const std::string& message);
// The reply for an error answered by the node (or a CAF error such as a timeout).
reply error_reply(const caf::error& err);

// --- the parts of handle() that live in their own files ---
// /api/v1/namespaces/{ns}/workflows[/...]: `rest` are the decoded path segments after "workflows".
step workflows_endpoint(const request& req, const std::string& ns,
                        const std::vector<std::string>& rest,
                        const std::map<std::string, std::string>& query);
// POST /api/v1/namespaces/{ns}/activities/complete|fail|heartbeat (activities.cpp): an activity
// attempt by its task token; `rest` are the segments after "activities".
step activities_endpoint(const request& req, const std::string& ns,
                         const std::vector<std::string>& rest);
// GET /api/v1/namespaces/{ns}/workflow-count?query=...: CountWorkflowsResponse (as Temporal's path).
step count_endpoint(const request& req, const std::string& ns,
                    const std::map<std::string, std::string>& query);
// /api/v1/namespaces[/{ns}[/update]]: `rest` are the segments after "namespaces" (namespaces.cpp).
step namespaces_endpoint(const request& req, const std::vector<std::string>& rest,
                         const query_map& query);
// GET /api/v1/namespaces/{ns}/task-queues/{name}: `rest` are the segments after "task-queues"
// (task_queues.cpp).
step task_queues_endpoint(const request& req, const std::string& ns,
                          const std::vector<std::string>& rest, const query_map& query);
// /api/v1/namespaces/{ns}/schedules[/...]: `rest` are the segments after "schedules"
// (schedules.cpp).
step schedules_endpoint(const request& req, const std::string& ns,
                        const std::vector<std::string>& rest, const query_map& query);
// /api/v1/namespaces/{ns}/batches[/...]: `rest` are the segments after "batches" (batches.cpp).
step batches_endpoint(const request& req, const std::string& ns,
                      const std::vector<std::string>& rest, const query_map& query);
// GET .../workflows/{wid}/history[?after=N[&wait=true&timeout_ms=T]]: the run's events (after N;
// a long poll with wait=true). GET .../workflows/{wid}/events: the same as server-sent events
// (history.cpp, docs/http.md).
step history_endpoint(const std::string& ns, const std::string& wid, const query_map& query);
step events_endpoint(const request& req, const std::string& ns, const std::string& wid,
                     const query_map& query);
// GET /metrics.
reply metrics_endpoint(const node_env& env);
// GET / and /ui/<file>: the embedded web UI; nullopt when there is no such file.
std::optional<reply> ui_endpoint(const std::string& path);

}  // namespace chronicle::http
