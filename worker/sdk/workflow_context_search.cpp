// workflow_context: search attributes and memo upserted by workflow code (the commands; replay
// matches them with their events in replay_machine.cpp).
#include "worker/sdk/payload.hpp"
#include "worker/sdk/workflow_context.hpp"

namespace chronicle::sdk {

namespace {

void check_fields(const json& fields, const char* what) {
  if (!fields.is_object() || fields.empty())
    throw std::invalid_argument(std::string(what) + " needs a non-empty JSON object");
}

}  // namespace

void workflow_context::upsert_search_attributes(const json& fields) {
  check_fields(fields, "upsert_search_attributes");
  pb::Command command;
  auto* sa = command.mutable_upsert_workflow_search_attributes()->mutable_search_attributes();
  for (const auto& [name, value] : fields.items()) (*sa->mutable_indexed_fields())[name] = to_payload(value);
  add_command(std::move(command), nullptr);
}

void workflow_context::upsert_memo(const json& fields) {
  check_fields(fields, "upsert_memo");
  pb::Command command;
  auto* memo = command.mutable_modify_workflow_properties()->mutable_upserted_memo();
  for (const auto& [name, value] : fields.items()) (*memo->mutable_fields())[name] = to_payload(value);
  add_command(std::move(command), nullptr);
}

}  // namespace chronicle::sdk
