// One real chronicle-node (optionally with an HTTP port) and real sample worker processes serving
// one task queue, with a client, the CLI and history helpers: the set-up of the activity, cancel,
// retry and local activity e2e tests.
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

struct worker_deployment {
  temp_dir dir;
  uint16_t port = free_port();
  uint16_t http = 0;  // set: the node serves HTTP there
  std::string queue;
  std::string config;
  process node;
  std::string address = "127.0.0.1:" + std::to_string(port);

  // Starts the node. `with_http`: an HTTP port too.
  worker_deployment(std::string task_queue, bool with_http, const std::string& extra_config = {})
      : http(with_http ? free_port() : 0), queue(std::move(task_queue)),
        config(write_node_config(
          dir.path(), port,
          extra_config + (with_http ? "http_port: " + std::to_string(http) + "\n" : ""))) {
    start_node();
  }

  void start_node() {
    node = process(CHRONICLE_NODE_BIN, {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE_MESSAGE(node.wait_for_output("listening on", std::chrono::seconds(20)), node.output());
  }

  void kill9_and_restart() {
    node.kill9();
    start_node();
  }

  // A worker process (`bin`, a sample worker) with `identity` (its log file's name too) and
  // `args`, once it registered on its task queue.
  process start_worker(const std::string& bin, const std::string& identity,
                       std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"--address", address, "--identity", identity});
    process p(bin, args, (dir.path() / (identity + ".log")).string());
    REQUIRE_MESSAGE(p.wait_for_output("registered on task queue", std::chrono::seconds(20)),
                    p.output());
    return p;
  }

  client connect() {
    auto c = client::connect(test_system(), "127.0.0.1", port);
    REQUIRE_MESSAGE(c, error_text(c.error()));
    return std::move(*c);
  }

  // Starts `wid`; its run ID.
  std::string start(client& c, const std::string& wid, const std::string& type,
                    const sdk::json& input = nullptr) {
    pb::StartWorkflowRequest req;
    req.set_workflow_id(wid);
    req.set_workflow_type(type);
    req.set_task_queue(queue);
    *req.mutable_input() = sdk::to_payload(input);
    auto resp = c.start(req);
    REQUIRE_MESSAGE(resp, error_text(resp.error()));
    return resp->run_id();
  }

  pb::GetResultResponse result(client& c, const std::string& wid, const std::string& run = "") {
    auto r = c.result("", wid, run, std::chrono::seconds(30));
    REQUIRE_MESSAGE(r, error_text(r.error()));
    return *r;
  }

  // Polls describe of `wid` until `pred` holds (that answer), failing the test after 20 s.
  template <class Pred>
  pb::DescribeWorkflowResponse wait_until(client& c, const std::string& wid, Pred pred,
                                          const char* what) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto d = c.describe("", wid);
      if (d && pred(*d)) return *d;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("timed out waiting until " << what);
    return {};
  }

  // The chronicle CLI against this node: its output (stdout + stderr), its exit code in *code.
  std::string cli(const std::vector<std::string>& args, int* code = nullptr) {
    std::vector<std::string> all{"--address", address};
    all.insert(all.end(), args.begin(), args.end());
    std::string out;
    int rc = run(CHRONICLE_CLI_BIN, all, &out);
    if (code) *code = rc;
    return out;
  }
};

inline std::vector<pb::HistoryEvent> events_of(client& c, const std::string& wid,
                                               pb::EventType type) {
  auto h = c.history("", wid);
  REQUIRE_MESSAGE(h, error_text(h.error()));
  std::vector<pb::HistoryEvent> out;
  for (auto& ev : h->events())
    if (ev.event_type() == type) out.push_back(ev);
  return out;
}

// Waits until the run's history has an event of `type`; the first one.
inline pb::HistoryEvent wait_event(client& c, const std::string& wid, pb::EventType type) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto found = events_of(c, wid, type);
    if (!found.empty()) return found.front();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("no " << event_type_name(type) << " in the history of " << wid);
  return {};
}

// The result of `wid`, which must complete.
inline sdk::json result_of(client& c, const std::string& wid) {
  auto r = c.result("", wid, "", std::chrono::seconds(30));
  REQUIRE_MESSAGE(r, error_text(r.error()));
  REQUIRE_MESSAGE(r->status() == pb::WORKFLOW_EXECUTION_STATUS_COMPLETED, r->DebugString());
  return sdk::from_payload(r->result());
}

}  // namespace chronicle::testing
