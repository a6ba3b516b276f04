// End-to-end: node-to-node TLS (docs/security.md). Three real nodes with `tls` and
// replication_factor 3 serve workflows over TLS (worker and client too), keep their peer
// connections up (CAF 0.17.6 dropped them: the fix in protocol/tls_fix.cpp), survive a
// kill -9 and restart of one node with equal digests; a node whose certificate another CA signed
// cannot join, and the log says why on both sides of each refused connection.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "harness.hpp"
#include "node_cluster.hpp"
#include "protocol/runtime.hpp"
#include "worker/client.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

struct pem {
  std::string certificate, key;
};

// A self-signed CA (EC keys: quick to make).
pem make_ca(const std::filesystem::path& dir, const std::string& name) {
  pem out{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  std::string log;
  REQUIRE_MESSAGE(run("/usr/bin/openssl", {"req", "-x509", "-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                                           out.key, "-out", out.certificate, "-days", "2",
                                           "-subj", "/CN=" + name},
                      &log) == 0,
                  log);
  return out;
}

// A certificate for `name` signed by `ca`.
pem make_cert(const std::filesystem::path& dir, const pem& ca, const std::string& name) {
  pem out{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  auto csr = (dir / (name + ".csr")).string();
  std::string log;
  REQUIRE_MESSAGE(run("/usr/bin/openssl", {"req", "-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                                           out.key, "-out", csr, "-subj", "/CN=" + name},
                      &log) == 0,
                  log);
  REQUIRE_MESSAGE(run("/usr/bin/openssl", {"x509", "-req", "-in", csr, "-CA", ca.certificate,
                                           "-CAkey", ca.key, "-CAcreateserial", "-out",
                                           out.certificate, "-days", "2"},
                      &log) == 0,
                  log);
  return out;
}

// A node_cluster whose nodes have `tls` in their configs.
struct tls_cluster : node_cluster {
  pem ca;
  std::vector<pem> certs;       // per node
  std::vector<std::string> cas; // per node: the CA it trusts

  tls_cluster(uint32_t shards, uint32_t rf) : node_cluster(shards, rf) {
    ca = make_ca(dir.path(), "cluster-ca");
    for (auto& n : names) {
      certs.push_back(make_cert(dir.path(), ca, n));
      cas.push_back(ca.certificate);
    }
  }

  void start_tls(size_t i) {
    auto path = config(i);
    std::ofstream(path, std::ios::app) << "tls:\n  certificate: " << certs[i].certificate
                                       << "\n  key: " << certs[i].key << "\n  ca: " << cas[i]
                                       << "\n";
    nodes[i] = process(CHRONICLE_NODE_BIN, {"--config", path},
                       (dir.path() / (names[i] + ".log")).string());
    REQUIRE_MESSAGE(nodes[i].wait_for_output("listening on", 20s), nodes[i].output());
    CHECK(nodes[i].output().find(", TLS)") != std::string::npos);
  }

  // Workers (child processes) use TLS with node1's certificate.
  void tls_env() {
    setenv("CHRONICLE_TLS_CERT", certs[0].certificate.c_str(), 1);
    setenv("CHRONICLE_TLS_KEY", certs[0].key.c_str(), 1);
    setenv("CHRONICLE_TLS_CA", ca.certificate.c_str(), 1);
  }
  ~tls_cluster() {
    unsetenv("CHRONICLE_TLS_CERT");
    unsetenv("CHRONICLE_TLS_KEY");
    unsetenv("CHRONICLE_TLS_CA");
  }

  // An actor system for this test's clients, over TLS with node1's certificate (the system
  // keeps a reference to its config: both live here).
  caf::actor_system_config client_cfg;
  std::unique_ptr<caf::actor_system> client_sys;
  caf::actor_system& client_system() {
    configure_network(client_cfg, tls_files{certs[0].certificate, certs[0].key, ca.certificate});
    client_sys = std::make_unique<caf::actor_system>(client_cfg);
    return *client_sys;
  }

  client connect_tls(caf::actor_system& sys, size_t i) {
    auto c = client::connect(sys, "127.0.0.1", ports[i]);
    REQUIRE_MESSAGE(c, error_text(c));
    return std::move(*c);
  }

  // A task queue the ring places on `node`.
  std::string queue_on(const std::string& node) {
    for (int i = 0;; ++i) {
      auto q = "greetings" + std::to_string(i);
      if (ring.task_queue_owner("default", q) == node) return q;
    }
  }

  void wait_leaders(client& c) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    size_t led = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      auto st = c.cluster_status(true);
      led = st ? client::serving_leaders(*st).size() : 0;
      if (led == num_shards) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("not every shard has a leader: " << led << " of " << num_shards);
  }

  void wait_equal_digests(client& c, size_t replicas) {
    testing::wait_equal_digests(c, num_shards, replicas);
  }
};

// Starts Greeting `wid`, retrying `unavailable` answers (an election) with the same request ID.
void start_acknowledged(client& c, const std::string& wid, const std::string& queue) {
  caf::expected<pb::StartWorkflowResponse> res = caf::error{};
  auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    res = start_greeting(c, wid, queue, "start-" + wid);
    if (res || chronicle_code(res.error()) != static_cast<uint8_t>(errc::unavailable)) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(res, wid << ": " << error_text(res));
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("peer tls: 3 nodes with RF 3 over TLS serve workflows - a node killed with kill -9 rejoins - digests equal") {
  tls_cluster cl(6, 3);
  for (size_t i = 0; i < 3; ++i) cl.start_tls(i);
  // A client without TLS is refused (its failed handshake must not cost node1 its peers: checked
  // below).
  std::string out;
  CHECK(run(CHRONICLE_CLI_BIN, {"--address", cl.address(0), "workflow", "show", "-w", "x"}, &out)
        == 1);
  CHECK_MESSAGE(out.find("cannot connect") != std::string::npos, out);
  cl.tls_env();
  auto c = cl.connect_tls(cl.client_system(), 0);
  cl.wait_leaders(c);
  auto queue = cl.queue_on("node1");
  cl.start_worker(0, queue);
  for (int i = 0; i < 8; ++i) start_acknowledged(c, "tls-before-" + std::to_string(i), queue);
  for (int i = 0; i < 8; ++i) check_greeting_done(c, "tls-before-" + std::to_string(i), 60s);
  cl.wait_equal_digests(c, 3);
  // Every peer connection came up once and stayed up (with CAF's bug they dropped and came
  // back every few seconds).
  for (size_t i = 0; i < 3; ++i) {
    auto log = cl.nodes[i].output();
    CHECK_MESSAGE(count(log, ") is up") == 2, log);
    CHECK_MESSAGE(log.find("connection lost") == std::string::npos, log);
  }

  cl.nodes[2].kill9();
  for (int i = 0; i < 8; ++i) start_acknowledged(c, "tls-after-" + std::to_string(i), queue);
  for (int i = 0; i < 8; ++i) check_greeting_done(c, "tls-after-" + std::to_string(i), 60s);
  cl.wait_equal_digests(c, 2);
  cl.start_tls(2);
  cl.wait_equal_digests(c, 3);
  REQUIRE(cl.nodes[2].wait_for_output("peer node1 (127.0.0.1:" + std::to_string(cl.ports[0])
                                        + ") is up", 20s));
  REQUIRE(cl.nodes[2].wait_for_output("peer node2 (127.0.0.1:" + std::to_string(cl.ports[1])
                                        + ") is up", 20s));
  // node3's death cost node1 and node2 only their connections to it (the queued TLS error of
  // the dead connection used to fail the next read of every other one).
  for (size_t i = 0; i < 2; ++i) {
    auto log = cl.nodes[i].output();
    CHECK_MESSAGE(count(log, "connection lost") == 1, log);
    CHECK_MESSAGE(log.find("is down: connection lost (exit_reason(remote_link_unreachable))")
                    != std::string::npos, log);
    CHECK_MESSAGE(log.find(cl.names[1 - i] + " (127.0.0.1:" + std::to_string(cl.ports[1 - i])
                           + ") is down: connection lost") == std::string::npos, log);
  }
  for (int i = 0; i < 3; ++i) {
    start_acknowledged(c, "tls-rejoined-" + std::to_string(i), queue);
    check_greeting_done(c, "tls-rejoined-" + std::to_string(i), 60s);
  }
  cl.wait_equal_digests(c, 3);
}

TEST_CASE("peer tls: a node whose certificate another CA signed cannot join - both sides log why") {
  tls_cluster cl(4, 1);
  // node2 trusts the cluster's CA but has a certificate from a CA of its own.
  auto other = make_ca(cl.dir.path(), "other-ca");
  cl.certs[1] = make_cert(cl.dir.path(), other, "node2-other");
  for (size_t i = 0; i < 3; ++i) cl.start_tls(i);
  // node1 dials node2 and refuses its certificate; node2 dials node3, which refuses node2's.
  CHECK_MESSAGE(cl.nodes[0].wait_for_output(
                  "peer node2 (127.0.0.1:" + std::to_string(cl.ports[1])
                    + ") is down: TLS: its certificate is not signed by our CA", 20s),
                cl.nodes[0].output());
  CHECK_MESSAGE(cl.nodes[1].wait_for_output(
                  "peer node3 (127.0.0.1:" + std::to_string(cl.ports[2])
                    + ") is down: TLS: it refused our certificate", 20s),
                cl.nodes[1].output());
  CHECK(cl.nodes[0].wait_for_output("peer node3 (127.0.0.1:" + std::to_string(cl.ports[2])
                                      + ") is up", 20s));
  std::this_thread::sleep_for(3s);  // a few more of node2's attempts
  for (size_t i = 0; i < 3; ++i) {
    auto log = cl.nodes[i].output();
    CHECK_MESSAGE(log.find(i == 1 ? ") is up" : "peer node2 (127.0.0.1:" + std::to_string(cl.ports[1])
                                                  + ") is up") == std::string::npos, log);
  }
  // The cause is logged when it changes, not at every retry (node1 tried node2 every 2 s or
  // sooner; a probe that timed out on a busy machine may log it once more).
  CHECK(count(cl.nodes[0].output(), "its certificate is not signed by our CA") <= 2);
}

// A TLS worker whose node is killed moves to another member (learned from the cluster) and
// stays connected there: the dead connection's failure does not cost it the next one (CAF
// 0.17.6's queued TLS error, protocol/tls_fix.cpp). The CLI given the dead node first goes on.
TEST_CASE("peer tls: a TLS worker whose node is killed moves to another member and stays there") {
  tls_cluster cl(6, 3);
  for (size_t i = 0; i < 3; ++i) cl.start_tls(i);
  cl.tls_env();
  auto c = cl.connect_tls(cl.client_system(), 2);
  cl.wait_leaders(c);
  auto queue = cl.queue_on("node2");
  cl.start_worker(0, queue);  // at node1; learns the other members
  auto& worker = cl.workers.back();
  REQUIRE(worker.wait_for_output("registered on task queue", 20s));
  start_acknowledged(c, "tls-moved-before", queue);
  check_greeting_done(c, "tls-moved-before", 60s);
  cl.nodes[0].kill9();  // not restarted
  REQUIRE_MESSAGE(worker.wait_for_output("lost node 127.0.0.1:" + std::to_string(cl.ports[0]), 10s),
                  worker.output());
  for (int i = 0; i < 4; ++i) start_acknowledged(c, "tls-moved-" + std::to_string(i), queue);
  for (int i = 0; i < 4; ++i) check_greeting_done(c, "tls-moved-" + std::to_string(i), 60s);
  std::this_thread::sleep_for(3s);  // idle reads on the new connection: a drop would show now
  CHECK_MESSAGE(count(worker.output(), "lost node") == 1, worker.output());
  std::string out;
  CHECK_MESSAGE(run(CHRONICLE_CLI_BIN, {"--address", cl.address(0) + "," + cl.address(2),
                                        "workflow", "describe", "-w", "tls-moved-3"},
                    &out) == 0,
                out);
  CHECK_MESSAGE(out.find("Completed") != std::string::npos, out);
}
