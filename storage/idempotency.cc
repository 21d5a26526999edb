#include "storage/idempotency.h"

#include <climits>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "storage/keys.h"
#include "whistle/event.pb.h"
#include "whistle/wire.pb.h"

namespace whistle::storage {

Result<int64_t> NewestRecordMs(const Store& store) {
  auto cursor = store.NewCursor(Cf::kLog);
  cursor->SeekToLast();
  if (!cursor->Valid()) {
    if (Status s = cursor->status(); !s.ok()) return s;
    return int64_t{0};
  }
  pb::Record last;
  if (!last.ParseFromArray(cursor->value().data(), static_cast<int>(cursor->value().size()))) {
    return Internal("the newest log record is corrupt");
  }
  return last.at_ms();
}

bool IsExpiredValue(std::string_view value, int64_t now_ms) {
  using google::protobuf::internal::WireFormatLite;
  if (value.size() > static_cast<size_t>(INT_MAX)) return false;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(value.data()),
                                            static_cast<int>(value.size()));
  uint64_t expires_at_ms = 0;  // the last one wins, as when parsing
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) break;
    if (WireFormatLite::GetTagFieldNumber(tag) == pb::IdempotencyEntry::kExpiresAtMsFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      if (!in.ReadVarint64(&expires_at_ms)) return false;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
  if (!in.ConsumedEntireMessage()) return false;
  return IsExpiredAt(static_cast<int64_t>(expires_at_ms), now_ms);
}

namespace {

enum class Kind { kSubmit, kOther, kUndecided };

// Whose entry `entry` (at `key`) is, for an entry without expiry. The key is compared whole with
// the one the Submit would have had, never split: a principal or a request id may hold any byte.
Result<Kind> KindOf(const Store& store, std::string_view key, const pb::IdempotencyEntry& entry) {
  if (key.find('\x1f') == std::string_view::npos) return Kind::kUndecided;
  pb::Response answer;
  if (!answer.ParseFromString(entry.response())) return Kind::kUndecided;
  if (!answer.has_event()) return Kind::kOther;  // a Submit answers with its event
  if (answer.event().linked_as_duplicate()) return Kind::kSubmit;
  const pb::Event& event = answer.event().event();
  // Someone else's event (events name their submitter since principals came): not a Submit's.
  if (!event.submitted_by().empty() && !key.starts_with(IdempotencyKey(event.submitted_by(), ""))) {
    return Kind::kOther;
  }
  auto first = store.Get(Cf::kHistory, HistoryKey(event.id(), 0));
  if (!first.ok()) return first.status();
  pb::Record submitted;
  if (!first->has_value() || !submitted.ParseFromString(**first) || !submitted.has_submitted()) {
    return Kind::kUndecided;
  }
  return IdempotencyKey(submitted.actor().principal(), submitted.submitted().request_id()) == key
             ? Kind::kSubmit
             : Kind::kOther;
}

}  // namespace

Result<LegacyEntryCounts> ExpireLegacyEntries(Store& store, int64_t expires_at_ms, size_t batch_bytes) {
  constexpr size_t kReadahead = 2 << 20;  // the family is read once, forward
  LegacyEntryCounts counts;
  auto marked = store.Get(Cf::kMeta, kMetaLegacyEntriesDecided);
  if (!marked.ok()) return marked.status();
  if (marked->has_value()) {
    counts.decided_before = true;
    return counts;
  }
  WriteBatch batch(store);
  auto cursor = store.NewCursor(Cf::kIdempotency, kReadahead);
  for (cursor->SeekToFirst(); cursor->Valid(); cursor->Next()) {
    ++counts.entries;
    pb::IdempotencyEntry entry;
    const std::string_view value = cursor->value();
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      ++counts.without_expiry;  // as far as anyone can tell
      ++counts.undecided;
      continue;
    }
    if (entry.expires_at_ms() != 0) continue;
    ++counts.without_expiry;
    auto kind = KindOf(store, cursor->key(), entry);
    if (!kind.ok()) return kind.status();
    if (*kind == Kind::kSubmit) {
      ++counts.submits;
    } else if (*kind == Kind::kUndecided) {
      ++counts.undecided;
    } else {
      entry.set_expires_at_ms(expires_at_ms);
      batch.Put(Cf::kIdempotency, cursor->key(), entry.SerializeAsString());
      ++counts.given_expiry;
      if (batch.byte_size() >= batch_bytes) {
        if (Status s = store.Write(batch); !s.ok()) return s;
        batch.Clear();
      }
    }
  }
  if (Status s = cursor->status(); !s.ok()) return s;
  batch.Put(Cf::kMeta, kMetaLegacyEntriesDecided, "1");  // with the last entries, or none
  if (Status s = store.Write(batch); !s.ok()) return s;
  return counts;
}

}  // namespace whistle::storage
