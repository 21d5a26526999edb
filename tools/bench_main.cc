// whistle-bench: load and latency of a dispatcher, as its clients see them (tools/bench.h).
//
//   whistle-bench [--front=ENDPOINT [--key=FILE] | --dispatcher-flags='F ...'] [--config=FILE]
//                 [--mix=submit|lifecycle|claim-race|queries] [--clients=N] [--window=N]
//                 [--rate=R] [--duration-s=S] [--warmup-s=S] [--seed=N] [--race-agents=N]
//                 [--query-events=N] [--get-ids=N] [--queries=get,list,stats,mine]
//                 [--busy-pause-ms=N] [--resend-after-ms=N] [--drain-s=S] [--hot=N] [--json]
//                 [--trace=PATH]
//
// Without --front it starts its own whistle-dispatcher (next to it in the build tree) on a fresh
// data directory under $TMPDIR with --dev-no-auth and the same --config, and stops it at the end;
// --dispatcher-flags passes flags on (e.g. --dispatcher-flags='--max-batch=1024 --busy-window=0').
// With --front it drives a dispatcher already running; its principal (--key) must be a supervisor
// or admin, for the metrics. --rate=R runs an open loop at R commands/s offered; without it, a
// closed loop of --clients x --window flows in flight. A command answered BUSY is sent again
// after --busy-pause-ms (default 100), doubling with each BUSY in a row and jittered, as the client
// library does (-1: never, the BUSY ends its flow). A request without an answer after
// --resend-after-ms (default 2000) is sent again, as the client library does after its timeout
// (-1: never). The load ends with the run: then no flow starts and nothing answered BUSY is sent
// again; the bench waits up to --drain-s (default 10) for the answers still due. An open loop that
// could not keep its schedule reports the flows it never sent (NOT OFFERED).
// --hot=N makes every report one of N problems (the first category in one of the city's first N
// grids): each one's first Submit makes an event and the rest link to it as repeats, the cost of a
// hotline's burst of calls about one outage. --json prints one JSON object instead.
// --trace=PATH writes every measured answer to PATH, a line each in the order sent: microseconds
// from the end of the warm-up to when it was sent (an open loop's first command: when it was due),
// its latency in microseconds, and its kind, after a first line "# measured from <N> (Unix
// microseconds)", N the end of the warm-up. To see when the slow ones fell:
// tools/latency_windows.py reads it.
//
// Exit: 0 done; 1 the run failed (or a claim race had other than one winner); 2 bad flags.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "tools/bench.h"
#include "tools/describe.h"
#include "tools/flags.h"
#include "tools/process.h"

namespace {

constexpr char kUsage[] =
    "usage: whistle-bench [--front=ENDPOINT [--key=FILE] | --dispatcher-flags='F ...'] [--config=FILE]\n"
    "                     [--mix=submit|lifecycle|claim-race|queries] [--clients=N] [--window=N]\n"
    "                     [--rate=R] [--duration-s=S] [--warmup-s=S] [--seed=N] [--race-agents=N]\n"
    "                     [--query-events=N] [--get-ids=N] [--queries=get,list,stats,mine] [--busy-pause-ms=N]\n"
    "                     [--resend-after-ms=N] [--drain-s=S] [--hot=N] [--json] [--trace=PATH]\n";

int Usage(std::string_view why) {
  std::cerr << "whistle-bench: " << why << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace whistle;
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return Usage(flags.status().message());
  BenchOptions o;
  o.front = flags->TakeString("front");
  std::string config = flags->TakeString("config");
  std::vector<std::string> dispatcher_flags;
  {
    std::istringstream words(flags->TakeString("dispatcher-flags"));
    for (std::string word; words >> word;) dispatcher_flags.push_back(word);
  }
  auto credentials = ReadCredentials(flags->TakeString("key"));
  auto mix = ParseBenchMix(flags->TakeString("mix", "submit"));
  auto clients = flags->TakeInt("clients", 8, 1, 1024);
  auto window = flags->TakeInt("window", 1, 1, 100000);
  auto rate = flags->TakeDouble("rate", 0, 0, 1e7);
  auto duration = flags->TakeDouble("duration-s", 10, 0.1, 86400);
  auto warmup = flags->TakeDouble("warmup-s", 1, 0, 3600);
  auto seed = flags->TakeInt("seed", 1, 0, INT64_MAX);
  auto race_agents = flags->TakeInt("race-agents", 4, 1, 64);
  auto query_events = flags->TakeInt("query-events", 2000, 1, 10000000);
  auto get_ids = flags->TakeInt("get-ids", 0, 0, INT64_MAX);
  auto query_kinds = ParseQueryKinds(flags->TakeString("queries"));
  auto busy_pause = flags->TakeInt("busy-pause-ms", 100, -1, 60000);
  auto resend_after = flags->TakeInt("resend-after-ms", 2000, -1, 600000);
  if (resend_after.ok() && *resend_after == 0) resend_after = BadRequest("--resend-after-ms: 0 would resend at once");
  auto drain = flags->TakeDouble("drain-s", 10, 0, 3600);
  auto hot = flags->TakeInt("hot", 0, 0, 1000000);
  auto json = flags->TakeBool("json");
  const bool trace_given = flags->Has("trace");
  const std::string trace = flags->TakeString("trace");
  for (const Status& s : {credentials.status(), mix.status(), clients.status(), window.status(), rate.status(),
                          duration.status(), warmup.status(), seed.status(), race_agents.status(),
                          query_events.status(), get_ids.status(), query_kinds.status(), busy_pause.status(),
                          resend_after.status(), drain.status(), hot.status(), json.status(),
                          flags->CheckAllTaken()}) {
    if (!s.ok()) return Usage(s.message());
  }
  o.credentials = *credentials;
  o.mix = *mix;
  o.clients = static_cast<int>(*clients);
  o.window = static_cast<int>(*window);
  o.rate = *rate;
  o.duration_s = *duration;
  o.warmup_s = *warmup;
  o.seed = static_cast<uint64_t>(*seed);
  o.race_agents = static_cast<int>(*race_agents);
  o.query_events = static_cast<int>(*query_events);
  o.get_ids = static_cast<uint64_t>(*get_ids);
  o.query_kinds = *query_kinds;
  o.busy_pause_ms = static_cast<int>(*busy_pause);
  o.resend_after_ms = static_cast<int>(*resend_after);
  o.drain_s = *drain;
  o.hot = static_cast<int>(*hot);
  if (trace_given && trace.empty()) return Usage("--trace needs a path: --trace=PATH");
  o.trace = trace_given;
  // Opened before the run, so that a path that cannot be written costs no run.
  std::ofstream trace_out;
  if (o.trace) {
    trace_out.open(trace);
    if (!trace_out) return std::cerr << "whistle-bench: cannot write " << trace << "\n", 1;
  }

  auto city = LoadCity(config);
  if (!city.ok()) return std::cerr << "whistle-bench: " << city.status().ToString() << "\n", 1;
  o.city = *city;
  if (o.hot > static_cast<int>((*city)->grid_count())) {
    return Usage(fmt::format("--hot={} is more problems than the city has grids ({})", o.hot, (*city)->grid_count()));
  }
  o.month = LocalTime(std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count(),
                      (*city)->settings().utc_offset_minutes()).substr(0, 7);

  // Our own dispatcher, unless told where one runs.
  pid_t dispatcher = 0;
  std::string data;
  if (o.front.empty()) {
    data = MakeTempDirectory("whistle-bench");
    std::string endpoints = data + "/endpoints";
    std::vector<std::string> args = {SelfDirectory() + "/../dispatcher/whistle-dispatcher", "--dev-no-auth",
                                     "--data=" + data + "/store", "--front=tcp://127.0.0.1:*",
                                     "--bus=tcp://127.0.0.1:*", "--endpoints-file=" + endpoints};
    if (!config.empty()) args.push_back("--config=" + config);
    args.insert(args.end(), dispatcher_flags.begin(), dispatcher_flags.end());
    dispatcher = Spawn(args, data + "/dispatcher.log", /*merge_stderr=*/true);
    std::string bus;
    for (int i = 0; i < 300 && !ReadEndpoints(endpoints, &o.front, &bus); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (o.front.empty()) {
      kill(dispatcher, SIGKILL);
      WaitFor(dispatcher);
      return std::cerr << "whistle-bench: the dispatcher did not start; see " << data << "/dispatcher.log\n", 1;
    }
  }

  auto result = RunBench(o);
  if (dispatcher != 0) {
    kill(dispatcher, SIGTERM);
    WaitFor(dispatcher);
    std::filesystem::remove_all(data);
  }
  if (!result.ok()) return std::cerr << "whistle-bench: " << result.status().ToString() << "\n", 1;
  std::cout << (*json ? BenchJson(o, *result) + "\n" : FormatBench(o, *result));
  if (o.trace) {
    trace_out << "# measured from " << result->measured_from_unix_us << " (Unix microseconds)\n";
    for (const TracedAnswer& a : result->trace) {
      trace_out << a.sent_us << ' ' << a.latency_us << ' ' << a.kind << '\n';
    }
    if (!trace_out.flush()) return std::cerr << "whistle-bench: could not write " << trace << "\n", 1;
  }
  return result->races_not_one_winner == 0 && result->unanswered == 0 ? 0 : 1;
}
