// The clients of whistle-crashcheck: reporters, agents and a subscriber, as threads of the
// checking process (only the dispatcher is killed), each logging what it sent and what it was
// told into a Recorder (crashcheck.h History).
//
//   reporters  Submit reports (fresh request id each, one in ten urgent) at a steady pace, some of
//              them (15%) one more report of an outage in the first grid, which is linked as a
//              repeat to its event while that is unresolved and within the duplicate window (the
//              others are at random points: not repeats); now and
//              then, instead, look one of their latest events up, or list the city's resolved or
//              closed ones: resolved, they rate it (satisfied closes it, not satisfied reopens it
//              at its level) or now and then reopen it, and closed, they sometimes reopen it
//   agents     poll their department's offered events (List), claim one (racing: several agents
//              per level, two names for one department, a registered unit against its
//              committee), report progress, then resolve, or sometimes release; now and then
//              they quote an old claim number, or claim an event someone holds, on purpose:
//              both must be refused (the claim, while the event is still held). Now and then
//              they join an event another department holds as an assisting department (协办;
//              now and then one their own department holds, which must be refused), return an
//              offer instead of claiming it, give a claim back (退单: the event is offered to the
//              rest of its level, or climbs once all have returned it), or whistle their claim
//              up a level, naming the level they saw it at
//   supervisor now and then lists the open events of a level below the city's and whistles one
//              (吹哨), usually naming the level it saw, after a pause in which the event may
//              have climbed already: such a whistle must be refused; or, now and then, cancels
//              it, marks it for supervision (督办), or merges it into another open event of its
//              grid and category. One turn in four it lists the city level instead, where it
//              does not whistle: it cancels, marks or merges, and merges the event with the most
//              repeats linked to it, which the merge carries along
//   commander  now and then switches a region (a community half the time, else the street, the
//              county or the city) to the other mode than the one in force there: each switch
//              re-plans the unresolved events whose mode it changes, in the batches after its own,
//              which a kill may cut short. A mode cannot be unset, so once both communities have
//              one of their own, a switch above them changes no grid and lists nothing.
//   subscriber follows the bus (Subscriber: bus + LogQuery catch-up) and keeps every record
// A request without an answer (timeout, or UNAVAILABLE) is sent again with the SAME request id,
// also after the dispatcher restarts, until answered; one still unanswered when the workload
// stops is recorded as unknown. The dispatcher must keep the endpoints across restarts.
//
// Threading: Start, Stop and Snapshot from one controlling thread; the workers are internal.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "agents/client.h"
#include "tools/crashcheck.h"
#include "whistle/config.pb.h"

namespace whistle::crashcheck {

// The small city the checker runs: one street of two communities above a county and the city,
// short SLAs (seconds of simulated time) so that, at kTimeScale, deadlines pass within a cycle;
// shorter still in emergency mode, so that a switch moves them.
// Duplicate detection is off, so every Submit makes an event.
pb::CityConfig CrashCheckCity();
inline constexpr double kTimeScale = 200;  // the dispatcher's --time-scale
// Where the dispatcher's scaled time starts (--test-clock-start-ms): 2027-01-31 23:00 in Beijing,
// an hour (18 s at kTimeScale) before February, so that a run of more than that counts into two
// months and archives the first (EngineState, "Counters of past months"), which the final check reads from
// disk. Folds come every kCounterFoldBytes of counters' journal (--test-counter-fold-bytes), not
// 4 MiB, which a run of a few minutes on this small city may never reach.
inline constexpr int64_t kClockStartMs = 1801407600000;
inline constexpr int64_t kCounterFoldBytes = 64 << 10;
// A mode switch's re-plans, one a batch (--test-max-replans-per-batch), not all in the batch after
// it: the few dozen a switch lists here then take as many writes, and a kill may fall among them.
inline constexpr int kMaxReplansPerBatch = 1;
// A day: at kTimeScale, 432 s, so the long form runs with the store dropping expired idempotency
// entries across its crashes, while no request is retried anywhere near that long after it was
// first sent (Workload::Send retries for seconds): what a retry gets is never the expiry's doing.
inline constexpr int kRetentionHours = 24;

// Thread-safe log of operations and published records, with the tick counter of answers.
class Recorder {
 public:
  // Adds an unanswered operation; returns its index.
  size_t Begin(Op op);
  // The answer of operation `index`: outcome, code and what it taught (event id, claim number,
  // whether a Submit was linked to an open event as a repeat).
  void Answer(size_t index, Outcome outcome, pb::StatusCode code, uint64_t event_id,
              uint64_t claim_number, bool linked = false);
  void Published(pb::Record record);
  void Problem(std::string what);  // a client saw something impossible (e.g. a gap in the log)

  // The current tick: operations answered so far have ack_tick <= it.
  uint64_t tick() const { return tick_.load(); }
  // SetModes answered OK that listed events to re-plan, so far: the harness kills right after one,
  // among its re-plans.
  uint64_t replanning_switches() const { return replanning_switches_.load(); }
  void ReplanningSwitch() { ++replanning_switches_; }
  // A copy of the operations so far, with ack_cutoff = the tick when the copy began (and no
  // published records: PublishedAfter). To check a log read while clients run: take the tick and
  // the published records before reading the log, and the operations after (every Submit in the
  // log was sent).
  History Snapshot() const;
  // A copy of the published records with a seq above `after_seq`. They arrive in seq order, so a
  // cycle need copy and check only those published since the records it checked last: at 2.8 M
  // records, copying them all took seconds a cycle.
  std::map<uint64_t, pb::Record> PublishedAfter(uint64_t after_seq) const;
  std::vector<std::string> problems() const;
  size_t op_count() const;

 private:
  mutable std::mutex mu_;
  std::atomic<uint64_t> tick_{0};
  std::atomic<uint64_t> replanning_switches_{0};
  std::vector<Op> ops_;
  std::map<uint64_t, pb::Record> published_;
  std::vector<std::string> problems_;
};

struct WorkloadOptions {
  std::string front, bus;
  uint64_t seed = 1;
  int reporters = 4;
  int report_pause_ms = 25;  // between one reporter's Submits
  int mode_pause_ms = 1200;  // between the commander's SetModes, on average (0: none)
  int whistle_pause_ms = 450;  // between the supervisor's whistles, on average (0: none)
};

class Workload {
 public:
  Workload(zmq::context_t& context, Recorder& recorder, WorkloadOptions options);
  ~Workload();  // Stop()
  void Start();
  // Asks every worker to finish its current request (retrying it until answered, for a while)
  // and joins them.
  void Stop();

 private:
  void Reporter(int index);
  // A reporter's look at one of its events (GetQuery), or at the city's resolved or closed ones
  // (ListQuery), and its feedback or reopen if the event calls for one.
  void FollowUp(Client& client, std::mt19937_64& rng, const std::string& name,
                const std::vector<uint64_t>& mine);
  void Agent(std::string name, std::string department, uint64_t seed);
  void Commander(uint64_t seed);
  void Supervisor(uint64_t seed);
  void Follow();
  // Sends `request` until answered (same request id every time) or stopping for long.
  // nullopt: never answered (unknown).
  std::optional<pb::Response> Send(Client& client, const pb::Request& request);
  // Send for a List, reading on past pages with no event on them (a page stops at a budget of
  // work, dispatcher/processors/queries.cc), 10 pages at most.
  std::optional<pb::Response> List(Client& client, pb::Request request);
  // `op` recorded, `request` sent as Send does, and its answer recorded (teaching nothing more:
  // no event id or claim number). Returns the answer.
  std::optional<pb::Response> SendRecorded(Client& client, Op op, const pb::Request& request);
  void Sleep(int ms);

  zmq::context_t& context_;
  Recorder& recorder_;
  WorkloadOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace whistle::crashcheck
