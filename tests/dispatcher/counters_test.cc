// Statistics counters in meta: a journal entry a batch, folded into whole months (EngineState,
// "Counters in meta"), and the one-key-a-counter layout of older stores.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/stats.h"
#include "storage/store.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using storage::Cf;
using testing::EngineFixture;

// kStartMs's month in Beijing.
constexpr std::string_view kMonth = "2026-11";

// Every counter of the test city in kMonth, by scope: what a restart must bring back.
std::map<std::string, std::string> CountersOf(EngineFixture& f) {
  std::map<std::string, std::string> out;
  auto add = [&](const std::string& scope) {
    if (const pb::StatCounters* c = f.engine().state().Counters(kMonth, scope)) out[scope] = c->SerializeAsString();
  };
  for (const auto& d : f.city().config().departments()) add(DepartmentScope(d.id()));
  for (const auto& r : f.city().config().regions()) add(RegionScope(r.code()));
  for (pb::Level level : kLadder) add(LevelScope(level));
  return out;
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

TEST_CASE("counters come back after a restart from the journal, one entry a batch that counted") {
  EngineFixture f;
  for (int i = 0; i < 6; ++i) Step(f, i);
  std::map<std::string, std::string> before = CountersOf(f);
  REQUIRE(before.size() > 5);
  // Every command above counted: a submit, a claim, a resolve, and three ratings.
  CHECK(MetaKeysStartingWith(f, "statj/") == 6 * 3 + 3);
  CHECK(MetaKeysStartingWith(f, "stat/") == 0);
  CHECK(MetaKeysStartingWith(f, "statb/") == 0);
  f.Restart();
  CHECK(CountersOf(f) == before);
}

TEST_CASE("once the journal holds counter_fold_bytes, a batch writes its months whole instead and deletes the journal") {
  EngineFixture f;
  f.options.counter_fold_bytes = 3000;
  f.Restart();
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
  std::map<std::string, std::string> before = CountersOf(f);
  f.Restart();
  CHECK(CountersOf(f) == before);
}

TEST_CASE("a restart part way through the journal folds at the same point as a run without it") {
  EngineFixture steady, restarted;
  for (EngineFixture* f : {&steady, &restarted}) {
    f->options.counter_fold_bytes = 3000;
    f->Restart();
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
  f.options.counter_fold_bytes = 0;
  f.Restart();
  for (int i = 0; i < 4; ++i) Step(f, i);
  CHECK(MetaKeysStartingWith(f, "statj/") == 0);
  CHECK(testing::Keys(f.store(), Cf::kMeta) ==
        std::vector<std::string>{"index_layout", "next_id", "seq", "statb/2026-11"});
  std::map<std::string, std::string> before = CountersOf(f);
  f.Restart();
  CHECK(CountersOf(f) == before);
}

// Stores written before the journal held one key a counter: "stat/" month '|' scope.
void RewriteToKeyPerCounter(EngineFixture& f) {
  storage::WriteBatch batch(f.store());
  for (const auto& [key, value] : testing::Dump(f.store(), Cf::kMeta)) {
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

TEST_CASE("a store with a key a counter keeps its counters, and the first fold of its month deletes those keys") {
  EngineFixture old_layout, twin;
  for (EngineFixture* f : {&old_layout, &twin}) {
    f->options.counter_fold_bytes = 0;
    f->Restart();
    for (int i = 0; i < 3; ++i) Step(*f, i);
  }
  RewriteToKeyPerCounter(old_layout);
  old_layout.options.counter_fold_bytes = EngineState::kDefaultCounterFoldBytes;
  old_layout.Restart();
  REQUIRE(MetaKeysStartingWith(old_layout, "stat/") > 5);
  CHECK(CountersOf(old_layout) == CountersOf(twin));

  // Journal entries on top of the old keys.
  Step(old_layout, 3);
  Step(twin, 3);
  CHECK(MetaKeysStartingWith(old_layout, "statj/") > 0);
  old_layout.Restart();
  CHECK(CountersOf(old_layout) == CountersOf(twin));

  // The fold writes the month whole and deletes its old keys and the journal.
  old_layout.options.counter_fold_bytes = 0;
  old_layout.Restart();
  Step(old_layout, 4);
  Step(twin, 4);
  CHECK(testing::Keys(old_layout.store(), Cf::kMeta) ==
        std::vector<std::string>{"index_layout", "next_id", "seq", "statb/2026-11"});
  old_layout.Restart();
  CHECK(CountersOf(old_layout) == CountersOf(twin));
  CHECK(testing::Dump(old_layout.store(), Cf::kMeta) == testing::Dump(twin.store(), Cf::kMeta));
}

}  // namespace
}  // namespace whistle
