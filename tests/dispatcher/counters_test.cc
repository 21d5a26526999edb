// Statistics counters in meta: a journal entry a batch, folded into whole months (EngineState,
// "Counters in meta"), past months archived a key a counter and out of memory ("Counters of past
// months"), and the one-key-a-counter layout of older stores.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <span>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/replay.h"
#include "dispatcher/stats.h"
#include "storage/store.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/temp_dir.h"

namespace whistle {
namespace {

using storage::Cf;
using testing::EngineFixture;

// kStartMs's month in Beijing, and the next.
constexpr std::string_view kMonth = "2026-11";
constexpr std::string_view kNextMonth = "2026-12";

// Every counter of the test city in `month`, by scope.
std::map<std::string, std::string> CountersOf(const EngineState& state, std::string_view month) {
  std::map<std::string, std::string> out;
  auto add = [&](const std::string& scope) {
    auto c = state.Counters(month, scope);
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    if (c->has_value()) out[scope] = (*c)->SerializeAsString();
  };
  for (const auto& d : state.city().config().departments()) add(DepartmentScope(d.id()));
  for (const auto& r : state.city().config().regions()) add(RegionScope(r.code()));
  for (pb::Level level : kLadder) add(LevelScope(level));
  return out;
}

// What a restart must bring back.
std::map<std::string, std::string> CountersOf(EngineFixture& f, std::string_view month = kMonth) {
  return CountersOf(f.engine().state(), month);
}

// The counters the log says: its records replayed through the appliers into an empty store.
std::map<std::string, std::string> ReplayedCounters(EngineFixture& f, std::string_view month) {
  testing::TempDir dir;
  auto store = storage::Store::Open(dir.Sub("replayed"));
  REQUIRE(store.ok());
  EngineState replayed(**store, f.city());
  REQUIRE(replayed.Load().ok());
  Status s = ReplayLog(f.store(), replayed);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return CountersOf(replayed, month);
}

// Restarts, and checks that both months' counters are what they were and what the log says.
void RestartAndCheck(EngineFixture& f) {
  std::map<std::string, std::string> before = CountersOf(f, kMonth);
  std::map<std::string, std::string> next_before = CountersOf(f, kNextMonth);
  f.Restart();
  CHECK(CountersOf(f, kMonth) == before);
  CHECK(CountersOf(f, kNextMonth) == next_before);
  CHECK(ReplayedCounters(f, kMonth) == before);
  CHECK(ReplayedCounters(f, kNextMonth) == next_before);
}

size_t MetaKeysStartingWith(EngineFixture& f, std::string_view prefix) {
  size_t n = 0;
  for (const std::string& key : testing::Keys(f.store(), Cf::kMeta)) n += key.starts_with(prefix);
  return n;
}

// Command i of a run that counts in many scopes: a submit on one of the three grids, then a claim,
// a resolve and a rating of the event before it.
void Step(EngineFixture& f, int i) {
  const char* grids[] = {testing::kGrid1, testing::kGrid2, testing::kGrid3};
  uint64_t id = f.SubmitOk(i % 2 ? "water" : "noise", grids[i % 3]);
  uint64_t claim = f.ClaimOk(id, f.EventOf(id).candidates(0));
  REQUIRE(f.Resolve(id, claim).code() == pb::STATUS_OK);
  if (i % 2) REQUIRE(f.Feedback(id, i % 4 == 1).code() == pb::STATUS_OK);
}

// Reopens the engine with that fold threshold.
void FoldAt(EngineFixture& f, uint64_t journal_bytes) {
  f.options.counter_fold_bytes = journal_bytes;
  f.Restart();
}

// Steps from, ..., to - 1.
void Steps(EngineFixture& f, int from, int to) {
  for (int i = from; i < to; ++i) Step(f, i);
}

TEST_CASE("counters come back after a restart from the journal, one entry a batch that counted") {
  EngineFixture f;
  Steps(f, 0, 6);
  std::map<std::string, std::string> before = CountersOf(f);
  REQUIRE(before.size() > 5);
  // Every command above counted: a submit, a claim, a resolve, and three ratings.
  CHECK(MetaKeysStartingWith(f, "statj/") == 6 * 3 + 3);
  CHECK(MetaKeysStartingWith(f, "stat/") == 0);
  CHECK(MetaKeysStartingWith(f, "statb/") == 0);
  RestartAndCheck(f);
}

TEST_CASE("once the journal holds counter_fold_bytes, a batch writes its months whole instead and deletes the journal") {
  EngineFixture f;
  FoldAt(f, 3000);
  size_t folds = 0;
  size_t longest_journal = 0;
  size_t journal = 0;
  for (int i = 0; i < 12; ++i) {
    Step(f, i);
    size_t now = MetaKeysStartingWith(f, "statj/");
    if (now < journal) {
      ++folds;
      CHECK(MetaKeysStartingWith(f, "statb/") == 1);  // the month, whole
    }
    journal = now;
    longest_journal = std::max(longest_journal, journal);
  }
  CHECK(folds >= 2);
  CHECK(longest_journal >= 3);
  RestartAndCheck(f);
}

TEST_CASE("climbs after releases count the same after a restart and replayed from the log") {
  // Each decision is in its record (Released.answerable, Escalated.released_by): the log replays
  // to the counts the engine made, the releaser's unresolved among them.
  EngineFixture f;
  uint64_t climbs = f.SubmitOk();
  REQUIRE(f.Release(climbs, f.ClaimOk(climbs, "c1-committee")).code() == pb::STATUS_OK);
  uint64_t taken = f.SubmitOk("noise", testing::kGrid3);
  REQUIRE(f.Release(taken, f.ClaimOk(taken, "c2-committee")).code() == pb::STATUS_OK);
  f.ClaimOk(taken, "c2-committee");
  f.clock.Set(f.EventOf(climbs).claim_deadline_ms());
  REQUIRE(f.engine().FireDueTimers() == 1);
  auto unresolved = [&](const std::string& department) {
    auto c = f.engine().state().Counters(kMonth, DepartmentScope(department));
    REQUIRE(c.ok());
    return c->has_value() ? (*c)->unresolved() : 0;
  };
  REQUIRE(unresolved("c1-committee") == 1);
  REQUIRE(unresolved("c2-committee") == 0);
  RestartAndCheck(f);
  CHECK(unresolved("c1-committee") == 1);
}

TEST_CASE(
    "a log written before releases were answerable replays to what it applied then: nobody named, "
    "nothing counted") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Release(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  f.clock.Set(f.EventOf(id).claim_deadline_ms());
  REQUIRE(f.engine().FireDueTimers() == 1);
  std::vector<pb::Record> log = f.HistoryOf(id);  // one event: the whole log
  REQUIRE(log.front().seq() == 1);
  size_t released_at = 0;
  for (size_t i = 0; i < log.size(); ++i) {  // as a version before wrote them
    if (log[i].has_released()) {
      released_at = i;
      log[i].mutable_released()->clear_answerable();
    }
    if (log[i].has_escalated()) log[i].mutable_escalated()->clear_released_by();
  }
  REQUIRE(released_at > 0);
  auto replay = [&](std::span<const pb::Record> records, auto&& check) {
    testing::TempDir dir;
    auto store = storage::Store::Open(dir.Sub("replayed"));
    REQUIRE(store.ok());
    EngineState replayed(**store, f.city());
    REQUIRE(replayed.Load().ok());
    Status s = ReplayRecords(records, replayed);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    check(replayed);
  };
  replay(std::span<const pb::Record>(log).first(released_at + 1), [&](EngineState& replayed) {
    auto e = replayed.FindEvent(id);
    REQUIRE(e.ok());
    REQUIRE(*e != nullptr);
    CHECK((*e)->state() == pb::STATE_DISPATCHED);
    CHECK((*e)->released_by().empty());
  });
  replay(log, [&](EngineState& replayed) {
    auto c = replayed.Counters(kMonth, DepartmentScope("c1-committee"));
    REQUIRE(c.ok());
    REQUIRE(c->has_value());
    CHECK((*c)->claimed_in_time() == 1);
    CHECK((*c)->unresolved() == 0);
  });
}

TEST_CASE("a restart part way through the journal folds at the same point as a run without it") {
  EngineFixture steady, restarted;
  for (EngineFixture* f : {&steady, &restarted}) {
    FoldAt(*f, 3000);
  }
  for (int i = 0; i < 12; ++i) {
    Step(steady, i);
    Step(restarted, i);
    if (i % 4 == 1) restarted.Restart();  // the journal's size is counted again at load
  }
  CHECK(testing::Dump(restarted.store(), Cf::kMeta) == testing::Dump(steady.store(), Cf::kMeta));
  CHECK(CountersOf(restarted) == CountersOf(steady));
}

TEST_CASE("with counter_fold_bytes 0 every batch folds: meta holds the month whole and no journal") {
  EngineFixture f;
  FoldAt(f, 0);
  Steps(f, 0, 4);
  CHECK(MetaKeysStartingWith(f, "statj/") == 0);
  CHECK(testing::Keys(f.store(), Cf::kMeta) ==
        std::vector<std::string>{"idempotency_decided", "index_layout", "next_id", "seq", "statb/2026-11"});
  RestartAndCheck(f);
}

// Stores written before the journal held one key a counter: "stat/" month '|' scope, for every
// month (none was archived).
void RewriteToKeyPerCounter(EngineFixture& f) {
  storage::WriteBatch batch(f.store());
  for (const auto& [key, value] : testing::Dump(f.store(), Cf::kMeta)) {
    if (key.starts_with("stata/")) {
      batch.Put(Cf::kMeta, "stat/" + key.substr(6), value);
      batch.Delete(Cf::kMeta, key);
    }
    if (!key.starts_with("statb/")) continue;
    pb::CounterSet month;
    REQUIRE(month.ParseFromString(value));
    for (const auto& entry : month.entries()) {
      batch.Put(Cf::kMeta, "stat/" + entry.key(), entry.counters().SerializeAsString());
    }
    batch.Delete(Cf::kMeta, key);
  }
  REQUIRE(f.store().Write(batch).ok());
}

TEST_CASE("a store with a key a counter keeps its counters until its month's first fold deletes those keys") {
  EngineFixture old_layout, twin;
  for (EngineFixture* f : {&old_layout, &twin}) {
    FoldAt(*f, 0);
    for (int i = 0; i < 3; ++i) Step(*f, i);
  }
  RewriteToKeyPerCounter(old_layout);
  FoldAt(old_layout, EngineState::kDefaultCounterFoldBytes);
  REQUIRE(MetaKeysStartingWith(old_layout, "stat/") > 5);
  CHECK(CountersOf(old_layout) == CountersOf(twin));

  // Journal entries on top of the old keys.
  Step(old_layout, 3);
  Step(twin, 3);
  CHECK(MetaKeysStartingWith(old_layout, "statj/") > 0);
  old_layout.Restart();
  CHECK(CountersOf(old_layout) == CountersOf(twin));

  // The fold writes the month whole and deletes its old keys and the journal.
  FoldAt(old_layout, 0);
  Step(old_layout, 4);
  Step(twin, 4);
  CHECK(testing::Keys(old_layout.store(), Cf::kMeta) ==
        std::vector<std::string>{"idempotency_decided", "index_layout", "next_id", "seq", "statb/2026-11"});
  old_layout.Restart();
  CHECK(CountersOf(old_layout) == CountersOf(twin));
  CHECK(testing::Dump(old_layout.store(), Cf::kMeta) == testing::Dump(twin.store(), Cf::kMeta));
}

TEST_CASE("journal entries of two months are both folded, the earlier one archived, after a restart too") {
  EngineFixture f;
  Steps(f, 0, 3);
  f.clock.Advance(std::chrono::hours(24 * 8));  // 2026-12-01 17:00 in Beijing
  Steps(f, 3, 6);
  REQUIRE_FALSE(CountersOf(f, kMonth).empty());
  REQUIRE_FALSE(CountersOf(f, kNextMonth).empty());
  RestartAndCheck(f);  // the journal holds both months

  // The fold after the restart writes both months (the journal it deletes held November's too):
  // December whole, November, before the month counted into, archived.
  const size_t november = CountersOf(f, kMonth).size();
  FoldAt(f, 0);
  Step(f, 6);
  CHECK(MetaKeysStartingWith(f, "statj/") == 0);
  CHECK(MetaKeysStartingWith(f, "statb/2026-11") == 0);
  CHECK(MetaKeysStartingWith(f, "stata/2026-11|") == november);
  CHECK(MetaKeysStartingWith(f, "statb/2026-12") == 1);
  RestartAndCheck(f);
}

TEST_CASE("a month of the layout before the journal is archived, its keys replaced, when a later month folds") {
  EngineFixture f;
  FoldAt(f, 0);
  Steps(f, 0, 3);
  f.clock.Advance(std::chrono::hours(24 * 8));
  Steps(f, 3, 5);
  RewriteToKeyPerCounter(f);
  REQUIRE(MetaKeysStartingWith(f, "statb/") == 0);
  f.Restart();  // the running engine read November from the keys the rewrite replaced
  RestartAndCheck(f);
  const size_t november = MetaKeysStartingWith(f, "stat/2026-11|");
  REQUIRE(november > 5);

  Step(f, 5);  // December only
  CHECK(MetaKeysStartingWith(f, "stat/") == 0);
  CHECK(MetaKeysStartingWith(f, "stata/2026-11|") == november);
  CHECK(MetaKeysStartingWith(f, "statb/2026-12") == 1);
  CHECK(MetaKeysStartingWith(f, "statb/2026-11") == 0);
  RestartAndCheck(f);
}

TEST_CASE("folding a month leaves the keys of the month after it, in the layout before the journal, alone") {
  EngineFixture f;
  FoldAt(f, 0);
  Steps(f, 0, 3);
  RewriteToKeyPerCounter(f);
  // December's keys, as a store whose clock once ran ahead might hold (the log does not back them).
  storage::WriteBatch plant(f.store());
  for (const auto& [key, value] : testing::Dump(f.store(), Cf::kMeta)) {
    if (key.starts_with("stat/2026-11|")) plant.Put(Cf::kMeta, "stat/2026-12|" + key.substr(13), value);
  }
  REQUIRE(f.store().Write(plant).ok());
  f.Restart();
  std::map<std::string, std::string> december = CountersOf(f, kNextMonth);
  REQUIRE(december.size() > 5);

  Step(f, 3);  // November's fold
  CHECK(MetaKeysStartingWith(f, "stat/2026-11|") == 0);
  CHECK(MetaKeysStartingWith(f, "stat/2026-12|") == december.size());
  f.Restart();
  CHECK(CountersOf(f, kNextMonth) == december);
  CHECK(CountersOf(f, kMonth) == ReplayedCounters(f, kMonth));
}

TEST_CASE("counting by region, department and level lands on the scope's keyed counter, in the local month of each time") {
  EngineFixture f;  // for its city
  const City& city = f.city();
  testing::TempDir dir;
  auto store = storage::Store::Open(dir.Sub("counted"));
  REQUIRE(store.ok());
  const int64_t last_of_november = 1796054399999;  // 2026-11-30 23:59:59.999 in Beijing, 15:59 UTC
  const int64_t first_of_december = last_of_november + 1;
  const int64_t ten_days = int64_t{10} * 24 * 3600 * 1000;
  const int grid = city.RegionIndex(testing::kGrid1);
  REQUIRE(grid >= 0);
  const std::string department = city.config().departments(0).id();
  auto count_everywhere = [&](EngineState& state, int64_t at) {
    for (pb::StatCounters* c : {&state.MutableRegionCounters(at, grid), &state.MutableDepartmentCounters(at, department),
                                &state.MutableDepartmentCounters(at, "gone-from-the-city"),
                                &state.MutableLevelCounters(at, pb::LEVEL_STREET)}) {
      c->set_submitted(c->submitted() + 1);
    }
  };
  const std::string scopes[] = {RegionScope(testing::kGrid1), DepartmentScope(department),
                                DepartmentScope("gone-from-the-city"), LevelScope(pb::LEVEL_STREET)};
  auto submitted = [&](const EngineState& state, std::string_view month) {
    std::vector<uint64_t> out;
    for (const std::string& scope : scopes) {
      auto c = state.Counters(month, scope);
      REQUIRE(c.ok());
      out.push_back(c->has_value() ? (*c)->submitted() : 0);
    }
    return out;
  };
  EngineState state(**store, city);
  REQUIRE(state.Load().ok());
  // Back and forth across the month's end; each month's times seen reach further back (November)
  // and further on (December), and later times fall between them. (That counting finds the
  // counters a restart loaded is "a restart part way through the journal ...".)
  for (int64_t at : {last_of_november, first_of_december, last_of_november, last_of_november - ten_days,
                     last_of_november - ten_days / 2, first_of_december, first_of_december + ten_days,
                     first_of_december + ten_days / 2, last_of_november}) {
    count_everywhere(state, at);
  }
  CHECK(submitted(state, kMonth) == std::vector<uint64_t>{5, 5, 5, 5});
  CHECK(submitted(state, kNextMonth) == std::vector<uint64_t>{4, 4, 4, 4});
  CHECK(&state.MutableCounters(kMonth, scopes[0]) == &state.MutableRegionCounters(last_of_november, grid));
}

pb::Response Query(EngineFixture& f, pb::Request request) {
  pb::Response reply = f.Run(std::move(request));
  REQUIRE_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
  return reply;
}

// What the queries say of `month`: every department's and every level's Stats, and Ranks of the
// departments and of each level's regions.
std::vector<std::string> QueriedCounters(EngineFixture& f, std::string_view month) {
  std::vector<std::string> out;
  pb::Request r;
  r.mutable_stats()->set_month(std::string(month));
  for (const auto& d : f.city().config().departments()) {
    r.mutable_stats()->set_department(d.id());
    out.push_back(Query(f, r).stats().SerializeAsString());
  }
  for (pb::Level level : kLadder) {
    r.mutable_stats()->set_level(level);
    out.push_back(Query(f, r).stats().SerializeAsString());
  }
  pb::Request ranks;
  ranks.mutable_ranks()->set_month(std::string(month));
  ranks.mutable_ranks()->set_departments(true);
  out.push_back(Query(f, ranks).ranks().SerializeAsString());
  for (pb::Level level : kLadder) {
    ranks.mutable_ranks()->set_region_level(level);
    out.push_back(Query(f, ranks).ranks().SerializeAsString());
  }
  ranks.mutable_ranks()->set_region(testing::kStreet);
  ranks.mutable_ranks()->set_region_level(pb::LEVEL_COMMUNITY);
  out.push_back(Query(f, ranks).ranks().SerializeAsString());
  ranks.mutable_ranks()->set_departments(true);
  out.push_back(Query(f, ranks).ranks().SerializeAsString());
  return out;
}

TEST_CASE("a fold archives the months before the one counted into: out of memory, a key a counter on disk, read the same") {
  EngineFixture f;
  FoldAt(f, 0);
  Steps(f, 0, 4);
  const std::map<std::string, std::string> november = CountersOf(f, kMonth);
  const std::vector<std::string> queried = QueriedCounters(f, kMonth);
  REQUIRE(november.size() > 5);
  REQUIRE(queried.back().size() > 10);  // the city's counts, ranked
  CHECK(f.engine().state().counter_months_in_memory() == 1);

  f.clock.Advance(std::chrono::hours(24 * 8));  // 2026-12-01 17:00 in Beijing
  Step(f, 4);  // its fold archives November
  CHECK(f.engine().state().counter_months_in_memory() == 1);
  CHECK(MetaKeysStartingWith(f, "statb/2026-11") == 0);
  CHECK(MetaKeysStartingWith(f, "stata/2026-11|") == november.size());
  CHECK(MetaKeysStartingWith(f, "statb/2026-12") == 1);
  CHECK(CountersOf(f, kMonth) == november);
  CHECK(QueriedCounters(f, kMonth) == queried);

  RestartAndCheck(f);  // also against the log replayed, which counts November in memory
  CHECK(f.engine().state().counter_months_in_memory() == 1);  // a start reads no archived key
  CHECK(QueriedCounters(f, kMonth) == queried);
  const std::map<std::string, std::string> december = CountersOf(f, kNextMonth);
  Step(f, 5);
  CHECK(CountersOf(f, kMonth) == november);
  CHECK(CountersOf(f, kNextMonth) != december);
  RestartAndCheck(f);
}

TEST_CASE("a month being archived is read from memory until its batch is written, then from disk") {
  EngineFixture f;
  FoldAt(f, 0);
  Steps(f, 0, 3);
  const std::map<std::string, std::string> november = CountersOf(f, kMonth);
  f.clock.Advance(std::chrono::hours(24 * 8));
  Engine& engine = f.engine();
  pb::Request submit;
  submit.set_request_id("december-1");
  submit.mutable_submit()->mutable_report()->set_category("water");
  submit.mutable_submit()->mutable_report()->set_grid(testing::kGrid1);
  const Command command{testing::TestActor(), submit};
  REQUIRE(engine.Decide(std::span<const Command>(&command, 1))[0].code() == pb::STATUS_OK);
  SealedBatch sealed = engine.Seal();
  REQUIRE(sealed.write != nullptr);
  // The store still holds November whole; the batch that archives it is not written.
  CHECK(MetaKeysStartingWith(f, "statb/2026-11") == 1);
  CHECK(MetaKeysStartingWith(f, "stata/") == 0);
  CHECK(engine.state().counter_months_in_memory() == 2);
  CHECK(CountersOf(f, kMonth) == november);

  Status written = f.store().Write(*sealed.write);
  REQUIRE(engine.Complete(sealed, written).ok());
  CHECK(engine.state().counter_months_in_memory() == 1);
  CHECK(MetaKeysStartingWith(f, "stata/2026-11|") == november.size());
  CHECK(CountersOf(f, kMonth) == november);
}

// An EngineState on a store of its own, counting one record at a time at given times, into a grid
// or a department: what the engine does, with times the engine's clock would never give (earlier
// than the newest record, as after a clock or UTC offset stepped back).
struct DirectCounting {
  EngineFixture f;  // for its city
  testing::TempDir dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<EngineState> state;

  DirectCounting() {
    auto opened = storage::Store::Open(dir.Sub("counted"));
    REQUIRE(opened.ok());
    store = std::move(opened).value();
  }
  // A restart, folding every `fold_bytes` of journal (0: every batch that counts folds).
  void Open(uint64_t fold_bytes = 0) {
    state.reset();
    state = std::make_unique<EngineState>(*store, f.city());
    state->set_counter_fold_bytes(fold_bytes);
    REQUIRE(state->Load().ok());
  }
  // One counted record, as an applier counts it, not yet committed.
  void Count(int64_t at, bool department = false) {
    pb::StatCounters& c = department ? state->MutableDepartmentCounters(at, kDepartment)
                                     : state->MutableRegionCounters(at, f.city().RegionIndex(testing::kGrid1));
    c.set_submitted(c.submitted() + 1);
    pb::Record r;
    r.set_at_ms(at);
    state->LogRecord(std::move(r));
    state->FinishCommand();
  }
  void CountAndCommit(int64_t at, bool department = false) {
    Count(at, department);
    REQUIRE(state->Commit().ok());
  }
  uint64_t Submitted(std::string_view month, bool department = false) const {
    auto c = state->Counters(month, department ? DepartmentScope(kDepartment) : RegionScope(testing::kGrid1));
    REQUIRE(c.ok());
    return c->has_value() ? (*c)->submitted() : 0;
  }

  static constexpr char kDepartment[] = "c1-water-unit";
};

// 2026-11-30 22:59:59.999 in Beijing, and two hours on; a month before, and a month after.
constexpr int64_t kNovember = 1796054399999 - int64_t{3600} * 1000;
constexpr int64_t kDecember = kNovember + int64_t{2} * 3600 * 1000;
constexpr int64_t kOctober = kNovember - int64_t{31} * 24 * 3600 * 1000;
constexpr int64_t kJanuary = kDecember + int64_t{31} * 24 * 3600 * 1000;

TEST_CASE("counting into an archived month reads it back, before its archive is written too, and a restart finds every count") {
  DirectCounting d;
  REQUIRE(d.f.city().FindDepartment(DirectCounting::kDepartment) != nullptr);
  d.Open();
  for (int64_t at : {kNovember, kNovember, kDecember}) d.CountAndCommit(at);
  CHECK(d.state->counter_months_in_memory() == 1);  // November archived
  CHECK(d.Submitted(kMonth) == 2);

  d.Count(kNovember);  // the clock stepped back: November is read back and counted into
  CHECK(d.state->counter_months_in_memory() == 2);
  CHECK(d.Submitted(kMonth) == 3);
  REQUIRE(d.state->Commit().ok());  // November is the month counted into: December stays
  CHECK(d.state->counter_months_in_memory() == 2);

  // Archived by one batch, counted into by the next before the first is written: it stays.
  d.Count(kDecember);
  EngineState::SealedBatch archiving = d.state->Seal();
  d.Count(kNovember);
  REQUIRE(d.store->Write(*archiving.write).ok());
  d.state->Release(archiving.last_seq);
  CHECK(d.state->counter_months_in_memory() == 2);
  REQUIRE(d.state->Commit().ok());
  CHECK(d.Submitted(kMonth) == 4);
  CHECK(d.Submitted(kNextMonth) == 2);

  d.Open();  // November's archived keys, under its newer whole value
  CHECK(d.Submitted(kMonth) == 4);
  CHECK(d.Submitted(kNextMonth) == 2);
  d.CountAndCommit(kDecember);
  CHECK(d.state->counter_months_in_memory() == 1);
  d.Open();
  CHECK(d.Submitted(kMonth) == 4);
  CHECK(d.Submitted(kNextMonth) == 3);
}

TEST_CASE("a month read back and counted into in one scope keeps its other scopes across a restart from the journal") {
  DirectCounting d;
  d.Open();
  d.CountAndCommit(kNovember);
  d.CountAndCommit(kNovember, /*department=*/true);
  d.CountAndCommit(kDecember);  // archives November: both scopes
  REQUIRE(d.state->counter_months_in_memory() == 1);

  d.Open(EngineState::kDefaultCounterFoldBytes);  // from now on a journal entry a batch, no fold
  d.CountAndCommit(kNovember);  // the grid's counter only, in the journal
  CHECK(d.Submitted(kMonth) == 2);
  CHECK(d.Submitted(kMonth, true) == 1);
  d.Open(EngineState::kDefaultCounterFoldBytes);  // November: its archive, then the journal on top
  CHECK(d.state->counter_months_in_memory() == 2);
  CHECK(d.Submitted(kMonth) == 2);
  CHECK(d.Submitted(kMonth, true) == 1);
}

TEST_CASE("months in memory before the one counted into are archived one a fold, oldest first, and all read back after a restart") {
  DirectCounting d;
  d.Open(EngineState::kDefaultCounterFoldBytes);  // no fold: every month stays in memory
  for (int64_t at : {kOctober, kNovember, kNovember, kDecember, kDecember, kDecember}) {
    d.CountAndCommit(at);
  }
  d.CountAndCommit(kJanuary, /*department=*/true);
  d.Open(0);
  REQUIRE(d.state->counter_months_in_memory() == 4);
  for (size_t in_memory : {3, 2, 1, 1}) {
    d.CountAndCommit(kJanuary);
    CHECK(d.state->counter_months_in_memory() == in_memory);
  }
  d.Open(0);
  CHECK(d.state->counter_months_in_memory() == 1);  // three archived months noted, none read
  CHECK(d.Submitted("2026-10") == 1);
  CHECK(d.Submitted(kMonth) == 2);
  CHECK(d.Submitted(kNextMonth) == 3);
  CHECK(d.Submitted("2027-01") == 4);
  CHECK(d.Submitted("2027-01", true) == 1);
  CHECK(d.Submitted("2026-09") == 0);
  d.Count(kNovember);  // only November comes back
  CHECK(d.state->counter_months_in_memory() == 2);
  CHECK(d.Submitted(kMonth) == 3);
  CHECK(d.Submitted("2026-10") == 1);
  CHECK(d.Submitted(kNextMonth) == 3);
}

TEST_CASE("CounterSetWriter writes the bytes CounterSet serialization does, for long keys and large counts") {
  pb::StatCounters zero;
  pb::StatCounters large;
  const google::protobuf::Descriptor* descriptor = large.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    large.GetReflection()->SetUInt64(&large, descriptor->field(i), ~uint64_t{0} - static_cast<uint64_t>(i));
  }
  REQUIRE(large.ByteSizeLong() > 127);  // a length of two bytes
  pb::CounterSet expected;
  CounterSetWriter writer;
  for (size_t length : {1, 127, 128, 300, 20000}) {
    for (const pb::StatCounters* counters : {&zero, &large}) {
      std::string key(length, 'k');
      writer.Add(key, *counters);
      auto* entry = expected.add_entries();
      entry->set_key(key);
      *entry->mutable_counters() = *counters;
    }
  }
  CHECK(writer.Finish() == expected.SerializeAsString());
  CHECK(writer.Finish().empty());  // empty again
}

}  // namespace
}  // namespace whistle
