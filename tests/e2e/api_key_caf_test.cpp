// End-to-end: API keys on the CAF port (docs/security.md): the CLI (--api-key, CHRONICLE_API_KEY),
// the client library and workers present their key after connecting; the node checks the role
// the message catalog names for each request. A real node, the real CLI and sample worker.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/node/api_keys.hpp"
#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

const std::string reader = "chr_caf-reader-key";
const std::string writer = "chr_caf-writer-key";
const std::string admin = "chr_caf-admin-key";
const std::string orders = "chr_caf-orders-writer-key";

std::string entry(const std::string& name, const std::string& key, const std::string& roles,
                  bool revoked = false) {
  return "  - {name: " + name + ", hash: 'sha256:" + sha256_hex(key) + "', roles: " + roles
         + (revoked ? ", revoked: true" : "") + "}\n";
}

std::string keys(bool revoke_reader) {
  return "api_keys:\n" + entry("reader", reader, "{default: read}", revoke_reader)
         + entry("writer", writer, "{default: write}") + entry("admin", admin, "{'*': admin}")
         + entry("orders", orders, "{orders: write}") + "namespaces:\n  orders: {}\n";
}

// The CLI with `key` (empty: none) against `addr`; returns the exit code, output in *out.
int cli(const std::string& addr, const std::string& key, std::vector<std::string> args,
        std::string* out) {
  std::vector<std::string> all{"--address", addr};
  if (!key.empty()) all.insert(all.end(), {"--api-key", key});
  all.insert(all.end(), args.begin(), args.end());
  return run(CHRONICLE_CLI_BIN, all, out);
}

std::vector<std::string> start_args(const std::string& wid, const std::string& queue = "greetings") {
  return {"workflow", "start", "--type", "Greeting", "--task-queue", queue, "-w", wid,
          "--input", R"({"name":"Cy"})"};
}

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("api keys: cli and workers - each role allowed and refused - missing wrong revoked keys") {
  temp_dir dir;
  auto port = free_port();
  auto addr = "127.0.0.1:" + std::to_string(port);
  auto cfg = write_node_config(dir.path(), port, keys(false));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  std::string out;

  // a worker needs write in its namespace: read is refused, write registers
  setenv("CHRONICLE_API_KEY", reader.c_str(), 1);
  process refused_worker(GREETING_WORKER_BIN, {"--address", addr},
                         (dir.path() / "worker-read.log").string());
  setenv("CHRONICLE_API_KEY", writer.c_str(), 1);
  process worker(GREETING_WORKER_BIN, {"--address", addr}, (dir.path() / "worker.log").string());
  unsetenv("CHRONICLE_API_KEY");
  REQUIRE_MESSAGE(worker.wait_for_output("registered on task queue", 20s), worker.output());
  CHECK(refused_worker.wait_for_output("registration refused: permission denied", 20s));
  CHECK_FALSE(contains(refused_worker.output(), "registered on task queue"));

  // read: list and show; not start
  CHECK(cli(addr, reader, {"workflow", "list"}, &out) == 0);
  CHECK(cli(addr, reader, start_args("c1"), &out) == 1);
  CHECK_MESSAGE(contains(out, "API key 'reader' has role read in namespace 'default'; this "
                              "request needs write"), out);

  // write: start and wait for the result (read); not terminate
  CHECK_MESSAGE(cli(addr, writer, start_args("c1"), &out) == 0, out);
  CHECK(cli(addr, writer, {"workflow", "result", "-w", "c1"}, &out) == 0);
  CHECK(contains(out, "Hello, Cy!"));
  CHECK(cli(addr, writer, start_args("stuck", "nobody-serves-this"), &out) == 0);
  CHECK(cli(addr, writer, {"workflow", "terminate", "-w", "stuck"}, &out) == 1);
  CHECK(contains(out, "permission denied"));
  // a key for another namespace
  CHECK(cli(addr, orders, {"workflow", "list"}, &out) == 1);
  CHECK(cli(addr, orders, {"-n", "orders", "workflow", "list"}, &out) == 0);

  // admin: terminate (the key from the environment this time)
  setenv("CHRONICLE_API_KEY", admin.c_str(), 1);
  CHECK_MESSAGE(cli(addr, "", {"workflow", "terminate", "-w", "stuck"}, &out) == 0, out);
  unsetenv("CHRONICLE_API_KEY");

  // missing and wrong keys
  CHECK(cli(addr, "", {"workflow", "list"}, &out) == 1);
  CHECK(contains(out, "this node requires an API key"));
  CHECK(cli(addr, "chr_wrong-key", {"workflow", "list"}, &out) == 1);
  CHECK(contains(out, "refused the API key: unknown API key"));

  // the client library: a wrong key fails at connect; without a key every request is refused
  auto wrong = connect_node(test_system(), "127.0.0.1", port, 2s, "", "chr_wrong-key");
  REQUIRE_FALSE(wrong);
  CHECK(chronicle_code(wrong.error()) == static_cast<uint8_t>(errc::unauthenticated));

  // revoked, then SIGHUP: refused from the next connection and request on
  write_node_config(dir.path(), port, keys(true));
  ::kill(node.pid(), SIGHUP);
  REQUIRE(node.wait_for_output("API key(s) in force", 10s));
  CHECK(cli(addr, reader, {"workflow", "list"}, &out) == 1);
  CHECK(contains(out, "API key 'reader' is revoked"));
  CHECK(cli(addr, writer, {"workflow", "list"}, &out) == 0);

  auto log = node.output();
  CHECK(contains(log, "refused start from"));
  for (auto* k : {&reader, &writer, &admin, &orders}) CHECK_FALSE(contains(log, *k));
}

TEST_CASE("api keys: a client cannot skip its key by posing as a peer") {
  temp_dir dir;
  auto port = free_port();
  auto cfg = write_node_config(dir.path(), port, keys(false));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  auto conn = connect_node(test_system(), "127.0.0.1", port, 5s, "", reader);
  REQUIRE(conn);
  pb::StartWorkflowRequest req;
  req.set_namespace_("default");
  req.set_workflow_id("forged");
  req.set_workflow_type("Greeting");
  req.set_task_queue("greetings");
  caf::scoped_actor self{test_system()};
  caf::error got;
  self->request(*conn, 5s, fwd_atom::value, start_atom::value, encode(req))
    .receive([](const caf::message&) {}, [&](caf::error& err) { got = err; });
  CHECK(chronicle_code(got) == static_cast<uint8_t>(errc::unauthenticated));
  CHECK(node.wait_for_output("not a peer", 5s));
  // the same start as a client request: the reader's role does not cover it
  self->request(*conn, 5s, start_atom::value, encode(req))
    .receive([](const std::string&) {}, [&](caf::error& err) { got = err; });
  CHECK(chronicle_code(got) == static_cast<uint8_t>(errc::permission_denied));
}

TEST_CASE("api keys: a key made by chronicle api-key new opens the node") {
  std::string out;
  REQUIRE(run(CHRONICLE_CLI_BIN, {"api-key", "new", "--name", "fresh", "--for-namespace", "default",
                                  "--role", "read", "-o", "json"},
              &out) == 0);
  auto made = nlohmann::json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(made.is_object(), out);
  auto key = made["key"].get<std::string>();
  CHECK(made["hash"] == "sha256:" + sha256_hex(key));
  temp_dir dir;
  auto port = free_port();
  auto addr = "127.0.0.1:" + std::to_string(port);
  auto cfg = write_node_config(dir.path(), port,
                               "api_keys:\n  " + made["config_entry"].get<std::string>() + "\n");
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  CHECK_MESSAGE(cli(addr, key, {"workflow", "list"}, &out) == 0, out);
  CHECK(cli(addr, key, start_args("f1"), &out) == 1);
  CHECK(cli(addr, "", {"workflow", "list"}, &out) == 1);
  CHECK_FALSE(contains(node.output(), key));
}
