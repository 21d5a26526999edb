// whistle-crashcheck: a Jepsen-style crash checker on one machine.
//
//   whistle-crashcheck [--cycles=N] [--power-cuts=N] [--seed=S] [--plant-bug=BUG] [--keep]
//                      [--dispatcher=PATH]
//
// Starts whistle-dispatcher as a child (--dev-no-auth, a fresh data directory, the small city of
// crashcheck_workload.h with scaled time) and runs reporters, racing agents, a commander switching
// modes, a supervisor whistling and a subscriber as threads of this process. Then, in a random
// order, --cycles times kill -9 and --power-cuts times a power cut (SIGUSR1 to a dispatcher
// started with --test-power-cut-signal: storage/power_cut_fs.h), each at a random moment, restarting the dispatcher on the same data directory and endpoints
// while the clients carry on (unanswered requests are sent again with the same request id).
// Every other power cut is followed by a second one during the recovery: the restarted
// dispatcher cuts its own power right after its 1st, 2nd or 3rd write-ahead log sync (in turn).
// After every restart the log is checked against what the clients were told (crashcheck.h); at
// the end, with the clients stopped, the log, every event with its history, and the statistics
// counters against the log replayed through the engine's own appliers.
//
// --plant-bug passes --test-plant-bug to the dispatcher (ack-before-sync,
// claim-without-state-check, timer-separate-write, replan-not-resumed, duplicates-forgotten) to
// show the checker catches it.
// Exit status: 0 clean; 1 violations found (each listed: check, event, seq, what); 2 bad flags;
// 3 the harness itself failed (the dispatcher never started, the log, an event or a counter could
// not be read).
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "agents/client.h"
#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "dispatcher/engine_state.h"
#include "dispatcher/replay.h"
#include "dispatcher/stats.h"
#include "storage/power_cut_fs.h"
#include "storage/store.h"
#include "tools/crashcheck.h"
#include "tools/crashcheck_workload.h"
#include "tools/flags.h"
#include "tools/process.h"

namespace {

using namespace whistle;
using namespace whistle::crashcheck;
using Clock = std::chrono::steady_clock;

constexpr char kUsage[] =
    "usage: whistle-crashcheck [--cycles=N] [--power-cuts=N] [--seed=S] [--plant-bug=BUG] [--keep]\n"
    "                          [--dispatcher=PATH]\n"
    "  --cycles=N       kill -9 faults (default 20)\n"
    "  --power-cuts=N   power cuts: unsynced bytes lost, then the process ends (default 10)\n"
    "  --seed=S         the random choices (fault order and moments, clients); default: random\n"
    "  --plant-bug=BUG  TEST: start the dispatcher with a known bug planted: ack-before-sync,\n"
    "                   claim-without-state-check, timer-separate-write, replan-not-resumed or\n"
    "                   duplicates-forgotten;\n"
    "                   it must be caught\n"
    "  --keep           keep the temporary directory (data, city, dispatcher logs)\n"
    "  --dispatcher=P   the whistle-dispatcher binary (default: next to this one)\n"
    "Exit status: 0 clean, 1 violations found, 2 bad flags, 3 the harness failed.\n";

constexpr int kExitViolations = 1, kExitUsage = 2, kExitHarness = 3;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The dispatcher child: started on the same data directory and, after the first start, the same
// endpoints; each start's stderr goes to its own file.
class DispatcherChild {
 public:
  DispatcherChild(std::string binary, std::string dir, std::vector<std::string> extra)
      : binary_(std::move(binary)), dir_(std::move(dir)), extra_(std::move(extra)) {}
  ~DispatcherChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      WaitFor(pid_);
    }
  }

  // Starts it and waits until its endpoints are bound. Error: how it failed, with its last words.
  Status Start() {
    Spawn({});
    if (auto ended = WaitReady(); ended.has_value()) {
      return Unavailable(fmt::format("whistle-dispatcher exited with status {} while starting: {}", *ended,
                                     LastWords()));
    }
    return ready_ ? Status::Ok() : Unavailable("whistle-dispatcher was not ready within 30 s: " + LastWords());
  }

  // Starts it armed to cut its own power right after its n-th write-ahead log sync (a cut during
  // recovery: the first writes after a start are timers that fell due while it was down, and
  // clients' retries) and waits for that end, cutting the power by signal if the n-th sync has not
  // come in 10 s. Returns the exit status; *by_signal tells whether the fallback was needed.
  int StartAndCutAfterWalSyncs(int64_t n, bool* by_signal) {
    Spawn({fmt::format("--test-power-cut-after-wal-syncs={}", n)});
    *by_signal = false;
    if (auto ended = WaitReady(); ended.has_value()) return *ended;  // cut while it was starting
    for (int i = 0; i < 1000; ++i) {
      if (auto status = Exited(); status) return *status;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    *by_signal = true;
    return SignalAndWait(SIGUSR1);
  }

  // Its exit status if it has ended (reaped), else nullopt.
  std::optional<int> Exited() {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  // Sends `signo` and waits up to 20 s for the end. Returns the exit status (-1: it did not end,
  // and was killed).
  int SignalAndWait(int signo) {
    kill(pid_, signo);
    for (int i = 0; i < 2000; ++i) {
      if (auto status = Exited(); status) return *status;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid_, SIGKILL);
    WaitFor(pid_);
    pid_ = -1;
    return -1;
  }

  // The last lines of the current start's output.
  std::string LastWords() const {
    std::string out = ReadWholeFile(log_);
    if (out.size() > 600) out = "..." + out.substr(out.size() - 600);
    return out.empty() ? "(no output)" : out;
  }

  bool running() const { return pid_ > 0; }
  // For the next Start.
  void set_time_scale(double scale) { time_scale_ = scale; }
  const std::string& front() const { return front_; }
  const std::string& bus() const { return bus_; }

 private:
  void Spawn(const std::vector<std::string>& once) {
    endpoints_ = dir_ + "/endpoints";
    std::filesystem::remove(endpoints_);
    ready_ = false;
    log_ = fmt::format("{}/dispatcher-{}.log", dir_, ++starts_);
    std::vector<std::string> args = {binary_, "--dev-no-auth", "--data=" + dir_ + "/data",
                                     "--config=" + dir_ + "/city.json",
                                     "--front=" + (front_.empty() ? "tcp://127.0.0.1:*" : front_),
                                     "--bus=" + (bus_.empty() ? "tcp://127.0.0.1:*" : bus_),
                                     "--endpoints-file=" + endpoints_,
                                     fmt::format("--time-scale={}", time_scale_),
                                     fmt::format("--test-clock-start-ms={}", kClockStartMs),
                                     fmt::format("--test-counter-fold-bytes={}", kCounterFoldBytes),
                                     fmt::format("--test-max-replans-per-batch={}", kMaxReplansPerBatch),
                                     fmt::format("--idempotency-retention-hours={}", kRetentionHours)};
    args.insert(args.end(), extra_.begin(), extra_.end());
    args.insert(args.end(), once.begin(), once.end());
    pid_ = whistle::Spawn(args, log_, /*merge_stderr=*/true);
  }

  // Waits up to 30 s until the endpoints are bound (ready_ then). Returns the exit status if it
  // ended first.
  std::optional<int> WaitReady() {
    for (int i = 0; i < 3000; ++i) {
      std::string front, bus;
      if (ReadEndpoints(endpoints_, &front, &bus)) {
        front_ = front;
        bus_ = bus;
        ready_ = true;
        return std::nullopt;
      }
      if (auto status = Exited(); status) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  std::string binary_, dir_;
  std::vector<std::string> extra_;
  std::string endpoints_;
  bool ready_ = false;
  pid_t pid_ = -1;
  int starts_ = 0;
  double time_scale_ = kTimeScale;
  std::string log_, front_, bus_;
};

// Brings `o->log` up to the dispatcher's whole log by reading only what is new: the log only
// grows at its end, and a power cut can only take away an unsynced end (which a planted bug may
// have answered from), later rewritten under the same seqs. So the last record read before is
// read again and compared byte for byte: if it changed, the whole log is read afresh.
Status CatchUpLog(Client& client, Observed* o, bool* read_whole = nullptr) {
  auto read_after = [&](uint64_t after_seq, int max_records) -> Result<pb::Response> {
    pb::Request r;
    r.mutable_log()->set_after_seq(after_seq);
    r.mutable_log()->set_max_records(max_records);
    auto answer = client.Call(r);
    if (!answer.ok()) return answer.status();
    if (answer->code() != pb::STATUS_OK) return Status(answer->code(), answer->message());
    return answer;
  };
  if (!o->log.empty()) {
    auto again = read_after(o->log.back().seq() - 1, 1);
    if (!again.ok()) return again.status();
    if (again->log().records_size() != 1 ||
        again->log().records(0).SerializeAsString() != o->log.back().SerializeAsString()) {
      o->log.clear();
    }
  }
  if (read_whole != nullptr) *read_whole = o->log.empty();
  while (true) {
    auto answer = read_after(o->log.empty() ? 0 : o->log.back().seq(), 10000);
    if (!answer.ok()) return answer.status();
    if (answer->log().records_size() == 0) return Status::Ok();
    for (auto& record : *answer->mutable_log()->mutable_records()) o->log.push_back(std::move(record));
  }
}

// Calls f(month, scope, query) for every month of `log` and every scope of `city`: the
// (month, scope) pairs the engine may have counted in (appliers.cc counts into the month of the
// record, for departments, the regions of the grid's ancestry and handling levels).
using CounterScopeFn =
    std::function<void(const std::string& month, const std::string& scope, pb::StatsQuery query)>;
void ForEachCounterScope(const City& city, const std::vector<pb::Record>& log, const CounterScopeFn& f) {
  std::set<std::string> months;
  const int32_t offset = city.settings().utc_offset_minutes();
  for (const pb::Record& r : log) months.insert(MonthOf(r.at_ms(), offset));
  for (const std::string& month : months) {
    pb::StatsQuery q;
    q.set_month(month);
    for (const auto& d : city.config().departments()) {
      q.set_department(d.id());
      f(month, DepartmentScope(d.id()), q);
    }
    for (const auto& r : city.config().regions()) {
      q.set_region(r.code());
      f(month, RegionScope(r.code()), q);
    }
    for (pb::Level level : kLadder) {
      q.set_level(level);
      f(month, LevelScope(level), q);
    }
  }
}

// The dispatcher's counters (StatsQuery) for every month of o->log and every scope.
Status ReadCounters(Client& client, const City& city, Observed* o) {
  Status failed;
  auto ask = [&](const std::string& month, const std::string& scope, pb::StatsQuery q) {
    if (!failed.ok()) return;
    pb::Request request;
    *request.mutable_stats() = std::move(q);
    auto answer = client.Call(request);
    if (!answer.ok()) {
      failed = answer.status();
    } else if (answer->code() != pb::STATUS_OK) {
      failed = Internal(fmt::format("stats of {} in {}: {}", scope, month, answer->message()));
    } else if (answer->stats().has_counters()) {
      o->counters[month + '|' + scope] = answer->stats().counters();
    }
  };
  ForEachCounterScope(city, o->log, ask);
  return failed;
}

// The same counters as the engine's appliers count them from o->log, replayed into a scratch store
// at `scratch` (removed afterwards). REQUIRES: o->log is the whole log, from its first record.
Status ReplayCounters(const City& city, const std::string& scratch, Observed* o) {
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  Status replayed = [&]() -> Status {
    auto store = storage::Store::Open(scratch);
    if (!store.ok()) return store.status();
    EngineState state(**store, city);
    if (Status s = state.Load(); !s.ok()) return s;
    if (Status s = ReplayRecords(o->log, state); !s.ok()) return s;
    Status failed;
    auto count = [&](const std::string& month, const std::string& scope, pb::StatsQuery) {
      auto c = state.Counters(month, scope);
      if (!c.ok()) {
        failed = c.status();
      } else if (c->has_value()) {
        o->replayed_counters[month + '|' + scope] = std::move(**c);
      }
    };
    ForEachCounterScope(city, o->log, count);
    return failed;
  }();
  std::filesystem::remove_all(scratch, ignored);
  return replayed;
}

// How many events a mode switch has left to re-plan (MetricsResult.replans_pending).
Result<uint64_t> ReplansPending(Client& client) {
  pb::Request r;
  r.mutable_metrics();
  auto answer = client.Call(r);
  if (!answer.ok()) return answer.status();
  if (answer->code() != pb::STATUS_OK) return Status(answer->code(), answer->message());
  return answer->metrics().replans_pending();
}

// The dispatcher's whole log, read afresh, every event in it with its history, and its counters,
// all while the log stood still with nothing left to re-plan (Observed::settled). If it never did
// (five tries), the log as first read and no counters: the events are checked against it as far as
// they go, the counters not at all.
Result<Observed> ObserveAll(Client& client, const City& city, int* attempts = nullptr) {
  int none = 0;
  if (attempts == nullptr) attempts = &none;
  Observed o;
  if (Status s = CatchUpLog(client, &o); !s.ok()) return s;
  std::set<uint64_t> ids;
  for (const auto& record : o.log) {
    if (record.event_id() != 0) ids.insert(record.event_id());
  }
  for (uint64_t id : ids) {
    pb::Request r;
    r.mutable_get()->set_event_id(id);
    r.mutable_get()->set_with_history(true);
    auto answer = client.Call(r);
    if (!answer.ok()) return answer.status();
    if (answer->code() != pb::STATUS_OK) continue;
    pb::EventView& view = o.events[id] = std::move(*answer->mutable_event());
    // A history longer than a Get's page: the pages before it, newest first.
    while (view.older_history() > 0) {
      r.mutable_get()->set_history_before(view.older_history());
      auto older = client.Call(r);
      if (!older.ok()) return older.status();
      if (older->code() != pb::STATUS_OK) return Status(older->code(), older->message());
      pb::EventView& page = *older->mutable_event();
      page.mutable_history()->MergeFrom(view.history());
      view.mutable_history()->Swap(page.mutable_history());
      view.set_older_history(page.older_history());
    }
  }
  if (Status s = ReadCounters(client, city, &o); !s.ok()) return s;
  // The first batch after a start may fire deadlines that fell due meanwhile, after the log was
  // read (and time is slowed at the final check, not stopped): read again until the log stood
  // still across the reads of the events and the counters.
  // So may the re-plans a restart found to do (a clean stop cuts a switch's short too).
  const size_t read = o.log.size();
  if (Status s = CatchUpLog(client, &o); !s.ok()) return s;
  auto pending = ReplansPending(client);
  if (!pending.ok()) return pending.status();
  if (o.log.size() != read || *pending != 0) {
    if (++*attempts < 5) return ObserveAll(client, city, attempts);
    o.counters.clear();  // they may count records past `read`
  } else {
    o.settled = true;
  }
  o.log.resize(read);  // the log as it was when the events were read
  return o;
}

struct Summary {
  size_t events = 0, records = 0, escalations = 0, overdue = 0, quiet_closes = 0, claims = 0;
  size_t returns = 0, whistles = 0, overdue_redispatches = 0, feedback = 0, reopens = 0;
  size_t reopens_for_feedback = 0, merges = 0, cancels = 0;
  size_t assists = 0, supervisions = 0;
  size_t releaser_climbs = 0;  // climbs counted against the department that gave the claim back
  size_t mode_switches = 0, replans = 0, replans_after_restart = 0;
  size_t repeats = 0, most_repeats = 0;  // reports linked at submit; the most on one event
  size_t events_past_window = 0;         // events with more repeats than they keep (kLinkedKept)
  size_t merges_carrying = 0;            // merges whose link carried reports linked before
};

Summary Summarize(const Observed& o) {
  Summary s;
  std::set<uint64_t> ids, overdue;
  std::map<uint64_t, size_t> repeats;
  for (const auto& r : o.log) {
    if (r.has_report_linked() && r.report_linked().link().event_id() == 0) ++repeats[r.event_id()];
    s.merges_carrying += r.has_report_linked() && r.report_linked().carried_links() > 0;
    if (r.event_id() != 0) ids.insert(r.event_id());
    if (r.has_marked_overdue()) overdue.insert(r.event_id());
    // Dispatched afresh while overdue: a return at city level (Event.overdue_redispatch).
    s.overdue_redispatches += r.has_dispatched() && overdue.contains(r.event_id());
    s.escalations += r.has_escalated();
    s.overdue += r.has_marked_overdue();
    s.quiet_closes += r.has_closed() && r.closed().cause() == pb::CLOSE_QUIET_PERIOD;
    s.claims += r.has_claimed();
    s.assists += r.has_assist_joined();
    s.supervisions += r.has_supervised();
    s.releaser_climbs += r.has_escalated() && !r.escalated().released_by().empty();
    s.returns += r.has_returned();
    s.whistles += r.has_whistled();
    s.feedback += r.has_feedback_given();
    s.reopens += r.has_reopened();
    s.merges += r.has_merged_into();
    s.cancels += r.has_cancelled();
    s.reopens_for_feedback += r.has_reopened() && r.reopened().reason() == "unsatisfied feedback";
    s.mode_switches += r.has_mode_changed();
    s.replans += r.has_deadlines_replanned();
    // A switch's re-plans that a stop cut short are finished by the restarted dispatcher.
    s.replans_after_restart += r.has_deadlines_replanned() && r.actor().principal() == "replan";
  }
  for (const auto& [id, n] : repeats) {
    s.repeats += n;
    s.most_repeats = std::max(s.most_repeats, n);
    s.events_past_window += n > kLinkedKept;
  }
  s.events = ids.size();
  s.records = o.log.size();
  return s;
}

struct Run {
  int64_t cycles = 20, power_cuts = 10;
  uint64_t seed = 0;
  std::string plant_bug;
  bool keep = false;
  std::string dispatcher;
};

int Main(const Run& run) {
  const auto started = Clock::now();
  const std::string dir = MakeTempDirectory("whistle-crashcheck");
  std::ofstream(dir + "/city.json") << FormatCityConfig(CrashCheckCity(), ConfigFormat::kJson);
  auto city = City::Build(CrashCheckCity());  // the final check's replay counts in it
  if (!city.ok()) {
    std::cerr << "whistle-crashcheck: " << city.status().ToString() << "\n";
    return kExitHarness;
  }
  std::vector<std::string> extra;
  if (run.power_cuts > 0) extra.push_back("--test-power-cut-signal");
  if (!run.plant_bug.empty()) extra.push_back("--test-plant-bug=" + run.plant_bug);
  std::cout << fmt::format("whistle-crashcheck: seed {}, {} kill -9 + {} power cuts{}, data in {}\n", run.seed,
                           run.cycles, run.power_cuts,
                           run.plant_bug.empty() ? "" : ", PLANTED BUG " + run.plant_bug, dir);

  std::vector<Violation> violations;
  int exit_code = 0;
  std::string caught;
  {
    DispatcherChild dispatcher(run.dispatcher, dir, extra);
    if (Status s = dispatcher.Start(); !s.ok()) {
      std::cerr << "whistle-crashcheck: " << s.message() << "\n";
      return kExitHarness;
    }
    zmq::context_t context;
    Recorder recorder;
    WorkloadOptions wo;
    wo.front = dispatcher.front();
    wo.bus = dispatcher.bus();
    wo.seed = run.seed;
    Workload workload(context, recorder, wo);
    workload.Start();
    ClientOptions co;
    co.timeout = std::chrono::milliseconds(10000);
    co.attempts = 3;
    Client checker(context, dispatcher.front(), co);
    CheckOptions check_options;
    check_options.auto_close_ms = (*city)->settings().auto_close_seconds() * 1000;
    check_options.duplicate_window_ms = (*city)->settings().duplicate_window_seconds() * 1000;
    for (const pb::Region& r : (*city)->config().regions()) check_options.parents[r.code()] = r.parent();
    for (const pb::SlaPolicy& p : (*city)->config().sla()) {
      check_options.sla[{p.category(), p.level(), p.mode()}] = {int64_t{p.claim_seconds()} * 1000,
                                                                int64_t{p.resolve_seconds()} * 1000};
    }

    // The faults in a random order. Every other power cut is followed by a second one during the
    // recovery, at the k-th write-ahead log sync of the restarted dispatcher, k = 1, 2, 3, 1, ...
    // (PowerCutFs::CutAfterWalSyncs says why counted syncs).
    // One kill in three (in the shuffled order) waits for a mode switch with events to re-plan to
    // be acknowledged and comes right after it, among the re-plans that follow it a batch each
    // (kMaxReplansPerBatch): the restart must finish them before any deadline of the old mode
    // fires (the "mode" check). It gives up waiting after 5 s and kills anyway.
    enum class Fault { kKill, kKillAfterSwitch, kCut, kCutTwice };
    std::mt19937_64 rng(run.seed);
    std::vector<Fault> faults;
    for (int64_t i = 0; i < run.cycles; ++i) {
      faults.push_back(i % 3 == 2 ? Fault::kKillAfterSwitch : Fault::kKill);
    }
    for (int64_t i = 0; i < run.power_cuts; ++i) faults.push_back(i % 2 == 1 ? Fault::kCutTwice : Fault::kCut);
    std::shuffle(faults.begin(), faults.end(), rng);
    double fault_seconds = 0;
    size_t cycle = 0;
    Observed observed;  // the log read so far: each cycle reads only what is new (CatchUpLog)
    // The published records checked so far: each cycle checks those published since. The log
    // only grows between cycles unless its last record changed: CatchUpLog reads it all again
    // then, and the cycle checks every published record again. The final check reads the whole
    // log and checks every published record.
    uint64_t published_checked = 0;
    int64_t recovery_cuts = 0;
    for (Fault fault : faults) {
      ++cycle;
      std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 700));
      const bool cut = fault == Fault::kCut || fault == Fault::kCutTwice;
      std::string what = fmt::format("cycle {} ({})", cycle, cut ? "power cut" : "kill -9");
      if (fault == Fault::kKillAfterSwitch) {
        const uint64_t switches = recorder.replanning_switches();
        const auto give_up = Clock::now() + std::chrono::seconds(5);
        while (recorder.replanning_switches() == switches && Clock::now() < give_up) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        if (recorder.replanning_switches() != switches) {
          what = fmt::format("cycle {} (kill -9 after a mode switch)", cycle);
        }
      }
      const auto fault_at = Clock::now();
      if (auto status = dispatcher.Exited(); status) {
        violations.push_back({"recovery", 0, 0, fmt::format("before {}: the dispatcher ended by itself "
                                                            "with status {}: {}", what, *status,
                                                            dispatcher.LastWords())});
        caught = what;
        break;
      }
      int status = dispatcher.SignalAndWait(cut ? SIGUSR1 : SIGKILL);
      int expected = cut ? storage::kPowerCutExitCode : 128 + SIGKILL;
      if (status == expected && fault == Fault::kCutTwice) {
        const int64_t k = 1 + recovery_cuts++ % 3;
        what = fmt::format("cycle {} (power cut, again at WAL sync {} of the restart)", cycle, k);
        bool by_signal = false;
        status = dispatcher.StartAndCutAfterWalSyncs(k, &by_signal);
        if (by_signal) what += " [by signal: too few syncs]";
      }
      if (status != expected) {
        violations.push_back({"recovery", 0, 0, fmt::format("{}: the dispatcher ended with status {}, not {}: {}",
                                                            what, status, expected, dispatcher.LastWords())});
        caught = what;
        break;
      }
      if (Status s = dispatcher.Start(); !s.ok()) {
        violations.push_back({"recovery", 0, 0, fmt::format("restart after {}: {}", what, s.message())});
        caught = what;
        break;
      }
      // Answers and publications before the log is read must be in it; Submits sent later may be.
      const uint64_t cutoff = recorder.tick();
      auto published = recorder.PublishedAfter(published_checked);
      const auto read_at = Clock::now();
      bool read_whole = false;
      Status read = CatchUpLog(checker, &observed, &read_whole);
      History history = recorder.Snapshot();
      history.ack_cutoff = cutoff;
      history.published = std::move(published);
      if (read_whole) {
        // The records checked before were published before this read, so the log must hold them
        // still: a cut that took the last record read may have taken more.
        auto checked = recorder.PublishedAfter(0);
        checked.erase(checked.upper_bound(published_checked), checked.end());
        history.published.merge(checked);
      }
      if (!read.ok()) {
        std::cerr << "whistle-crashcheck: reading the log after " << what << ": " << read.ToString() << "\n";
        exit_code = kExitHarness;
        break;
      }
      const auto check_at = Clock::now();
      auto found = Check(history, observed, check_options);
      fault_seconds += Seconds(Clock::now() - fault_at);
      Summary s = Summarize(observed);
      std::cout << fmt::format("  {:<22} restarted; log {} records, {} events, {} escalations; {} violations "
                               "(restart {:.2f} s, read {:.2f} s, check {:.2f} s)\n",
                               what, s.records, s.events, s.escalations, found.size(),
                               Seconds(read_at - fault_at), Seconds(check_at - read_at),
                               Seconds(Clock::now() - check_at));
      if (!found.empty()) {
        violations = std::move(found);
        caught = what;
        break;
      }
      if (!history.published.empty()) published_checked = history.published.rbegin()->first;
    }
    workload.Stop();
    if (exit_code == 0 && violations.empty() && dispatcher.running()) {
      // The final check reads the log and then every event: time must stand still meanwhile, or
      // timers would fire in between. A clean stop (SIGTERM) and a start with time almost frozen
      // (it carries on from the newest record; deadlines already due fire on the first batch).
      int status = dispatcher.SignalAndWait(SIGTERM);
      dispatcher.set_time_scale(1e-3);
      Status restarted = status == 0 ? dispatcher.Start()
                                     : Unavailable(fmt::format("SIGTERM ended it with status {}: {}", status,
                                                               dispatcher.LastWords()));
      if (!restarted.ok()) {
        violations.push_back({"recovery", 0, 0, "the final clean restart: " + restarted.message()});
        caught = "the final clean restart";
      }
    }
    if (exit_code == 0 && violations.empty() && dispatcher.running()) {
      History history = recorder.Snapshot();
      history.published = recorder.PublishedAfter(0);
      auto final_state = ObserveAll(checker, **city);
      Status counted;  // the replay for the counters check; a log that does not replay fails it
      if (final_state.ok() && !final_state->counters.empty()) {
        counted = ReplayCounters(**city, dir + "/replayed", &*final_state);
      }
      if (!final_state.ok()) {
        std::cerr << "whistle-crashcheck: reading the final state: " << final_state.status().ToString() << "\n";
        exit_code = kExitHarness;
      } else {
        violations = Check(history, *final_state, check_options);
        if (!counted.ok()) {
          violations.push_back(
              {"counters", 0, 0, "the log does not replay to count: " + counted.ToString()});
        }
        if (!violations.empty()) caught = "the final check";
        Summary s = Summarize(*final_state);
        size_t ok = 0, rejected = 0, unknown = 0;
        size_t assists_asked = 0;
        for (const Op& op : history.ops) {
          (op.outcome == Outcome::kOk ? ok : op.outcome == Outcome::kRejected ? rejected : unknown)++;
          assists_asked += op.kind == OpKind::kAssist;
        }
        std::set<std::string> months;
        for (const auto& [key, counters] : final_state->counters) months.insert(key.substr(0, key.find('|')));
        std::cout << fmt::format(
            "whistle-crashcheck: {} faults in {:.1f} s ({:.2f} s per cycle: fault, restart, "
            "check); "
            "{} requests ({} acknowledged, {} rejected, {} unknown); {} events, {} records, "
            "{} claims ({} assists joined, of {} asked), {} returns, {} whistles, "
            "{} supervision marks, {} escalations ({} after a release, counted against the "
            "releaser), {} overdue marks ({} dispatches of overdue events), {} quiet-period "
            "closes, {} ratings, {} reopens ({} for unsatisfied ratings), {} merges ({} carrying "
            "linked reports), {} cancels, {} repeat reports linked ({} at most on one event, {} "
            "events with more than they keep), {} mode switches, {} re-plans ({} after a "
            "restart); {} records published; {} counters (month, scope) in {} against the "
            "replayed log's {}\n",
            cycle, Seconds(Clock::now() - started),
            cycle > 0 ? fault_seconds / static_cast<double>(cycle) : 0.0, history.ops.size(), ok,
            rejected, unknown, s.events, s.records, s.claims, s.assists, assists_asked, s.returns,
            s.whistles, s.supervisions, s.escalations, s.releaser_climbs, s.overdue,
            s.overdue_redispatches, s.quiet_closes, s.feedback, s.reopens, s.reopens_for_feedback,
            s.merges, s.merges_carrying, s.cancels, s.repeats, s.most_repeats, s.events_past_window,
            s.mode_switches, s.replans, s.replans_after_restart, history.published.size(),
            final_state->counters.size(), fmt::join(months, " and "),
            final_state->replayed_counters.size());
      }
    }
    for (const std::string& p : recorder.problems()) violations.push_back({"client", 0, 0, p});
    if (dispatcher.running()) (void)dispatcher.SignalAndWait(SIGTERM);
  }
  if (!run.keep) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  if (!violations.empty()) {
    std::cout << fmt::format("whistle-crashcheck: VIOLATIONS ({}), caught at {}:\n", violations.size(),
                             caught.empty() ? "the clients" : caught);
    size_t shown = 0;
    for (const Violation& v : violations) {
      if (++shown > 50) {
        std::cout << fmt::format("  ... and {} more\n", violations.size() - 50);
        break;
      }
      std::cout << "  " << FormatViolation(v) << "\n";
    }
    return kExitViolations;
  }
  if (exit_code != 0) return exit_code;
  std::cout << "whistle-crashcheck: clean\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv);
  auto usage = [](std::string_view problem) {
    std::cerr << "whistle-crashcheck: " << problem << "\n" << kUsage;
    return kExitUsage;
  };
  if (!flags.ok()) return usage(flags.status().message());
  if (auto help = flags->TakeBool("help"); help.ok() && *help) return std::cout << kUsage, 0;
  Run run;
  auto cycles = flags->TakeInt("cycles", 20, 0, 1000000);
  auto cuts = flags->TakeInt("power-cuts", 10, 0, 1000000);
  auto seed = flags->TakeInt("seed", static_cast<int64_t>(std::random_device{}() >> 1), 0, INT64_MAX);
  auto keep = flags->TakeBool("keep");
  run.plant_bug = flags->TakeString("plant-bug");
  const bool dispatcher_given = flags->Has("dispatcher");
  run.dispatcher = flags->TakeString("dispatcher", SelfDirectory() + "/whistle-dispatcher");
  for (const Status& s : {cycles.status(), cuts.status(), seed.status(), keep.status(), flags->CheckAllTaken()}) {
    if (!s.ok()) return usage(s.message());
  }
  const std::set<std::string> planted = {"ack-before-sync", "claim-without-state-check", "timer-separate-write",
                                          "replan-not-resumed", "duplicates-forgotten"};
  if (!run.plant_bug.empty() && !planted.contains(run.plant_bug)) {
    return usage("--plant-bug must be ack-before-sync, claim-without-state-check, timer-separate-write, "
                 "replan-not-resumed or duplicates-forgotten");
  }
  run.cycles = *cycles;
  run.power_cuts = *cuts;
  run.seed = static_cast<uint64_t>(*seed);
  run.keep = *keep;
  // By default the one next to this binary (an installed tree); in the build tree it sits in the
  // sibling dispatcher/ directory.
  if (!dispatcher_given && !std::filesystem::exists(run.dispatcher)) {
    run.dispatcher = SelfDirectory() + "/../dispatcher/whistle-dispatcher";
  }
  signal(SIGPIPE, SIG_IGN);
  return Main(run);
}
