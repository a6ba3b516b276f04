// Search attribute typing against a namespace's schema, upsert merges, RFC 3339 times
// (protocol/search_attributes.hpp).
#include <doctest/doctest.h>

#include "protocol/search_attributes.hpp"

namespace chronicle::search {
namespace {

pb::Payload json(const std::string& text) {
  pb::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(text);
  return p;
}

const schema ns_schema = {{"CustomerId", pb::INDEXED_VALUE_TYPE_KEYWORD},
                          {"Amount", pb::INDEXED_VALUE_TYPE_INT},
                          {"DueAt", pb::INDEXED_VALUE_TYPE_DATETIME},
                          {"Tags", pb::INDEXED_VALUE_TYPE_KEYWORD_LIST}};

TEST_CASE("search attributes: values of the registered type pass and are typed") {
  pb::SearchAttributes sa;
  (*sa.mutable_indexed_fields())["CustomerId"] = json("\"c-42\"");
  (*sa.mutable_indexed_fields())["Amount"] = json("42");
  (*sa.mutable_indexed_fields())["DueAt"] = json("\"2026-12-01T00:00:00Z\"");
  (*sa.mutable_indexed_fields())["Tags"] = json("[\"a\", \"b\"]");
  CHECK(check(sa, ns_schema, false).empty());
  google::protobuf::Map<std::string, pb::SearchAttributeValue> typed_values;
  put_typed(sa, ns_schema, &typed_values);
  CHECK(typed_values["CustomerId"].keyword() == "c-42");
  CHECK(typed_values["Amount"].int_value() == 42);
  CHECK(typed_values["DueAt"].datetime_ms() == 1'796'083'200'000);
  CHECK(typed_values["Tags"].keyword_list().values_size() == 2);
}

TEST_CASE("search attributes: an unknown name or a wrong type is an error naming the attribute") {
  pb::SearchAttributes sa;
  (*sa.mutable_indexed_fields())["Customer"] = json("\"c-42\"");
  auto err = check(sa, ns_schema, false);
  CHECK(err.find("'Customer' is not registered") != std::string::npos);
  CHECK(err.find("CustomerId") != std::string::npos);
  pb::SearchAttributes wrong;
  (*wrong.mutable_indexed_fields())["Amount"] = json("\"ten\"");
  err = check(wrong, ns_schema, false);
  CHECK(err.find("'Amount' must be an integer") != std::string::npos);
  pb::SearchAttributes null_value;
  (*null_value.mutable_indexed_fields())["Amount"] = json("null");
  CHECK_FALSE(check(null_value, ns_schema, false).empty());
  CHECK(check(null_value, ns_schema, true).empty());  // an upsert's removal
}

TEST_CASE("search attributes: an upsert replaces and a null removes") {
  pb::SearchAttributes have;
  (*have.mutable_indexed_fields())["CustomerId"] = json("\"c-1\"");
  (*have.mutable_indexed_fields())["Amount"] = json("1");
  pb::SearchAttributes upsert;
  (*upsert.mutable_indexed_fields())["CustomerId"] = json("\"c-2\"");
  (*upsert.mutable_indexed_fields())["Amount"] = json("null");
  merge(have, upsert);
  CHECK(have.indexed_fields().size() == 1);
  CHECK(have.indexed_fields().at("CustomerId").data() == "\"c-2\"");
}

TEST_CASE("search attributes: RFC 3339 times with zones and fractions") {
  CHECK(parse_time("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_time("1970-01-01T01:00:00.250+01:00") == 250);
  CHECK(parse_time("2026-12-01") == 1'796'083'200'000);
  CHECK(format_time(1'796'083'200'000) == "2026-12-01T00:00:00.000Z");
  CHECK_FALSE(parse_time("2026-12-01T00:00:00").has_value());  // no zone
  CHECK_FALSE(parse_time("2026-13-01").has_value());
  CHECK_FALSE(parse_time("yesterday").has_value());
}

}  // namespace
}  // namespace chronicle::search
