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

// Applies records in sequence order. Commits at the end of a command (its event at rest again)
// once kRecordsPerCommit commands have ended since the last commit: a command's records are never
// split across commits.
class Replayer {
 public:
  explicit Replayer(EngineState& target) : target_(target) {}

  Status Apply(pb::Record record) {
    if (record.body_case() == pb::Record::kSubmitted &&
        record.event_id() != target_.next_event_id()) {
      return Internal(fmt::format("log record {} submits event {}, expected {}", record.seq(),
                                  record.event_id(), target_.next_event_id()));
    }
    // Appliers change events the engine has read; terminal ones are read from disk on demand.
    if (record.event_id() != 0 && !record.has_submitted()) {
      auto e = target_.FindEvent(record.event_id());
      if (!e.ok()) return e.status();
      if (*e == nullptr) {
        return Internal(fmt::format("log record {} names event {}, which does not exist", record.seq(),
                                    record.event_id()));
      }
    }
    uint64_t seq = record.seq();
    uint32_t event_seq = record.event_seq();
    ApplyRecord(record, target_);
    const pb::Record& logged = target_.LogRecord(std::move(record));
    if (logged.seq() != seq || logged.event_seq() != event_seq) {
      return Internal(fmt::format("log record {} replays as {} (event position {} vs {})", seq,
                                  logged.seq(), event_seq, logged.event_seq()));
    }
    if (AtRest(target_, logged.event_id())) {
      target_.FinishCommand();
      if (++since_commit_ >= kRecordsPerCommit) {
        if (Status s = target_.Commit(); !s.ok()) return s;
        since_commit_ = 0;
      }
    }
    return Status::Ok();
  }

  Status Finish() {
    target_.FinishCommand();
    return target_.Commit();
  }

 private:
  EngineState& target_;
  size_t since_commit_ = 0;
};

Status RequireEmpty(const EngineState& target) {
  return target.last_seq() == 0 ? Status::Ok() : BadRequest("replay needs an empty target store");
}

}  // namespace

Status ReplayLog(const storage::Store& source, EngineState& target) {
  if (Status s = RequireEmpty(target); !s.ok()) return s;
  Replayer replayer(target);
  auto cursor = source.NewCursor(storage::Cf::kLog);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    pb::Record record;
    if (!record.ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
      return Internal(fmt::format("log record at key {} is corrupt",
                                  storage::DecodeFixed64BE(cursor->key().data())));
    }
    if (Status s = replayer.Apply(std::move(record)); !s.ok()) return s;
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  return replayer.Finish();
}

Status ReplayRecords(std::span<const pb::Record> records, EngineState& target) {
  if (Status s = RequireEmpty(target); !s.ok()) return s;
  Replayer replayer(target);
  for (const pb::Record& record : records) {
    if (Status s = replayer.Apply(record); !s.ok()) return s;
  }
  return replayer.Finish();
}

}  // namespace whistle
