// The namespace registry and the rules of a change (actors/node/namespaces.hpp): what a register
// and an update make or refuse, which of two records wins, and schema references that stay valid.
#include <doctest/doctest.h>

#include "actors/node/namespaces.hpp"

using namespace chronicle;

namespace {

pb::RegisterNamespaceRequest register_request(const std::string& ns) {
  pb::RegisterNamespaceRequest req;
  req.set_namespace_(ns);
  req.set_description("orders");
  (*req.mutable_search_attributes())["CustomerId"] = "keyword";
  return req;
}

}  // namespace

TEST_CASE("namespaces: config namespaces and default are known at version 0") {
  namespace_registry r({"orders"}, {{"billing", {{"Total", pb::INDEXED_VALUE_TYPE_DOUBLE}}}},
                       {{"audit", 1000}});
  for (auto ns : {"default", "orders", "billing", "audit"}) CHECK(r.known(ns));
  CHECK_FALSE(r.known("nowhere"));
  CHECK(r.find("billing")->search_attributes().at("Total") == "double");
  CHECK(r.schema_of("billing").at("Total") == pb::INDEXED_VALUE_TYPE_DOUBLE);
  CHECK(r.retention_of("audit") == 1000);
  CHECK_FALSE(r.retention_of("orders"));
  CHECK(r.find("orders")->version() == 0);
}

TEST_CASE("namespaces: a register makes version 1 and refuses bad names and types") {
  std::string why;
  auto info = registered(register_request("orders"), &why);
  REQUIRE_MESSAGE(info, why);
  CHECK(info->version() == 1);
  CHECK(info->search_attributes().at("CustomerId") == "keyword");
  CHECK_FALSE(registered(register_request("a b"), &why));
  CHECK(why.find("letters, digits") != std::string::npos);
  auto bad_type = register_request("x");
  (*bad_type.mutable_search_attributes())["Amount"] = "money";
  CHECK_FALSE(registered(bad_type, &why));
  CHECK(why.find("type 'money'") != std::string::npos);
  auto builtin = register_request("x");
  (*builtin.mutable_search_attributes())["WorkflowId"] = "keyword";
  CHECK_FALSE(registered(builtin, &why));
  CHECK(why.find("built-in") != std::string::npos);
  auto retention = register_request("x");
  retention.set_retention_ms(-1);
  CHECK_FALSE(registered(retention, &why));
}

TEST_CASE("namespaces: an update adds attributes and keeps what it does not name") {
  std::string why;
  auto info = *registered(register_request("orders"), &why);
  pb::UpdateNamespaceRequest upd;
  upd.set_namespace_("orders");
  upd.set_retention_ms(5000);
  (*upd.mutable_add_search_attributes())["Amount"] = "int";
  auto next = updated(info, upd, &why);
  REQUIRE_MESSAGE(next, why);
  CHECK(next->version() == 2);
  CHECK(next->description() == "orders");
  CHECK(next->retention_ms() == 5000);
  CHECK(next->search_attributes().size() == 2);
  pb::UpdateNamespaceRequest retype;
  (*retype.mutable_add_search_attributes())["CustomerId"] = "int";
  CHECK_FALSE(updated(*next, retype, &why));
  CHECK(why.find("not retyped") != std::string::npos);
  pb::UpdateNamespaceRequest same;
  (*same.mutable_add_search_attributes())["CustomerId"] = "Keyword";  // same type, other spelling
  CHECK(updated(*next, same, &why));
}

TEST_CASE("namespaces: the higher version wins a merge - then the later update") {
  namespace_registry r({}, {}, {});
  std::string why;
  auto v1 = *registered(register_request("orders"), &why);
  v1.set_update_time_ms(100);
  CHECK(r.merge(v1));
  auto v2 = v1;
  v2.set_version(2);
  (*v2.mutable_search_attributes())["Amount"] = "int";
  CHECK(r.merge(v2));
  CHECK_FALSE(r.merge(v1));  // an older record from a peer that missed the change
  CHECK(r.find("orders")->version() == 2);
  auto rival = v2;
  rival.set_update_time_ms(200);
  rival.set_description("later");
  CHECK(r.merge(rival));
  CHECK(r.find("orders")->description() == "later");
}

TEST_CASE("namespaces: a schema reference stays valid after an update replaced it") {
  namespace_registry r({}, {{"orders", {{"CustomerId", pb::INDEXED_VALUE_TYPE_KEYWORD}}}}, {});
  const auto& before = r.schema_of("orders");
  auto info = *r.find("orders");
  info.set_version(1);
  (*info.mutable_search_attributes())["Amount"] = "int";
  REQUIRE(r.merge(info));
  CHECK(before.size() == 1);  // the old schema, still alive
  CHECK(r.schema_of("orders").size() == 2);
  CHECK(r.schema_of("nowhere").empty());
}
