// decide for search attributes and the memo: the UpsertWorkflowSearchAttributes and
// ModifyWorkflowProperties commands of a completed workflow task (Temporal's), checked against the
// namespace's schema, recorded as events that apply() merges into the run's state. See decide.hpp.
#include "protocol/search_attributes.hpp"
#include "shards/transition_builder.hpp"

namespace chronicle::detail {

std::string check_search_commands(const std::vector<pb::Command>& commands,
                                  const search::schema* schema, size_t* index,
                                  pb::WorkflowTaskFailedCause* cause) {
  static const search::schema none;
  for (size_t i = 0; i < commands.size(); ++i) {
    *index = i;
    const auto& c = commands[i];
    if (c.has_upsert_workflow_search_attributes()) {
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES;
      const auto& sa = c.upsert_workflow_search_attributes().search_attributes();
      if (sa.indexed_fields().empty())
        return "UpsertWorkflowSearchAttributes without any search attribute";
      if (auto why = search::check(sa, schema ? *schema : none, true); !why.empty())
        return "UpsertWorkflowSearchAttributes: " + why;
    } else if (c.has_modify_workflow_properties()) {
      *cause = pb::WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES;
      const auto& memo = c.modify_workflow_properties().upserted_memo();
      if (memo.fields().empty()) return "ModifyWorkflowProperties without any memo field";
      if (auto why = search::check_memo(memo); !why.empty())
        return "ModifyWorkflowProperties: " + why;
    }
  }
  return {};
}

void upsert_search_attributes(builder& b,
                              const pb::UpsertWorkflowSearchAttributesCommandAttributes& ca,
                              int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
              .mutable_upsert_workflow_search_attributes();
  *a->mutable_search_attributes() = ca.search_attributes();
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
}

void modify_workflow_properties(builder& b,
                                const pb::ModifyWorkflowPropertiesCommandAttributes& ca,
                                int64_t completed_id) {
  auto* a = b.add(pb::EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED).mutable_workflow_properties_modified();
  *a->mutable_upserted_memo() = ca.upserted_memo();
  a->set_workflow_task_completed_event_id(completed_id);
  b.commit();
}

void apply_search_event(pb::MutableState& state, const pb::HistoryEvent& ev) {
  if (ev.has_upsert_workflow_search_attributes())
    search::merge(*state.mutable_search_attributes(),
                  ev.upsert_workflow_search_attributes().search_attributes());
  else if (ev.has_workflow_properties_modified())
    search::merge(*state.mutable_memo(), ev.workflow_properties_modified().upserted_memo());
}

}  // namespace chronicle::detail
