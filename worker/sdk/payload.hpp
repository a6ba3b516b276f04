// JSON payload conversion: the default data converter of the SDK (as Temporal's "json/plain").
//
// Contract:
//  - to_payload(v) sets metadata["encoding"] = "json/plain" and data = v.dump(); it throws
//    payload_error when v cannot be serialized (e.g. a string holding invalid UTF-8).
//  - from_payload(p) returns json(nullptr) for an empty payload (no data) and for the
//    "binary/null" encoding; otherwise it parses data as JSON. A payload without an "encoding"
//    entry is read as "json/plain". Any other encoding, or data that is not valid JSON, throws
//    payload_error with a message saying what is wrong.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "protocol/messages.hpp"

namespace chronicle::sdk {

using json = nlohmann::json;

// The metadata key and values used by the converter.
inline constexpr const char* encoding_key = "encoding";
inline constexpr const char* json_encoding = "json/plain";
inline constexpr const char* null_encoding = "binary/null";

// A payload could not be encoded or decoded.
class payload_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

pb::Payload to_payload(const json& value);
json from_payload(const pb::Payload& payload);

}  // namespace chronicle::sdk
