#include "worker/sdk/payload.hpp"

namespace chronicle::sdk {

pb::Payload to_payload(const json& value) {
  pb::Payload payload;
  try {
    payload.set_data(value.dump());
  } catch (const json::exception& e) {
    throw payload_error(std::string("cannot encode value as JSON payload: ") + e.what());
  }
  (*payload.mutable_metadata())[encoding_key] = json_encoding;
  return payload;
}

json from_payload(const pb::Payload& payload) {
  const auto& metadata = payload.metadata();
  auto it = metadata.find(encoding_key);
  if (it != metadata.end() && it->second != json_encoding) {
    if (it->second == null_encoding) return json(nullptr);
    throw payload_error("unsupported payload encoding '" + it->second + "' (expected '" +
                        json_encoding + "')");
  }
  if (payload.data().empty()) return json(nullptr);
  try {
    return json::parse(payload.data());
  } catch (const json::exception& e) {
    throw payload_error(std::string("payload is not valid JSON: ") + e.what());
  }
}

}  // namespace chronicle::sdk
