// Routing fields read without a whole decode (peek_token, peek_route) give what the whole decode
// gives, and refuse what it refuses at the top level.
#include <doctest/doctest.h>

#include "protocol/codec.hpp"

namespace chronicle {
namespace {

pb::TaskToken sample_token() {
  pb::TaskToken t;
  t.set_namespace_("ns");
  t.set_workflow_id("order-17");
  t.set_run_id("run-1");
  t.set_scheduled_event_id(5);
  return t;
}

TEST_CASE("the token of a task answer is read as a whole decode reads it") {
  pb::RespondWorkflowTaskCompleted done;
  *done.mutable_token() = sample_token();
  auto* cmd = done.add_commands();
  cmd->mutable_schedule_activity_task()->mutable_activity_type()->set_name("Charge");
  const auto bytes = encode(done);
  pb::TaskToken tok;
  REQUIRE(peek_token(bytes, &tok));
  CHECK(tok.SerializeAsString() == done.token().SerializeAsString());

  // A repeated token merges, as in a whole decode.
  pb::TaskToken later;
  later.set_run_id("run-2");
  const auto twice = bytes + encode([&] {
    pb::RespondWorkflowTaskCompleted m;
    *m.mutable_token() = later;
    return m;
  }());
  pb::RespondWorkflowTaskCompleted whole;
  REQUIRE(whole.ParseFromString(twice));
  REQUIRE(peek_token(twice, &tok));
  CHECK(tok.SerializeAsString() == whole.token().SerializeAsString());
  CHECK(tok.run_id() == "run-2");
  CHECK(tok.workflow_id() == "order-17");

  // No token: an empty one, as a whole decode.
  REQUIRE(peek_token("", &tok));
  CHECK(tok.workflow_id().empty());
}

TEST_CASE("the namespace and workflow ID of a request are read as a whole decode reads them") {
  pb::StartWorkflowRequest start;
  start.set_namespace_("ns");
  start.set_workflow_id("order-17");
  start.set_workflow_type("Order");
  start.mutable_input()->set_data("{}");
  auto bytes = encode(start);
  std::string ns, id;
  REQUIRE(peek_route(bytes, &ns, &id));
  CHECK(ns == "ns");
  CHECK(id == "order-17");
  pb::StartWorkflowRequest again;
  again.set_workflow_id("order-18");
  bytes += encode(again);  // the last string wins
  REQUIRE(peek_route(bytes, &ns, &id));
  CHECK(ns == "ns");
  CHECK(id == "order-18");
}

TEST_CASE("malformed bytes are refused by the routing read") {
  std::string ns, id;
  pb::TaskToken tok;
  const auto bytes = encode([] {
    pb::RespondActivityTaskCompleted m;
    *m.mutable_token() = sample_token();
    m.mutable_result()->set_data("42");
    return m;
  }());
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    const auto part = bytes.substr(0, cut);
    pb::RespondActivityTaskCompleted whole;
    if (!whole.ParseFromString(part)) {
      CHECK_FALSE(peek_token(part, &tok));
    }
  }
  CHECK_FALSE(peek_token(std::string("\x0a\x05\x01", 3), &tok));   // length beyond the end
  CHECK_FALSE(peek_route(std::string("\x00\x01", 2), &ns, &id));    // field number 0
  CHECK_FALSE(peek_route(std::string("\x0f", 1), &ns, &id));        // wire type 7
  CHECK_FALSE(peek_token(std::string("\x0a\x02\xff\xff", 4), &tok));  // token is garbage
  CHECK(peek_route(std::string("\x18\x07", 2), &ns, &id));           // unknown varint: skipped
}

}  // namespace
}  // namespace chronicle
