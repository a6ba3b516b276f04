// The text forms of schedule specs: cron strings, calendar text, durations, intervals.
#include <array>
#include <cctype>
#include <sstream>

#include "shards/schedule_spec.hpp"

namespace chronicle::schedules {

namespace {

// A calendar field: its name, bounds and the names its values may take.
struct field_info {
  const char* name;
  int min, max;
  const char* const* names;  // names[i] is value min + i; nullptr: numbers only
};

constexpr const char* month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

constexpr field_info second_field{"second", 0, 59, nullptr};
constexpr field_info minute_field{"minute", 0, 59, nullptr};
constexpr field_info hour_field{"hour", 0, 23, nullptr};
constexpr field_info dom_field{"day_of_month", 1, 31, nullptr};
constexpr field_info month_field{"month", 1, 12, month_names};
constexpr field_info dow_field{"day_of_week", 0, 7, day_names};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<int> value_of(std::string_view text, const field_info& f) {
  if (text.empty()) return std::nullopt;
  if (f.names && std::isalpha(static_cast<unsigned char>(text[0]))) {
    auto u = upper(text);
    for (int i = 0; i <= f.max - f.min; ++i)
      if (u == f.names[i]) return f.min + i;
    return std::nullopt;
  }
  int v = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < f.min || v > f.max) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    auto at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// One cron field ("*", "1-5", "*/15", "MON-FRI", "0,30") as ranges; "*" alone gives the whole
// range when `star_is_all` is false (a calendar's unset minute means 0, not every minute).
bool parse_field(std::string_view text, const field_info& f, bool star_is_all,
                 google::protobuf::RepeatedPtrField<pb::ScheduleRange>* out, std::string* why) {
  auto bad = [&](std::string_view part) {
    *why = std::string(f.name) + ": '" + std::string(part) + "' is not a value, range or step of "
           + std::to_string(f.min) + ".." + std::to_string(f.max);
    return false;
  };
  for (auto item : split(text, ',')) {
    auto slash = item.find('/');
    auto base = item.substr(0, slash);
    int step = 0;
    if (slash != std::string_view::npos) {
      auto s = value_of(item.substr(slash + 1), field_info{f.name, 1, 1000, nullptr});
      if (!s) return bad(item);
      step = *s;
    }
    pb::ScheduleRange r;
    if (base == "*" || base == "?") {
      if (star_is_all && step == 0) continue;  // the field's default: every value
      r.set_start(f.min);
      r.set_end(&f == &dow_field ? 6 : f.max);
    } else {
      auto dash = base.find('-');
      auto from = value_of(base.substr(0, dash), f);
      if (!from) return bad(item);
      r.set_start(*from);
      if (dash != std::string_view::npos) {
        auto to = value_of(base.substr(dash + 1), f);
        if (!to || *to < *from) return bad(item);
        r.set_end(*to);
      } else if (step > 0) {
        r.set_end(f.max);  // n/step: from n to the end
      }
    }
    r.set_step(step);
    *out->Add() = r;
  }
  return true;
}

std::optional<pb::CalendarSpec> calendar_of_fields(const std::vector<std::string_view>& f,
                                                   std::string* why) {
  pb::CalendarSpec c;
  c.add_second()->set_start(0);
  if (!parse_field(f[0], minute_field, false, c.mutable_minute(), why)
      || !parse_field(f[1], hour_field, false, c.mutable_hour(), why)
      || !parse_field(f[2], dom_field, true, c.mutable_day_of_month(), why)
      || !parse_field(f[3], month_field, true, c.mutable_month(), why)
      || !parse_field(f[4], dow_field, true, c.mutable_day_of_week(), why))
    return std::nullopt;
  return c;
}

}  // namespace

std::optional<cron_result> parse_cron(std::string_view text, std::string* why) {
  auto w = words(text);
  cron_result out;
  if (w.size() == 2 && w[0] == "@every") {
    out.interval = parse_interval(w[1], why);
    if (!out.interval) return std::nullopt;
    return out;
  }
  if (w.size() == 1 && !w[0].empty() && w[0][0] == '@') {
    static const std::pair<const char*, const char*> macros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
    for (auto& [name, expansion] : macros)
      if (w[0] == name) return parse_cron(expansion, why);
    *why = "unknown cron macro '" + std::string(w[0])
           + "' (known: @yearly @annually @monthly @weekly @daily @midnight @hourly @every)";
    return std::nullopt;
  }
  if (w.size() != 5) {
    *why = "a cron string has 5 fields (minute hour day-of-month month day-of-week), '"
           + std::string(text) + "' has " + std::to_string(w.size());
    return std::nullopt;
  }
  out.calendar = calendar_of_fields(w, why);
  if (!out.calendar) return std::nullopt;
  return out;
}

std::optional<pb::CalendarSpec> parse_calendar(std::string_view text, std::string* why) {
  static const field_info* fields[] = {&second_field, &minute_field, &hour_field,
                                       &dom_field,    &month_field,  &dow_field};
  pb::CalendarSpec c;
  auto target = [&](const field_info* f) {
    if (f == &second_field) return c.mutable_second();
    if (f == &minute_field) return c.mutable_minute();
    if (f == &hour_field) return c.mutable_hour();
    if (f == &dom_field) return c.mutable_day_of_month();
    if (f == &month_field) return c.mutable_month();
    return c.mutable_day_of_week();
  };
  for (auto word : words(text)) {
    auto eq = word.find('=');
    const field_info* f = nullptr;
    for (auto* candidate : fields)
      if (eq != std::string_view::npos && word.substr(0, eq) == candidate->name) f = candidate;
    if (!f) {
      *why = "calendar: '" + std::string(word)
             + "' is not field=ranges (fields: second minute hour day_of_month month day_of_week)";
      return std::nullopt;
    }
    bool defaults_to_all = f == &dom_field || f == &month_field || f == &dow_field;
    if (!parse_field(word.substr(eq + 1), *f, defaults_to_all, target(f), why)) return std::nullopt;
  }
  return c;
}

std::optional<int64_t> parse_duration_ms(std::string_view text, std::string* why) {
  auto bad = [&] {
    // (append: g++ 12 warns -Wrestrict, wrongly, on "literal" + std::string&&)
    *why = std::string("'").append(text).append("' is not a duration (e.g. 90s, 15m, 1h30m, 500ms, 2d)");
    return std::nullopt;
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i++] - '0');
      if (n > 1'000'000'000'000) return bad();
    }
    if (i == start) return bad();
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    auto unit = text.substr(ustart, i - ustart);
    int64_t scale = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000
                  : unit == "h"  ? 3'600'000 : unit == "d" ? 86'400'000 : 0;
    if (scale == 0) return bad();
    total += n * scale;
    if (total > int64_t{100} * 365 * 86'400'000) return bad();
  }
  return total;
}

std::optional<pb::IntervalSpec> parse_interval(std::string_view text, std::string* why) {
  auto slash = text.find('/');
  auto every = parse_duration_ms(text.substr(0, slash), why);
  if (!every) return std::nullopt;
  pb::IntervalSpec iv;
  iv.set_every_ms(*every);
  if (slash != std::string_view::npos) {
    auto offset = parse_duration_ms(text.substr(slash + 1), why);
    if (!offset) return std::nullopt;
    iv.set_offset_ms(*offset);
  }
  return iv;
}

}  // namespace chronicle::schedules
