// Time zones of the tz database for schedules: UTC offsets by instant, read from the system's
// compiled zone files (TZif, /usr/share/zoneinfo; Debian's tzdata). g++ 12's <chrono> has no
// tzdb (zoned_time came with GCC 14), hence this small reader: the transitions of the file's
// 64-bit part, then its POSIX TZ footer rule for the instants after the last transition.
//
// Pure apart from time_zone::load, which reads one file. Times are Unix seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chronicle::schedules {

// A civil (wall-clock) time, proleptic Gregorian calendar.
struct civil_time {
  int64_t year = 1970;
  int month = 1;   // 1..12
  int day = 1;     // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
};

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
int64_t days_from_civil(int64_t y, int m, int d);
civil_time civil_from_seconds(int64_t unix_seconds);  // as UTC
int64_t seconds_from_civil(const civil_time& c);       // as UTC
int weekday_of(int64_t days);                          // 0 = Sunday
int days_in_month(int64_t year, int month);

class time_zone {
public:
  static time_zone utc();
  // Parses a TZif file's bytes (versions 1 to 4). nullopt with *why set when malformed.
  static std::optional<time_zone> parse_tzif(std::string_view bytes, std::string name,
                                             std::string* why);
  // Reads zone `name` ("UTC", "Europe/Paris") from `dir`. Refuses names that are not plain zone
  // names (no "..", no leading '/'), unknown zones and malformed files, with *why set.
  static std::optional<time_zone> load(std::string_view name, std::string* why,
                                       const std::string& dir = "/usr/share/zoneinfo");

  [[nodiscard]] const std::string& name() const { return name_; }
  // Seconds east of UTC in force at `unix_seconds`.
  [[nodiscard]] int32_t offset_at(int64_t unix_seconds) const;
  // The wall-clock time at `unix_seconds`.
  [[nodiscard]] civil_time to_civil(int64_t unix_seconds) const;
  // The instant a wall-clock time names. A time that occurs twice (clocks set back) is its first
  // occurrence; a time that does not occur (clocks set forward) is read with the offset before
  // the change, i.e. as late as the gap is long (02:30 in a 02:00 -> 03:00 gap is 03:30).
  [[nodiscard]] int64_t to_unix(const civil_time& c) const;

  // A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"): standard offset, and when there is daylight
  // time its offset and the two change rules (Mm.w.d/time, Jn/time or n/time).
  struct posix_rule {
    struct change {
      char kind = 'M';  // 'M' month.week.day, 'J' julian 1..365 (no Feb 29), 'D' 0..365
      int month = 0, week = 0, day = 0;
      int32_t time = 7200;  // seconds after local midnight (may be negative or > 24h)
    };
    int32_t std_offset = 0;  // seconds east of UTC
    bool has_dst = false;
    int32_t dst_offset = 0;
    change start, end;
  };
  // Parses a POSIX TZ string; nullopt when it is not one.
  static std::optional<posix_rule> parse_posix(std::string_view tz);

private:
  [[nodiscard]] int32_t rule_offset_at(int64_t unix_seconds) const;
  std::string name_;
  std::vector<int64_t> transitions_;  // ascending
  std::vector<int32_t> offsets_;      // offsets_[i] in force from transitions_[i]
  int32_t initial_offset_ = 0;        // before the first transition
  std::optional<posix_rule> rule_;    // after the last transition
};

}  // namespace chronicle::schedules
