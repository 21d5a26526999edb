#include "dispatcher/replay.h"

#include <fmt/format.h>

#include "dispatcher/appliers.h"
#include "dispatcher/lifecycle.h"
#include "storage/keys.h"

namespace whistle {
namespace {

constexpr size_t kRecordsPerCommit = 10000;

// A command's records end when its event is at rest again (SUBMITTED and REOPENED never rest).
bool AtRest(const EngineState& state, uint64_t event_id) {
  if (event_id == 0) return true;
  auto e = state.FindEvent(event_id);
  return e.ok() && *e != nullptr && (*e)->state() != pb::STATE_SUBMITTED &&
         (*e)->state() != pb::STATE_REOPENED;
}

}  // namespace

Status ReplayLog(const storage::Store& source, EngineState& target) {
  if (target.last_seq() != 0) return BadRequest("replay needs an empty target store");
  auto cursor = source.NewCursor(storage::Cf::kLog);
  size_t since_commit = 0;
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    pb::Record record;
    if (!record.ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal(fmt::format("log record at key {} is corrupt",
                                  storage::DecodeFixed64BE(cursor->key().data())));
    }
    if (record.body_case() == pb::Record::kSubmitted && record.event_id() != target.next_event_id()) {
      return Internal(fmt::format("log record {} submits event {}, expected {}", record.seq(),
                                  record.event_id(), target.next_event_id()));
    }
    // Appliers change events the engine has read; terminal ones are read from disk on demand.
    if (record.event_id() != 0 && !record.has_submitted()) {
      auto e = target.FindEvent(record.event_id());
      if (!e.ok()) return e.status();
      if (*e == nullptr) {
        return Internal(fmt::format("log record {} names event {}, which does not exist", record.seq(),
                                    record.event_id()));
      }
    }
    uint64_t seq = record.seq();
    uint32_t event_seq = record.event_seq();
    ApplyRecord(record, target);
    const pb::Record& logged = target.LogRecord(std::move(record));
    if (logged.seq() != seq || logged.event_seq() != event_seq) {
      return Internal(fmt::format("log record {} replays as {} (event position {} vs {})", seq,
                                  logged.seq(), event_seq, logged.event_seq()));
    }
    if (AtRest(target, logged.event_id())) {
      target.FinishCommand();
      if (++since_commit >= kRecordsPerCommit) {
        if (Status s = target.Commit(); !s.ok()) return s;
        since_commit = 0;
      }
    }
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  target.FinishCommand();
  return target.Commit();
}

}  // namespace whistle
