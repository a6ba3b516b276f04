// End-to-end: namespaces as objects of the cluster (chronicle namespace register|describe|update|
// list, HTTP /api/v1/namespaces) against real node processes: a namespace registered and changed
// through one node is seen by every node of 3, a node that was down catches up when it connects,
// and everything survives kill -9 of every node; an unknown namespace is a clear error.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "chromium.hpp"
#include "deployment.hpp"
#include "http_client.hpp"
#include "node_cluster.hpp"

using namespace chronicle;
using namespace chronicle::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Runs the CLI against `address`; returns the exit code, output in *out.
int cli(const std::string& address, std::vector<std::string> args, std::string* out) {
  args.insert(args.begin(), {"--address", address});
  return run(CHRONICLE_CLI_BIN, args, out);
}

// The namespace as node `c` describes it once `pred` holds (asked again until 20 s passed).
template <class Pred>
pb::NamespaceInfo namespace_when(client& c, const std::string& ns, Pred pred, const char* what) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  pb::NamespaceInfo last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto d = c.describe_namespace(ns);
    if (d) {
      last = d->info();
      if (pred(last)) return last;
    }
    std::this_thread::sleep_for(100ms);
  }
  FAIL("timed out waiting until " << what << "; last: " << last.ShortDebugString());
  return last;
}

pb::StartWorkflowRequest start_in(const std::string& ns, const std::string& wid,
                                  const std::string& attr, const json& value) {
  pb::StartWorkflowRequest req;
  req.set_namespace_(ns);
  req.set_workflow_id(wid);
  req.set_workflow_type("Greeting");
  req.set_task_queue("orders-queue");
  (*req.mutable_search_attributes()->mutable_indexed_fields())[attr] = sdk::to_payload(value);
  return req;
}

}  // namespace

TEST_CASE("namespaces: registered through one node - seen by every node of 3 - kept across kill -9 of all") {
  node_cluster cl(8);
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  std::vector<client> c;
  for (size_t i = 0; i < 3; ++i) c.push_back(cl.connect(i));
  cl.wait_all_up(0);

  // An unknown namespace is a clear error for a start and a list.
  auto unknown = c[1].start(start_in("nowhere", "n-1", "CustomerId", "c-1"));
  REQUIRE_FALSE(unknown);
  CHECK_MESSAGE(error_text(unknown.error()).find("namespace 'nowhere' is not registered")
                  != std::string::npos,
                error_text(unknown.error()));
  std::string out;
  CHECK(cli(cl.address(2), {"-n", "nowhere", "workflow", "list"}, &out) == 1);
  CHECK_MESSAGE(out.find("namespace 'nowhere' is not registered") != std::string::npos, out);

  REQUIRE_MESSAGE(cli(cl.address(0), {"namespace", "register", "orders", "--description",
                                      "order flows", "--retention", "3d", "--search-attribute",
                                      "CustomerId=keyword"},
                      &out) == 0,
                  out);
  CHECK(cli(cl.address(1), {"namespace", "register", "orders"}, &out) == 1);
  CHECK_MESSAGE(out.find("already registered") != std::string::npos, out);
  CHECK(cli(cl.address(1), {"namespace", "register", "bad", "--search-attribute", "X=money"},
            &out) == 1);
  CHECK_MESSAGE(out.find("type 'money'") != std::string::npos, out);
  for (auto& one : c) {
    auto info = namespace_when(one, "orders", [](auto& i) { return i.version() == 1; },
                               "orders is registered");
    CHECK(info.description() == "order flows");
    CHECK(info.retention_ms() == 3 * 86'400'000LL);
    CHECK(info.search_attributes().at("CustomerId") == "keyword");
  }
  auto started = c[2].start(start_in("orders", "o-1", "CustomerId", "c-42"));
  CHECK_MESSAGE(started, error_text(started.error()));
  auto not_yet = c[2].start(start_in("orders", "o-2", "Amount", 5));
  REQUIRE_FALSE(not_yet);
  CHECK(error_text(not_yet.error()).find("Amount") != std::string::npos);

  // node3 is down while an attribute is added through node2: it gets the change when it is back.
  cl.nodes[2].kill9();
  REQUIRE_MESSAGE(cli(cl.address(1), {"-o", "json", "namespace", "update", "orders",
                                      "--add-search-attribute", "Amount=int"},
                      &out) == 0,
                  out);
  auto changed = json::parse(out, nullptr, false);
  REQUIRE_MESSAGE(changed.is_object(), out);
  CHECK(changed["info"]["version"] == "2");  // (protobuf's JSON mapping: int64 as a string)
  CHECK(changed["notStoredOn"] == json::array({"node3"}));
  cl.start(2);
  c[2] = cl.connect(2);
  namespace_when(c[2], "orders", [](auto& i) { return i.search_attributes().count("Amount") > 0; },
                 "node3 caught up with the added attribute");

  // kill -9 of every node: each one still has both attributes after its restart.
  for (auto& n : cl.nodes) n.kill9();
  for (size_t i = 0; i < 3; ++i) cl.start(i);
  for (size_t i = 0; i < 3; ++i) c[i] = cl.connect(i);
  cl.wait_all_up(0);
  for (auto& one : c) {
    auto d = one.describe_namespace("orders");
    REQUIRE_MESSAGE(d, error_text(d.error()));
    CHECK(d->info().version() == 2);
    CHECK(d->info().search_attributes().at("CustomerId") == "keyword");
    CHECK(d->info().search_attributes().at("Amount") == "int");
  }
  auto with_amount = c[0].start(start_in("orders", "o-3", "Amount", 5));
  CHECK_MESSAGE(with_amount, error_text(with_amount.error()));
  REQUIRE(cli(cl.address(1), {"namespace", "list"}, &out) == 0);
  CHECK_MESSAGE(out.find("default") != std::string::npos, out);
  CHECK_MESSAGE(out.find("orders") != std::string::npos, out);
}

TEST_CASE("namespaces over HTTP: register - describe - update - list and their errors") {
  auto http = free_port();
  single_node d("http_port: " + std::to_string(http) + "\n");
  d.start_node();
  const std::string base = "/api/v1/namespaces";
  auto reg = http_post(http, base, R"({"namespace":"billing","description":"invoices",)"
                                   R"("search_attributes":{"InvoiceId":"keyword"}})");
  REQUIRE_MESSAGE(reg.status == 201, reg.body);
  CHECK(reg.body_json()["info"]["version"] == 1);
  CHECK(http_post(http, base, R"({"namespace":"billing"})").status == 409);
  auto bad = http_post(http, base, R"({"namespace":"b2","search_attributes":{"X":"money"}})");
  CHECK(bad.status == 400);
  CHECK(http_post(http, base, R"({"namespace":"b3","colour":"red"})").status == 400);
  auto got = http_get(http, base + "/billing");
  REQUIRE(got.status == 200);
  CHECK(got.body_json()["info"]["search_attributes"]["InvoiceId"] == "keyword");
  CHECK(http_get(http, base + "/nowhere").status == 404);
  auto upd = http_post(http, base + "/billing/update",
                       R"({"retention_ms":3600000,"add_search_attributes":{"Total":"double"}})");
  REQUIRE_MESSAGE(upd.status == 200, upd.body);
  CHECK(upd.body_json()["info"]["retention_ms"] == 3600000);
  CHECK(upd.body_json()["info"]["description"] == "invoices");
  auto retype = http_post(http, base + "/billing/update",
                          R"({"add_search_attributes":{"Total":"int"}})");
  CHECK(retype.status == 400);
  CHECK_MESSAGE(retype.body.find("not retyped") != std::string::npos, retype.body);
  CHECK(http_post(http, base + "/nowhere/update", R"({"description":"x"})").status == 404);
  auto list = http_get(http, base);
  REQUIRE(list.status == 200);
  CHECK(list.body_json()["namespaces"].size() == 2);  // billing and default
  // The namespace's schema is in force at once: a start with the added attribute is taken.
  auto start = http_post(http, base + "/billing/workflows",
                         R"({"workflow_id":"inv-1","workflow_type":"Greeting","task_queue":"q",)"
                         R"("search_attributes":{"Total":12.5}})");
  CHECK_MESSAGE(start.status == 201, start.body);
  // The web UI's cluster page lists the namespaces.
  auto chromium = find_chromium();
  REQUIRE_MESSAGE(!chromium.empty(), "chromium is not installed: this test needs it");
  auto page = render(chromium, d.dir.path() / "chromium-profile",
                     "http://127.0.0.1:" + std::to_string(http) + "/#/cluster");
  CHECK_MESSAGE(contains(page, R"(id="namespaces")"), page);
  CHECK_MESSAGE(contains(page, "<td>invoices</td>"), page);
  CHECK_MESSAGE(contains(page, "InvoiceId keyword, Total double"), page);
  // ... with the forms that register one and change one (the same requests as above).
  CHECK_MESSAGE(contains(page, R"(id="namespace-register")"), page);
  CHECK_MESSAGE(contains(page, R"(<option value="billing">billing</option>)"), page);
  CHECK_MESSAGE(contains(page, R"(<option value="keyword_list">keyword_list</option>)"), page);
  auto unknown = http_post(http, base + "/nowhere/workflows",
                           R"({"workflow_id":"x","workflow_type":"Greeting","task_queue":"q"})");
  CHECK(unknown.status == 400);
  CHECK_MESSAGE(unknown.body.find("not registered") != std::string::npos, unknown.body);
}
