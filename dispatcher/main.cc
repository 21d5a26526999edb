// whistle-dispatcher: the engine on ZeroMQ.
//
//   whistle-dispatcher [--daemon-config=FILE] [--keys=DIR | --dev-no-auth] [--data=DIR]
//                      [--config=FILE] [--front=ENDPOINT] [--bus=ENDPOINT]
//                      [--endpoints-file=PATH] [--time-scale=F] [--max-request-bytes=N]
//                      [--max-batch=N] [--busy-window=N] [--metrics-listen=HOST:PORT]
//                      [--max-wal-mb=N] [--idempotency-retention-hours=N] [--wal-spare-mb=N]
//                      [--idle-background-threads[=false]]
//                      [--test-power-cut-signal] [--test-power-cut-after-wal-syncs=N]
//                      [--test-plant-bug=BUG] [--test-clock-start-ms=MS]
//                      [--test-counter-fold-bytes=N] [--test-max-replans-per-batch=N]
//
// Clients authenticate with CURVE keys (server.h, first_start.h): the first start makes
// <keys>/server.key and the first admin's <keys>/admin.key. --dev-no-auth trusts everyone and says
// so loudly; it is for a developer's machine only.
//
// --daemon-config reads a whistle.pb.DispatcherConfig in text format (proto/whistle/daemon.proto;
// deploy/whistle-dispatcher.textproto documents every option); flags override it.
//
// --max-wal-mb bounds the write-ahead log RocksDB keeps: a restart after a crash replays up to
// that much (docs/OPERATIONS.md, "Start-up").
//
// --idempotency-retention-hours: how long a command other than Submit, retried with its request
// id, gets its first answer again (default 168, a week); a Submit's is kept for good (engine.h).
//
// --wal-spare-mb: each write-ahead log is written over a spare file of this many MiB of zeros
// (storage/wal_spare_fs.h); default --max-wal-mb + 4, 0 = off.
//
// --idle-background-threads (the default; =false turns it off): RocksDB's flush and compaction
// threads run at SCHED_IDLE, taking a core only when the requests leave one (storage/store.h).
//
// --metrics-listen serves Prometheus's GET /metrics there (docs/OPERATIONS.md).
//
// --endpoints-file writes the bound endpoints ("front=...\nbus=...\n", and "metrics=URL" with
// --metrics-listen) once they are bound, so a
// caller can bind port 0 (tcp://127.0.0.1:*) and read the ports back. --time-scale runs simulated
// time F times faster than real time (demonstrations only). SIGTERM or SIGINT: finish the batch
// in hand, flush, exit 0. After kill -9, start again: the store recovers and serving resumes.
//
// TEST ONLY flags, for whistle-crashcheck (tools/crashcheck.h); never use them in production, and
// the dispatcher says so loudly when they are on:
//   --test-power-cut-signal  RocksDB writes through storage/power_cut_fs.h; SIGUSR1 cuts the
//                            power: every file is cut back to its fsynced length and the process
//                            exits at once with status 86 (storage::kPowerCutExitCode).
//   --test-power-cut-after-wal-syncs=N  the same power cut, by itself, right after the N-th
//                            fsync of RocksDB's write-ahead log in this run (a cut during
//                            recovery, at a chosen write: PowerCutFs::CutAfterWalSyncs).
//   --test-clock-start-ms=MS  with --time-scale, scaled time starts at MS (Unix ms) rather than
//                            now, unless a record is newer: a run crosses a month's end on cue.
//   --test-counter-fold-bytes=N  counters' journal bytes between folds (EngineState, "Counters in
//                            meta"; default 4 MiB): folds, and the archives of past months they
//                            make, come often in a short run.
//   --test-max-replans-per-batch=N  a SetMode's re-plans per batch (Engine, "Re-planning";
//                            default 2,000): at 1, the small city's re-plans take a batch each,
//                            so a kill cuts them short often enough for the checker to see it.
//   --test-plant-bug=BUG     plants a known bug so the crash checker can show it finds it:
//                            ack-before-sync (batches acknowledged without the fsync),
//                            claim-without-state-check (a claim on a held event takes it over),
//                            timer-separate-write (a fired timer's removal is written before, and
//                            apart from, its escalation), replan-not-resumed (a restart forgets a
//                            mode switch's re-plans a stop cut short), duplicates-forgotten (a
//                            restart forgets which open events a repeat report joins). See
//                            engine.h PlantedBug.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <rocksdb/env.h>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "dispatcher/clock.h"
#include "dispatcher/engine.h"
#include "dispatcher/first_start.h"
#include "whistle/metrics_http.h"
#include "dispatcher/server.h"
#include "storage/idempotency.h"
#include "storage/power_cut_fs.h"
#include "storage/store.h"
#include "tools/flags.h"
#include "tools/process.h"
#include "whistle/daemon.pb.h"

namespace {

constexpr char kUsage[] =
    "usage: whistle-dispatcher [--daemon-config=FILE] [--keys=DIR | --dev-no-auth] [--data=DIR]\n"
    "                          [--config=FILE] [--front=ENDPOINT] [--bus=ENDPOINT]\n"
    "                          [--endpoints-file=PATH] [--time-scale=F] [--max-request-bytes=N]\n"
    "                          [--max-batch=N] [--busy-window=N] [--metrics-listen=HOST:PORT]\n"
    "                          [--max-wal-mb=N] [--idempotency-retention-hours=N]\n"
    "                          [--wal-spare-mb=N] [--idle-background-threads[=false]]\n"
    "test only (whistle-crashcheck; never in production):\n"
    "  --test-power-cut-signal   SIGUSR1 cuts the power: files cut back to what was fsynced, exit 86\n"
    "  --test-power-cut-after-wal-syncs=N  the same cut, right after the N-th write-ahead log fsync\n"
    "  --test-plant-bug=BUG      ack-before-sync | claim-without-state-check | timer-separate-write |\n"
    "                            replan-not-resumed | duplicates-forgotten\n"
    "  --test-clock-start-ms=MS  with --time-scale: scaled time starts at MS unless a record is newer\n"
    "  --test-counter-fold-bytes=N  counters' journal bytes between folds (default 4 MiB)\n"
    "  --test-max-replans-per-batch=N  a mode switch's re-plans per batch (default 2000)\n";

whistle::Server* g_server = nullptr;

void OnSignal(int) {
  if (g_server != nullptr) g_server->Stop();
}

int Fail(const whistle::Status& s) {
  std::cerr << "whistle-dispatcher: " << s.ToString() << "\n";
  return 1;
}

using namespace whistle;

// The TEST ONLY flags (see the header comment). Command line only: never in a daemon config file.
struct TestOptions {
  bool power_cut_signal = false;
  int64_t power_cut_after_wal_syncs = 0;  // 0: none
  bool ack_before_sync = false;
  PlantedBug plant_bug = PlantedBug::kNone;
  std::string plant_bug_name;
  int64_t clock_start_ms = 0;  // 0: now
  int64_t counter_fold_bytes = EngineState::kDefaultCounterFoldBytes;
  int64_t max_replans_per_batch = static_cast<int64_t>(EngineOptions{}.max_replans_per_batch);
};

Result<TestOptions> ReadTestOptions(Flags& flags) {
  TestOptions t;
  auto cut = flags.TakeBool("test-power-cut-signal");
  if (!cut.ok()) return cut.status();
  t.power_cut_signal = *cut;
  auto after = flags.TakeInt("test-power-cut-after-wal-syncs", 0, 1, 1'000'000'000);
  if (!after.ok()) return after.status();
  t.power_cut_after_wal_syncs = *after;
  auto start = flags.TakeInt("test-clock-start-ms", 0, 1, INT64_MAX / 4);
  if (!start.ok()) return start.status();
  t.clock_start_ms = *start;
  auto fold = flags.TakeInt("test-counter-fold-bytes", t.counter_fold_bytes, 0, int64_t{1} << 30);
  if (!fold.ok()) return fold.status();
  t.counter_fold_bytes = *fold;
  auto replans = flags.TakeInt("test-max-replans-per-batch", t.max_replans_per_batch, 1, 1'000'000);
  if (!replans.ok()) return replans.status();
  t.max_replans_per_batch = *replans;
  t.plant_bug_name = flags.TakeString("test-plant-bug");
  if (t.plant_bug_name == "ack-before-sync") {
    t.ack_before_sync = true;
  } else if (t.plant_bug_name == "claim-without-state-check") {
    t.plant_bug = PlantedBug::kClaimWithoutStateCheck;
  } else if (t.plant_bug_name == "timer-separate-write") {
    t.plant_bug = PlantedBug::kTimerSeparateWrite;
  } else if (t.plant_bug_name == "replan-not-resumed") {
    t.plant_bug = PlantedBug::kReplanNotResumed;
  } else if (t.plant_bug_name == "duplicates-forgotten") {
    t.plant_bug = PlantedBug::kDuplicatesForgotten;
  } else if (!t.plant_bug_name.empty()) {
    return BadRequest(fmt::format("--test-plant-bug: unknown bug '{}'", t.plant_bug_name));
  }
  return t;
}

// A flag's value, else the file's (or the default): from the file, checked as strictly as the flag.
Result<int64_t> TakeBounded(Flags& flags, std::string_view name, int64_t from_file, int64_t min, int64_t max) {
  auto v = flags.TakeInt(name, from_file, min, max);
  if (v.ok() && (*v < min || *v > max)) {
    std::string field(name);
    std::replace(field.begin(), field.end(), '-', '_');
    return BadRequest(fmt::format("{} in the daemon configuration must be from {} to {}", field, min, max));
  }
  return v;
}

// The daemon's options: the file (when given), then flags of the same names on top.
Result<pb::DispatcherConfig> ReadOptions(Flags& flags) {
  pb::DispatcherConfig c;
  c.set_data_dir("data/dispatcher");
  c.set_front_endpoint("tcp://127.0.0.1:5570");
  c.set_bus_endpoint("tcp://127.0.0.1:5571");
  c.set_keys_dir("data/keys");
  if (std::string file = flags.TakeString("daemon-config"); !file.empty()) {
    if (Status s = MergeTextFormatFile(file, &c); !s.ok()) return s;
  }
  if (flags.Has("data")) c.set_data_dir(flags.TakeString("data"));
  if (flags.Has("config")) c.set_city_config(flags.TakeString("config"));
  if (flags.Has("front")) c.set_front_endpoint(flags.TakeString("front"));
  if (flags.Has("bus")) c.set_bus_endpoint(flags.TakeString("bus"));
  if (flags.Has("keys")) c.set_keys_dir(flags.TakeString("keys"));
  if (flags.Has("endpoints-file")) c.set_endpoints_file(flags.TakeString("endpoints-file"));
  if (flags.Has("metrics-listen")) c.set_metrics_listen(flags.TakeString("metrics-listen"));
  auto scale = flags.TakeDouble("time-scale", c.time_scale() == 0 ? 1 : c.time_scale(), 1e-3, 1e6);
  auto bytes = TakeBounded(flags, "max-request-bytes", c.max_request_bytes() ? c.max_request_bytes() : 65536, 256, 1 << 20);
  auto batch = TakeBounded(flags, "max-batch", c.max_batch() ? c.max_batch() : 512, 1, 1 << 20);
  auto busy = TakeBounded(flags, "busy-window", c.busy_window() ? c.busy_window() : 4096, 0, 1 << 24);
  constexpr int64_t kDefaultMaxWalMb = 32;
  auto wal =
      TakeBounded(flags, "max-wal-mb", c.max_wal_mb() ? c.max_wal_mb() : kDefaultMaxWalMb, 1, 1 << 16);
  auto retention = TakeBounded(
      flags, "idempotency-retention-hours",
      c.idempotency_retention_hours() ? c.idempotency_retention_hours() : kDefaultRetentionHours, 1,
      kMaxRetentionHours);
  // Unset: about as long as a log gets, the bound and a little more (storage/wal_spare_fs.h).
  auto spare = TakeBounded(flags, "wal-spare-mb",
                           c.has_wal_spare_mb() ? c.wal_spare_mb() : (wal.ok() ? *wal : kDefaultMaxWalMb) + 4, 0, 1 << 16);
  Result<bool> idle = c.has_idle_background_threads() ? c.idle_background_threads() : true;
  if (flags.Has("idle-background-threads")) idle = flags.TakeBool("idle-background-threads");
  auto dev = flags.TakeBool("dev-no-auth");
  for (const Status& s : {scale.status(), bytes.status(), batch.status(), busy.status(), wal.status(),
                          retention.status(), spare.status(), idle.status(), dev.status(), flags.CheckAllTaken()}) {
    if (!s.ok()) return s;
  }
  c.set_time_scale(*scale);
  c.set_max_request_bytes(static_cast<uint32_t>(*bytes));
  c.set_max_batch(static_cast<uint32_t>(*batch));
  c.set_busy_window(static_cast<uint32_t>(*busy));
  c.set_max_wal_mb(static_cast<uint32_t>(*wal));
  c.set_idempotency_retention_hours(static_cast<uint32_t>(*retention));
  c.set_wal_spare_mb(static_cast<uint32_t>(*spare));
  c.set_idle_background_threads(*idle);
  if (*dev) c.set_dev_no_auth(true);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace whistle;
  // Start-up phases, for the "ready" line: a restart's time is an operations figure (issue 5's
  // scale goal: at most 5 s with a million open events; docs/BENCHMARKS.md).
  using Seconds = std::chrono::duration<double>;
  const auto main_started = std::chrono::steady_clock::now();
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return std::cerr << "whistle-dispatcher: " << flags.status().message() << "\n" << kUsage, 2;
  auto test_or = ReadTestOptions(*flags);
  if (!test_or.ok()) return std::cerr << "whistle-dispatcher: " << test_or.status().message() << "\n" << kUsage, 2;
  const TestOptions& test = *test_or;
  auto options_or = ReadOptions(*flags);
  if (!options_or.ok()) return std::cerr << "whistle-dispatcher: " << options_or.status().message() << "\n" << kUsage, 2;
  const pb::DispatcherConfig& cfg = *options_or;
  ServerOptions options;
  options.front_endpoint = cfg.front_endpoint();
  options.bus_endpoint = cfg.bus_endpoint();
  options.max_request_bytes = cfg.max_request_bytes();
  options.max_batch = cfg.max_batch();
  options.busy_window = cfg.busy_window();
  if (cfg.dev_no_auth()) {
    std::cerr << "whistle-dispatcher: WARNING: --dev-no-auth: NO AUTHENTICATION. Every client, from "
                 "anywhere the front door is reachable, may do everything as '"
              << options.dev_principal << "'. Never run this way outside a developer's machine.\n";
  } else {
    auto key = LoadOrCreateServerKey(cfg.keys_dir());
    if (!key.ok()) return Fail(key.status());
    options.server_key = std::move(key).value();
  }
  const std::string& data = cfg.data_dir();
  const std::string& config_path = cfg.city_config();
  const std::string& endpoints_file = cfg.endpoints_file();
  const double time_scale = cfg.time_scale();

  auto city = LoadCity(config_path);
  if (!city.ok()) return Fail(city.status());
  const auto city_loaded = std::chrono::steady_clock::now();

  storage::StoreOptions store_options;
  store_options.max_wal_bytes = uint64_t{cfg.max_wal_mb()} << 20;
  store_options.wal_spare_bytes = uint64_t{cfg.wal_spare_mb()} << 20;  // 0: off
  store_options.idle_background_threads = cfg.idle_background_threads();
  store_options.open_with_compactions_paused = true;  // the engine resumes them once loaded
  std::unique_ptr<rocksdb::Env> power_cut_env;  // outlives the store
  if (test.power_cut_signal || test.power_cut_after_wal_syncs > 0) {
    auto fs = std::make_shared<storage::PowerCutFs>(rocksdb::FileSystem::Default());
    power_cut_env = rocksdb::NewCompositeEnv(fs);
    store_options.env = power_cut_env.get();
    if (test.power_cut_signal) {
      std::cerr << "whistle-dispatcher: WARNING: TEST ONLY: --test-power-cut-signal: SIGUSR1 cuts "
                   "the power (unsynced bytes are lost, exit 86)\n";
      // Before the store and ZeroMQ start their threads, so that they all inherit the blocked signal.
      storage::PowerCutOnSignal(fs, SIGUSR1);
    }
    if (test.power_cut_after_wal_syncs > 0) {
      std::cerr << "whistle-dispatcher: WARNING: TEST ONLY: the power will be cut after write-ahead log "
                   "sync "
                << test.power_cut_after_wal_syncs << " (exit 86)\n";
      fs->CutAfterWalSyncs(test.power_cut_after_wal_syncs);
    }
  }
  if (!test.plant_bug_name.empty()) {
    std::cerr << "whistle-dispatcher: WARNING: TEST ONLY: --test-plant-bug=" << test.plant_bug_name
              << ": a known bug is planted on purpose; this dispatcher is broken\n";
  }
  store_options.test_ack_before_sync = test.ack_before_sync;
  EngineOptions engine_options;
  engine_options.idempotency_retention_ms = int64_t{cfg.idempotency_retention_hours()} * 3600 * 1000;
  engine_options.test_plant_bug = test.plant_bug;
  engine_options.start_note = [](std::string_view note) { std::cerr << "whistle-dispatcher: " << note << "\n"; };
  engine_options.counter_fold_bytes = static_cast<uint64_t>(test.counter_fold_bytes);
  engine_options.max_replans_per_batch = static_cast<size_t>(test.max_replans_per_batch);
  if (test.clock_start_ms != 0 && time_scale == 1) {
    return Fail(BadRequest("--test-clock-start-ms needs --time-scale (other than 1)"));
  }
  if (test.clock_start_ms != 0 || test.counter_fold_bytes != EngineState::kDefaultCounterFoldBytes ||
      engine_options.max_replans_per_batch != EngineOptions{}.max_replans_per_batch) {
    std::cerr << "whistle-dispatcher: WARNING: TEST ONLY: --test-clock-start-ms, "
                 "--test-counter-fold-bytes or --test-max-replans-per-batch is set\n";
  }

  std::filesystem::create_directories(data);
  auto store = storage::Store::Open(data, store_options);
  if (!store.ok()) return Fail(store.status());
  const auto store_opened = std::chrono::steady_clock::now();
  SystemClock wall;
  // Scaled time carries on from the newest record, so a resumed demonstration never goes back.
  int64_t start_ms = test.clock_start_ms != 0 ? test.clock_start_ms : wall.NowMs();
  if (time_scale != 1) {
    auto newest = storage::NewestRecordMs(**store);
    if (!newest.ok()) return Fail(newest.status());
    start_ms = std::max(start_ms, *newest);
  }
  ScaledClock scaled(wall, start_ms, time_scale);
  const Clock& clock = time_scale == 1 ? static_cast<const Clock&>(wall) : scaled;
  auto engine = Engine::Open(**store, *city, clock, engine_options);
  if (!engine.ok()) return Fail(engine.status());
  const auto state_loaded = std::chrono::steady_clock::now();

  if (options.server_key) {
    bool created = false;
    if (Status s = EnsureAdmin(**engine, cfg.keys_dir(), *options.server_key, &created); !s.ok()) {
      return Fail(s);
    }
    if (created) {
      std::cerr << fmt::format("whistle-dispatcher: registered the first admin; its key file is "
                               "{}/admin.key (whistlectl --key=... principal-create)\n",
                               cfg.keys_dir());
    }
  }

  zmq::context_t context(1);
  auto server = Server::Start(context, **engine, options);
  if (!server.ok()) return Fail(server.status());
  std::unique_ptr<MetricsHttp> metrics_http;
  if (!cfg.metrics_listen().empty()) {
    const ServerMetrics& metrics = (*server)->metrics();
    auto started = MetricsHttp::Start(cfg.metrics_listen(), [&metrics] { return metrics.Prometheus(); });
    if (!started.ok()) return Fail(started.status());
    metrics_http = std::move(started).value();
  }
  if (!endpoints_file.empty()) {
    std::string text = "front=" + (*server)->front_endpoint() + "\nbus=" + (*server)->bus_endpoint() + "\n";
    if (metrics_http) text += "metrics=" + metrics_http->url() + "\n";
    if (Status s = WriteWholeFile(endpoints_file, text); !s.ok()) return Fail(s);
  }
  const auto ready = std::chrono::steady_clock::now();
  std::cerr << fmt::format("whistle-dispatcher: {} ({} grids), data in {}, front {}, bus {}, {} open events, "
                           "ready in {:.2f} s (city {:.2f} s, store {:.2f} s, state {:.2f} s), {}\n",
                           (*city)->config().name(), (*city)->grid_count(), data,
                           (*server)->front_endpoint(), (*server)->bus_endpoint(),
                           (*engine)->state().open_event_count(), Seconds(ready - main_started).count(),
                           Seconds(city_loaded - main_started).count(), Seconds(store_opened - city_loaded).count(),
                           Seconds(state_loaded - store_opened).count(),
                           options.server_key ? fmt::format("CURVE server key {}", options.server_key->public_key())
                                              : std::string("NO AUTHENTICATION"));
  g_server = server->get();
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  Status s = (*server)->Run();
  g_server = nullptr;
  if (metrics_http) metrics_http->Stop();
  if (!s.ok()) return Fail(s);
  std::cerr << "whistle-dispatcher: stopped\n";
  return 0;
}
