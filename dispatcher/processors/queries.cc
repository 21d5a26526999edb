// The queries: Get, List, Stats, Log (read-only), and Checkpoint (writes a copy elsewhere).
#include <algorithm>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "dispatcher/authorization.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"
#include "dispatcher/stats.h"
#include "storage/keys.h"
#include "whistle/hash.h"

namespace whistle {
namespace {

constexpr uint32_t kDefaultPageSize = 50;
// Records of an event's history one Get answers (GetQuery.with_history): about 150 KB.
constexpr uint32_t kHistoryPage = 1000;
constexpr int kMaxListFilterValues = 32;
// What one List page may cost the engine thread: a narrow filter over a big store answers a short
// page (with a next_cursor) instead of holding it, and every other request with it. Counted in
// entries looked at, an event read from the store costing kStoreReadCost: on a Beijing-size store
// a walk parses an event from memory or a cursor's bytes in about 2 us and reads one from the
// store in 7-13 us (docs/BENCHMARKS.md, "A List's budget"), so a page stops within about 5 ms.
// A page of the default max_page_size (500) events all read from the store fits; a larger
// configured page may come back short, with its cursor.
constexpr uint32_t kPageBudget = 2000;
constexpr uint32_t kStoreReadCost = 4;

pb::Response Ok() { return pb::Response(); }

// Records [from, before) of an event's history, in order: from the store, then those not on
// disk yet (a batch being written may be in the cursor's view already: each record's place in
// the history says whether it was).
Status ReadHistory(const EngineState& state, uint64_t id, uint32_t from, uint32_t before,
                   google::protobuf::RepeatedPtrField<pb::Record>* out) {
  const std::string prefix = storage::HistoryPrefix(id);
  auto cursor = state.store().NewHistoryCursor();
  for (cursor->Seek(storage::HistoryKey(id, from));
       cursor->Valid() && cursor->key().starts_with(prefix) && from + out->size() < before; cursor->Next()) {
    if (!out->Add()->ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal(fmt::format("history of event {} is corrupt", id));
    }
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  state.ForEachUnwrittenRecord(id, [&](const pb::Record& r) {
    if (r.event_seq() == from + static_cast<uint32_t>(out->size()) && r.event_seq() < before) *out->Add() = r;
  });
  return Status::Ok();
}

// The first sequence number in [lo, hi] whose record is at or after `from_ms`, or hi + 1: a
// binary search, since the engine writes records in time order (Engine::Process).
Result<uint64_t> FirstRecordAtOrAfter(storage::Cursor& cursor, uint64_t lo, uint64_t hi,
                                      int64_t from_ms) {
  uint64_t end = hi + 1;
  while (lo < end) {
    uint64_t mid = lo + (end - lo) / 2;
    cursor.Seek(storage::LogKey(mid));
    pb::Record r;
    if (!cursor.Valid()) {
      if (Status s = cursor.status(); !s.ok()) return s;
      return Internal(fmt::format("the log has no record {}", mid));
    }
    if (!r.ParseFromArray(cursor.value().data(), static_cast<int>(cursor.value().size()))) {
      return Internal("the log is corrupt");
    }
    if (r.at_ms() < from_ms) {
      lo = mid + 1;
    } else {
      end = mid;
    }
  }
  return lo;
}

}  // namespace

Result<pb::Response> GetProcessor::Answer(const Command& command, const EngineState& state) const {
  const pb::GetQuery& q = command.request.get();
  uint64_t id = q.event_id();
  if (!q.submit_request_id().empty()) {
    if (id != 0) return BadRequest("get takes an event_id or a submit_request_id, not both");
    if (q.submit_request_id().size() > kMaxIdBytes) {  // no Submit could have used it
      return BadRequest(fmt::format("submit_request_id is {} bytes; the limit is {}", q.submit_request_id().size(),
                                    kMaxIdBytes));
    }
    // The first answer to that Submit, kept for idempotency, names the event it created. Only a
    // Submit's entry is kept for good (expires_at_ms 0); another command's with that request id
    // names an event too, but not one this request id created (entries written before entries
    // expired, until whistle-compact tells them apart, are taken as they are).
    auto first = state.FindIdempotency(
        storage::IdempotencyKey(command.actor.principal(), q.submit_request_id()));
    if (!first.ok()) return first.status();
    pb::Response answer;
    if (!first->has_value() || (*first)->expires_at_ms() != 0 ||
        !answer.ParseFromString((*first)->response()) || !answer.has_event()) {
      return NotFound(fmt::format("no report was submitted with request id '{}'",
                                  q.submit_request_id().substr(0, kMaxIdBytes)));
    }
    id = answer.event().event().id();
  }
  auto event = RequireEvent(state, id);
  if (!event.ok()) return event.status();
  pb::Response reply = Ok();
  pb::EventView* view = reply.mutable_event();
  *view->mutable_event() = **event;
  if (q.with_history()) {
    // A page from the newest back: an event repeated thousands of times has a history as long.
    const uint32_t size = (*event)->history_size();
    const uint32_t before = q.history_before() == 0 ? size : std::min(q.history_before(), size);
    const uint32_t from = before > kHistoryPage ? before - kHistoryPage : 0;
    if (Status s = ReadHistory(state, id, from, before, view->mutable_history()); !s.ok()) return s;
    view->set_older_history(from);
  }
  return reply;
}

namespace {

bool IsRestingState(pb::EventState s) {
  return IsOpen(s) || s == pb::STATE_CLOSED || s == pb::STATE_CANCELLED || s == pb::STATE_MERGED;
}

// The filters every listing applies on top of its scope.
struct ListFilter {
  const pb::ListQuery& q;

  bool Matches(const pb::Event& e) const {
    if (q.state() != pb::STATE_UNSPECIFIED && e.state() != q.state()) return false;
    if (!q.states().empty() &&
        std::find(q.states().begin(), q.states().end(), e.state()) == q.states().end()) {
      return false;
    }
    if (!q.categories().empty() && std::find(q.categories().begin(), q.categories().end(),
                                             e.report().category()) == q.categories().end()) {
      return false;
    }
    if (q.created_from_ms() != 0 && e.created_at_ms() < q.created_from_ms()) return false;
    if (q.created_before_ms() != 0 && e.created_at_ms() >= q.created_before_ms()) return false;
    return true;
  }
};

Status CheckListFilters(const pb::ListQuery& q, const City& city) {
  if (q.state() != pb::STATE_UNSPECIFIED && !IsRestingState(q.state())) {
    return BadRequest(fmt::format("no event rests in state {}", StateName(q.state())));
  }
  if (q.state() != pb::STATE_UNSPECIFIED && !q.states().empty()) {
    return BadRequest("list takes a state or a set of states, not both");
  }
  if (q.states_size() > kMaxListFilterValues || q.categories_size() > kMaxListFilterValues) {
    return BadRequest(fmt::format("at most {} states and {} categories", kMaxListFilterValues,
                                  kMaxListFilterValues));
  }
  for (int s : q.states()) {
    auto st = static_cast<pb::EventState>(s);
    if (!pb::EventState_IsValid(s) || !IsRestingState(st)) {
      return BadRequest(fmt::format("no event rests in state {}", s));
    }
  }
  for (const std::string& c : q.categories()) {
    if (city.FindCategory(c) == nullptr) {
      return NotFound(fmt::format("unknown category '{}'", c.substr(0, kMaxIdBytes)));
    }
  }
  if (q.created_from_ms() < 0 || q.created_before_ms() < 0) {
    return BadRequest("created_from_ms and created_before_ms are Unix milliseconds");
  }
  return Status::Ok();
}

// One page of a listing. Walks `cursor` from where it stands, a key at a time with `step` (Next or
// Prev), while its keys start with `prefix`; reads each key's event with `read`
// (Result<EngineState::EventRead>) into the page, and keeps it only when `keep` says it belongs
// there. Ids grow with creation time, so a newest-first walk (Prev) stops at the first event
// created before created_from_ms. A page cut short by its size or by kPageBudget says where to go
// on: the last key looked at.
template <typename Read, typename Keep>
Status ReadPage(storage::Cursor& cursor, std::string_view prefix, void (storage::Cursor::*step)(),
                const pb::ListQuery& q, uint32_t page, Read read, Keep keep, pb::ListResult* result) {
  const ListFilter filter{q};
  const bool newest_first = step == &storage::Cursor::Prev;
  std::string last_key;
  uint32_t spent = 0;
  for (; cursor.Valid() && cursor.key().starts_with(prefix); (cursor.*step)()) {
    if (static_cast<uint32_t>(result->events_size()) == page || spent >= kPageBudget) {
      result->set_next_cursor(last_key);
      break;
    }
    last_key = std::string(cursor.key());
    // Read into the page, and taken out again when it does not belong there.
    pb::Event* e = result->add_events();
    auto read_from = read(cursor, e);
    if (!read_from.ok()) return read_from.status();
    spent += *read_from == EngineState::EventRead::kFromStore ? kStoreReadCost : 1;
    const bool found = *read_from != EngineState::EventRead::kNotFound;
    const bool too_old = newest_first && found && q.created_from_ms() != 0 &&
                         e->created_at_ms() < q.created_from_ms();
    if (!found || too_old || !keep(*e) || !filter.Matches(*e))
      result->mutable_events()->RemoveLast();
    if (too_old) break;
  }
  return cursor.status();
}

// Places a newest-first walk: at the last key at or before `last` on a first page, else just
// before the previous page's cursor.
void SeekNewestFirst(storage::Cursor& cursor, std::string_view last, std::string_view page_cursor) {
  cursor.SeekForPrev(page_cursor.empty() ? last : page_cursor);
  if (!page_cursor.empty() && cursor.Valid() && cursor.key() == page_cursor) cursor.Prev();
}

// The key of the newest event created before `before_ms` (EventKey(0), before every event, when
// none was): ids grow with creation time (the engine's time never goes back), so a binary search
// over ids, each probe a seek to the event at or before it, finds it in about 24 reads at 10 M
// events. The city-wide walk starts there rather than at the newest event: a search of a past
// window would otherwise read every event since, a page's budget at a time.
Result<std::string> NewestCreatedBefore(storage::Cursor& cursor, const EngineState& state,
                                        int64_t before_ms) {
  auto created_before = [&](uint64_t id) -> Result<bool> {  // the event at or before `id`
    cursor.SeekForPrev(storage::EventKey(id));
    if (!cursor.Valid()) return cursor.status().ok() ? Result<bool>(true) : Result<bool>(cursor.status());
    pb::Event e;
    auto found = state.ReadEvent(storage::DecodeFixed64BE(cursor.key().data()), &e, cursor.value());
    if (!found.ok()) return found.status();
    return *found == EngineState::EventRead::kNotFound || e.created_at_ms() < before_ms;
  };
  cursor.SeekForPrev(storage::EventKey(UINT64_MAX));
  if (!cursor.Valid()) {
    if (!cursor.status().ok()) return cursor.status();
    return storage::EventKey(UINT64_MAX);  // no event at all
  }
  uint64_t lo = 0, hi = storage::DecodeFixed64BE(cursor.key().data());  // created_before(lo), !(hi)
  auto newest = created_before(hi);
  if (!newest.ok()) return newest.status();
  if (*newest) return storage::EventKey(UINT64_MAX);
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto before = created_before(mid);
    if (!before.ok()) return before.status();
    (*before ? lo : hi) = mid;
  }
  return storage::EventKey(lo);
}

// Every event, newest first: a backwards walk of the events column family.
Result<pb::Response> ListCity(const pb::ListQuery& q, const EngineState& state, uint32_t page) {
  if (!q.cursor().empty() && q.cursor().size() != 8) {
    return BadRequest("cursor does not belong to this listing");
  }
  pb::Response reply = Ok();
  auto cursor = state.store().NewCursor(storage::Cf::kEvents);
  std::string newest = storage::EventKey(UINT64_MAX);
  if (q.cursor().empty() && q.created_before_ms() != 0) {
    auto start = NewestCreatedBefore(*cursor, state, q.created_before_ms());
    if (!start.ok()) return start.status();
    newest = std::move(start).value();
  }
  SeekNewestFirst(*cursor, newest, q.cursor());
  auto read = [&](const storage::Cursor& at, pb::Event* e) {
    return state.ReadEvent(storage::DecodeFixed64BE(at.key().data()), e, at.value());
  };
  auto any = [](const pb::Event&) { return true; };
  if (Status s = ReadPage(*cursor, "", &storage::Cursor::Prev, q, page, read, any, reply.mutable_list());
      !s.ok()) {
    return s;
  }
  return reply;
}

// Reads the event an index key names. The index is as of the last commit, so this batch may have
// made the entry stale: the listing's `keep` re-checks the event.
Result<EngineState::EventRead> ReadIndexed(const EngineState& state, const storage::Cursor& at,
                                           pb::Event* e) {
  return state.ReadEvent(storage::IndexKeyId(at.key()), e);
}

// The caller's own reports, newest first: a backwards walk of its keys in the reporter index.
Result<pb::Response> ListMine(const pb::ListQuery& q, const EngineState& state, std::string_view principal,
                              uint32_t page) {
  if (!q.mine()) return BadRequest("mine must be true when given");
  pb::Response reply = Ok();
  if (principal.empty()) return reply;  // nobody's reports
  const std::string prefix =
      storage::IndexPrefix(storage::IndexTag::kReporter, principal, storage::IndexBucket::kAll);
  if (!q.cursor().empty() &&
      (q.cursor().size() != prefix.size() + 8 || !std::string_view(q.cursor()).starts_with(prefix))) {
    return BadRequest("cursor does not belong to this listing");
  }
  auto cursor = state.store().NewCursor(storage::Cf::kIndexes);
  SeekNewestFirst(*cursor, storage::IndexKey(storage::IndexTag::kReporter, principal,
                                             storage::IndexBucket::kAll, UINT64_MAX),
                  q.cursor());
  auto read = [&](const storage::Cursor& at, pb::Event* e) { return ReadIndexed(state, at, e); };
  auto reported = [&](const pb::Event& e) { return IsReporter(e, principal); };
  if (Status s = ReadPage(*cursor, prefix, &storage::Cursor::Prev, q, page, read, reported, reply.mutable_list());
      !s.ok()) {
    return s;
  }
  return reply;
}

}  // namespace

bool ListProcessor::NeedsEveryBatchWritten(const Command& command, const EngineState& state) const {
  const pb::ListQuery& q = command.request.list();
  switch (q.scope_case()) {
    case pb::ListQuery::kDepartment:
      return state.IndexChangedUnwritten(storage::IndexPrefix(storage::IndexTag::kDepartment, q.department()));
    case pb::ListQuery::kRegion:
      return state.IndexChangedUnwritten(storage::IndexPrefix(storage::IndexTag::kRegion, q.region()));
    case pb::ListQuery::kLevel:
      return state.IndexChangedUnwritten(storage::IndexPrefix(storage::IndexTag::kLevel, std::to_string(q.level())));
    case pb::ListQuery::kMine:
      return state.IndexChangedUnwritten(
          storage::IndexPrefix(storage::IndexTag::kReporter, command.actor.principal()));
    case pb::ListQuery::kCity:
      return true;  // the whole city walks the events, which any new one changes
    case pb::ListQuery::SCOPE_NOT_SET:
      return false;  // refused without a read: no reason to wait for anything
  }
  return true;
}

Result<pb::Response> ListProcessor::Answer(const Command& command, const EngineState& state) const {
  const pb::ListQuery& q = command.request.list();
  const City& city = state.city();
  if (Status s = CheckListFilters(q, city); !s.ok()) return s;
  uint32_t limit = static_cast<uint32_t>(city.settings().max_page_size());
  uint32_t page = q.page_size() == 0 ? std::min(kDefaultPageSize, limit) : q.page_size();
  auto check_page = [&]() -> Status {
    if (page <= limit) return Status::Ok();
    return BadRequest(fmt::format("page_size {} is over the limit of {}", page, limit));
  };
  if (q.scope_case() == pb::ListQuery::kCity) {
    if (!q.city()) return BadRequest("city must be true when given");
    if (Status s = check_page(); !s.ok()) return s;
    return ListCity(q, state, page);
  }
  if (q.scope_case() == pb::ListQuery::kMine) {
    if (Status s = check_page(); !s.ok()) return s;
    return ListMine(q, state, command.actor.principal(), page);
  }
  // When every state asked for is in one bucket of the index (open or closed), the walk stays in
  // that bucket; the filter picks the states within it.
  std::optional<storage::IndexBucket> bucket;
  if (q.state() != pb::STATE_UNSPECIFIED) bucket = IndexBucketOf(q.state());
  if (!q.states().empty()) {
    const storage::IndexBucket first = IndexBucketOf(static_cast<pb::EventState>(q.states(0)));
    const bool one_bucket = std::all_of(q.states().begin(), q.states().end(), [&](int s) {
      return IndexBucketOf(static_cast<pb::EventState>(s)) == first;
    });
    if (one_bucket) bucket = first;
  }
  auto prefix_of = [&](storage::IndexTag tag, std::string_view name) {
    return bucket ? storage::IndexPrefix(tag, name, *bucket) : storage::IndexPrefix(tag, name);
  };

  std::string prefix;
  std::function<bool(const pb::Event&)> in_scope;
  switch (q.scope_case()) {
    case pb::ListQuery::kDepartment: {
      if (auto d = RequireDepartment(city, q.department()); !d.ok()) return d.status();
      prefix = prefix_of(storage::IndexTag::kDepartment, q.department());
      in_scope = [&](const pb::Event& e) {
        auto involved = InvolvedDepartments(e);
        return std::binary_search(involved.begin(), involved.end(), std::string_view(q.department()));
      };
      break;
    }
    case pb::ListQuery::kRegion:
      if (city.FindRegion(q.region()) == nullptr) {
        return NotFound(fmt::format("unknown region '{}'", q.region().substr(0, kMaxIdBytes)));
      }
      prefix = prefix_of(storage::IndexTag::kRegion, q.region());
      in_scope = [&](const pb::Event& e) { return city.Contains(q.region(), e.grid()); };
      break;
    case pb::ListQuery::kLevel:
      if (!IsHandlingLevel(q.level())) return BadRequest("level must be community, street, county or city");
      prefix = prefix_of(storage::IndexTag::kLevel, std::to_string(q.level()));
      in_scope = [&](const pb::Event& e) { return e.level() == q.level(); };
      break;
    case pb::ListQuery::kCity:
    case pb::ListQuery::kMine:
    case pb::ListQuery::SCOPE_NOT_SET:
      return BadRequest("list needs a department, a region, a level, the whole city or mine");
  }
  if (!q.cursor().empty() && !std::string_view(q.cursor()).starts_with(prefix)) {
    return BadRequest("cursor does not belong to this listing");
  }
  if (Status s = check_page(); !s.ok()) return s;

  pb::Response reply = Ok();
  auto cursor = state.store().NewCursor(storage::Cf::kIndexes);
  cursor->Seek(q.cursor().empty() ? prefix : q.cursor());
  if (!q.cursor().empty() && cursor->Valid() && cursor->key() == q.cursor()) cursor->Next();
  auto read = [&](const storage::Cursor& at, pb::Event* e) { return ReadIndexed(state, at, e); };
  if (Status s = ReadPage(*cursor, prefix, &storage::Cursor::Next, q, page, read, in_scope, reply.mutable_list());
      !s.ok()) {
    return s;
  }
  return reply;
}

Result<pb::Response> StatsProcessor::Answer(const Command& command, const EngineState& state) const {
  const pb::Request& request = command.request;
  const pb::StatsQuery& q = request.stats();
  const City& city = state.city();
  if (!IsValidMonth(q.month())) {
    return BadRequest(fmt::format("month '{}' is not YYYY-MM", q.month().substr(0, kMaxIdBytes)));
  }
  std::string scope;
  switch (q.scope_case()) {
    case pb::StatsQuery::kDepartment:
      if (auto d = RequireDepartment(city, q.department()); !d.ok()) return d.status();
      scope = DepartmentScope(q.department());
      break;
    case pb::StatsQuery::kRegion:
      if (city.FindRegion(q.region()) == nullptr) {
        return NotFound(fmt::format("unknown region '{}'", q.region().substr(0, kMaxIdBytes)));
      }
      scope = RegionScope(q.region());
      break;
    case pb::StatsQuery::kLevel:
      if (!IsHandlingLevel(q.level())) return BadRequest("level must be community, street, county or city");
      scope = LevelScope(q.level());
      break;
    case pb::StatsQuery::SCOPE_NOT_SET:
      return BadRequest("stats needs a department, a region or a level");
  }
  pb::Response reply = Ok();
  pb::StatsResult* result = reply.mutable_stats();
  result->set_month(q.month());
  auto counters = state.Counters(q.month(), scope);
  if (!counters.ok()) return counters.status();
  if (counters->has_value()) *result->mutable_counters() = std::move(**counters);
  *result->mutable_rates() = RatesOf(result->counters());
  return reply;
}

namespace {

// Which events of a Log page a principal that does not read the whole log may read, each event
// looked up once a page (its records come together).
class LogScope {
 public:
  LogScope(const pb::Actor& actor, const EngineState& state) : reach_(actor, state), state_(state) {}

  bool whole() const { return reach_.whole(); }

  // False for a record of no event (a mode switch, a principal's record) and for an event that is
  // not the principal's to get.
  Result<bool> MayRead(uint64_t event_id) {
    if (event_id == 0) return false;
    if (auto known = readable_.find(event_id); known != readable_.end()) return known->second;
    auto event = state_.FindEvent(event_id);
    if (!event.ok()) return event.status();
    bool readable = *event != nullptr && reach_.Covers(**event);
    readable_.emplace(event_id, readable);
    return readable;
  }

 private:
  ReadReach reach_;
  const EngineState& state_;
  std::unordered_map<uint64_t, bool> readable_;
};

// What a Log answer says of a record its reader may not read: that it is there, and its mark.
void Withhold(pb::Record* record) {
  pb::Record kept;
  kept.set_seq(record->seq());
  kept.set_event_id(record->event_id());
  kept.set_at_ms(record->at_ms());
  kept.set_withheld(true);
  *record = std::move(kept);
}

}  // namespace

Result<pb::Response> LogProcessor::Answer(const Command& command, const EngineState& state) const {
  const pb::Request& request = command.request;
  const pb::LogQuery& q = request.log();
  uint32_t max = q.max_records() == 0 ? kDefaultLogRecords : q.max_records();
  if (max > kMaxLogRecords) {
    return BadRequest(fmt::format("max_records {} is over the limit of {}", max, kMaxLogRecords));
  }
  if (q.wait_ms() > kMaxLogWaitMs) {
    return BadRequest(
        fmt::format("wait_ms {} is over the limit of {}", q.wait_ms(), kMaxLogWaitMs));
  }
  if (q.wait_ms() != 0 && q.from_ms() != 0) {
    // A start in the future would be woken by every record and find none after it.
    return BadRequest("wait_ms waits for records after after_seq, not with from_ms");
  }
  pb::Response reply = Ok();
  pb::LogResult* result = reply.mutable_log();
  if (q.check_mark() && q.from_ms() != 0) {
    return BadRequest("check_mark reads on from after_seq, not from from_ms");
  }
  if (q.check_mark() && q.after_seq() == 0) {
    return BadRequest("check_mark needs a record after_seq, numbered from 1");
  }
  uint64_t last = state.committed_seq();
  result->set_last_seq(last);
  if (q.after_seq() >= last) return reply;
  if (q.from_ms() < 0) return BadRequest("from_ms is Unix milliseconds");
  auto cursor = state.store().NewCursor(storage::Cf::kLog);
  uint64_t first = q.after_seq() + 1;
  bool positioned = false;  // the cursor is at `first` already
  if (q.check_mark()) {
    // The same cursor reads the follower's last record, then goes on to what follows it.
    cursor->Seek(storage::LogKey(q.after_seq()));
    pb::Record known;
    const bool there =
        cursor->Valid() && storage::DecodeFixed64BE(cursor->key().data()) == q.after_seq();
    if (Status s = cursor->status(); !s.ok()) return s;
    if (there && !known.ParseFromArray(cursor->value().data(),
                                       static_cast<int>(cursor->value().size()))) {
      return Internal("the log is corrupt");
    }
    // Missing (the log is never trimmed) or another record: a different store.
    if (!there || known.at_ms() != q.mark_at_ms() || known.event_id() != q.mark_event_id()) {
      result->set_mark_differs(true);
      return reply;
    }
    result->set_mark_checked(true);
    cursor->Next();
    positioned = true;
  }
  if (q.from_ms() > 0) {
    auto found = FirstRecordAtOrAfter(*cursor, first, last, q.from_ms());
    if (!found.ok()) return found.status();
    first = *found;
  }
  LogScope scope(command.actor, state);
  const bool whole = scope.whole();
  if (!positioned) cursor->Seek(storage::LogKey(first));
  for (; cursor->Valid() && static_cast<uint32_t>(result->records_size()) < max; cursor->Next()) {
    if (storage::DecodeFixed64BE(cursor->key().data()) > last) break;
    pb::Record* record = result->add_records();
    if (!record->ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal("the log is corrupt");
    }
    if (whole) continue;
    auto readable = scope.MayRead(record->event_id());
    if (!readable.ok()) return readable.status();
    if (!*readable) Withhold(record);
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  return reply;
}

Result<pb::Response> CheckpointProcessor::Answer(const Command& command,
                                                 const EngineState& state) const {
  const pb::Request& request = command.request;
  const std::string& dir = request.checkpoint().dir();
  if (Status s = CheckText("dir", dir, true); !s.ok()) return s;
  // Taken between batches' commits, so it holds exactly what was acknowledged before.
  if (Status s = state.store().Checkpoint(dir); !s.ok()) return s;
  pb::Response reply = Ok();
  reply.mutable_checkpoint()->set_dir(dir);
  reply.mutable_checkpoint()->set_last_seq(state.committed_seq());
  return reply;
}

Result<pb::Response> DigestProcessor::Answer(const Command&, const EngineState& state) const {
  // Between batches nothing else writes, so the column families are one consistent state.
  uint64_t digest = Fnv1a64("whistle-digest-1");
  uint64_t entries = 0;
  for (int i = 0; i < storage::kCfCount; ++i) {
    auto cf = static_cast<storage::Cf>(i);
    digest = Fnv1a64(storage::CfName(cf), digest);
    auto cursor = state.store().NewCursor(cf);
    for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
      std::string lengths;
      storage::PutFixed32BE(&lengths, static_cast<uint32_t>(cursor->key().size()));
      storage::PutFixed32BE(&lengths, static_cast<uint32_t>(cursor->value().size()));
      digest = Fnv1a64(cursor->value(), Fnv1a64(cursor->key(), Fnv1a64(lengths, digest)));
      ++entries;
    }
    if (Status s = cursor->status(); !s.ok()) return s;
  }
  pb::Response reply = Ok();
  reply.mutable_digest()->set_digest(digest);
  reply.mutable_digest()->set_entries(entries);
  reply.mutable_digest()->set_last_seq(state.committed_seq());
  return reply;
}

}  // namespace whistle
