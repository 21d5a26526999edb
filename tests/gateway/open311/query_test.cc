// GET requests' query parameters.
#include <doctest/doctest.h>

#include "agents/gateway/open311.h"
#include "tests/gateway/open311/open311_city.h"
#include "tests/gateway/open311/open311_testing.h"

namespace whistle::open311 {
namespace {

using testing::kChina;
using testing::Mentions;
using testing::Ms;

Result<RequestQuery> ParseQuery(const Params& query) {
  static const auto city = testing::BuildOpen311City();
  return ParseRequestQuery(query, *city, kChina);
}

// The refusal's message. REQUIRES: the query is refused with BAD_REQUEST.
std::string QueryRefusal(const Params& query) {
  auto q = ParseQuery(query);
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().code() == pb::STATUS_BAD_REQUEST);
  return q.status().message();
}

TEST_CASE("request id is a decimal uint64") {
  CHECK(*ParseRequestId("1042") == 1042u);
  CHECK(*ParseRequestId("0") == 0u);
  CHECK(*ParseRequestId("18446744073709551615") == 18446744073709551615ULL);
}

TEST_CASE("request id refuses anything but decimal digits that fit") {
  for (const char* bad : {"", "-1", "+1", "12a", "0x10", " 1", "1.0", "18446744073709551616"}) {
    CAPTURE(bad);
    auto id = ParseRequestId(bad);
    REQUIRE_FALSE(id.ok());
    CHECK(id.status().code() == pb::STATUS_BAD_REQUEST);
    CHECK(Mentions(id.status().message(), "service_request_id"));
  }
}

TEST_CASE("query without parameters asks for everything") {
  auto q = ParseQuery({});
  REQUIRE(q.ok());
  CHECK(q->ids.empty());
  CHECK(q->service_codes.empty());
  CHECK(q->open);
  CHECK(q->closed);
  CHECK_FALSE(q->dates.start_ms.has_value());
  CHECK_FALSE(q->dates.end_ms.has_value());
}

TEST_CASE("query reads comma lists with blanks and repeated parameters") {
  auto q = ParseQuery({{"service_request_id", "3, 1,,2"}, {"service_request_id", "9"}});
  REQUIRE(q.ok());
  CHECK(q->ids == std::vector<uint64_t>{3, 1, 2, 9});
}

TEST_CASE("query refuses an id that is not a number, naming it") {
  CHECK(Mentions(QueryRefusal({{"service_request_id", "1,abc"}}), "'abc'"));
}

TEST_CASE("query ids override every other parameter") {
  auto q = ParseQuery({{"service_request_id", "5"},
                  {"service_code", "nonsense"},
                  {"status", "maybe"},
                  {"start_date", "yesterday"}});
  REQUIRE(q.ok());
  CHECK(q->ids == std::vector<uint64_t>{5});
  CHECK(q->service_codes.empty());
}

TEST_CASE("query refuses more ids than one answer may hold") {
  std::string ids;
  for (int i = 0; i <= kMaxSearchResults; ++i) ids += std::to_string(i) + ",";
  CHECK(Mentions(QueryRefusal({{"service_request_id", ids}}), "1001 service_request_ids"));
}

TEST_CASE("query reads service codes and refuses an unknown one") {
  auto q = ParseQuery({{"service_code", "water,noise"}});
  REQUIRE(q.ok());
  CHECK(q->service_codes == std::vector<std::string>{"water", "noise"});
  CHECK(Mentions(QueryRefusal({{"service_code", "water,potholes"}}), "service_code 'potholes'"));
}

TEST_CASE("query status selects open, closed or both") {
  auto open = ParseQuery({{"status", "open"}});
  REQUIRE(open.ok());
  CHECK(open->open);
  CHECK_FALSE(open->closed);
  auto closed = ParseQuery({{"status", "Closed"}});
  REQUIRE(closed.ok());
  CHECK_FALSE(closed->open);
  CHECK(closed->closed);
  auto both = ParseQuery({{"status", "open,closed"}});
  REQUIRE(both.ok());
  CHECK(both->open);
  CHECK(both->closed);
  auto empty = ParseQuery({{"status", ""}});
  REQUIRE(empty.ok());
  CHECK(empty->open);
  CHECK(empty->closed);
}

TEST_CASE("query refuses a status other than open or closed") {
  CHECK(Mentions(QueryRefusal({{"status", "open,fixed"}}), "status 'fixed'"));
}

TEST_CASE("query reads dates with a zone, and without one in the city's time") {
  auto q = ParseQuery({{"start_date", "2026-11-01T00:00:00Z"}, {"end_date", "2026-11-23"}});
  REQUIRE(q.ok());
  CHECK(*q->dates.start_ms == Ms("2026-11-01T00:00:00Z"));
  CHECK(*q->dates.end_ms == Ms("2026-11-22T16:00:00Z"));  // midnight at +08:00
}

TEST_CASE("query treats empty dates as absent") {
  auto q = ParseQuery({{"start_date", ""}, {"end_date", ""}});
  REQUIRE(q.ok());
  CHECK_FALSE(q->dates.start_ms.has_value());
  CHECK_FALSE(q->dates.end_ms.has_value());
}

TEST_CASE("query refuses a date that does not parse, naming the parameter") {
  CHECK(Mentions(QueryRefusal({{"start_date", "2026-13-01"}}), "start_date"));
  CHECK(Mentions(QueryRefusal({{"end_date", "soon"}}), "end_date"));
}

TEST_CASE("query refuses a start after the end") {
  CHECK(Mentions(QueryRefusal({{"start_date", "2026-11-02"}, {"end_date", "2026-11-01"}}),
                 "start_date is after end_date"));
}

TEST_CASE("query may span 90 days but not more") {
  CHECK(ParseQuery({{"start_date", "2026-01-01T00:00:00Z"}, {"end_date", "2026-04-01T00:00:00Z"}}).ok());
  CHECK(Mentions(
      QueryRefusal({{"start_date", "2026-01-01T00:00:00Z"}, {"end_date", "2026-04-01T00:00:01Z"}}),
      "more than 90 days"));
}

TEST_CASE("date range alone serves servicerequestupdates without a span limit") {
  auto r = ParseDateRange({{"start_date", "2025-01-01"}, {"end_date", "2026-01-01"}}, 0);
  REQUIRE(r.ok());
  CHECK(*r->end_ms - *r->start_ms == 365LL * 24 * 3600 * 1000);
  auto twice = ParseDateRange({{"start_date", "2025-01-01"}, {"start_date", "2025-01-02"}}, 0);
  REQUIRE_FALSE(twice.ok());
  CHECK(Mentions(twice.status().message(), "start_date is given more than once"));
}

}  // namespace
}  // namespace whistle::open311
