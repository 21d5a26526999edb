#include "storage/idempotency.h"

#include <climits>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "whistle/event.pb.h"

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

}  // namespace whistle::storage
