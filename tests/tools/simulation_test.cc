// The simulation (the main job) on the small test city, and a replay of everything it wrote.
#include "tools/simulation.h"

#include <doctest/doctest.h>

#include <chrono>

#include "dispatcher/replay.h"
#include "dispatcher/stats.h"
#include "storage/store.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/faulty_disk.h"

namespace whistle {
namespace {

using testing::Dump;
using testing::EngineFixture;

SimulationOptions TwoBusyDays() {
  SimulationOptions o;
  o.start_ms = testing::kStartMs;
  o.duration_ms = 48LL * 3600 * 1000;
  o.reports_per_day = 600;  // three grids: plenty of repeats, returns, whistles and escalations
  o.seed = 7;
  return o;
}

TEST_CASE("a simulated city accounts for every report and keeps the engine healthy") {
  EngineFixture f;
  Simulation sim(f.engine(), f.clock, TwoBusyDays());
  SimulationReport report = sim.Run();
  CHECK(f.engine().health().ok());
  CHECK(report.reports > 1000);
  CHECK(report.events_created + report.linked_duplicates == report.reports);
  uint64_t in_states = 0;
  for (auto [state, n] : report.final_states) in_states += n;
  CHECK(in_states == report.events_created);
  CHECK(report.escalations_to[pb::LEVEL_STREET] > 0);
  CHECK(report.batches == 48 * 60);
  CHECK(report.write_wait_ms.size() == report.batches);  // each batch waited for, the last one too
  CHECK_FALSE(report.rejected.contains("STATUS_BAD_REQUEST"));  // agents only send sound commands
  CHECK_FALSE(report.rejected.contains("STATUS_UNAVAILABLE"));
  std::string text = FormatReport(report, f.engine());
  CHECK(text.find("响应率") != std::string::npos);
  CHECK(text.find("the story of event") != std::string::npos);
}

TEST_CASE("a simulation stops at the first write that fails, with the engine stopped and nothing of it on disk") {
  testing::FaultyEngine f;
  f.fs->set_fail_writes(true);
  SimulationReport report = Simulation(*f.engine, f.clock, TwoBusyDays()).Run();
  CHECK_FALSE(f.engine->health().ok());
  // It stopped at the first tick that had something to write, with the tick after it decided.
  CHECK(report.batches < 48 * 60);
  CHECK(report.reports > 0);
  CHECK(report.write_wait_ms.size() + 1 == report.batches);
  f.fs->set_fail_writes(false);
  CHECK(Dump(*f.store, storage::Cf::kLog).empty());
  CHECK(Dump(*f.store, storage::Cf::kEvents).empty());
}

TEST_CASE("the same seed gives the same city, record for record") {
  EngineFixture a, b;
  Simulation(a.engine(), a.clock, TwoBusyDays()).Run();
  Simulation(b.engine(), b.clock, TwoBusyDays()).Run();
  CHECK(Dump(a.store(), storage::Cf::kLog) == Dump(b.store(), storage::Cf::kLog));
}

TEST_CASE("replaying the log through the appliers rebuilds the same state, indexes and counters") {
  EngineFixture f;
  // Both fold their counters at every batch: the journal in between follows the batches, which
  // the replay cuts differently (EngineState, "Counters in meta").
  f.options.counter_fold_bytes = 0;
  f.Restart();
  Simulation(f.engine(), f.clock, TwoBusyDays()).Run();
  // What the simulated agents never do: merge, cancel, assist, supervise, reopen a closed event
  // read back from disk, switch modes. (Past the duplicate window, so these are new events.)
  f.clock.Advance(std::chrono::hours(3));
  uint64_t a = f.SubmitOk("noise", testing::kGrid3, "late-1");
  uint64_t b = f.SubmitOk("water", testing::kGrid3, "late-2");
  uint64_t c = f.SubmitOk("noise", testing::kGrid2, "late-3");
  REQUIRE(f.Merge(b, a).code() == pb::STATUS_OK);
  REQUIRE(f.Supervise(a).code() == pb::STATUS_OK);
  REQUIRE(f.Cancel(c).code() == pb::STATUS_OK);
  uint64_t d = f.SubmitOk("water", testing::kGrid1, "late-4");
  REQUIRE(f.Resolve(d, f.ClaimOk(d, "c1-committee")).code() == pb::STATUS_OK);
  REQUIRE(f.Claim(a, "c2-committee").code() == pb::STATUS_OK);
  REQUIRE(f.Feedback(d, true).code() == pb::STATUS_OK);
  f.Restart();
  REQUIRE(f.Reopen(d).code() == pb::STATUS_OK);
  REQUIRE(f.Claim(d, "c1-water-unit").code() == pb::STATUS_OK);
  REQUIRE(f.Claim(d, "c1-committee", /*assist=*/true).code() == pb::STATUS_OK);
  REQUIRE(f.SetMode(testing::kStreet, pb::MODE_EMERGENCY).code() == pb::STATUS_OK);

  testing::TempDir dir;
  auto fresh = storage::Store::Open(dir.Sub("replayed"));
  REQUIRE(fresh.ok());
  {
    EngineState target(**fresh, f.city());
    target.set_counter_fold_bytes(0);
    REQUIRE(target.Load().ok());
    Status s = ReplayLog(f.store(), target);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  for (storage::Cf cf : {storage::Cf::kEvents, storage::Cf::kHistory, storage::Cf::kLog,
                         storage::Cf::kTimers, storage::Cf::kIndexes, storage::Cf::kMeta}) {
    CAPTURE(storage::CfName(cf));
    CHECK(Dump(**fresh, cf) == Dump(f.store(), cf));
  }
}

}  // namespace
}  // namespace whistle
