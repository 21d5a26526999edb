#include "dispatcher/iso8601.h"

#include <chrono>

#include <fmt/format.h>

namespace whistle {
namespace {

// Reads exactly `n` digits at `*pos`; false when they are not there.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Take(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

}  // namespace

LocalCalendar ToLocalCalendar(int64_t at_ms, int32_t utc_offset_minutes) {
  using namespace std::chrono;
  auto local = sys_time<milliseconds>(milliseconds(at_ms)) + minutes(utc_offset_minutes);
  auto day = floor<days>(local);
  year_month_day ymd{day};
  hh_mm_ss hms{floor<seconds>(local - day)};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
          static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count())};
}

std::string FormatIso8601(int64_t at_ms, int32_t utc_offset_minutes) {
  LocalCalendar t = ToLocalCalendar(at_ms, utc_offset_minutes);
  int32_t off = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{:02d}:{:02d}", t.year, t.month,
                     t.day, t.hour, t.minute, t.second, utc_offset_minutes < 0 ? '-' : '+',
                     off / 60, off % 60);
}

Result<int64_t> ParseIso8601(std::string_view text, int32_t default_offset_minutes) {
  using namespace std::chrono;
  auto bad = [&](std::string_view why) {
    return BadRequest(fmt::format("'{}' is not an ISO 8601 date-time: {}",
                                  text.substr(0, 64), why));
  };
  size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!Digits(text, &pos, 4, &y) || !Take(text, &pos, '-') || !Digits(text, &pos, 2, &mo) ||
      !Take(text, &pos, '-') || !Digits(text, &pos, 2, &d)) {
    return bad("expected YYYY-MM-DD");
  }
  year_month_day ymd{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return bad("no such date");
  int64_t offset_minutes = default_offset_minutes;
  if (pos < text.size()) {
    if (!Take(text, &pos, 'T') && !Take(text, &pos, ' ')) return bad("expected T after the date");
    if (!Digits(text, &pos, 2, &h) || !Take(text, &pos, ':') || !Digits(text, &pos, 2, &mi)) {
      return bad("expected hh:mm");
    }
    if (Take(text, &pos, ':')) {
      if (!Digits(text, &pos, 2, &sec)) return bad("expected seconds");
      if (Take(text, &pos, '.') || Take(text, &pos, ',')) {
        size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == start) return bad("expected a fraction of a second");
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return bad("time out of range");
    if (Take(text, &pos, 'Z') || Take(text, &pos, 'z')) {
      offset_minutes = 0;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int oh = 0, om = 0;
      if (!Digits(text, &pos, 2, &oh)) return bad("expected the zone's hours");
      Take(text, &pos, ':');
      if (pos < text.size() && !Digits(text, &pos, 2, &om)) return bad("expected the zone's minutes");
      if (oh > 14 || om > 59) return bad("zone out of range");
      offset_minutes = sign * (oh * 60 + om);
    }
  }
  if (pos != text.size()) return bad("unexpected characters at the end");
  auto local = sys_days(ymd) + hours(h) + minutes(mi) + seconds(sec);
  return duration_cast<milliseconds>((local - minutes(offset_minutes)).time_since_epoch()).count();
}

}  // namespace whistle
