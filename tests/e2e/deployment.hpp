// A single-node deployment for e2e tests: a real chronicle-node process and, on demand, a real
// greeting-worker process serving the task queue "greetings", with a client and the CLI.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::testing {

struct single_node {
  temp_dir dir;
  uint16_t port = free_port();
  std::string config;
  process node;
  process worker;

  explicit single_node(const std::string& extra_config = {})
    : config(write_node_config(dir.path(), port, extra_config)) {}

  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  void start_node() {
    node = process(CHRONICLE_NODE_BIN, {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE_MESSAGE(node.wait_for_output("listening on", std::chrono::seconds(20)), node.output());
  }

  void start_worker() {
    worker = process(GREETING_WORKER_BIN, {"--address", address(), "--task-queue", "greetings"},
                     (dir.path() / "worker.log").string());
    REQUIRE(worker.wait_for_output("serving task queue", std::chrono::seconds(20)));
  }

  client connect() {
    auto c = client::connect(test_system(), "127.0.0.1", port);
    REQUIRE_MESSAGE(c, error_text(c));
    return std::move(*c);
  }

  // Runs the chronicle CLI against this node; returns its exit code, output in *out.
  int cli(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), {"--address", address()});
    return run(CHRONICLE_CLI_BIN, args, out);
  }
};

// A start request for the greeting worker's task queue.
inline pb::StartWorkflowRequest start_request(const std::string& wid, const std::string& type,
                                              const sdk::json& input = nullptr) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type(type);
  req.set_task_queue("greetings");
  *req.mutable_input() = sdk::to_payload(input);
  return req;
}

// Polls describe of `wid` (current run) until `pred` holds; fails the test after 20 s.
template <class Pred>
void wait_until(client& c, const std::string& wid, Pred pred, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe("", wid);
    if (d && pred(*d)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("timed out waiting until " << what);
}

}  // namespace chronicle::testing
