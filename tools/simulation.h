// Simulation: a city at work on a manual clock, driving a real engine on a real store.
//
// Reports arrive through the day (more in daytime) from grid workers and the 12345 hotline,
// some repeating an open problem. Simulated departments react to what the engine records, the way
// agents react to notifications: most claim in time, some let the deadline pass, some return or
// whistle, most resolve in time; citizens rate some results. One batch per tick of simulated time,
// so timers fire exactly as they would in the daemon, each written the way the daemon writes: on a
// thread of its own while the next tick is decided. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dispatcher/clock.h"
#include "dispatcher/engine.h"
#include "whistle/random.h"

namespace whistle {

struct SimulationOptions {
  int64_t start_ms = 0;
  int64_t duration_ms = 24LL * 3600 * 1000;
  int64_t tick_ms = 60 * 1000;     // one batch per simulated minute
  double reports_per_day = 4000;
  double repeat_share = 0.05;      // reports that repeat a recent one (same grid and category)
  double claim_in_time_share = 0.8;
  double return_share = 0.04;
  double whistle_share = 0.04;
  double resolve_in_time_share = 0.85;
  double feedback_share = 0.7;
  double satisfied_share = 0.85;
  uint64_t seed = 1;
};

struct SimulationReport {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  uint64_t reports = 0;           // Submit commands sent
  uint64_t events_created = 0;
  uint64_t linked_duplicates = 0;
  uint64_t commands = 0;          // all commands sent, reports included
  std::map<std::string, uint64_t> rejected;  // by status name: expected when the event moved on
  // What was decided. When a write fails the run stops, and the figures include that batch and
  // the one decided while it was written, neither of which reached the disk.
  uint64_t batches = 0;
  std::map<int, uint64_t> escalations_to;    // by pb::Level reached
  uint64_t overdue = 0;
  std::map<int, uint64_t> final_states;      // by pb::EventState, events created in this run
  double wall_seconds = 0;
  // Per tick: deciding its batch (engine thread), then waiting for the batch before it to be
  // written.
  std::vector<double> decide_ms;
  std::vector<double> write_wait_ms;
  std::vector<uint64_t> sample_events;        // events with the longest stories
};

class Simulation {
 public:
  // REQUIRES: `clock` is the clock `engine` was opened with.
  Simulation(Engine& engine, ManualClock& clock, SimulationOptions options);
  SimulationReport Run();

 private:
  struct Action {
    int64_t at_ms;
    uint64_t seq;  // tie-break: scheduling order
    Command command;
    bool operator>(const Action& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
  };

  double Uniform();                       // [0, 1)
  uint64_t Poisson(double mean);
  void Schedule(int64_t at_ms, pb::Request request, pb::Actor actor);
  void AddReports(int64_t from_ms, int64_t to_ms, std::vector<Command>* batch);
  void React(const pb::Record& record);

  Engine& engine_;
  ManualClock& clock_;
  SimulationOptions options_;
  SplitMix64 rng_;
  uint64_t action_seq_ = 0;
  std::vector<Action> actions_;  // a min-heap on (at_ms, seq)
  std::vector<std::pair<std::string, std::string>> recent_;  // (grid, category) of recent reports
  std::map<uint64_t, pb::Dispatched> dispatch_;               // each open event's current dispatch
  SimulationReport report_;
};

// The report as text: counts, escalations per level, the three rates per level for the month,
// how long ticks took to decide and write, and the stories of a few events.
std::string FormatReport(const SimulationReport& report, const Engine& engine);

}  // namespace whistle
