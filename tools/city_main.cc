// whistle-city: the main job. A city at work as separate processes on this machine:
//
//   whistle-dispatcher   the engine on ZeroMQ, simulated time running --time-scale times faster
//   whistle-agent x4     the duty desks of every department, one process per level
//   whistle-report xN    grid workers and the hotline reporting problems across the city
//   whistle-gateway      the operations console (/console/), to watch the city live
//   this process         watches the bus (live progress line), plays the citizens who rate
//                        results, and ends with a report
//
//   whistle-city [--data=data/city] [--duration-s=60] [--time-scale=1440] [--reporters=4]
//                [--reports-per-day=4000] [--config=FILE] [--seed=N] [--console-port=N]
//
// It prints the console's address and a ticket to log in with as the city's supervisor, and the
// dispatcher's Prometheus address (docs/OPERATIONS.md).
//
// One minute at the default scale is one day of the city. The data stays in --data; run again
// and the city carries on where it stopped. Ctrl-C, SIGTERM or SIGHUP end the run early: every
// process it started is stopped, the dispatcher last, and the report printed. Exit status 0 when
// the whole run went as it should, 1 otherwise (a process that failed, or a run cut short). Every process authenticates with its own CURVE key
// (made on the first run in <data>/keys: the dispatcher's, the first admin's, one per level's
// desks, the grid workers' and the hotline's).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <queue>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "agents/client.h"
#include "agents/principals.h"
#include "dispatcher/city_loader.h"
#include "dispatcher/stats.h"
#include "tools/describe.h"
#include "tools/flags.h"
#include "tools/process.h"
#include "whistle/random.h"

namespace {

using namespace whistle;
using Clock = std::chrono::steady_clock;

// SIGTERM, SIGINT and SIGHUP (unless ignored, as under nohup) end the run early, every child
// stopped. They are blocked in every thread (a handler would interrupt ZeroMQ's waits, which
// throw) and looked for between waits.
sigset_t g_stop_signals;
bool g_stop = false;
void BlockStopSignals() {
  sigemptyset(&g_stop_signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    struct sigaction now {};
    if (sigaction(sig, nullptr, &now) == 0 && now.sa_handler == SIG_IGN) continue;
    sigaddset(&g_stop_signals, sig);
  }
  pthread_sigmask(SIG_BLOCK, &g_stop_signals, nullptr);
}
bool StopRequested() {
  const timespec now{0, 0};
  if (!g_stop && sigtimedwait(&g_stop_signals, nullptr, &now) > 0) g_stop = true;
  return g_stop;
}

// The processes this run started. Whatever way main returns, each one still running is stopped:
// SIGTERM, newest first (reporters and desks before the gateway and the dispatcher they talk
// to), then SIGKILL for one that does not exit within 10 s. A run that failed half-way must not
// leave a dispatcher holding the store's lock for the next run to trip over.
class Children {
 public:
  Children() = default;
  Children(const Children&) = delete;
  Children& operator=(const Children&) = delete;
  ~Children() { StopAll(); }

  pid_t Start(const std::vector<std::string>& args, const std::string& log) {
    // Its own process group: a Ctrl-C reaches this process alone, which stops the children in
    // order (the dispatcher last, so that the report can still ask it for the rates).
    pid_t pid = Spawn(args, log, /*merge_stderr=*/true, /*own_process_group=*/true);
    running_.push_back(pid);
    return pid;
  }
  // Polls until `path` contains `needle`; false when the child `pid` exited first (it is
  // reaped), 60 s passed, or the run was told to stop.
  bool WaitForText(const std::string& path, const std::string& needle, pid_t pid) {
    for (int i = 0; i < 6000 && !StopRequested(); ++i) {
      if (ReadWholeFile(path).find(needle) != std::string::npos) return true;
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        Forget(pid);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Waits for the child to exit by itself; its status as WaitFor returns it.
  int Wait(pid_t pid) {
    Forget(pid);
    return WaitFor(pid);
  }
  // SIGTERM, then waits; SIGKILL after 10 s. Its exit status as WaitFor returns it.
  int Stop(pid_t pid) {
    Forget(pid);
    kill(pid, SIGTERM);
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) return ExitStatus(status);
      if (done < 0 && errno != EINTR) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(pid, SIGKILL);
    return WaitFor(pid);
  }
  void StopAll() {
    while (!running_.empty()) Stop(running_.back());
  }

 private:
  void Forget(pid_t pid) { std::erase(running_, pid); }
  std::vector<pid_t> running_;
};

struct Tally {
  uint64_t submitted = 0, linked = 0, claimed = 0, resolved = 0, closed = 0, overdue = 0, feedback = 0;
  std::map<int, uint64_t> escalated_to;
  int64_t first_ms = 0, last_ms = 0;
};

void Count(Tally& t, const pb::Record& r) {
  if (t.first_ms == 0) t.first_ms = r.at_ms();
  t.last_ms = r.at_ms();
  switch (r.body_case()) {
    case pb::Record::kSubmitted: ++t.submitted; break;
    case pb::Record::kReportLinked: t.linked += r.report_linked().link().event_id() == 0; break;
    case pb::Record::kClaimed: ++t.claimed; break;
    case pb::Record::kResolved: ++t.resolved; break;
    case pb::Record::kClosed: ++t.closed; break;
    case pb::Record::kMarkedOverdue: ++t.overdue; break;
    case pb::Record::kFeedbackGiven: ++t.feedback; break;
    case pb::Record::kEscalated: ++t.escalated_to[r.escalated().to_level()]; break;
    default: break;
  }
}

int Fail(const std::string& what) {
  std::cerr << "whistle-city: " << (g_stop ? "told to stop (" + what + ")" : what) << "\n";
  return 1;
}

}  // namespace

int Run(int argc, char** argv) {
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return std::cerr << "whistle-city: " << flags.status().message() << "\n", 2;
  std::string data = flags->TakeString("data", "data/city");
  std::string config = flags->TakeString("config");
  auto duration = flags->TakeDouble("duration-s", 60, 1, 86400);
  auto scale = flags->TakeDouble("time-scale", 1440, 1, 1e6);
  auto reporters = flags->TakeInt("reporters", 4, 1, 64);
  auto per_day = flags->TakeDouble("reports-per-day", 4000, 1, 1e8);
  auto seed = flags->TakeInt("seed", 1, 0, INT64_MAX);
  auto console_port = flags->TakeInt("console-port", 0, 0, 65535);
  for (const Status& s : {duration.status(), scale.status(), reporters.status(), per_day.status(),
                          seed.status(), console_port.status(), flags->CheckAllTaken()}) {
    if (!s.ok()) return std::cerr << "whistle-city: " << s.message() << "\n", 2;
  }
  auto city = LoadCity(config);
  if (!city.ok()) return Fail(city.status().ToString());
  int offset = (*city)->settings().utc_offset_minutes();
  Children children;  // declared before anything that talks to them, so it is destroyed last

  std::string logs = data + "/logs";
  std::filesystem::create_directories(logs);
  std::string bin = SelfDirectory() + "/..";
  std::string scale_flag = fmt::format("--time-scale={}", *scale);
  std::vector<std::string> config_flag;
  if (!config.empty()) config_flag.push_back("--config=" + config);

  // The dispatcher.
  std::string endpoints = data + "/endpoints";
  std::filesystem::remove(endpoints);
  // Real keys: the dispatcher makes its own and the first admin's on first start; the admin
  // then registers the desks, the grid workers and the hotline, each with its key file.
  std::string keys = data + "/keys";
  std::vector<std::string> dargs = {bin + "/dispatcher/whistle-dispatcher", "--keys=" + keys,
                                    "--data=" + data + "/store", "--front=tcp://127.0.0.1:*",
                                    "--bus=tcp://127.0.0.1:*", "--endpoints-file=" + endpoints, scale_flag,
                                    "--metrics-listen=127.0.0.1:0"};
  dargs.insert(dargs.end(), config_flag.begin(), config_flag.end());
  pid_t dispatcher = children.Start(dargs, logs + "/dispatcher.log");
  if (!children.WaitForText(endpoints, "bus=", dispatcher)) {
    return Fail("the dispatcher did not start: see " + logs + "/dispatcher.log");
  }
  std::string front, bus;
  ReadEndpoints(endpoints, &front, &bus);

  zmq::context_t context;
  auto admin_key = ReadCredentials(keys + "/admin.key");
  if (!admin_key.ok()) return Fail(admin_key.status().ToString());
  const std::string server_key = (*admin_key)->server_public_key();
  Client admin(context, front, ClientOptions{.credentials = *admin_key});
  auto ensure = [&](const std::string& name, pb::Role role, const std::vector<std::string>& departments) {
    pb::Principal p;
    p.set_name(name);
    p.set_role(role);
    for (const auto& d : departments) p.add_departments(d);
    p.set_note("whistle-city");
    return EnsurePrincipal(admin, server_key, std::move(p), keys + "/" + name + ".key");
  };
  auto hotline_key = ensure("hotline-12345", pb::ROLE_HOTLINE, {});
  auto reporters_key = ensure("grid-workers", pb::ROLE_REPORTER, {});
  // The operations console: a gateway that serves it, its own principal, and the city's
  // supervisor to log in as.
  auto gateway_key = ensure("gateway", pb::ROLE_HOTLINE, {});
  auto console_key = ensure("ops-console", pb::ROLE_CONSOLE, {});
  auto supervisor_key = ensure("city-supervisor", pb::ROLE_SUPERVISOR, {});
  for (const auto* k : {&hotline_key, &reporters_key, &gateway_key, &console_key, &supervisor_key}) {
    if (!k->ok()) return Fail("cannot register the city's principals: " + k->status().ToString());
  }
  std::string gateway_endpoints = data + "/gateway-endpoints";
  std::filesystem::remove(gateway_endpoints);
  std::ofstream(data + "/gateway.textproto") << fmt::format(
      "listen_address: \"127.0.0.1\"\nport: {}\nfront_endpoint: \"{}\"\nbus_endpoint: \"{}\"\n"
      "data_dir: \"{}/gateway\"\ncity_config: \"{}\"\nkey_file: \"{}/gateway.key\"\n"
      "endpoints_file: \"{}\"\nconsole {{ enabled: true key_file: \"{}/ops-console.key\" }}\n",
      *console_port, front, bus, data, config, keys, gateway_endpoints, keys);
  pid_t gateway = children.Start(
      {bin + "/agents/gateway/whistle-gateway", "--gateway-config=" + data + "/gateway.textproto"},
      logs + "/gateway.log");
  if (!children.WaitForText(gateway_endpoints, "http=", gateway)) {
    return Fail("the gateway did not start: see " + logs + "/gateway.log");
  }
  std::string console_url = ReadWholeFile(gateway_endpoints);
  console_url = console_url.substr(console_url.find("http=") + 5);
  console_url = console_url.substr(0, console_url.find('\n')) + "/console/";
  Client supervisor(context, front, ClientOptions{.credentials = *supervisor_key});
  pb::Request ticket;
  ticket.mutable_ticket();
  auto issued = supervisor.Call(ticket);
  if (!issued.ok() || issued->code() != pb::STATUS_OK) return Fail("cannot get a console ticket");
  std::string metrics_url = ReadWholeFile(endpoints);
  metrics_url = metrics_url.substr(metrics_url.find("metrics=") + 8);
  metrics_url = metrics_url.substr(0, metrics_url.find('\n'));

  // Where the log stands: this run's figures start after it. This process plays the citizens,
  // who rate results through the hotline.
  Client client(context, front, ClientOptions{.credentials = *hotline_key});
  pb::Request tail;
  tail.mutable_log()->set_after_seq(UINT64_MAX);
  auto where = client.Call(tail);
  if (!where.ok()) return Fail(where.status().ToString());
  Subscriber subscriber(context, bus, front, where->log().last_seq(), *hotline_key);

  // Agents first (they must be following the bus before reports arrive), then reporters.
  std::vector<pid_t> agents, reporter_pids;
  for (pb::Level level : kLadder) {
    std::string name = std::string(LevelName(level));
    std::vector<std::string> desk_departments;
    for (const auto& d : (*city)->config().departments()) {
      if (d.level() == level) desk_departments.push_back(d.id());
    }
    auto desk_key = ensure(name + "-desks", pb::ROLE_AGENT, desk_departments);
    if (!desk_key.ok()) return Fail("cannot register the " + name + " desks: " + desk_key.status().ToString());
    std::vector<std::string> args = {bin + "/agents/whistle-agent", "--front=" + front, "--bus=" + bus,
                                     "--key=" + keys + "/" + name + "-desks.key",
                                     "--all-departments", "--level=" + name, "--name=" + name + "-desks",
                                     scale_flag, fmt::format("--duration-s={}", *duration + 3),
                                     fmt::format("--seed={}", *seed + static_cast<int>(level))};
    args.insert(args.end(), config_flag.begin(), config_flag.end());
    agents.push_back(children.Start(args, logs + "/agent-" + name + ".log"));
    if (!children.WaitForText(logs + "/agent-" + name + ".log", " ready", agents.back())) {
      return Fail("an agent did not start: see " + logs + "/agent-" + name + ".log");
    }
  }
  double rate = *per_day / 86400.0 * *scale / static_cast<double>(*reporters);
  for (int i = 0; i < *reporters; ++i) {
    std::vector<std::string> args = {bin + "/agents/whistle-report", "--front=" + front,
                                     "--key=" + keys + "/grid-workers.key",
                                     fmt::format("--rate={}", rate), fmt::format("--duration-s={}", *duration),
                                     fmt::format("--seed={}", *seed * 100 + i), fmt::format("--reporter=reporter-{}", i),
                                     fmt::format("--latencies-out={}/latencies-{}", logs, i)};
    args.insert(args.end(), config_flag.begin(), config_flag.end());
    std::filesystem::remove(fmt::format("{}/latencies-{}", logs, i));  // a run before left one
    reporter_pids.push_back(children.Start(args, fmt::format("{}/reporter-{}.log", logs, i)));
  }
  std::cout << fmt::format("whistle-city: {} ({} grids, {} departments), {} s of real time at x{} "
                           "(one real second is {:.0f} city minutes); processes: dispatcher, {} agents, "
                           "{} reporters; logs in {}\n",
                           (*city)->config().name(), (*city)->grid_count(), (*city)->config().departments_size(),
                           *duration, *scale, *scale / 60, agents.size(), reporter_pids.size(), logs);
  std::cout << fmt::format("  operations console: {}\n  log in as city-supervisor with this ticket (12 h):\n  {}\n"
                           "  Prometheus: {}\n",
                           console_url, issued->ticket().ticket(), metrics_url);

  // Watch the bus; play the citizens who rate resolved work.
  Tally tally;
  SplitMix64 rng(static_cast<uint64_t>(*seed) + 0xC171);
  auto uniform = [&] { return rng.Uniform(); };
  std::priority_queue<std::pair<Clock::time_point, uint64_t>, std::vector<std::pair<Clock::time_point, uint64_t>>,
                      std::greater<>> ratings;
  bool tty = isatty(1);
  auto start = Clock::now();
  auto end = start + std::chrono::milliseconds(static_cast<int64_t>(*duration * 1000));
  auto next_line = start;
  while (Clock::now() < end && !StopRequested()) {
    auto next = subscriber.Next(std::chrono::milliseconds(100));
    if (!next.ok()) return Fail(next.status().ToString());

    if (next->has_value()) {
      const pb::Record& r = **next;
      Count(tally, r);
      if (r.has_resolved() && uniform() < 0.7) {  // a citizen answers within a few city hours
        auto delay = std::chrono::milliseconds(static_cast<int64_t>(uniform() * 4 * 3600 * 1000 / *scale));
        ratings.push({Clock::now() + delay, r.event_id()});
      }
    }
    while (!ratings.empty() && ratings.top().first <= Clock::now() && !StopRequested()) {
      pb::Request f;
      f.mutable_feedback()->set_event_id(ratings.top().second);
      bool satisfied = uniform() < 0.85;
      f.mutable_feedback()->set_satisfied(satisfied);
      f.mutable_feedback()->set_score(satisfied ? 5 : 2);
      ratings.pop();
      (void)client.Call(f);  // refused when the event moved on: a citizen too late to matter
    }
    if (Clock::now() >= next_line) {
      std::string line = fmt::format(
          "  {:>4.0f} s  city time {}  reports {}  claimed {}  resolved {}  closed {}  escalated {}  overdue {}",
          std::chrono::duration<double>(Clock::now() - start).count(),
          tally.last_ms ? LocalTime(tally.last_ms, offset) : std::string("-"), tally.submitted + tally.linked,
          tally.claimed, tally.resolved, tally.closed,
          tally.escalated_to[pb::LEVEL_STREET] + tally.escalated_to[pb::LEVEL_COUNTY] + tally.escalated_to[pb::LEVEL_CITY],
          tally.overdue);
      std::cout << (tty ? "\r" + line : line + "\n") << std::flush;
      next_line += tty ? std::chrono::seconds(1) : std::chrono::seconds(10);
    }
  }
  if (tty) std::cout << "\n";

  // Reporters end by themselves (unless the run was cut short); each says what became of what
  // it sent, and exits 3 when a submit went unanswered.
  uint64_t sent = 0, acknowledged = 0, refused = 0, unanswered = 0;
  int reporters_failed = 0;
  for (size_t i = 0; i < reporter_pids.size(); ++i) {
    int status = StopRequested() ? children.Stop(reporter_pids[i]) : children.Wait(reporter_pids[i]);
    reporters_failed += status != 0;
    std::string out = ReadWholeFile(fmt::format("{}/reporter-{}.log", logs, i));
    auto at = out.rfind(": sent ");
    unsigned long long s = 0, a = 0, r = 0, u = 0;
    if (at != std::string::npos &&
        std::sscanf(out.c_str() + at, ": sent %llu acknowledged %llu refused %llu unanswered %llu", &s, &a,
                    &r, &u) == 4) {
      sent += s, acknowledged += a, refused += r, unanswered += u;
    }
  }
  for (pid_t pid : agents) children.Stop(pid);

  // The report.
  std::vector<double> latencies;
  for (int i = 0; i < *reporters; ++i) {
    std::istringstream in(ReadWholeFile(fmt::format("{}/latencies-{}", logs, i)));
    for (double ms; in >> ms;) latencies.push_back(ms);
  }
  std::sort(latencies.begin(), latencies.end());
  std::cout << fmt::format("\nwhistle-city report: city time {} to {}\n", LocalTime(tally.first_ms, offset),
                           LocalTime(tally.last_ms, offset));
  std::cout << fmt::format("  reports {} -> new events {}, repeats linked to open events {}\n",
                           tally.submitted + tally.linked, tally.submitted, tally.linked);
  std::cout << fmt::format("  claimed {}, resolved {}, rated {}, closed {}\n", tally.claimed, tally.resolved,
                           tally.feedback, tally.closed);
  std::cout << fmt::format("  escalations: to street {}, to county {}, to city {}; overdue at city level {}\n",
                           tally.escalated_to[pb::LEVEL_STREET], tally.escalated_to[pb::LEVEL_COUNTY],
                           tally.escalated_to[pb::LEVEL_CITY], tally.overdue);
  std::string month = MonthOf(tally.last_ms ? tally.last_ms : 0, offset);
  std::cout << RatesHeader(month);
  for (pb::Level level : kLadder) {
    pb::Request q;
    q.mutable_stats()->set_level(level);
    q.mutable_stats()->set_month(month);
    auto r = client.Call(q);
    if (!r.ok() || r->code() != pb::STATUS_OK) continue;
    std::cout << RatesRow(level, r->stats().rates());
  }
  if (g_stop) {
    std::cout << "  reporters stopped with the run: what their submits became, and how fast, is not known\n";
  } else {
    std::cout << fmt::format("  reporters sent {}: acknowledged {}, refused {}, unanswered {}{}\n", sent,
                             acknowledged, refused, unanswered,
                             reporters_failed ? fmt::format(" ({} reporters exited with an error: see {})",
                                                            reporters_failed, logs)
                                              : std::string());
    std::cout << fmt::format("  ack latency of {} acknowledged reports: p50 {:.2f} ms, p99 {:.2f} ms, "
                             "p99.9 {:.2f} ms, max {:.2f} ms\n",
                             latencies.size(), Percentile(latencies, 0.5), Percentile(latencies, 0.99),
                             Percentile(latencies, 0.999), Percentile(latencies, 1));
  }
  int gateway_status = children.Stop(gateway);
  int status = children.Stop(dispatcher);
  std::cout << fmt::format("  data in {} (run again to carry on); dispatcher exited {}, gateway {}{}\n", data,
                           status, gateway_status, g_stop ? "; cut short by a signal" : "");
  return status == 0 && gateway_status == 0 && reporters_failed == 0 && !g_stop ? 0 : 1;
}

int main(int argc, char** argv) {
  // Before any thread is made, so that every one inherits it (children get their own: Spawn).
  BlockStopSignals();
  // A start-up failure that throws (a fork refused) still unwinds Run, whose Children stop every
  // process started so far.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "whistle-city: " << e.what() << "\n";
    return 1;
  }
}
