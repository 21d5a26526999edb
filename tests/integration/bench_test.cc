// whistle-bench's load generator against a real dispatcher: it drives what it says it drives and
// counts what the dispatcher acknowledged. (Behaviour only: speed lives in docs/BENCHMARKS.md.)
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>

#include "agents/client.h"
#include "dispatcher/city.h"
#include "dispatcher/sample_city.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/test_city.h"
#include "tools/bench.h"

namespace whistle {
namespace {

TEST_SUITE_BEGIN("integration");

pb::CityConfig BenchCity() {
  pb::CityConfig c = testing::TestCityConfig();
  c.mutable_settings()->set_duplicate_window_seconds(0);  // every report its own event
  return c;
}

BenchOptions Short(const testing::DispatcherProcess& dispatcher, BenchMix mix) {
  BenchOptions o;
  o.front = dispatcher.front();
  o.city = *City::Build(BenchCity());
  o.mix = mix;
  o.clients = 2;
  o.window = 3;
  o.duration_s = 1;
  o.warmup_s = 0.2;
  o.month = "2026-11";
  return o;
}

uint64_t Count(const BenchResult& r, const std::string& key) {
  auto it = r.codes.find(key);
  return it == r.codes.end() ? 0 : it->second;
}

TEST_CASE("bench: the lifecycle mix takes events through all five steps, each acknowledged") {
  testing::DispatcherProcess dispatcher(BenchCity());
  const BenchOptions o = Short(dispatcher, BenchMix::kLifecycle);
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->unanswered == 0);
  CHECK(r->commands > 0);
  CHECK(r->flows > 0);
  for (const char* kind : {"submit", "claim", "progress", "resolve", "feedback"}) {
    CAPTURE(kind);
    CHECK(Count(*r, std::string(kind) + " STATUS_OK") > 0);
    CHECK(r->latency_us.count(kind) == 1);
  }
  for (const auto& answered : r->codes) {  // "kind STATUS_X" -> count
    const std::string& code = answered.first;
    CAPTURE(code);
    CHECK(code.ends_with("STATUS_OK"));
  }
  // Every flow that finished went all the way: as many feedbacks as claims, give or take the
  // flows still in flight at the end (each client has 3).
  CHECK(Count(*r, "claim STATUS_OK") - Count(*r, "feedback STATUS_OK") <= 6);
  // The dispatcher's own counters moved with the load, and group commit put at least one
  // request in each synced write.
  CHECK(r->after.commands() > r->before.commands());
  CHECK(r->after.synced_writes() > r->before.synced_writes());
  CHECK(r->CommandsPerSyncedWrite() >= 1.0);
  // The dispatcher's CPU time per request: the engine thread's is part of the process's (both
  // read on the engine thread, which MetricsQuery is answered on).
  const BenchResult::CpuPerRequest cpu = r->CpuMicrosPerRequest();
  CHECK(cpu.engine_us > 0);
  CHECK(cpu.process_us >= cpu.engine_us);
  CHECK(FormatBench(o, *r).find("dispatcher (measured): CPU per request ") != std::string::npos);
  CHECK(r->after.open_events() + Count(*r, "feedback STATUS_OK") >= Count(*r, "submit STATUS_OK"));
}

TEST_CASE("bench: with --hot every report repeats one of a few problems and is linked to its event") {
  pb::CityConfig config = testing::TestCityConfig();  // duplicate detection on (2 h)
  testing::DispatcherProcess dispatcher(config);
  BenchOptions o = Short(dispatcher, BenchMix::kSubmit);
  o.city = *City::Build(config);
  o.hot = 2;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->unanswered == 0);
  REQUIRE(Count(*r, "submit STATUS_OK") > 10);
  // Two events at most (one a problem, made in the warm-up or the run), every other report a repeat.
  CHECK(r->linked + 2 >= Count(*r, "submit STATUS_OK"));
  CHECK(r->after.open_events() <= 2);
}

TEST_CASE("bench: with no warm-up every latency is measured from a real send, never before it") {
  // A closed-loop flow's first command is stamped with the run's start: sent before it, an answer
  // could arrive "before" it was sent, and the negative latency read as 18,446,744,073,709 s.
  testing::DispatcherProcess dispatcher(BenchCity());
  BenchOptions o = Short(dispatcher, BenchMix::kSubmit);
  o.warmup_s = 0;
  o.clients = 4;
  o.window = 16;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  REQUIRE(r->all_latency_us.count() > 0);
  // Not a speed bound: no answer can take longer than the whole run (its second and the drain).
  CHECK(r->all_latency_us.max() < 12'000'000);
}

TEST_CASE("bench: the trace holds every measured answer, in the order sent, on the system clock") {
  testing::DispatcherProcess dispatcher(BenchCity());
  BenchOptions o = Short(dispatcher, BenchMix::kLifecycle);
  o.trace = true;
  const int64_t before_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  REQUIRE(r->all_latency_us.count() > 0);
  CHECK(r->trace.size() == r->all_latency_us.count());
  // The warm-up (0.2 s) ended after the run began, by the system clock.
  CHECK(r->measured_from_unix_us > before_us);
  CHECK(r->measured_from_unix_us < before_us + 10'000'000);
  std::map<std::string, uint64_t> per_kind;
  int64_t previous_us = 0;
  uint64_t max_us = 0;
  for (const TracedAnswer& a : r->trace) {
    CHECK(a.sent_us >= previous_us);  // in the order sent, none before the end of the warm-up
    previous_us = a.sent_us;
    max_us = std::max(max_us, static_cast<uint64_t>(a.latency_us));
    ++per_kind[a.kind];
  }
  CHECK(max_us == r->all_latency_us.max());
  for (const auto& by_kind : r->latency_us) {  // not a structured binding: CAPTURE, in clang 14
    const std::string& kind = by_kind.first;
    CAPTURE(kind);
    CHECK(per_kind[kind] == by_kind.second.count());
  }
  // Off, nothing is kept.
  o.trace = false;
  auto untraced = RunBench(o);
  REQUIRE_MESSAGE(untraced.ok(), untraced.status().ToString());
  CHECK(untraced->trace.empty());
}

TEST_CASE("bench: in a claim race exactly one claimant wins each event") {
  testing::DispatcherProcess dispatcher(BenchCity());
  BenchOptions o = Short(dispatcher, BenchMix::kClaimRace);
  o.race_agents = 3;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->races > 0);
  CHECK(r->races_not_one_winner == 0);
  CHECK(Count(*r, "claim STATUS_OK") == r->races);
  CHECK(Count(*r, "claim STATUS_ALREADY_CLAIMED") == 2 * r->races);
}

TEST_CASE("bench: the queries mix reads events it submitted first, an open loop keeps its schedule") {
  testing::DispatcherProcess dispatcher(BenchCity());
  BenchOptions o = Short(dispatcher, BenchMix::kQueries);
  o.query_events = 50;
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  for (const char* kind : {"get", "list", "stats"}) {
    CAPTURE(kind);
    CHECK(Count(*r, std::string(kind) + " STATUS_OK") > 0);
  }
  CHECK(r->codes.size() == 3);

  // One kind alone, to time it by itself.
  auto kinds = ParseQueryKinds("list");
  REQUIRE(kinds.ok());
  o.query_kinds = *kinds;
  o.trace = true;
  auto lists = RunBench(o);
  REQUIRE_MESSAGE(lists.ok(), lists.status().ToString());
  CHECK(lists->codes.size() == 1);
  CHECK(Count(*lists, "list STATUS_OK") > 0);
  // Each traced answer names its kind after the run's own options are gone (read under ASan).
  REQUIRE_FALSE(lists->trace.empty());
  for (const TracedAnswer& a : lists->trace) CHECK(std::string(a.kind) == "list");
  o.trace = false;
  CHECK(ParseQueryKinds("get,stats")->size() == 2);
  CHECK(ParseQueryKinds("get,votes").status().message() ==
        "query kind 'votes' is not get, list, stats or mine");

  // A reporter's list of its own reports: the bench's, the seeded ones among them.
  o.query_kinds = *ParseQueryKinds("mine");
  auto mine = RunBench(o);
  REQUIRE_MESSAGE(mine.ok(), mine.status().ToString());
  CHECK(mine->codes.size() == 1);
  CHECK(Count(*mine, "mine STATUS_OK") > 0);

  // 200 submits/s offered for 1 s: about 200 due in the measured second (the schedule, not the
  // dispatcher's speed, sets the count), every one sent answered. A bench woken late at the end
  // (a loaded machine) counts the flows it could not send then as not sent, not as answered.
  BenchOptions open = Short(dispatcher, BenchMix::kSubmit);
  open.rate = 200;
  auto q = RunBench(open);
  REQUIRE_MESSAGE(q.ok(), q.status().ToString());
  CHECK(q->unanswered == 0);
  CHECK(q->latency_us.at("submit").count() > 0);
  CHECK(q->latency_us.at("submit").count() + q->not_sent >= 190);
  CHECK(q->latency_us.at("submit").count() + q->not_sent <= 210);
}

TEST_CASE("bench: with --get-ids the Gets read events picked from the store's ids, not the seeded ones") {
  testing::DispatcherProcess dispatcher(BenchCity());
  BenchOptions o = Short(dispatcher, BenchMix::kQueries);
  o.query_events = 20;  // ids 1..20 here; the run below seeds 20 more
  o.query_kinds = *ParseQueryKinds("get");
  REQUIRE(RunBench(o).ok());

  o.get_ids = 20;
  auto old = RunBench(o);
  REQUIRE_MESSAGE(old.ok(), old.status().ToString());
  CHECK(Count(*old, "get STATUS_OK") > 0);
  CHECK(old->codes.size() == 1);

  o.get_ids = 1'000'000'000;  // far past the last id: none of these exist
  auto missing = RunBench(o);
  REQUIRE_MESSAGE(missing.ok(), missing.status().ToString());
  CHECK(Count(*missing, "get STATUS_NOT_FOUND") > 0);
  CHECK(Count(*missing, "get STATUS_OK") < Count(*missing, "get STATUS_NOT_FOUND") / 100 + 1);
}

TEST_CASE("bench: runs of the queries mix with one seed read new events each, not the last run's") {
  // Within the duplicate window the same reports again would be linked to the events of the run
  // before, and each run's Gets would read longer histories than the last's.
  pb::CityConfig city = SampleCity();  // 2,100 grids: 50 random reports rarely repeat each other
  REQUIRE(city.settings().duplicate_window_seconds() > 0);
  testing::DispatcherProcess dispatcher(city);
  BenchOptions o = Short(dispatcher, BenchMix::kQueries);
  o.city = *City::Build(city);
  o.query_events = 50;
  o.duration_s = 0.2;
  o.run_id = "first";
  auto first = RunBench(o);
  REQUIRE_MESSAGE(first.ok(), first.status().ToString());
  o.run_id = "second";
  auto second = RunBench(o);
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  CHECK(first->after.open_events() >= 48);
  CHECK(second->after.open_events() >= first->after.open_events() + 48);
}

TEST_CASE("bench: overload is answered BUSY, only for submits, every acknowledged submit survives kill -9") {
  // One request per batch (one synced write each): the offered 20,000 commands/s are far past
  // what any disk gives, so the dispatcher must shed.
  testing::DispatcherProcess dispatcher(BenchCity(), {"--max-batch=1", "--busy-window=4096"});
  BenchOptions o = Short(dispatcher, BenchMix::kLifecycle);
  o.clients = 4;
  o.rate = 20000;
  o.duration_s = 1.5;
  o.busy_pause_ms = -1;  // a BUSY ends its flow: every request must have had its one answer
  o.resend_after_ms = -1;  // and not thanks to asking again
  auto r = RunBench(o);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->unanswered == 0);  // every request answered, OK or BUSY
  CHECK(Count(*r, "submit STATUS_BUSY") > 0);
  uint64_t submits_ok = Count(*r, "submit STATUS_OK");
  CHECK(submits_ok == r->acked_submits.size());
  for (const auto& answered : r->codes) {
    const std::string& code = answered.first;
    CAPTURE(code);
    // Claims, progress, resolves and feedback are never shed, and nothing fails otherwise.
    CHECK((code.ends_with("STATUS_OK") || code == "submit STATUS_BUSY"));
  }

  dispatcher.Kill();
  dispatcher.Start();
  zmq::context_t context;
  Client client(context, dispatcher.front());
  size_t missing = 0;
  for (const std::string& id : r->acked_submits) {
    pb::Request get;
    get.mutable_get()->set_submit_request_id(id);
    auto answer = client.Call(get);
    REQUIRE(answer.ok());
    missing += answer->code() != pb::STATUS_OK;
  }
  CHECK(submits_ok > 0);
  CHECK(missing == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace whistle
