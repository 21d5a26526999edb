// RecordMark: what tells one record of the dispatcher's log from another with the same number.
//
// Numbers only grow on one store, but a dispatcher restored from an older copy of its store
// numbers new records again from where the copy ends: a follower that kept a record's mark can
// ask the log whether its record N is still the one it saw (agents/client.h, Subscriber).
#pragma once

#include <cstdint>

#include "whistle/event.pb.h"

namespace whistle {

// Not the record's kind: a binary older than the dispatcher's parses a kind it does not know as
// none, and its mark would then differ from the same record's read by a newer one.
struct RecordMark {
  uint64_t seq = 0;
  int64_t at_ms = 0;
  uint64_t event_id = 0;

  static RecordMark Of(const pb::Record& record) { return {record.seq(), record.at_ms(), record.event_id()}; }
  bool operator==(const RecordMark&) const = default;
};

}  // namespace whistle
