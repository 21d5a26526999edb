#include "dispatcher/engine_state.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/lifecycle.h"
#include "dispatcher/stats.h"
#include "storage/idempotency.h"
#include "storage/keys.h"
#include "whistle/check.h"

namespace whistle {

using storage::Cf;

namespace {

// Meta keys. On disk: frozen.
constexpr std::string_view kMetaLastSeq = "seq";
constexpr std::string_view kMetaNextEventId = "next_id";
constexpr std::string_view kMetaModePrefix = "mode/";
// Counters (see "Counters in meta" in the header): one key a counter before the journal, a
// month's at its last fold, a batch's since. Ordered so that a scan reads them in that order.
constexpr std::string_view kMetaStatPrefix = "stat/";          // + month '|' scope -> StatCounters
constexpr std::string_view kMetaStatMonthPrefix = "statb/";    // + month -> CounterSet
constexpr std::string_view kMetaStatJournalPrefix = "statj/";  // + seq(8) -> CounterSet
constexpr std::string_view kMetaStatJournalEnd = "statj0";     // '0' follows '/'
static_assert(kMetaStatPrefix < kMetaStatMonthPrefix &&
              kMetaStatMonthPrefix < kMetaStatJournalPrefix);
// Archived months ("Counters of past months" in the header), between "stat/" and "statb/": a
// scan of meta that reaches one goes on at kMetaStatMonthPrefix.
constexpr std::string_view kMetaStatArchivePrefix = "stata/";  // + month '|' scope -> StatCounters
static_assert(kMetaStatPrefix < kMetaStatArchivePrefix &&
              kMetaStatArchivePrefix < kMetaStatMonthPrefix);

// The first key of `month`'s counters under `prefix` ("stat/" or "stata/"), and the first key
// past them.
std::string MonthKeysBegin(std::string_view prefix, std::string_view month) {
  return fmt::format("{}{}|", prefix, month);
}
std::string MonthKeysEnd(std::string_view prefix, std::string_view month) {
  return fmt::format("{}{}}}", prefix, month);  // '}' follows '|'
}
// The archived key of a counter (its CounterKey: month '|' scope).
std::string ArchiveKey(std::string_view counter_key) {
  return fmt::format("{}{}", kMetaStatArchivePrefix, counter_key);
}
constexpr std::string_view kMetaPrincipalPrefix = "principal/";
// The indexes' key layout (storage/keys.h), "3", also kept in the indexes themselves from layout 3
// on; absent in stores written before layout 2, whose indexes Load rebuilds. Layout 2 lacked the
// reporter index, which Load adds.
constexpr std::string_view kMetaIndexLayout = "index_layout";
// Also in meta: storage::kMetaLegacyEntriesDecided (storage/idempotency.h).
constexpr char kIndexLayout[] = "3";
constexpr std::string_view kIndexLayoutWithoutReporters = "2";
// Keys per write while the indexes are rebuilt: bounds the batch's memory.
constexpr size_t kRebuildKeysPerWrite = 100000;

std::string Fixed64(uint64_t v) {
  std::string s;
  storage::PutFixed64BE(&s, v);
  return s;
}

std::string LevelIndexName(pb::Level level) { return std::to_string(static_cast<int>(level)); }

}  // namespace

storage::IndexBucket IndexBucketOf(pb::EventState state) {
  return IsOpen(state) ? storage::IndexBucket::kOpen : storage::IndexBucket::kTerminal;
}

EngineState::EngineState(storage::Store& store, const City& city)
    : store_(store),
      city_(city),
      batch_(std::make_unique<storage::WriteBatch>(store)),
      mode_set_at_(city.region_count(), pb::MODE_UNSPECIFIED) {}

// ------------------------------------------------------------------------------------------ load

Status EngineState::Load(const std::function<void(std::string_view)>& note) {
  if (Status s = LoadMeta(); !s.ok()) return s;
  durable_seq_ = last_seq_;
  if (last_seq_ == 0) {
    // A store no version has written to: none of its idempotency entries will lack an expiry but
    // a Submit's, and whistle-compact need not look (storage/idempotency.h).
    storage::WriteBatch mark(store_);
    mark.Put(Cf::kMeta, storage::kMetaLegacyEntriesDecided, "1");
    if (Status s = store_.Write(mark); !s.ok()) return s;
  }
  if (index_layout_ == kIndexLayout) {
    // Meta says layout 3; without the indexes' own copy, an older version's rebuild of them was
    // cut short (storage::kIndexesLayoutKey), and they are rebuilt whole.
    auto copy = store_.Get(Cf::kIndexes, storage::kIndexesLayoutKey);
    if (!copy.ok()) return copy.status();
    if (*copy != kIndexLayout) index_layout_.clear();
  }
  if (index_layout_ != kIndexLayout) {
    const bool reporters_only = index_layout_ == kIndexLayoutWithoutReporters;
    if (note && last_seq_ > 0) {  // not a new store's first start
      note(reporters_only ? "adding the reporter index (index layout 3) to every stored event, once"
                          : "rebuilding the indexes (index layout 3) from every stored event, once");
    }
    // The rebuild rewrites every index key: RocksDB must compact as it goes, even in a store
    // opened with compactions paused (StoreOptions::open_with_compactions_paused).
    if (Status s = store_.ResumeCompactions(); !s.ok()) return s;
    if (Status s = RebuildIndexes(reporters_only); !s.ok()) return s;
  }
  if (Status s = LoadLastRecordTime(); !s.ok()) return s;
  // Reading every open event takes both cores; what a crash under load left to compact waits
  // (in the dispatcher's store, paused since it was opened).
  if (Status s = store_.PauseCompactions(); !s.ok()) return s;
  std::vector<TimerEntry> timers;
  Status loaded = LoadOpenEvents(&timers);
  if (loaded.ok()) loaded = LoadTimers(std::move(timers));
  Status resumed = store_.ResumeCompactions();
  return loaded.ok() ? resumed : loaded;
}

std::string EngineState::MissingFromCity(const pb::Event& e) const {
  std::string problem;
  if (std::string missing = city_.MissingOf(e.report().category(), e.grid()); !missing.empty()) {
    problem = missing + " is gone";
  } else {
    for (const auto& d : e.candidates()) {
      if (city_.FindDepartment(d) == nullptr) problem = fmt::format("department '{}' is gone", d);
    }
  }
  return problem;
}

namespace {

// Hands chunks of parsed open events from the thread that reads them to the one that files them
// (EngineState::LoadOpenEvents), at most kMaxChunks waiting. Filed chunks come back for reuse.
class OpenEventPipe {
 public:
  static constexpr size_t kChunkEvents = 1024;
  static constexpr size_t kMaxChunks = 4;
  struct Chunk {
    std::vector<pb::Event> events;  // the first `size` are this chunk's
    size_t size = 0;                // 0: the end
  };

  // Blocks while kMaxChunks wait.
  void Push(Chunk chunk) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return full_.size() < kMaxChunks; });
    full_.push_back(std::move(chunk));
    cv_.notify_all();
  }
  Chunk Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty(); });
    Chunk chunk = std::move(full_.front());
    full_.pop_front();
    cv_.notify_all();
    return chunk;
  }
  void Recycle(Chunk chunk) {
    chunk.size = 0;
    std::lock_guard lock(mu_);
    spare_.push_back(std::move(chunk));
  }
  // A filed chunk to parse into again, or a new one.
  Chunk Spare() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return {};
    Chunk chunk = std::move(spare_.back());
    spare_.pop_back();
    return chunk;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> full_;
  std::vector<Chunk> spare_;
};

// Refuses a city configuration that no longer knows what open events need: serving would crash on
// the event's next deadline.
Status OpenEventsNotCovered(std::vector<std::string> problems) {
  if (problems.empty()) return Status::Ok();
  std::sort(problems.begin(), problems.end());
  return BadRequest(fmt::format(
      "the city configuration no longer covers {} open event(s); restore what they need or close "
      "them first: {}{}",
      problems.size(), fmt::join(problems.begin(), problems.begin() + std::min<size_t>(5, problems.size()), "; "),
      problems.size() > 5 ? "; ..." : ""));
}

}  // namespace

Status EngineState::LoadArchivedMonths() {
  auto cursor = store_.NewCursor(Cf::kMeta);
  cursor->Seek(kMetaStatArchivePrefix);
  while (cursor->Valid() && cursor->key().starts_with(kMetaStatArchivePrefix)) {
    std::string month(CounterMonth(cursor->key().substr(kMetaStatArchivePrefix.size())));
    cursor->Seek(MonthKeysEnd(kMetaStatArchivePrefix, month));
    archived_months_.insert(std::move(month));
  }
  return cursor->status();
}

Status EngineState::LoadMeta() {
  if (Status s = LoadArchivedMonths(); !s.ok()) return s;
  auto cursor = store_.NewCursor(Cf::kMeta);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    std::string_view key = cursor->key();
    std::string_view value = cursor->value();
    if (key.starts_with(kMetaStatArchivePrefix)) {
      // Archived months stay on disk (a month counted into again reads its keys: ResidentMonth).
      cursor->Seek(kMetaStatMonthPrefix);
      if (!cursor->Valid()) break;
      key = cursor->key();
      value = cursor->value();
    }
    if (key == kMetaLastSeq || key == kMetaNextEventId) {
      WHISTLE_CHECK(value.size() == 8, "meta '%.*s' has %zu bytes", int(key.size()), key.data(),
                    value.size());
      (key == kMetaLastSeq ? last_seq_ : next_event_id_) = storage::DecodeFixed64BE(value.data());
    } else if (key.starts_with(kMetaModePrefix)) {
      int mode = std::atoi(std::string(value).c_str());
      WHISTLE_CHECK(pb::Mode_IsValid(mode), "meta '%.*s': bad mode", int(key.size()), key.data());
      NoteMode(key.substr(kMetaModePrefix.size()), static_cast<pb::Mode>(mode));
    } else if (key.starts_with(kMetaStatPrefix)) {
      pb::StatCounters c;
      WHISTLE_CHECK(c.ParseFromArray(value.data(), static_cast<int>(value.size())),
                    "meta '%.*s': corrupt counters", int(key.size()), key.data());
      std::string_view counter_key = key.substr(kMetaStatPrefix.size());
      std::string_view month = CounterMonth(counter_key);
      if (Status s = ReadBackIfArchived(month); !s.ok()) return s;
      CounterSlot(counter_key).second.counters = std::move(c);
      if (!key_per_counter_months_.contains(month)) key_per_counter_months_.emplace(month);
    } else if (key.starts_with(kMetaStatMonthPrefix) || key.starts_with(kMetaStatJournalPrefix)) {
      Status s = LoadCounterSet(key, value, key.starts_with(kMetaStatJournalPrefix));
      if (!s.ok()) return s;
    } else if (key == kMetaIndexLayout) {
      index_layout_ = value;
    } else if (key.starts_with(kMetaPrincipalPrefix)) {
      pb::Principal p;
      WHISTLE_CHECK(p.ParseFromArray(value.data(), static_cast<int>(value.size())),
                    "meta '%.*s': corrupt principal", int(key.size()), key.data());
      if (p.revoked_at_ms() == 0) active_principal_by_key_[p.public_key()] = p.name();
      principals_[p.name()] = std::move(p);
    }
  }
  return cursor->status();
}

Status EngineState::LoadCounterSet(std::string_view key, std::string_view value, bool journal) {
  pb::CounterSet set;
  WHISTLE_CHECK(set.ParseFromArray(value.data(), static_cast<int>(value.size())),
                "meta '%.*s': corrupt counters", int(key.size()), key.data());
  for (auto& entry : *set.mutable_entries()) {
    std::string_view month = CounterMonth(entry.key());
    if (Status s = ReadBackIfArchived(month); !s.ok()) return s;
    if (journal) months_since_fold_.emplace(month);
    CounterSlot(entry.key()).second.counters = std::move(*entry.mutable_counters());
  }
  if (journal) journal_bytes_ += value.size();
  return Status::Ok();
}

Status EngineState::LoadLastRecordTime() {
  auto newest = storage::NewestRecordMs(store_);
  if (!newest.ok()) return newest.status();
  last_record_ms_ = *newest;
  return Status::Ok();
}

// Every key of the indexes is deleted, then each stored event's keys are written, in writes of
// about kRebuildKeysPerWrite keys; the layout mark goes last. With `reporters_only`, nothing is
// deleted and only the reporter index's keys are written. A crash part way leaves the mark
// unwritten and the next start does it all again.
Status EngineState::RebuildIndexes(bool reporters_only) {
  WHISTLE_CHECK(batch_->count() == 0, "RebuildIndexes with a batch staged");
  auto write = [this]() {
    Status s = store_.Write(*batch_);
    batch_->Clear();
    return s;
  };
  if (!reporters_only) {
    auto old_keys = store_.NewCursor(Cf::kIndexes);
    for (old_keys->SeekToFirst(); old_keys->Valid(); old_keys->Next()) {
      batch_->Delete(Cf::kIndexes, old_keys->key());
      if (batch_->count() >= kRebuildKeysPerWrite) {
        if (Status s = write(); !s.ok()) return s;
      }
    }
    if (Status s = old_keys->status(); !s.ok()) return s;
  }
  auto events = store_.NewCursor(Cf::kEvents);
  for (events->SeekToFirst(); events->Valid(); events->Next()) {
    pb::Event e;
    WHISTLE_CHECK(e.ParseFromArray(events->value().data(), static_cast<int>(events->value().size())),
                  "event %llu is corrupt",
                  static_cast<unsigned long long>(storage::DecodeFixed64BE(events->key().data())));
    for (const auto& k : IndexKeys(e.id(), IndexInputsOf(e), !reporters_only)) {
      if (reporters_only && k[0] != static_cast<char>(storage::IndexTag::kReporter)) continue;
      batch_->Put(Cf::kIndexes, k, "");
    }
    if (batch_->count() >= kRebuildKeysPerWrite) {
      if (Status s = write(); !s.ok()) return s;
    }
  }
  if (Status s = events->status(); !s.ok()) return s;
  batch_->Put(Cf::kIndexes, storage::kIndexesLayoutKey, kIndexLayout);
  batch_->Put(Cf::kMeta, kMetaIndexLayout, kIndexLayout);
  if (Status s = write(); !s.ok()) return s;
  index_layout_ = kIndexLayout;
  return Status::Ok();
}

namespace {
// The load reads the open events' index and the events forward, once: 2 MiB per disk read, and
// nothing kept in the block cache. With a million open events, from a cold page cache: ready in
// 3.6-4.1 s instead of 4.2-5.0 s, and 51 MiB less resident (docs/BENCHMARKS.md, "Scale").
constexpr size_t kLoadReadahead = 2 << 20;
}  // namespace

// The open events' ids come from the level index (open bucket), sorted; then one cursor walks
// the events forward to each, so the reads go in key order with the iterator's readahead instead
// of one point lookup per event (161,499 of them on a month's store).
Status EngineState::LoadOpenEvents(std::vector<TimerEntry>* timers) {
  std::vector<std::pair<uint64_t, pb::Level>> ids;
  for (pb::Level level : kLadder) {
    std::string prefix =
        storage::IndexPrefix(storage::IndexTag::kLevel, LevelIndexName(level), storage::IndexBucket::kOpen);
    auto cursor = store_.NewCursor(Cf::kIndexes, kLoadReadahead);
    for (cursor->Seek(prefix); cursor->Valid() && cursor->key().starts_with(prefix); cursor->Next()) {
      ids.emplace_back(storage::IndexKeyId(cursor->key()), level);
    }
    if (Status s = cursor->status(); !s.ok()) return s;
  }
  std::sort(ids.begin(), ids.end());
  open_.reserve(ids.size());
  open_tally_.StampChangesAfter(last_seq_);  // a board of changes since before the start is whole

  // Two threads, before anything else runs: this one reads and parses the events and keeps their
  // bytes (open_, timers); a helper files them (open_tally_, the duplicate index, the city check).
  // Both halves wait on memory (hash tables of a million entries) at about 2 us an event each.
  OpenEventPipe pipe;
  std::vector<std::string> problems;
  std::thread filer([&] {
    for (OpenEventPipe::Chunk chunk = pipe.Pop(); chunk.size > 0; chunk = pipe.Pop()) {
      for (size_t i = 0; i < chunk.size; ++i) {
        const pb::Event& e = chunk.events[i];
        if (IsUnresolved(e.state())) AddUnresolved(e);
        open_tally_.Add(e, last_seq_);
        // A city that no longer knows the event refuses the load: no SLA to re-plan it by.
        if (std::string problem = MissingFromCity(e); !problem.empty()) {
          problems.push_back(fmt::format("event {}: {}", e.id(), problem));
        } else if (NeedsReplan(e)) {
          replans_found_at_load_.push_back(
              {ReplannedDue(city_, e, PlanningMode(e.report(), e.grid())), e.id()});
        }
      }
      pipe.Recycle(std::move(chunk));
    }
  });
  auto read = [&]() -> Status {
    auto events = store_.NewCursor(Cf::kEvents, kLoadReadahead);
    OpenEventPipe::Chunk chunk = pipe.Spare();
    for (const auto& [id, level] : ids) {
      std::string key = storage::EventKey(id);
      // Close ids are usually in the same block: step forward a little before seeking.
      for (int steps = 0; events->Valid() && events->key() < key && steps < 8; ++steps) events->Next();
      if (!events->Valid() || events->key() < key) events->Seek(key);
      if (Status s = events->status(); !s.ok()) return s;
      WHISTLE_CHECK(events->Valid() && events->key() == key, "index entry for event %llu, which is not stored",
                    static_cast<unsigned long long>(id));
      std::string_view bytes = events->value();
      if (chunk.events.size() == chunk.size) chunk.events.emplace_back();
      pb::Event& e = chunk.events[chunk.size++];  // reused: its strings keep their buffers
      WHISTLE_CHECK(e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())), "event %llu is corrupt",
                    static_cast<unsigned long long>(id));
      WHISTLE_CHECK(IsOpen(e.state()) && e.level() == level,
                    "event %llu is indexed as open at level %d but stored as %s at level %d",
                    static_cast<unsigned long long>(id), static_cast<int>(level),
                    pb::EventState_Name(e.state()).c_str(), static_cast<int>(e.level()));
      if (e.timer_due_ms() > 0) timers->push_back({e.timer_due_ms(), id});
      open_.emplace(id, OpenEvent{std::string(bytes), e.timer_due_ms(), e.timer_kind()});
      if (chunk.size == OpenEventPipe::kChunkEvents) {
        pipe.Push(std::move(chunk));
        chunk = pipe.Spare();
      }
    }
    if (chunk.size > 0) pipe.Push(std::move(chunk));
    return events->status();
  };
  // The helper is told to end and joined on every way out, an exception's included.
  struct EndAndJoin {
    OpenEventPipe& pipe;
    std::thread& filer;
    ~EndAndJoin() {
      pipe.Push({});
      filer.join();
    }
  };
  Status s;
  {
    EndAndJoin end{pipe, filer};
    s = read();
  }
  if (!s.ok()) return s;
  return OpenEventsNotCovered(std::move(problems));
}

Status EngineState::LoadTimers(std::vector<TimerEntry> planned) {
  // The stored timers must be exactly the open events' planned ones. Both sorted by (due, id), they
  // are compared in one pass, and the heap is made from them at once (no lookup or push per timer).
  std::sort(planned.begin(), planned.end(), [](const TimerEntry& a, const TimerEntry& b) { return b > a; });
  size_t count = 0;
  auto cursor = store_.NewCursor(Cf::kTimers);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next(), ++count) {
    int64_t due;
    uint64_t id;
    storage::DecodeTimerKey(cursor->key(), &due, &id);
    WHISTLE_CHECK(count < planned.size() && !(planned[count] > TimerEntry{due, id}),
                  "timer (%lld, %llu) is stored, and its event does not wait on it", static_cast<long long>(due),
                  static_cast<unsigned long long>(id));
    WHISTLE_CHECK(planned[count].due_ms == due && planned[count].id == id,
                  "event %llu waits on a timer at %lld, which is not stored",
                  static_cast<unsigned long long>(planned[count].id), static_cast<long long>(planned[count].due_ms));
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  WHISTLE_CHECK(count == planned.size(), "event %llu waits on a timer at %lld, which is not stored",
                static_cast<unsigned long long>(planned[count].id), static_cast<long long>(planned[count].due_ms));
  timers_ = decltype(timers_)(std::greater<>(), std::move(planned));
  return Status::Ok();
}

// ------------------------------------------------------------------------------------------ view

pb::Event* EngineState::InMemory(uint64_t id) const {
  if (auto it = hot_.find(id); it != hot_.end()) return &it->second;
  if (auto it = open_.find(id); it != open_.end()) {
    pb::Event& e = hot_[id];
    WHISTLE_CHECK(e.ParseFromString(it->second.bytes), "open event %llu is corrupt in memory",
                  static_cast<unsigned long long>(id));
    return &e;
  }
  if (auto it = cold_.find(id); it != cold_.end()) return &it->second;
  return nullptr;
}

const pb::Event* EngineState::InSealed(uint64_t id) const {
  for (auto it = sealed_.rbegin(); it != sealed_.rend(); ++it) {
    if (auto e = it->events.find(id); e != it->events.end()) return &e->second;
  }
  return nullptr;
}

Result<const pb::Event*> EngineState::FindEvent(uint64_t id) const {
  if (const pb::Event* e = InMemory(id)) return e;
  if (id == 0 || id >= next_event_id_) return static_cast<const pb::Event*>(nullptr);
  // Copied, not pointed at: MutableEvent changes only this batch's events.
  if (const pb::Event* e = InSealed(id)) return &(cold_[id] = *e);
  auto value = store_.Get(Cf::kEvents, storage::EventKey(id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return static_cast<const pb::Event*>(nullptr);
  pb::Event& e = cold_[id];
  WHISTLE_CHECK(e.ParseFromString(**value), "event %llu is corrupt",
                static_cast<unsigned long long>(id));
  return &e;
}

Result<EngineState::EventRead> EngineState::ReadEvent(
    uint64_t id, pb::Event* out, std::optional<std::string_view> stored) const {
  if (id == 0 || id >= next_event_id_) return EventRead::kNotFound;
  // Memory wins over `stored`: a cursor may show an older version.
  const pb::Event* known = nullptr;
  EventRead from = EventRead::kFromMemory;
  if (auto h = hot_.find(id); h != hot_.end()) {
    known = &h->second;
  } else if (auto o = open_.find(id); o != open_.end()) {
    stored = o->second.bytes;  // open, not read in this batch: parsed straight into `out`
  } else if (auto c = cold_.find(id); c != cold_.end()) {
    known = &c->second;
  } else {
    known = InSealed(id);
    if (known == nullptr) from = stored ? EventRead::kFromStored : EventRead::kFromStore;
  }
  if (known != nullptr) {
    *out = *known;
    return from;
  }
  std::optional<std::string> read;
  if (!stored) {
    auto value = store_.Get(Cf::kEvents, storage::EventKey(id));
    if (!value.ok()) return value.status();
    if (!value->has_value()) return EventRead::kNotFound;
    read = std::move(**value);
    stored = *read;
  }
  WHISTLE_CHECK(out->ParseFromArray(stored->data(), static_cast<int>(stored->size())), "event %llu is corrupt",
                static_cast<unsigned long long>(id));
  return from;
}

pb::Mode EngineState::PlanningMode(const pb::Report& report, std::string_view grid,
                                   const ModeOverride* change) const {
  return report.urgent() ? pb::MODE_EMERGENCY : ModeFor(grid, change);
}

bool EngineState::NeedsReplan(const pb::Event& e, const ModeOverride* change) const {
  // An overdue event's deadlines are spent, but for the claim deadline of a dispatch made while
  // overdue (a return at city level), which is as live as any other.
  return Allows(e.state(), Action::kReplan) && (!e.overdue() || e.overdue_redispatch()) &&
         PlanningMode(e.report(), e.grid(), change) != EffectiveMode(e.mode());
}

pb::Mode EngineState::ModeFor(std::string_view region, const ModeOverride* change) const {
  if (regions_with_mode_ == 0 && change == nullptr) return pb::MODE_NORMAL;
  for (int i = city_.RegionIndex(region); i >= 0; i = city_.ParentIndex(i)) {
    if (change != nullptr && i == change->region_index) return EffectiveMode(change->mode);
    if (pb::Mode set = mode_set_at_[static_cast<size_t>(i)]; set != pb::MODE_UNSPECIFIED) return EffectiveMode(set);
  }
  return pb::MODE_NORMAL;
}

std::vector<const pb::Event*> EngineState::UnresolvedAt(std::string_view grid, std::string_view category,
                                                        int64_t created_since_ms) const {
  std::vector<const pb::Event*> out;
  DuplicateKey(grid, category, &duplicate_key_);
  auto it = unresolved_by_grid_category_.find(duplicate_key_);
  if (it == unresolved_by_grid_category_.end()) return out;
  for (const auto& [id, created_at_ms] : it->second) {
    if (created_at_ms < created_since_ms) continue;  // not parsed: a submit looks at a recent few
    const pb::Event* e = open_.contains(id) ? InMemory(id) : nullptr;
    WHISTLE_CHECK(e != nullptr, "duplicate index names event %llu, which is not open",
                  static_cast<unsigned long long>(id));
    out.push_back(e);
  }
  return out;
}

void EngineState::ForEachOpenEvent(const std::function<void(const pb::Event&)>& f) const {
  pb::Event parsed;  // reused; not cached: a pass over every open event would fill hot_ with them
  for (const auto& [id, open] : open_) {
    if (auto h = hot_.find(id); h != hot_.end()) {
      f(h->second);
      continue;
    }
    WHISTLE_CHECK(parsed.ParseFromString(open.bytes), "open event %llu is corrupt in memory",
                  static_cast<unsigned long long>(id));
    f(parsed);
  }
}

Result<std::optional<pb::StatCounters>> EngineState::Counters(std::string_view month,
                                                              std::string_view scope) const {
  using Found = std::optional<pb::StatCounters>;
  CounterKey(month, scope, &counter_key_);
  if (counters_by_month_.contains(month)) {
    auto it = counters_.find(counter_key_);
    return it == counters_.end() ? Found() : Found(it->second.counters);
  }
  if (!archived_months_.contains(month)) return Found();
  auto value = store_.Get(Cf::kMeta, ArchiveKey(counter_key_));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return Found();
  pb::StatCounters counters;
  if (!counters.ParseFromString(**value)) {
    return Internal(fmt::format("the archived counters of {} are corrupt", counter_key_));
  }
  return Found(std::move(counters));
}

Status EngineState::ForEachCounters(
    std::string_view month, std::string_view scope_prefix,
    const std::function<bool(std::string_view scope)>& wanted,
    const std::function<void(std::string_view scope, const pb::StatCounters&)>& f) const {
  if (auto in_memory = counters_by_month_.find(month); in_memory != counters_by_month_.end()) {
    for (const CounterNode* node : in_memory->second.nodes) {
      std::string_view scope = std::string_view(node->first).substr(month.size() + 1);
      if (scope.starts_with(scope_prefix) && wanted(scope)) f(scope, node->second.counters);
    }
    return Status::Ok();
  }
  if (!archived_months_.contains(month)) return Status::Ok();
  const std::string begin = MonthKeysBegin(kMetaStatArchivePrefix, month);
  const size_t scope_at = begin.size();
  const std::string prefix = begin + std::string(scope_prefix);
  auto cursor = store_.NewCursor(Cf::kMeta);
  pb::StatCounters counters;
  for (cursor->Seek(prefix); cursor->Valid() && cursor->key().starts_with(prefix); cursor->Next()) {
    std::string_view scope = cursor->key().substr(scope_at);
    if (!wanted(scope)) continue;
    if (!counters.ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal(fmt::format("the archived counters of {} are corrupt", cursor->key()));
    }
    f(scope, counters);
  }
  return cursor->status();
}

Result<std::optional<pb::IdempotencyEntry>> EngineState::FindIdempotency(
    std::string_view request_id) const {
  const std::string key(request_id);  // once, for each map below
  if (auto it = pending_idempotency_.find(key); it != pending_idempotency_.end()) {
    return std::optional<pb::IdempotencyEntry>(it->second);
  }
  for (auto it = sealed_.rbegin(); it != sealed_.rend(); ++it) {
    if (auto e = it->idempotency.find(key); e != it->idempotency.end()) {
      return std::optional<pb::IdempotencyEntry>(e->second);
    }
  }
  auto value = store_.Get(Cf::kIdempotency, request_id);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<pb::IdempotencyEntry>();
  pb::IdempotencyEntry entry;
  WHISTLE_CHECK(entry.ParseFromString(**value), "idempotency entry '%s' is corrupt",
                std::string(request_id).c_str());
  return std::optional<pb::IdempotencyEntry>(std::move(entry));
}

bool EngineState::IndexChangedUnwritten(std::string_view prefix) const {
  return std::any_of(sealed_.begin(), sealed_.end(), [&](const Overlay& o) { return o.index_prefixes.contains(prefix); });
}

void EngineState::ForEachUnwrittenRecord(uint64_t id, const std::function<void(const pb::Record&)>& f) const {
  for (const Overlay& o : sealed_) {
    for (const pb::Record& r : *o.records) {
      if (r.event_id() == id) f(r);
    }
  }
  for (const pb::Record& r : batch_records_) {
    if (r.event_id() == id) f(r);
  }
}

std::optional<int64_t> EngineState::NextTimerDue() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.top().due_ms;
}

// -------------------------------------------------------------------------------------- mutation

pb::Event& EngineState::CreateEvent(uint64_t id) {
  WHISTLE_CHECK(id == next_event_id_, "creating event %llu, expected %llu",
                static_cast<unsigned long long>(id), static_cast<unsigned long long>(next_event_id_));
  ++next_event_id_;
  touched_.emplace(id, std::nullopt);
  pb::Event& e = hot_[id];
  e.set_id(id);
  return e;
}

pb::Event& EngineState::MutableEvent(uint64_t id) {
  pb::Event* e = InMemory(id);
  WHISTLE_CHECK(e != nullptr, "mutating event %llu, which was not read first",
                static_cast<unsigned long long>(id));
  touched_.try_emplace(id, *e);
  return *e;
}

void EngineState::NoteMode(std::string_view region, pb::Mode mode) {
  const int i = city_.RegionIndex(region);
  if (i < 0) return;  // gone from the city's configuration: it matches no grid
  pb::Mode& slot = mode_set_at_[static_cast<size_t>(i)];
  if (slot == pb::MODE_UNSPECIFIED && mode != pb::MODE_UNSPECIFIED) ++regions_with_mode_;
  if (slot != pb::MODE_UNSPECIFIED && mode == pb::MODE_UNSPECIFIED) --regions_with_mode_;
  slot = mode;
}

void EngineState::SetMode(const std::string& region, pb::Mode mode) {
  NoteMode(region, mode);
  batch_->Put(Cf::kMeta, std::string(kMetaModePrefix) + region, std::to_string(static_cast<int>(mode)));
}

const pb::Principal* EngineState::FindPrincipal(std::string_view name) const {
  auto it = principals_.find(name);
  return it == principals_.end() ? nullptr : &it->second;
}

const pb::Principal* EngineState::FindActivePrincipalByKey(std::string_view public_key) const {
  auto it = active_principal_by_key_.find(std::string(public_key));
  return it == active_principal_by_key_.end() ? nullptr : FindPrincipal(it->second);
}

void EngineState::PutPrincipal(pb::Principal principal) {
  batch_->Put(Cf::kMeta, std::string(kMetaPrincipalPrefix) + principal.name(),
             principal.SerializeAsString());
  auto& slot = principals_[principal.name()];
  if (!slot.public_key().empty()) active_principal_by_key_.erase(slot.public_key());
  if (principal.revoked_at_ms() == 0) active_principal_by_key_[principal.public_key()] = principal.name();
  slot = std::move(principal);
  ++principals_version_;
}

pb::StatCounters& EngineState::MutableCounters(std::string_view month, std::string_view scope) {
  ResidentMonth(month);  // read back if archived; kept if its archive is being written
  // No allocation unless the (month, scope) is new.
  CounterKey(month, scope, &counter_key_);
  auto it = counters_.find(counter_key_);
  return MarkCounterChanged(it != counters_.end() ? &*it : &CounterSlot(counter_key_));
}

pb::StatCounters& EngineState::MarkCounterChanged(CounterNode* node) {
  if (!node->second.dirty) {
    node->second.dirty = true;
    dirty_counters_.push_back(node);
  }
  return node->second.counters;
}

void EngineState::CountingMonth(int64_t at_ms) {
  if (at_ms < counting_month_from_ms_ || at_ms > counting_month_to_ms_) {
    std::string month = MonthOf(at_ms, city_.settings().utc_offset_minutes());
    if (counting_month_from_ms_ <= counting_month_to_ms_ && counting_month_->first == month) {
      counting_month_from_ms_ = std::min(counting_month_from_ms_, at_ms);
      counting_month_to_ms_ = std::max(counting_month_to_ms_, at_ms);
    } else {
      counting_month_ = ResidentMonth(month);
      counting_month_from_ms_ = counting_month_to_ms_ = at_ms;
      // A month new to counting (added here, or loaded from meta) gets its slots once.
      std::vector<CounterNode*>& by_scope = counting_month_->second.by_scope;
      if (by_scope.empty()) {
        by_scope.assign(city_.region_count() + city_.department_count() + std::size(kLadder), nullptr);
      }
    }
  }
}

template <typename ScopeName>
pb::StatCounters& EngineState::MutableScopeCounters(int64_t at_ms, size_t slot, ScopeName scope_name) {
  CountingMonth(at_ms);
  CounterNode*& node = counting_month_->second.by_scope[slot];
  if (node == nullptr) {
    CounterKey(counting_month_->first, scope_name(), &counter_key_);
    node = &CounterSlot(counter_key_);
  }
  return MarkCounterChanged(node);
}

pb::StatCounters& EngineState::MutableRegionCounters(int64_t at_ms, int region) {
  return MutableScopeCounters(at_ms, static_cast<size_t>(region),
                              [&] { return RegionScope(city_.RegionAt(region).code()); });
}

pb::StatCounters& EngineState::MutableDepartmentCounters(int64_t at_ms, std::string_view department) {
  const int index = city_.DepartmentIndex(department);
  if (index < 0) {  // in an event from before the city's configuration lost it
    CountingMonth(at_ms);
    return MutableCounters(counting_month_->first, DepartmentScope(department));
  }
  return MutableScopeCounters(at_ms, city_.region_count() + static_cast<size_t>(index),
                              [&] { return DepartmentScope(department); });
}

pb::StatCounters& EngineState::MutableLevelCounters(int64_t at_ms, pb::Level level) {
  WHISTLE_CHECK(IsHandlingLevel(level), "counting for level %d, which handles nothing", level);
  const size_t slot = city_.region_count() + city_.department_count() +
                      static_cast<size_t>(level - pb::LEVEL_COMMUNITY);
  return MutableScopeCounters(at_ms, slot, [&] { return LevelScope(level); });
}

EngineState::CounterNode& EngineState::CounterSlot(std::string_view key) {
  // The month first: an archived month's values are read back before the caller's go on top.
  MonthIterator month = ResidentMonth(CounterMonth(key));
  auto [it, added] = counters_.try_emplace(std::string(key));
  if (added) month->second.nodes.push_back(&*it);  // counters_'s nodes never move
  return *it;
}

EngineState::MonthIterator EngineState::ResidentMonth(std::string_view month) {
  if (auto in_memory = counters_by_month_.find(month); in_memory != counters_by_month_.end()) {
    // Counted into again while its archive is written: it stays, under newer values on disk too.
    if (auto archiving = archiving_.find(month); archiving != archiving_.end()) archiving_.erase(archiving);
    return in_memory;
  }
  // Counting cannot fail, and must not count a month whose earlier counts it cannot read: the
  // process stops instead (only a clock that stepped back across a month's end gets here).
  Status read = ReadBackIfArchived(month);
  WHISTLE_CHECK(read.ok(), "reading back the archived counters of %.*s: %s", int(month.size()),
                month.data(), read.ToString().c_str());
  return counters_by_month_.try_emplace(std::string(month)).first;
}

Status EngineState::ReadBackIfArchived(std::string_view month) {
  auto archived = archived_months_.find(month);
  if (archived == archived_months_.end()) return Status::Ok();
  WHISTLE_CHECK(!counters_by_month_.contains(month), "month %s is in memory and archived",
                archived->c_str());
  std::vector<std::pair<std::string, pb::StatCounters>> read;
  const std::string begin = MonthKeysBegin(kMetaStatArchivePrefix, month);
  auto cursor = store_.NewCursor(Cf::kMeta);
  for (cursor->Seek(begin); cursor->Valid() && cursor->key().starts_with(begin); cursor->Next()) {
    auto& [key, counters] = read.emplace_back(cursor->key().substr(kMetaStatArchivePrefix.size()),
                                              pb::StatCounters());
    if (!counters.ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal(fmt::format("the archived counters of {} are corrupt", key));
    }
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  // Nothing changes unless the whole month was read.
  MonthCounters& in_memory = counters_by_month_.try_emplace(std::string(month)).first->second;
  for (auto& [key, counters] : read) {
    auto [node, added] = counters_.try_emplace(std::move(key));
    WHISTLE_CHECK(added, "archived counter %s is in memory already", node->first.c_str());
    node->second.counters = std::move(counters);
    in_memory.nodes.push_back(&*node);
  }
  in_memory.sorted = in_memory.nodes.size();  // read in key order
  archived_months_.erase(archived);
  return Status::Ok();
}

void EngineState::ArchiveMonth(MonthIterator month) {
  for (const CounterNode* node : month->second.nodes) {
    batch_->Put(Cf::kMeta, ArchiveKey(node->first), node->second.counters.SerializeAsString());
  }
  batch_->Delete(Cf::kMeta, fmt::format("{}{}", kMetaStatMonthPrefix, month->first));
  DeleteKeyPerCounterKeys(month->first);
  archiving_[month->first] = last_seq_;
}

void EngineState::DeleteKeyPerCounterKeys(const std::string& month) {
  auto old = key_per_counter_months_.find(month);
  if (old == key_per_counter_months_.end()) return;
  batch_->DeleteRange(Cf::kMeta, MonthKeysBegin(kMetaStatPrefix, month), MonthKeysEnd(kMetaStatPrefix, month));
  key_per_counter_months_.erase(old);
}

void EngineState::PutIdempotency(const std::string& request_id, pb::IdempotencyEntry entry) {
  batch_->Put(Cf::kIdempotency, request_id, entry.SerializeAsString());
  pending_idempotency_[request_id] = std::move(entry);
}

const pb::Record& EngineState::LogRecord(pb::Record record) {
  record.set_seq(++last_seq_);
  last_record_ms_ = std::max(last_record_ms_, record.at_ms());
  if (record.event_id() != 0) {
    pb::Event& e = MutableEvent(record.event_id());
    record.set_event_seq(e.history_size());
    e.set_history_size(e.history_size() + 1);
  }
  // The history and the log hold the same bytes.
  const std::string bytes = record.SerializeAsString();
  if (record.event_id() != 0) {
    batch_->Put(Cf::kHistory, storage::HistoryKey(record.event_id(), record.event_seq()), bytes);
  }
  batch_->Put(Cf::kLog, storage::LogKey(record.seq()), bytes);
  batch_records_.push_back(std::move(record));
  return batch_records_.back();
}

void EngineState::PlanTimer(pb::Event* e) const {
  int64_t due = 0;
  pb::TimerKind kind = pb::TIMER_NONE;
  if (e->state() == pb::STATE_DISPATCHED && (!e->overdue() || e->overdue_redispatch())) {
    due = e->claim_deadline_ms();
    kind = pb::TIMER_CLAIM_DEADLINE;
  } else if (IsClaimed(e->state()) && !e->overdue()) {
    due = e->resolve_deadline_ms();
    kind = pb::TIMER_RESOLVE_DEADLINE;
  } else if (e->state() == pb::STATE_RESOLVED) {
    due = e->resolved_at_ms() + city_.settings().auto_close_seconds() * 1000;
    kind = pb::TIMER_AUTO_CLOSE;
  }
  e->set_timer_due_ms(due);
  e->set_timer_kind(kind);
}

EngineState::IndexInputs EngineState::IndexInputsOf(const pb::Event& e) {
  return {IndexBucketOf(e.state()), e.level(), e.grid(), InvolvedDepartments(e), Reporters(e)};
}

std::vector<std::string> EngineState::IndexKeys(uint64_t id, const IndexInputs& in, bool regions) const {
  using storage::IndexKey;
  using storage::IndexTag;
  using storage::IndexBucket;
  std::vector<std::string> keys;
  for (auto d : in.departments) keys.push_back(IndexKey(IndexTag::kDepartment, d, in.bucket, id));
  if (regions && city_.FindRegion(in.grid) != nullptr) {
    for (const pb::Region* r : city_.Ancestry(in.grid)) {
      keys.push_back(IndexKey(IndexTag::kRegion, r->code(), in.bucket, id));
    }
  }
  keys.push_back(IndexKey(IndexTag::kLevel, LevelIndexName(in.level), in.bucket, id));
  for (auto p : in.reporters) keys.push_back(IndexKey(IndexTag::kReporter, p, IndexBucket::kAll, id));
  std::sort(keys.begin(), keys.end());
  return keys;
}

void EngineState::CounterKey(std::string_view month, std::string_view scope, std::string* key) {
  key->assign(month);
  key->push_back('|');
  key->append(scope);
}

std::string_view EngineState::CounterMonth(std::string_view key) {
  return key.substr(0, key.find('|'));
}

void EngineState::DuplicateKey(std::string_view grid, std::string_view category, std::string* key) {
  key->assign(grid);
  key->push_back('|');
  key->append(category);
}

void EngineState::AddUnresolved(const pb::Event& e) {
  DuplicateKey(e.grid(), e.report().category(), &duplicate_key_);
  std::vector<Unresolved>& events = unresolved_by_grid_category_[duplicate_key_];
  // Sorted by id. Usually the newest event, so at the end: a push_back.
  auto at = std::lower_bound(events.begin(), events.end(), e.id());
  WHISTLE_CHECK(at == events.end() || at->id != e.id(), "event %llu is in the duplicate index twice",
                static_cast<unsigned long long>(e.id()));
  events.insert(at, Unresolved{e.id(), e.created_at_ms()});
}

void EngineState::RemoveUnresolved(const pb::Event& e) {
  DuplicateKey(e.grid(), e.report().category(), &duplicate_key_);
  auto it = unresolved_by_grid_category_.find(duplicate_key_);
  if (it == unresolved_by_grid_category_.end()) return;
  std::vector<Unresolved>& events = it->second;
  auto at = std::lower_bound(events.begin(), events.end(), e.id());
  if (at != events.end() && at->id == e.id()) events.erase(at);
  if (events.empty()) unresolved_by_grid_category_.erase(it);
}

void EngineState::FinishCommand() {
  for (auto& [id, before] : touched_) {
    // Locate the event and keep it in the map its state belongs to.
    pb::Event* e;
    if (auto h = hot_.find(id); h != hot_.end()) {
      e = &h->second;
      if (!IsOpen(e->state())) {
        e = &(cold_[id] = std::move(h->second));
        hot_.erase(h);
        open_.erase(id);
      }
    } else {
      auto c = cold_.find(id);
      WHISTLE_CHECK(c != cold_.end(), "touched event %llu vanished", static_cast<unsigned long long>(id));
      e = &c->second;
      if (IsOpen(e->state())) {
        e = &(hot_[id] = std::move(c->second));
        cold_.erase(c);
      }
    }
    WHISTLE_CHECK(e->state() != pb::STATE_SUBMITTED && e->state() != pb::STATE_REOPENED,
                  "event %llu left at rest in a transient state", static_cast<unsigned long long>(id));
    PlanTimer(e);

    // Timer.
    int64_t old_due = before ? before->timer_due_ms() : 0;
    if (old_due != e->timer_due_ms()) {
      if (old_due > 0) batch_->Delete(Cf::kTimers, storage::TimerKey(old_due, id));
      if (e->timer_due_ms() > 0) {
        batch_->Put(Cf::kTimers, storage::TimerKey(e->timer_due_ms(), id), "");
        timers_.push({e->timer_due_ms(), id});
      }
    }

    // Secondary indexes: delete what no longer holds, add what is new. Most commands (a claim,
    // progress, a resolve) change none of what the keys are made of.
    const IndexInputs new_inputs = IndexInputsOf(*e);
    const std::optional<IndexInputs> old_inputs = before ? std::optional(IndexInputsOf(*before)) : std::nullopt;
    if (old_inputs != new_inputs) {
      const bool regions =
          !old_inputs || old_inputs->bucket != new_inputs.bucket || old_inputs->grid != new_inputs.grid;
      std::vector<std::string> old_keys =
          old_inputs ? IndexKeys(id, *old_inputs, regions) : std::vector<std::string>{};
      std::vector<std::string> new_keys = IndexKeys(id, new_inputs, regions);
      std::vector<std::string> gone, added;
      std::set_difference(old_keys.begin(), old_keys.end(), new_keys.begin(), new_keys.end(),
                          std::back_inserter(gone));
      std::set_difference(new_keys.begin(), new_keys.end(), old_keys.begin(), old_keys.end(),
                          std::back_inserter(added));
      for (const auto& k : gone) batch_->Delete(Cf::kIndexes, k);
      for (const auto& k : added) batch_->Put(Cf::kIndexes, k, "");
      // tag name 0x00 | bucket(1) id(8): what a List's cursor would find changed.
      for (const auto* keys : {&gone, &added}) {
        for (const auto& k : *keys) batch_index_prefixes_.emplace(std::string_view(k).substr(0, k.size() - 9));
      }
    }

    const bool was_open = before && IsOpen(before->state());
    if (was_open && IsOpen(e->state())) {
      open_tally_.Replace(*before, *e, last_seq_);
    } else {
      if (was_open) open_tally_.Remove(*before, last_seq_);
      if (IsOpen(e->state())) open_tally_.Add(*e, last_seq_);
    }

    // Duplicate index. An entry is made of what a Submit set (grid, category, id, creation), so an
    // event that stays unresolved keeps it.
    const bool was_unresolved = before && IsUnresolved(before->state());
    const bool same_entry = was_unresolved && IsUnresolved(e->state()) && before->grid() == e->grid() &&
                            before->report().category() == e->report().category() &&
                            before->created_at_ms() == e->created_at_ms();
    if (!same_entry) {
      if (was_unresolved) RemoveUnresolved(*before);
      if (IsUnresolved(e->state())) AddUnresolved(*e);
    }

    std::string bytes = e->SerializeAsString();
    batch_->Put(Cf::kEvents, storage::EventKey(id), bytes);
    if (IsOpen(e->state())) open_[id] = OpenEvent{std::move(bytes), e->timer_due_ms(), e->timer_kind()};
  }
  touched_.clear();
}

std::vector<DueTimer> EngineState::TakeDueTimers(int64_t now_ms, size_t max) {
  std::vector<DueTimer> due;
  while (!timers_.empty() && timers_.top().due_ms <= now_ms && due.size() < max) {
    TimerEntry t = timers_.top();
    timers_.pop();
    auto it = open_.find(t.id);
    // Stale entries (the event moved on and planned another timer, or none) are skipped.
    if (it == open_.end() || it->second.timer_due_ms != t.due_ms) continue;
    due.push_back({t.id, t.due_ms, it->second.timer_kind});
  }
  return due;
}

EngineState::SealedBatch EngineState::Seal() {
  WHISTLE_CHECK(touched_.empty(), "Seal with a command left unfinished");
  SealedBatch sealed;
  // What this batch changed stays readable from memory until its write is done: the store shows
  // it only then, and later batches are decided before that (see Seal in the header).
  Overlay& overlay = sealed_.emplace_back();
  overlay.last_seq = last_seq_;
  overlay.records = std::make_shared<const std::vector<pb::Record>>(std::move(batch_records_));
  batch_records_.clear();
  sealed.records = overlay.records;
  sealed.last_seq = last_seq_;
  overlay.index_prefixes = std::move(batch_index_prefixes_);
  batch_index_prefixes_.clear();
  hot_.clear();  // open_ holds their bytes
  if (batch_->count() == 0) {
    cold_.clear();  // only read, not changed: the store or an earlier sealed batch holds them
    return sealed;
  }
  batch_->Put(Cf::kMeta, kMetaLastSeq, Fixed64(last_seq_));
  batch_->Put(Cf::kMeta, kMetaNextEventId, Fixed64(next_event_id_));
  StageCounters();
  overlay.events = std::move(cold_);
  overlay.idempotency = std::move(pending_idempotency_);
  cold_.clear();
  pending_idempotency_.clear();
  sealed.write = std::exchange(batch_, std::make_unique<storage::WriteBatch>(store_));
  return sealed;
}

void EngineState::StageCounters() {
  if (dirty_counters_.empty()) return;
  CounterSetWriter changed;
  for (CounterNode* node : dirty_counters_) {
    std::string_view month = CounterMonth(node->first);
    if (!months_since_fold_.contains(month)) months_since_fold_.emplace(month);
    node->second.dirty = false;
    changed.Add(node->first, node->second.counters);
  }
  dirty_counters_.clear();
  std::string bytes = changed.Finish();
  journal_bytes_ += bytes.size();
  if (journal_bytes_ < counter_fold_bytes_) {
    // Counters change only as records are applied, so each batch that changed some has a newer
    // last sequence number: one entry would otherwise replace another's counters.
    WHISTLE_CHECK(last_seq_ > last_journal_seq_, "two journal entries at seq %llu",
                  static_cast<unsigned long long>(last_seq_));
    last_journal_seq_ = last_seq_;
    batch_->Put(Cf::kMeta, std::string(kMetaStatJournalPrefix) + Fixed64(last_seq_), bytes);
    return;
  }
  // Fold: each month the journal touched, whole and sorted (the same counters give the same bytes,
  // however the batches fell), replaces the journal and that month's keys of the old layout.
  batch_->DeleteRange(Cf::kMeta, kMetaStatJournalPrefix, kMetaStatJournalEnd);
  // The oldest month before the one counted into last is archived ("Counters of past months"):
  // one a fold, so that a store with years of months in memory (written before archives) sheds
  // them over as many folds, not in one write of a million keys.
  if (counting_month_from_ms_ <= counting_month_to_ms_) {
    for (auto month = counters_by_month_.begin();
         month != counters_by_month_.end() && month->first < counting_month_->first; ++month) {
      if (archiving_.contains(month->first)) continue;
      ArchiveMonth(month);
      break;
    }
  }
  for (const std::string& month : months_since_fold_) {
    if (archiving_.contains(month)) continue;  // archived above, counter by counter
    MonthCounters& in_month = counters_by_month_.at(month);
    auto by_key = [](const CounterNode* a, const CounterNode* b) { return a->first < b->first; };
    auto added = in_month.nodes.begin() + static_cast<ptrdiff_t>(in_month.sorted);
    std::sort(added, in_month.nodes.end(), by_key);
    std::inplace_merge(in_month.nodes.begin(), added, in_month.nodes.end(), by_key);
    in_month.sorted = in_month.nodes.size();
    CounterSetWriter whole;
    for (const CounterNode* node : in_month.nodes) whole.Add(node->first, node->second.counters);
    batch_->Put(Cf::kMeta, std::string(kMetaStatMonthPrefix) + month, whole.Finish());
    DeleteKeyPerCounterKeys(month);
  }
  months_since_fold_.clear();
  journal_bytes_ = 0;
}

void EngineState::Release(uint64_t last_seq) {
  WHISTLE_CHECK(!sealed_.empty() && sealed_.front().last_seq == last_seq,
                "Release of a batch that is not the oldest sealed one");
  durable_seq_ = sealed_.front().last_seq;
  sealed_.pop_front();
  // Months whose archive is now on disk leave memory.
  for (auto archived = archiving_.begin(); archived != archiving_.end();) {
    if (archived->second > last_seq) {
      ++archived;
      continue;
    }
    MonthIterator month = counters_by_month_.find(archived->first);
    for (const CounterNode* node : month->second.nodes) {
      WHISTLE_CHECK(!node->second.dirty, "counter %s changed in a month being archived", node->first.c_str());
      counters_.erase(counters_.find(node->first));
    }
    if (counting_month_from_ms_ <= counting_month_to_ms_ && counting_month_ == month) {
      counting_month_from_ms_ = 0;
      counting_month_to_ms_ = -1;
    }
    archived_months_.insert(month->first);
    counters_by_month_.erase(month);
    archived = archiving_.erase(archived);
  }
}

Status EngineState::Commit() {
  SealedBatch sealed = Seal();
  Status s = sealed.write ? store_.Write(*sealed.write) : Status::Ok();
  // On failure the overlay stays: the engine refuses everything from now on (see the header).
  if (s.ok()) Release(sealed.last_seq);
  return s;
}

}  // namespace whistle
