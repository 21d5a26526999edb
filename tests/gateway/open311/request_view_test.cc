// GET requests: pb::Event -> an Open311 request.
#include <doctest/doctest.h>

#include "agents/gateway/open311.h"
#include "tests/gateway/open311/open311_city.h"
#include "tests/gateway/open311/open311_testing.h"

namespace whistle::open311 {
namespace {

using testing::BuildOpen311City;
using testing::kChina;
using testing::kGrid1;
using testing::kGrid3;
using testing::Ms;

constexpr int64_t kHourMs = 3600 * 1000;

const City& TheCity() {
  static const auto city = BuildOpen311City();
  return *city;
}

// A water report with every personal field set, dispatched at community level.
pb::Event DispatchedEvent() {
  pb::Event e;
  e.set_id(1042);
  pb::Report* r = e.mutable_report();
  r->set_category("water");
  r->set_description("水管漏水");
  r->set_address("幸福路 1 号");
  r->mutable_position()->set_lat(37.505);
  r->mutable_position()->set_lon(121.405);
  r->add_media_urls("https://img.example.cn/1.jpg");
  r->add_media_urls("https://img.example.cn/2.jpg");
  r->set_contact_name("张三");
  r->set_contact_phone("13800000001");
  r->set_contact_email("zhangsan@example.cn");
  r->set_device_id("device-secret");
  r->set_account_id("account-secret");
  r->set_reporter("reporter-secret");
  pb::AttributeAnswer* a = r->add_attributes();
  a->set_code("kind");
  a->add_values("leak");
  e.set_grid(kGrid1);
  e.set_state(pb::STATE_DISPATCHED);
  e.set_level(pb::LEVEL_COMMUNITY);
  e.add_candidates("c1-committee");
  e.add_candidates("c1-water-unit");
  e.set_created_at_ms(Ms("2026-11-23T02:05:00Z"));
  e.set_dispatched_at_ms(e.created_at_ms());
  e.set_claim_deadline_ms(e.created_at_ms() + kHourMs / 2);
  e.set_resolve_deadline_ms(e.created_at_ms() + 24 * kHourMs);
  return e;
}

// Claimed by the street office at street level, with an agent named.
pb::Event ClaimedEvent() {
  pb::Event e = DispatchedEvent();
  e.set_state(pb::STATE_CLAIMED);
  e.set_level(pb::LEVEL_STREET);
  e.clear_candidates();
  e.add_candidates("s-office");
  e.set_lead("s-office");
  e.set_claim_agent("agent-secret");
  e.set_claimed_at_ms(e.created_at_ms() + 2 * kHourMs);
  e.set_escalations(1);
  return e;
}

pb::Event ResolvedEvent() {
  pb::Event e = ClaimedEvent();
  e.set_state(pb::STATE_RESOLVED);
  e.set_resolved_by("s-office");
  e.set_resolved_at_ms(e.created_at_ms() + 5 * kHourMs);
  return e;
}

Json View(const pb::Event& e, Language language = Language::kZh, const RequestExtras& extras = {}) {
  return RequestDocument(e, TheCity(), kChina, language, extras);
}

bool Mentions(const Json& value, std::string_view what) {
  return value.get<std::string>().find(what) != std::string::npos;
}

TEST_CASE("request lists the spec's fields in order, then the extension") {
  const Json r = View(DispatchedEvent());
  std::vector<std::string> keys;
  for (auto it = r.begin(); it != r.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{
                    "service_request_id", "status", "status_notes", "service_name", "service_code",
                    "description", "agency_responsible", "service_notice", "requested_datetime",
                    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                    "lat", "long", "media_url", "extended_attributes"});
}

TEST_CASE("request of a dispatched event is open with the report's own details") {
  const Json r = View(DispatchedEvent());
  CHECK(r["service_request_id"] == "1042");
  CHECK(r["status"] == "open");
  CHECK(r["service_name"] == "供排水");
  CHECK(r["service_code"] == "water");
  CHECK(r["description"] == "水管漏水");
  CHECK(r["service_notice"] == "");
  CHECK(r["requested_datetime"] == "2026-11-23T10:05:00+08:00");
  CHECK(r["updated_datetime"] == "2026-11-23T10:05:00+08:00");
  CHECK(r["expected_datetime"] == "2026-11-24T10:05:00+08:00");
  CHECK(r["address"] == "幸福路 1 号");
  CHECK(r["address_id"] == kGrid1);
  CHECK(r["zipcode"] == "");
  CHECK(r["lat"] == 37.505);
  CHECK(r["long"] == 121.405);
  CHECK(r["media_url"] == "https://img.example.cn/1.jpg");
}

TEST_CASE("request service_name follows the language") {
  CHECK(View(DispatchedEvent(), Language::kEn)["service_name"] == "Water supply");
}

TEST_CASE("request of a dispatched event names the level and the departments offered it") {
  const Json r = View(DispatchedEvent());
  CHECK(r["status_notes"] ==
        "Offered at community level to c1-committee, c1-water-unit; waiting for one of them to "
        "take it on.");
  CHECK(r["agency_responsible"] == "c1-committee, c1-water-unit");
}

TEST_CASE("request of a claimed event names the lead by its department name") {
  const Json r = View(ClaimedEvent());
  CHECK(r["status"] == "open");
  CHECK(Mentions(r["status_notes"], "Taken on by Street Office at street level."));
  CHECK(Mentions(r["status_notes"], "Escalated 1 time."));
  CHECK(r["agency_responsible"] == "Street Office");
  CHECK(r["extended_attributes"]["claimed_by"] == "Street Office");
}

TEST_CASE("request in progress names the assisting departments") {
  pb::Event e = ClaimedEvent();
  e.set_state(pb::STATE_IN_PROGRESS);
  e.add_assists("k-bureau");
  const Json r = View(e);
  CHECK(Mentions(r["status_notes"], "In progress by Street Office at street level."));
  CHECK(Mentions(r["status_notes"], "Assisted by County Bureau."));
}

TEST_CASE("request of a resolved event is closed with the resolution note and no expected time") {
  RequestExtras extras;
  extras.resolution_note = "replaced the valve";
  const Json r = View(ResolvedEvent(), Language::kZh, extras);
  CHECK(r["status"] == "closed");
  CHECK(Mentions(r["status_notes"], "Resolved by Street Office: replaced the valve."));
  CHECK(Mentions(r["status_notes"], "Waiting for the reporter's feedback."));
  CHECK(r["expected_datetime"].is_null());
  CHECK(r["agency_responsible"] == "Street Office");
  CHECK(r["updated_datetime"] == "2026-11-23T15:05:00+08:00");
}

TEST_CASE("request of a closed event says why it closed") {
  pb::Event satisfied = ResolvedEvent();
  satisfied.set_state(pb::STATE_CLOSED);
  satisfied.mutable_feedback()->set_satisfied(true);
  satisfied.mutable_feedback()->set_at_ms(satisfied.resolved_at_ms() + kHourMs);
  satisfied.set_closed_at_ms(satisfied.resolved_at_ms() + kHourMs);
  CHECK(Mentions(View(satisfied)["status_notes"], "Closed: the reporter is satisfied."));
  CHECK(View(satisfied)["updated_datetime"] == "2026-11-23T16:05:00+08:00");

  pb::Event quiet = ResolvedEvent();
  quiet.set_state(pb::STATE_CLOSED);
  quiet.set_closed_at_ms(quiet.resolved_at_ms() + 72 * kHourMs);
  CHECK(Mentions(View(quiet)["status_notes"], "quiet period"));
  CHECK(View(quiet)["status"] == "closed");

  pb::Event after_reopen = quiet;  // satisfied once, reopened, resolved again, then quiet
  after_reopen.mutable_feedback()->set_satisfied(true);
  after_reopen.mutable_feedback()->set_at_ms(after_reopen.resolved_at_ms() - kHourMs);
  CHECK(Mentions(View(after_reopen)["status_notes"], "quiet period"));
}

TEST_CASE("request of a merged event points to the request it joined") {
  pb::Event e = DispatchedEvent();
  e.set_state(pb::STATE_MERGED);
  e.set_merged_into(7);
  const Json r = View(e);
  CHECK(r["status"] == "closed");
  CHECK(Mentions(r["status_notes"], "Merged into request 7"));
  CHECK(r["extended_attributes"]["merged_into"] == "7");
  CHECK(r["expected_datetime"].is_null());
}

TEST_CASE("request of an overdue event says it is overdue and supervised") {
  pb::Event e = DispatchedEvent();
  e.set_level(pb::LEVEL_CITY);
  e.set_overdue(true);
  e.set_supervised(true);
  CHECK(Mentions(View(e)["status_notes"], "Overdue: it missed a deadline at city level"));
  pb::Event supervised = DispatchedEvent();
  supervised.set_supervised(true);
  CHECK(Mentions(View(supervised)["status_notes"], "Under supervision."));
}

TEST_CASE("request status is open until resolved and closed after") {
  for (auto s : {pb::STATE_SUBMITTED, pb::STATE_DISPATCHED, pb::STATE_CLAIMED,
                 pb::STATE_IN_PROGRESS, pb::STATE_REOPENED}) {
    CAPTURE(s);
    CHECK(StatusOf(s) == "open");
  }
  for (auto s : {pb::STATE_RESOLVED, pb::STATE_CLOSED, pb::STATE_CANCELLED, pb::STATE_MERGED}) {
    CAPTURE(s);
    CHECK(StatusOf(s) == "closed");
  }
}

TEST_CASE("request without a position shows the grid's centre and name") {
  pb::Event e = DispatchedEvent();
  e.mutable_report()->clear_position();
  e.mutable_report()->clear_address();
  e.mutable_report()->clear_media_urls();
  e.set_grid(testing::kGrid2);
  const Json r = View(e);
  CHECK(r["lat"].get<double>() == doctest::Approx(37.505));
  CHECK(r["long"].get<double>() == doctest::Approx(121.415));
  CHECK(r["address"] == "东山网格");
  CHECK(r["media_url"] == "");
}

TEST_CASE("request without a position in a grid without a polygon has null lat and long") {
  pb::CityConfig config = testing::Open311CityConfig();
  for (pb::Region& region : *config.mutable_regions()) {
    if (region.code() == kGrid3) region.clear_polygon();
  }
  auto city = BuildOpen311City(config);
  pb::Event e = DispatchedEvent();
  e.mutable_report()->clear_position();
  e.set_grid(kGrid3);
  const Json r = RequestDocument(e, *city, kChina, Language::kZh);
  CHECK(r["lat"].is_null());
  CHECK(r["long"].is_null());
  CHECK(ToXml(Json::array({r}), kRequestsRoot).find("<lat/><long/>") != std::string::npos);
}

TEST_CASE("request updated_datetime is the newest moment known") {
  pb::Event e = ClaimedEvent();  // claimed two hours after it was created
  CHECK(View(e)["updated_datetime"] == "2026-11-23T12:05:00+08:00");
  RequestExtras extras;
  extras.last_change_ms = e.created_at_ms() + 3 * kHourMs;  // e.g. a Progressed record
  CHECK(View(e, Language::kZh, extras)["updated_datetime"] == "2026-11-23T13:05:00+08:00");
  pb::LinkedReport* link = e.add_linked();
  link->set_at_ms(e.created_at_ms() + 4 * kHourMs);
  CHECK(View(e)["updated_datetime"] == "2026-11-23T14:05:00+08:00");
}

TEST_CASE("request extension carries the engine's richer state and the answers") {
  const Json x = View(ClaimedEvent())["extended_attributes"];
  CHECK(x == Json::parse(R"({"state":"claimed","level":"street","escalations":1,"overdue":false,
      "supervised":false,"claimed_by":"Street Office","merged_into":"",
      "attributes":[{"code":"kind","values":["leak"]}]})"));
}

TEST_CASE("request never shows a personal field, in json or xml") {
  for (const pb::Event& e : {DispatchedEvent(), ClaimedEvent(), ResolvedEvent()}) {
    const Json r = View(e);
    for (const std::string& text :
         {Render(r, Format::kJson, ""), ToXml(Json::array({r}), kRequestsRoot)}) {
      for (const char* secret : {"张三", "13800000001", "zhangsan@example.cn", "device-secret",
                                 "account-secret", "reporter-secret", "agent-secret"}) {
        CAPTURE(secret);
        CHECK(text.find(secret) == std::string::npos);
      }
    }
  }
}

TEST_CASE("requests render as service_requests of request elements") {
  const std::string xml = ToXml(Json::array({View(DispatchedEvent())}), kRequestsRoot);
  CHECK(xml.find("<service_requests><request><service_request_id>1042</service_request_id>"
                 "<status>open</status>") != std::string::npos);
  CHECK(xml.find("<extended_attributes><state>dispatched</state>") != std::string::npos);
  CHECK(xml.find("<attributes><attribute><code>kind</code><values><value>leak</value></values>"
                 "</attribute></attributes>") != std::string::npos);
}

}  // namespace
}  // namespace whistle::open311
