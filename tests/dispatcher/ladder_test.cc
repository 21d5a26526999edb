// The escalation ladder: community -> street -> county -> city -> overdue, on a manual clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "dispatcher/sample_city.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;
using testing::kGrid1;

// Moves the clock to just past the event's pending timer and fires it.
void PassPendingDeadline(EngineFixture& f, uint64_t id) {
  pb::Event e = f.EventOf(id);
  REQUIRE(e.timer_due_ms() > 0);
  f.clock.Set(e.timer_due_ms() + 1);
  REQUIRE(f.engine().FireDueTimers() >= 1);
}

TEST_CASE("a report nobody claims climbs every level of the sample city and ends overdue at city") {
  EngineFixture f(SampleCity());
  const pb::Region* grid = f.city().grids()[17];
  pb::Response submitted = f.Submit("water", grid->code());
  REQUIRE_MESSAGE(submitted.code() == pb::STATUS_OK, submitted.message());
  uint64_t id = submitted.event().event().id();

  const pb::Level expected[] = {pb::LEVEL_STREET, pb::LEVEL_COUNTY, pb::LEVEL_CITY};
  CHECK(f.EventOf(id).level() == pb::LEVEL_COMMUNITY);
  for (pb::Level level : expected) {
    PassPendingDeadline(f, id);
    pb::Event e = f.EventOf(id);
    CHECK(e.level() == level);
    CHECK(e.state() == pb::STATE_DISPATCHED);
    CHECK_FALSE(e.overdue());
    // Offered to departments of the grid's own region at the new level.
    REQUIRE(e.candidates_size() > 0);
    for (const auto& d : e.candidates()) {
      const pb::Department* dep = f.city().FindDepartment(d);
      REQUIRE(dep != nullptr);
      CHECK(dep->level() == level);
      CHECK(f.city().Contains(dep->jurisdiction(), grid->code()));
    }
  }
  PassPendingDeadline(f, id);
  pb::Event e = f.EventOf(id);
  CHECK(e.level() == pb::LEVEL_CITY);
  CHECK(e.overdue());
  CHECK(e.supervised());
  CHECK(e.escalations() == 3);
  CHECK(e.timer_due_ms() == 0);  // nothing left to climb

  // The history tells the same story, in order.
  std::vector<pb::Record::BodyCase> bodies;
  for (const auto& r : f.HistoryOf(id)) bodies.push_back(r.body_case());
  CHECK(bodies == std::vector<pb::Record::BodyCase>{
                      pb::Record::kSubmitted, pb::Record::kDispatched, pb::Record::kEscalated,
                      pb::Record::kDispatched, pb::Record::kEscalated, pb::Record::kDispatched,
                      pb::Record::kEscalated, pb::Record::kDispatched, pb::Record::kMarkedOverdue});
}

TEST_CASE("a deadline fires only once the clock reaches it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Event e = f.EventOf(id);
  CHECK(e.timer_kind() == pb::TIMER_CLAIM_DEADLINE);
  CHECK(e.claim_deadline_ms() == testing::kStartMs + 30 * 60 * 1000);
  f.clock.Set(e.claim_deadline_ms() - 1);
  CHECK(f.engine().FireDueTimers() == 0);
  CHECK(f.EventOf(id).level() == pb::LEVEL_COMMUNITY);
  f.clock.Set(e.claim_deadline_ms());
  CHECK(f.engine().FireDueTimers() == 1);
  CHECK(f.engine().timer_lags_last_batch_ms() == std::vector<int64_t>{0});  // on the dot
  CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);
}

TEST_CASE("the engine reports how late each timer fired") {
  EngineFixture f;
  uint64_t a = f.SubmitOk();
  f.clock.Advance(1min);
  f.SubmitOk("water", testing::kGrid3);  // another community's grid: not a duplicate
  pb::Event first = f.EventOf(a);
  f.clock.Set(first.claim_deadline_ms() + 60'000 + 250);  // both due: 1 min 250 ms and 250 ms late
  CHECK(f.engine().FireDueTimers() == 2);
  std::vector<int64_t> lags = f.engine().timer_lags_last_batch_ms();
  std::sort(lags.begin(), lags.end());
  CHECK(lags == std::vector<int64_t>{250, 60'250});
  CHECK(f.engine().FireDueTimers() == 0);
  CHECK(f.engine().timer_lags_last_batch_ms().empty());
}

TEST_CASE("an escalation's new deadlines count from the moment it climbed") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.clock.Advance(45min);  // 15 minutes past the community's 30-minute claim deadline
  REQUIRE(f.engine().FireDueTimers() == 1);
  pb::Event e = f.EventOf(id);
  CHECK(e.dispatched_at_ms() == testing::kStartMs + 45 * 60 * 1000);
  CHECK(e.claim_deadline_ms() == e.dispatched_at_ms() + 60 * 60 * 1000);        // street: 1 h
  CHECK(e.resolve_deadline_ms() == e.dispatched_at_ms() + 48 * 3600 * 1000LL);  // street: 48 h
}

TEST_CASE("a claimed event that misses its resolve deadline climbs and fences out the old claim") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  f.clock.Advance(24h + 1ms);
  REQUIRE(f.engine().FireDueTimers() == 1);
  pb::Event e = f.EventOf(id);
  CHECK(e.level() == pb::LEVEL_STREET);
  CHECK(e.state() == pb::STATE_DISPATCHED);
  CHECK(e.lead().empty());

  pb::Response late = f.Resolve(id, claim);
  CHECK(late.code() == pb::STATUS_ILLEGAL_TRANSITION);
  uint64_t street_claim = f.ClaimOk(id, "s-office");
  CHECK(street_claim > claim);
  pb::Response stale = f.Progress(id, claim);
  CHECK(stale.code() == pb::STATUS_STALE_CLAIM);
  CHECK(stale.message().find("s-office holds claim") != std::string::npos);
}

TEST_CASE("a claim made in time stops the claim deadline from firing") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.ClaimOk(id, "c1-water-unit");
  f.clock.Advance(31min);
  CHECK(f.engine().FireDueTimers() == 0);
  pb::Event e = f.EventOf(id);
  CHECK(e.level() == pb::LEVEL_COMMUNITY);
  CHECK(e.timer_kind() == pb::TIMER_RESOLVE_DEADLINE);
}

TEST_CASE("whistling escalates at once and counts against the holder") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  pb::Response r = f.Whistle(id, "c1-committee", claim, "needs street enforcement");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  pb::Event e = r.event().event();
  CHECK(e.level() == pb::LEVEL_STREET);
  CHECK(e.state() == pb::STATE_DISPATCHED);
  auto history = f.HistoryOf(id);
  REQUIRE(history.size() >= 3);
  const pb::Record& up = history[history.size() - 2];
  REQUIRE(up.has_escalated());
  CHECK(up.escalated().cause() == pb::ESCALATION_WHISTLE);
  CHECK(up.escalated().holder() == "c1-committee");
  pb::Request stats;
  stats.mutable_stats()->set_department("c1-committee");
  stats.mutable_stats()->set_month("2026-11");
  CHECK(f.Run(stats).stats().counters().unresolved() == 1);
}

TEST_CASE("a supervisor's whistle over a claimed event counts against the holder too") {
  // 解决率 counts what climbed away unresolved while held (docs/ARCHITECTURE.md, "Statistics"):
  // a supervisor taking an event up over its holder's head is such a climb.
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.ClaimOk(id, "c1-committee");
  pb::Response r = f.Whistle(id, "", 0, "not moving");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  auto history = f.HistoryOf(id);
  REQUIRE(history.size() >= 3);
  const pb::Record& up = history[history.size() - 2];
  REQUIRE(up.has_escalated());
  CHECK(up.escalated().holder() == "c1-committee");
  pb::Request stats;
  stats.mutable_stats()->set_department("c1-committee");
  stats.mutable_stats()->set_month("2026-11");
  CHECK(f.Run(stats).stats().counters().unresolved() == 1);
}

Command SupervisorWhistle(uint64_t id, pb::Level seen_level) {
  Command c{testing::TestActor(pb::ROLE_SUPERVISOR, "duty-officer"), {}};
  pb::WhistleCommand* w = c.request.mutable_whistle();
  w->set_event_id(id);
  w->set_reason("not moving");
  w->set_seen_level(seen_level);
  return c;
}

TEST_CASE("two supervisors whistling over one sighting climb the event once") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  std::vector<Command> batch = {SupervisorWhistle(id, pb::LEVEL_COMMUNITY),
                                SupervisorWhistle(id, pb::LEVEL_COMMUNITY)};
  auto replies = f.engine().Process(batch);
  REQUIRE(replies.size() == 2);
  CHECK_MESSAGE(replies[0].code() == pb::STATUS_OK, replies[0].message());
  CHECK(replies[1].code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK(replies[1].message() ==
        "cannot whistle event 1 from community level: it is at street level now");
  CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);

  // Without the level it saw, a whistle climbs from wherever the event is.
  CHECK(f.engine().Process(std::vector<Command>{SupervisorWhistle(id, pb::LEVEL_UNSPECIFIED)})[0]
            .code() == pb::STATUS_OK);
  CHECK(f.EventOf(id).level() == pb::LEVEL_COUNTY);
}

TEST_CASE("a whistle that meets a deadline fired first in its round does not climb a second level") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.clock.Set(f.EventOf(id).timer_due_ms() + 1);
  // One round: the due timer first (engine.h), then the whistle, which saw the event at
  // community level before the deadline took it up.
  auto replies = f.engine().Process(std::vector<Command>{SupervisorWhistle(id, pb::LEVEL_COMMUNITY)});
  CHECK(replies[0].code() == pb::STATUS_ILLEGAL_TRANSITION);
  pb::Event e = f.EventOf(id);
  CHECK(e.level() == pb::LEVEL_STREET);
  auto history = f.HistoryOf(id);
  CHECK(std::count_if(history.begin(), history.end(),
                      [](const pb::Record& r) { return r.has_escalated(); }) == 1);
}

TEST_CASE("a whistle naming the level the event is at climbs, one naming no handling level is refused") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  std::string before = f.Snapshot(id);
  for (pb::Level bad : {pb::LEVEL_GRID, static_cast<pb::Level>(42)}) {
    pb::Response r = f.engine().Process(std::vector<Command>{SupervisorWhistle(id, bad)})[0];
    CHECK(r.code() == pb::STATUS_BAD_REQUEST);
    CHECK(r.message().find("is not a level an event is handled at") != std::string::npos);
  }
  CHECK(f.Snapshot(id) == before);
  pb::Response r = f.engine().Process(std::vector<Command>{SupervisorWhistle(id, pb::LEVEL_COMMUNITY)})[0];
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().level() == pb::LEVEL_STREET);
}

TEST_CASE("a candidate may whistle an unclaimed event up without claiming it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Response r = f.Whistle(id, "c1-water-unit", 0);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().level() == pb::LEVEL_STREET);
}

TEST_CASE("whistling at city level is refused: there is no level above") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  for (int i = 0; i < 3; ++i) PassPendingDeadline(f, id);
  REQUIRE(f.EventOf(id).level() == pb::LEVEL_CITY);
  std::string before = f.Snapshot(id);
  pb::Response r = f.Whistle(id, "city-bureau", 0);
  CHECK(r.code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK(r.message() == "cannot whistle event 1: it is already at city level");
  CHECK(f.Snapshot(id) == before);
}

TEST_CASE("a department that is not offered the event cannot whistle it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Response r = f.Whistle(id, "c2-committee", 0);
  CHECK(r.code() == pb::STATUS_NOT_ASSIGNED);
  CHECK(r.message().find("c1-committee, c1-water-unit") != std::string::npos);
}

TEST_CASE("an overdue event that is reopened has deadlines that fire again") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  for (int i = 0; i < 4; ++i) PassPendingDeadline(f, id);
  REQUIRE(f.EventOf(id).overdue());
  REQUIRE(f.Resolve(id, f.ClaimOk(id, "city-bureau")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(id, false, 1).code() == pb::STATUS_OK);
  pb::Event e = f.EventOf(id);
  CHECK_FALSE(e.overdue());
  CHECK(e.supervised());
  CHECK(e.timer_kind() == pb::TIMER_CLAIM_DEADLINE);
  PassPendingDeadline(f, id);
  CHECK(f.EventOf(id).overdue());
}

pb::StatCounters DepartmentStats(EngineFixture& f, const std::string& department) {
  pb::Request q;
  q.mutable_stats()->set_department(department);
  q.mutable_stats()->set_month("2026-11");
  return f.Run(q).stats().counters();
}

pb::StatCounters CityLevelStats(EngineFixture& f) {
  pb::Request q;
  q.mutable_stats()->set_level(pb::LEVEL_CITY);
  q.mutable_stats()->set_month("2026-11");
  return f.Run(q).stats().counters();
}

// A noise report overdue at city level, offered to city-bureau and city-police, then returned by
// city-police: dispatched afresh to city-bureau alone.
uint64_t OverdueThenReturned(EngineFixture& f) {
  uint64_t id = f.SubmitOk("noise");
  for (int i = 0; i < 4; ++i) PassPendingDeadline(f, id);
  REQUIRE(f.EventOf(id).overdue());
  REQUIRE(DepartmentStats(f, "city-bureau").claim_missed() == 1);
  REQUIRE(DepartmentStats(f, "city-police").claim_missed() == 1);
  pb::Response r = f.Return(id, "city-police", 0);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  return id;
}

TEST_CASE("an overdue event a candidate returns gives the next one a claim deadline that counts") {
  EngineFixture f;
  uint64_t id = OverdueThenReturned(f);
  pb::Event e = f.EventOf(id);
  CHECK(e.overdue());  // it stays overdue: the city's time ran out
  CHECK(std::vector<std::string>(e.candidates().begin(), e.candidates().end()) ==
        std::vector<std::string>{"city-bureau"});
  REQUIRE(e.timer_kind() == pb::TIMER_CLAIM_DEADLINE);
  CHECK(e.timer_due_ms() == e.claim_deadline_ms());
  CHECK(e.claim_deadline_ms() > f.clock.NowMs());

  // Nobody claims it in its new time: city-bureau's second miss, the event still overdue once.
  PassPendingDeadline(f, id);
  e = f.EventOf(id);
  CHECK(e.overdue());
  CHECK(e.timer_kind() == pb::TIMER_NONE);  // and nothing more fires
  CHECK(DepartmentStats(f, "city-bureau").claim_missed() == 2);
  CHECK(DepartmentStats(f, "city-police").claim_missed() == 1);
  CHECK(CityLevelStats(f).overdue() == 1);
  CHECK(CityLevelStats(f).claim_missed() == 2);

  // A claim after that is late, and counts nothing more.
  f.ClaimOk(id, "city-bureau");
  CHECK(DepartmentStats(f, "city-bureau").claim_missed() == 2);
  CHECK(DepartmentStats(f, "city-bureau").claimed_in_time() == 0);
}

TEST_CASE("an overdue event a candidate returns, claimed in the new time, counts in time") {
  EngineFixture f;
  uint64_t id = OverdueThenReturned(f);
  f.ClaimOk(id, "city-bureau");
  pb::StatCounters bureau = DepartmentStats(f, "city-bureau");
  CHECK(bureau.claimed_in_time() == 1);
  CHECK(bureau.claim_missed() == 1);  // the first dispatch's miss stays
  pb::Event e = f.EventOf(id);
  CHECK(e.overdue());
  CHECK(e.timer_kind() == pb::TIMER_NONE);  // overdue: no resolve deadline, as before the return
  CHECK(CityLevelStats(f).overdue() == 1);
}

TEST_CASE("a mode switch leaves an overdue event's spent deadlines alone") {
  EngineFixture f;
  const uint64_t id = f.SubmitOk("water");
  for (int i = 0; i < 4; ++i) PassPendingDeadline(f, id);
  REQUIRE(f.EventOf(id).overdue());
  pb::Response r = f.SetMode(testing::kCity, pb::MODE_EMERGENCY);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.mode().replanned_events() == 0);
  const pb::Event e = f.EventOf(id);
  CHECK(e.mode() == pb::MODE_NORMAL);
  CHECK(e.timer_kind() == pb::TIMER_NONE);
}

TEST_CASE("a mode switch re-plans the claim deadline of an overdue event dispatched again") {
  EngineFixture f;
  const uint64_t id = OverdueThenReturned(f);
  const pb::Event before = f.EventOf(id);
  REQUIRE(before.claim_deadline_ms() == before.dispatched_at_ms() + 240 * 60'000);  // normal mode

  pb::Response r = f.SetMode(testing::kCity, pb::MODE_EMERGENCY);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.mode().replanned_events() == 1);
  while (f.engine().HasPendingReplans()) f.engine().FireDueTimers();
  pb::Event e = f.EventOf(id);
  CHECK(e.mode() == pb::MODE_EMERGENCY);
  CHECK(e.claim_deadline_ms() == before.dispatched_at_ms() + 60 * 60'000);  // emergency: a quarter
  REQUIRE(e.timer_kind() == pb::TIMER_CLAIM_DEADLINE);
  CHECK(e.timer_due_ms() == e.claim_deadline_ms());

  // It fires at the new deadline: city-bureau's second miss.
  PassPendingDeadline(f, id);
  CHECK(f.EventOf(id).timer_kind() == pb::TIMER_NONE);
  CHECK(DepartmentStats(f, "city-bureau").claim_missed() == 2);

  // Claimed (late), it is overdue with its deadlines spent again: a switch back re-plans nothing.
  f.ClaimOk(id, "city-bureau");
  CHECK(f.SetMode(testing::kCity, pb::MODE_NORMAL).mode().replanned_events() == 0);
}

// --- A release hands the claim back, not the duty to resolve (appliers.h) ---

// The event's newest Escalated record.
pb::Escalated LastClimb(EngineFixture& f, uint64_t id) {
  auto history = f.HistoryOf(id);
  auto up = std::find_if(history.rbegin(), history.rend(),
                         [](const pb::Record& r) { return r.has_escalated(); });
  REQUIRE(up != history.rend());
  return up->escalated();
}

pb::StatCounters CommunityLevelStats(EngineFixture& f) {
  pb::Request q;
  q.mutable_stats()->set_level(pb::LEVEL_COMMUNITY);
  q.mutable_stats()->set_month("2026-11");
  return f.Run(q).stats().counters();
}

pb::StatCounters RegionStats(EngineFixture& f, const std::string& region) {
  pb::Request q;
  q.mutable_stats()->set_region(region);
  q.mutable_stats()->set_month("2026-11");
  return f.Run(q).stats().counters();
}

// Claimed by c1-committee in time and released at `release_at_ms`. (Past the claim deadline, the
// next batch, a query's too, climbs it.)
uint64_t ClaimedAndReleased(EngineFixture& f, int64_t release_at_ms) {
  uint64_t id = f.SubmitOk();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  f.clock.Set(release_at_ms);
  REQUIRE(f.Release(id, claim).code() == pb::STATUS_OK);
  return id;
}

TEST_CASE("a release nobody takes up climbs at the claim deadline counted unresolved against the releaser") {
  EngineFixture f;
  uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 10 * 60'000);
  CHECK(f.EventOf(id).released_by() == "c1-committee");
  PassPendingDeadline(f, id);
  pb::Escalated up = LastClimb(f, id);
  CHECK(up.cause() == pb::ESCALATION_CLAIM_DEADLINE);
  CHECK(up.holder().empty());
  CHECK(up.released_by() == "c1-committee");
  pb::StatCounters committee = DepartmentStats(f, "c1-committee");
  CHECK(committee.claimed_in_time() == 1);  // its answer stands: the dispatch is not missed too
  CHECK(committee.claim_missed() == 0);
  CHECK(committee.unresolved() == 1);
  CHECK(DepartmentStats(f, "c1-water-unit").claim_missed() == 0);
  CHECK(DepartmentStats(f, "c1-water-unit").unresolved() == 0);
  CHECK(CommunityLevelStats(f).unresolved() == 1);
  CHECK(RegionStats(f, testing::kCommunity1).unresolved() == 1);
  CHECK(RegionStats(f, testing::kCity).unresolved() == 1);
  CHECK(f.EventOf(id).released_by().empty());  // the street's dispatch owes it nothing
}

TEST_CASE("a release just before the resolve deadline no longer escapes unresolved") {
  // The release came after the claim deadline, so the event climbs for its claim deadline in the
  // next batch. It used to count against nobody: the dispatch had been answered, and nobody held
  // it.
  EngineFixture f;
  const int64_t resolve_deadline = testing::kStartMs + 24 * 3600'000LL;
  uint64_t id = ClaimedAndReleased(f, resolve_deadline - 60'000);
  REQUIRE(f.engine().FireDueTimers() == 1);
  CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);
  CHECK(LastClimb(f, id).cause() == pb::ESCALATION_CLAIM_DEADLINE);
  CHECK(LastClimb(f, id).released_by() == "c1-committee");
  CHECK(DepartmentStats(f, "c1-committee").unresolved() == 1);
}

TEST_CASE("a supervisor's whistle over a released event counts against the department that gave it back") {
  EngineFixture f;
  uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
  pb::Response r = f.Whistle(id, "", 0, "nobody is on it");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(LastClimb(f, id).cause() == pb::ESCALATION_WHISTLE);
  CHECK(LastClimb(f, id).released_by() == "c1-committee");
  CHECK(DepartmentStats(f, "c1-committee").unresolved() == 1);
}

TEST_CASE("a department's own whistle after its release counts against it, another's does not") {
  SUBCASE("its own") {
    EngineFixture f;
    uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
    REQUIRE(f.Whistle(id, "c1-committee", 0, "needs the street").code() == pb::STATUS_OK);
    CHECK(LastClimb(f, id).released_by() == "c1-committee");
    CHECK(DepartmentStats(f, "c1-committee").unresolved() == 1);
  }
  SUBCASE("another candidate's: it judges the event to belong higher, not the releaser late") {
    EngineFixture f;
    uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
    REQUIRE(f.Whistle(id, "c1-water-unit", 0, "needs the street").code() == pb::STATUS_OK);
    CHECK(LastClimb(f, id).cause() == pb::ESCALATION_WHISTLE);
    CHECK(LastClimb(f, id).released_by().empty());
    CHECK(DepartmentStats(f, "c1-committee").unresolved() == 0);
    CHECK(DepartmentStats(f, "c1-water-unit").unresolved() == 0);
  }
}

TEST_CASE("a released event claimed again answers through its new holder alone") {
  SUBCASE("another department takes it and lets its resolve deadline pass") {
    EngineFixture f;
    uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
    f.ClaimOk(id, "c1-water-unit");
    CHECK(f.EventOf(id).released_by().empty());
    PassPendingDeadline(f, id);
    CHECK(LastClimb(f, id).holder() == "c1-water-unit");
    CHECK(LastClimb(f, id).released_by().empty());
    CHECK(DepartmentStats(f, "c1-water-unit").unresolved() == 1);
    CHECK(DepartmentStats(f, "c1-committee").unresolved() == 0);
  }
  SUBCASE("the same department takes it back, a colleague's hand-over, and resolves it") {
    EngineFixture f;
    uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
    uint64_t again = f.ClaimOk(id, "c1-committee");
    CHECK(f.EventOf(id).released_by().empty());
    REQUIRE(f.Resolve(id, again).code() == pb::STATUS_OK);
    pb::StatCounters committee = DepartmentStats(f, "c1-committee");
    CHECK(committee.resolved() == 1);
    CHECK(committee.unresolved() == 0);
    CHECK(committee.claimed_in_time() == 1);
  }
  SUBCASE("another department takes it and gives it back too: the climb is the last releaser's") {
    EngineFixture f;
    uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
    REQUIRE(f.Release(id, f.ClaimOk(id, "c1-water-unit")).code() == pb::STATUS_OK);
    CHECK(f.EventOf(id).released_by() == "c1-water-unit");
    PassPendingDeadline(f, id);
    CHECK(LastClimb(f, id).released_by() == "c1-water-unit");
    CHECK(DepartmentStats(f, "c1-water-unit").unresolved() == 1);
    CHECK(DepartmentStats(f, "c1-committee").unresolved() == 0);
  }
  SUBCASE("a supervisor cancels it: nobody answers any more") {
    EngineFixture f;
    uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
    REQUIRE(f.Cancel(id).code() == pb::STATUS_OK);
    CHECK(f.EventOf(id).released_by().empty());
  }
}

TEST_CASE("a release followed by another candidate's return is a fresh dispatch: a miss counts, not the release") {
  EngineFixture f;
  uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
  REQUIRE(f.Return(id, "c1-water-unit", 0).code() == pb::STATUS_OK);
  pb::Event e = f.EventOf(id);
  REQUIRE(std::vector<std::string>(e.candidates().begin(), e.candidates().end()) ==
          std::vector<std::string>{"c1-committee"});
  CHECK(e.released_by().empty());
  PassPendingDeadline(f, id);
  CHECK(LastClimb(f, id).released_by().empty());
  pb::StatCounters committee = DepartmentStats(f, "c1-committee");
  CHECK(committee.claim_missed() == 1);  // offered afresh and not claimed
  CHECK(committee.unresolved() == 0);
}

TEST_CASE("a release then a return of the last candidate climbs as returned by all, counted against nobody") {
  // Noise in community 1 is offered to c1-committee alone: it gives the claim back, then says
  // the event is not its own at all. A return is not an unresolved climb.
  EngineFixture f;
  uint64_t id = f.SubmitOk("noise");
  REQUIRE(f.EventOf(id).candidates_size() == 1);
  REQUIRE(f.Release(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.EventOf(id).released_by() == "c1-committee");
  REQUIRE(f.Return(id, "c1-committee", 0).code() == pb::STATUS_OK);
  CHECK(LastClimb(f, id).cause() == pb::ESCALATION_ALL_RETURNED);
  CHECK(LastClimb(f, id).released_by().empty());
  CHECK(DepartmentStats(f, "c1-committee").unresolved() == 0);
  CHECK(DepartmentStats(f, "c1-committee").returned() == 1);
}

TEST_CASE("a release at city level past the claim deadline marks the event overdue, counting nobody unresolved") {
  // At city level nothing climbs: the event stays, and may still be claimed and resolved.
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  for (int i = 0; i < 3; ++i) PassPendingDeadline(f, id);
  REQUIRE(f.EventOf(id).level() == pb::LEVEL_CITY);
  uint64_t claim = f.ClaimOk(id, "city-bureau");
  f.clock.Set(f.EventOf(id).claim_deadline_ms() + 1);
  REQUIRE(f.Release(id, claim).code() == pb::STATUS_OK);
  REQUIRE(f.engine().FireDueTimers() == 1);
  pb::Event e = f.EventOf(id);
  CHECK(e.overdue());
  CHECK(e.released_by() == "city-bureau");
  CHECK(DepartmentStats(f, "city-bureau").unresolved() == 0);
  CHECK(CityLevelStats(f).unresolved() == 0);
}

TEST_CASE("who gave a claim back survives a restart, and the climb after it counts the same") {
  EngineFixture f;
  uint64_t id = ClaimedAndReleased(f, testing::kStartMs + 5 * 60'000);
  f.Restart();
  CHECK(f.EventOf(id).released_by() == "c1-committee");
  PassPendingDeadline(f, id);
  CHECK(LastClimb(f, id).released_by() == "c1-committee");
  CHECK(DepartmentStats(f, "c1-committee").unresolved() == 1);
  f.Restart();
  CHECK(DepartmentStats(f, "c1-committee").unresolved() == 1);
}

}  // namespace
}  // namespace whistle
