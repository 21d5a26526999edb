// The operations console's queries: Board (open events counted by level, state and grid, kept
// in step by the engine: open_tally.h) and Ranks (the three rates of every department or region).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dispatcher/open_tally.h"
#include "dispatcher/sample_city.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;
using testing::kCommunity1;
using testing::kCommunity2;
using testing::kGrid1;
using testing::kGrid2;
using testing::kGrid3;
using testing::kStreet;
using testing::TestActor;

pb::BoardResult Board(EngineFixture& f, const std::string& region = "",
                      const pb::Actor& actor = TestActor()) {
  pb::Request r;
  r.mutable_board()->set_region(region);
  pb::Response reply = f.Run(r, actor);
  REQUIRE_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
  return reply.board();
}

// A board of the grids changed after record `after` of epoch `epoch` (epoch 0: a whole one).
pb::BoardResult ChangedSince(EngineFixture& f, uint64_t after, uint64_t epoch,
                             const std::string& region = "") {
  pb::Request r;
  r.mutable_board()->set_region(region);
  r.mutable_board()->set_grids_changed_after(after);
  r.mutable_board()->set_grids_epoch(epoch);
  pb::Response reply = f.Run(r);
  REQUIRE_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
  return reply.board();
}

// The board as a recount over every open event would have it.
struct Recount {
  std::map<std::pair<int, int>, uint32_t> cells;
  std::map<std::string, std::tuple<uint32_t, uint32_t, uint32_t>> grids;  // open, overdue, supervised
  uint32_t open = 0, overdue = 0, supervised = 0;
  bool operator==(const Recount&) const = default;
};

Recount RecountOpen(EngineFixture& f) {
  Recount r;
  f.engine().state().ForEachOpenEvent([&](const pb::Event& e) {
    ++r.cells[{e.level(), e.state()}];
    auto& [open, overdue, supervised] = r.grids[e.grid()];
    ++open;
    ++r.open;
    if (e.overdue()) ++overdue, ++r.overdue;
    if (e.supervised()) ++supervised, ++r.supervised;
  });
  return r;
}

Recount FromBoard(const pb::BoardResult& b) {
  Recount r;
  for (const pb::BoardCell& c : b.cells()) r.cells[{c.level(), c.state()}] = c.count();
  for (const pb::GridCount& g : b.grids()) r.grids[g.grid()] = {g.open(), g.overdue(), g.supervised()};
  r.open = b.open();
  r.overdue = b.overdue();
  r.supervised = b.supervised();
  return r;
}

// The grids as a reader has them that asks, as the console does, only for those changed since its
// last board, and keeps them.
struct ChangedGridsReader {
  std::string region;
  uint64_t seq = 0, epoch = 0;
  std::map<std::string, std::tuple<uint32_t, uint32_t, uint32_t>> grids;
  int changed_only = 0;  // answers that were only the changes

  void Read(EngineFixture& f) {
    pb::BoardResult b = ChangedSince(f, seq, epoch, region);
    if (b.grids_changed_only()) {
      ++changed_only;
    } else {
      grids.clear();
    }
    for (const pb::GridCount& g : b.grids()) {
      if (g.open() == 0) {
        CHECK((g.overdue() == 0 && g.supervised() == 0));
        grids.erase(g.grid());
      } else {
        grids[g.grid()] = {g.open(), g.overdue(), g.supervised()};
      }
    }
    seq = b.last_seq();
    epoch = b.grids_epoch();
  }
};

void CheckBoardMatchesEvents(EngineFixture& f, ChangedGridsReader& reader) {
  Recount expected = RecountOpen(f);
  CHECK(FromBoard(Board(f)) == expected);
  reader.Read(f);
  CHECK(reader.grids == expected.grids);
}

TEST_CASE("the tally's Replace of an event that stays open counts as Remove then Add") {
  auto event = [](uint64_t id, const char* grid, pb::EventState state, pb::Level level, bool overdue,
                  bool supervised) {
    pb::Event e;
    e.set_id(id);
    e.set_grid(grid);
    e.set_state(state);
    e.set_level(level);
    e.set_overdue(overdue);
    e.set_supervised(supervised);
    return e;
  };
  // Each step: an event before and after a command, both open. The last one moves to another grid
  // (no command does; Replace must still count it right).
  const std::vector<std::pair<pb::Event, pb::Event>> steps = {
      {event(1, kGrid1, pb::STATE_DISPATCHED, pb::LEVEL_COMMUNITY, false, false),
       event(1, kGrid1, pb::STATE_CLAIMED, pb::LEVEL_COMMUNITY, false, false)},
      {event(1, kGrid1, pb::STATE_CLAIMED, pb::LEVEL_COMMUNITY, false, false),
       event(1, kGrid1, pb::STATE_DISPATCHED, pb::LEVEL_STREET, true, false)},
      {event(1, kGrid1, pb::STATE_DISPATCHED, pb::LEVEL_STREET, true, false),
       event(1, kGrid1, pb::STATE_IN_PROGRESS, pb::LEVEL_STREET, true, true)},
      {event(1, kGrid1, pb::STATE_IN_PROGRESS, pb::LEVEL_STREET, true, true),
       event(1, kGrid1, pb::STATE_RESOLVED, pb::LEVEL_STREET, false, true)},
      {event(2, kGrid2, pb::STATE_DISPATCHED, pb::LEVEL_COMMUNITY, true, true),
       event(2, kGrid3, pb::STATE_DISPATCHED, pb::LEVEL_COMMUNITY, false, true)},
  };
  OpenTally replaced, removed_and_added;
  for (OpenTally* t : {&replaced, &removed_and_added}) {
    t->Add(steps[0].first, 1);
    t->Add(steps[4].first, 2);
    t->Add(event(3, kGrid1, pb::STATE_CLAIMED, pb::LEVEL_COMMUNITY, true, false),
           3);  // a neighbour
  }
  uint64_t seq = 3;
  for (const auto& step : steps) {
    ++seq;
    replaced.Replace(step.first, step.second, seq);
    removed_and_added.Remove(step.first, seq);
    removed_and_added.Add(step.second, seq);
    if (seq == 4) CHECK(replaced.changed_at().at(kGrid1) == 3);  // a claim: no mark, no stamp
    CHECK(replaced.city() == removed_and_added.city());
    CHECK(replaced.by_grid() == removed_and_added.by_grid());
    CHECK(replaced.overdue_ids() == removed_and_added.overdue_ids());
    CHECK(replaced.supervised_ids() == removed_and_added.supervised_ids());
    CHECK(replaced.marks_by_grid() == removed_and_added.marks_by_grid());
  }
  CHECK(replaced.city().open == 3);
  CHECK(replaced.by_grid().count(kGrid2) == 0);  // its only event moved away
  // Replace stamps a grid only when what a board shows of it changes: the first step changed no
  // mark (grid 1 keeps the neighbour's 3), the last moved the event (both grids).
  CHECK(replaced.changed_at() ==
        std::unordered_map<std::string, uint64_t>{{kGrid1, 7}, {kGrid2, 8}, {kGrid3, 8}});
  CHECK(replaced.overdue_ids() == std::set<uint64_t>{3});
  CHECK(replaced.supervised_ids() == std::set<uint64_t>{1, 2});
  // By grid, only grids with a mark: event 2 moved from grid 2 to grid 3.
  CHECK(replaced.marks_by_grid() ==
        std::unordered_map<std::string, GridMarks>{{kGrid1, GridMarks{{3}, {1}}},
                                                   {kGrid3, GridMarks{{}, {2}}}});
}

TEST_CASE("the board counts every open event by level, state and grid through the whole lifecycle") {
  EngineFixture f(SampleCity());
  ChangedGridsReader reader;  // and a reader of what changed, checked against the same recount
  const auto& grids = f.city().grids();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 12; ++i) {
    pb::Response r = f.Submit(i % 2 ? "water" : "noise", grids[static_cast<size_t>(i * 37)]->code());
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    ids.push_back(r.event().event().id());
  }
  CheckBoardMatchesEvents(f, reader);
  CHECK(Board(f).open() == 12);

  // Claim, progress, resolve, close by feedback, supervise, cancel: each moves the counts.
  pb::Event e0 = f.EventOf(ids[0]);
  uint64_t claim = f.ClaimOk(ids[0], e0.candidates(0));
  CheckBoardMatchesEvents(f, reader);
  REQUIRE(f.Progress(ids[0], claim).code() == pb::STATUS_OK);
  CheckBoardMatchesEvents(f, reader);
  REQUIRE(f.Resolve(ids[0], claim).code() == pb::STATUS_OK);
  CheckBoardMatchesEvents(f, reader);
  REQUIRE(f.Feedback(ids[0], true).code() == pb::STATUS_OK);
  CheckBoardMatchesEvents(f, reader);
  REQUIRE(f.Supervise(ids[1]).code() == pb::STATUS_OK);
  CheckBoardMatchesEvents(f, reader);
  CHECK(Board(f).supervised() == 1);
  REQUIRE(Board(f).supervised_ids_size() == 1);
  CHECK(Board(f).supervised_ids(0) == ids[1]);
  REQUIRE(f.Cancel(ids[2]).code() == pb::STATUS_OK);
  CheckBoardMatchesEvents(f, reader);
  CHECK(Board(f).open() == 10);

  // Nobody claims the rest: they climb every level and end overdue at city level.
  for (int step = 0; step < 12; ++step) {
    f.clock.Advance(24h);
    f.engine().FireDueTimers();
    CheckBoardMatchesEvents(f, reader);
  }
  pb::BoardResult board = Board(f);
  CHECK(board.overdue() > 0);
  // The overdue list names exactly the overdue open events, newest first.
  std::vector<uint64_t> overdue;
  f.engine().state().ForEachOpenEvent([&](const pb::Event& e) {
    if (e.overdue()) overdue.push_back(e.id());
  });
  std::sort(overdue.rbegin(), overdue.rend());
  CHECK(std::vector<uint64_t>(board.overdue_ids().begin(), board.overdue_ids().end()) == overdue);
  bool at_city = false;
  for (const pb::BoardCell& c : board.cells()) at_city = at_city || c.level() == pb::LEVEL_CITY;
  CHECK(at_city);

  // A restart rebuilds the same counts from the store.
  f.Restart();
  CheckBoardMatchesEvents(f, reader);
  CHECK(FromBoard(Board(f)) == FromBoard(board));
  CHECK(reader.changed_only == 18);  // every read but the first, and the first after the restart
}

TEST_CASE("a board of a region counts only the grids in it") {
  EngineFixture f;
  f.SubmitOk("water", kGrid1);
  f.SubmitOk("noise", kGrid2);
  f.SubmitOk("water", kGrid3);
  pb::BoardResult c1 = Board(f, kCommunity1);
  CHECK(c1.open() == 2);
  REQUIRE(c1.grids_size() == 2);
  CHECK(c1.grids(0).grid() == kGrid1);
  CHECK(c1.grids(1).grid() == kGrid2);
  CHECK(Board(f, kCommunity2).open() == 1);
  REQUIRE(f.Supervise(1).code() == pb::STATUS_OK);  // in grid 1
  REQUIRE(f.Supervise(3).code() == pb::STATUS_OK);  // in grid 3, community 2
  CHECK(Board(f, kCommunity1).supervised_ids_size() == 1);
  CHECK(Board(f, kCommunity1).supervised_ids(0) == 1);
  CHECK(Board(f).supervised_ids_size() == 2);
  CHECK(Board(f).supervised_ids(0) == 3);
  CHECK(Board(f, kStreet).open() == 3);
  CHECK(Board(f).last_seq() == f.engine().state().last_seq());

  pb::Request unknown;
  unknown.mutable_board()->set_region("nowhere");
  pb::Response reply = f.Run(unknown);
  CHECK(reply.code() == pb::STATUS_NOT_FOUND);
  CHECK(reply.message() == "unknown region 'nowhere'");
}

TEST_CASE(
    "a board of what changed since another sends the grids changed after it, emptied ones at "
    "zero") {
  EngineFixture f;
  const uint64_t a = f.SubmitOk("water", kGrid1);
  f.SubmitOk("noise", kGrid2);
  const uint64_t c = f.SubmitOk("water", kGrid3);
  const pb::BoardResult whole = Board(f);
  CHECK_FALSE(whole.grids_changed_only());
  CHECK(whole.grids_size() == 3);
  const uint64_t epoch = whole.grids_epoch();
  CHECK(epoch != 0);
  using Grids = std::map<std::string, std::tuple<uint32_t, uint32_t, uint32_t>>;
  auto grids_of = [](const pb::BoardResult& b) {
    Grids grids;
    for (const pb::GridCount& g : b.grids())
      grids[g.grid()] = {g.open(), g.overdue(), g.supervised()};
    return grids;
  };

  // From record 0 of this start (the store began empty): every grid, as changes. Without an
  // epoch: whole.
  pb::BoardResult b = ChangedSince(f, 0, epoch);
  CHECK(b.grids_changed_only());
  CHECK(grids_of(b) == grids_of(whole));
  CHECK_FALSE(ChangedSince(f, whole.last_seq(), 0).grids_changed_only());

  // A claim changes no grid's counts; the totals come whole all the same.
  f.ClaimOk(a, "c1-committee");
  b = ChangedSince(f, whole.last_seq(), epoch);
  CHECK(b.grids_changed_only());
  CHECK(b.grids_size() == 0);
  CHECK(b.open() == 3);
  CHECK(b.cells_size() == 2);
  CHECK(b.last_seq() == f.engine().state().last_seq());
  CHECK(b.grids_epoch() == epoch);

  // A supervision, a cancel (the grid's last open event) and a new report.
  REQUIRE(f.Supervise(2).code() == pb::STATUS_OK);
  REQUIRE(f.Cancel(c).code() == pb::STATUS_OK);
  f.SubmitOk("noise", kGrid1);
  b = ChangedSince(f, whole.last_seq(), epoch);
  CHECK(b.grids_changed_only());
  CHECK(grids_of(b) == Grids{{kGrid1, {2, 0, 0}}, {kGrid2, {1, 0, 1}}, {kGrid3, {0, 0, 0}}});
  CHECK(b.open() == 3);
  CHECK(b.supervised_ids_size() == 1);
  // Of a region: its own grids only, its totals whole.
  b = ChangedSince(f, whole.last_seq(), epoch, kCommunity2);
  CHECK(b.grids_changed_only());
  CHECK(grids_of(b) == Grids{{kGrid3, {0, 0, 0}}});
  CHECK(b.open() == 0);
  // From the board before the report: only grid 1. From now: nothing.
  CHECK(grids_of(ChangedSince(f, f.engine().state().last_seq() - 1, epoch)) ==
        Grids{{kGrid1, {2, 0, 0}}});
  CHECK(ChangedSince(f, f.engine().state().last_seq(), epoch).grids_size() == 0);

  // Whole: another epoch's board, or one ahead of the log.
  const Grids now = {{kGrid1, {2, 0, 0}}, {kGrid2, {1, 0, 1}}};
  b = ChangedSince(f, whole.last_seq(), epoch + 1);
  CHECK_FALSE(b.grids_changed_only());
  CHECK(grids_of(b) == now);
  CHECK_FALSE(ChangedSince(f, f.engine().state().last_seq() + 1, epoch).grids_changed_only());

  // A start is a new epoch: the whole board, once. (Grid 3 was emptied before it, and a store
  // restored from an older copy may have lost records after the caller's board: no stamp says.)
  const uint64_t before_restart = f.engine().state().last_seq();
  f.Restart();
  b = ChangedSince(f, before_restart, epoch);
  CHECK_FALSE(b.grids_changed_only());
  CHECK(grids_of(b) == now);
  const uint64_t restarted = b.grids_epoch();
  CHECK(restarted != epoch);
  // Of this epoch but from before its start (no board of it could be): whole too.
  CHECK_FALSE(ChangedSince(f, before_restart - 1, restarted).grids_changed_only());
  b = ChangedSince(f, before_restart, restarted);
  CHECK(b.grids_changed_only());
  CHECK(b.grids_size() == 0);
  REQUIRE(f.Cancel(a).code() == pb::STATUS_OK);
  CHECK(grids_of(ChangedSince(f, before_restart, restarted)) == Grids{{kGrid1, {1, 0, 0}}});
}

TEST_CASE("a board of a region lists the newest 100 of its marked events, from its grids' marks") {
  // The sample city: 150 reports in one county's grids and 150 elsewhere, interleaved, each its
  // own event (one a grid and category), every one supervised; after four days unclaimed they
  // are overdue at city level. A region's lists are what a scan of its open events would give.
  EngineFixture f(SampleCity());
  const City& city = f.city();
  const std::string grid = city.grids()[0]->code();
  const std::string county = city.AncestorAt(grid, pb::LEVEL_COUNTY)->code();
  const std::string street = city.AncestorAt(grid, pb::LEVEL_STREET)->code();
  const std::string community = city.AncestorAt(grid, pb::LEVEL_COMMUNITY)->code();
  std::vector<std::string> in_county, elsewhere;
  for (const pb::Region* g : city.grids()) {
    (city.Contains(county, g->code()) ? in_county : elsewhere).push_back(g->code());
  }
  REQUIRE(in_county.size() >= 75);
  REQUIRE(elsewhere.size() >= 75);
  for (size_t i = 0; i < 300; ++i) {
    const auto& grids = i % 2 ? in_county : elsewhere;
    pb::Response r = f.Submit(i / 2 % 2 ? "water" : "noise", grids[i / 4]);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    REQUIRE_FALSE(r.event().linked_as_duplicate());
    REQUIRE(f.Supervise(r.event().event().id()).code() == pb::STATUS_OK);
  }
  for (int step = 0; step < 4; ++step) {
    f.clock.Advance(24h);
    f.engine().FireDueTimers();
  }
  auto expected = [&](const std::string& region, bool overdue) {
    std::vector<uint64_t> ids;
    f.engine().state().ForEachOpenEvent([&](const pb::Event& e) {
      if ((overdue ? e.overdue() : e.supervised()) && city.Contains(region, e.grid()))
        ids.push_back(e.id());
    });
    std::sort(ids.rbegin(), ids.rend());
    if (ids.size() > 100) ids.resize(100);
    return ids;
  };
  auto listed = [](const google::protobuf::RepeatedField<uint64_t>& ids) {
    return std::vector<uint64_t>(ids.begin(), ids.end());
  };
  for (const std::string& region : {county, street, community, grid, std::string()}) {
    CAPTURE(region);
    const std::string scope = region.empty() ? city.root().code() : region;
    pb::BoardResult b = Board(f, region);
    CHECK(listed(b.supervised_ids()) == expected(scope, false));
    CHECK(listed(b.overdue_ids()) == expected(scope, true));
  }
  CHECK(Board(f, county).supervised_ids_size() == 100);  // of 150
  CHECK(Board(f, county).overdue_ids_size() == 100);
  CHECK(Board(f, grid).supervised_ids_size() == 2);  // water and noise
}

TEST_CASE(
    "a board of a region merges its grids' marks newest first, past a grid of more than 100") {
  // Community 1: one report in grid 2, then 110 in grid 1 (each out of the last one's duplicate
  // window), then one more in grid 2, all supervised; one in community 2 last of all.
  EngineFixture f;
  auto supervised = [&](const char* grid) {
    uint64_t id = f.SubmitOk("water", grid);
    REQUIRE(f.Supervise(id).code() == pb::STATUS_OK);
    f.clock.Advance(2h + 1s);  // past the test city's duplicate window (2 h)
    return id;
  };
  const uint64_t first = supervised(kGrid2);
  std::vector<uint64_t> grid1;
  for (int i = 0; i < 110; ++i) grid1.push_back(supervised(kGrid1));
  const uint64_t last = supervised(kGrid2);
  supervised(kGrid3);
  std::vector<uint64_t> expected = {last};
  expected.insert(expected.end(), grid1.rbegin(), grid1.rbegin() + 99);
  pb::BoardResult b = Board(f, kCommunity1);
  CHECK(std::vector<uint64_t>(b.supervised_ids().begin(), b.supervised_ids().end()) == expected);
  CHECK(std::find(b.supervised_ids().begin(), b.supervised_ids().end(), first) ==
        b.supervised_ids().end());
  // The city's root as the region is the whole city.
  pb::Request root;
  root.mutable_board()->set_region(f.city().root().code());
  pb::Response whole = f.Run(root);
  REQUIRE(whole.code() == pb::STATUS_OK);
  const pb::BoardResult city = Board(f);
  CHECK(whole.board().supervised_ids_size() == 100);
  CHECK(std::vector<uint64_t>(whole.board().supervised_ids().begin(),
                              whole.board().supervised_ids().end()) ==
        std::vector<uint64_t>(city.supervised_ids().begin(), city.supervised_ids().end()));
  CHECK(std::vector<uint64_t>(whole.board().overdue_ids().begin(),
                              whole.board().overdue_ids().end()) ==
        std::vector<uint64_t>(city.overdue_ids().begin(), city.overdue_ids().end()));
}

TEST_CASE("a supervisor sees the board of its region, not the city's") {
  EngineFixture f;
  f.SubmitOk("water", kGrid1);
  pb::Actor sup = TestActor(pb::ROLE_SUPERVISOR, "sup-c1");
  sup.set_region(kCommunity1);
  CHECK(Board(f, kCommunity1, sup).open() == 1);
  pb::Request city;
  city.mutable_board();
  pb::Response denied = f.Run(city, sup);
  CHECK(denied.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(denied.message() == "supervisor 'sup-c1' may not board: its region is 370602001001, not the whole city");
  pb::Request other;
  other.mutable_board()->set_region(kCommunity2);
  CHECK(f.Run(other, sup).code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(f.Run(city, TestActor(pb::ROLE_AGENT, "desk", "c1-committee")).code() == pb::STATUS_PERMISSION_DENIED);
}

pb::RanksResult Ranks(EngineFixture& f, pb::RanksQuery q) {
  pb::Request r;
  *r.mutable_ranks() = std::move(q);
  pb::Response reply = f.Run(r);
  REQUIRE_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
  return reply.ranks();
}

TEST_CASE("ranks give every counted department's and region's rates for the month") {
  EngineFixture f;
  uint64_t a = f.SubmitOk("water", kGrid1);
  uint64_t b = f.SubmitOk("water", kGrid3);
  REQUIRE(f.Resolve(a, f.ClaimOk(a, "c1-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(a, true).code() == pb::STATUS_OK);
  REQUIRE(f.Resolve(b, f.ClaimOk(b, "c2-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(b, false, 1).code() == pb::STATUS_OK);

  pb::RanksQuery q;
  q.set_month("2026-11");
  q.set_departments(true);
  pb::RanksResult departments = Ranks(f, q);
  std::map<std::string, pb::RankRow> by_scope;
  for (const pb::RankRow& row : departments.rows()) by_scope[row.scope()] = row;
  REQUIRE(by_scope.count("c1-committee") == 1);
  REQUIRE(by_scope.count("c2-committee") == 1);
  const pb::RankRow& c1 = by_scope["c1-committee"];
  CHECK(c1.rates().response_rate() == 1.0);
  CHECK(c1.rates().satisfaction_rate() == 1.0);
  CHECK(by_scope["c2-committee"].rates().satisfaction_rate() == 0.0);
  CHECK(c1.name() == f.city().FindDepartment("c1-committee")->name());
  // Each row is what Stats answers for that department.
  pb::Request stats;
  stats.mutable_stats()->set_department("c1-committee");
  stats.mutable_stats()->set_month("2026-11");
  CHECK(f.Run(stats).stats().counters().SerializeAsString() == c1.counters().SerializeAsString());

  q.set_region_level(pb::LEVEL_COMMUNITY);
  pb::RanksResult communities = Ranks(f, q);
  REQUIRE(communities.rows_size() == 2);
  CHECK(communities.rows(0).scope() == kCommunity1);
  CHECK(communities.rows(1).scope() == kCommunity2);

  q.set_region(kCommunity1);
  REQUIRE(Ranks(f, q).rows_size() == 1);
  q.set_month("2026-10");
  CHECK(Ranks(f, q).rows_size() == 0);  // nothing happened then

  pb::Request bad;
  bad.mutable_ranks()->set_month("November");
  bad.mutable_ranks()->set_departments(true);
  CHECK(f.Run(bad).message() == "month 'November' is not YYYY-MM");
  bad.mutable_ranks()->set_month("2026-11");
  bad.mutable_ranks()->set_region_level(pb::LEVEL_GRID);
  CHECK(f.Run(bad).code() == pb::STATUS_BAD_REQUEST);
  bad.mutable_ranks()->clear_of();
  CHECK(f.Run(bad).message() == "ranks needs departments or a region_level");
}

TEST_CASE("a supervisor switches the mode of its own region only") {
  EngineFixture f;
  pb::Actor sup = TestActor(pb::ROLE_SUPERVISOR, "sup-c1");
  sup.set_region(kCommunity1);
  pb::Request mode;
  mode.set_request_id("mode-1");
  mode.mutable_set_mode()->set_region(kCommunity1);
  mode.mutable_set_mode()->set_mode(pb::MODE_EMERGENCY);
  pb::Response ok = f.Run(mode, sup);
  CHECK_MESSAGE(ok.code() == pb::STATUS_OK, ok.message());
  mode.set_request_id("mode-2");
  mode.mutable_set_mode()->set_region(kStreet);
  pb::Response denied = f.Run(mode, sup);
  CHECK(denied.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(denied.message() == "supervisor 'sup-c1' may not set_mode: region 370602001 is outside its region 370602001001");
}

}  // namespace
}  // namespace whistle
