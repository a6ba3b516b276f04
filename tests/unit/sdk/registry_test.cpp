// registry and errors: registration rules, lookups, failures.
#include <doctest/doctest.h>

#include "worker/sdk/errors.hpp"
#include "worker/sdk/registry.hpp"

using namespace chronicle;
using namespace chronicle::sdk;

namespace {
task<json> noop(workflow_context&, json) { co_return nullptr; }
json echo(const activity_info&, const json& input) { return input; }
}  // namespace

TEST_CASE("registry: register - find and list") {
  registry reg;
  reg.register_workflow("B", noop);
  reg.register_workflow("A", noop);
  reg.register_activity("Echo", echo);
  CHECK(reg.find_workflow("A") != nullptr);
  CHECK(reg.find_workflow("C") == nullptr);
  CHECK(reg.find_activity("Echo") != nullptr);
  CHECK(reg.find_activity("A") == nullptr);
  CHECK(reg.workflow_names() == std::vector<std::string>{"A", "B"});
  CHECK(reg.activity_names() == std::vector<std::string>{"Echo"});
}

TEST_CASE("registry: duplicates - empty names and empty functions are rejected") {
  registry reg;
  reg.register_workflow("A", noop);
  CHECK_THROWS_AS(reg.register_workflow("A", noop), std::invalid_argument);
  CHECK_THROWS_AS(reg.register_workflow("", noop), std::invalid_argument);
  CHECK_THROWS_AS(reg.register_activity("X", activity_fn{}), std::invalid_argument);
}

TEST_CASE("errors: application_error and activity_failure") {
  application_error error("ValueError", "bad value", true);
  CHECK(error.type() == "ValueError");
  CHECK(std::string(error.what()) == "bad value");
  auto failure = error.to_failure();
  CHECK(failure.type() == "ValueError");
  CHECK(failure.message() == "bad value");
  CHECK(failure.non_retryable());
  CHECK(failure.source() == "worker");

  pb::Failure recorded;
  recorded.set_type("Timeout");
  recorded.set_message("took too long");
  recorded.set_stack_trace("trace");
  activity_failure af(recorded);
  CHECK(af.type() == "Timeout");
  CHECK(af.failure().stack_trace() == "trace");
  const application_error& base = af;
  CHECK(base.to_failure().message() == "took too long");
}
