// whistle-sim: a simulated day of the sample city through the real engine and store.
//
//   whistle-sim [--data=DIR] [--config=FILE] [--hours=24] [--reports-per-day=4000] [--seed=N]
//               [--fresh]
//
// Loads the city (the embedded sample city unless --config names a JSON or text file), opens the
// store in DIR (default ./data/sim), runs the simulation on a manual clock and prints what happened.
// The data stays on disk: run it again and the city carries on from where it stopped.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "storage/store.h"
#include "tools/flags.h"
#include "tools/simulation.h"

namespace {

constexpr char kUsage[] =
    "usage: whistle-sim [--data=DIR] [--config=FILE] [--hours=24] [--reports-per-day=4000]\n"
    "                   [--seed=N] [--fresh]\n";

// 2026-11-23 00:00 in Beijing: where a fresh simulation starts.
constexpr int64_t kFreshStartMs = 1795363200000;

int Fail(const whistle::Status& s) {
  std::cerr << "whistle-sim: " << s.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace whistle;
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return std::cerr << "whistle-sim: " << flags.status().message() << "\n" << kUsage, 2;
  std::string data = flags->TakeString("data", "data/sim");
  std::string config_path = flags->TakeString("config");
  auto hours = flags->TakeDouble("hours", 24, 0.01, 24 * 366);
  auto per_day = flags->TakeDouble("reports-per-day", 4000, 0, 1e8);
  auto seed = flags->TakeInt("seed", 1, 0, INT64_MAX);
  auto fresh = flags->TakeBool("fresh");
  for (const Status& s : {hours.status(), per_day.status(), seed.status(), fresh.status(), flags->CheckAllTaken()}) {
    if (!s.ok()) return std::cerr << "whistle-sim: " << s.message() << "\n" << kUsage, 2;
  }

  auto city = LoadCity(config_path);
  if (!city.ok()) return Fail(city.status());

  if (*fresh) std::filesystem::remove_all(data);
  std::filesystem::create_directories(data);
  // The simulated month keeps the log bound its figures were measured with: its restart time does
  // not matter, and a 32 MiB bound costs sustained writing 6-13% (storage/store.h).
  storage::StoreOptions store_options;
  store_options.max_wal_bytes = 128 << 20;
  // Flushes and compactions on what the engine and writer threads leave of the two cores: the
  // month took 294 s against 360 s (docs/BENCHMARKS.md, "Flushes and the tail").
  store_options.idle_background_threads = true;
  auto store = storage::Store::Open(data, store_options);
  if (!store.ok()) return Fail(store.status());

  // Carry on from the newest record on disk, or start a fresh day.
  ManualClock clock(kFreshStartMs);
  auto engine = Engine::Open(**store, *city, clock);
  if (!engine.ok()) return Fail(engine.status());
  if (uint64_t last = (*engine)->state().last_seq(); last > 0) {
    Command tail{pb::Actor(), pb::Request()};
    tail.request.mutable_log()->set_after_seq(last - 1);
    pb::Response r = (*engine)->Execute(tail);
    if (r.code() == pb::STATUS_OK && r.log().records_size() == 1) {
      clock.Set(std::max(clock.NowMs(), r.log().records(0).at_ms()));
    }
  }

  SimulationOptions options;
  options.start_ms = clock.NowMs();
  options.duration_ms = static_cast<int64_t>(*hours * 3600 * 1000);
  options.reports_per_day = *per_day;
  options.seed = static_cast<uint64_t>(*seed) + (*engine)->state().next_event_id();
  std::cout << fmt::format("whistle-sim: {} ({} grids, {} departments), data in {}\n",
                           (*city)->config().name(), (*city)->grid_count(),
                           (*city)->config().departments_size(), data);
  Simulation simulation(**engine, clock, options);
  SimulationReport report = simulation.Run();
  std::cout << FormatReport(report, **engine);
  if (!(*engine)->health().ok()) return Fail((*engine)->health());
  return 0;
}
