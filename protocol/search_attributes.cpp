// Search attributes and memo: see search_attributes.hpp.
#include "protocol/search_attributes.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

namespace chronicle::search {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<nlohmann::json> json_of(const pb::Payload& payload) {
  auto j = nlohmann::json::parse(payload.data(), nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// Reads `n` digits at `pos` of `s` into *out; false when they are not all there.
bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<pb::IndexedValueType> type_from_name(std::string_view name) {
  auto n = lower(name);
  n.erase(std::remove(n.begin(), n.end(), '_'), n.end());
  if (n == "keyword") return pb::INDEXED_VALUE_TYPE_KEYWORD;
  if (n == "text") return pb::INDEXED_VALUE_TYPE_TEXT;
  if (n == "int") return pb::INDEXED_VALUE_TYPE_INT;
  if (n == "double") return pb::INDEXED_VALUE_TYPE_DOUBLE;
  if (n == "bool") return pb::INDEXED_VALUE_TYPE_BOOL;
  if (n == "datetime") return pb::INDEXED_VALUE_TYPE_DATETIME;
  if (n == "keywordlist") return pb::INDEXED_VALUE_TYPE_KEYWORD_LIST;
  return std::nullopt;
}

const char* type_name(pb::IndexedValueType type) {
  switch (type) {
    case pb::INDEXED_VALUE_TYPE_KEYWORD: return "keyword";
    case pb::INDEXED_VALUE_TYPE_TEXT: return "text";
    case pb::INDEXED_VALUE_TYPE_INT: return "int";
    case pb::INDEXED_VALUE_TYPE_DOUBLE: return "double";
    case pb::INDEXED_VALUE_TYPE_BOOL: return "bool";
    case pb::INDEXED_VALUE_TYPE_DATETIME: return "datetime";
    case pb::INDEXED_VALUE_TYPE_KEYWORD_LIST: return "keyword_list";
    default: return "unspecified";
  }
}

bool is_builtin(std::string_view name) {
  static const char* const names[] = {"WorkflowId", "RunId", "WorkflowType", "ExecutionStatus",
                                      "Status", "StartTime", "CloseTime", "TaskQueue",
                                      "HistoryLength", "ParentWorkflowId", "ParentRunId",
                                      build_ids_attribute, paused_attribute};
  return std::any_of(std::begin(names), std::end(names),
                     [&](const char* n) { return lower(n) == lower(name); });
}

bool is_null(const pb::Payload& payload) {
  auto j = json_of(payload);
  return j && j->is_null();
}

std::optional<pb::SearchAttributeValue> typed(const pb::Payload& payload, pb::IndexedValueType type,
                                              std::string* err) {
  auto j = json_of(payload);
  if (!j) {
    *err = "is not JSON";
    return std::nullopt;
  }
  pb::SearchAttributeValue v;
  const auto want = [&](const char* what) {
    *err = std::string("must be ") + what + " (type " + type_name(type) + "), got " +
           j->dump().substr(0, 100);
    return std::nullopt;
  };
  switch (type) {
    case pb::INDEXED_VALUE_TYPE_KEYWORD:
      if (!j->is_string()) return want("a string");
      v.set_keyword(j->get<std::string>());
      break;
    case pb::INDEXED_VALUE_TYPE_TEXT:
      if (!j->is_string()) return want("a string");
      v.set_text(j->get<std::string>());
      break;
    case pb::INDEXED_VALUE_TYPE_INT:
      if (!j->is_number_integer()) return want("an integer");
      v.set_int_value(j->get<int64_t>());
      break;
    case pb::INDEXED_VALUE_TYPE_DOUBLE:
      if (!j->is_number() || !std::isfinite(j->get<double>())) return want("a number");
      v.set_double_value(j->get<double>());
      break;
    case pb::INDEXED_VALUE_TYPE_BOOL:
      if (!j->is_boolean()) return want("true or false");
      v.set_bool_value(j->get<bool>());
      break;
    case pb::INDEXED_VALUE_TYPE_DATETIME:
      if (j->is_number_integer()) {
        v.set_datetime_ms(j->get<int64_t>());
      } else if (j->is_string()) {
        auto ms = parse_time(j->get<std::string>());
        if (!ms) return want("an RFC 3339 time such as \"2026-12-01T00:00:00Z\"");
        v.set_datetime_ms(*ms);
      } else {
        return want("an RFC 3339 time such as \"2026-12-01T00:00:00Z\"");
      }
      break;
    case pb::INDEXED_VALUE_TYPE_KEYWORD_LIST:
      if (j->is_string()) {
        v.mutable_keyword_list()->add_values(j->get<std::string>());
      } else if (j->is_array()) {
        for (auto& e : *j) {
          if (!e.is_string()) return want("a string or an array of strings");
          v.mutable_keyword_list()->add_values(e.get<std::string>());
        }
      } else {
        return want("a string or an array of strings");
      }
      break;
    default:
      *err = "has no type";
      return std::nullopt;
  }
  return v;
}

std::string check(const pb::SearchAttributes& attrs, const schema& schema, bool allow_null) {
  size_t total = 0;
  // In name order: the same attribute is named first whatever the map's order.
  std::map<std::string, const pb::Payload*> sorted;
  for (const auto& [name, payload] : attrs.indexed_fields()) sorted.emplace(name, &payload);
  for (const auto& [name, payload] : sorted) {
    auto it = schema.find(name);
    if (it == schema.end()) {
      std::string known;
      for (const auto& [n, t] : schema) known += (known.empty() ? "" : ", ") + n;
      return "search attribute '" + name + "' is not registered in this namespace (registered: " +
             (known.empty() ? "none" : known) + "; see search_attributes in the node config)";
    }
    if (payload->data().size() > max_value_bytes)
      return "search attribute '" + name + "' is larger than " + std::to_string(max_value_bytes) +
             " bytes";
    total += name.size() + payload->data().size();
    if (allow_null && is_null(*payload)) continue;
    std::string err;
    if (!typed(*payload, it->second, &err)) return "search attribute '" + name + "' " + err;
  }
  if (total > max_total_bytes)
    return "search attributes are larger than " + std::to_string(max_total_bytes) + " bytes";
  return {};
}

std::string check_memo(const pb::Memo& memo) {
  size_t total = 0;
  for (const auto& [name, payload] : memo.fields()) {
    if (name.empty()) return "a memo field has an empty name";
    total += name.size() + payload.ByteSizeLong();
  }
  if (total > max_memo_bytes)
    return "the memo is larger than " + std::to_string(max_memo_bytes) + " bytes";
  return {};
}

void merge(pb::SearchAttributes& into, const pb::SearchAttributes& upsert) {
  for (const auto& [name, payload] : upsert.indexed_fields()) {
    if (is_null(payload)) into.mutable_indexed_fields()->erase(name);
    else (*into.mutable_indexed_fields())[name] = payload;
  }
}

void merge(pb::Memo& into, const pb::Memo& upsert) {
  for (const auto& [name, payload] : upsert.fields()) {
    if (is_null(payload)) into.mutable_fields()->erase(name);
    else (*into.mutable_fields())[name] = payload;
  }
}

void put_typed(const pb::SearchAttributes& attrs, const schema& schema,
               google::protobuf::Map<std::string, pb::SearchAttributeValue>* out) {
  for (const auto& [name, payload] : attrs.indexed_fields()) {
    auto it = schema.find(name);
    if (it == schema.end()) continue;
    std::string err;
    if (auto v = typed(payload, it->second, &err)) (*out)[name] = std::move(*v);
  }
}

std::optional<int64_t> parse_time(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, &mo) ||
      s[7] != '-' || !digits(s, 8, 2, &d))
    return std::nullopt;
  size_t pos = 10;
  int64_t millis = 0, offset_min = 0;
  if (pos < s.size()) {
    if ((s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') || !digits(s, pos + 1, 2, &h) ||
        pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, &mi) ||
        pos + 6 >= s.size() || s[pos + 6] != ':' || !digits(s, pos + 7, 2, &sec))
      return std::nullopt;
    pos += 9;
    if (pos < s.size() && s[pos] == '.') {  // fraction: milliseconds kept
      size_t n = 0;
      ++pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        if (n < 3) millis = millis * 10 + (s[pos] - '0');
        ++n;
        ++pos;
      }
      if (n == 0) return std::nullopt;
      for (; n < 3; ++n) millis *= 10;
    }
    if (pos >= s.size()) return std::nullopt;  // a time needs its zone
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh = 0, om = 0;
      if (!digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
          !digits(s, pos + 4, 2, &om))
        return std::nullopt;
      offset_min = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
      pos += 6;
    } else {
      return std::nullopt;
    }
    if (pos != s.size()) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  // Days from the civil date (Howard Hinnant's algorithm): no time zone database involved.
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  return ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + sec * 1000LL + millis;
}

std::string format_time(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(((ms % 1000) + 1000) % 1000));
  return buf;
}

std::string to_text(const pb::SearchAttributeValue& v) {
  switch (v.value_case()) {
    case pb::SearchAttributeValue::kText: return v.text();
    case pb::SearchAttributeValue::kKeyword: return v.keyword();
    case pb::SearchAttributeValue::kIntValue: return std::to_string(v.int_value());
    case pb::SearchAttributeValue::kDoubleValue: {
      nlohmann::json j = v.double_value();
      return j.dump();
    }
    case pb::SearchAttributeValue::kBoolValue: return v.bool_value() ? "true" : "false";
    case pb::SearchAttributeValue::kDatetimeMs: return format_time(v.datetime_ms());
    case pb::SearchAttributeValue::kKeywordList: {
      std::string out = "[";
      for (int i = 0; i < v.keyword_list().values_size(); ++i)
        out += (i ? ", " : "") + v.keyword_list().values(i);
      return out + "]";
    }
    default: return "";
  }
}

}  // namespace chronicle::search
