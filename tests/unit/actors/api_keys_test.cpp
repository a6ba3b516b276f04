// The API key table: parsing (every mistake named in one line), role resolution per namespace,
// the access decision and the HTTP endpoints' requirements.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include "actors/http/auth.hpp"
#include "actors/node/api_keys.hpp"
#include "actors/node/client_keys.hpp"

using namespace chronicle;

namespace {

const std::string key_a = "chr_first-test-key";
const std::string key_b = "chr_second-test-key";

std::optional<key_table> parse(const std::string& yaml, std::string* error) {
  return parse_key_table(YAML::Load(yaml), error);
}

std::string entry(const std::string& name, const std::string& key, const std::string& roles,
                  const std::string& extra = "") {
  return "- {name: " + name + ", hash: 'sha256:" + sha256_hex(key) + "', roles: " + roles + extra
         + "}\n";
}

std::string parse_error(const std::string& yaml) {
  std::string error;
  auto table = parse(yaml, &error);
  CHECK_FALSE(table);
  return error;
}

}  // namespace

TEST_CASE("api keys: sha256 of a known text") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("api keys: new keys are random and long") {
  auto a = new_api_key(), b = new_api_key();
  CHECK(a.rfind("chr_", 0) == 0);
  CHECK(a.size() == 4 + 43);
  CHECK(a != b);
}

TEST_CASE("api keys: a table parses and finds keys by their hash") {
  std::string error;
  auto table = parse(entry("ops", key_a, "{'*': admin}") + entry("app", key_b, "{orders: write}"),
                     &error);
  REQUIRE_MESSAGE(table, error);
  REQUIRE(table->keys.size() == 2);
  REQUIRE(table->find(key_a));
  CHECK(table->find(key_a)->name == "ops");
  CHECK(table->find(key_b)->name == "app");
  CHECK(table->find("chr_not-a-key") == nullptr);
  CHECK(table->find("") == nullptr);
}

TEST_CASE("api keys: parse errors name the entry and the problem") {
  CHECK(parse_error("{name: x}").find("must be a list") != std::string::npos);
  CHECK(parse_error("- {hash: 'sha256:00', roles: {a: read}}").find("entry 1 needs a 'name'")
        != std::string::npos);
  CHECK(parse_error("- {name: x, roles: {a: read}}").find("'x' needs a 'hash'") != std::string::npos);
  CHECK(parse_error("- {name: x, hash: 'md5:abc', roles: {a: read}}").find("sha256:")
        != std::string::npos);
  CHECK(parse_error("- {name: x, hash: 'sha256:" + std::string(64, 'A') + "', roles: {a: read}}")
          .find("lower-case hex") != std::string::npos);
  CHECK(parse_error(entry("x", key_a, "{}")).find("needs 'roles'") != std::string::npos);
  CHECK(parse_error(entry("x", key_a, "{a: owner}")).find("role 'owner' for namespace 'a'")
        != std::string::npos);
  CHECK(parse_error(entry("x", key_a, "{a: read}", ", color: red")).find("unknown key 'color'")
        != std::string::npos);
  CHECK(parse_error(entry("x", key_a, "{a: read}", ", revoked: perhaps")).find("'revoked' must be")
        != std::string::npos);
  CHECK(parse_error(entry("x", key_a, "{a: read}") + entry("x", key_b, "{a: read}"))
          .find("'x' is listed twice") != std::string::npos);
  CHECK(parse_error(entry("x", key_a, "{a: read}") + entry("y", key_a, "{a: read}"))
          .find("'y' has the hash of another key") != std::string::npos);
}

TEST_CASE("api keys: a namespace entry wins over the wildcard") {
  std::string error;
  auto table = parse(entry("k", key_a, "{'*': read, orders: admin, audit: read}"), &error);
  REQUIRE(table);
  auto& k = table->keys[0];
  CHECK(k.role_in("orders") == role::admin);
  CHECK(k.role_in("billing") == role::read);
  CHECK(k.best_role() == role::admin);
  auto narrow = parse(entry("n", key_b, "{orders: write}"), &error);
  REQUIRE(narrow);
  CHECK(narrow->keys[0].role_in("billing") == role::none);
}

TEST_CASE("api keys: admin implies write implies read") {
  std::string error;
  auto table = parse(entry("r", "kr", "{ns: read}") + entry("w", "kw", "{ns: write}")
                       + entry("a", "ka", "{ns: admin}"),
                     &error);
  REQUIRE(table);
  auto allowed = [&](const std::string& key, role needed) {
    return check_access(*table, key, "ns", needed).ok();
  };
  CHECK(allowed("kr", role::read));
  CHECK_FALSE(allowed("kr", role::write));
  CHECK(allowed("kw", role::read));
  CHECK(allowed("kw", role::write));
  CHECK_FALSE(allowed("kw", role::admin));
  CHECK(allowed("ka", role::admin));
  auto refused = check_access(*table, std::string("kw"), "ns", role::admin);
  CHECK(refused.result == access::verdict::forbidden);
  CHECK(refused.message == "API key 'w' has role write in namespace 'ns'; this request needs admin");
  CHECK(refused.message.find("kw") == std::string::npos);
}

TEST_CASE("api keys: missing wrong and revoked keys are unauthenticated") {
  std::string error;
  auto table = parse(entry("gone", key_a, "{'*': admin}", ", revoked: true"), &error);
  REQUIRE(table);
  auto missing = check_access(*table, std::nullopt, "ns", role::read);
  CHECK(missing.result == access::verdict::unauthenticated);
  CHECK(missing.key_name.empty());
  auto wrong = check_access(*table, std::string("chr_wrong"), "ns", role::read);
  CHECK(wrong.result == access::verdict::unauthenticated);
  CHECK(wrong.key_name == "unknown");
  auto revoked = check_access(*table, key_a, "ns", role::read);
  CHECK(revoked.result == access::verdict::unauthenticated);
  CHECK(revoked.message == "API key 'gone' is revoked");
}

TEST_CASE("api keys: an empty table lets everything through") {
  key_table open;
  CHECK(check_access(open, std::nullopt, "ns", role::admin).ok());
}

TEST_CASE("api keys: a request about no namespace needs any valid key") {
  std::string error;
  auto table = parse(entry("r", key_a, "{orders: read}"), &error);
  REQUIRE(table);
  CHECK(check_access(*table, key_a, "", role::read).ok());
  CHECK_FALSE(check_access(*table, std::nullopt, "", role::read).ok());
}

TEST_CASE("api keys: the role each HTTP endpoint needs") {
  using http::required_access;
  const std::string wf = "/api/v1/namespaces/orders/workflows";
  auto need = [&](const char* method, const std::string& target) {
    auto r = required_access(method, target);
    return r.open ? std::string("open") : r.ns + ":" + role_name(r.needed);
  };
  CHECK(need("GET", "/") == "open");
  CHECK(need("GET", "/ui/app.js") == "open");
  CHECK(need("GET", "/metrics") == ":read");
  CHECK(need("GET", "/api/v1/cluster") == ":read");
  CHECK(need("GET", "/nowhere") == ":read");
  CHECK(need("GET", wf + "?status=running") == "orders:read");
  CHECK(need("POST", wf) == "orders:write");
  CHECK(need("GET", wf + "/w1") == "orders:read");
  CHECK(need("GET", wf + "/w1/history") == "orders:read");
  CHECK(need("GET", wf + "/w1/result?wait=true") == "orders:read");
  CHECK(need("POST", wf + "/w1/query/state") == "orders:read");
  CHECK(need("POST", wf + "/w1/signal/go") == "orders:write");
  CHECK(need("POST", wf + "/w1/cancel") == "orders:write");
  CHECK(need("POST", wf + "/w1/terminate") == "orders:admin");
  CHECK(need("POST", wf + "/w1/reset") == "orders:admin");
  CHECK(need("DELETE", wf + "/w1") == "orders:admin");
  CHECK(need("POST", wf + "/w1/pause") == "orders:admin");
  CHECK(need("POST", wf + "/w1/unpause") == "orders:admin");
  CHECK(need("GET", "/api/v1/namespaces/a%2Fb/workflows") == "a/b:read");
  CHECK(need("GET", "/api/v1/namespaces/orders/task-queues/q") == "orders:read");
  CHECK(need("GET", "/api/v1/namespaces/orders/task-queues/q/config") == "orders:read");
  CHECK(need("PUT", "/api/v1/namespaces/orders/task-queues/q/config") == "orders:admin");
  CHECK(need("GET", "/api/v1/namespaces") == ":read");
  CHECK(need("POST", "/api/v1/namespaces") == "*:admin");
  CHECK(need("GET", "/api/v1/namespaces/orders") == "orders:read");
  CHECK(need("POST", "/api/v1/namespaces/orders/update") == "orders:admin");
  const std::string sched = "/api/v1/namespaces/orders/schedules";
  CHECK(need("GET", sched) == "orders:read");
  CHECK(need("GET", sched + "/s1") == "orders:read");
  CHECK(need("POST", sched) == "orders:admin");
  CHECK(need("POST", sched + "/s1/trigger") == "orders:admin");
  CHECK(need("DELETE", sched + "/s1") == "orders:admin");
  const std::string batches = "/api/v1/namespaces/orders/batches";
  CHECK(need("GET", batches) == "orders:read");
  CHECK(need("GET", batches + "/b1") == "orders:read");
  CHECK(need("POST", batches) == "orders:admin");
  CHECK(need("POST", batches + "/b1/stop") == "orders:admin");
}

TEST_CASE("api keys: the bearer key of an Authorization header") {
  CHECK(http::bearer_key("Bearer chr_x") == std::optional<std::string>("chr_x"));
  CHECK(http::bearer_key("bearer   chr_x ") == std::optional<std::string>("chr_x"));
  CHECK_FALSE(http::bearer_key("Basic dXNlcjpwdw=="));
  CHECK_FALSE(http::bearer_key("Bearer "));
  CHECK_FALSE(http::bearer_key(""));
}

TEST_CASE("api keys: the namespace of a client request is read from field 1") {
  pb::StartWorkflowRequest start;
  start.set_namespace_("orders");
  start.set_workflow_id("w1");
  CHECK(peek_namespace(encode(start)) == "orders");
  pb::ListWorkflowsRequest list;
  list.set_status(pb::WORKFLOW_EXECUTION_STATUS_RUNNING);
  list.set_namespace_("billing");
  CHECK(peek_namespace(encode(list)) == "billing");
  pb::DescribeWorkflowRequest unnamed;
  unnamed.set_workflow_id("w1");
  CHECK(peek_namespace(encode(unnamed)) == "");
  pb::ClusterStatusRequest cluster;
  cluster.set_with_shards(true);
  CHECK(peek_namespace(encode(cluster)) == "");
  CHECK(peek_namespace(std::string("\x0a\xff\xff\xff\xff\x0f", 6)) == "");
}
