// ISO 8601 date-times as Open311 and the hotline exchange them.
#include <doctest/doctest.h>

#include "dispatcher/iso8601.h"

namespace whistle {
namespace {

constexpr int64_t k20261123T0900Beijing = 1795395600000;  // 01:00 UTC

TEST_CASE("a time is written in local time with its zone, to the second") {
  CHECK(FormatIso8601(k20261123T0900Beijing, 480) == "2026-11-23T09:00:00+08:00");
  CHECK(FormatIso8601(k20261123T0900Beijing + 999, 480) == "2026-11-23T09:00:00+08:00");
  CHECK(FormatIso8601(k20261123T0900Beijing, 0) == "2026-11-23T01:00:00+00:00");
  CHECK(FormatIso8601(k20261123T0900Beijing, -330) == "2026-11-22T19:30:00-05:30");
  CHECK(FormatIso8601(0, 0) == "1970-01-01T00:00:00+00:00");
}

TEST_CASE("every accepted form reads back the same instant") {
  for (const char* text : {"2026-11-23T09:00:00+08:00", "2026-11-23T01:00:00Z", "2026-11-23T01:00Z",
                           "2026-11-23T09:00:00.000+08:00", "2026-11-23 09:00:00+0800",
                           "2026-11-23T09:00+08", "2026-11-22T20:00:00-05:00",
                           "2026-11-23T09:00:00"}) {
    CAPTURE(text);
    auto t = ParseIso8601(text, 480);
    REQUIRE(t.ok());
    CHECK(*t == k20261123T0900Beijing);
  }
  auto midnight = ParseIso8601("2026-11-23", 480);
  REQUIRE(midnight.ok());
  CHECK(*midnight == k20261123T0900Beijing - 9 * 3600 * 1000);
  auto round_trip = ParseIso8601(FormatIso8601(k20261123T0900Beijing, -330), 480);
  REQUIRE(round_trip.ok());
  CHECK(*round_trip == k20261123T0900Beijing);
}

TEST_CASE("malformed date-times are refused with the reason") {
  for (const char* text : {"", "2026", "2026-13-01", "2026-02-30", "2026-11-23T25:00", "2026-11-23T09",
                           "2026-11-23T09:00:00+08:00x", "2026-11-23X09:00", "23/11/2026",
                           "2026-11-23T09:00:00+15:00", "2026-11-23T09:00:00."}) {
    CAPTURE(text);
    auto t = ParseIso8601(text, 480);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().code() == pb::STATUS_BAD_REQUEST);
    CHECK(t.status().message().find("ISO 8601") != std::string::npos);
  }
}

}  // namespace
}  // namespace whistle
