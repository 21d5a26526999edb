// Queries: Get with history, List by department/region/level with paging, Stats, Log.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>

#include "dispatcher/stats.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;
using testing::kGrid1;

pb::Response List(EngineFixture& f, pb::ListQuery q) {
  pb::Request r;
  *r.mutable_list() = std::move(q);
  return f.Run(std::move(r));
}

pb::Response Stats(EngineFixture& f, pb::StatsQuery q) {
  pb::Request r;
  *r.mutable_stats() = std::move(q);
  return f.Run(std::move(r));
}

std::vector<uint64_t> Ids(const pb::Response& r) {
  std::vector<uint64_t> ids;
  for (const auto& e : r.list().events()) ids.push_back(e.id());
  return ids;
}

TEST_CASE("get with history returns every record of the event in order") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  REQUIRE(f.Progress(id, claim, "valve closed").code() == pb::STATUS_OK);
  auto history = f.HistoryOf(id);
  REQUIRE(history.size() == 4);
  for (uint32_t i = 0; i < history.size(); ++i) CHECK(history[i].event_seq() == i);
  CHECK(history[3].progressed().note() == "valve closed");
  CHECK(history[2].claimed().department() == "c1-committee");
  CHECK(history[0].seq() < history[3].seq());
}

TEST_CASE("get of an unknown event is NOT_FOUND") {
  EngineFixture f;
  CHECK(f.Get(5).code() == pb::STATUS_NOT_FOUND);
  CHECK(f.Get(0).code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("a department's list pages through its events with a cursor") {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  EngineFixture f(config);
  for (int i = 0; i < 5; ++i) f.SubmitOk("water", kGrid1);
  f.SubmitOk("water", testing::kGrid3);  // another community's

  pb::ListQuery q;
  q.set_department("c1-committee");
  q.set_page_size(2);
  std::vector<uint64_t> seen;
  for (int page = 0; page < 5; ++page) {
    pb::Response r = List(f, q);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    for (uint64_t id : Ids(r)) seen.push_back(id);
    if (r.list().next_cursor().empty()) break;
    q.set_cursor(r.list().next_cursor());
  }
  CHECK(seen == std::vector<uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("a list filters by state, region and level") {
  EngineFixture f;
  uint64_t a = f.SubmitOk("water", kGrid1);
  uint64_t b = f.SubmitOk("noise", kGrid1);
  uint64_t c = f.SubmitOk("water", testing::kGrid3);
  f.ClaimOk(b, "c1-committee");

  pb::ListQuery claimed;
  claimed.set_department("c1-committee");
  claimed.set_state(pb::STATE_CLAIMED);
  CHECK(Ids(List(f, claimed)) == std::vector<uint64_t>{b});

  pb::ListQuery region;
  region.set_region(testing::kCommunity2);
  CHECK(Ids(List(f, region)) == std::vector<uint64_t>{c});
  region.set_region(testing::kStreet);
  CHECK(Ids(List(f, region)) == std::vector<uint64_t>{a, b, c});  // open ones by id

  pb::ListQuery level;
  level.set_level(pb::LEVEL_STREET);
  CHECK(Ids(List(f, level)).empty());
  f.clock.Advance(31min);
  f.engine().FireDueTimers();  // a and c climb; b is claimed
  CHECK(Ids(List(f, level)) == std::vector<uint64_t>{a, c});
}

// The department's index keys under the open bucket, as stored.
size_t OpenIndexEntries(EngineFixture& f, std::string_view department) {
  const std::string prefix =
      storage::IndexPrefix(storage::IndexTag::kDepartment, department, storage::IndexBucket::kOpen);
  size_t n = 0;
  auto cursor = f.store().NewCursor(storage::Cf::kIndexes);
  for (cursor->Seek(prefix); cursor->Valid() && cursor->key().starts_with(prefix); cursor->Next()) ++n;
  return n;
}

TEST_CASE("a return at the same level takes the event off the returning department's list") {
  // The level and the bucket stay as they were: only the departments change. (List re-checks each
  // event it finds, so the stored index entries are checked too: a stale one would be hidden.)
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", kGrid1);
  pb::ListQuery committee;
  committee.set_department("c1-committee");
  pb::ListQuery water_unit;
  water_unit.set_department("c1-water-unit");
  CHECK(Ids(List(f, committee)) == std::vector<uint64_t>{id});
  CHECK(Ids(List(f, water_unit)) == std::vector<uint64_t>{id});

  pb::Response r = f.Return(id, "c1-committee", 0, "water mains belong to the water company");
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  REQUIRE(r.event().event().level() == pb::LEVEL_COMMUNITY);
  CHECK(Ids(List(f, committee)).empty());
  CHECK(Ids(List(f, water_unit)) == std::vector<uint64_t>{id});
  CHECK(OpenIndexEntries(f, "c1-committee") == 0);
  CHECK(OpenIndexEntries(f, "c1-water-unit") == 1);
}

TEST_CASE("a list refuses a missing scope, a foreign cursor and an oversized page") {
  EngineFixture f;
  CHECK(List(f, pb::ListQuery()).code() == pb::STATUS_BAD_REQUEST);
  pb::ListQuery q;
  q.set_department("c1-committee");
  q.set_cursor("Rsomething-else");
  CHECK(List(f, q).message() == "cursor does not belong to this listing");
  q.clear_cursor();
  q.set_page_size(101);
  CHECK(List(f, q).message() == "page_size 101 is over the limit of 100");
  q.set_department("nobody");
  CHECK(List(f, q).code() == pb::STATUS_NOT_FOUND);
}

pb::Response ListMine(EngineFixture& f, const std::string& principal, pb::ListQuery q = {}) {
  q.set_mine(true);
  pb::Request r;
  *r.mutable_list() = std::move(q);
  return f.Run(std::move(r), testing::TestActor(pb::ROLE_REPORTER, principal));
}

TEST_CASE("a reporter lists its own reports newest first, linked and merged ones too") {
  EngineFixture f;
  uint64_t a1 = f.SubmitOk("water", kGrid1, "app-a");
  uint64_t b1 = f.SubmitOk("noise", kGrid1, "app-b");
  uint64_t a2 = f.SubmitOk("water", testing::kGrid3, "app-a");
  // app-b reports a1's problem again: linked to a1 as a duplicate, no event of its own.
  pb::Response duplicate = f.Submit("water", kGrid1, "app-b");
  REQUIRE(duplicate.code() == pb::STATUS_OK);
  REQUIRE(duplicate.event().event().id() == a1);
  CHECK(Ids(ListMine(f, "app-a")) == std::vector<uint64_t>{a2, a1});
  CHECK(Ids(ListMine(f, "app-b")) == std::vector<uint64_t>{b1, a1});
  CHECK(Ids(ListMine(f, "app-c")).empty());

  // b1 merged into a2: app-b's report now lives on in a2 too; b1 stays listed, merged.
  REQUIRE(f.Merge(b1, a2).code() == pb::STATUS_OK);
  pb::Response mine = ListMine(f, "app-b");
  CHECK(Ids(mine) == std::vector<uint64_t>{a2, b1, a1});
  CHECK(mine.list().events(1).state() == pb::STATE_MERGED);
  pb::ListQuery merged;
  merged.set_state(pb::STATE_MERGED);
  CHECK(Ids(ListMine(f, "app-b", merged)) == std::vector<uint64_t>{b1});
  // Any state in the one bucket: the index keeps an event under its reporters when it closes.
  REQUIRE(f.Resolve(a1, f.ClaimOk(a1, "c1-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(a1, true).code() == pb::STATUS_OK);
  pb::ListQuery closed;
  closed.set_state(pb::STATE_CLOSED);
  CHECK(Ids(ListMine(f, "app-a", closed)) == std::vector<uint64_t>{a1});
  CHECK(Ids(ListMine(f, "app-b", closed)) == std::vector<uint64_t>{a1});
  // And across a restart, from the index on disk.
  f.Restart();
  CHECK(Ids(ListMine(f, "app-b")) == std::vector<uint64_t>{a2, b1, a1});
}

TEST_CASE("a reporter's list pages with a cursor and refuses another's") {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  EngineFixture f(config);
  // A minute apart, ids 1 to 8.
  for (int i = 0; i < 5; ++i) f.SubmitOk("water", kGrid1, "app-a"), f.clock.Advance(1min);
  f.SubmitOk("water", kGrid1, "app-b"), f.clock.Advance(1min);
  const int64_t seventh_ms = f.clock.NowMs();
  for (int i = 0; i < 2; ++i) f.SubmitOk("water", kGrid1, "app-a"), f.clock.Advance(1min);

  pb::ListQuery q;
  q.set_page_size(3);
  std::vector<uint64_t> seen;
  std::string app_a_cursor;
  for (int page = 0; page < 5; ++page) {
    pb::Response r = ListMine(f, "app-a", q);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    for (uint64_t id : Ids(r)) seen.push_back(id);
    if (r.list().next_cursor().empty()) break;
    app_a_cursor = r.list().next_cursor();
    q.set_cursor(app_a_cursor);
  }
  CHECK(seen == std::vector<uint64_t>{8, 7, 5, 4, 3, 2, 1});

  // app-a's cursor names app-a's keys: it is not app-b's to follow, nor a department's.
  pb::Response foreign = ListMine(f, "app-b", q);
  CHECK(foreign.code() == pb::STATUS_BAD_REQUEST);
  CHECK(foreign.message() == "cursor does not belong to this listing");
  pb::ListQuery department;
  department.set_department("c1-committee");
  department.set_cursor(app_a_cursor);
  CHECK(List(f, department).message() == "cursor does not belong to this listing");
  q.set_cursor(app_a_cursor.substr(0, app_a_cursor.size() - 1));
  CHECK(ListMine(f, "app-a", q).message() == "cursor does not belong to this listing");

  // A time bound ends the walk at the first event created before it.
  pb::ListQuery recent;
  recent.set_created_from_ms(seventh_ms);
  CHECK(Ids(ListMine(f, "app-a", recent)) == std::vector<uint64_t>{8, 7});
  recent.set_created_from_ms(f.clock.NowMs());
  CHECK(Ids(ListMine(f, "app-a", recent)).empty());
  pb::ListQuery older;
  older.set_created_before_ms(seventh_ms);
  CHECK(Ids(ListMine(f, "app-a", older)) == std::vector<uint64_t>{5, 4, 3, 2, 1});

  pb::Request off;
  off.mutable_list()->set_mine(false);
  pb::Response refused = f.Run(off, testing::TestActor(pb::ROLE_REPORTER, "app-a"));
  CHECK(refused.code() == pb::STATUS_BAD_REQUEST);
  CHECK(refused.message() == "mine must be true when given");
}

TEST_CASE("the three rates follow what each department did") {
  EngineFixture f;
  // 1: claimed in time by the committee, resolved, rated satisfied.
  uint64_t one = f.SubmitOk("water", kGrid1);
  REQUIRE(f.Resolve(one, f.ClaimOk(one, "c1-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(one, true).code() == pb::STATUS_OK);
  // 2: nobody at the community claims; the street claims and misses its resolve deadline.
  uint64_t two = f.SubmitOk("water", testing::kGrid2);
  f.clock.Advance(31min);
  REQUIRE(f.engine().FireDueTimers() == 1);
  f.ClaimOk(two, "s-office");
  f.clock.Advance(49h);
  f.engine().FireDueTimers();
  // 3: the other community resolves, the citizen is not satisfied.
  uint64_t three = f.SubmitOk("noise", testing::kGrid3);
  REQUIRE(f.Resolve(three, f.ClaimOk(three, "c2-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(three, false, 1).code() == pb::STATUS_OK);

  auto rates = [&](auto set_scope) {
    pb::StatsQuery q;
    q.set_month("2026-11");
    set_scope(q);
    pb::Response r = Stats(f, q);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    return r.stats();
  };
  pb::StatsResult committee = rates([](pb::StatsQuery& q) { q.set_department("c1-committee"); });
  CHECK(committee.rates().response_rate() == doctest::Approx(0.5));
  CHECK(committee.rates().resolution_rate() == doctest::Approx(1.0));
  CHECK(committee.rates().satisfaction_rate() == doctest::Approx(1.0));

  pb::StatsResult unit = rates([](pb::StatsQuery& q) { q.set_department("c1-water-unit"); });
  CHECK(unit.rates().response_rate() == doctest::Approx(0.0));
  CHECK_FALSE(unit.rates().has_resolution_rate());
  CHECK_FALSE(unit.rates().has_satisfaction_rate());

  pb::StatsResult street = rates([](pb::StatsQuery& q) { q.set_department("s-office"); });
  CHECK(street.rates().response_rate() == doctest::Approx(1.0));
  CHECK(street.rates().resolution_rate() == doctest::Approx(0.0));

  pb::StatsResult community = rates([](pb::StatsQuery& q) { q.set_level(pb::LEVEL_COMMUNITY); });
  CHECK(community.counters().claimed_in_time() == 2);
  CHECK(community.counters().claim_missed() == 1);  // per event, not per candidate
  CHECK(community.rates().response_rate() == doctest::Approx(2.0 / 3.0));
  CHECK(community.rates().satisfaction_rate() == doctest::Approx(0.5));

  pb::StatsResult c1 = rates([](pb::StatsQuery& q) { q.set_region(testing::kCommunity1); });
  CHECK(c1.counters().submitted() == 2);
  CHECK(c1.counters().escalated() == 2);  // two: community -> street, street -> county

  pb::StatsQuery december;
  december.set_month("2026-12");
  december.set_department("c1-committee");
  CHECK_FALSE(Stats(f, december).stats().has_counters());
}

TEST_CASE("stats refuse a malformed month and an unknown scope") {
  EngineFixture f;
  pb::StatsQuery q;
  q.set_month("2026-13");
  q.set_department("c1-committee");
  CHECK(Stats(f, q).message() == "month '2026-13' is not YYYY-MM");
  q.set_month("2026-11");
  q.set_region("nowhere");
  CHECK(Stats(f, q).code() == pb::STATUS_NOT_FOUND);
}

TEST_CASE("months are counted in the city's local time") {
  // 2026-11-30 16:30 UTC is already December 1st in Beijing.
  int64_t at = 1796056200000;
  CHECK(MonthOf(at, 0) == "2026-11");
  CHECK(MonthOf(at, 480) == "2026-12");
}

TEST_CASE("the log returns every record after a sequence number, then nothing") {
  EngineFixture f;
  f.SubmitOk();
  f.ClaimOk(1, "c1-committee");
  pb::Request r;
  r.mutable_log()->set_after_seq(1);
  pb::Response log = f.Run(r);
  REQUIRE(log.code() == pb::STATUS_OK);
  CHECK(log.log().last_seq() == 3);
  REQUIRE(log.log().records_size() == 2);
  CHECK(log.log().records(0).seq() == 2);
  CHECK(log.log().records(1).has_claimed());
  r.mutable_log()->set_after_seq(3);
  CHECK(f.Run(r).log().records_size() == 0);
  r.mutable_log()->set_after_seq(UINT64_MAX);
  CHECK(f.Run(r).log().records_size() == 0);
}

TEST_CASE("the log checks a follower's last record when records follow it, and gives none when it differs") {
  EngineFixture f;
  f.SubmitOk();                     // records 1, 2
  f.ClaimOk(1, "c1-committee");     // record 3
  pb::Request r;
  r.mutable_log()->set_max_records(1);
  const pb::Record first = f.Run(r).log().records(0);
  REQUIRE(first.seq() == 1);

  pb::Request check;
  check.mutable_log()->set_after_seq(1);
  check.mutable_log()->set_check_mark(true);
  check.mutable_log()->set_mark_at_ms(first.at_ms());
  check.mutable_log()->set_mark_event_id(first.event_id());
  pb::Response same = f.Run(check);
  REQUIRE_MESSAGE(same.code() == pb::STATUS_OK, same.message());
  CHECK(same.log().mark_checked());
  CHECK_FALSE(same.log().mark_differs());
  REQUIRE(same.log().records_size() == 2);
  CHECK(same.log().records(0).seq() == 2);

  for (auto differ : {std::pair<int64_t, uint64_t>{first.at_ms() + 1, first.event_id()},
                      std::pair<int64_t, uint64_t>{first.at_ms(), first.event_id() + 1}}) {
    pb::Request other = check;
    other.mutable_log()->set_mark_at_ms(differ.first);
    other.mutable_log()->set_mark_event_id(differ.second);
    pb::Response differs = f.Run(other);
    REQUIRE(differs.code() == pb::STATUS_OK);
    CHECK(differs.log().mark_differs());
    CHECK_FALSE(differs.log().mark_checked());
    CHECK(differs.log().records_size() == 0);
    CHECK(differs.log().last_seq() == 3);
  }
  // An idle read checks nothing: nothing follows record 3.
  pb::Request idle = check;
  idle.mutable_log()->set_after_seq(3);
  idle.mutable_log()->set_mark_at_ms(0);
  pb::Response nothing = f.Run(idle);
  CHECK_FALSE(nothing.log().mark_checked());
  CHECK_FALSE(nothing.log().mark_differs());
  CHECK(nothing.log().records_size() == 0);
  // Malformed: a check of no record, or with from_ms.
  pb::Request zero = check;
  zero.mutable_log()->set_after_seq(0);
  CHECK(f.Run(zero).code() == pb::STATUS_BAD_REQUEST);
  pb::Request by_time = check;
  by_time.mutable_log()->set_from_ms(testing::kStartMs);
  CHECK(f.Run(by_time).code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("a checkpoint is an openable copy holding everything acknowledged") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  testing::TempDir dir;
  pb::Request r;
  r.mutable_checkpoint()->set_dir(dir.Sub("backup"));
  pb::Response reply = f.Run(r);
  REQUIRE_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
  CHECK(reply.checkpoint().last_seq() == 2);
  auto copy = storage::Store::Open(dir.Sub("backup"));
  REQUIRE(copy.ok());
  CHECK(testing::Dump(**copy, storage::Cf::kEvents) == testing::Dump(f.store(), storage::Cf::kEvents));
  CHECK(f.Run(r).code() == pb::STATUS_UNAVAILABLE);  // the directory exists now
  (void)id;
}

TEST_CASE("a request with no command is a bad request") {
  EngineFixture f;
  pb::Response r = f.Run(pb::Request());
  CHECK(r.code() == pb::STATUS_BAD_REQUEST);
  CHECK(r.message() == "the request carries no command");
}

TEST_CASE("the whole city lists newest first, filtered by time, category and states, in pages") {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  EngineFixture f(config);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(f.SubmitOk(i % 2 == 0 ? "water" : "noise", i < 3 ? kGrid1 : testing::kGrid3));
    f.clock.Advance(1min);
  }
  uint64_t claim = f.ClaimOk(ids[0], "c1-committee");
  REQUIRE(f.Resolve(ids[0], claim).code() == pb::STATUS_OK);
  REQUIRE(f.Cancel(ids[1]).code() == pb::STATUS_OK);

  pb::ListQuery q;
  q.set_city(true);
  CHECK(Ids(List(f, q)) == std::vector<uint64_t>{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]});

  q.add_categories("water");
  CHECK(Ids(List(f, q)) == std::vector<uint64_t>{ids[4], ids[2], ids[0]});
  q.add_states(pb::STATE_RESOLVED);
  q.add_states(pb::STATE_CANCELLED);
  CHECK(Ids(List(f, q)) == std::vector<uint64_t>{ids[0]});
  q.clear_categories();
  CHECK(Ids(List(f, q)) == std::vector<uint64_t>{ids[1], ids[0]});

  // [start + 1 min, start + 4 min): the second, third and fourth reports.
  pb::ListQuery window;
  window.set_city(true);
  window.set_created_from_ms(testing::kStartMs + 60 * 1000);
  window.set_created_before_ms(testing::kStartMs + 4 * 60 * 1000);
  CHECK(Ids(List(f, window)) == std::vector<uint64_t>{ids[3], ids[2], ids[1]});

  // Pages of two walk the whole city exactly once.
  pb::ListQuery paged;
  paged.set_city(true);
  paged.set_page_size(2);
  std::vector<uint64_t> seen;
  for (int page = 0; page < 10; ++page) {
    pb::Response r = List(f, paged);
    REQUIRE(r.code() == pb::STATUS_OK);
    for (uint64_t id : Ids(r)) seen.push_back(id);
    if (r.list().next_cursor().empty()) break;
    paged.set_cursor(r.list().next_cursor());
  }
  CHECK(seen == std::vector<uint64_t>{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]});

  // The same filters narrow a department's listing.
  pb::ListQuery dept;
  dept.set_department("c1-committee");
  dept.add_categories("noise");
  CHECK(Ids(List(f, dept)) == std::vector<uint64_t>{ids[1]});
}

// Submits `categories.size()` reports in kGrid1 as one batch, the i-th of categories[i]; their ids,
// oldest first.
std::vector<uint64_t> SubmitBatch(EngineFixture& f, const std::vector<std::string>& categories) {
  static int batches = 0;
  ++batches;
  std::vector<Command> submits;
  for (size_t i = 0; i < categories.size(); ++i) {
    Command c{testing::TestActor(), {}};
    c.request.set_request_id(fmt::format("batch-{}-{}", batches, i));
    c.request.mutable_submit()->mutable_report()->set_category(categories[i]);
    c.request.mutable_submit()->mutable_report()->set_grid(kGrid1);
    submits.push_back(std::move(c));
  }
  std::vector<uint64_t> ids;
  for (const pb::Response& r : f.engine().Process(submits)) {
    REQUIRE(r.code() == pb::STATUS_OK);
    ids.push_back(r.event().event().id());
  }
  return ids;
}

// Every page of a listing: the ids of each page, in order.
std::vector<std::vector<uint64_t>> Pages(EngineFixture& f, pb::ListQuery q) {
  std::vector<std::vector<uint64_t>> pages;
  for (int page = 0; page < 100; ++page) {
    pb::Response r = List(f, q);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    pages.push_back(Ids(r));
    if (r.list().next_cursor().empty()) break;
    q.set_cursor(r.list().next_cursor());
  }
  return pages;
}

TEST_CASE(
    "a list page stops at its budget: 2000 entries, an event read from the store counting 4") {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  EngineFixture f(config);
  // 600 events of c1-committee, every 12th a noise report, all cancelled: closed, so a listing
  // reads them from the store.
  std::vector<std::string> categories;
  for (int i = 0; i < 600; ++i) categories.push_back(i % 12 == 0 ? "noise" : "water");
  const std::vector<uint64_t> closed = SubmitBatch(f, categories);
  std::vector<Command> cancels;
  for (uint64_t id : closed) {
    Command c{testing::TestActor(), {}};
    c.request.mutable_cancel()->set_event_id(id);
    c.request.mutable_cancel()->set_reason("reported by mistake");
    cancels.push_back(std::move(c));
  }
  for (const pb::Response& r : f.engine().Process(cancels)) REQUIRE(r.code() == pb::STATUS_OK);
  auto noise_among = [&](size_t from, size_t to) {  // closed[from, to)
    std::vector<uint64_t> ids;
    for (size_t i = from; i < to; ++i) {
      if (i % 12 == 0) ids.push_back(closed[i]);
    }
    return ids;
  };

  // A department's closed bucket, oldest first: 500 events read from the store fill the budget,
  // and the page ends there with what matched among them.
  pb::ListQuery dept;
  dept.set_department("c1-committee");
  dept.add_states(pb::STATE_CANCELLED);
  dept.add_categories("noise");
  dept.set_page_size(100);
  CHECK(Pages(f, dept) ==
        std::vector<std::vector<uint64_t>>{noise_among(0, 500), noise_among(500, 600)});

  // The whole city walks the events' own bytes, newest first: every entry costs 1. Behind 1,500
  // open events (in memory), the first page reaches the newest 500 closed ones.
  SubmitBatch(f, std::vector<std::string>(1500, "water"));
  pb::ListQuery city;
  city.set_city(true);
  city.add_categories("noise");
  city.set_page_size(100);
  std::vector<uint64_t> newest = noise_among(100, 600), oldest = noise_among(0, 100);
  std::reverse(newest.begin(), newest.end());
  std::reverse(oldest.begin(), oldest.end());
  CHECK(Pages(f, city) == std::vector<std::vector<uint64_t>>{newest, oldest});

  // A page that fills before its budget ends at its size, as ever, and the pages together hold
  // every match once.
  dept.set_page_size(5);
  const auto pages = Pages(f, dept);
  CHECK(pages[0] == noise_among(0, 49));
  std::vector<uint64_t> all;
  for (const auto& page : pages) all.insert(all.end(), page.begin(), page.end());
  CHECK(all == noise_among(0, 600));
}

TEST_CASE("the whole city listed before a time starts at the events created before it") {
  // A walk from the newest event would read the 2,001 newer ones first and answer a page with
  // nothing on it but a cursor (a page looks at 2,000 entries at most).
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  EngineFixture f(config);
  const uint64_t old_one = f.SubmitOk();
  const int64_t before = f.clock.NowMs() + 1;
  f.clock.Advance(1h);
  SubmitBatch(f, std::vector<std::string>(2001, "water"));

  pb::ListQuery q;
  q.set_city(true);
  q.set_created_before_ms(before);
  pb::Response r = List(f, q);
  REQUIRE(r.code() == pb::STATUS_OK);
  CHECK(Ids(r) == std::vector<uint64_t>{old_one});
  CHECK(r.list().next_cursor().empty());
  q.set_created_before_ms(before - 1);  // before every event
  r = List(f, q);
  CHECK(Ids(r).empty());
  CHECK(r.list().next_cursor().empty());
  q.set_created_before_ms(f.clock.NowMs() + 1);  // after every event: from the newest
  q.set_page_size(1);
  CHECK(Ids(List(f, q)) == std::vector<uint64_t>{old_one + 2001});
}

TEST_CASE("list filters that cannot match anything are refused") {
  EngineFixture f;
  pb::ListQuery q;
  q.set_city(true);
  q.add_categories("fireworks");
  CHECK(List(f, q).code() == pb::STATUS_NOT_FOUND);
  q.clear_categories();
  q.add_states(pb::STATE_SUBMITTED);
  CHECK(List(f, q).code() == pb::STATUS_BAD_REQUEST);
  q.clear_states();
  q.add_states(static_cast<pb::EventState>(99));
  CHECK(List(f, q).code() == pb::STATUS_BAD_REQUEST);
  q.clear_states();
  q.set_state(pb::STATE_CLOSED);
  q.add_states(pb::STATE_CANCELLED);
  CHECK(List(f, q).message() == "list takes a state or a set of states, not both");
  pb::ListQuery bad_cursor;
  bad_cursor.set_city(true);
  bad_cursor.set_cursor("xyz");
  CHECK(List(f, bad_cursor).code() == pb::STATUS_BAD_REQUEST);
  pb::ListQuery negative;
  negative.set_city(true);
  negative.set_created_from_ms(-1);
  CHECK(List(f, negative).code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("a report is found again by its submit request id, only by the principal that sent it") {
  EngineFixture f;
  pb::Response submitted = f.Submit("water", kGrid1, "app-1", "token-abc");
  REQUIRE(submitted.code() == pb::STATUS_OK);
  pb::Request get;
  get.mutable_get()->set_submit_request_id("token-abc");
  pb::Response found = f.Run(get, testing::TestActor(pb::ROLE_REPORTER, "app-1"));
  REQUIRE_MESSAGE(found.code() == pb::STATUS_OK, found.message());
  CHECK(found.event().event().id() == submitted.event().event().id());

  CHECK(f.Run(get, testing::TestActor(pb::ROLE_REPORTER, "app-2")).code() == pb::STATUS_NOT_FOUND);
  get.mutable_get()->set_submit_request_id("token-unknown");
  pb::Response unknown = f.Run(get, testing::TestActor(pb::ROLE_REPORTER, "app-1"));
  CHECK(unknown.code() == pb::STATUS_NOT_FOUND);
  CHECK(unknown.message() == "no report was submitted with request id 'token-unknown'");
  // One longer than any request id may be is refused as such, not looked for.
  get.mutable_get()->set_submit_request_id(std::string(129, 't'));
  pb::Response too_long = f.Run(get, testing::TestActor(pb::ROLE_REPORTER, "app-1"));
  CHECK(too_long.code() == pb::STATUS_BAD_REQUEST);
  CHECK(too_long.message() == "submit_request_id is 129 bytes; the limit is 128");
  // A request id that was used for something other than a Submit names no report.
  pb::Request claim;
  claim.set_request_id("claim-1");
  claim.mutable_claim()->set_event_id(submitted.event().event().id());
  claim.mutable_claim()->set_department("c2-committee");
  REQUIRE(f.Run(claim, testing::TestActor(pb::ROLE_AGENT, "app-1")).code() != pb::STATUS_OK);
  get.mutable_get()->set_submit_request_id("claim-1");
  CHECK(f.Run(get, testing::TestActor(pb::ROLE_REPORTER, "app-1")).code() == pb::STATUS_NOT_FOUND);
  // Nor does one of an accepted command, whose first answer names an event too.
  pb::Request cancel;
  cancel.set_request_id("cancel-1");
  cancel.mutable_cancel()->set_event_id(submitted.event().event().id());
  cancel.mutable_cancel()->set_reason("by mistake");
  REQUIRE(f.Run(cancel, testing::TestActor(pb::ROLE_DEV, "app-1")).code() == pb::STATUS_OK);
  get.mutable_get()->set_submit_request_id("cancel-1");
  CHECK(f.Run(get, testing::TestActor(pb::ROLE_REPORTER, "app-1")).code() == pb::STATUS_NOT_FOUND);
  get.mutable_get()->set_event_id(1);
  CHECK(f.Run(get).code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("the log starts at the first record at or after a time") {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);
  EngineFixture f(config);
  for (int i = 0; i < 5; ++i) {  // records 2i+1, 2i+2 at start + i minutes
    f.SubmitOk();
    f.clock.Advance(1min);
  }
  pb::Request r;
  for (int minute = 0; minute <= 5; ++minute) {
    CAPTURE(minute);
    r.mutable_log()->set_from_ms(testing::kStartMs + minute * 60 * 1000 - (minute == 0 ? 0 : 1));
    pb::Response log = f.Run(r);
    REQUIRE(log.code() == pb::STATUS_OK);
    REQUIRE(log.log().records_size() == 2 * (5 - minute));
    if (minute < 5) CHECK(log.log().records(0).seq() == static_cast<uint64_t>(2 * minute + 1));
  }
  // after_seq still applies: the later of the two starts wins.
  r.mutable_log()->set_from_ms(testing::kStartMs);
  r.mutable_log()->set_after_seq(6);
  CHECK(f.Run(r).log().records(0).seq() == 7);
}

// A clock that can be set anywhere, as a system clock stepped back by NTP would be.
class SteppingClock final : public Clock {
 public:
  int64_t NowMs() const override { return now_ms; }
  int64_t now_ms = testing::kStartMs;
};

TEST_CASE("the engine's time never runs backwards in the log, across a restart too") {
  testing::TempDir dir;
  auto city = City::Build(testing::TestCityConfig());
  REQUIRE(city.ok());
  SteppingClock clock;
  auto submit = [&](Engine& engine, const char* category, const char* grid, const char* id) {
    pb::Request r;
    r.set_request_id(id);
    r.mutable_submit()->mutable_report()->set_category(category);
    r.mutable_submit()->mutable_report()->set_grid(grid);
    pb::Response reply = engine.Execute({testing::TestActor(), r});
    REQUIRE_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
    return reply.event().event().created_at_ms();
  };
  int64_t first = 0;
  {
    auto store = storage::Store::Open(dir.Sub("db"));
    REQUIRE(store.ok());
    auto engine = Engine::Open(**store, *city, clock);
    REQUIRE(engine.ok());
    clock.now_ms += 2 * 3600 * 1000;
    first = submit(**engine, "water", kGrid1, "a");
    clock.now_ms -= 2 * 3600 * 1000;  // the system clock stepped back two hours
    CHECK(submit(**engine, "noise", kGrid1, "b") == first);
  }
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, *city, clock);
  REQUIRE(engine.ok());
  CHECK(submit(**engine, "noise", testing::kGrid3, "c") == first);
  clock.now_ms += 3 * 3600 * 1000;
  CHECK(submit(**engine, "water", testing::kGrid3, "d") == clock.now_ms);
}

}  // namespace
}  // namespace whistle
