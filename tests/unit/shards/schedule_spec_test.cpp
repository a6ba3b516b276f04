// Schedule specs: cron strings, calendars, intervals with offsets, time zones (DST), jitter,
// bounds and exclusions (shards/schedule_spec.hpp, shards/time_zone.hpp).
#include <doctest/doctest.h>

#include "shards/schedule_spec.hpp"

using namespace chronicle;
using namespace chronicle::schedules;

namespace {

// A UTC instant in milliseconds.
int64_t utc(int64_t y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return seconds_from_civil({y, mo, d, h, mi, s}) * 1000;
}

compiled_spec compile(const pb::ScheduleSpec& spec, const std::string& seed = "sched") {
  std::string why;
  auto c = compiled_spec::compile(spec, seed, &why);
  INFO(why);
  REQUIRE(c);
  return *c;
}

pb::ScheduleSpec cron(const std::string& text, const std::string& zone = "") {
  pb::ScheduleSpec s;
  s.add_cron(text);
  s.set_time_zone(zone);
  return s;
}

std::vector<int64_t> nominals(const compiled_spec& c, int64_t after, size_t n) {
  std::vector<int64_t> out;
  for (auto& a : c.next_n(after, n)) out.push_back(a.nominal_ms);
  return out;
}

}  // namespace

TEST_CASE("civil dates convert both ways and know their weekday") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(weekday_of(days_from_civil(2026, 12, 4)) == 5);  // a Friday
  CHECK(weekday_of(days_from_civil(1969, 12, 28)) == 0);
  auto c = civil_from_seconds(utc(2024, 2, 29, 23, 59, 58) / 1000);
  CHECK((c.year == 2024 && c.month == 2 && c.day == 29 && c.hour == 23 && c.second == 58));
  CHECK(days_in_month(2024, 2) == 29);
  CHECK(days_in_month(2100, 2) == 28);
  CHECK(rfc3339(utc(2026, 12, 4, 9, 30, 5) + 999) == "2026-12-04T09:30:05Z");
}

TEST_CASE("a cron string on weekdays every quarter hour of office hours") {
  auto c = compile(cron("*/15 9-17 * * MON-FRI"));
  // Friday 2026-12-04 17:50 -> Monday 09:00.
  CHECK(nominals(c, utc(2026, 12, 4, 17, 50), 3)
        == std::vector<int64_t>{utc(2026, 12, 7, 9, 0), utc(2026, 12, 7, 9, 15),
                                utc(2026, 12, 7, 9, 30)});
  // Strictly after: an action time is not its own successor.
  CHECK(c.next(utc(2026, 12, 7, 9, 15))->nominal_ms == utc(2026, 12, 7, 9, 30));
}

TEST_CASE("cron macros and day 7 as Sunday") {
  CHECK(compile(cron("@hourly")).next(utc(2026, 1, 1, 10, 0, 1))->nominal_ms == utc(2026, 1, 1, 11));
  CHECK(compile(cron("@daily")).next(utc(2026, 1, 1, 10))->nominal_ms == utc(2026, 1, 2));
  CHECK(compile(cron("@monthly")).next(utc(2026, 1, 31))->nominal_ms == utc(2026, 2, 1));
  CHECK(compile(cron("@yearly")).next(utc(2026, 1, 1))->nominal_ms == utc(2027, 1, 1));
  // 2026-12-06 is a Sunday.
  CHECK(compile(cron("0 12 * * 7")).next(utc(2026, 12, 4))->nominal_ms == utc(2026, 12, 6, 12));
  CHECK(compile(cron("@weekly")).next(utc(2026, 12, 4))->nominal_ms == utc(2026, 12, 6));
}

TEST_CASE("day of month and day of week must both match") {
  // Friday the 13th: 2027-08-13 is the first after 2026-12-04.
  CHECK(compile(cron("0 0 13 * FRI")).next(utc(2026, 12, 4))->nominal_ms == utc(2027, 8, 13));
}

TEST_CASE("a calendar that can never match has no action time") {
  CHECK_FALSE(compile(cron("0 0 30 2 *")).next(utc(2026, 1, 1)));
}

TEST_CASE("bad cron strings are refused with the field named") {
  std::string why;
  CHECK_FALSE(parse_cron("* * * *", &why));
  CHECK(why.find("5 fields") != std::string::npos);
  CHECK_FALSE(parse_cron("60 * * * *", &why));
  CHECK(why.find("minute") != std::string::npos);
  CHECK_FALSE(parse_cron("0 0 * FOO *", &why));
  CHECK(why.find("month") != std::string::npos);
  CHECK_FALSE(parse_cron("0 0 * * 1-x", &why));
  CHECK(why.find("day_of_week") != std::string::npos);
  CHECK_FALSE(parse_cron("5-1 * * * *", &why));
  CHECK_FALSE(parse_cron("@fortnightly", &why));
  CHECK(why.find("@hourly") != std::string::npos);
  pb::ScheduleSpec s;
  s.add_cron("*/0x * * * *");
  CHECK_FALSE(compiled_spec::compile(s, "x", &why));
  CHECK(why.find("cron") == 0);
}

TEST_CASE("an interval with an offset counts from the Unix epoch") {
  pb::ScheduleSpec s;
  std::string why;
  *s.add_interval() = *parse_interval("1h/15m", &why);
  auto c = compile(s);
  CHECK(nominals(c, utc(2026, 12, 4, 10, 20), 2)
        == std::vector<int64_t>{utc(2026, 12, 4, 11, 15), utc(2026, 12, 4, 12, 15)});
  CHECK(c.next(utc(2026, 12, 4, 11, 14, 59))->nominal_ms == utc(2026, 12, 4, 11, 15));
}

TEST_CASE("@every in a cron string is an interval") {
  auto c = compile(cron("@every 90s"));
  CHECK(c.next(0)->nominal_ms == 90'000);
  CHECK(c.next(90'000)->nominal_ms == 180'000);
}

TEST_CASE("bad intervals and durations are refused") {
  std::string why;
  CHECK(parse_duration_ms("1h30m", &why) == 5'400'000);
  CHECK(parse_duration_ms("500ms", &why) == 500);
  CHECK(parse_duration_ms("2d", &why) == 172'800'000);
  CHECK_FALSE(parse_duration_ms("10", &why));
  CHECK_FALSE(parse_duration_ms("h", &why));
  CHECK_FALSE(parse_duration_ms("5y", &why));
  pb::ScheduleSpec s;
  s.add_interval()->set_every_ms(500);
  CHECK(check_spec(s).find("at least 1s") != std::string::npos);
  s.mutable_interval(0)->set_every_ms(60'000);
  s.mutable_interval(0)->set_offset_ms(60'000);
  CHECK(check_spec(s).find("offset") != std::string::npos);
}

TEST_CASE("a calendar in text form") {
  std::string why;
  auto cal = parse_calendar("hour=9-17/4 minute=30 day_of_week=MON-FRI", &why);
  REQUIRE(cal);
  pb::ScheduleSpec s;
  *s.add_calendar() = *cal;
  auto c = compile(s);
  // Saturday 2026-12-05 -> Monday 09:30, 13:30, 17:30.
  CHECK(nominals(c, utc(2026, 12, 5), 3)
        == std::vector<int64_t>{utc(2026, 12, 7, 9, 30), utc(2026, 12, 7, 13, 30),
                                utc(2026, 12, 7, 17, 30)});
  CHECK_FALSE(parse_calendar("hours=9", &why));
  CHECK(why.find("field=ranges") != std::string::npos);
  CHECK_FALSE(parse_calendar("second=61", &why));
}

TEST_CASE("calendar ranges outside their field are refused") {
  pb::ScheduleSpec s;
  auto* r = s.add_calendar()->add_hour();
  r->set_start(20);
  r->set_end(24);
  CHECK(check_spec(s).find("hour") != std::string::npos);
}

TEST_CASE("a time zone moves calendar times") {
  // Paris is UTC+1 in winter, UTC+2 in summer.
  CHECK(compile(cron("0 9 * * *", "Europe/Paris")).next(utc(2026, 12, 4))->nominal_ms
        == utc(2026, 12, 4, 8));
  CHECK(compile(cron("0 9 * * *", "Europe/Paris")).next(utc(2026, 7, 1))->nominal_ms
        == utc(2026, 7, 1, 7));
  // Sydney is UTC+11 in January (southern summer).
  CHECK(compile(cron("0 12 * * *", "Australia/Sydney")).next(utc(2027, 1, 10))->nominal_ms
        == utc(2027, 1, 10, 1));
}

TEST_CASE("a time skipped by the spring change fires as late as the gap is long") {
  // New York: 2026-03-08 02:00 EST -> 03:00 EDT. 02:30 that day is read as 03:30 EDT.
  auto c = compile(cron("30 2 * * *", "America/New_York"));
  CHECK(nominals(c, utc(2026, 3, 6, 12), 3)
        == std::vector<int64_t>{utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30),
                                utc(2026, 3, 9, 6, 30)});
  // Hourly at :30 across the gap: 01:30 EST, 03:30 EDT (02:30 is the same instant), 04:30 EDT.
  auto h = compile(cron("30 * * * *", "America/New_York"));
  CHECK(nominals(h, utc(2026, 3, 8, 6), 3)
        == std::vector<int64_t>{utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 30),
                                utc(2026, 3, 8, 8, 30)});
}

TEST_CASE("a time repeated by the autumn change fires once at its first occurrence") {
  // New York: 2026-11-01 02:00 EDT -> 01:00 EST; 01:30 occurs at 05:30Z and 06:30Z.
  auto h = compile(cron("30 * * * *", "America/New_York"));
  CHECK(nominals(h, utc(2026, 11, 1, 4), 3)
        == std::vector<int64_t>{utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 30),
                                utc(2026, 11, 1, 7, 30)});
  // From inside the second 01:00 hour, the next time is 02:30 EST.
  CHECK(h.next(utc(2026, 11, 1, 6, 10))->nominal_ms == utc(2026, 11, 1, 7, 30));
}

TEST_CASE("times after the zone file's table follow its POSIX rule") {
  auto c = compile(cron("0 12 * * *", "America/New_York"));
  CHECK(c.next(utc(2050, 7, 1))->nominal_ms == utc(2050, 7, 1, 16));  // EDT
  CHECK(c.next(utc(2050, 12, 1))->nominal_ms == utc(2050, 12, 1, 17));  // EST
  auto rule = time_zone::parse_posix("CET-1CEST,M3.5.0,M10.5.0/3");
  REQUIRE(rule);
  CHECK(rule->std_offset == 3600);
  CHECK(rule->dst_offset == 7200);
  CHECK(rule->end.time == 10800);
  CHECK(time_zone::parse_posix("<+03>-3"));
  CHECK_FALSE(time_zone::parse_posix("EST5EDT"));
  CHECK_FALSE(time_zone::parse_posix("X1"));
}

TEST_CASE("time zone names are checked") {
  std::string why;
  CHECK_FALSE(time_zone::load("../../etc/passwd", &why));
  CHECK(why.find("not a tz database name") != std::string::npos);
  CHECK_FALSE(time_zone::load("Mars/Olympus_Mons", &why));
  CHECK(why.find("unknown time zone") != std::string::npos);
  CHECK_FALSE(time_zone::parse_tzif("not a zone file", "x", &why));
  CHECK(time_zone::load("UTC", &why));
  CHECK(check_spec(cron("@daily", "Nowhere/City")).find("unknown time zone") != std::string::npos);
}

TEST_CASE("jitter delays each action by a deterministic amount within bounds") {
  pb::ScheduleSpec s;
  s.add_interval()->set_every_ms(60'000);
  s.set_jitter_ms(10'000);
  auto a = compile(s, "one"), b = compile(s, "one"), other = compile(s, "two");
  auto xs = a.next_n(0, 50);
  CHECK(xs == b.next_n(0, 50));
  bool some_delayed = false, differs = false;
  auto ys = other.next_n(0, 50);
  for (size_t i = 0; i < xs.size(); ++i) {
    CHECK(xs[i].actual_ms >= xs[i].nominal_ms);
    CHECK(xs[i].actual_ms <= xs[i].nominal_ms + 10'000);
    some_delayed |= xs[i].actual_ms > xs[i].nominal_ms;
    differs |= xs[i].actual_ms != ys[i].actual_ms;
  }
  CHECK(some_delayed);
  CHECK(differs);
}

TEST_CASE("jitter never passes the next nominal time") {
  pb::ScheduleSpec s;
  s.add_interval()->set_every_ms(1000);
  s.set_jitter_ms(3'600'000);
  for (auto& a : compile(s).next_n(0, 30)) CHECK(a.actual_ms < a.nominal_ms + 1000);
}

TEST_CASE("start and end times bound the actions") {
  pb::ScheduleSpec s = cron("@hourly");
  s.set_start_time_ms(utc(2026, 12, 4, 10, 30));
  s.set_end_time_ms(utc(2026, 12, 4, 13));
  auto c = compile(s);
  CHECK(nominals(c, 0, 10)
        == std::vector<int64_t>{utc(2026, 12, 4, 11), utc(2026, 12, 4, 12), utc(2026, 12, 4, 13)});
  s.set_end_time_ms(1);
  CHECK(check_spec(s).find("before the start") != std::string::npos);
}

TEST_CASE("excluded calendar times are skipped") {
  std::string why;
  pb::ScheduleSpec s = cron("@hourly");
  *s.add_exclude_calendar() = *parse_calendar("hour=12-13", &why);
  CHECK(nominals(compile(s), utc(2026, 12, 4, 10, 30), 3)
        == std::vector<int64_t>{utc(2026, 12, 4, 11), utc(2026, 12, 4, 14), utc(2026, 12, 4, 15)});
  // Excluding everything leaves no action time (and the search ends).
  *s.add_exclude_calendar() = *parse_calendar("hour=0-23", &why);
  CHECK_FALSE(compile(s).next(0));
}

TEST_CASE("a spec's times are the union of its parts") {
  pb::ScheduleSpec s = cron("0 12 * * *");
  s.add_interval()->set_every_ms(8 * 3'600'000);
  CHECK(nominals(compile(s), utc(2026, 12, 4, 1), 4)
        == std::vector<int64_t>{utc(2026, 12, 4, 8), utc(2026, 12, 4, 12), utc(2026, 12, 4, 16),
                                utc(2026, 12, 5, 0)});
  CHECK(compile(s).between(utc(2026, 12, 4, 1), utc(2026, 12, 4, 12), 10).size() == 2);
  CHECK_FALSE(compile(pb::ScheduleSpec{}).next(0));
}
