// Local calendar time, and ISO 8601 date-times with a zone as Open311 and the hotline exchange
// them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "whistle/status.h"

namespace whistle {

// The calendar fields of `at_ms` (Unix milliseconds) in local time at `utc_offset_minutes`.
struct LocalCalendar {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  int hour, minute, second;
};
LocalCalendar ToLocalCalendar(int64_t at_ms, int32_t utc_offset_minutes);

// "2026-11-23T10:05:00+08:00": `at_ms` (Unix milliseconds) in local time at `utc_offset_minutes`,
// to the second (milliseconds are dropped, as Open311 shows them).
std::string FormatIso8601(int64_t at_ms, int32_t utc_offset_minutes);

// Unix milliseconds of `text`, which is one of
//   YYYY-MM-DD                                   (midnight)
//   YYYY-MM-DDThh:mm[:ss[.fraction]][zone]       (a space may stand for the T)
// where zone is Z, +hh:mm, +hhmm or +hh (or -). A text without a zone is local time at
// `default_offset_minutes`. BAD_REQUEST names what is wrong.
Result<int64_t> ParseIso8601(std::string_view text, int32_t default_offset_minutes);

}  // namespace whistle
