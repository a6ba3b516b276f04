// End-to-end: hostile input against a real node. Malformed protobuf bytes, wrong message types,
// unknown message kinds, bad identifiers, oversized payloads, raw TCP garbage, and corrupted or
// missing RocksDB files each get a clear error; the node stays up and stored data is intact.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/io/all.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "harness.hpp"
#include "test_system.hpp"
#include "worker/client.hpp"
#include "worker/sdk/payload.hpp"
#include "worker/worker.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

struct node_fixture {
  temp_dir dir;
  uint16_t port = free_port();
  std::string config = write_node_config(dir.path(), port);
  process node;

  node_fixture() { start(); }

  void start() {
    node = process(CHRONICLE_NODE_BIN, {"--config", config}, (dir.path() / "node.log").string());
    REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  }

  caf::actor handle() {
    auto n = connect_node(test_system(), "127.0.0.1", port, 5s);
    REQUIRE(n);
    return *n;
  }

  client connect() {
    auto c = client::connect(test_system(), "127.0.0.1", port);
    REQUIRE(c);
    return std::move(*c);
  }
};

// Sends a raw message to the node and returns the error text ("" when it answered normally).
template <class... Ts>
std::string raw_request(const caf::actor& node, Ts... xs) {
  caf::scoped_actor self{test_system()};
  std::string out = "no answer";
  self->request(node, 5s, xs...)
    .receive([&](const caf::message&) { out = ""; },
             [&](caf::error& err) { out = error_text(err); });
  return out;
}

pb::StartWorkflowRequest start_req(const std::string& wid) {
  pb::StartWorkflowRequest req;
  req.set_workflow_id(wid);
  req.set_workflow_type("Greeting");
  req.set_task_queue("greetings");
  *req.mutable_input() = sdk::to_payload({{"name", "x"}});
  return req;
}

}  // namespace

TEST_CASE("hostile: malformed bytes - wrong types and unknown kinds get errors - the node stays up") {
  node_fixture f;
  auto node = f.handle();
  const std::string garbage = "\xff\xff\xff\x01garbage\x00\x17";
  CHECK(raw_request(node, start_atom::value, garbage).find("malformed") != std::string::npos);
  CHECK(raw_request(node, describe_atom::value, garbage).find("malformed") != std::string::npos);
  CHECK(raw_request(node, history_atom::value, garbage).find("malformed") != std::string::npos);
  CHECK(raw_request(node, register_atom::value, garbage).find("malformed") != std::string::npos);
  CHECK(raw_request(node, hello_atom::value, garbage).find("malformed") != std::string::npos);
  CHECK(raw_request(node, handoff_atom::value, garbage).find("malformed") != std::string::npos);
  CHECK(raw_request(node, fwd_atom::value, caf::atom_value{start_atom::value}, garbage)
          .find("malformed") != std::string::npos);
  // a worker's request for a task's whole history (sticky cache): garbage, then a made-up task
  CHECK(raw_request(node, fwd_atom::value, caf::atom_value{wt_history_atom::value}, garbage)
          .find("malformed") != std::string::npos);
  pb::GetWorkflowTaskHistory made_up;
  made_up.mutable_token()->set_namespace_("default");
  made_up.mutable_token()->set_workflow_id("no-such-workflow");
  made_up.mutable_token()->set_run_id("r");
  made_up.mutable_token()->set_scheduled_event_id(2);
  CHECK(raw_request(node, fwd_atom::value, caf::atom_value{wt_history_atom::value},
                    encode(made_up))
          .find("not found") != std::string::npos);
  CHECK(raw_request(node, start_atom::value, 42).find("unexpected message") != std::string::npos);
  CHECK(raw_request(node, caf::atom("bogus"), std::string("x")).find("unexpected message")
        != std::string::npos);
  CHECK(raw_request(node, std::string("just a string")).find("unexpected message")
        != std::string::npos);
  // a peer may not make a node drop a shard it owns
  pb::HandoffRelease rel;
  rel.set_shard(0);
  CHECK(raw_request(node, release_atom::value, encode(rel)).find("not to be dropped")
        != std::string::npos);
  auto c = f.connect();
  CHECK(c.start(start_req("still-works")));
  CHECK(f.node.running());
}

TEST_CASE("hostile: bad identifiers and oversized payloads are refused with clear errors") {
  node_fixture f;
  auto c = f.connect();
  auto refused = [&](pb::StartWorkflowRequest req, const std::string& expected) {
    auto r = c.start(req);
    REQUIRE_FALSE(r);
    CHECK(chronicle_code(r.error()) == static_cast<uint8_t>(errc::invalid_argument));
    CHECK_MESSAGE(error_text(r).find(expected) != std::string::npos, error_text(r.error()));
  };
  refused(start_req(""), "workflow ID is empty");
  refused(start_req(std::string(2000, 'w')), "workflow ID is 2000 bytes long");
  refused(start_req("bad\nid"), "control character");
  auto no_type = start_req("t1");
  no_type.set_workflow_type("");
  refused(no_type, "workflow type is empty");
  auto big = start_req("big");
  big.mutable_input()->set_data(std::string(3 * 1024 * 1024, 'x'));
  refused(big, "more than max_payload_bytes");
  // an unknown workflow type is accepted (a worker may serve it later); nothing breaks
  auto unknown = start_req("unknown-type");
  unknown.set_workflow_type("NoSuchWorkflow");
  CHECK(c.start(unknown));
  auto d = c.describe("", "unknown-type");
  REQUIRE(d);
  CHECK(d->status() == pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  auto h = c.history("", std::string(5000, 'h'));
  REQUIRE_FALSE(h);
  CHECK(error_text(h.error()).find("bytes long") != std::string::npos);
}

TEST_CASE("hostile: raw TCP garbage on the node's port does not hurt it") {
  node_fixture f;
  auto c = f.connect();
  REQUIRE(c.start(start_req("before-garbage")));
  std::mt19937 rng{42};
  for (int round = 0; round < 5; ++round) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(f.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    std::string junk(4096, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    if (round == 0) junk = std::string(64, '\xff');  // a huge claimed length
    (void)::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    std::this_thread::sleep_for(50ms);
    ::close(fd);
  }
  std::this_thread::sleep_for(200ms);
  CHECK(f.node.running());
  auto c2 = f.connect();
  auto d = c2.describe("", "before-garbage");
  REQUIRE_MESSAGE(d, error_text(d));
  CHECK(d->history_length() == 2);
  CHECK(c2.start(start_req("after-garbage")));
}

TEST_CASE("hostile: corrupted or missing RocksDB files stop the node with one clear line") {
  node_fixture f;
  auto c = f.connect();
  REQUIRE(c.start(start_req("kept")));
  CHECK(f.node.terminate() == 0);
  auto db = f.dir.path() / "data";
  auto current = db / "CURRENT";
  std::string saved;
  {
    std::ifstream in(current);
    std::getline(in, saved);
  }
  std::ofstream(current, std::ios::trunc) << "garbage-without-newline";
  std::string out;
  CHECK(run(CHRONICLE_NODE_BIN, {"--config", f.config}, &out) == 1);
  CHECK_MESSAGE(out.find("cannot open RocksDB") != std::string::npos, out);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);

  std::ofstream(current, std::ios::trunc) << saved << "\n";  // repaired: data is intact
  auto manifest = db / saved;
  auto moved = f.dir.path() / "manifest.bak";
  std::filesystem::rename(manifest, moved);
  CHECK(run(CHRONICLE_NODE_BIN, {"--config", f.config}, &out) == 1);
  CHECK_MESSAGE(out.find("cannot open RocksDB") != std::string::npos, out);
  std::filesystem::rename(moved, manifest);

  f.start();
  auto c2 = f.connect();
  auto d = c2.describe("", "kept");
  REQUIRE_MESSAGE(d, error_text(d));
  CHECK(d->workflow_type() == "Greeting");
}

TEST_CASE("hostile: a history that would pass max_history_events terminates the run") {
  temp_dir dir;
  auto port = free_port();
  auto cfg = write_node_config(dir.path(), port, "max_history_events: 12\n");
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE(node.wait_for_output("listening on", 20s));
  process worker(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                 (dir.path() / "worker.log").string());
  REQUIRE(worker.wait_for_output("serving task queue", 20s));
  auto c = client::connect(test_system(), "127.0.0.1", port);
  REQUIRE(c);
  REQUIRE(c->start(start_req("long")));
  auto res = c->result("", "long", "", 30s);
  REQUIRE_MESSAGE(res, error_text(res));
  CHECK(res->status() == pb::WORKFLOW_EXECUTION_STATUS_TERMINATED);
  auto h = c->history("", "long");
  REQUIRE(h);
  CHECK(h->events_size() <= 13);
  CHECK(h->events(h->events_size() - 1).event_type() == pb::EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
  CHECK(h->events(h->events_size() - 1).DebugString().find("history size limit") != std::string::npos);
}
