// End-to-end: the HTTP/JSON gateway of a real node (http_port), driven by a Beast client: start,
// result, describe, list, history, signal, query, cancel, terminate, JSON errors with their HTTP
// status, garbage on the socket, /metrics, and the http config keys.
#include <doctest/doctest.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <fstream>
#include <thread>

#include "harness.hpp"
#include "http_client.hpp"

using namespace chronicle::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

const std::string api = "/api/v1/namespaces/default/workflows";

// A node with the gateway on, and (optionally) the greeting sample worker.
struct node_with_http {
  temp_dir dir;
  uint16_t port = free_port();
  uint16_t http = free_port();
  process node;
  process worker;

  explicit node_with_http(bool with_worker = true, const std::string& extra = {}) {
    auto config = write_node_config(dir.path(), port,
                                    "http_port: " + std::to_string(http) + "\n" + extra);
    node = process(CHRONICLE_NODE_BIN, {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE(node.wait_for_output("listening on", 20s));
    CHECK(node.output().find("serving HTTP on http://127.0.0.1:" + std::to_string(http))
          != std::string::npos);
    if (with_worker) {
      worker = process(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                       (dir.path() / "worker.log").string());
      REQUIRE(worker.wait_for_output("registered on task queue", 20s));
    }
  }
};

}  // namespace

TEST_CASE("http: start then result - describe - list - history over the JSON API") {
  node_with_http n;
  auto started = http_post(n.http, api, start_body("h1", "Greeting", {{"name", "Ada"}}).dump());
  REQUIRE_MESSAGE(started.status == 201, started.body);
  CHECK(started.content_type == "application/json");
  auto run_id = started.body_json()["run_id"].get<std::string>();
  CHECK(run_id.size() == 36);

  auto result = http_get(n.http, api + "/h1/result?wait=true&timeout_ms=30000");
  REQUIRE_MESSAGE(result.status == 200, result.body);
  auto r = result.body_json();
  CHECK(r["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED");
  CHECK(r["result"]["greeting"] == "Hello, Ada!");  // the payload as embedded JSON
  CHECK(r["run_id"] == run_id);
  CHECK_FALSE(r.contains("failure"));

  auto described = http_get(n.http, api + "/h1");
  REQUIRE_MESSAGE(described.status == 200, described.body);
  auto d = described.body_json();
  CHECK(d["workflow_id"] == "h1");
  CHECK(d["workflow_type"] == "Greeting");
  CHECK(d["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED");
  CHECK(d["history_length"].is_number());  // 64-bit integers are numbers, not strings

  auto history = http_get(n.http, api + "/h1/history");
  REQUIRE_MESSAGE(history.status == 200, history.body);
  auto events = history.body_json()["events"];
  REQUIRE(events.size() == d["history_length"].get<size_t>());
  CHECK(events[0]["event_id"] == 1);
  CHECK(events[0]["event_type"] == "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED");
  CHECK(events[0]["workflow_execution_started"]["input"] == json{{"name", "Ada"}});
  CHECK(events.back()["event_type"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED");

  // A second start of the same ID while running is refused; after close a new run starts.
  REQUIRE(http_post(n.http, api, start_body("h2", "Approval", {{"name", "Bob"}}).dump()).status == 201);
  auto again = http_post(n.http, api, start_body("h2", "Approval", {{"name", "Bob"}}).dump());
  CHECK(again.status == 409);
  CHECK(again.body_json()["code"] == "already_started");
  auto running = http_get(n.http, api + "/h2/result");  // no wait: the status at once
  REQUIRE(running.status == 200);
  CHECK(running.body_json()["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING");

  auto all = http_get(n.http, api);
  REQUIRE_MESSAGE(all.status == 200, all.body);
  CHECK(all.body_json()["executions"].size() == 2);
  auto open = http_get(n.http, api + "?status=running").body_json()["executions"];
  REQUIRE(open.size() == 1);
  CHECK(open[0]["workflow_id"] == "h2");
  CHECK(http_get(n.http, api + "?type=Greeting").body_json()["executions"][0]["workflow_id"] == "h1");
  CHECK(http_get(n.http, api + "?prefix=h2").body_json()["executions"].size() == 1);
  CHECK(http_get(n.http, api + "?prefix=zz").body_json()["executions"].empty());
  auto page = http_get(n.http, api + "?page_size=1").body_json();
  REQUIRE(page["executions"].size() == 1);
  auto token = page["next_page_token"].get<std::string>();
  REQUIRE_FALSE(token.empty());
  auto next = http_get(n.http, api + "?page_size=1&next_page_token=" + token).body_json();
  REQUIRE(next["executions"].size() == 1);
  CHECK(next["executions"][0]["workflow_id"] != page["executions"][0]["workflow_id"]);
}

TEST_CASE("http: signal - query - cancel and terminate a running workflow") {
  node_with_http n;
  REQUIRE(http_post(n.http, api, start_body("s1", "Approval", {{"name", "Ada"}}).dump()).status == 201);
  auto q = http_post(n.http, api + "/s1/query/status");
  REQUIRE_MESSAGE(q.status == 200, q.body);
  CHECK(q.body_json()["result"]["stage"] == "waiting for approval");
  auto unknown = http_post(n.http, api + "/s1/query/nope");
  CHECK(unknown.status == 400);
  CHECK(unknown.body_json()["message"].get<std::string>().find("unknown query type 'nope'")
        != std::string::npos);

  auto sig = http_post(n.http, api + "/s1/signal/approve", R"({"by":"Ada"})");
  REQUIRE_MESSAGE(sig.status == 200, sig.body);
  auto result = http_get(n.http, api + "/s1/result?wait=true&timeout_ms=30000").body_json();
  CHECK(result["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED");
  CHECK(result["result"]["approved_by"] == "Ada");
  auto history = http_get(n.http, api + "/s1/history").body_json()["events"];
  auto signaled = std::find_if(history.begin(), history.end(), [](const json& ev) {
    return ev["event_type"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED";
  });
  REQUIRE(signaled != history.end());
  CHECK((*signaled)["workflow_execution_signaled"]["input"] == json{{"by", "Ada"}});
  auto closed = http_post(n.http, api + "/s1/signal/approve", "{}");
  CHECK(closed.status == 404);

  REQUIRE(http_post(n.http, api, start_body("t1", "Approval", {{"name", "Ada"}}).dump()).status == 201);
  auto term = http_post(n.http, api + "/t1/terminate", R"({"reason":"stuck"})");
  REQUIRE_MESSAGE(term.status == 200, term.body);
  auto t = http_get(n.http, api + "/t1/result").body_json();
  CHECK(t["status"] == "WORKFLOW_EXECUTION_STATUS_TERMINATED");
  CHECK(t["failure"]["message"].get<std::string>().find("stuck") != std::string::npos);

  REQUIRE(http_post(n.http, api, start_body("c1", "Approval", {{"name", "Ada"}}).dump()).status == 201);
  auto cancel = http_post(n.http, api + "/c1/cancel", R"({"reason":"not needed"})");
  REQUIRE_MESSAGE(cancel.status == 200, cancel.body);
  auto c = http_get(n.http, api + "/c1/result?wait=true&timeout_ms=30000").body_json();
  CHECK(c["status"] == "WORKFLOW_EXECUTION_STATUS_CANCELED");
  CHECK(http_post(n.http, api + "/c1/cancel", R"({"bogus":1})").status == 400);
}

TEST_CASE("http: errors are JSON with the right status and the node survives garbage") {
  node_with_http n{false, "http_max_body_bytes: 4096\n"};
  auto expect = [&](const http_response& r, unsigned status, const std::string& code) {
    CHECK_MESSAGE(r.status == status, r.body);
    CHECK(r.content_type == "application/json");
    auto j = r.body_json();
    REQUIRE_MESSAGE(j.is_object(), r.body);
    CHECK(j["code"] == code);
    CHECK_FALSE(j["message"].get<std::string>().empty());
  };
  expect(http_post(n.http, api, "{not json"), 400, "invalid_argument");
  expect(http_post(n.http, api, "[1,2]"), 400, "invalid_argument");
  expect(http_post(n.http, api, R"({"workflow_id":"x","bogus_field":1})"), 400, "invalid_argument");
  expect(http_post(n.http, api, R"({"workflow_type":"Greeting","task_queue":"q"})"), 400,
         "invalid_argument");  // no workflow_id: the frontend's validation
  expect(http_post(n.http, api, std::string(100, '[') + std::string(100, ']')), 400, "invalid_argument");
  expect(http_get(n.http, api + "/nope"), 404, "not_found");
  expect(http_get(n.http, api + "/nope/history"), 404, "not_found");
  expect(http_get(n.http, api + "/nope/result"), 404, "not_found");
  expect(http_post(n.http, api + "/nope/signal/x", "1"), 404, "not_found");
  expect(http_post(n.http, api, R"({"workflow_id":"big","input":")" + std::string(8000, 'a') + "\"}"),
         413, "payload_too_large");
  expect(http_get(n.http, "/nothing/here"), 404, "not_found");
  expect(http_get(n.http, api + "/x/unknown"), 404, "not_found");
  expect(http_get(n.http, "/api/v1/namespaces/default/workflows/%zz"), 400, "invalid_argument");
  expect(http_get(n.http, api + "?status=sleeping"), 400, "invalid_argument");
  expect(http_get(n.http, api + "?page_size=0"), 400, "invalid_argument");
  expect(http_get(n.http, api + "?next_page_token=xyz"), 400, "invalid_argument");
  expect(http_get(n.http, api + "?colour=red"), 400, "invalid_argument");
  auto wrong = http_call(n.http, bhttp::verb::put, api + "/x");
  expect(wrong, 405, "method_not_allowed");
  CHECK(wrong.allow == "GET, DELETE");
  expect(http_get(n.http, api + "/x/signal/y"), 405, "method_not_allowed");

  {  // "Expect: 100-continue" (curl's habit for bodies over 1 KiB) gets its go at once
    net::io_context ioc;
    tcp::socket sock{ioc};
    sock.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), n.http});
    std::string body = R"({"workflow_id":"e1","workflow_type":"T","task_queue":"q"})";
    net::write(sock, net::buffer("POST " + api + " HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                                 "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    std::string go(25, '\0');
    net::read(sock, net::buffer(go));
    CHECK(go == "HTTP/1.1 100 Continue\r\n\r\n");
    net::write(sock, net::buffer(body));
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(sock, buffer, res);
    CHECK_MESSAGE(res.result_int() == 201, res.body());
  }

  // Raw garbage on the socket: a 400 or a closed connection, never a crash.
  for (std::string garbage : {std::string("\x00\x01\x02 garbage\r\n\r\n", 16),
                              std::string("GET / HTXP/1.1\r\n\r\n"),
                              std::string("POST /x HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
                              std::string(20000, 'A') + "\r\n\r\n"}) {
    net::io_context ioc;
    tcp::socket sock{ioc};
    sock.connect(tcp::endpoint{net::ip::make_address("127.0.0.1"), n.http});
    beast::error_code ec;
    net::write(sock, net::buffer(garbage), ec);
    std::string answer(200, '\0');
    auto got = sock.read_some(net::buffer(answer), ec);
    answer.resize(ec ? 0 : got);
    CHECK_MESSAGE((answer.empty() || answer.rfind("HTTP/1.1 4", 0) == 0), answer);
  }
  CHECK(n.node.running());
  CHECK(http_get(n.http, "/api/v1/cluster").status == 200);
}

TEST_CASE("http: metrics count started and completed workflows") {
  node_with_http n;
  auto before = http_get(n.http, "/metrics");
  REQUIRE(before.status == 200);
  CHECK(before.content_type.find("text/plain") == 0);
  const std::string node = "{node=\"node1\"}";
  CHECK(metric(before.body, "chronicle_workflows_started_total" + node + " ") == 0);
  CHECK(metric(before.body, "chronicle_shards_owned" + node + " ") == 8);
  for (auto wid : {"m1", "m2"}) {
    REQUIRE(http_post(n.http, api, start_body(wid, "Greeting", {{"name", wid}}).dump()).status == 201);
    REQUIRE(http_get(n.http, api + "/" + wid + "/result?wait=true&timeout_ms=30000").status == 200);
  }
  auto after = http_get(n.http, "/metrics").body;
  CHECK(metric(after, "chronicle_workflows_started_total" + node + " ") == 2);
  CHECK(metric(after, "chronicle_workflows_closed_total{node=\"node1\",status=\"completed\"} ") == 2);
  CHECK(metric(after, "chronicle_state_transitions_total" + node + " ") >= 8);
  // Batches of one workflow that queue up while a write is in flight share a RocksDB write
  // (group commit), so only the batches are counted exactly enough to bound.
  CHECK(metric(after, "chronicle_rocksdb_write_batches_total" + node + " ") >= 8);
  CHECK(metric(after, "chronicle_rocksdb_write_seconds_count" + node + " ") >= 1);
  // A single-copy node with the default durability (fsync) syncs every write it makes.
  CHECK(metric(after, "chronicle_rocksdb_synced_writes_total" + node + " ")
        == metric(after, "chronicle_rocksdb_writes_total" + node + " "));
  CHECK(metric(after, "chronicle_task_dispatch_latency_seconds_count{node=\"node1\",kind=\"activity\"} ")
        == 2);
  // Greeting's three workflow tasks: the first with the whole history, the next two with only
  // the new events (the greeting worker keeps a sticky cache).
  CHECK(metric(after, "chronicle_workflow_tasks_sent_total{node=\"node1\",history=\"whole\"} ")
        == 2);
  CHECK(metric(after,
               "chronicle_workflow_tasks_sent_total{node=\"node1\",history=\"new_events\"} ")
        == 4);
  CHECK(metric(after, "chronicle_task_queue_backlog{node=\"node1\",namespace=\"default\","
                      "task_queue=\"greetings\",kind=\"workflow\"} ") == 0);
  CHECK(after.find("chronicle_rocksdb_write_seconds_bucket{node=\"node1\",le=\"+Inf\"}")
        != std::string::npos);
  // A completed activity's start-to-close timer leaves its shard's memory queue with its record
  // (it must not wake the passivated run later), and closed runs are passivated after a second.
  double timers = -1, active = -1;
  for (auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(100ms)) {
    auto text = http_get(n.http, "/metrics").body;
    timers = metric(text, "chronicle_timers_queued" + node + " ");
    active = metric(text, "chronicle_executions_active" + node + " ");
    if (timers == 0 && active == 0) break;
  }
  CHECK(timers == 0);
  CHECK(active == 0);
}

TEST_CASE("http: config keys are validated and SIGTERM stops the gateway cleanly") {
  temp_dir dir;
  auto port = free_port();
  std::string out;
  auto bad = [&](const std::string& extra, const std::string& expected) {
    auto config = write_node_config(dir.path(), port, extra);
    int code = run(CHRONICLE_NODE_BIN, {"--config", config}, &out);
    CHECK(code != 0);
    CHECK_MESSAGE(out.find(expected) != std::string::npos, out);
  };
  bad("http_port: 70000\n", "key 'http_port' must be a TCP port in 1..65535");
  bad("http_port: 0\n", "key 'http_port' must be a TCP port in 1..65535");
  bad("http_port: 8080\nhttp_host: ''\n", "'http_host' is empty");
  bad("http_port: 8080\nhttp_max_body_bytes: 10\n", "http_max_body_bytes must be in");
  bad("http_port: " + std::to_string(port) + "\n", "is the node's own port");
  {  // the HTTP port is taken
    net::io_context ioc;
    tcp::acceptor taken{ioc, tcp::endpoint{net::ip::make_address("127.0.0.1"), 0}};
    bad("http_port: " + std::to_string(taken.local_endpoint().port()) + "\n", "(http)");
  }
  node_with_http n{false};
  auto long_poll = std::thread([&] {  // a waiting long poll must not hold up the shutdown
    http_post(n.http, api, start_body("w1", "Greeting", nullptr).dump());
    http_get(n.http, api + "/w1/result?wait=true&timeout_ms=600000");
  });
  std::this_thread::sleep_for(300ms);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(n.node.terminate() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 8s);
  long_poll.join();
}
