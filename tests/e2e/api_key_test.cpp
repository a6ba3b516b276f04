// End-to-end: API keys with roles per namespace and HTTPS on the HTTP gateway of a real node
// (docs/security.md). curl is the client (headers, TLS); the node's config is rewritten and the
// node sent SIGHUP to revoke keys and to change its certificate.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/node/api_keys.hpp"
#include "harness.hpp"

using namespace chronicle::testing;
using namespace std::chrono_literals;

namespace {

const std::string api = "/api/v1/namespaces/default/workflows";

struct answer {
  int status = 0;  // 0: no HTTP answer (connection or TLS failure)
  std::string body;
};

// One request with curl; `key` empty: no Authorization header. `extra`: more curl options.
answer curl(const std::string& method, const std::string& url, const std::string& key,
            const std::string& body = {}, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"-s", "-X", method, "-w", "\n%{http_code}", "-m", "30"};
  if (!key.empty()) args.insert(args.end(), {"-H", "Authorization: Bearer " + key});
  if (!body.empty())
    args.insert(args.end(), {"-H", "Content-Type: application/json", "--data", body});
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  std::string out;
  run("/usr/bin/curl", args, &out);
  auto nl = out.rfind('\n');
  answer a;
  if (nl == std::string::npos) return a;
  a.status = std::atoi(out.c_str() + nl + 1);
  a.body = out.substr(0, nl);
  return a;
}

std::string start_body(const std::string& wid, const std::string& queue = "greetings") {
  return R"({"workflow_id":")" + wid + R"(","workflow_type":"Greeting","task_queue":")" + queue
         + R"(","input":{"name":"Ann"}})";
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Sends SIGHUP and waits until `marker` appears once more in the node's output.
bool reload(process& node, const std::string& marker) {
  auto before = count(node.output(), marker);
  ::kill(node.pid(), SIGHUP);
  for (int i = 0; i < 100; ++i) {
    if (count(node.output(), marker) > before) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::string key_entry(const std::string& name, const std::string& key, const std::string& roles,
                      bool revoked = false) {
  return "  - {name: " + name + ", hash: 'sha256:" + chronicle::sha256_hex(key) + "', roles: "
         + roles + (revoked ? ", revoked: true" : "") + "}\n";
}

// Keys of the tests below (the node stores only their hashes).
const std::string reader = "chr_reader-key-for-the-e2e-test";
const std::string writer = "chr_writer-key-for-the-e2e-test";
const std::string admin = "chr_admin-key-for-the-e2e-test";
const std::string orders_admin = "chr_orders-admin-key-for-the-e2e-test";
const std::string worker_key = "chr_worker-key-for-the-e2e-test";

std::string keys_config(bool revoke_reader, bool drop_writer) {
  std::string out = "api_keys:\n";
  out += key_entry("reader", reader, "{default: read}", revoke_reader);
  if (!drop_writer) out += key_entry("writer", writer, "{default: write}");
  out += key_entry("admin", admin, "{default: admin}");
  out += key_entry("orders-admin", orders_admin, "{orders: admin}");
  out += key_entry("worker", worker_key, "{'*': write}");
  return out;
}

}  // namespace

TEST_CASE("api keys: http - each role allowed and refused - missing wrong and revoked keys") {
  temp_dir dir;
  auto port = free_port(), http = free_port();
  auto base = "http_port: " + std::to_string(http) + "\n";
  auto cfg = write_node_config(dir.path(), port, base + keys_config(false, false));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  setenv("CHRONICLE_API_KEY", worker_key.c_str(), 1);
  process worker(GREETING_WORKER_BIN, {"--address", "127.0.0.1:" + std::to_string(port)},
                 (dir.path() / "worker.log").string());
  unsetenv("CHRONICLE_API_KEY");
  REQUIRE_MESSAGE(worker.wait_for_output("registered on task queue", 20s), worker.output());
  auto url = "http://127.0.0.1:" + std::to_string(http);

  // read: list, describe, history, result; not start
  CHECK(curl("GET", url + api, reader).status == 200);
  auto refused = curl("POST", url + api, reader, start_body("r1"));
  CHECK(refused.status == 403);
  CHECK(refused.body.find("\"permission_denied\"") != std::string::npos);
  CHECK(refused.body.find("has role read in namespace 'default'; this request needs write")
        != std::string::npos);

  // write: start, signal, cancel and (implied) read; not terminate
  CHECK(curl("POST", url + api, writer, start_body("w1")).status == 201);
  auto result = curl("GET", url + api + "/w1/result?wait=true", writer);
  CHECK(result.status == 200);
  CHECK(result.body.find("Hello, Ann!") != std::string::npos);
  CHECK(curl("GET", url + api + "/w1/history", reader).status == 200);
  CHECK(curl("POST", url + api, writer, start_body("stuck", "nobody-serves-this")).status == 201);
  CHECK(curl("POST", url + api + "/stuck/terminate", writer, "{}").status == 403);

  // admin: terminate; a key that is admin elsewhere is refused here
  CHECK(curl("POST", url + api + "/stuck/terminate", orders_admin, "{}").status == 403);
  CHECK(curl("GET", url + api, orders_admin).status == 403);
  CHECK(curl("POST", url + api + "/stuck/terminate", admin, "{}").status == 200);
  auto described = curl("GET", url + api + "/stuck", admin);
  CHECK(described.body.find("TERMINATED") != std::string::npos);

  // missing and wrong keys: 401 with WWW-Authenticate
  auto missing = curl("GET", url + api, "", {}, {"-D", "-"});
  CHECK(missing.status == 401);
  CHECK(missing.body.find("WWW-Authenticate: Bearer") != std::string::npos);
  CHECK(missing.body.find("\"unauthenticated\"") != std::string::npos);
  CHECK(curl("GET", url + api, "chr_not-a-key-at-all").status == 401);
  CHECK(curl("GET", url + "/api/v1/cluster", "").status == 401);
  CHECK(curl("GET", url + "/api/v1/cluster", reader).status == 200);
  CHECK(curl("GET", url + "/metrics", "").status == 401);
  CHECK(curl("GET", url + "/metrics", reader).status == 200);
  // the web UI's files are public (they hold no data; the UI asks for a key)
  CHECK(curl("GET", url + "/", "").status == 200);
  CHECK(curl("GET", url + "/ui/app.js", "").status == 200);

  // revoked (marked, SIGHUP) and removed (SIGHUP): 401 from the next request on
  write_node_config(dir.path(), port, base + keys_config(true, true));
  REQUIRE(reload(node, "API key(s) in force"));
  auto revoked = curl("GET", url + api, reader);
  CHECK(revoked.status == 401);
  CHECK(revoked.body.find("API key 'reader' is revoked") != std::string::npos);
  CHECK(curl("GET", url + api, writer).status == 401);
  CHECK(curl("GET", url + api, admin).status == 200);

  // a config that does not load keeps the keys in force
  {
    std::ofstream(cfg) << "node: [broken\n";
  }
  REQUIRE(reload(node, "config not reloaded"));
  CHECK(curl("GET", url + api, admin).status == 200);
  CHECK(curl("GET", url + api, reader).status == 401);

  // refusals are logged with the key's name, never the key
  auto log = node.output();
  CHECK(log.find("refused POST /api/v1/namespaces/default/workflows: key reader: API key 'reader' "
                 "has role read")
        != std::string::npos);
  CHECK(log.find("refused GET /api/v1/namespaces/default/workflows: key unknown") != std::string::npos);
  CHECK(log.find("refused GET /api/v1/namespaces/default/workflows: key (none)") != std::string::npos);
  for (auto* k : {&reader, &writer, &admin, &orders_admin}) CHECK(log.find(*k) == std::string::npos);
}

TEST_CASE("api keys: https with a self-signed certificate - reloaded on SIGHUP") {
  temp_dir dir;
  auto make_cert = [&](const std::string& name) {
    auto cert = (dir.path() / (name + ".pem")).string(), key = (dir.path() / (name + ".key")).string();
    std::string out;
    REQUIRE(run("/usr/bin/openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                     "-out", cert, "-days", "2", "-subj", "/CN=" + name,
                                     "-addext", "subjectAltName=IP:127.0.0.1"},
                &out) == 0);
    return std::make_pair(cert, key);
  };
  auto [cert1, key1] = make_cert("first");
  auto [cert2, key2] = make_cert("second");
  auto port = free_port(), http = free_port();
  auto tls = [&](const std::string& cert, const std::string& key) {
    return "http_port: " + std::to_string(http) + "\nhttp_tls:\n  certificate: " + cert
           + "\n  key: " + key + "\n" + keys_config(false, false);
  };
  auto cfg = write_node_config(dir.path(), port, tls(cert1, key1));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  CHECK(node.output().find("serving HTTP on https://127.0.0.1:" + std::to_string(http))
        != std::string::npos);
  auto url = "https://127.0.0.1:" + std::to_string(http) + api;

  CHECK(curl("GET", url, reader, {}, {"--cacert", cert1}).status == 200);
  CHECK(curl("GET", url, "", {}, {"--cacert", cert1}).status == 401);
  CHECK(curl("GET", url, reader, {}, {"--cacert", cert2}).status == 0);  // not the node's cert
  CHECK(curl("GET", "http://127.0.0.1:" + std::to_string(http) + api, reader).status != 200);

  // a new certificate from the next connection on
  write_node_config(dir.path(), port, tls(cert2, key2));
  REQUIRE(reload(node, "certificate reloaded"));
  CHECK(curl("GET", url, reader, {}, {"--cacert", cert2}).status == 200);
  CHECK(curl("GET", url, reader, {}, {"--cacert", cert1}).status == 0);

  // a key that does not match its certificate: the certificate in use stays
  write_node_config(dir.path(), port, tls(cert1, key2));
  REQUIRE(reload(node, "keeping the http_tls certificate in use"));
  CHECK(node.output().find("http_tls key") != std::string::npos);
  CHECK(curl("GET", url, reader, {}, {"--cacert", cert2}).status == 200);
}

TEST_CASE("api keys: the web UI asks for a key and shows no data without one") {
  const std::string chromium = "/usr/bin/chromium";
  REQUIRE_MESSAGE(std::filesystem::exists(chromium), "chromium is not installed (deploy/setup.sh)");
  temp_dir dir;
  auto port = free_port(), http = free_port();
  auto cfg = write_node_config(dir.path(), port,
                               "http_port: " + std::to_string(http) + "\n" + keys_config(false, false));
  process node(CHRONICLE_NODE_BIN, {"--config", cfg}, (dir.path() / "node.log").string());
  REQUIRE_MESSAGE(node.wait_for_output("listening on", 20s), node.output());
  auto url = "http://127.0.0.1:" + std::to_string(http);
  REQUIRE(curl("POST", url + api, writer, start_body("ui-secret-run", "nobody")).status == 201);
  std::string dom;
  run(chromium, {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--user-data-dir=" + (dir.path() / "profile").string(),
                 "--virtual-time-budget=5000", "--dump-dom", url + "/"},
      &dom);
  CHECK_MESSAGE(dom.find("id=\"sign-in\"") != std::string::npos, dom);
  CHECK(dom.find("This node requires an API key") != std::string::npos);
  CHECK(dom.find("ui-secret-run") == std::string::npos);
  CHECK(node.output().find("refused GET /api/v1/namespaces/default/workflows: key (none)")
        != std::string::npos);
  // the UI's metrics page goes through the key too
  run(chromium, {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--user-data-dir=" + (dir.path() / "profile").string(),
                 "--virtual-time-budget=5000", "--dump-dom", url + "/#/metrics"},
      &dom);
  CHECK_MESSAGE(dom.find("id=\"sign-in\"") != std::string::npos, dom);
  CHECK(dom.find("chronicle_workflows_started") == std::string::npos);
  CHECK(node.output().find("refused GET /metrics: key (none)") != std::string::npos);
}

TEST_CASE("api keys: config errors stop the node with one line") {
  temp_dir dir;
  auto port = free_port();
  auto expect = [&](const std::string& extra, const std::string& message) {
    auto cfg = write_node_config(dir.path(), port, extra);
    std::string out;
    CHECK(run(CHRONICLE_NODE_BIN, {"--config", cfg}, &out) == 2);
    CHECK_MESSAGE(out.find(message) != std::string::npos, out);
  };
  expect("api_keys:\n  - {name: a, hash: 'sha256:12', roles: {default: read}}\n",
         "api key 'a': 'hash' must be sha256: and 64 lower-case hex digits");
  expect("api_keys:\n" + key_entry("a", reader, "{default: owner}"),
         "role 'owner' for namespace 'default' is not read, write or admin");
  expect("members:\n  - {name: node1, address: 127.0.0.1:" + std::to_string(port)
           + "}\n  - {name: node2, address: 127.0.0.1:1}\napi_keys:\n"
           + key_entry("a", reader, "{default: read}"),
         "'api_keys' in a cluster of several members needs 'cluster_secret' too");
  expect("http_port: " + std::to_string(free_port()) + "\nhttp_tls: {certificate: /nonexistent.pem, key: /x}\n",
         "http_tls file '/nonexistent.pem' does not exist");
}
