#include "actors/http/json.hpp"

#include <google/protobuf/util/json_util.h>

#include <charconv>

namespace chronicle::http {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

void rewrite(json& j, const Message& msg);

void rewrite_value(json& j, const Message& msg) {
  if (msg.GetDescriptor() == pb::Payload::descriptor()) {
    const auto& p = static_cast<const pb::Payload&>(msg);
    if (p.data().empty()) {
      j = nullptr;
      return;
    }
    auto parsed = json::parse(p.data(), nullptr, false);
    if (!parsed.is_discarded()) j = std::move(parsed);
    return;
  }
  rewrite(j, msg);
}

// Maps of string to message whose values are rewritten too: the memo's payloads, the typed
// search attributes (datetime_ms, int_value) of a visibility record, and a marker's details (a
// LocalActivity marker's activity_id, activity_type, attempt, data, backoff_ms read as JSON, as
// `chronicle workflow show` reads them; sdk::parse_history turns them back into payloads).
bool rewrites_map_values(const Message& msg) {
  const auto* d = msg.GetDescriptor();
  return d == pb::Memo::descriptor() || d == pb::WorkflowExecutionInfo::descriptor() ||
         d == pb::SearchAttributes::descriptor() ||
         d == pb::MarkerRecordedEventAttributes::descriptor();
}

void rewrite_map(json& j, const Message& msg, const FieldDescriptor* f) {
  if (!j.is_object()) return;
  const auto* refl = msg.GetReflection();
  for (int k = 0; k < refl->FieldSize(msg, f); ++k) {
    const Message& entry = refl->GetRepeatedMessage(msg, f, k);
    const auto* key = entry.GetDescriptor()->map_key();
    const auto* value = entry.GetDescriptor()->map_value();
    if (key->cpp_type() != FieldDescriptor::CPPTYPE_STRING ||
        value->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)
      return;
    auto it = j.find(entry.GetReflection()->GetString(entry, key));
    if (it != j.end()) rewrite_value(*it, entry.GetReflection()->GetMessage(entry, value));
  }
}

// Walks the message and its JSON side by side (reflection), rewriting payloads and 64-bit ints.
void rewrite(json& j, const Message& msg) {
  if (!j.is_object()) return;
  const auto* desc = msg.GetDescriptor();
  const auto* refl = msg.GetReflection();
  for (int i = 0; i < desc->field_count(); ++i) {
    const auto* f = desc->field(i);
    auto it = j.find(f->name());
    if (it == j.end()) continue;
    if (f->is_map()) {
      if (rewrites_map_values(msg)) rewrite_map(*it, msg, f);
      continue;
    }
    bool repeated = f->is_repeated();
    if (repeated && (!it->is_array() || it->size() != static_cast<size_t>(refl->FieldSize(msg, f))))
      continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64:
        if (!repeated) *it = refl->GetInt64(msg, f);
        else
          for (int k = 0; k < refl->FieldSize(msg, f); ++k) (*it)[k] = refl->GetRepeatedInt64(msg, f, k);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        if (!repeated) *it = refl->GetUInt64(msg, f);
        else
          for (int k = 0; k < refl->FieldSize(msg, f); ++k) (*it)[k] = refl->GetRepeatedUInt64(msg, f, k);
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (!repeated) rewrite_value(*it, refl->GetMessage(msg, f));
        else
          for (int k = 0; k < refl->FieldSize(msg, f); ++k)
            rewrite_value((*it)[k], refl->GetRepeatedMessage(msg, f, k));
        break;
      default:
        break;
    }
  }
}

}  // namespace

json to_json(const Message& msg) {
  std::string text;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  auto st = google::protobuf::util::MessageToJsonString(msg, &text, opts);
  if (!st.ok()) return json{{"error", st.ToString()}};
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return json{{"error", "unprintable message"}};
  rewrite(j, msg);
  return j;
}

std::optional<json> parse_body(const std::string& body, const json& empty_value,
                               std::string* error) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return empty_value;
  constexpr int max_depth = 64;
  try {
    return json::parse(body, [](int depth, json::parse_event_t, json&) {
      if (depth > max_depth)
        throw std::runtime_error("nested deeper than " + std::to_string(max_depth) + " levels");
      return true;
    });
  } catch (const std::exception& e) {
    *error = std::string("request body is not valid JSON: ") + e.what();
  }
  return std::nullopt;
}

pb::Payload to_payload(const json& value) {
  pb::Payload p;
  (*p.mutable_metadata())["encoding"] = "json/plain";
  p.set_data(value.dump());
  return p;
}

std::string fill_message(const json& object, Message* msg) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(object.dump(), msg, opts);
  if (st.ok()) return {};
  return std::string(st.message());
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc{} || end != text.data() + i + 3) return std::nullopt;
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto key = percent_decode(part.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out[*key] = *value;
  }
  return out;
}

std::string hex_encode(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
    if (ec != std::errc{} || end != text.data() + i + 2) return std::nullopt;
    out += static_cast<char>(value);
  }
  return out;
}

std::optional<std::vector<std::string>> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (part.empty()) continue;
    auto decoded = percent_decode(part);
    if (!decoded) return std::nullopt;
    out.push_back(std::move(*decoded));
  }
  return out;
}

}  // namespace chronicle::http
