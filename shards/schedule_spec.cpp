// Action times of a schedule spec: calendars matched field by field in the spec's time zone,
// intervals from the Unix epoch, exclusions, start and end times, jitter.
#include "shards/schedule_spec.hpp"

#include <algorithm>
#include <cstdio>

#include "shards/ring.hpp"

namespace chronicle::schedules {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

struct bounds {
  const char* name;
  int min, max;
};

// Checks one field's ranges; "" or the problem.
std::string check_ranges(const google::protobuf::RepeatedPtrField<pb::ScheduleRange>& ranges,
                         bounds b) {
  for (auto& r : ranges) {
    int end = r.end() < r.start() ? r.start() : r.end();
    if (r.start() < b.min || end > b.max || r.step() < 0)
      return std::string(b.name) + ": range " + std::to_string(r.start()) + "-"
             + std::to_string(r.end()) + "/" + std::to_string(r.step()) + " is outside "
             + std::to_string(b.min) + ".." + std::to_string(b.max);
  }
  return {};
}

std::string check_calendar(const pb::CalendarSpec& c) {
  for (auto& [field, b] : {std::pair{&c.second(), bounds{"second", 0, 59}},
                           std::pair{&c.minute(), bounds{"minute", 0, 59}},
                           std::pair{&c.hour(), bounds{"hour", 0, 23}},
                           std::pair{&c.day_of_month(), bounds{"day_of_month", 1, 31}},
                           std::pair{&c.month(), bounds{"month", 1, 12}},
                           std::pair{&c.day_of_week(), bounds{"day_of_week", 0, 7}}}) {
    auto why = check_ranges(*field, b);
    if (!why.empty()) return why;
  }
  return {};
}

// The set a field's ranges name; `empty_is_all`: no range means every value (else only 0).
template <size_t N>
std::bitset<N> set_of(const google::protobuf::RepeatedPtrField<pb::ScheduleRange>& ranges,
                      bool empty_is_all, int modulo = 0) {
  std::bitset<N> s;
  if (ranges.empty()) {
    if (empty_is_all) s.set();
    else s.set(0);
    return s;
  }
  for (auto& r : ranges) {
    int end = r.end() < r.start() ? r.start() : r.end();
    int step = r.step() <= 0 ? 1 : r.step();
    for (int v = r.start(); v <= end; v += step) s.set(static_cast<size_t>(modulo ? v % modulo : v));
  }
  return s;
}

compiled_spec::calendar compile_calendar(const pb::CalendarSpec& c) {
  compiled_spec::calendar cal;
  cal.second = set_of<60>(c.second(), false);
  cal.minute = set_of<60>(c.minute(), false);
  cal.hour = set_of<24>(c.hour(), false);
  cal.day_of_month = set_of<32>(c.day_of_month(), true);
  cal.day_of_month.reset(0);
  cal.month = set_of<13>(c.month(), true);
  cal.month.reset(0);
  cal.day_of_week = set_of<7>(c.day_of_week(), true, 7);
  return cal;
}

// A calendar whose days can never match (e.g. February 30) is searched this far, then given up.
constexpr int64_t calendar_search_years = 30;

}  // namespace

bool compiled_spec::calendar::matches(const civil_time& c) const {
  return month[c.month] && day_of_month[c.day]
         && day_of_week[weekday_of(days_from_civil(c.year, c.month, c.day))] && hour[c.hour]
         && minute[c.minute] && second[c.second];
}

std::string check_spec(const pb::ScheduleSpec& spec, const std::string& zone_dir) {
  std::string why;
  for (auto& cron : spec.cron())
    if (!parse_cron(cron, &why)) return "cron '" + cron + "': " + why;
  for (auto& c : spec.calendar())
    if (auto w = check_calendar(c); !w.empty()) return "calendar: " + w;
  for (auto& c : spec.exclude_calendar())
    if (auto w = check_calendar(c); !w.empty()) return "exclude calendar: " + w;
  for (auto& iv : spec.interval()) {
    if (iv.every_ms() < 1000) return "interval: every must be at least 1s";
    if (iv.offset_ms() < 0 || iv.offset_ms() >= iv.every_ms())
      return "interval: the offset must be at least 0 and less than every";
  }
  if (spec.jitter_ms() < 0) return "jitter must not be negative";
  if (spec.start_time_ms() < 0 || spec.end_time_ms() < 0) return "start and end times must not be negative";
  if (spec.end_time_ms() != 0 && spec.end_time_ms() < spec.start_time_ms())
    return "the end time is before the start time";
  if (!time_zone::load(spec.time_zone(), &why, zone_dir)) return why;
  return {};
}

std::optional<compiled_spec> compiled_spec::compile(const pb::ScheduleSpec& spec, std::string seed,
                                                    std::string* why, const std::string& zone_dir) {
  *why = check_spec(spec, zone_dir);
  if (!why->empty()) return std::nullopt;
  compiled_spec out;
  out.zone_ = *time_zone::load(spec.time_zone(), why, zone_dir);
  for (auto& cron : spec.cron()) {
    auto parsed = parse_cron(cron, why);
    if (parsed->calendar) out.calendars_.push_back(compile_calendar(*parsed->calendar));
    if (parsed->interval) out.intervals_.push_back(*parsed->interval);
  }
  for (auto& c : spec.calendar()) out.calendars_.push_back(compile_calendar(c));
  for (auto& c : spec.exclude_calendar()) out.excludes_.push_back(compile_calendar(c));
  for (auto& iv : spec.interval()) out.intervals_.push_back(iv);
  out.start_ms_ = spec.start_time_ms();
  out.end_ms_ = spec.end_time_ms();
  out.jitter_ms_ = spec.jitter_ms();
  out.seed_ = std::move(seed);
  return out;
}

// The first wall-clock match after `after_s`, as an instant. Wall-clock times are matched in
// order from the reading of `after_s`; near a change of offset the search starts earlier and
// goes on a little after the first match, because a time in a gap is taken as late as the gap
// is long (time_zone::to_unix) and may so come after later wall-clock times.
std::optional<int64_t> compiled_spec::next_calendar(const calendar& cal, int64_t after_s) const {
  int64_t shift = std::max(0, zone_.offset_at(after_s + 86400) - zone_.offset_at(after_s - 86400));
  int64_t n = seconds_from_civil(zone_.to_civil(after_s)) - shift;  // wall clock as seconds
  int64_t last_year = zone_.to_civil(after_s).year + calendar_search_years;
  std::optional<int64_t> best;
  int64_t stop_at = 0;
  while (true) {
    auto c = civil_from_seconds(n);
    if (c.year > last_year || (best && n > stop_at)) return best;
    if (!cal.month[c.month]) {
      int y = static_cast<int>(c.year) + (c.month == 12);
      n = days_from_civil(y, c.month % 12 + 1, 1) * 86400;
    } else if (!cal.day_of_month[c.day]
               || !cal.day_of_week[weekday_of(days_from_civil(c.year, c.month, c.day))]) {
      n = (floor_div(n, 86400) + 1) * 86400;
    } else if (!cal.hour[c.hour]) {
      n = (floor_div(n, 3600) + 1) * 3600;
    } else if (!cal.minute[c.minute]) {
      n = (floor_div(n, 60) + 1) * 60;
    } else if (!cal.second[c.second]) {
      n += 1;
    } else {
      auto u = zone_.to_unix(c);
      if (u > after_s && (!best || u < *best)) {
        if (!best) stop_at = n + shift;
        best = u;
      }
      n += 1;
    }
  }
}

bool compiled_spec::excluded(int64_t nominal_ms) const {
  if (excludes_.empty() || nominal_ms % 1000 != 0) return false;
  auto c = zone_.to_civil(floor_div(nominal_ms, 1000));
  return std::any_of(excludes_.begin(), excludes_.end(),
                     [&](const calendar& cal) { return cal.matches(c); });
}

std::optional<int64_t> compiled_spec::next_unfiltered(int64_t after_ms) const {
  std::optional<int64_t> best;
  for (auto& iv : intervals_) {
    int64_t k = floor_div(after_ms - iv.offset_ms(), iv.every_ms()) + 1;
    int64_t t = k * iv.every_ms() + iv.offset_ms();
    if (!best || t < *best) best = t;
  }
  int64_t after_s = floor_div(after_ms, 1000);
  for (auto& cal : calendars_)
    if (auto t = next_calendar(cal, after_s)) {
      if (!best || *t * 1000 < *best) best = *t * 1000;
    }
  return best;
}

// Exclusions skip matching times; the bounds cut the rest. An exclusion that matches every time
// ends the search after a bounded number of tries.
std::optional<int64_t> compiled_spec::next_nominal(int64_t after_ms) const {
  if (start_ms_ > 0 && after_ms < start_ms_ - 1) after_ms = start_ms_ - 1;
  for (int tries = 0; tries < 100000; ++tries) {
    auto t = next_unfiltered(after_ms);
    if (!t || (end_ms_ > 0 && *t > end_ms_)) return std::nullopt;
    if (!excluded(*t)) return t;
    after_ms = *t;
  }
  return std::nullopt;
}

action_time compiled_spec::with_jitter(int64_t nominal_ms) const {
  action_time a{nominal_ms, nominal_ms};
  if (jitter_ms_ <= 0) return a;
  auto h = stable_hash(seed_ + '\0' + std::to_string(nominal_ms));
  int64_t delay = static_cast<int64_t>(h % static_cast<uint64_t>(jitter_ms_ + 1));
  if (auto next = next_nominal(nominal_ms)) delay = std::min(delay, *next - nominal_ms - 1);
  a.actual_ms = nominal_ms + std::max<int64_t>(delay, 0);
  return a;
}

std::optional<action_time> compiled_spec::next(int64_t after_ms) const {
  auto t = next_nominal(after_ms);
  if (!t) return std::nullopt;
  return with_jitter(*t);
}

std::vector<action_time> compiled_spec::next_n(int64_t after_ms, size_t n) const {
  std::vector<action_time> out;
  while (out.size() < n) {
    auto a = next(after_ms);
    if (!a) break;
    out.push_back(*a);
    after_ms = a->nominal_ms;
  }
  return out;
}

std::vector<action_time> compiled_spec::between(int64_t after_ms, int64_t until_ms,
                                                size_t limit) const {
  std::vector<action_time> out;
  while (out.size() < limit) {
    auto a = next(after_ms);
    if (!a || a->nominal_ms > until_ms) break;
    out.push_back(*a);
    after_ms = a->nominal_ms;
  }
  return out;
}

std::string rfc3339(int64_t unix_ms) {
  auto c = civil_from_seconds(floor_div(unix_ms, 1000));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02dZ", static_cast<long long>(c.year),
                c.month, c.day, c.hour, c.minute, c.second);
  return buf;
}

}  // namespace chronicle::schedules
