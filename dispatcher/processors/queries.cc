// The queries: Get, List, Stats, Log (read-only), and Checkpoint (writes a copy elsewhere).
#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"
#include "dispatcher/stats.h"
#include "storage/keys.h"

namespace whistle {
namespace {

constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kDefaultLogRecords = 1000;
constexpr uint32_t kMaxLogRecords = 10000;

pb::Response Ok() { return pb::Response(); }

Status ReadHistory(const EngineState& state, uint64_t id, google::protobuf::RepeatedPtrField<pb::Record>* out) {
  std::string prefix = storage::HistoryPrefix(id);
  auto cursor = state.store().NewCursor(storage::Cf::kHistory);
  for (cursor->Seek(prefix); cursor->Valid() && cursor->key().starts_with(prefix); cursor->Next()) {
    if (!out->Add()->ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal(fmt::format("history of event {} is corrupt", id));
    }
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  for (const pb::Record& r : state.pending_records()) {  // this batch's, not yet on disk
    if (r.event_id() == id) *out->Add() = r;
  }
  return Status::Ok();
}

}  // namespace

Result<pb::Response> GetProcessor::Answer(const pb::Request& request, const EngineState& state) const {
  const pb::GetQuery& q = request.get();
  auto event = RequireEvent(state, q.event_id());
  if (!event.ok()) return event.status();
  pb::Response reply = Ok();
  pb::EventView* view = reply.mutable_event();
  *view->mutable_event() = **event;
  if (q.with_history()) {
    if (Status s = ReadHistory(state, q.event_id(), view->mutable_history()); !s.ok()) return s;
  }
  return reply;
}

Result<pb::Response> ListProcessor::Answer(const pb::Request& request, const EngineState& state) const {
  const pb::ListQuery& q = request.list();
  const City& city = state.city();
  if (q.state() != pb::STATE_UNSPECIFIED && !IsOpen(q.state()) && q.state() != pb::STATE_CLOSED &&
      q.state() != pb::STATE_CANCELLED && q.state() != pb::STATE_MERGED) {
    return BadRequest(fmt::format("no event rests in state {}", StateName(q.state())));
  }
  int state_filter = q.state() == pb::STATE_UNSPECIFIED ? -1 : static_cast<int>(q.state());

  std::string prefix;
  std::function<bool(const pb::Event&)> in_scope;
  switch (q.scope_case()) {
    case pb::ListQuery::kDepartment: {
      if (auto d = RequireDepartment(city, q.department()); !d.ok()) return d.status();
      prefix = storage::IndexPrefix(storage::IndexTag::kDepartment, q.department(), state_filter);
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
      prefix = storage::IndexPrefix(storage::IndexTag::kRegion, q.region(), state_filter);
      in_scope = [&](const pb::Event& e) { return city.Contains(q.region(), e.grid()); };
      break;
    case pb::ListQuery::kLevel:
      if (!IsHandlingLevel(q.level())) return BadRequest("level must be community, street, county or city");
      prefix = storage::IndexPrefix(storage::IndexTag::kLevel, std::to_string(q.level()), state_filter);
      in_scope = [&](const pb::Event& e) { return e.level() == q.level(); };
      break;
    case pb::ListQuery::SCOPE_NOT_SET:
      return BadRequest("list needs a department, a region or a level");
  }
  if (!q.cursor().empty() && !std::string_view(q.cursor()).starts_with(prefix)) {
    return BadRequest("cursor does not belong to this listing");
  }
  uint32_t limit = static_cast<uint32_t>(city.settings().max_page_size());
  uint32_t page = q.page_size() == 0 ? std::min(kDefaultPageSize, limit) : q.page_size();
  if (page > limit) return BadRequest(fmt::format("page_size {} is over the limit of {}", page, limit));

  pb::Response reply = Ok();
  pb::ListResult* result = reply.mutable_list();
  auto cursor = state.store().NewCursor(storage::Cf::kIndexes);
  cursor->Seek(q.cursor().empty() ? prefix : q.cursor());
  if (!q.cursor().empty() && cursor->Valid() && cursor->key() == q.cursor()) cursor->Next();
  std::string last_key;
  for (; cursor->Valid() && cursor->key().starts_with(prefix); cursor->Next()) {
    if (static_cast<uint32_t>(result->events_size()) == page) {
      result->set_next_cursor(last_key);
      break;
    }
    last_key = std::string(cursor->key());
    auto event = state.FindEvent(storage::IndexKeyId(cursor->key()));
    if (!event.ok()) return event.status();
    const pb::Event* e = *event;
    // The index is as of the last commit; skip entries this batch has already made stale.
    if (e == nullptr || !in_scope(*e) || (state_filter >= 0 && e->state() != q.state())) continue;
    *result->add_events() = *e;
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  return reply;
}

Result<pb::Response> StatsProcessor::Answer(const pb::Request& request, const EngineState& state) const {
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
  if (const pb::StatCounters* c = state.Counters(q.month(), scope)) *result->mutable_counters() = *c;
  *result->mutable_rates() = RatesOf(result->counters());
  return reply;
}

Result<pb::Response> LogProcessor::Answer(const pb::Request& request, const EngineState& state) const {
  const pb::LogQuery& q = request.log();
  uint32_t max = q.max_records() == 0 ? kDefaultLogRecords : q.max_records();
  if (max > kMaxLogRecords) {
    return BadRequest(fmt::format("max_records {} is over the limit of {}", max, kMaxLogRecords));
  }
  pb::Response reply = Ok();
  pb::LogResult* result = reply.mutable_log();
  uint64_t last = state.committed_seq();
  result->set_last_seq(last);
  if (q.after_seq() >= last) return reply;
  auto cursor = state.store().NewCursor(storage::Cf::kLog);
  for (cursor->Seek(storage::LogKey(q.after_seq() + 1));
       cursor->Valid() && static_cast<uint32_t>(result->records_size()) < max; cursor->Next()) {
    if (storage::DecodeFixed64BE(cursor->key().data()) > last) break;
    if (!result->add_records()->ParseFromArray(cursor->value().data(),
                                               static_cast<int>(cursor->value().size()))) {
      return Internal("the log is corrupt");
    }
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  return reply;
}

Result<pb::Response> CheckpointProcessor::Answer(const pb::Request& request,
                                                 const EngineState& state) const {
  const std::string& dir = request.checkpoint().dir();
  if (Status s = CheckText("dir", dir, true); !s.ok()) return s;
  // Taken between batches' commits, so it holds exactly what was acknowledged before.
  if (Status s = state.store().Checkpoint(dir); !s.ok()) return s;
  pb::Response reply = Ok();
  reply.mutable_checkpoint()->set_dir(dir);
  reply.mutable_checkpoint()->set_last_seq(state.committed_seq());
  return reply;
}

}  // namespace whistle
