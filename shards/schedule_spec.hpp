// Schedule specs (protocol/chronicle/v1/schedule.proto ScheduleSpec): the text forms users write
// (cron strings, calendar text, durations) and the computation of action times. Pure: no clock;
// compiling a spec with a time zone reads that zone's file (time_zone.hpp).
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.hpp"
#include "shards/time_zone.hpp"

namespace chronicle::schedules {

// --- text forms (schedule_text.cpp) ---

// A cron string: 5 fields (minute hour day-of-month month day-of-week; each a comma list of *,
// n, a-b, with /step; month and day names; day-of-week 7 is Sunday) or a macro (@yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly) as a calendar, or "@every D[/O]" as
// an interval. Exactly one of the two is set on success; nullopt with *why naming the bad field.
struct cron_result {
  std::optional<pb::CalendarSpec> calendar;
  std::optional<pb::IntervalSpec> interval;
};
std::optional<cron_result> parse_cron(std::string_view text, std::string* why);

// A calendar as text: space-separated `field=ranges` with fields second, minute, hour,
// day_of_month, month, day_of_week (each as in a cron field), e.g. "hour=9-17/2 minute=30
// day_of_week=MON-FRI". Fields left out take the calendar's defaults (see CalendarSpec).
std::optional<pb::CalendarSpec> parse_calendar(std::string_view text, std::string* why);

// A duration: one or more <number><unit> with units ms, s, m, h, d ("1h30m", "500ms").
std::optional<int64_t> parse_duration_ms(std::string_view text, std::string* why);

// "every[/offset]" ("1h/15m") as an interval.
std::optional<pb::IntervalSpec> parse_interval(std::string_view text, std::string* why);

// --- action times (schedule_spec.cpp) ---

// One action: the time the spec names (the workflow ID's suffix) and the time it is taken
// (nominal + jitter).
struct action_time {
  int64_t nominal_ms = 0;
  int64_t actual_ms = 0;
  bool operator==(const action_time&) const = default;
};

// Checks the spec: field ranges, intervals (every >= 1 s, 0 <= offset < every), cron strings,
// the time zone, non-negative jitter, start <= end. Returns the first problem or "".
std::string check_spec(const pb::ScheduleSpec& spec, const std::string& zone_dir = "/usr/share/zoneinfo");

class compiled_spec {
public:
  // nullopt with *why set when check_spec finds a problem. `seed` (the schedule ID) makes the
  // jitter of equal specs differ between schedules.
  static std::optional<compiled_spec> compile(const pb::ScheduleSpec& spec, std::string seed,
                                              std::string* why,
                                              const std::string& zone_dir = "/usr/share/zoneinfo");

  // The first action whose nominal time is after `after_ms`; nullopt when there is none (past
  // the end time, no calendar or interval, or every time excluded).
  [[nodiscard]] std::optional<action_time> next(int64_t after_ms) const;
  // The next `n` actions after `after_ms`, in order.
  [[nodiscard]] std::vector<action_time> next_n(int64_t after_ms, size_t n) const;
  // The actions whose nominal time is in (after_ms, until_ms], at most `limit`.
  [[nodiscard]] std::vector<action_time> between(int64_t after_ms, int64_t until_ms,
                                                 size_t limit) const;
  [[nodiscard]] const time_zone& zone() const { return zone_; }

  // A calendar's fields as sets (day_of_week: 0 = Sunday).
  struct calendar {
    std::bitset<60> second, minute;
    std::bitset<24> hour;
    std::bitset<32> day_of_month;
    std::bitset<13> month;
    std::bitset<7> day_of_week;
    [[nodiscard]] bool matches(const civil_time& c) const;
  };

private:
  [[nodiscard]] std::optional<int64_t> next_nominal(int64_t after_ms) const;
  [[nodiscard]] std::optional<int64_t> next_unfiltered(int64_t after_ms) const;
  [[nodiscard]] std::optional<int64_t> next_calendar(const calendar& cal, int64_t after_s) const;
  [[nodiscard]] bool excluded(int64_t nominal_ms) const;
  [[nodiscard]] action_time with_jitter(int64_t nominal_ms) const;

  std::vector<calendar> calendars_;
  std::vector<calendar> excludes_;
  std::vector<pb::IntervalSpec> intervals_;
  int64_t start_ms_ = 0, end_ms_ = 0, jitter_ms_ = 0;
  std::string seed_;
  time_zone zone_ = time_zone::utc();
};

// RFC 3339 in UTC with seconds ("2026-12-04T09:30:00Z"), as a scheduled workflow's ID suffix.
std::string rfc3339(int64_t unix_ms);

}  // namespace chronicle::schedules
