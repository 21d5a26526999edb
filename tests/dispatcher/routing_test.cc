// Submit, routing, returns, mode switches, reopen, merge and duplicates.
#include <doctest/doctest.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "dispatcher/lifecycle.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;
using testing::kGrid1;
using testing::TestActor;

pb::Request GetQueryOf(uint64_t id) {
  pb::Request r;
  r.mutable_get()->set_event_id(id);
  return r;
}

pb::Response SubmitAt(EngineFixture& f, double lon, double lat, const std::string& category = "water") {
  pb::Request r;
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category(category);
  report->mutable_position()->set_lon(lon);
  report->mutable_position()->set_lat(lat);
  return f.Run(std::move(r));
}

TEST_CASE("a report is offered to the departments of its community that answer its category") {
  EngineFixture f;
  pb::Event water = f.EventOf(f.SubmitOk("water", kGrid1));
  CHECK(std::vector<std::string>(water.candidates().begin(), water.candidates().end()) ==
        std::vector<std::string>{"c1-committee", "c1-water-unit"});
  pb::Event noise = f.EventOf(f.SubmitOk("noise", kGrid1));
  CHECK(std::vector<std::string>(noise.candidates().begin(), noise.candidates().end()) ==
        std::vector<std::string>{"c1-committee"});
}

TEST_CASE("a report with only a position is placed in the grid that contains it") {
  EngineFixture f;
  pb::Response r = SubmitAt(f, 121.415, 37.505);  // inside the second grid
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().grid() == testing::kGrid2);
}

TEST_CASE("a position outside every grid is refused naming the position") {
  EngineFixture f;
  pb::Response r = SubmitAt(f, 116.4, 39.9);
  CHECK(r.code() == pb::STATUS_NOT_FOUND);
  CHECK(r.message() == "position (116.400000, 39.900000) is in no grid of the city");
  CHECK(f.engine().state().next_event_id() == 1);
}

TEST_CASE("submit refuses unknown categories, unknown grids, non-grid regions and empty places") {
  EngineFixture f;
  CHECK(f.Submit("plumbing", kGrid1).message() == "unknown category 'plumbing'");
  CHECK(f.Submit("water", "370602001001-99").message() == "unknown grid '370602001001-99'");
  pb::Response community = f.Submit("water", testing::kCommunity1);
  CHECK(community.code() == pb::STATUS_BAD_REQUEST);
  CHECK(community.message() == "region '370602001001' is a community, not a grid");
  CHECK(f.Submit("water", "").message() == "a report needs a grid or a position");
  CHECK(f.engine().state().next_event_id() == 1);
}

TEST_CASE("a description of 4,000 Chinese characters is kept, a longer one is refused") {
  EngineFixture f;
  pb::Request r;
  r.set_request_id("long");
  r.mutable_submit()->mutable_report()->set_category("water");
  r.mutable_submit()->mutable_report()->set_grid(kGrid1);
  std::string four_thousand;
  for (int i = 0; i < 4000; ++i) four_thousand += "漏";  // 3 bytes each
  r.mutable_submit()->mutable_report()->set_description(four_thousand);
  CHECK(f.Run(r).code() == pb::STATUS_OK);
  r.set_request_id("too-long");
  r.mutable_submit()->mutable_report()->set_description(std::string(16001, 'x'));
  pb::Response reply = f.Run(r);
  CHECK(reply.code() == pb::STATUS_BAD_REQUEST);
  CHECK(reply.message() == "description is 16001 bytes; the limit is 16000");
}

TEST_CASE("a return re-routes to the remaining candidates with fresh deadlines") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1);
  f.clock.Advance(10min);
  pb::Response r = f.Return(id, "c1-committee", 0, "water mains belong to the water company");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  pb::Event e = r.event().event();
  CHECK(e.level() == pb::LEVEL_COMMUNITY);
  CHECK(std::vector<std::string>(e.candidates().begin(), e.candidates().end()) ==
        std::vector<std::string>{"c1-water-unit"});
  CHECK(e.returned_by(0) == "c1-committee");
  CHECK(e.claim_deadline_ms() == testing::kStartMs + 40 * 60 * 1000);
  CHECK(f.Claim(id, "c1-committee").code() == pb::STATUS_NOT_ASSIGNED);
  auto history = f.HistoryOf(id);
  REQUIRE(history[history.size() - 2].has_returned());
  CHECK_FALSE(history[history.size() - 2].returned().held_claim());  // an offer declined
}

TEST_CASE("when every candidate returns the event it climbs to the next level") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1);
  REQUIRE(f.Return(id, "c1-committee", 0).code() == pb::STATUS_OK);
  uint64_t claim = f.ClaimOk(id, "c1-water-unit");
  pb::Response r = f.Return(id, "c1-water-unit", claim, "needs the street");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().level() == pb::LEVEL_STREET);
  CHECK(r.event().event().returned_by_size() == 0);
  auto history = f.HistoryOf(id);
  CHECK(history[history.size() - 2].escalated().cause() == pb::ESCALATION_ALL_RETURNED);
  REQUIRE(history[history.size() - 3].has_returned());
  CHECK(history[history.size() - 3].returned().held_claim());  // a claimed task given back (退单)
}

TEST_CASE("a return needs a reason") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Response r = f.Return(id, "c1-committee", 0, "");
  CHECK(r.code() == pb::STATUS_BAD_REQUEST);
  CHECK(r.message() == "reason is required");
}

TEST_CASE("the last candidate at city level cannot return the event") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1);
  for (int i = 0; i < 3; ++i) {
    f.clock.Set(f.EventOf(id).timer_due_ms());
    REQUIRE(f.engine().FireDueTimers() == 1);
  }
  REQUIRE(f.EventOf(id).level() == pb::LEVEL_CITY);
  pb::Response r = f.Return(id, "city-bureau", 0);
  CHECK(r.code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK(r.message() == "cannot return event 1: 'city-bureau' is its last candidate at city level; ask a supervisor");
}

TEST_CASE("switching a region to emergency re-plans open events' deadlines from their dispatch time") {
  EngineFixture f;
  uint64_t inside = f.SubmitOk("water", kGrid1);
  uint64_t outside_region = f.SubmitOk("water", testing::kGrid3);
  f.clock.Advance(5min);
  pb::Response r = f.SetMode(testing::kCommunity1, pb::MODE_EMERGENCY);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.mode().replanned_events() == 1);

  pb::Event e = f.EventOf(inside);
  CHECK(e.mode() == pb::MODE_EMERGENCY);
  CHECK(e.claim_deadline_ms() == testing::kStartMs + 30 * 60 * 1000 / 4);
  CHECK(e.resolve_deadline_ms() == testing::kStartMs + 24 * 3600 * 1000LL / 4);
  CHECK(f.EventOf(outside_region).mode() == pb::MODE_NORMAL);

  // New reports in the region are planned in emergency mode at once.
  pb::Event fresh = f.EventOf(f.SubmitOk("noise", testing::kGrid2));
  CHECK(fresh.mode() == pb::MODE_EMERGENCY);

  // And back to normal.
  REQUIRE(f.SetMode(testing::kCommunity1, pb::MODE_NORMAL).mode().replanned_events() == 2);
  CHECK(f.EventOf(inside).claim_deadline_ms() == testing::kStartMs + 30 * 60 * 1000);
}

TEST_CASE("a mode switch whose shorter deadline has already passed escalates on the next tick") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1);
  f.clock.Advance(10min);  // emergency claim deadline is 7.5 min after dispatch
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).code() == pb::STATUS_OK);
  CHECK(f.engine().FireDueTimers() == 1);
  CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);
}

// The DeadlinesReplanned records of a batch's committed records, by event id.
std::vector<uint64_t> ReplannedIn(const std::vector<pb::Record>& records) {
  std::vector<uint64_t> ids;
  for (const pb::Record& r : records) {
    if (r.has_deadlines_replanned()) ids.push_back(r.event_id());
  }
  return ids;
}

// Six open events in the city, no two of them duplicates: both categories in each of three grids.
std::vector<uint64_t> SixOpenEvents(EngineFixture& f) {
  std::vector<uint64_t> ids;
  for (const char* grid : {kGrid1, testing::kGrid2, testing::kGrid3}) {
    for (const char* category : {"water", "noise"}) ids.push_back(f.SubmitOk(category, grid));
  }
  return ids;
}

TEST_CASE("a mode switch re-plans its events in the batches after its own, a bounded number each, every one once") {
  EngineFixture f;
  f.options.max_replans_per_batch = 4;
  f.Restart();
  const std::vector<uint64_t> ids = SixOpenEvents(f);
  f.clock.Advance(5min);

  pb::Response r = f.SetMode(testing::kCity, pb::MODE_EMERGENCY);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.mode().replanned_events() == 6);
  // Its own batch holds only the mode change: a whole city's re-planning would be one huge write.
  REQUIRE(f.engine().committed_records().size() == 1);
  CHECK(f.engine().committed_records()[0].has_mode_changed());
  CHECK(f.engine().HasPendingReplans());
  CHECK(f.engine().pending_replans() == 6);

  // The bound is a batch's, however many rounds the server decides into it (Decide, then Seal).
  Engine& engine = f.engine();
  engine.Decide({});
  CHECK_FALSE(engine.HasPendingReplans());  // this batch has had its share
  engine.Decide({});
  SealedBatch batch = engine.Seal();
  CHECK(ReplannedIn(*batch.records) == std::vector<uint64_t>(ids.begin(), ids.begin() + 4));
  REQUIRE(engine.Complete(batch, f.store().Write(*batch.write)).ok());
  CHECK(engine.HasPendingReplans());
  f.engine().FireDueTimers();  // a batch with no commands
  CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>(ids.begin() + 4, ids.end()));
  CHECK_FALSE(f.engine().HasPendingReplans());
  CHECK(f.engine().pending_replans() == 0);
  f.engine().FireDueTimers();
  CHECK(f.engine().committed_records().empty());

  for (uint64_t id : ids) {
    CAPTURE(id);
    pb::Event e = f.EventOf(id);
    CHECK(e.mode() == pb::MODE_EMERGENCY);
    CHECK(e.claim_deadline_ms() == e.dispatched_at_ms() + 30 * 60 * 1000 / 4);
    int replans = 0;
    for (const pb::Record& h : f.HistoryOf(id)) {
      if (!h.has_deadlines_replanned()) continue;
      ++replans;
      CHECK(h.actor().principal() == "tester");  // who set the mode
    }
    CHECK(replans == 1);
  }
}

TEST_CASE("a switch re-plans first the events whose new deadlines come soonest, which fire at once") {
  for (const bool restart : {false, true}) {  // a stop right after the switch: the start does too
    CAPTURE(restart);
    EngineFixture f;
    f.options.max_replans_per_batch = 1;
    f.Restart();
    const uint64_t held = f.SubmitOk("water", kGrid1);  // claimed: its resolve deadline is pending
    f.ClaimOk(held, "c1-committee");
    f.clock.Advance(5min);
    const uint64_t second = f.SubmitOk("noise", testing::kGrid3);  // claim deadline pending
    f.clock.Advance(1min);
    const uint64_t third = f.SubmitOk("water", testing::kGrid2);
    // In emergency mode claims are due 7.5 min after dispatch, resolves 6 h: the two waiting to be
    // claimed are late already, in the order they came, and the held event is not.
    f.clock.Advance(15min);
    REQUIRE(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).mode().replanned_events() == 3);
    if (restart) f.Restart();
    for (uint64_t id : {second, third}) {
      CAPTURE(id);
      CHECK(f.engine().FireDueTimers() == 1);  // re-planned, then its new deadline fires
      CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{id});
    }
    CHECK(f.engine().FireDueTimers() == 0);
    CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{held});
    CHECK_FALSE(f.engine().HasPendingReplans());
    CHECK(f.EventOf(second).level() == pb::LEVEL_STREET);
    CHECK(f.EventOf(third).level() == pb::LEVEL_STREET);
    CHECK(f.EventOf(held).resolve_deadline_ms() == testing::kStartMs + 24 * 3600 * 1000LL / 4);
  }
}

TEST_CASE("a later switch's event due sooner is re-planned before an earlier switch's events due later") {
  EngineFixture f;
  f.options.max_replans_per_batch = 1;
  f.Restart();
  const uint64_t other = f.SubmitOk("water", testing::kGrid3);  // community 2: the second switch's
  std::vector<uint64_t> first;  // community 1's, a minute apart: the first switch's
  for (const char* grid : {kGrid1, testing::kGrid2}) {
    for (const char* category : {"water", "noise"}) {
      f.clock.Advance(1min);
      first.push_back(f.SubmitOk(category, grid));
    }
  }
  // In emergency mode claims are due 7.5 min after dispatch: every one is late already.
  f.clock.Advance(15min);
  REQUIRE(f.SetMode(testing::kCommunity1, pb::MODE_EMERGENCY).mode().replanned_events() == 4);
  f.engine().FireDueTimers();
  REQUIRE(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{first[0]});
  // The second switch's own batch re-plans the first list's next event, then lists its own.
  REQUIRE(f.SetMode(testing::kCommunity2, pb::MODE_EMERGENCY).mode().replanned_events() == 1);
  REQUIRE(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{first[1]});
  // Its event's new deadline is the soonest: it does not wait for the rest of the first list.
  for (uint64_t id : {other, first[2], first[3]}) {
    CAPTURE(id);
    f.engine().FireDueTimers();  // (EventOf would run a batch of its own)
    CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{id});
  }
  CHECK_FALSE(f.engine().HasPendingReplans());
  CHECK(f.engine().pending_replans() == 0);
  for (uint64_t id : {other, first[2], first[3]}) CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);
}

TEST_CASE("a deadline that a pending re-plan moves does not fire in the mode no longer in force") {
  EngineFixture f;
  f.options.max_replans_per_batch = 1;
  f.Restart();
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).code() == pb::STATUS_OK);
  const uint64_t first = f.SubmitOk("water", kGrid1);  // claim deadlines 7.5 min after dispatch
  const uint64_t second = f.SubmitOk("noise", kGrid1);
  REQUIRE(f.EventOf(second).mode() == pb::MODE_EMERGENCY);
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_NORMAL).mode().replanned_events() == 2);

  // Past the emergency claim deadline, before the normal one. The next batch re-plans the first
  // event by the queue and the second because its old timer came due; neither climbs.
  f.clock.Advance(10min);
  CHECK(f.engine().FireDueTimers() == 0);
  CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{first, second});
  for (uint64_t id : {first, second}) {
    CAPTURE(id);
    pb::Event e = f.EventOf(id);
    CHECK(e.level() == pb::LEVEL_COMMUNITY);
    CHECK(e.mode() == pb::MODE_NORMAL);
    CHECK(e.claim_deadline_ms() == e.dispatched_at_ms() + 30 * 60 * 1000);
  }
  // At the normal deadline, each climbs once.
  f.clock.Set(f.EventOf(first).claim_deadline_ms());
  CHECK(f.engine().FireDueTimers() == 2);
  CHECK(f.EventOf(first).level() == pb::LEVEL_STREET);
}

// Six open events, the city switched to emergency with re-plans one a batch, and the first batch
// after the switch: it re-planned the first event; the five others wait.
std::vector<uint64_t> SwitchedOneReplanned(EngineFixture& f) {
  f.options.max_replans_per_batch = 1;
  f.Restart();
  const std::vector<uint64_t> ids = SixOpenEvents(f);
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).mode().replanned_events() == 6);
  f.engine().FireDueTimers();
  REQUIRE(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{ids[0]});
  return ids;
}

TEST_CASE("a re-planning that a restart cuts short is finished after it, as the dispatcher") {
  EngineFixture f;
  const std::vector<uint64_t> ids = SwitchedOneReplanned(f);

  f.Restart();  // the rest of the list was in memory only
  CHECK(f.engine().pending_replans() == 5);  // found among the open events as they were loaded
  for (size_t i = 1; i < ids.size(); ++i) {
    f.engine().FireDueTimers();
    CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{ids[i]});
  }
  CHECK_FALSE(f.engine().HasPendingReplans());
  for (size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(i);
    CHECK(f.EventOf(ids[i]).mode() == pb::MODE_EMERGENCY);
    const std::vector<pb::Record> history = f.HistoryOf(ids[i]);
    const auto replan = std::find_if(history.begin(), history.end(),
                                     [](const pb::Record& h) { return h.has_deadlines_replanned(); });
    REQUIRE(replan != history.end());
    CHECK(replan->actor().principal() == (i == 0 ? "tester" : "replan"));
    // The fixture's SetMode is an admin's.
    CHECK(replan->actor().role() == (i == 0 ? pb::ROLE_ADMIN : pb::ROLE_SYSTEM));
  }
  f.Restart();  // nothing is left to find
  CHECK_FALSE(f.engine().HasPendingReplans());
}

TEST_CASE("an event a later switch re-plans before its turn in the first list is not re-planned again") {
  EngineFixture f;
  const std::vector<uint64_t> ids = SwitchedOneReplanned(f);
  // The city switches back after two events of the list are re-planned: one by the batch before
  // the switch, one by the switch's own batch, which re-plans before it decides its commands. The
  // second list holds those two; the first list's batches find the rest in normal mode already.
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_NORMAL).mode().replanned_events() == 2);
  while (f.engine().HasPendingReplans()) f.engine().FireDueTimers();
  for (size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(i);
    pb::Event e = f.EventOf(ids[i]);
    CHECK(e.mode() == pb::MODE_NORMAL);
    int replans = 0;
    for (const pb::Record& h : f.HistoryOf(ids[i])) replans += h.has_deadlines_replanned() ? 1 : 0;
    CHECK(replans == (i < 2 ? 2 : 0));
  }
}

TEST_CASE("a list that requests re-planned to its end ahead of its turn leaves at once") {
  EngineFixture f;
  const std::vector<uint64_t> ids = SwitchedOneReplanned(f);
  // One batch of rounds: the first re-plans the list's next event (its share of the batch), the
  // Gets of the others re-plan them ahead of their turn, and the last takes the list's last event.
  Engine& engine = f.engine();
  for (size_t i = 1; i < ids.size(); ++i) {
    Command get{testing::TestActor(), {}};
    get.request.mutable_get()->set_event_id(ids[i]);
    REQUIRE(engine.Decide(std::vector<Command>{get})[0].code() == pb::STATUS_OK);
  }
  CHECK(engine.pending_replans() == 0);
  SealedBatch batch = engine.Seal();
  REQUIRE(engine.Complete(batch, f.store().Write(*batch.write)).ok());
  CHECK(ReplannedIn(*batch.records) == std::vector<uint64_t>(ids.begin() + 1, ids.end()));
  CHECK_FALSE(engine.HasPendingReplans());  // nothing left: no round for it
}

TEST_CASE("a request that names an event still to be re-planned is decided on its new deadline") {
  EngineFixture f;
  f.options.max_replans_per_batch = 1;
  f.Restart();
  const uint64_t first = f.SubmitOk("water", kGrid1);
  pb::Response second = f.Submit("noise", kGrid1);
  REQUIRE(second.code() == pb::STATUS_OK);
  const pb::Event& e = second.event().event();
  f.clock.Advance(10min);  // past the emergency claim deadline (7.5 min), before the normal one
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).mode().replanned_events() == 2);

  // The claim's batch re-plans the first event (its share of the list), and the second before the
  // claim is decided: the claim comes after the emergency deadline, so it is not in time.
  pb::Response claimed = f.Claim(e.id(), e.candidates(0));
  REQUIRE_MESSAGE(claimed.code() == pb::STATUS_OK, claimed.message());
  CHECK(ReplannedIn(f.engine().committed_records()) == std::vector<uint64_t>{first, e.id()});
  const std::vector<pb::Record> history = f.HistoryOf(e.id());
  REQUIRE(history.size() >= 2);
  CHECK(history[history.size() - 2].has_deadlines_replanned());
  REQUIRE(history.back().has_claimed());
  CHECK_FALSE(history.back().claimed().in_time());
}

TEST_CASE("a switch repeated while the first one's list is worked through lists nothing more") {
  EngineFixture f;
  const std::vector<uint64_t> ids = SwitchedOneReplanned(f);
  CHECK(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).mode().replanned_events() == 0);
  CHECK(f.engine().pending_replans() == 4);  // the repeat's own batch re-planned the second event
  while (f.engine().HasPendingReplans()) f.engine().FireDueTimers();
  for (uint64_t id : ids) {
    CAPTURE(id);
    int replans = 0;
    for (const pb::Record& h : f.HistoryOf(id)) replans += h.has_deadlines_replanned() ? 1 : 0;
    CHECK(replans == 1);
    CHECK(f.EventOf(id).mode() == pb::MODE_EMERGENCY);
  }
}

TEST_CASE("mode is refused for grids, unknown regions and an unspecified mode") {
  EngineFixture f;
  CHECK(f.SetMode(kGrid1, pb::MODE_EMERGENCY).code() == pb::STATUS_BAD_REQUEST);
  CHECK(f.SetMode("999999", pb::MODE_EMERGENCY).code() == pb::STATUS_NOT_FOUND);
  CHECK(f.SetMode(testing::kCity, pb::MODE_UNSPECIFIED).code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("the mode survives a restart") {
  EngineFixture f;
  REQUIRE(f.SetMode(testing::kStreet, pb::MODE_EMERGENCY).code() == pb::STATUS_OK);
  f.Restart();
  CHECK(f.EventOf(f.SubmitOk()).mode() == pb::MODE_EMERGENCY);
}

TEST_CASE("unsatisfied feedback reopens the event at the level that resolved it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Whistle(id, "c1-committee", 0).code() == pb::STATUS_OK);
  uint64_t claim = f.ClaimOk(id, "s-office");
  REQUIRE(f.Resolve(id, claim).code() == pb::STATUS_OK);
  f.clock.Advance(1h);
  pb::Response r = f.Feedback(id, false, 2);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  pb::Event e = r.event().event();
  CHECK(e.state() == pb::STATE_DISPATCHED);
  CHECK(e.level() == pb::LEVEL_STREET);
  CHECK(e.reopen_count() == 1);
  CHECK(e.dispatched_at_ms() == testing::kStartMs + 3600 * 1000);
  CHECK(e.feedback().score() == 2);
  CHECK(f.ClaimOk(id, "s-office") == claim + 1);
}

TEST_CASE("satisfied feedback closes, a score out of range is refused") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Resolve(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  pb::Response bad = f.Feedback(id, true, 6);
  CHECK(bad.code() == pb::STATUS_BAD_REQUEST);
  CHECK(bad.message() == "score 6 is out of range: give 1 to 5");
  CHECK(f.Feedback(id, true, 5).event().event().state() == pb::STATE_CLOSED);
}

TEST_CASE("a resolved event without feedback closes after the quiet period") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Resolve(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  f.clock.Advance(72h - 1ms);
  CHECK(f.engine().FireDueTimers() == 0);
  f.clock.Advance(1ms);
  CHECK(f.engine().FireDueTimers() == 1);
  pb::Event e = f.EventOf(id);
  CHECK(e.state() == pb::STATE_CLOSED);
  CHECK(f.HistoryOf(id).back().closed().cause() == pb::CLOSE_QUIET_PERIOD);
}

TEST_CASE("a closed event can be reopened and is dispatched again") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Resolve(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(id, true).code() == pb::STATUS_OK);
  f.Restart();  // the closed event now lives only on disk
  pb::Response r = f.Reopen(id, "leaking again");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().state() == pb::STATE_DISPATCHED);
  CHECK(f.engine().state().open_event_count() == 1);
}

TEST_CASE("a repeat report of the same category in the same grid is linked to the open event") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1, "worker-a");
  f.clock.Advance(30min);
  pb::Response again = f.Submit("water", kGrid1, "citizen-b");
  REQUIRE(again.code() == pb::STATUS_OK);
  CHECK(again.event().linked_as_duplicate());
  CHECK(again.event().event().id() == id);
  REQUIRE(again.event().event().linked_size() == 1);
  CHECK(again.event().event().linked(0).reporter() == "citizen-b");
  CHECK(f.engine().state().next_event_id() == 2);
  f.clock.Advance(90min);  // exactly the 2 h window after the first report: still a repeat
  CHECK(f.Submit("water", kGrid1, "citizen-c").event().event().id() == id);
}

// A burst of hotline calls about one outage: each repeat costs the same however many came
// before it (an event holding every link grew to 1.1 MB at 20,000 and took 30 ms a link).
TEST_CASE("an event repeated 1,100 times keeps its newest 16 links, counts all and lets every reporter in") {
  EngineFixture f;
  const uint64_t id = f.SubmitOk("water", kGrid1, "worker-a");
  constexpr int kRepeats = 1100;
  auto reporter = [](int i) { return fmt::format("citizen-{:02}", i % 40); };
  size_t bytes_at_100 = 0;
  for (int i = 0; i < kRepeats; ++i) {
    pb::Response r = f.Submit("water", kGrid1, reporter(i));
    REQUIRE(r.event().event().id() == id);
    if (i == 99) bytes_at_100 = f.EventOf(id).ByteSizeLong();
  }
  const pb::Event e = f.EventOf(id);
  CHECK(e.linked_count() == kRepeats);
  REQUIRE(e.linked_size() == kLinkedWindow);
  for (int k = 0; k < kLinkedWindow; ++k) {
    CHECK(e.linked(k).reporter() == reporter(kRepeats - kLinkedWindow + k));  // the newest, oldest first
  }
  REQUIRE(e.linked_principals_size() == 40);
  CHECK(std::is_sorted(e.linked_principals().begin(), e.linked_principals().end()));
  CHECK(e.linked_principals(0) == "citizen-00");
  // The principals were all there by the 100th link: since, only the counts and the window's
  // request ids have grown a digit (1,435 and 1,466 bytes; every link kept, 60 KB).
  CHECK(e.ByteSizeLong() < bytes_at_100 + 64);

  // citizen-00's last link (the 1,081st) is older than the window: still a reporter of it.
  CHECK(f.Run(GetQueryOf(id), TestActor(pb::ROLE_REPORTER, "citizen-00")).code() == pb::STATUS_OK);
  CHECK(f.Run(GetQueryOf(id), TestActor(pb::ROLE_REPORTER, "citizen-40")).code() ==
        pb::STATUS_PERMISSION_DENIED);

  // Merged on, the links come along as one record: counted, their principals kept.
  const uint64_t into = f.SubmitOk("water", testing::kGrid2, "worker-b");
  REQUIRE(f.Merge(id, into).code() == pb::STATUS_OK);
  const pb::Event target = f.EventOf(into);
  CHECK(target.linked_count() == 1 + kRepeats);
  CHECK(target.linked_size() == 1);
  CHECK(target.linked_principals_size() == 41);  // worker-a and the citizens
  CHECK(f.HistoryOf(into).size() == 3);           // submitted, dispatched, the link
  CHECK(f.Run(GetQueryOf(into), TestActor(pb::ROLE_REPORTER, "citizen-00")).code() == pb::STATUS_OK);
}

TEST_CASE("an event stored with every link, before the window, is counted and trimmed at its next link") {
  pb::Event e;
  e.set_submitted_by("worker-a");
  for (int i = 0; i < 20; ++i) {
    pb::LinkedReport* link = e.add_linked();
    link->set_reporter(fmt::format("r{}", i));
    link->set_principal(i % 2 == 0 ? "worker-a" : fmt::format("citizen-{:02}", i));
  }
  CHECK(LinkedCount(e) == 20);  // linked_count unset: the links it holds
  CHECK(IsReporter(e, "citizen-01"));
  CHECK(Reporters(e).size() == 11);

  pb::ReportLinked next;
  next.mutable_link()->set_reporter("r20");
  next.mutable_link()->set_principal("citizen-20");
  AddLinked(&e, next);
  CHECK(e.linked_count() == 21);
  REQUIRE(e.linked_size() == kLinkedWindow);
  CHECK(e.linked(0).reporter() == "r5");
  CHECK(e.linked(kLinkedWindow - 1).reporter() == "r20");
  // citizen-01's link left the window; its principal stayed. worker-a, the submitter, is not
  // kept twice.
  CHECK(IsReporter(e, "citizen-01"));
  CHECK(e.linked_principals_size() == 11);
  CHECK(std::find(e.linked_principals().begin(), e.linked_principals().end(), "worker-a") ==
        e.linked_principals().end());
  CHECK(Reporters(e).size() == 12);
}

TEST_CASE("links an older version added past the window keep their principals as they leave it") {
  pb::Event e;
  e.set_submitted_by("worker-a");
  pb::ReportLinked one;
  one.mutable_link()->set_principal("citizen-00");
  for (int i = 0; i < kLinkedWindow; ++i) AddLinked(&e, one);
  REQUIRE(e.linked_count() == kLinkedWindow);
  // An older version appends without counting or naming: the window holds 19.
  for (int i = 1; i <= 3; ++i) e.add_linked()->set_principal(fmt::format("citizen-{:02}", i));
  AddLinked(&e, one);
  CHECK(e.linked_size() == kLinkedWindow);
  CHECK(e.linked_count() == kLinkedWindow + 4);  // the three counted once the window overflows
  // Until those three have left the window too.
  for (int i = 0; i < kLinkedWindow; ++i) AddLinked(&e, one);
  for (const pb::LinkedReport& link : e.linked()) REQUIRE(link.principal() == "citizen-00");
  CHECK(e.linked_count() == 2 * kLinkedWindow + 4);
  for (const char* p : {"citizen-00", "citizen-01", "citizen-02", "citizen-03"}) {
    CAPTURE(p);
    CHECK(IsReporter(e, p));
  }
}

TEST_CASE("a merge's carried links counted in one record equal those a log before carried one a record") {
  // Today's merge: one link, carrying two reports and their principals.
  pb::Event now;
  pb::ReportLinked merge_link;
  merge_link.mutable_link()->set_event_id(7);
  merge_link.mutable_link()->set_principal("rep-c");
  merge_link.set_carried_links(2);
  merge_link.add_carried_principals("rep-d");
  merge_link.add_carried_principals("rep-e");
  AddLinked(&now, merge_link);
  // A log written before: the merged event's own link, then one for each report it carried.
  pb::Event before;
  for (const char* p : {"rep-c", "rep-d", "rep-e"}) {
    pb::ReportLinked link;
    link.mutable_link()->set_event_id(7);
    link.mutable_link()->set_principal(p);
    AddLinked(&before, link);
  }
  CHECK(LinkedCount(now) == 3);
  CHECK(LinkedCount(before) == 3);
  CHECK(std::vector<std::string_view>(Reporters(now)) == std::vector<std::string_view>(Reporters(before)));
}

TEST_CASE("get with history answers the newest 1,000 records and pages back to the first") {
  EngineFixture f;
  const uint64_t id = f.SubmitOk("water", kGrid1, "worker-a");
  for (int i = 0; i < 1100; ++i) REQUIRE(f.Submit("water", kGrid1, "citizen").event().event().id() == id);
  REQUIRE(f.EventOf(id).history_size() == 1102);  // submitted, dispatched, 1,100 links
  auto page = [&](uint32_t before) {
    pb::Request get = GetQueryOf(id);
    get.mutable_get()->set_with_history(true);
    get.mutable_get()->set_history_before(before);
    pb::Response r = f.Run(get);
    REQUIRE(r.code() == pb::STATUS_OK);
    return r.event();
  };
  auto seqs = [](const pb::EventView& v) {
    std::vector<uint32_t> out;
    for (const pb::Record& r : v.history()) out.push_back(r.event_seq());
    return out;
  };
  auto range = [](uint32_t from, uint32_t to) {
    std::vector<uint32_t> out;
    for (uint32_t i = from; i < to; ++i) out.push_back(i);
    return out;
  };
  pb::EventView newest = page(0);
  CHECK(newest.older_history() == 102);
  CHECK(seqs(newest) == range(102, 1102));
  pb::EventView first = page(newest.older_history());
  CHECK(first.older_history() == 0);
  CHECK(seqs(first) == range(0, 102));
  CHECK(first.history(0).has_submitted());
  CHECK(seqs(page(5000)) == range(102, 1102));  // past the end: the newest
  CHECK(seqs(page(1)) == range(0, 1));
  pb::EventView middle = page(1100);
  CHECK(middle.older_history() == 100);
  CHECK(seqs(middle) == range(100, 1100));
}

TEST_CASE("reports outside the duplicate window, grid, category or distance make new events") {
  EngineFixture f;
  uint64_t first = f.SubmitOk("water", kGrid1);
  CHECK(f.SubmitOk("noise", kGrid1) != first);
  CHECK(f.SubmitOk("water", testing::kGrid2) != first);
  f.clock.Advance(2h + 1ms);
  CHECK(f.SubmitOk("water", kGrid1) != first);

  f.clock.Advance(2h + 1ms);  // a report without a position matches any in its grid: start afresh
  uint64_t near = SubmitAt(f, 121.4010, 37.5010).event().event().id();
  CHECK(SubmitAt(f, 121.4011, 37.5011).event().event().id() == near);  // ~14 m away
  CHECK(SubmitAt(f, 121.4090, 37.5090).event().event().id() != near);  // ~1.1 km away
}

TEST_CASE("merge closes the duplicate into the target and links its reporter") {
  EngineFixture f;
  uint64_t a = f.SubmitOk("water", kGrid1, "worker-a");
  uint64_t b = f.SubmitOk("water", testing::kGrid2, "worker-b");
  pb::Response r = f.Merge(b, a);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().id() == a);
  CHECK(r.event().event().linked(0).event_id() == b);
  pb::Event merged = f.EventOf(b);
  CHECK(merged.state() == pb::STATE_MERGED);
  CHECK(merged.merged_into() == a);
  CHECK(merged.timer_due_ms() == 0);
  CHECK(f.Merge(a, a).code() == pb::STATUS_BAD_REQUEST);
  CHECK(f.Merge(a, 99).code() == pb::STATUS_NOT_FOUND);
}

TEST_CASE("cancel needs a reason and stops every timer") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  CHECK(f.Cancel(id, "").code() == pb::STATUS_BAD_REQUEST);
  REQUIRE(f.Cancel(id, "duplicate of a hotline order").code() == pb::STATUS_OK);
  CHECK(testing::Dump(f.store(), storage::Cf::kTimers).empty());
  f.Restart();
  f.clock.Advance(1000h);
  CHECK(f.engine().FireDueTimers() == 0);
  CHECK(f.EventOf(id).state() == pb::STATE_CANCELLED);
}

TEST_CASE("supervise flags the event and records the note") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Supervise(id, "the district head is watching").code() == pb::STATUS_OK);
  CHECK(f.EventOf(id).supervised());
  CHECK(f.HistoryOf(id).back().supervised().note() == "the district head is watching");
}

TEST_CASE("a position that is not a coordinate is refused even with a grid") {
  EngineFixture f;
  pb::Request r;
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category("water");
  report->set_grid(kGrid1);
  report->mutable_position()->set_lon(std::nan(""));
  report->mutable_position()->set_lat(37.5);
  pb::Response reply = f.Run(r);
  CHECK(reply.code() == pb::STATUS_BAD_REQUEST);
  CHECK(reply.message().find("is not a WGS-84 coordinate") != std::string::npos);
}

TEST_CASE("a repeat reporter is not shown the first reporter's contact") {
  EngineFixture f;
  pb::Request first;
  pb::Report* report = first.mutable_submit()->mutable_report();
  report->set_category("water");
  report->set_grid(kGrid1);
  report->set_contact_name("张三");
  report->set_contact_phone("13800000000");
  REQUIRE(f.Run(first).code() == pb::STATUS_OK);
  pb::Response again = f.Submit("water", kGrid1, "citizen-b");
  REQUIRE(again.event().linked_as_duplicate());
  CHECK(again.event().event().report().contact_name().empty());
  CHECK(again.event().event().report().contact_phone().empty());
  CHECK(f.EventOf(1).report().contact_phone() == "13800000000");  // stored, not lost
}

TEST_CASE("a nearer region's own mode wins over a mode switched above it") {
  EngineFixture f;
  REQUIRE(f.SetMode(testing::kCommunity1, pb::MODE_NORMAL).code() == pb::STATUS_OK);
  uint64_t kept = f.SubmitOk("water", kGrid1);
  uint64_t switched = f.SubmitOk("water", testing::kGrid3);
  pb::Response r = f.SetMode(testing::kStreet, pb::MODE_EMERGENCY);
  CHECK(r.mode().replanned_events() == 1);
  CHECK(f.EventOf(kept).mode() == pb::MODE_NORMAL);
  CHECK(f.EventOf(switched).mode() == pb::MODE_EMERGENCY);
}

}  // namespace
}  // namespace whistle
