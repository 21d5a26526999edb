// Restarts: close and reopen the store mid-lifecycle; nothing is lost, nothing fires twice.
#include <doctest/doctest.h>
#include <rocksdb/env.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "storage/fault_injection.h"
#include "storage/keys.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/faulty_disk.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::EngineFixture;

struct Picture {
  std::vector<std::string> events;  // each event with its history, as the engine answers Get
  testing::KeyValues timers;        // the pending deadlines on disk
  size_t open_events;
  uint64_t last_seq;
  bool operator==(const Picture&) const = default;
};

Picture Take(EngineFixture& f, uint64_t last_id) {
  Picture p;
  for (uint64_t id = 1; id <= last_id; ++id) p.events.push_back(f.Snapshot(id));
  p.timers = testing::Dump(f.store(), storage::Cf::kTimers);
  p.open_events = f.engine().state().open_event_count();
  p.last_seq = f.engine().state().last_seq();
  return p;
}

TEST_CASE("state, history and pending deadlines are identical after a restart") {
  EngineFixture f;
  uint64_t dispatched = f.SubmitOk("water", testing::kGrid1);
  f.clock.Advance(7min);  // deadlines at different times
  uint64_t claimed = f.SubmitOk("noise", testing::kGrid1);
  f.ClaimOk(claimed, "c1-committee");
  uint64_t resolved = f.SubmitOk("water", testing::kGrid2);
  REQUIRE(f.Resolve(resolved, f.ClaimOk(resolved, "c1-water-unit")).code() == pb::STATUS_OK);
  uint64_t closed = f.SubmitOk("water", testing::kGrid3);
  REQUIRE(f.Resolve(closed, f.ClaimOk(closed, "c2-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(closed, true).code() == pb::STATUS_OK);
  (void)dispatched;

  Picture before = Take(f, closed);
  f.Restart();
  Picture after = Take(f, closed);
  CHECK(after == before);
  CHECK(after.open_events == 3);
  CHECK(after.timers.size() == 3);  // two deadlines and one quiet period
  // And the deadlines still fire after the restart, at their time.
  f.clock.Set(f.EventOf(dispatched).claim_deadline_ms());
  CHECK(f.engine().FireDueTimers() == 1);
}

TEST_CASE("a deadline that passed while the process was down fires exactly once after start") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.clock.Advance(2h);  // the 30-minute claim deadline passes while "down"
  f.Restart();
  CHECK(f.engine().HasDueTimers());
  CHECK(f.engine().FireDueTimers() == 1);
  CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);
  CHECK(f.engine().FireDueTimers() == 0);
  f.Restart();
  CHECK(f.engine().FireDueTimers() == 0);
  int escalations = 0;
  for (const auto& r : f.HistoryOf(id)) escalations += r.has_escalated();
  CHECK(escalations == 1);
}

TEST_CASE("event ids and sequence numbers continue after a restart") {
  EngineFixture f;
  CHECK(f.SubmitOk("water", testing::kGrid1) == 1);
  uint64_t seq = f.engine().state().last_seq();
  f.Restart();
  CHECK(f.SubmitOk("water", testing::kGrid2) == 2);
  CHECK(f.engine().state().last_seq() == seq + 2);  // Submitted + Dispatched
}

TEST_CASE("the duplicate index is rebuilt on start: a repeat report after a restart is linked") {
  EngineFixture f;
  uint64_t id = f.SubmitOk("water", testing::kGrid1, "worker-a");
  f.Restart();
  pb::Response again = f.Submit("water", testing::kGrid1, "worker-b");
  REQUIRE(again.code() == pb::STATUS_OK);
  CHECK(again.event().linked_as_duplicate());
  CHECK(again.event().event().id() == id);
}

// What the engine derives from its open events at start, in memory only.
struct Derived {
  size_t open_events;
  OpenCounts city;
  std::unordered_map<std::string, OpenCounts> by_grid;
  std::set<uint64_t> overdue, supervised;
  std::unordered_map<std::string, GridMarks> marks_by_grid;
  std::vector<std::vector<uint64_t>> unresolved;  // ids, for each (grid, category)
  testing::KeyValues timers;
  bool operator==(const Derived&) const = default;
};

Derived TakeDerived(EngineFixture& f, const std::vector<std::string>& grids,
                    const std::vector<std::string>& categories) {
  const EngineState& state = f.engine().state();
  Derived d{state.open_event_count(),
            state.open_tally().city(),
            state.open_tally().by_grid(),
            state.open_tally().overdue_ids(),
            state.open_tally().supervised_ids(),
            state.open_tally().marks_by_grid(),
            {},
            testing::Dump(f.store(), storage::Cf::kTimers)};
  for (const auto& grid : grids) {
    for (const auto& category : categories) {
      std::vector<uint64_t>& ids = d.unresolved.emplace_back();
      for (const pb::Event* e : state.UnresolvedAt(grid, category, 0)) ids.push_back(e->id());
    }
  }
  return d;
}

TEST_CASE("thousands of open events load whole: tallies, duplicate index and timers as they were") {
  pb::CityConfig config = testing::TestCityConfig();
  config.mutable_settings()->set_duplicate_window_seconds(0);  // every report a new event
  EngineFixture f(config);
  const std::vector<std::string> grids = {testing::kGrid1, testing::kGrid2, testing::kGrid3};
  const std::vector<std::string> categories = {"water", "noise"};
  // More than the loader's pipe holds at once (4 chunks of 1,024 events: engine_state.cc).
  constexpr uint64_t kEvents = 6000;
  std::vector<Command> batch;
  for (uint64_t n = 0; n < kEvents; ++n) {
    Command& c = batch.emplace_back(Command{testing::TestActor(), {}});
    c.request.set_request_id(fmt::format("r{}", n));
    c.request.mutable_submit()->mutable_report()->set_category(categories[n % 2]);
    c.request.mutable_submit()->mutable_report()->set_grid(grids[n % 3]);
    if (batch.size() == 500) {
      for (const auto& r : f.engine().Process(batch)) REQUIRE(r.code() == pb::STATUS_OK);
      batch.clear();
      f.clock.Advance(1min);  // deadlines at different times
    }
  }
  REQUIRE(f.engine().state().open_event_count() == kEvents);
  // Every open state and flag, on events spread over the load's chunks.
  for (uint64_t id = 7; id <= kEvents; id += 97) {
    const std::string committee = (id - 1) % 3 == 2 ? "c2-committee" : "c1-committee";
    uint64_t claim = f.ClaimOk(id, committee);
    if (id % 5 == 0) REQUIRE(f.Supervise(id).code() == pb::STATUS_OK);
    if (id % 2 == 0) REQUIRE(f.Resolve(id, claim).code() == pb::STATUS_OK);
  }
  Derived before = TakeDerived(f, grids, categories);
  REQUIRE(before.supervised.size() > 0);
  REQUIRE(before.city.by_level_state[pb::LEVEL_COMMUNITY][pb::STATE_RESOLVED] > 0);
  f.Restart();
  Derived after = TakeDerived(f, grids, categories);
  CHECK(after == before);
  CHECK(after.open_events == kEvents);
  CHECK_FALSE(f.store().compactions_paused());  // paused only while the load read the events
  // And the first deadline fires at its time, not before.
  REQUIRE(!after.timers.empty());
  int64_t first_due;
  uint64_t first_id;
  storage::DecodeTimerKey(after.timers.begin()->first, &first_due, &first_id);
  f.clock.Set(first_due - 1);
  CHECK(f.engine().FireDueTimers() == 0);
  f.clock.Set(first_due);
  CHECK(f.engine().FireDueTimers() >= 1);
}

using testing::FaultyDisk;

bool IsReporterKey(const std::string& key) { return key[0] == static_cast<char>(storage::IndexTag::kReporter); }

// Stores written before index layout 2 keyed each index entry by the event's state, and had no
// "index_layout" mark in meta, nor the reporter index and the indexes' copy of their layout (both
// layout 3). Such a store is rewritten here, in place, to what it was then.
void RewriteToIndexLayout1(EngineFixture& f) {
  storage::WriteBatch batch(f.store());
  for (const auto& [key, value] : testing::Dump(f.store(), storage::Cf::kIndexes)) {
    if (key == storage::kIndexesLayoutKey || IsReporterKey(key)) {
      batch.Delete(storage::Cf::kIndexes, key);
      continue;
    }
    auto event = f.engine().state().FindEvent(storage::IndexKeyId(key));
    REQUIRE(event.ok());
    REQUIRE(*event != nullptr);
    std::string old_key = key;
    old_key[key.size() - 9] = static_cast<char>((*event)->state());  // the bucket byte held the state
    batch.Delete(storage::Cf::kIndexes, key);
    batch.Put(storage::Cf::kIndexes, old_key, value);
  }
  batch.Delete(storage::Cf::kMeta, "index_layout");
  REQUIRE(f.store().Write(batch).ok());
}

TEST_CASE("a store with the old index layout has its indexes rebuilt on start") {
  EngineFixture f;
  uint64_t dispatched = f.SubmitOk("water", testing::kGrid1);
  uint64_t claimed = f.SubmitOk("noise", testing::kGrid1);
  f.ClaimOk(claimed, "c1-committee");
  uint64_t closed = f.SubmitOk("water", testing::kGrid3);
  REQUIRE(f.Resolve(closed, f.ClaimOk(closed, "c2-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(closed, true).code() == pb::STATUS_OK);
  const testing::KeyValues indexes = testing::Dump(f.store(), storage::Cf::kIndexes);
  REQUIRE(indexes.size() > 3);
  Picture before = Take(f, closed);

  RewriteToIndexLayout1(f);
  REQUIRE(testing::Dump(f.store(), storage::Cf::kIndexes) != indexes);
  f.Restart();
  CHECK(testing::Dump(f.store(), storage::Cf::kIndexes) == indexes);
  CHECK(Take(f, closed) == before);
  CHECK(f.engine().state().open_event_count() == 2);
  pb::Request list;
  list.mutable_list()->set_department("c1-committee");
  list.mutable_list()->set_state(pb::STATE_CLAIMED);
  pb::Response r = f.Run(list);
  REQUIRE(r.code() == pb::STATUS_OK);
  REQUIRE(r.list().events_size() == 1);
  CHECK(r.list().events(0).id() == claimed);
  (void)dispatched;
  // Marked as done: the next start does not rebuild (an entry planted now would be swept away).
  storage::WriteBatch plant(f.store());
  plant.Put(storage::Cf::kIndexes, storage::IndexKey(storage::IndexTag::kLevel, "9", storage::IndexBucket::kTerminal, 1), "");
  REQUIRE(f.store().Write(plant).ok());
  f.Restart();
  CHECK(testing::Dump(f.store(), storage::Cf::kIndexes).size() == indexes.size() + 1);
}

TEST_CASE("a store of index layout 2 gets its reporter index on start, the other keys untouched") {
  EngineFixture f;
  uint64_t first = f.SubmitOk("water", testing::kGrid1, "app-a");
  uint64_t second = f.SubmitOk("noise", testing::kGrid1, "app-b");
  REQUIRE(f.Submit("water", testing::kGrid1, "app-b").event().event().id() == first);  // linked
  uint64_t closed = f.SubmitOk("water", testing::kGrid3, "app-a");
  REQUIRE(f.Resolve(closed, f.ClaimOk(closed, "c2-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(closed, true).code() == pb::STATUS_OK);
  const testing::KeyValues indexes = testing::Dump(f.store(), storage::Cf::kIndexes);

  // Layout 2 as it was: no reporter keys, no copy of the layout in the indexes, the mark "2".
  storage::WriteBatch to_layout2(f.store());
  size_t reporter_keys = 0;
  for (const auto& [key, value] : indexes) {
    if (!IsReporterKey(key)) continue;
    to_layout2.Delete(storage::Cf::kIndexes, key);
    ++reporter_keys;
  }
  to_layout2.Delete(storage::Cf::kIndexes, storage::kIndexesLayoutKey);
  CHECK(reporter_keys == 4);  // the first event app-a and app-b, the second app-b, the third app-a
  to_layout2.Put(storage::Cf::kMeta, "index_layout", "2");
  // A stray key the upgrade must leave alone: it adds, it does not rebuild.
  const std::string stray =
      storage::IndexKey(storage::IndexTag::kLevel, "9", storage::IndexBucket::kTerminal, 1);
  to_layout2.Put(storage::Cf::kIndexes, stray, "");
  REQUIRE(f.store().Write(to_layout2).ok());

  std::vector<std::string> notes;
  f.options.start_note = [&](std::string_view note) { notes.emplace_back(note); };
  f.Restart();
  CHECK(notes == std::vector<std::string>{"adding the reporter index (index layout 3) to every stored event, once"});
  testing::KeyValues upgraded = testing::Dump(f.store(), storage::Cf::kIndexes);
  auto kept = std::find_if(upgraded.begin(), upgraded.end(), [&](const auto& kv) { return kv.first == stray; });
  REQUIRE(kept != upgraded.end());
  upgraded.erase(kept);
  CHECK(upgraded == indexes);
  const testing::KeyValues meta = testing::Dump(f.store(), storage::Cf::kMeta);
  CHECK(std::count(meta.begin(), meta.end(), std::pair<std::string, std::string>("index_layout", "3")) == 1);
  pb::Request mine;
  mine.mutable_list()->set_mine(true);
  pb::Response r = f.Run(mine, testing::TestActor(pb::ROLE_REPORTER, "app-b"));
  REQUIRE(r.code() == pb::STATUS_OK);
  REQUIRE(r.list().events_size() == 2);
  CHECK(r.list().events(0).id() == second);
  CHECK(r.list().events(1).id() == first);
  notes.clear();
  f.Restart();  // once only
  CHECK(notes.empty());
}

TEST_CASE("an older version's rebuild of the indexes cut short by a crash is done again whole") {
  EngineFixture f;
  uint64_t open = f.SubmitOk("water", testing::kGrid1, "app-a");
  uint64_t closed = f.SubmitOk("noise", testing::kGrid3, "app-b");
  REQUIRE(f.Resolve(closed, f.ClaimOk(closed, "c2-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(closed, true).code() == pb::STATUS_OK);
  const testing::KeyValues indexes = testing::Dump(f.store(), storage::Cf::kIndexes);
  REQUIRE(indexes.front().first == storage::kIndexesLayoutKey);  // first of all

  // Layout 2's rebuild, seeing meta say "3", deletes the index keys from the first on; it crashed
  // after its first write, leaving meta as it was.
  storage::WriteBatch cut_short(f.store());
  for (size_t i = 0; i < indexes.size() / 2; ++i) cut_short.Delete(storage::Cf::kIndexes, indexes[i].first);
  REQUIRE(f.store().Write(cut_short).ok());

  std::vector<std::string> notes;
  f.options.start_note = [&](std::string_view note) { notes.emplace_back(note); };
  f.Restart();
  CHECK(notes == std::vector<std::string>{"rebuilding the indexes (index layout 3) from every stored event, once"});
  CHECK(testing::Dump(f.store(), storage::Cf::kIndexes) == indexes);
  CHECK(f.engine().state().open_event_count() == 1);
  pb::Request level;
  level.mutable_list()->set_level(pb::LEVEL_COMMUNITY);
  pb::Response listed = f.Run(level);
  REQUIRE(listed.code() == pb::STATUS_OK);
  REQUIRE(listed.list().events_size() == 2);
  CHECK(listed.list().events(0).id() == open);  // open first
}

TEST_CASE("restarted with the clock behind its log, the engine's due timers are due at once") {
  // The engine's time never goes back behind the newest record (Engine::NowMs): a timer due by
  // it is due, and the server's loop, which asks HasDueTimers, fires it then, not once the host's
  // clock has caught up.
  FaultyDisk disk;
  auto& [dir, fs, env, city, clock] = disk;
  EngineOptions options;
  options.max_timers_per_batch = 1;
  auto submit = [](Engine& engine, const std::string& grid) {
    Command c{testing::TestActor(), {}};
    c.request.set_request_id("submit-" + grid);
    c.request.mutable_submit()->mutable_report()->set_category("water");
    c.request.mutable_submit()->mutable_report()->set_grid(grid);
    pb::Response r = engine.Execute(c);
    REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
    return r.event().event().timer_due_ms();
  };
  int64_t fired_at = 0;
  {
    auto store = storage::Store::Open(dir.Sub("db"));
    REQUIRE(store.ok());
    auto engine = Engine::Open(**store, city, clock, options);
    REQUIRE(engine.ok());
    const int64_t due = std::max(submit(**engine, testing::kGrid1), submit(**engine, testing::kGrid3));
    clock.Set(due + 1000);
    REQUIRE((*engine)->FireDueTimers() == 1);  // one a batch: the other is left due
    fired_at = clock.NowMs();
  }
  ManualClock behind(testing::kStartMs);  // the host's clock, behind the log after the restart
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, city, behind, options);
  REQUIRE(engine.ok());
  REQUIRE(*(*engine)->NextTimerDue() > behind.NowMs());
  CHECK((*engine)->NowMs() == fired_at);
  CHECK((*engine)->HasDueTimers());
  CHECK((*engine)->FireDueTimers() == 1);
  CHECK_FALSE((*engine)->HasDueTimers());
}

TEST_CASE("a failed write answers UNAVAILABLE and the engine refuses everything until reopened") {
  FaultyDisk disk;
  auto& [dir, fs, env, city, clock] = disk;

  auto submit = [](Engine& engine, const std::string& grid) {
    Command c{testing::TestActor(), {}};
    c.request.set_request_id("submit-" + grid);
    c.request.mutable_submit()->mutable_report()->set_category("water");
    c.request.mutable_submit()->mutable_report()->set_grid(grid);
    return engine.Execute(c);
  };
  {
    auto store = storage::Store::Open(dir.Sub("db"), {.env = env.get()});
    REQUIRE(store.ok());
    auto engine = Engine::Open(**store, city, clock);
    REQUIRE(engine.ok());
    REQUIRE(submit(**engine, testing::kGrid1).code() == pb::STATUS_OK);

    fs->set_fail_writes(true);
    pb::Response failed = submit(**engine, testing::kGrid2);
    CHECK(failed.code() == pb::STATUS_UNAVAILABLE);
    CHECK((*engine)->committed_records().empty());  // nothing of the failed batch to publish
    CHECK_FALSE((*engine)->HasDueTimers());
    fs->set_fail_writes(false);
    pb::Response refused = submit(**engine, testing::kGrid3);
    CHECK(refused.code() == pb::STATUS_UNAVAILABLE);
    CHECK((*engine)->health().code() == pb::STATUS_UNAVAILABLE);
  }
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, city, clock);
  REQUIRE(engine.ok());
  CHECK((*engine)->state().open_event_count() == 1);
  pb::Response next = submit(**engine, testing::kGrid2);
  REQUIRE(next.code() == pb::STATUS_OK);
  CHECK(next.event().event().id() == 2);  // the batch never reached the files: no trace
}

TEST_CASE("after a failed sync the outcome is unknown, and a retry with the same id makes one event") {
  FaultyDisk disk;
  auto& [dir, fs, env, city, clock] = disk;
  Command report{testing::TestActor(pb::ROLE_REPORTER, "worker"), {}};
  report.request.set_request_id("order-1");
  report.request.mutable_submit()->mutable_report()->set_category("water");
  report.request.mutable_submit()->mutable_report()->set_grid(testing::kGrid1);
  {
    auto store = storage::Store::Open(dir.Sub("db"), {.env = env.get()});
    REQUIRE(store.ok());
    auto engine = Engine::Open(**store, city, clock);
    REQUIRE(engine.ok());
    fs->set_fail_syncs(true);  // the bytes reach the log file, the fsync fails
    CHECK((*engine)->Execute(report).code() == pb::STATUS_UNAVAILABLE);
    fs->set_fail_syncs(false);
  }
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, city, clock);
  REQUIRE(engine.ok());
  pb::Response retry = (*engine)->Execute(report);
  REQUIRE_MESSAGE(retry.code() == pb::STATUS_OK, retry.message());
  CHECK(retry.event().event().id() == 1);
  CHECK((*engine)->state().next_event_id() == 2);  // one event, whether the first try landed or not
}

// The test city without the category "noise" (and the department that answers only it).
pb::CityConfig WithoutNoise() {
  pb::CityConfig smaller = testing::TestCityConfig();
  auto* cats = smaller.mutable_categories();
  cats->erase(std::remove_if(cats->begin(), cats->end(), [](const auto& c) { return c.code() == "noise"; }),
              cats->end());
  auto* sla = smaller.mutable_sla();
  sla->erase(std::remove_if(sla->begin(), sla->end(), [](const auto& s) { return s.category() == "noise"; }),
             sla->end());
  for (auto& d : *smaller.mutable_departments()) {
    auto* c = d.mutable_categories();
    c->erase(std::remove(c->begin(), c->end(), "noise"), c->end());
  }
  smaller.mutable_departments()->erase(smaller.mutable_departments()->end() - 1);  // city-police
  return smaller;
}

// Opens the store in `dir` on the city without "noise": refused, naming event 1's category.
void CheckRefusedWithoutNoise(const testing::TempDir& dir, const Clock& clock) {
  auto reduced = City::Build(WithoutNoise());
  REQUIRE_MESSAGE(reduced.ok(), reduced.status().ToString());
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, *reduced, clock);
  REQUIRE_FALSE(engine.ok());
  CHECK(engine.status().code() == pb::STATUS_BAD_REQUEST);
  CHECK(engine.status().message().find("event 1: category 'noise' is gone") != std::string::npos);
  CHECK_FALSE((*store)->compactions_paused());  // refused while loading the open events: resumed
}

Command NoiseReport(const std::string& request_id, const std::string& grid) {
  Command c{testing::TestActor(), {}};
  c.request.set_request_id(request_id);
  c.request.mutable_submit()->mutable_report()->set_category("noise");
  c.request.mutable_submit()->mutable_report()->set_grid(grid);
  return c;
}

// Runs `f` on an engine over a fresh store in `dir`, on the test city, and closes both.
void WithTestCity(const testing::TempDir& dir, const Clock& clock, const std::function<void(Engine&)>& f) {
  auto city = City::Build(testing::TestCityConfig());
  REQUIRE(city.ok());
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, *city, clock);
  REQUIRE(engine.ok());
  f(**engine);
}

TEST_CASE("a configuration that drops what an open event needs is refused at start, naming it") {
  testing::TempDir dir;
  ManualClock clock(testing::kStartMs);
  WithTestCity(dir, clock, [](Engine& engine) {
    REQUIRE(engine.Execute(NoiseReport("r", testing::kGrid1)).code() == pb::STATUS_OK);
  });
  CheckRefusedWithoutNoise(dir, clock);
}

TEST_CASE("a configuration that drops an event a mode switch left to re-plan is refused, not fatal") {
  testing::TempDir dir;
  ManualClock clock(testing::kStartMs);
  WithTestCity(dir, clock, [](Engine& engine) {
    REQUIRE(engine.Execute(NoiseReport("r1", testing::kGrid1)).code() == pb::STATUS_OK);
    REQUIRE(engine.Execute(NoiseReport("r2", testing::kGrid3)).code() == pb::STATUS_OK);
    Command mode{testing::TestActor(), {}};
    mode.request.mutable_set_mode()->set_region(testing::kCity);
    mode.request.mutable_set_mode()->set_mode(pb::MODE_EMERGENCY);
    REQUIRE(engine.Execute(mode).mode().replanned_events() == 2);
    REQUIRE(engine.pending_replans() == 2);  // stopped before any batch re-planned them
  });
  CheckRefusedWithoutNoise(dir, clock);
}

// The test city without grid 3 (a leaf: no department or other region hangs below it).
pb::CityConfig WithoutGrid3() {
  pb::CityConfig smaller = testing::TestCityConfig();
  auto* regions = smaller.mutable_regions();
  regions->erase(std::remove_if(regions->begin(), regions->end(),
                                [](const pb::Region& r) { return r.code() == testing::kGrid3; }),
                 regions->end());
  return smaller;
}

// A reopen of event `id` on the store in `dir`, opened on `config`: refused, naming `missing`,
// and nothing of the event changed (closed events are not checked against the city at start).
void CheckReopenRefused(const testing::TempDir& dir, const Clock& clock, const pb::CityConfig& config,
                        uint64_t id, const std::string& missing) {
  auto city = City::Build(config);
  REQUIRE_MESSAGE(city.ok(), city.status().ToString());
  auto store = storage::Store::Open(dir.Sub("db"));
  REQUIRE(store.ok());
  auto engine = Engine::Open(**store, *city, clock);
  REQUIRE_MESSAGE(engine.ok(), engine.status().ToString());
  const auto before = testing::DumpAll(**store);
  Command reopen{testing::TestActor(), {}};
  reopen.request.set_request_id("reopen");
  reopen.request.mutable_reopen()->set_event_id(id);
  reopen.request.mutable_reopen()->set_reason("came back");
  pb::Response r = (*engine)->Execute(reopen);
  CHECK(r.code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK_MESSAGE(r.message().find(missing) != std::string::npos, r.message());
  CHECK((*engine)->state().open_event_count() == 0);
  CHECK(testing::DumpAll(**store) == before);
  // Still serving: a report in what the city still has is taken.
  Command water = NoiseReport("after", testing::kGrid1);
  water.request.mutable_submit()->mutable_report()->set_category("water");
  CHECK((*engine)->Execute(water).code() == pb::STATUS_OK);
}

// Submits a noise report in `grid`, resolves it and closes it with good feedback; its id.
uint64_t ClosedNoiseEvent(Engine& engine, const std::string& grid) {
  pb::Response submitted = engine.Execute(NoiseReport("r", grid));
  REQUIRE(submitted.code() == pb::STATUS_OK);
  const pb::Event& e = submitted.event().event();
  REQUIRE(e.candidates_size() > 0);
  Command claim{testing::TestActor(), {}};
  claim.request.set_request_id("claim");
  claim.request.mutable_claim()->set_event_id(e.id());
  claim.request.mutable_claim()->set_department(e.candidates(0));
  pb::Response claimed = engine.Execute(claim);
  REQUIRE_MESSAGE(claimed.code() == pb::STATUS_OK, claimed.message());
  Command resolve{testing::TestActor(), {}};
  resolve.request.set_request_id("resolve");
  resolve.request.mutable_resolve()->set_event_id(e.id());
  resolve.request.mutable_resolve()->set_claim_number(claimed.event().event().claim_number());
  resolve.request.mutable_resolve()->set_note("quiet now");
  REQUIRE(engine.Execute(resolve).code() == pb::STATUS_OK);
  Command feedback{testing::TestActor(), {}};
  feedback.request.set_request_id("feedback");
  feedback.request.mutable_feedback()->set_event_id(e.id());
  feedback.request.mutable_feedback()->set_satisfied(true);
  feedback.request.mutable_feedback()->set_score(5);
  pb::Response closed = engine.Execute(feedback);
  REQUIRE(closed.code() == pb::STATUS_OK);
  REQUIRE(closed.event().event().state() == pb::STATE_CLOSED);
  return e.id();
}

TEST_CASE("a closed event whose category left the configuration is refused a reopen, and the engine goes on") {
  testing::TempDir dir;
  ManualClock clock(testing::kStartMs);
  uint64_t id = 0;
  WithTestCity(dir, clock, [&](Engine& engine) { id = ClosedNoiseEvent(engine, testing::kGrid1); });
  CheckReopenRefused(dir, clock, WithoutNoise(), id, "its category 'noise' is no longer in the city's configuration");
}

TEST_CASE("a closed event whose grid left the configuration is refused a reopen, and the engine goes on") {
  testing::TempDir dir;
  ManualClock clock(testing::kStartMs);
  uint64_t id = 0;
  WithTestCity(dir, clock, [&](Engine& engine) { id = ClosedNoiseEvent(engine, testing::kGrid3); });
  CheckReopenRefused(dir, clock, WithoutGrid3(), id,
                     fmt::format("its grid '{}' is no longer in the city's configuration", testing::kGrid3));
}

}  // namespace
}  // namespace whistle
