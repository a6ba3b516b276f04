// End-to-end: a cluster secret. Nodes, workers and clients that present it work; a client or a peer
// without it (or with a wrong one) is refused, and the node logs the refusal.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

const std::string secret = "correct-horse-battery-staple";

// Starts a process with CHRONICLE_CLUSTER_SECRET set to `value` (or unset when empty).
process spawn_with_secret(const std::string& value, const std::string& exe,
                          const std::vector<std::string>& args, const std::string& log) {
  if (value.empty()) unsetenv("CHRONICLE_CLUSTER_SECRET");
  else setenv("CHRONICLE_CLUSTER_SECRET", value.c_str(), 1);
  process p(exe, args, log);
  unsetenv("CHRONICLE_CLUSTER_SECRET");
  return p;
}

}  // namespace

TEST_CASE("security: a cluster secret admits those who present it and refuses the others") {
  temp_dir dir;
  auto port = free_port();
  auto addr = "127.0.0.1:" + std::to_string(port);
  auto cfg = write_node_config(dir.path(), port, "cluster_secret: " + secret + "\n");
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));

  // no secret: refused, and logged by the node
  auto anonymous = client::connect(test_system(), "127.0.0.1", port, 2s);
  REQUIRE(anonymous);  // the transport connects; every request is refused
  pb::StartWorkflowRequest req;
  req.set_workflow_id("s1");
  req.set_workflow_type("Greeting");
  req.set_task_queue("greetings");
  *req.mutable_input() = sdk::to_payload({{"name", "Ada"}});
  auto refused = anonymous->start(req);
  REQUIRE_FALSE(refused);
  CHECK(chronicle_code(refused.error()) == static_cast<uint8_t>(errc::unauthenticated));
  CHECK(node.wait_for_output("refused unauthenticated peer", 5s));

  // a wrong secret: refused at connect
  auto wrong = connect_node(test_system(), "127.0.0.1", port, 2s, "not-the-secret-at-all");
  REQUIRE_FALSE(wrong);
  CHECK(error_text(wrong.error()).find("refused the cluster secret") != std::string::npos);
  CHECK(node.wait_for_output("wrong cluster secret", 5s));

  // the CLI without the secret is refused; with it (env) it works
  std::string out;
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "show", "-w", "s1"}, &out) == 1);
  CHECK(out.find("unauthenticated") != std::string::npos);

  // a worker and a CLI with the secret run a workflow end to end
  auto worker = spawn_with_secret(secret, GREETING_WORKER_BIN, {"--address", addr},
                                  (dir.path() / "worker.log").string());
  REQUIRE(worker.wait_for_output("registered on task queue", 20s));
  setenv("CHRONICLE_CLUSTER_SECRET", secret.c_str(), 1);
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "start", "--type", "Greeting",
                                "--task-queue", "greetings", "-w", "s2", "--input", R"({"name":"Ada"})"},
            &out) == 0);
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", addr, "workflow", "result", "-w", "s2"}, &out) == 0);
  CHECK(out.find("Hello, Ada!") != std::string::npos);
  unsetenv("CHRONICLE_CLUSTER_SECRET");

  // a worker with a wrong secret never registers
  auto bad_worker = spawn_with_secret("wrong-secret-for-sure", GREETING_WORKER_BIN,
                                      {"--address", addr}, (dir.path() / "bad-worker.log").string());
  CHECK(bad_worker.wait_for_output("refused our cluster secret", 10s));
}

TEST_CASE("security: peers with different secrets refuse each other") {
  temp_dir dir;
  uint16_t p1 = free_port(), p2 = free_port();
  auto write = [&](const std::string& name, uint16_t port, const std::string& s) {
    auto path = (dir.path() / (name + ".yaml")).string();
    std::ofstream out(path);
    out << "node:\n  name: " << name << "\n  port: " << port << "\ndata_dir: "
        << (dir.path() / name).string() << "\ncluster_secret: " << s << "\nmembers:\n"
        << "  - name: n1\n    address: 127.0.0.1:" << p1 << "\n"
        << "  - name: n2\n    address: 127.0.0.1:" << p2 << "\n";
    return path;
  };
  process n1(CHRONICLE_NODE_BIN, {"--config", write("n1", p1, secret)},
             (dir.path() / "n1.log").string());
  process n2(CHRONICLE_NODE_BIN, {"--config", write("n2", p2, "another-secret-of-16")},
             (dir.path() / "n2.log").string());
  REQUIRE(n1.wait_for_output("listening on", 20s));
  REQUIRE(n2.wait_for_output("listening on", 20s));
  CHECK(n1.wait_for_output("wrong cluster secret", 10s));
  CHECK(n2.wait_for_output("wrong cluster secret", 10s));
  CHECK(n1.output().find("peer n2 (127.0.0.1:" + std::to_string(p2) + ") is up") == std::string::npos);
}
