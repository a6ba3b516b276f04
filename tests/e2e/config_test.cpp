// End-to-end: bad configuration and bad CLI input give one clear line and a non-zero exit; the CLI
// drives a real node and worker.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "harness.hpp"

using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

std::string write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p) << text;
  return p.string();
}

// Runs chronicle-node with `config`; expects a non-zero exit and one line containing `expected`.
void expect_refused(const std::string& config, const std::string& expected) {
  std::string out;
  int code = run(CHRONICLE_NODE_BIN, {"--config", config}, &out);
  CHECK(code != 0);
  CHECK(code != -1);  // exited by itself, did not hang
  CHECK_MESSAGE(out.find(expected) != std::string::npos, out);
  auto lines = std::count(out.begin(), out.end(), '\n');
  CHECK_MESSAGE(lines == 1, out);
}

std::string node_yaml(int64_t port, const std::string& data_dir, const std::string& extra = {}) {
  return "node:\n  name: n1\n  port: " + std::to_string(port) + "\ndata_dir: " + data_dir + "\n"
         + extra;
}

}  // namespace

TEST_CASE("node: missing config file") {
  expect_refused("/nonexistent/chronicle.yaml", "does not exist");
}

TEST_CASE("node: config that is not YAML") {
  temp_dir d;
  expect_refused(write(d.path() / "c.yaml", "node: [unclosed\n"), "not valid YAML");
}

TEST_CASE("node: unknown key") {
  temp_dir d;
  expect_refused(write(d.path() / "c.yaml", node_yaml(free_port(), (d.path() / "data").string(),
                                                      "bogus_key: 1\n")),
                 "unknown key 'bogus_key'");
}

TEST_CASE("node: bad port") {
  temp_dir d;
  expect_refused(write(d.path() / "c.yaml", node_yaml(70000, (d.path() / "data").string())),
                 "must be a TCP port");
}

// Each bad value of integer `key` is refused with "<key> must be <range>, got <value>".
void expect_out_of_range(const std::string& key, std::initializer_list<const char*> bads,
                         const std::string& range) {
  temp_dir d;
  for (std::string bad : bads)
    expect_refused(write(d.path() / "c.yaml", node_yaml(free_port(), (d.path() / "data").string(),
                                                        key + ": " + bad + "\n")),
                   key + " must be " + range + ", got " + bad);
}

TEST_CASE("node: raft_snapshot_log_bytes out of range") {
  expect_out_of_range("raft_snapshot_log_bytes", {"1000", "-5", "100000000000"},
                      "0 (no bound) or in 1048576..68719476736");
}

TEST_CASE("node: raft_snapshot_pulls out of range") {
  expect_out_of_range("raft_snapshot_pulls", {"-1", "1025"}, "0 (no limit) or in 1..1024");
}

TEST_CASE("node: raft_snapshot_bytes_per_s out of range") {
  expect_out_of_range("raft_snapshot_bytes_per_s", {"-1", "1000", "2000000000000"},
                      "0 (no limit) or in 65536..1099511627776");
}

TEST_CASE("node: unwritable data_dir") {
  temp_dir d;
  write(d.path() / "file", "x");
  expect_refused(write(d.path() / "c.yaml", node_yaml(free_port(), (d.path() / "file" / "db").string())),
                 "not writable");
}

TEST_CASE("node: num_shards changed against an existing data_dir") {
  temp_dir d;
  auto port = free_port();
  auto data = (d.path() / "data").string();
  auto cfg = write(d.path() / "c.yaml", node_yaml(port, data, "num_shards: 8\n"));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (d.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  CHECK(node.terminate() == 0);
  expect_refused(write(d.path() / "c2.yaml", node_yaml(port, data, "num_shards: 4\n")),
                 "created with num_shards=8, config says 4");
}

TEST_CASE("node: port already in use") {
  temp_dir d;
  auto port = free_port();
  auto cfg = write(d.path() / "c.yaml", node_yaml(port, (d.path() / "a").string()));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (d.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  expect_refused(write(d.path() / "c2.yaml", node_yaml(port, (d.path() / "b").string())),
                 "cannot listen on");
}

TEST_CASE("cli: start - result - show and describe against a real node and worker") {
  temp_dir d;
  auto port = free_port();
  auto addr = "127.0.0.1:" + std::to_string(port);
  auto cfg = write_node_config(d.path(), port);
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (d.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  process worker(GREETING_WORKER_BIN, {"--address", addr}, (d.path() / "worker.log").string());
  REQUIRE(worker.wait_for_output("serving", 20s));

  std::string out;
  REQUIRE(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "start", "--type", "Greeting",
                                  "--task-queue", "greetings", "--workflow-id", "g1", "--input",
                                  R"({"name":"Ada"})"}, &out) == 0);
  CHECK(out.size() == 37);  // a run ID and a newline
  REQUIRE(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "result", "-w", "g1"}, &out) == 0);
  CHECK(out == "{\"greeting\":\"Hello, Ada!\",\"workflow_id\":\"g1\"}\n");
  REQUIRE(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "show", "-w", "g1"}, &out) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 16);
  CHECK(out.find("WorkflowExecutionCompleted") != std::string::npos);
  REQUIRE(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "show", "-w", "g1", "--json"}, &out) == 0);
  CHECK(out.find("\"eventType\": \"EVENT_TYPE_TIMER_FIRED\"") != std::string::npos);
  REQUIRE(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "describe", "-w", "g1"}, &out) == 0);
  CHECK(out.find("Completed") != std::string::npos);
  CHECK(out.find("History length:  16") != std::string::npos);

  // errors: unknown workflow, bad JSON input, duplicate start while running is covered elsewhere
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "show", "-w", "nope"}, &out) == 1);
  CHECK(out.find("not found") != std::string::npos);
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "start", "--type", "Greeting",
                                "--task-queue", "q", "-w", "x", "--input", "{bad"}, &out) == 2);
  CHECK(out.find("not valid JSON") != std::string::npos);
}

TEST_CASE("cli: bad arguments and unreachable node") {
  std::string out;
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "start", "--type", "T"}, &out) != 0);
  CHECK(out.find("required") != std::string::npos);
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", "nonsense", "workflow", "show", "-w", "g"}, &out) == 1);
  CHECK(out.find("not host:port") != std::string::npos);
  auto port = free_port();
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", "127.0.0.1:" + std::to_string(port), "workflow",
                                "show", "-w", "g"}, &out) == 1);
  CHECK(out.find("cannot connect") != std::string::npos);
  CHECK(run(CHRONICLE_CLI_BIN, {"workflow", "--help"}, &out) == 0);
}
