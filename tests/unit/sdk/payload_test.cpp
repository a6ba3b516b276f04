// Payload conversion: JSON round trip, null handling, encoding and parse errors.
#include <doctest/doctest.h>

#include "worker/sdk/payload.hpp"

using namespace chronicle;
using namespace chronicle::sdk;

TEST_CASE("payload: JSON values round trip with the json/plain encoding") {
  json value = {{"name", "World"}, {"count", 3}, {"tags", {"a", "b"}}, {"nested", {{"x", 1.5}}}};
  pb::Payload payload = to_payload(value);
  CHECK(payload.metadata().at("encoding") == "json/plain");
  CHECK(payload.data() == value.dump());
  CHECK(from_payload(payload) == value);
  CHECK(from_payload(to_payload("text")) == json("text"));
  CHECK(from_payload(to_payload(nullptr)).is_null());
}

TEST_CASE("payload: an empty payload decodes as null") {
  CHECK(from_payload(pb::Payload{}).is_null());
  pb::Payload null_payload;
  (*null_payload.mutable_metadata())["encoding"] = "binary/null";
  CHECK(from_payload(null_payload).is_null());
}

TEST_CASE("payload: a payload without encoding metadata is read as JSON") {
  pb::Payload payload;
  payload.set_data("[1,2]");
  CHECK(from_payload(payload) == json({1, 2}));
}

TEST_CASE("payload: invalid JSON throws payload_error with a clear message") {
  pb::Payload payload = to_payload(1);
  payload.set_data("{not json");
  CHECK_THROWS_AS(from_payload(payload), payload_error);
  try {
    from_payload(payload);
  } catch (const payload_error& e) {
    CHECK(std::string(e.what()).find("payload is not valid JSON") != std::string::npos);
  }
  // payload_error is a std::runtime_error.
  CHECK_THROWS_AS(from_payload(payload), std::runtime_error);
}

TEST_CASE("payload: an unsupported encoding throws payload_error naming it") {
  pb::Payload payload;
  (*payload.mutable_metadata())["encoding"] = "binary/protobuf";
  payload.set_data("xyz");
  CHECK_THROWS_WITH_AS(from_payload(payload),
                       doctest::Contains("unsupported payload encoding 'binary/protobuf'"),
                       payload_error);
}

TEST_CASE("payload: a value that cannot be serialized throws payload_error") {
  json bad = std::string("\xff\xfe");  // invalid UTF-8
  CHECK_THROWS_AS(to_payload(bad), payload_error);
}
