// The load generator behind whistle-bench: drives a running dispatcher over ZeroMQ and measures
// what its clients see. Every acknowledgement it counts came after the dispatcher's synced write;
// nothing here turns durability off.
//
// Each client is a thread with its own DEALER sockets (connections). A client keeps
// `window` flows in flight; a flow is one unit of the mix:
//
//   submit      one Submit
//   lifecycle   Submit -> Claim -> Progress -> Resolve -> Feedback, each step sent when the
//               previous one is acknowledged (5 commands); the reporter's steps (Submit,
//               Feedback) on one socket, the department agent's on a second
//   claim-race  Submit, then `race_agents` Claims of the new event sent at once from as many
//               sockets, as different agents: exactly one must win, the rest get ALREADY_CLAIMED
//   queries     one of Get (with history), List (a department's first page), Stats (a
//               department's month), in turn, over events the bench submitted first
//               (`query_kinds` narrows the turn to some of them, to time one kind alone, or
//               names "mine": the first page of the bench's own reports, newest first)
//
// A client's socket carries the requests of many flows, where each real client (agents/client.h)
// has one in flight. Its kernel send buffer is bounded (128 KiB) so that, like those clients,
// it cannot park megabytes of requests on the way to an overloaded dispatcher: with the
// default (autotuned to 4 MiB) 22 MB waited there at 10x load, seconds from being read, and the
// requests behind were sent again after their timeout, a retry storm no real client makes.
//
// Closed loop (rate == 0): a client starts its next flow as soon as one finishes. Open loop
// (rate > 0): flows start on a fixed schedule of `rate` commands per second over all clients,
// and a flow's first command's latency is measured from its INTENDED start, so a dispatcher that
// falls behind cannot hide the queue (no coordinated omission). Later steps of a flow are sent
// when the previous answer arrives and measured from then.
//
// Latencies are recorded only for commands sent after the warm-up; throughput counts the
// commands answered between the end of the warm-up and the end of the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher/city.h"
#include "whistle/curve_keys.h"
#include "whistle/histogram.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

enum class BenchMix { kSubmit, kLifecycle, kClaimRace, kQueries };
// "submit", "lifecycle", "claim-race", "queries".
Result<BenchMix> ParseBenchMix(std::string_view name);
std::string_view BenchMixName(BenchMix mix);

struct BenchOptions {
  std::string front;            // the dispatcher's front door
  ClientCredentials credentials;  // none for a --dev-no-auth dispatcher
  BenchMix mix = BenchMix::kSubmit;
  int clients = 8;
  int window = 1;               // flows in flight per client (closed loop)
  double rate = 0;              // commands per second offered in total; 0 = closed loop
  double duration_s = 10;
  double warmup_s = 1;
  uint64_t seed = 1;
  // Every request id starts "bench-<run_id>-"; "" = one made from the clock, so that runs against
  // the same dispatcher never reuse a request id (which would answer IDEMPOTENCY_MISMATCH).
  std::string run_id;
  int race_agents = 4;          // claim-race: claimants per event
  // A command answered BUSY is sent again with the same request id after a pause, as the client
  // library does: this one first, doubling with each BUSY in a row, jittered (BusyBackoff in
  // agents/client.h), until the load ends; < 0: never, the BUSY ends its flow.
  int busy_pause_ms = 100;
  // A request not answered this long after it last went out is sent again, the same request (the
  // same correlation id, and for commands the same request id), as the client library does after
  // its timeout: the dispatcher drops its answers to a client that has 1,000 unread
  // (dispatcher/server.h), and a client that never asked again would stall that flow. Again every
  // period until answered or the drain ends; up to 100 ms late (the client's loop does not wake
  // for it). Latency is still measured from the first send. < 0: never; 0 is refused.
  int resend_after_ms = 2000;
  // How long the bench waits, after the load has ended, for the answers still due (asking again
  // as above) before it counts the rest unanswered.
  double drain_s = 10;
  int query_events = 2000;      // queries: events submitted before the timed run
  // queries: > 0, Gets read events picked uniformly from ids 1..get_ids (a store already full:
  // old events, in its deepest files) instead of the ones just submitted, which are all recent.
  uint64_t get_ids = 0;
  // The dispatcher's city: each report goes to a random category at a random point of a random
  // grid, so reports are not duplicates of each other (duplicate detection would link them to
  // one event). Required.
  std::shared_ptr<const City> city;
  // > 0: every report is one of this many problems instead (the first category, in one of the
  // city's first `hot` grids, without a position): the first report of each makes an event and
  // the rest are linked to it as repeats, as a hotline's calls in an outage are.
  int hot = 0;
  std::string month;            // queries: the month Stats asks for ("" = the current one)
  // queries: the kinds taken in turn, of "get", "list", "stats", "mine"; empty = the first three.
  std::vector<std::string> query_kinds;
  // Keeps every measured answer (BenchResult::trace), to see when in the run the slow ones fell.
  bool trace = false;
};

// One measured answer: when its command was sent (for an open-loop flow's first command, when it
// was due), from the end of the warm-up, and how long its answer took.
struct TracedAnswer {
  int64_t sent_us = 0;
  int64_t latency_us = 0;
  const char* kind = "";  // "submit", "claim", ...
};

// "get,list" -> {"get", "list"}; BAD_REQUEST naming an unknown kind.
Result<std::vector<std::string>> ParseQueryKinds(std::string_view list);

struct BenchResult {
  double seconds = 0;           // the measured interval (after the warm-up)
  uint64_t commands = 0;        // commands answered in it, any status
  uint64_t flows = 0;           // flows finished in it
  std::map<std::string, HistogramSnapshot> latency_us;  // by command kind ("submit", "claim", ...)
  HistogramSnapshot all_latency_us;
  std::map<std::string, uint64_t> codes;               // "claim STATUS_ALREADY_CLAIMED" -> count
  // The load ends after the measured interval: from then on no flow starts and nothing answered
  // BUSY is sent again; the bench only waits (up to drain_s) for the answers still due, asking again
  // after resend_after_ms as before. Steps of flows under way go on (they are never shed).
  std::chrono::steady_clock::time_point load_ended;
  uint64_t unanswered = 0;      // sent and not answered within drain_s of the end
  uint64_t not_sent = 0;        // open loop: flows due before the end not sent by then (the bench fell behind)
  uint64_t resent = 0;          // sent again after resend_after_ms without an answer
  uint64_t late_answers = 0;    // answers to a copy of a request answered already (resent ones)
  uint64_t busy_pending = 0;    // answered BUSY last: waiting out the pause when the load ended
  uint64_t races = 0;           // claim-race: events raced for
  uint64_t races_not_one_winner = 0;  // must be 0
  uint64_t linked = 0;          // submits linked to an open event as duplicates (no race, no flow)
  // The request ids of every Submit answered OK (warm-up included): a caller can check that
  // each acknowledged report is stored, after a crash too.
  std::vector<std::string> acked_submits;
  std::vector<TracedAnswer> trace;  // with BenchOptions::trace: by sent_us
  int64_t measured_from_unix_us = 0;  // the end of the warm-up, by the system clock (trace's zero)
  pb::MetricsResult before, after;  // the dispatcher's metrics around the measured interval
  double throughput() const { return seconds > 0 ? static_cast<double>(commands) / seconds : 0; }
  // Group commit achieved: requests the engine took per synced write, over the measured interval.
  double CommandsPerSyncedWrite() const;
  // The dispatcher's CPU time per request that reached its engine in the measured interval, in
  // microseconds: the whole process, its engine thread, its writer thread (MetricsResult); not the
  // bench's own. Where a request's time goes, and against what budget (docs/BENCHMARKS.md, "What
  // the goals would take"). 0 with no request, or from a dispatcher that reports no CPU time.
  struct CpuPerRequest {
    double process_us = 0, engine_us = 0, writer_us = 0;
  };
  CpuPerRequest CpuMicrosPerRequest() const;
};

// Runs the benchmark. Fails when the dispatcher cannot be reached or refuses the metrics query
// (the principal needs the supervisor or admin role, or a --dev-no-auth dispatcher).
Result<BenchResult> RunBench(const BenchOptions& options);

// A human-readable report, and one JSON object (for docs/BENCHMARKS.md and scripts).
std::string FormatBench(const BenchOptions& options, const BenchResult& result);
std::string BenchJson(const BenchOptions& options, const BenchResult& result);

}  // namespace whistle
