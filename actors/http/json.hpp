// JSON and URL helpers of the HTTP gateway: protobuf messages to JSON the way an HTTP user wants
// them (payloads as the JSON they carry, 64-bit integers as numbers), JSON bodies to payloads and
// requests, query strings and hex tokens.
#pragma once

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"

namespace chronicle::http {

using json = nlohmann::json;

// The message in protobuf's JSON mapping with proto field names (snake_case), default values
// printed, then: every Payload replaced by the JSON value its data holds (null when empty; left
// as {"metadata", "data" (base64)} when the data is not JSON), and int64/uint64 fields as JSON
// numbers instead of strings (timestamps, IDs and counts stay far below 2^53).
json to_json(const google::protobuf::Message& msg);

// Parses a request body. Empty body: `empty_value`. On failure returns nullopt and sets *error.
// Nesting deeper than 64 levels is refused (the payload travels on to workers).
std::optional<json> parse_body(const std::string& body, const json& empty_value,
                               std::string* error);

// A JSON value as a payload with the SDK's default converter (encoding json/plain).
pb::Payload to_payload(const json& value);

// Fills `msg` from a JSON object in protobuf's JSON mapping (snake_case or lowerCamel names, enum
// names or numbers); `msg` is cleared first. Unknown fields are an error. Returns an empty string
// or the reason.
std::string fill_message(const json& object, google::protobuf::Message* msg);

// Percent-decodes a URL component ('+' stays '+'). nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text);
// Splits "/a/b%2Fc/" into decoded segments {"a", "b/c"}; nullopt on a malformed escape.
std::optional<std::vector<std::string>> split_path(std::string_view path);

// Splits "a=1&b=x%20y" into decoded pairs (a key without '=' maps to ""). nullopt when an escape
// is malformed.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

std::string hex_encode(const std::string& bytes);
// nullopt when `text` is not an even number of hex digits.
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace chronicle::http
