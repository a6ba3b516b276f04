#include "shards/time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace chronicle::schedules {

namespace {

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Big-endian readers over the file's bytes; `ok` turns false on a read past the end.
struct reader {
  std::string_view b;
  size_t pos = 0;
  bool ok = true;
  bool need(size_t n) {
    if (pos + n > b.size()) ok = false;
    return ok;
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[pos++]);
    return v;
  }
  int64_t i64() {
    if (!need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b[pos++]);
    return static_cast<int64_t>(v);
  }
  uint8_t u8() { return need(1) ? static_cast<uint8_t>(b[pos++]) : 0; }
  void skip(size_t n) {
    if (need(n)) pos += n;
  }
};

struct tzif_header {
  char version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool read_header(reader& r, tzif_header* h) {
  if (!r.need(20) || r.b.substr(r.pos, 4) != "TZif") return false;
  r.pos += 4;
  h->version = static_cast<char>(r.u8());
  r.skip(15);
  h->isutcnt = r.u32();
  h->isstdcnt = r.u32();
  h->leapcnt = r.u32();
  h->timecnt = r.u32();
  h->typecnt = r.u32();
  h->charcnt = r.u32();
  return r.ok && h->typecnt > 0 && h->typecnt < 256;
}

// The size of a version-1 data block (4-byte times), skipped to reach the 64-bit one.
size_t v1_block_size(const tzif_header& h) {
  return h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
}

// --- POSIX TZ strings ---

struct posix_parser {
  std::string_view s;
  size_t pos = 0;
  bool at_end() const { return pos >= s.size(); }
  char peek() const { return at_end() ? '\0' : s[pos]; }
  bool name() {  // an abbreviation: 3+ letters, or <...>
    if (peek() == '<') {
      auto close = s.find('>', pos);
      if (close == std::string_view::npos) return false;
      pos = close + 1;
      return true;
    }
    size_t start = pos;
    while (!at_end() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    return pos - start >= 3;
  }
  bool number(int max, int* out) {
    size_t start = pos;
    int v = 0;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      v = v * 10 + (s[pos++] - '0');
      if (v > max) return false;
    }
    *out = v;
    return pos > start;
  }
  // [+-]hh[:mm[:ss]] as seconds (hours up to 167, as TZif version 3 allows).
  bool hms(int32_t* out) {
    int sign = 1;
    if (peek() == '+' || peek() == '-') sign = s[pos++] == '-' ? -1 : 1;
    int h = 0, m = 0, sec = 0;
    if (!number(167, &h)) return false;
    if (peek() == ':') {
      ++pos;
      if (!number(59, &m)) return false;
      if (peek() == ':') {
        ++pos;
        if (!number(59, &sec)) return false;
      }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool change(time_zone::posix_rule::change* c) {
    if (peek() == 'M') {
      ++pos;
      c->kind = 'M';
      if (!number(12, &c->month) || c->month < 1 || peek() != '.') return false;
      ++pos;
      if (!number(5, &c->week) || c->week < 1 || peek() != '.') return false;
      ++pos;
      if (!number(6, &c->day)) return false;
    } else if (peek() == 'J') {
      ++pos;
      c->kind = 'J';
      if (!number(365, &c->day) || c->day < 1) return false;
    } else {
      c->kind = 'D';
      if (!number(365, &c->day)) return false;
    }
    c->time = 7200;
    if (peek() == '/') {
      ++pos;
      if (!hms(&c->time)) return false;
    }
    return true;
  }
};

// The day (days since the epoch) a change rule names in `year`.
int64_t change_day(const time_zone::posix_rule::change& c, int64_t year) {
  auto jan1 = days_from_civil(year, 1, 1);
  if (c.kind == 'J') return jan1 + c.day - 1 + (is_leap(year) && c.day >= 60 ? 1 : 0);
  if (c.kind == 'D') return jan1 + c.day;
  auto first = days_from_civil(year, c.month, 1);
  int day = 1 + (c.day - weekday_of(first) + 7) % 7 + (c.week - 1) * 7;
  while (day > days_in_month(year, c.month)) day -= 7;
  return first + day - 1;
}

}  // namespace

int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

civil_time civil_from_seconds(int64_t unix_seconds) {
  int64_t z = floor_div(unix_seconds, 86400);
  int64_t secs = unix_seconds - z * 86400;
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  civil_time c;
  c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c.year = yoe + era * 400 + (c.month <= 2);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  return c;
}

int64_t seconds_from_civil(const civil_time& c) {
  return days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
}

int weekday_of(int64_t days) { return static_cast<int>(((days % 7) + 11) % 7); }

int days_in_month(int64_t year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

time_zone time_zone::utc() {
  time_zone z;
  z.name_ = "UTC";
  return z;
}

std::optional<time_zone::posix_rule> time_zone::parse_posix(std::string_view tz) {
  posix_parser p{tz};
  posix_rule r;
  if (!p.name() || !p.hms(&r.std_offset)) return std::nullopt;
  r.std_offset = -r.std_offset;  // POSIX counts west of UTC
  if (p.at_end()) return r;
  if (!p.name()) return std::nullopt;
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (p.peek() != ',') {
    if (!p.hms(&r.dst_offset)) return std::nullopt;
    r.dst_offset = -r.dst_offset;
  }
  if (p.peek() != ',') return std::nullopt;  // no rule: POSIX's default rules are not supported
  ++p.pos;
  if (!p.change(&r.start) || p.peek() != ',') return std::nullopt;
  ++p.pos;
  if (!p.change(&r.end) || !p.at_end()) return std::nullopt;
  return r;
}

std::optional<time_zone> time_zone::parse_tzif(std::string_view bytes, std::string name,
                                               std::string* why) {
  reader r{bytes};
  tzif_header h;
  auto fail = [&](const std::string& what) -> std::optional<time_zone> {
    *why = "time zone '" + name + "': " + what;
    return std::nullopt;
  };
  if (!read_header(r, &h)) return fail("not a TZif file");
  bool wide = h.version >= '2';
  if (wide) {
    r.skip(v1_block_size(h));
    if (!read_header(r, &h)) return fail("malformed 64-bit header");
  }
  if (h.leapcnt > 0) return fail("zone files with leap seconds are not supported");
  time_zone z;
  z.name_ = std::move(name);
  std::vector<int64_t> times(h.timecnt);
  for (auto& t : times) t = wide ? r.i64() : static_cast<int32_t>(r.u32());
  std::vector<uint8_t> idx(h.timecnt);
  for (auto& i : idx) i = r.u8();
  std::vector<int32_t> type_offsets(h.typecnt);
  for (auto& o : type_offsets) {
    o = static_cast<int32_t>(r.u32());
    r.skip(2);
  }
  r.skip(h.charcnt + h.isstdcnt + h.isutcnt);
  if (!r.ok) return fail("truncated file");
  for (size_t i = 0; i < times.size(); ++i) {
    if (idx[i] >= h.typecnt) return fail("bad local time type index");
    if (i > 0 && times[i] <= times[i - 1]) return fail("transitions out of order");
  }
  z.transitions_ = std::move(times);
  for (auto i : idx) z.offsets_.push_back(type_offsets[i]);
  z.initial_offset_ = type_offsets[0];
  if (wide && r.pos < bytes.size() && bytes[r.pos] == '\n') {
    auto end = bytes.find('\n', r.pos + 1);
    if (end == std::string_view::npos) return fail("unterminated footer");
    auto footer = bytes.substr(r.pos + 1, end - r.pos - 1);
    if (!footer.empty()) {
      z.rule_ = parse_posix(footer);
      if (!z.rule_) return fail("unsupported footer rule '" + std::string(footer) + "'");
    }
  }
  return z;
}

std::optional<time_zone> time_zone::load(std::string_view name, std::string* why,
                                         const std::string& dir) {
  if (name.empty() || name == "UTC" || name == "Z") return utc();
  bool plain = name.size() < 256 && name.front() != '/' && name.find("..") == std::string_view::npos
               && std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_'
                           || c == '-' || c == '+';
                  });
  if (!plain) {
    *why = "time zone '" + std::string(name) + "' is not a tz database name (e.g. Europe/Paris)";
    return std::nullopt;
  }
  std::ifstream in(dir + "/" + std::string(name), std::ios::binary);
  std::stringstream bytes;
  if (in) bytes << in.rdbuf();
  if (!in || bytes.str().empty()) {
    *why = "unknown time zone '" + std::string(name) + "' (not in " + dir + ")";
    return std::nullopt;
  }
  return parse_tzif(bytes.str(), std::string(name), why);
}

int32_t time_zone::rule_offset_at(int64_t t) const {
  const auto& r = *rule_;
  if (!r.has_dst) return r.std_offset;
  auto year = civil_from_seconds(t + r.std_offset).year;
  // Start is given in standard time, end in daylight time (POSIX).
  int64_t start = change_day(r.start, year) * 86400 + r.start.time - r.std_offset;
  int64_t end = change_day(r.end, year) * 86400 + r.end.time - r.dst_offset;
  bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
  return dst ? r.dst_offset : r.std_offset;
}

int32_t time_zone::offset_at(int64_t t) const {
  if (transitions_.empty()) return rule_ ? rule_offset_at(t) : initial_offset_;
  if (t < transitions_.front()) return initial_offset_;
  if (t >= transitions_.back() && rule_) return rule_offset_at(t);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

civil_time time_zone::to_civil(int64_t t) const { return civil_from_seconds(t + offset_at(t)); }

int64_t time_zone::to_unix(const civil_time& c) const {
  int64_t local = seconds_from_civil(c);
  // The offsets in force around this wall-clock time (zones change at most once a day).
  int32_t a = offset_at(local - 86400), b = offset_at(local + 86400);
  std::optional<int64_t> best;
  for (auto o : {a, b}) {
    int64_t u = local - o;
    if (offset_at(u) == o && (!best || u < *best)) best = u;
  }
  if (best) return *best;
  // In a gap: the offset before the change is the one in force at the earliest reading.
  return local - offset_at(local - std::max(a, b));
}

}  // namespace chronicle::schedules
