// The simulation (the main job) on the small test city, and a replay of everything it wrote.
#include "tools/simulation.h"

#include <doctest/doctest.h>

#include "dispatcher/replay.h"
#include "dispatcher/stats.h"
#include "storage/store.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;

SimulationOptions TwoBusyDays() {
  SimulationOptions o;
  o.start_ms = testing::kStartMs;
  o.duration_ms = 48LL * 3600 * 1000;
  o.reports_per_day = 600;  // three grids: plenty of repeats, returns, whistles and escalations
  o.seed = 7;
  return o;
}

// Every key and value of a column family, in order.
std::vector<std::pair<std::string, std::string>> Dump(const storage::Store& store, storage::Cf cf) {
  std::vector<std::pair<std::string, std::string>> out;
  auto cursor = store.NewCursor(cf);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    out.emplace_back(std::string(cursor->key()), std::string(cursor->value()));
  }
  REQUIRE(cursor->status().ok());
  return out;
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
  CHECK_FALSE(report.rejected.contains("STATUS_BAD_REQUEST"));  // agents only send sound commands
  CHECK_FALSE(report.rejected.contains("STATUS_UNAVAILABLE"));
  std::string text = FormatReport(report, f.engine());
  CHECK(text.find("响应率") != std::string::npos);
  CHECK(text.find("the story of event") != std::string::npos);
}

TEST_CASE("the same seed gives the same city, record for record") {
  EngineFixture a, b;
  Simulation(a.engine(), a.clock, TwoBusyDays()).Run();
  Simulation(b.engine(), b.clock, TwoBusyDays()).Run();
  CHECK(Dump(a.store(), storage::Cf::kLog) == Dump(b.store(), storage::Cf::kLog));
}

TEST_CASE("replaying the log through the appliers rebuilds the same state, indexes and counters") {
  EngineFixture f;
  Simulation(f.engine(), f.clock, TwoBusyDays()).Run();
  REQUIRE(f.SetMode(testing::kStreet, pb::MODE_EMERGENCY).code() == pb::STATUS_OK);

  testing::TempDir dir;
  auto fresh = storage::Store::Open(dir.Sub("replayed"));
  REQUIRE(fresh.ok());
  {
    EngineState target(**fresh, f.city());
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
