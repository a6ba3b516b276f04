// markers: see markers.hpp for the contract.
#include "worker/sdk/markers.hpp"

#include "worker/sdk/local_activity.hpp"

namespace chronicle::sdk::detail {

namespace {

template <class Details>
json detail_json(const Details& details, const std::string& key) {
  auto it = details.find(key);
  if (it == details.end()) return nullptr;
  try {
    return from_payload(it->second);
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

pb::Command patch_marker(const std::string& patch_id, bool deprecated) {
  pb::Command command;
  auto* m = command.mutable_record_marker();
  m->set_marker_name(patch_marker_name);
  (*m->mutable_details())["patch_id"] = to_payload(patch_id);
  (*m->mutable_details())["deprecated"] = to_payload(deprecated);
  return command;
}

pb::Command side_effect_marker(int64_t side_effect_id, const pb::Payload& data) {
  pb::Command command;
  auto* m = command.mutable_record_marker();
  m->set_marker_name(side_effect_marker_name);
  (*m->mutable_details())["side_effect_id"] = to_payload(side_effect_id);
  (*m->mutable_details())["data"] = data;
  return command;
}

std::string patch_id_of(const pb::MarkerRecordedEventAttributes& marker) {
  json id = detail_json(marker.details(), "patch_id");
  return id.is_string() ? id.get<std::string>() : std::string{};
}

int64_t side_effect_id_of(const pb::MarkerRecordedEventAttributes& marker) {
  json id = detail_json(marker.details(), "side_effect_id");
  return id.is_number_integer() ? id.get<int64_t>() : 0;
}

bool same_marker(const pb::MarkerRecordedEventAttributes& event,
                 const pb::RecordMarkerCommandAttributes& command) {
  if (event.marker_name() != command.marker_name()) return false;
  if (event.marker_name() == patch_marker_name)
    return detail_json(event.details(), "patch_id") == detail_json(command.details(), "patch_id");
  if (event.marker_name() == local_activity_marker_name)  // the same attempt of the same one
    return detail_json(event.details(), "activity_id") ==
               detail_json(command.details(), "activity_id") &&
           detail_json(event.details(), "attempt") == detail_json(command.details(), "attempt");
  if (event.marker_name() == side_effect_marker_name)
    return detail_json(event.details(), "side_effect_id") ==
           detail_json(command.details(), "side_effect_id");
  if (event.details_size() != command.details_size()) return false;
  for (const auto& [key, value] : command.details()) {
    auto it = event.details().find(key);
    if (it == event.details().end() || it->second.SerializeAsString() != value.SerializeAsString())
      return false;
  }
  return true;
}

}  // namespace chronicle::sdk::detail
