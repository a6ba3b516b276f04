// markers: the RecordMarker commands the SDK writes and how it reads them back from history.
// Internal to the SDK (namespace detail).
//
// Contract:
//  - Patch markers (Temporal core's shape): marker name "core_patch", details "patch_id" (JSON
//    string) and "deprecated" (JSON bool).
//  - Side-effect markers: marker name "SideEffect", details "side_effect_id" (JSON number, 1, 2,
//    ... in call order per run) and "data" (the recorded result payload).
//  - marker_key(name, details) is what two markers must share to be "the same" on replay:
//    the name plus the patch ID, side-effect ID or local activity ID and attempt ("" for other
//    markers: then name and all details must be equal). LocalActivity markers: local_activity.hpp.
#pragma once

#include <cstdint>
#include <string>

#include "protocol/messages.hpp"
#include "worker/sdk/payload.hpp"

namespace chronicle::sdk::detail {

inline constexpr const char* patch_marker_name = "core_patch";
inline constexpr const char* side_effect_marker_name = "SideEffect";

pb::Command patch_marker(const std::string& patch_id, bool deprecated);
pb::Command side_effect_marker(int64_t side_effect_id, const pb::Payload& data);

// The patch ID of a core_patch marker ("" when absent or not JSON).
std::string patch_id_of(const pb::MarkerRecordedEventAttributes& marker);
// The side-effect ID of a SideEffect marker (0 when absent or not JSON).
int64_t side_effect_id_of(const pb::MarkerRecordedEventAttributes& marker);

// True when the recorded marker is the one the command records (see the contract).
bool same_marker(const pb::MarkerRecordedEventAttributes& event,
                 const pb::RecordMarkerCommandAttributes& command);

}  // namespace chronicle::sdk::detail
