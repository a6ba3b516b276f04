// Loading exported histories: see history_json.hpp for the contract.
#include "worker/sdk/history_json.hpp"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <optional>
#include <sstream>

namespace chronicle::sdk {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

std::string base64(const std::string& in) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(chars[(val >> bits) & 0x3f]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(chars[((val << 8) >> (bits + 8)) & 0x3f]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

// A payload the exports left as protobuf prints it: its data is not JSON.
bool printed_payload(const json& j) {
  if (!j.is_object() || !j.contains("metadata") || !j["metadata"].is_object()) return false;
  for (auto& [key, value] : j.items())
    if ((key != "metadata" && key != "data") || (key == "data" && !value.is_string()))
      return false;
  return true;
}

// The payload carrying `value`, as protobuf's JSON parser reads a Payload.
json printed(const json& value) {
  pb::Payload payload = to_payload(value);
  json metadata = json::object();
  for (auto& [key, bytes] : payload.metadata()) metadata[key] = base64(bytes);
  return json{{"metadata", metadata}, {"data", base64(payload.data())}};
}

void restore(json& j, const Descriptor* desc);

void restore_value(json& j, const Descriptor* desc, bool in_container) {
  if (desc != pb::Payload::descriptor()) return restore(j, desc);
  if (printed_payload(j)) return;
  if (j.is_null() && !in_container) return;  // the HTTP API's empty payload: left unset
  j = printed(j);
}

// Walks the message type and its JSON side by side: every Payload printed as the JSON value it
// carries (by either export) is turned back into a Payload as protobuf prints it.
void restore(json& j, const Descriptor* desc) {
  if (!j.is_object()) return;
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* f = desc->field(i);
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    auto it = j.find(f->name());
    if (it == j.end()) it = j.find(f->json_name());
    if (it == j.end()) continue;
    if (f->is_map()) {
      const FieldDescriptor* value = f->message_type()->map_value();
      if (value->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || !it->is_object()) continue;
      for (auto& [key, v] : it->items()) restore_value(v, value->message_type(), true);
    } else if (f->is_repeated()) {
      if (!it->is_array()) continue;
      for (auto& v : *it) restore_value(v, f->message_type(), true);
    } else {
      restore_value(*it, f->message_type(), false);
    }
  }
}

std::string event_error(size_t index, const json& event, const std::string& why) {
  std::string id;
  for (const char* key : {"eventId", "event_id"})
    if (event.is_object() && event.contains(key)) id = event[key].dump();
  return "event " + std::to_string(index + 1) + (id.empty() ? "" : " (id " + id + ")") + ": " +
         why;
}

// A JSON lines export: one event per line.
std::optional<json> parse_lines(std::string_view text) {
  json events = json::array();
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = json::parse(line, nullptr, false);
    if (event.is_discarded()) return std::nullopt;
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

loaded_history parse_history(std::string_view text) {
  auto document = json::parse(text, nullptr, false);
  if (document.is_discarded()) {
    auto lines = parse_lines(text);
    if (!lines)
      return {{}, {}, "not a history export: neither one JSON document nor JSON lines"};
    document = std::move(*lines);
  }
  return history_from_json(document);
}

loaded_history history_from_json(const json& document) {
  loaded_history out;
  const json* events = &document;
  json single = json::array();
  if (document.is_object() && document.contains("events")) {
    events = &document["events"];
    for (const char* key : {"runId", "run_id"})
      if (document.contains(key) && document[key].is_string()) out.run_id = document[key];
  } else if (document.is_object() && (document.contains("eventType") ||
                                      document.contains("event_type"))) {
    single.push_back(document);  // one line of JSON lines
    events = &single;
  }
  if (!events->is_array())
    return {{}, {}, "not a history export: expected {\"events\": [...]} or an array of events"};
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // an export from a newer server
  for (size_t i = 0; i < events->size(); ++i) {
    json event = (*events)[i];
    if (!event.is_object()) return {{}, {}, event_error(i, event, "not a JSON object")};
    try {
      restore(event, pb::HistoryEvent::descriptor());
    } catch (const std::exception& e) {  // a value to_payload cannot encode
      return {{}, {}, event_error(i, event, e.what())};
    }
    pb::HistoryEvent parsed;
    auto status = google::protobuf::util::JsonStringToMessage(event.dump(), &parsed, options);
    if (!status.ok())
      return {{}, {}, event_error(i, event, std::string(status.message()))};
    out.events.push_back(std::move(parsed));
  }
  return out;
}

loaded_history load_history_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {{}, {}, "cannot read '" + path + "': no such file or not readable"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return {{}, {}, "cannot read '" + path + "': read error"};
  auto loaded = parse_history(text.str());
  if (!loaded.ok()) loaded.error = path + ": " + loaded.error;
  return loaded;
}

}  // namespace chronicle::sdk
