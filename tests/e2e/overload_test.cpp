// End-to-end: a task queue without workers fills up to max_task_queue_backlog; further starts are
// refused with "overloaded" (memory stays bounded; the tasks are durable in RocksDB); when a worker
// comes, the backlog drains, starts are accepted again and every accepted workflow completes. The
// tasks it dropped meanwhile are dispatched again, and only that queue's: another queue's waiting
// tasks are not sent again.
#include <doctest/doctest.h>

#include <regex>
#include <thread>

#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

TEST_CASE("overload: starts beyond the backlog limit are refused - then accepted again") {
  temp_dir dir;
  auto port = free_port();
  auto cfg = write_node_config(dir.path(), port, "max_task_queue_backlog: 20\nlog_level: debug\n");
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  auto c = client::connect(test_system(), "127.0.0.1", port);
  REQUIRE(c);
  auto start = [&](const std::string& wid, const std::string& queue = "greetings") {
    pb::StartWorkflowRequest req;
    req.set_workflow_id(wid);
    req.set_workflow_type("Greeting");
    req.set_task_queue(queue);
    *req.mutable_input() = sdk::to_payload({{"name", wid}});
    return c->start(req);
  };
  // Runs whose workflow tasks wait in another queue (no worker serves it).
  for (auto wid : {"elsewhere-1", "elsewhere-2", "elsewhere-3"}) REQUIRE(start(wid, "elsewhere"));
  std::vector<std::string> accepted;
  caf::error refusal;
  for (int i = 0; i < 60 && !refusal; ++i) {
    std::string wid = "o";  // not "o" + to_string(i): g++ 12 -Wrestrict false positive (PR 105329)
    wid += std::to_string(i);
    auto r = start(wid);
    if (r) accepted.push_back(wid);
    else refusal = r.error();
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(refusal);
  CHECK(chronicle_code(refusal) == static_cast<uint8_t>(errc::overloaded));
  CHECK(error_text(refusal).find("overloaded: task queue 'greetings'") != std::string::npos);
  CHECK(accepted.size() >= 20);
  CHECK(accepted.size() <= 30);
  CHECK(node.output().find("is overloaded") != std::string::npos);

  process worker(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                 (dir.path() / "worker.log").string());
  REQUIRE(worker.wait_for_output("serving task queue", 20s));
  for (auto& wid : accepted) {
    auto res = c->result("", wid, "", 60s);
    REQUIRE_MESSAGE(res, wid << ": " << error_text(res));
    CHECK(res->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED);
  }
  CHECK(node.wait_for_output("no longer overloaded", 10s));
  auto again = start("after-drain");
  CHECK_MESSAGE(again, error_text(again));
  // The shards dispatched the drained queue's tasks again and skipped the other queue's three.
  REQUIRE(node.wait_for_output("dispatching task queue default/greetings again", 10s));
  std::this_thread::sleep_for(500ms);  // every shard's line
  auto log = node.output();
  std::regex line("dispatching task queue default/greetings again: [0-9]+ runs, ([0-9]+) other");
  int skipped = 0;
  for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
    skipped += std::stoi((*it)[1].str());
  CHECK(skipped == 3);
}
