// GET servicerequestupdates (FixMyStreet): pb::Record -> request_update.
#include <doctest/doctest.h>

#include "agents/gateway/open311.h"
#include "tests/gateway/open311/open311_city.h"
#include "tests/gateway/open311/open311_testing.h"

namespace whistle::open311 {
namespace {

using testing::kChina;

pb::Record NewRecord(uint32_t event_seq = 5) {
  pb::Record r;
  r.set_seq(9001);
  r.set_event_id(1042);
  r.set_event_seq(event_seq);
  r.set_at_ms(*ParseIso8601("2026-11-23T02:05:00Z", 0));
  r.mutable_actor()->set_principal("principal-secret");
  return r;
}

std::optional<Json> Update(const pb::Record& r) {
  static const auto city = testing::BuildOpen311City();
  return UpdateDocument(r, *city, kChina);
}

std::string UpdateStatus(const pb::Record& r) {
  auto u = Update(r);
  REQUIRE(u.has_value());
  return (*u)["status"].get<std::string>();
}

std::string DescriptionOf(const pb::Record& r) {
  auto u = Update(r);
  REQUIRE(u.has_value());
  return (*u)["description"].get<std::string>();
}

TEST_CASE("update carries the record's seq, event, time and an empty media_url") {
  pb::Record r = NewRecord();
  r.mutable_claimed()->set_department("s-office");
  auto u = Update(r);
  REQUIRE(u.has_value());
  CHECK(*u == Json::parse(R"({"update_id":"9001","service_request_id":"1042",
      "status":"INVESTIGATING","updated_datetime":"2026-11-23T10:05:00+08:00",
      "description":"Taken on by Street Office.","media_url":""})"));
}

TEST_CASE("update renders under service_request_updates as request_update items") {
  pb::Record r = NewRecord();
  r.mutable_claimed()->set_department("s-office");
  const std::string xml = ToXml(Json::array({*Update(r)}), kUpdatesRoot);
  CHECK(xml.find("<service_request_updates><request_update><update_id>9001</update_id>") !=
        std::string::npos);
}

TEST_CASE("update for the first dispatch is open and names the departments offered it") {
  pb::Record r = NewRecord(1);
  r.mutable_dispatched()->set_level(pb::LEVEL_COMMUNITY);
  r.mutable_dispatched()->add_candidates("c1-committee");
  r.mutable_dispatched()->add_candidates("c1-water-unit");
  CHECK(UpdateStatus(r) == "OPEN");
  CHECK(DescriptionOf(r) ==
        "Received and offered at community level to c1-committee, c1-water-unit.");
}

TEST_CASE("update is not made for a later dispatch: the record before it told the story") {
  pb::Record r = NewRecord(4);
  r.mutable_dispatched()->set_level(pb::LEVEL_STREET);
  CHECK_FALSE(Update(r).has_value());
}

TEST_CASE("update for a release is open again, with the reason") {
  pb::Record r = NewRecord();
  r.mutable_released()->set_department("s-office");
  r.mutable_released()->set_reason("wrong district");
  CHECK(UpdateStatus(r) == "OPEN");
  CHECK(DescriptionOf(r) == "Given back by Street Office and offered again: wrong district");
}

TEST_CASE("update for progress is in progress, with the note") {
  pb::Record r = NewRecord();
  r.mutable_progressed()->set_department("s-office");
  r.mutable_progressed()->set_note("crew on site");
  CHECK(UpdateStatus(r) == "IN_PROGRESS");
  CHECK(DescriptionOf(r) == "In progress at Street Office: crew on site");
}

TEST_CASE("update for a resolution is fixed, with the note") {
  pb::Record r = NewRecord();
  r.mutable_resolved()->set_department("s-office");
  r.mutable_resolved()->set_note("valve replaced");
  CHECK(UpdateStatus(r) == "FIXED");
  CHECK(DescriptionOf(r) == "Resolved by Street Office: valve replaced");
  r.mutable_resolved()->clear_note();
  CHECK(DescriptionOf(r) == "Resolved by Street Office.");
}

TEST_CASE("update for a close is fixed whichever the cause") {
  pb::Record satisfied = NewRecord();
  satisfied.mutable_closed()->set_cause(pb::CLOSE_SATISFIED);
  CHECK(UpdateStatus(satisfied) == "FIXED");
  CHECK(DescriptionOf(satisfied).find("satisfied") != std::string::npos);
  pb::Record quiet = NewRecord();
  quiet.mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
  CHECK(UpdateStatus(quiet) == "FIXED");
  CHECK(DescriptionOf(quiet).find("quiet period") != std::string::npos);
}

TEST_CASE("update for a reopen is open, with the reason") {
  pb::Record r = NewRecord();
  r.mutable_reopened()->set_reason("unsatisfied feedback");
  CHECK(UpdateStatus(r) == "OPEN");
  CHECK(DescriptionOf(r) == "Reopened: unsatisfied feedback");
}

TEST_CASE("update for a cancel is no further action") {
  pb::Record r = NewRecord();
  r.mutable_cancelled()->set_reason("reported in error");
  CHECK(UpdateStatus(r) == "NO_FURTHER_ACTION");
  CHECK(DescriptionOf(r) == "Cancelled: reported in error");
}

TEST_CASE("update for a merge is duplicate, naming the request it joined") {
  pb::Record r = NewRecord();
  r.mutable_merged_into()->set_into_event_id(77);
  CHECK(UpdateStatus(r) == "DUPLICATE");
  CHECK(DescriptionOf(r) == "Merged into request 77, which reports the same problem.");
}

TEST_CASE("update for a return stays open: another department or level takes it") {
  pb::Record r = NewRecord();
  r.mutable_returned()->set_department("c1-water-unit");
  r.mutable_returned()->set_reason("not our pipe");
  CHECK(UpdateStatus(r) == "OPEN");
  CHECK(DescriptionOf(r) == "Returned by c1-water-unit to be passed on: not our pipe");
}

TEST_CASE("update for a whistle stays open and names the level called in") {
  pb::Record r = NewRecord();
  r.mutable_whistled()->set_department("s-office");
  r.mutable_whistled()->set_reason("needs the county");
  CHECK(UpdateStatus(r) == "OPEN");
  CHECK(DescriptionOf(r) ==
        "Street Office called in the next level up (county level): needs the county");
}

TEST_CASE("update is not made for the escalation a whistle causes") {
  pb::Record r = NewRecord();
  r.mutable_escalated()->set_from_level(pb::LEVEL_STREET);
  r.mutable_escalated()->set_to_level(pb::LEVEL_COUNTY);
  r.mutable_escalated()->set_cause(pb::ESCALATION_WHISTLE);
  CHECK_FALSE(Update(r).has_value());
}

TEST_CASE("update for an escalation by deadline stays open and gives the levels and cause") {
  pb::Record r = NewRecord();
  r.mutable_escalated()->set_from_level(pb::LEVEL_COMMUNITY);
  r.mutable_escalated()->set_to_level(pb::LEVEL_STREET);
  r.mutable_escalated()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
  CHECK(UpdateStatus(r) == "OPEN");
  CHECK(DescriptionOf(r) == "Escalated from community to street level: nobody took it on in time.");
  r.mutable_escalated()->set_cause(pb::ESCALATION_ALL_RETURNED);
  CHECK(DescriptionOf(r).find("every department at that level returned it") != std::string::npos);
}

TEST_CASE("update for overdue is open when unclaimed and investigating while held") {
  pb::Record unclaimed = NewRecord();
  unclaimed.mutable_marked_overdue()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
  CHECK(UpdateStatus(unclaimed) == "OPEN");
  CHECK(DescriptionOf(unclaimed) ==
        "Overdue at city level: nobody took it on in time; it is now under supervision.");
  pb::Record held = NewRecord();
  held.mutable_marked_overdue()->set_cause(pb::ESCALATION_RESOLVE_DEADLINE);
  held.mutable_marked_overdue()->set_holder("city-bureau");
  CHECK(UpdateStatus(held) == "INVESTIGATING");
  CHECK(DescriptionOf(held) ==
        "Overdue at city level: it was not resolved in time by city-bureau; it is now under "
        "supervision.");
}

TEST_CASE("update is never a closed fixmystreet state for an event still being handled") {
  // INTERNAL_REFERRAL and NOT_COUNCILS_RESPONSIBILITY are closed states in FixMyStreet.
  std::vector<pb::Record> records(5, NewRecord());
  records[0].mutable_returned()->set_department("c1-committee");
  records[1].mutable_whistled()->set_department("c1-committee");
  records[2].mutable_escalated()->set_cause(pb::ESCALATION_RESOLVE_DEADLINE);
  records[3].mutable_marked_overdue()->set_cause(pb::ESCALATION_RESOLVE_DEADLINE);
  records[4].mutable_released()->set_department("c1-committee");
  for (const pb::Record& r : records) {
    const std::string status = UpdateStatus(r);
    CHECK(status != "INTERNAL_REFERRAL");
    CHECK(status != "NOT_COUNCILS_RESPONSIBILITY");
  }
}

TEST_CASE("update is not made for records that change nothing a reporter follows") {
  std::vector<pb::Record> records(8, NewRecord());
  records[0].mutable_submitted()->mutable_report()->set_contact_phone("13800000001");
  records[1].mutable_report_linked()->mutable_link()->set_reporter("someone");
  records[2].mutable_supervised()->set_note("watch it");
  records[3].mutable_feedback_given()->mutable_feedback()->set_satisfied(true);
  records[4].mutable_assist_joined()->set_department("k-bureau");
  records[5].mutable_deadlines_replanned()->set_mode(pb::MODE_EMERGENCY);
  records[6].mutable_mode_changed()->set_region("370602");
  // records[7] has no body at all.
  for (const pb::Record& r : records) {
    CAPTURE(r.body_case());
    CHECK_FALSE(Update(r).has_value());
  }
}

TEST_CASE("update never shows the actor's principal") {
  pb::Record r = NewRecord();
  r.mutable_resolved()->set_department("s-office");
  CHECK(Render(*Update(r), Format::kJson, "").find("principal-secret") == std::string::npos);
}

}  // namespace
}  // namespace whistle::open311
