// Engine: applies batches of commands to the state and makes each batch durable before answering.
//
//   Process(commands):
//     1. timers due now (escalations, auto-close), each re-checked against the state
//     2. each command in order: decide (processors) -> apply (appliers) -> reply built
//     3. ONE synced WriteBatch for everything above (group commit)
//     4. replies returned; committed_records() holds what to publish
// A rejected command changes nothing. If the write fails, every reply of the batch becomes
// UNAVAILABLE and the engine refuses everything until it is reopened (the store is poisoned, and
// memory is ahead of the disk).
//
// Idempotency: a command with a request_id is answered once; a retry by the same principal with
// the same id and the same payload gets the first answer again (even after a restart), with a
// different payload IDEMPOTENCY_MISMATCH, for as long as the first answer is kept. Submit must
// carry one. Queries ignore request ids. A Submit's answer is kept for good (it maps the request
// id to the event: Get by submit_request_id); any other command's for
// EngineOptions::idempotency_retention_ms, after which a retry is a new request and the entry is
// dropped from the store (storage/idempotency.h; entries written before entries expired carry no
// expiry and are kept until whistle-compact gives those that are not a Submit's one).
// UNAVAILABLE means "outcome unknown": the batch may have reached the disk before its sync failed,
// so a client retries with the same request id once the dispatcher is back.
//
// Pipelined (the server's form): Decide does steps 1 and 2 for some commands and stages their
// changes; Seal ends the staged batch (any number of Decide rounds) and hands over its write; the
// caller makes that write, possibly on another thread while it decides the next rounds, and then
// calls Complete. Replies of a round are sent only after the write of the batch it was sealed into.
// Later rounds are decided on the state earlier ones left, before those are on disk, so their
// replies wait for their own write, which comes after.
//
// Re-planning: a SetMode records the mode change and lists the unresolved events whose deadlines
// it changes (SetModeProcessor); each round after it first re-plans up to max_replans_per_batch of
// them, the soonest new deadline first, each re-checked (EngineState::NeedsReplan: a command in
// between may have re-planned it already), then fires due timers. So a deadline that a switch to
// emergency puts in the past comes up in the first batches after the switch and fires there, not
// when its turn in the list would have come. The order holds across lists: a second switch's
// events whose new deadlines come sooner are re-planned before the rest of the first's, rather
// than after all of it (seconds, for a whole city). A due timer of an event still waiting to be
// re-planned, and a request that names one, re-plan it first, so that no deadline of a mode no
// longer in force fires or decides a command. Re-planning a whole city at once, in the SetMode's
// own batch, took 12 s and 1.2 GB more memory at 450,000 open events (docs/BENCHMARKS.md, "A
// city-wide mode switch"). The list is kept in memory only: a stop cuts it short, and the next
// start finds what is left from the events themselves (NeedsReplan, when they are loaded) and
// re-plans it, in the same order, as the dispatcher (actor "replan", ROLE_SYSTEM).
//
// Threading: one thread owns the engine (the "engine thread"); nothing here takes a lock.
// The write of a SealedBatch may be made on any thread.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "dispatcher/city.h"
#include "dispatcher/clock.h"
#include "dispatcher/engine_state.h"
#include "dispatcher/processors/processor.h"
#include "dispatcher/registry.h"
#include "storage/store.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

// TEST ONLY: bugs planted on purpose so that whistle-crashcheck (tools/crashcheck.h) can show
// that it catches them (whistle-dispatcher --test-plant-bug). Never set outside that test.
enum class PlantedBug {
  kNone,
  // The claim processor does not check whether someone already holds the claim (claim.cc).
  kClaimWithoutStateCheck,
  // A fired timer's removal is written (synced) on its own before the batch that holds its
  // escalation, so a crash between the two writes leaves an event waiting on a timer that is
  // gone (FireTimers).
  kTimerSeparateWrite,
  // A restart forgets the re-plans of a SetMode that a stop cut short (Engine::Open), so those
  // events keep deadlines of a mode no longer in force.
  kReplanNotResumed,
  // A restart forgets the duplicate index it loaded (Engine::Open), so a repeat report of an event
  // open before the restart makes a new event instead of being linked to it.
  kDuplicatesForgotten,
};

// The retention's bounds as the operator gives it (--idempotency-retention-hours): a week by
// default; at most ten years, which added to engine times is far from overflowing.
inline constexpr int64_t kDefaultRetentionHours = 7 * 24;
inline constexpr int64_t kMaxRetentionHours = 24 * 366 * 10;

struct EngineOptions {
  // How long, in engine time, a command other than Submit is answered again rather than applied
  // again when retried with its request id (a client retries after an UNAVAILABLE or BUSY answer,
  // a lost reply, or an app back online). REQUIRES: > 0.
  int64_t idempotency_retention_ms = kDefaultRetentionHours * 3600 * 1000;
  // Statistics counters: journal bytes between folds (EngineState, "Counters in meta").
  uint64_t counter_fold_bytes = EngineState::kDefaultCounterFoldBytes;
  // Timers handled per batch at most; the rest wait for the next batch (HasDueTimers says so).
  size_t max_timers_per_batch = 10000;
  // Events looked at for re-planning per batch (between two Seals) at most after a SetMode
  // ("Re-planning"; HasPendingReplans).
  size_t max_replans_per_batch = 2000;
  // Told, as it starts, of work done once on an older store that takes a while (EngineState::Load).
  std::function<void(std::string_view)> start_note = nullptr;
  // TEST ONLY: see PlantedBug. (The third planted bug, ack-before-sync, is the store's:
  // StoreOptions::test_ack_before_sync.)
  PlantedBug test_plant_bug = PlantedBug::kNone;
};

// A batch decided in memory whose write is not made yet (Engine::Seal). Move-only.
struct SealedBatch {
  // The writes to make durable (Store::Write), or nullptr when the batch changed nothing.
  std::unique_ptr<storage::WriteBatch> write;
  // The records the batch logged, in sequence order: to publish once the write is done. Shared with
  // the engine's state (histories read them until the write is done); never null.
  std::shared_ptr<const std::vector<pb::Record>> records;
  std::vector<int64_t> timer_lags_ms;  // as timer_lags_last_batch_ms()
  size_t replans = 0;                  // events looked at for re-planning ("Re-planning")
  uint64_t last_seq = 0;               // of the newest record when it was sealed
};

class Engine {
 public:
  // Loads the state from `store` (which must outlive the engine) and rebuilds pending timers.
  static Result<std::unique_ptr<Engine>> Open(storage::Store& store,
                                              std::shared_ptr<const City> city, const Clock& clock,
                                              EngineOptions options = {});

  // One batch, as described above. Returns one response per command, in order.
  std::vector<pb::Response> Process(std::span<const Command> commands);
  // Process in parts (see "Pipelined" above). Decide returns one reply per command, not to be
  // sent before the Complete of the batch it is sealed into. It may be called while earlier
  // batches are sealed and not completed, but not for an authorized command of which
  // WaitsForWrites is true (a refused one is never answered from the store).
  std::vector<pb::Response> Decide(std::span<const Command> commands);
  SealedBatch Seal();
  // Takes sealed batches in the order they were sealed, with the status of their write. Returns
  // OK when the batch is durable and its replies may be sent; otherwise the error that must
  // replace each of them (the engine then refuses everything, see above).
  Status Complete(SealedBatch& batch, const Status& written);
  // Batches sealed and not completed.
  size_t batches_in_flight() const { return state_.sealed_count(); }
  // True for a query that reads the store through cursors, which show a batch only once it is
  // written (List, Digest, Checkpoint): decide it only when no batch is sealed and not completed.
  bool WaitsForWrites(const Command& command) const;
  // True for a command (it changes state: Submit, Claim, ...), false for a query or nothing.
  bool IsCommand(const pb::Request& request) const;

  // Process of a single command (tests, tools).
  pb::Response Execute(const Command& command);
  // Process with no commands: re-plans what waits ("Re-planning") and fires due timers. Returns
  // how many timers fired.
  size_t FireDueTimers();

  // The engine's time: the clock's, but never before the newest record, so that the log stays in
  // time order even if the system clock steps back (LogQuery's from_ms and the gateway's date
  // filters rely on it). Rounds are decided, and timers judged due, at this time.
  int64_t NowMs() const { return std::max(clock_.NowMs(), state_.last_record_ms()); }
  // True when a timer is due at NowMs().
  bool HasDueTimers() const;
  // True when the next round would re-plan events after a SetMode ("Re-planning"), whether or not
  // it has commands: some wait, and the batch being staged (since the last Seal) has room for them.
  bool HasPendingReplans() const {
    return health_.ok() && !replan_jobs_.empty() && replans_staged_ < options_.max_replans_per_batch;
  }
  // How many events wait to be re-planned (some may turn out not to need it any more).
  size_t pending_replans() const;
  // Due time of the earliest pending timer, if any.
  std::optional<int64_t> NextTimerDue() const { return state_.NextTimerDue(); }

  // What the last Process or Complete committed, in sequence order.
  const std::vector<pb::Record>& committed_records() const { return *committed_records_; }
  const EngineState& state() const { return state_; }
  // The store the engine's batches are written to (by Process, or by the caller of Decide).
  storage::Store& store() const { return store_; }
  const City& city() const { return *city_; }
  // Timers the last Process fired, and how late each one fired (batch time - due time, ms). Every
  // Process resets them, a query's included.
  size_t timers_fired_last_batch() const { return timer_lags_last_batch_ms_.size(); }
  const std::vector<int64_t>& timer_lags_last_batch_ms() const { return timer_lags_last_batch_ms_; }
  // OK, or the write failure that stopped the engine.
  Status health() const { return health_; }

 private:
  Engine(storage::Store& store, std::shared_ptr<const City> city, const Clock& clock,
         EngineOptions options);
  pb::Response Handle(const Command& command, int64_t now_ms);
  pb::Response HandleCommand(const CommandProcessor& processor, const Command& command,
                             int64_t now_ms);
  // Applies a decision's records and finishes the command. Returns the reply.
  pb::Response Apply(Decision decision);
  // Returns how late each fired timer was (ms).
  std::vector<int64_t> FireTimers(int64_t now_ms);
  // "Re-planning": the jobs' next events, the soonest new deadline first across all of them, up
  // to max_replans_per_batch this batch.
  void ReplanSome(int64_t now_ms);
  // Re-plans event `id` now, by the job that lists it, if one still does and it needs it: before
  // a timer of its fires or a request that names it is decided, so that neither meets a deadline
  // of the mode no longer in force (a claim counted in time by the old deadline, say).
  void ReplanIfListed(uint64_t id, int64_t now_ms);
  // Records the re-plan of event `id` by `actor`, if it is open and still needs one.
  void ReplanEvent(uint64_t id, const pb::Actor& actor, int64_t now_ms);

  // A SetMode's events to re-plan (or those a start found), and who set the mode.
  struct ReplanJob {
    ReplanJob(std::vector<ReplanTarget> targets, pb::Actor by);
    std::vector<uint64_t> ids;    // by id: ReplanIfListed looks an event up
    std::vector<uint32_t> order;  // indexes into ids, soonest new deadline first: ReplanSome's
    std::vector<int64_t> due;     // by position in order: the new deadline
    std::vector<bool> done;       // by index into ids: re-planned, or found needing nothing
    size_t next = 0;              // order before it is done
    size_t left = 0;              // not done
    pb::Actor actor;
    // Moves `next` past what is done (ReplanIfListed re-plans ahead of the order); true while
    // something is left to walk to.
    bool SkipDone();
  };

  // Marks entry `i` of `job` done, drops the job once nothing is left in it, and re-plans the
  // event (ReplanEvent) for the job's actor.
  void Take(std::deque<ReplanJob>::iterator job, size_t i, int64_t now_ms);

  std::shared_ptr<const City> city_;
  storage::Store& store_;  // only for the planted timer-separate-write bug; state_ owns the writes
  const Clock& clock_;
  EngineOptions options_;
  EngineState state_;
  Registry registry_;
  Status health_;
  std::vector<int64_t> timer_lags_last_batch_ms_;
  std::vector<int64_t> staged_timer_lags_ms_;  // of the rounds decided since the last Seal
  std::shared_ptr<const std::vector<pb::Record>> committed_records_;  // never null
  std::deque<ReplanJob> replan_jobs_;  // oldest first; one leaves once walked to its end
  size_t replans_staged_ = 0;          // events ReplanSome looked at since the last Seal
};

// The reply for a failed status, with the request's correlation id.
pb::Response ErrorResponse(const Status& status, uint64_t correlation_id = 0);

}  // namespace whistle
