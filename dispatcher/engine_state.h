// EngineState: everything the engine knows, and the one place it changes.
//
// Reads (the const methods) are the view processors decide on. Mutations are for appliers and the
// engine only: they change memory and stage the same change in one storage::WriteBatch, which
// Commit() writes with sync. Nothing is acknowledged before that write returns OK.
//
// Pipelined commit (the server's): Seal() ends a batch and hands its write to the caller, who
// writes it (on another thread) while the next batch is decided on the state in memory, which
// already shows the sealed one. Until Release(), what the sealed batch changed is still read from
// memory, not from the store: the terminal events it wrote, its idempotency entries and its
// records (ForEachUnwrittenRecord). A cursor over the store may or may not show a sealed batch
// while its write is under way (RocksDB makes it visible once its log is synced, before Write
// returns): a query that reads changes of unwritten batches through cursors must be decided only
// when no batch is sealed and unreleased (IndexChangedUnwritten says when a List would).
//
// What lives where:
//   memory   open events (DISPATCHED, CLAIMED, IN_PROGRESS, RESOLVED) as their stored bytes,
//            parsed on demand (see OpenEvent), the timer heap, modes,
//            principals, statistics counters, the duplicate index (grid, category) -> unresolved events
//   disk     all of it, plus closed/cancelled/merged events, history, the log, indexes and
//            idempotency entries (storage/keys.h has the layout)
// Events at rest in a terminal state are read from disk on demand and kept until the batch is
// sealed (and, if it changed anything, until it is written: see Seal).
//
// Counters in meta: a batch writes the counters it changed as one value, a journal entry
// ("statj/" + its last sequence number), not one key each: a counted command touches about seven
// (its departments, every region of its grid's ancestry, its level), and a key a counter made
// meta 29% of the memtable entries of a simulated Beijing-size day (698,683 of 2.43 M). Once the
// journal holds counter_fold_bytes, the batch that passes it folds instead: it writes each month
// changed since the last fold whole ("statb/" + month), and deletes the journal (one range
// tombstone). Load reads the per-counter keys of stores written before the journal ("stat/" + key,
// which a fold of their month deletes), then the months, then the journal in order, the newest
// value winning. All of it rides in the batch's own write, so counters are exactly as durable as
// the records that changed them.
//
// Counters of past months: a month before the one counted into leaves memory (a Beijing-size
// city's month is about 13 MB of counters there, which would grow without end). Each fold
// archives the oldest such month: it writes each of the month's counters under a key of its own
// ("stata/" + month '|' scope), deletes the month's whole value and old-layout keys, and the
// month leaves memory once that write is done (Release). So a month stays in memory until the
// first fold after the month counted into has moved past it; a store written before archives,
// with every month in memory, sheds one a fold. Queries read an archived month from the store: a
// point read for a scope (Counters), a scan of the month's keys for a listing (ForEachCounters).
// Counting into an archived month again (only a clock or a city UTC offset that stepped back
// across a month's end does that) reads its keys back into memory first; they stay on disk under
// the month's newer values. Load notes the archived months (a seek each) and reads a month's
// archived keys only before newer values of it, which go on top.
//
// Threading: engine thread only (Load uses a helper thread of its own, joined before it returns).
// Not copyable.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dispatcher/city.h"
#include "dispatcher/open_tally.h"
#include "storage/keys.h"
#include "storage/store.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"

namespace whistle {

// A timer that has come due: the event's pending timer at load or when it was planned.
struct DueTimer {
  uint64_t event_id;
  int64_t due_ms;
  pb::TimerKind kind;
};

// The part of the secondary indexes an event in this state is in.
storage::IndexBucket IndexBucketOf(pb::EventState state);

// An event to re-plan after a mode switch, and when its pending deadline falls once re-planned
// (ReplannedDue, dispatch_planner.h): the engine re-plans the soonest first (Engine,
// "Re-planning").
struct ReplanTarget {
  int64_t due_ms = 0;
  uint64_t event_id = 0;
  auto operator<=>(const ReplanTarget&) const = default;
};

class EngineState {
 public:
  // A fold writes each changed month whole, about 41 bytes a counter: a simulated Beijing-size
  // city had 55,000 after a day, 2.3 MB. With 4 MiB of journal between folds, that day wrote 39 MB
  // of counters against 28 MB a key a counter, but meta took 4,321 memtable entries, not 698,683;
  // a start reads at most 4 MiB of journal.
  static constexpr uint64_t kDefaultCounterFoldBytes = 4 << 20;

  EngineState(storage::Store& store, const City& city);
  EngineState(const EngineState&) = delete;
  EngineState& operator=(const EngineState&) = delete;

  // Loads counters, modes, open events and timers from the store (one ordered scan of the timers
  // column family). A store whose indexes have an older key layout has them rebuilt from its
  // events first (one scan of the events; storage/keys.h). Aborts on a broken invariant (a timer
  // for an event that is not waiting on it).
  // Refuses (BAD_REQUEST) a city configuration that no longer knows an open event's grid,
  // category or departments: serving would crash on the event's next deadline.
  // RocksDB's compactions are paused while the open events are read (Store::PauseCompactions) and
  // on again when Load returns, whether it succeeded or not; only a failure before that read
  // (reading meta, the rebuild) may leave a store that was opened paused still paused.
  // Work done once on an older store (its indexes rebuilt, or the reporter index added) is said
  // first through `note`, if given: on a large store it takes a while (docs/OPERATIONS.md).
  // REQUIRES: called once, before anything else.
  Status Load(const std::function<void(std::string_view)>& note = nullptr);

  // ---------------------------------------------------------------- view (processors)
  const City& city() const { return city_; }
  const storage::Store& store() const { return store_; }

  // The event, or nullptr when there is none. I/O errors come back as UNAVAILABLE.
  // A terminal event read from disk is cached until the batch ends (this is why the engine
  // thread only may call it, const or not). The pointer is valid until the command finishes.
  Result<const pb::Event*> FindEvent(uint64_t id) const;
  // Where ReadEvent found an event. A read from the store (a block from RocksDB's cache or the
  // disk) costs the engine thread several times what a parse from memory does: listings count
  // it against their page's budget (processors/queries.cc).
  enum class EventRead { kNotFound, kFromMemory, kFromStored, kFromStore };
  // Copies the event into `out`. One that is not in memory (not open, not read in this batch) is
  // parsed from `stored` (its bytes as a cursor over the events read them) or from the store
  // straight into `out`, and not cached: listings read many events once, and caching each would
  // cost a copy and a hash insert for nothing.
  Result<EventRead> ReadEvent(uint64_t id, pb::Event* out,
                              std::optional<std::string_view> stored = std::nullopt) const;
  uint64_t next_event_id() const { return next_event_id_; }
  uint64_t last_seq() const { return last_seq_; }
  // The time of the newest record logged (0 before the first).
  int64_t last_record_ms() const { return last_record_ms_; }
  // The newest sequence number on disk: that of the last batch Released (or loaded).
  uint64_t committed_seq() const { return durable_seq_; }
  // Batches sealed and not yet released.
  size_t sealed_count() const { return sealed_.size(); }
  // True when an index entry under `prefix` (storage::IndexPrefix(tag, name)) was added or removed
  // by a sealed, unreleased batch: a cursor over the store may not show it yet. (This batch's own
  // changes are not counted: a query sees them in memory only, as it always did, and checking
  // them would make the answer depend on the timers and commands decided before it in its round.)
  bool IndexChangedUnwritten(std::string_view prefix) const;
  // The records logged since the last Seal, in sequence order.
  const std::vector<pb::Record>& staged_records() const { return batch_records_; }
  // Calls f, in sequence order, for each record of event `id` not yet known written: those of the
  // sealed, unreleased batches, then this batch's.
  void ForEachUnwrittenRecord(uint64_t id, const std::function<void(const pb::Record&)>& f) const;

  // The mode in force for a region: the nearest of it and its ancestors with a mode set; NORMAL
  // when none is (or the region is unknown). With `change`, as if that region's mode were already
  // set. A walk up the region's ancestors by number: SetMode asks it of every open event.
  struct ModeOverride {
    int region_index;  // City::RegionIndex of the region whose mode changes
    pb::Mode mode;
  };
  pb::Mode ModeFor(std::string_view region, const ModeOverride* change = nullptr) const;
  // The mode `report`'s deadlines are planned with in `grid`: EMERGENCY when it is urgent,
  // otherwise ModeFor(grid, change).
  pb::Mode PlanningMode(const pb::Report& report, std::string_view grid,
                        const ModeOverride* change = nullptr) const;
  // True when `e`'s deadlines were planned in another mode than the one in force for it now (as if
  // `change` were applied, when given), and its state allows a re-plan and it is not overdue, or
  // overdue and dispatched again, waiting for a claim (Event.overdue_redispatch). After
  // a SetMode the engine re-plans such events a few thousand a batch (Engine, "Re-planning"); once
  // it has, none is left.
  bool NeedsReplan(const pb::Event& e, const ModeOverride* change = nullptr) const;
  // The open events that needed a re-plan when the state was loaded, each with its deadline once
  // re-planned: a SetMode's re-planning that a stop cut short (NeedsReplan). Empty after the first
  // call.
  std::vector<ReplanTarget> TakeReplansFoundAtLoad() {
    return std::exchange(replans_found_at_load_, {});
  }
  // TEST ONLY (PlantedBug::kDuplicatesForgotten): forgets the duplicate index Load built.
  void ForgetDuplicateIndexForTest() { unresolved_by_grid_category_.clear(); }

  // Principals, revoked ones included, by name; nullptr when unknown.
  const pb::Principal* FindPrincipal(std::string_view name) const;
  // The active (not revoked) principal with this raw 32-byte CURVE public key, or nullptr.
  const pb::Principal* FindActivePrincipalByKey(std::string_view public_key) const;
  const std::map<std::string, pb::Principal, std::less<>>& principals() const { return principals_; }
  // Grows whenever a principal is created or revoked (the ZAP handler's copy follows it).
  uint64_t principals_version() const { return principals_version_; }

  // Unresolved events (DISPATCHED, CLAIMED, IN_PROGRESS) at this grid and category created at or
  // after `created_since_ms`, by id. The pointers are valid until the command finishes.
  std::vector<const pb::Event*> UnresolvedAt(std::string_view grid, std::string_view category,
                                             int64_t created_since_ms) const;
  // Calls f for every open event as of the last finished command, in no particular order; the
  // reference is valid during that call only. Each event not read in this batch is parsed: about
  // 0.35 s a million open events on the engine thread (SetMode's replanning pays it).
  void ForEachOpenEvent(const std::function<void(const pb::Event&)>& f) const;
  size_t open_event_count() const { return open_.size(); }
  bool IsOpenEvent(uint64_t id) const { return open_.contains(id); }
  // Open events counted by level, state, overdue and supervised, city-wide and per grid.
  const OpenTally& open_tally() const { return open_tally_; }

  // Counters for (month, scope), or nullopt when nothing was counted there. A month in memory is
  // a hash lookup; an archived one a point read of the store (I/O errors: UNAVAILABLE). The store
  // holds all of an archived month even while batches are sealed and unwritten: a month leaves
  // memory only once its archive is written, and no later batch writes a month out of memory.
  Result<std::optional<pb::StatCounters>> Counters(std::string_view month, std::string_view scope) const;
  // Calls f(scope, counters) for every scope of `month` that starts with `scope_prefix`, has
  // counters and is `wanted`, in no particular order: a walk of the month in memory, or a scan of
  // its archived keys that parses the wanted ones only. f(scope, ...) comes right after
  // wanted(scope) said yes, before `wanted` is asked of another scope.
  Status ForEachCounters(
      std::string_view month, std::string_view scope_prefix,
      const std::function<bool(std::string_view scope)>& wanted,
      const std::function<void(std::string_view scope, const pb::StatCounters&)>& f) const;
  // Months whose counters are in memory (those being archived included).
  size_t counter_months_in_memory() const { return counters_by_month_.size(); }
  // Journal bytes from which the next batch that changes counters folds them ("Counters in
  // meta"); 0: every such batch folds. A start reads what journal the last run left: under this
  // much plus one batch's, if it ran with the same setting.
  void set_counter_fold_bytes(uint64_t bytes) { counter_fold_bytes_ = bytes; }

  // The stored first answer for a request id, if any (this batch's included).
  Result<std::optional<pb::IdempotencyEntry>> FindIdempotency(std::string_view request_id) const;

  // Due time of the earliest pending timer (possibly stale), or nullopt.
  std::optional<int64_t> NextTimerDue() const;

  // ---------------------------------------------------------------- mutation (appliers, engine)
  // REQUIRES: id == next_event_id(). Returns the new, empty event with its id set.
  pb::Event& CreateEvent(uint64_t id);
  // REQUIRES: FindEvent(id) found the event earlier in this batch (or it was created).
  pb::Event& MutableEvent(uint64_t id);
  void SetMode(const std::string& region, pb::Mode mode);
  // Creates or replaces (revocation) the principal of that name.
  void PutPrincipal(pb::Principal principal);
  // The counters of (month, scope), added if new; marked changed, for the next Seal to write.
  pb::StatCounters& MutableCounters(std::string_view month, std::string_view scope);
  // The same for the month of `at_ms` (MonthOf, the city's local time) and the scope of a region
  // (by its City number), a department or a handling level. A record counts into half a dozen
  // scopes (appliers.cc); with a key built and hashed for each, that took a seventh of the engine
  // thread's time on a Beijing-size city. These build no key unless the scope is new to the month
  // (or the department unknown to the city).
  // REQUIRES: 0 <= region < city().region_count(); IsHandlingLevel(level).
  pb::StatCounters& MutableRegionCounters(int64_t at_ms, int region);
  pb::StatCounters& MutableDepartmentCounters(int64_t at_ms, std::string_view department);
  pb::StatCounters& MutableLevelCounters(int64_t at_ms, pb::Level level);
  void PutIdempotency(const std::string& request_id, pb::IdempotencyEntry entry);

  // Gives `record` its global sequence number and its place in its event's history, and stages it
  // in the history and log column families. Call after the record's applier (a Submitted record's
  // applier creates the event). REQUIRES: its event exists (unless event_id is 0).
  // The reference is valid until the next LogRecord.
  const pb::Record& LogRecord(pb::Record record);

  // Ends a command: stages every event it touched (state, index entries, timer) and keeps the
  // in-memory indexes in step. Call after the appliers of one command's records.
  void FinishCommand();

  // Timers due at `now_ms` that still match their event, earliest first, at most `max`; removes
  // them from the heap (the caller must act on each: the processor re-checks against the state).
  std::vector<DueTimer> TakeDueTimers(int64_t now_ms, size_t max);

  // A batch ended by Seal: the writes to make durable (nullptr when it changed nothing) and the
  // records it logged, in sequence order.
  struct SealedBatch {
    std::unique_ptr<storage::WriteBatch> write;
    std::shared_ptr<const std::vector<pb::Record>> records;  // never null
    uint64_t last_seq = 0;  // the newest record's sequence number once it is written
  };
  // Ends the batch staged since the last Seal. Its writes are the caller's to make, in the order
  // batches were sealed; what it changed stays readable from memory until Release.
  SealedBatch Seal();
  // The oldest sealed batch, the one whose last_seq is given, is written: reads go to the store
  // for it from now on. After a failed write, do not Release: the engine must refuse everything
  // until restart.
  void Release(uint64_t last_seq);
  // Seal, a synced write, and Release. On failure the state no longer matches the disk; the engine
  // must refuse everything until restart.
  Status Commit();

 private:
  struct TimerEntry {
    int64_t due_ms;
    uint64_t id;
    bool operator>(const TimerEntry& o) const {
      return due_ms != o.due_ms ? due_ms > o.due_ms : id > o.id;
    }
  };

  // An open event at rest. Kept serialized: a parsed pb::Event with its report and strings takes
  // about 980 bytes of heap against 270 for its bytes (a bench submit's event), and a city with a
  // million open events must fit in 1 GiB (issue 5's scale goal; docs/BENCHMARKS.md). Parsing one
  // costs about 0.35 us: FindEvent keeps what it parsed in hot_ until the next Seal; ReadEvent and
  // ForEachOpenEvent parse into the caller's copy. The timer is copied out so that the timer heap
  // is checked without parsing.
  struct OpenEvent {
    std::string bytes;  // as stored, after its last finished command
    int64_t timer_due_ms = 0;
    pb::TimerKind timer_kind = pb::TIMER_NONE;
  };

  struct CountersEntry {
    pb::StatCounters counters;
    bool dirty = false;  // changed since the last Seal, and so in dirty_counters_
  };
  using CounterNode = std::pair<const std::string, CountersEntry>;
  // A month's counters in counters_: what a fold writes, in key order. A month's first `sorted`
  // are; those added since are sorted and merged in at its next fold (8 bytes a counter, where a
  // tree would take 64).
  struct MonthCounters {
    std::vector<CounterNode*> nodes;
    size_t sorted = 0;
    // For counting (MutableRegionCounters and the others): each region's, then each department's,
    // then each handling level's counter, once counted into; empty until the month is counted into.
    std::vector<CounterNode*> by_scope;
  };

  // The event if it is open or was read or changed in this batch; nullptr otherwise. An open event
  // not in hot_ is parsed into it. Mutable, for MutableEvent: hot_ and cold_ are caches, mutable.
  pb::Event* InMemory(uint64_t id) const;
  // The event as the newest sealed, unreleased batch that wrote it left it; nullptr otherwise.
  const pb::Event* InSealed(uint64_t id) const;
  // The one pending timer an event should have, from its state.
  void PlanTimer(pb::Event* e) const;
  // What an event's secondary index keys are made of, besides its id: events with equal inputs
  // have equal keys, which FinishCommand checks before making any (most commands change none).
  struct IndexInputs {
    storage::IndexBucket bucket;
    pb::Level level;
    std::string_view grid;
    std::vector<std::string_view> departments;  // InvolvedDepartments
    std::vector<std::string_view> reporters;    // Reporters
    bool operator==(const IndexInputs&) const = default;
  };
  static IndexInputs IndexInputsOf(const pb::Event& e);
  // Sorted. Without the region keys when `regions` is false: they depend only on the grid and the
  // bucket, so a change that keeps both (a climb, a new department) leaves them as they are.
  std::vector<std::string> IndexKeys(uint64_t id, const IndexInputs& in, bool regions = true) const;
  // month '|' scope, into `key` (reused: a command counts into several scopes).
  static void CounterKey(std::string_view month, std::string_view scope, std::string* key);
  // The month of a CounterKey.
  static std::string_view CounterMonth(std::string_view key);
  // grid '|' category, into `key` (reused: the load calls this a million times).
  static void DuplicateKey(std::string_view grid, std::string_view category, std::string* key);
  // Notes in mode_set_at_ that `region` has `mode` set (SetMode, and loading the modes).
  void NoteMode(std::string_view region, pb::Mode mode);
  void AddUnresolved(const pb::Event& e);
  void RemoveUnresolved(const pb::Event& e);
  Status LoadMeta();
  // The counter of that key (month '|' scope), added (zero, not dirty) if new.
  CounterNode& CounterSlot(std::string_view key);
  // Marks the counter changed (once a batch) and returns it.
  pb::StatCounters& MarkCounterChanged(CounterNode* node);
  using MonthIterator = std::map<std::string, MonthCounters, std::less<>>::iterator;
  // The month in memory, added if new; an archived month is read back first ("Counters of past
  // months"), and one whose archive is being written stays. Aborts on a failed read.
  MonthIterator ResidentMonth(std::string_view month);
  // If `month` is archived, reads its counters back into memory; changes nothing on failure.
  Status ReadBackIfArchived(std::string_view month);
  // Stages the archive of `month` (before the one counted into): every counter under its own key,
  // the month's whole value and old-layout keys deleted. It leaves memory at the batch's Release.
  void ArchiveMonth(MonthIterator month);
  // Deletes the month's counter keys of the layout before the journal, if it has any.
  void DeleteKeyPerCounterKeys(const std::string& month);
  // Notes the archived months (one seek each; their keys stay on disk).
  Status LoadArchivedMonths();
  // Points counting_month_ at the month `at_ms` falls in, added if new, with its scope slots.
  void CountingMonth(int64_t at_ms);
  // The counter in slot `slot` of the month of `at_ms`, found by its key (`scope_name()`) the
  // first time and remembered in the slot. Marked changed.
  template <typename ScopeName>
  pb::StatCounters& MutableScopeCounters(int64_t at_ms, size_t slot, ScopeName scope_name);
  // Adds the counters of a CounterSet read from meta (a month or a journal entry).
  Status LoadCounterSet(std::string_view key, std::string_view value, bool journal);
  // Stages this batch's changed counters: a journal entry, or a fold (see "Counters in meta").
  void StageCounters();
  // Every index key rewritten from the events (a store before layout 2), or, with
  // `reporters_only`, the reporter index written (layout 2 lacked it).
  Status RebuildIndexes(bool reporters_only);
  Status LoadLastRecordTime();
  // Also gives the timers the open events planned, unordered.
  Status LoadOpenEvents(std::vector<TimerEntry>* timers);
  Status LoadTimers(std::vector<TimerEntry> planned);
  // What an open event needs from the city that it no longer has; "" when nothing is missing.
  std::string MissingFromCity(const pb::Event& e) const;

  storage::Store& store_;
  const City& city_;
  std::unique_ptr<storage::WriteBatch> batch_;  // this batch's staged writes
  // What each sealed, unreleased batch changed, oldest first (see Seal).
  struct Overlay {
    std::unordered_map<uint64_t, pb::Event> events;  // terminal events it read or wrote
    std::unordered_map<std::string, pb::IdempotencyEntry> idempotency;
    // The batch's, for histories; shared with the SealedBatch, which publishes them (they were
    // copied twice per batch: docs/BENCHMARKS.md, "Where the time goes").
    std::shared_ptr<const std::vector<pb::Record>> records;
    std::set<std::string, std::less<>> index_prefixes;  // changed
    uint64_t last_seq = 0;
  };
  std::deque<Overlay> sealed_;
  uint64_t durable_seq_ = 0;

  uint64_t next_event_id_ = 1;
  uint64_t last_seq_ = 0;
  std::string index_layout_;  // as stored in meta; "" before layout 2
  int64_t last_record_ms_ = 0;
  std::unordered_map<uint64_t, OpenEvent> open_;
  // Open events parsed (read, created or changed) since the last Seal, which clears it; their bytes
  // in open_ are current whenever no command is under way.
  mutable std::unordered_map<uint64_t, pb::Event> hot_;
  // Terminal events read from disk or made terminal in this batch; handed to the batch's overlay
  // at Seal.
  mutable std::unordered_map<uint64_t, pb::Event> cold_;
  // Events touched by the current command, with their state before it (nullopt: created).
  std::unordered_map<uint64_t, std::optional<pb::Event>> touched_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  // The mode set at each region, by City region index; MODE_UNSPECIFIED where none is. A mode
  // stored for a region the city no longer has matches no grid, and is not kept.
  std::vector<pb::Mode> mode_set_at_;
  size_t regions_with_mode_ = 0;  // entries of mode_set_at_ that are set
  std::map<std::string, pb::Principal, std::less<>> principals_;
  std::unordered_map<std::string, std::string> active_principal_by_key_;  // raw key -> name
  uint64_t principals_version_ = 0;
  // The duplicate index: (grid '|' category) -> unresolved events there, sorted by id. A vector,
  // not a set: a key holds a few events, and a node per event is memory and a cache miss at load.
  // The creation time lets a submit parse only the events inside the duplicate window.
  struct Unresolved {
    uint64_t id;
    int64_t created_at_ms;
    bool operator<(uint64_t other_id) const { return id < other_id; }  // for lower_bound by id
  };
  std::unordered_map<std::string, std::vector<Unresolved>> unresolved_by_grid_category_;
  mutable std::string duplicate_key_;  // scratch for DuplicateKey
  OpenTally open_tally_;
  std::vector<ReplanTarget> replans_found_at_load_;  // TakeReplansFoundAtLoad
  std::unordered_map<std::string, CountersEntry> counters_;  // key: CounterKey
  // counters_ by month (MonthCounters): what a fold writes, in key order.
  std::map<std::string, MonthCounters, std::less<>> counters_by_month_;
  // The month counted into last, and the earliest and latest times seen to fall in it since it
  // became that month: a month is an interval of time, so any time between the two falls in it.
  MonthIterator counting_month_;
  int64_t counting_month_from_ms_ = 0;
  int64_t counting_month_to_ms_ = -1;  // before from: no month yet
  // Changed since the last Seal, which writes them. Pointers into counters_, whose elements never
  // move (a counter is erased only with its month, archived, when none of it is changed).
  std::vector<CounterNode*> dirty_counters_;
  mutable std::string counter_key_;  // scratch for CounterKey
  // Months loaded from keys of the layout before the journal ("stat/"), which their next fold
  // deletes.
  std::set<std::string, std::less<>> key_per_counter_months_;
  // The journal since the last fold: its size, and the months it holds counters of.
  uint64_t journal_bytes_ = 0;
  uint64_t last_journal_seq_ = 0;  // of the newest entry this process wrote
  std::set<std::string, std::less<>> months_since_fold_;
  // Months whose counters are on disk only, as archived keys ("Counters of past months").
  std::set<std::string, std::less<>> archived_months_;
  // Months in memory whose archive a sealed batch writes, with that batch's last_seq: they leave
  // memory at its Release, unless counted into again before (ResidentMonth).
  std::map<std::string, uint64_t, std::less<>> archiving_;
  uint64_t counter_fold_bytes_ = kDefaultCounterFoldBytes;
  std::unordered_map<std::string, pb::IdempotencyEntry> pending_idempotency_;
  std::vector<pb::Record> batch_records_;
  // The index prefixes (tag name 0x00) under which this batch added or removed an entry.
  std::set<std::string, std::less<>> batch_index_prefixes_;
};

}  // namespace whistle
