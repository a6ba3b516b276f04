// End-to-end: live views of a run's history against a real node and greeting-worker: the long poll
// of events after event N (client library and HTTP), server-sent events (every event once, in
// order, ending at the close event, resuming after Last-Event-ID), and `workflow result --follow`
// surviving a kill -9 and restart of the node.
#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <future>
#include <sstream>

#include "deployment.hpp"
#include "http_client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

const std::string api = "/api/v1/namespaces/default/workflows/";

struct http_node : single_node {
  uint16_t http;
  http_node() : http_node(free_port()) {}
  explicit http_node(uint16_t port)
    : single_node("http_port: " + std::to_string(port) + "\n"), http(port) {}
};

// Reads a whole event stream (the gateway ends it after the run's close event).
http_response read_events(uint16_t port, const std::string& target, const std::string& last_id = {}) {
  std::vector<std::pair<std::string, std::string>> headers{{"Accept", "text/event-stream"}};
  if (!last_id.empty()) headers.emplace_back("Last-Event-ID", last_id);
  return http_call(port, boost::beast::http::verb::get, target, {}, headers);
}

// The "id:" of each message and its data's event_id, which must agree; "data:" lines parse.
std::vector<int64_t> sse_ids(const std::string& body) {
  std::vector<int64_t> ids;
  std::istringstream in(body);
  int64_t id = -1;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("id: ", 0) == 0) id = std::stoll(line.substr(4));
    if (line.rfind("data: ", 0) != 0) continue;
    auto ev = json::parse(line.substr(6), nullptr, false);
    REQUIRE_MESSAGE(ev.is_object(), line);
    CHECK(ev["event_id"].get<int64_t>() == id);
    ids.push_back(id);
  }
  return ids;
}

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
    .count();
}

}  // namespace

TEST_CASE("live: a history long poll answers events after N at once or when the run appends") {
  http_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  REQUIRE(c.start(start_request("lp1", "Approval")));
  wait_until(c, "lp1", [](auto& r) { return r.history_length() == 4; }, "the first task is done");

  // Events after N at once: 3 and 4, with the run's status and last event.
  auto h = c.history_after("", "lp1", "", 2, 5s);
  REQUIRE(h);
  REQUIRE(h->events_size() == 2);
  CHECK(h->events(0).event_id() == 3);
  CHECK(h->last_event_id() == 4);
  CHECK(h->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);

  // Nothing after 4: the wait ends empty.
  auto t0 = std::chrono::steady_clock::now();
  h = c.history_after("", "lp1", "", 4, 400ms);
  REQUIRE_MESSAGE(h, error_text(h));
  CHECK(h->events_size() == 0);
  CHECK(h->last_event_id() == 4);
  CHECK(ms_since(t0) >= 350);
  auto r = http_get(d.http, api + "lp1/history?after=4&wait=true&timeout_ms=300");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.body_json()["events"].empty());
  CHECK(r.body_json()["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING");

  // A waiting poll is answered by the signal's events, long before its wait ends.
  auto waiting = std::async(std::launch::async, [&] {
    return http_get(d.http, api + "lp1/history?after=4&wait=true&timeout_ms=30000");
  });
  std::this_thread::sleep_for(300ms);
  t0 = std::chrono::steady_clock::now();
  REQUIRE(c.signal("", "lp1", "", "approve", sdk::to_payload("bob")));
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  CHECK(ms_since(t0) < 5000);
  r = waiting.get();
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto events = r.body_json()["events"];
  REQUIRE(!events.empty());
  CHECK(events[0]["event_id"] == 5);
  CHECK(events[0]["event_type"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED");

  // Bad parameters are refused.
  CHECK(http_get(d.http, api + "lp1/history?after=-1").status == 400);
  CHECK(http_get(d.http, api + "lp1/history?after=1&timeout_ms=5").status == 400);
  CHECK(http_get(d.http, api + "lp1/history?wait=maybe").status == 400);
  CHECK(http_get(d.http, api + "nobody/history?after=1&wait=true&timeout_ms=100").status == 404);
}

TEST_CASE("live: server-sent events deliver every event once in order and resume after Last-Event-ID") {
  http_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  REQUIRE(c.start(start_request("sse1", "Approval")));
  wait_until(c, "sse1", [](auto& r) { return r.history_length() == 4; }, "the first task is done");
  // Opened while the run waits; the signal's events arrive on it; it ends at the close event.
  auto stream = std::async(std::launch::async, [&] { return read_events(d.http, api + "sse1/events"); });
  std::this_thread::sleep_for(500ms);
  CHECK(stream.wait_for(0s) == std::future_status::timeout);  // still open: the run waits
  REQUIRE(c.signal("", "sse1", "", "approve", sdk::to_payload("bob")));
  REQUIRE(stream.wait_for(20s) == std::future_status::ready);
  auto s = stream.get();
  CHECK(s.status == 200);
  CHECK(s.content_type == "text/event-stream");
  auto h = c.history("", "sse1");
  REQUIRE(h);
  auto n = static_cast<int64_t>(h->events_size());
  REQUIRE(n > 5);
  CHECK(sse_ids(s.body) == one_to(n));
  CHECK(s.body.find("WORKFLOW_EXECUTION_COMPLETED") != std::string::npos);

  // A reconnection resumes after Last-Event-ID (which wins over ?after=).
  s = read_events(d.http, api + "sse1/events?after=1", "5");
  CHECK(s.status == 200);
  auto ids = sse_ids(s.body);
  REQUIRE(!ids.empty());
  CHECK(ids.front() == 6);
  CHECK(ids.back() == n);
  CHECK(ids.size() == static_cast<size_t>(n - 5));
  // Nothing after the close event: 204, which tells EventSource to stop reconnecting.
  s = read_events(d.http, api + "sse1/events", std::to_string(n));
  CHECK(s.status == 204);
  // Errors before the stream starts are JSON.
  CHECK(read_events(d.http, api + "nobody/events").status == 404);
  CHECK(read_events(d.http, api + "sse1/events", "x").status == 400);
}

TEST_CASE("live: result --follow survives a kill -9 and restart of the node and prints each event once") {
  single_node d;
  d.start_node();
  d.start_worker();
  auto c = d.connect();
  REQUIRE(c.start(start_request("fk1", "Approval")));
  wait_until(c, "fk1", [](auto& r) { return r.history_length() == 4; }, "the first task is done");
  process follow(CHRONICLE_CLI_BIN, {"--address", d.address(), "-o", "json", "workflow", "result",
                                     "-w", "fk1", "--follow", "--timeout", "90"},
                 (d.dir.path() / "follow.log").string());
  REQUIRE_MESSAGE(follow.wait_for_output("EVENT_TYPE_WORKFLOW_TASK_COMPLETED", 10s), follow.output());
  d.node.kill9();
  REQUIRE_MESSAGE(follow.wait_for_output("reconnecting...", 20s), follow.output());
  d.start_node();
  // Right after the restart the shards may still be recovering: ask again.
  auto c2 = d.connect();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!c2.signal("", "fk1", "", "approve", sdk::to_payload("bob"))
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(200ms);
  REQUIRE_MESSAGE(follow.wait_exit(60s) == 0, follow.output());
  auto out = follow.output();
  CHECK(out.find("reconnected; resuming after event 4") != std::string::npos);
  std::vector<int64_t> ids;
  std::istringstream in(out);
  std::string last;
  for (std::string line; std::getline(in, line);) {
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (j.contains("eventId")) ids.push_back(std::stoll(j["eventId"].get<std::string>()));
    last = line;
  }
  auto h = c2.history("", "fk1");
  REQUIRE(h);
  CHECK(ids == one_to(h->events_size()));
  CHECK_MESSAGE(last.find("\"greeting\"") != std::string::npos, out);
}
