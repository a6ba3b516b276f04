// End-to-end: queries are answered by a worker from replayed state and never recorded in history;
// clear errors when no worker polls the task queue or the query type is unknown.
#include <doctest/doctest.h>

#include <thread>

#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

TEST_CASE("query: answered from replayed state - not recorded - clear errors otherwise") {
  temp_dir dir;
  auto port = free_port();
  process node(CHRONICLE_NODE_BIN, {"--config", write_node_config(dir.path(), port)},
               (dir.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  auto c = client::connect(test_system(), "127.0.0.1", port);
  REQUIRE(c);
  pb::StartWorkflowRequest req;
  req.set_workflow_id("q1");
  req.set_workflow_type("Approval");
  req.set_task_queue("greetings");
  REQUIRE(c->start(req));
  auto status = [&] { return c->query("", "q1", "", "status", sdk::to_payload(nullptr)); };

  auto no_worker = status();
  REQUIRE_FALSE(no_worker);
  CHECK(error_text(no_worker.error()).find("no worker is polling task queue 'greetings'")
        != std::string::npos);

  process worker(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                 (dir.path() / "worker.log").string());
  REQUIRE(worker.wait_for_output("registered on task queue", 20s));
  auto waiting = status();
  REQUIRE_MESSAGE(waiting, error_text(waiting));
  CHECK(sdk::from_payload(waiting->result())["stage"] == "waiting for approval");

  auto unknown = c->query("", "q1", "", "nope", sdk::to_payload(nullptr));
  REQUIRE_FALSE(unknown);
  CHECK(error_text(unknown.error()).find("unknown query type 'nope' (known: status)")
        != std::string::npos);

  REQUIRE(c->signal("", "q1", "", "approve", sdk::to_payload({{"by", "Ada"}})));
  REQUIRE(c->result("", "q1", "", 30s));
  auto approved = status();  // a closed workflow can still be queried
  REQUIRE_MESSAGE(approved, error_text(approved));
  CHECK(sdk::from_payload(approved->result()) == sdk::json{{"stage", "approved"}, {"by", "Ada"}});
  // three queries, none recorded: start, signal, one activity and their workflow tasks only
  auto h = c->history("", "q1");
  REQUIRE(h);
  CHECK(h->events_size() == 15);
}
