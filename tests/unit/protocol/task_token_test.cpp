#include <doctest/doctest.h>

#include "protocol/task_token.hpp"

using namespace chronicle;

namespace {

pb::TaskToken sample_token() {
  pb::TaskToken t;
  t.set_namespace_("default");
  t.set_workflow_id("order-42");
  t.set_run_id("3f1c2a9e-0000-4000-8000-000000000001");
  t.set_scheduled_event_id(5);
  t.set_attempt(2);
  return t;
}

}  // namespace

TEST_CASE("task token text round-trips and is URL-safe") {
  auto text = task_token_text(sample_token());
  CHECK(text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        == std::string::npos);
  pb::TaskToken back;
  CHECK(parse_task_token(text, &back) == "");
  CHECK(back.SerializeAsString() == sample_token().SerializeAsString());
}

TEST_CASE("task token text that is not one is refused with a reason") {
  pb::TaskToken t;
  CHECK(parse_task_token("", &t) == "the task token is empty");
  CHECK(parse_task_token("abc$def", &t) == "the task token is not base64url text");
  CHECK(parse_task_token("A", &t) == "the task token is not base64url text");
  // Valid base64url of bytes that are no TaskToken (a field of a wrong wire type).
  CHECK(parse_task_token("____", &t) == "the task token does not decode");
  pb::TaskToken partial = sample_token();
  partial.set_attempt(0);
  CHECK(parse_task_token(task_token_text(partial), &t)
        == "the task token does not name an activity attempt");
}
