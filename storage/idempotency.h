// When an idempotency entry (pb::IdempotencyEntry, the idempotency family's value) is dead.
//
// An entry with expires_at_ms = 0 is kept for good: a Submit's, which maps the client's request id
// to the event it created (Get by submit_request_id, the hotline's order numbers, Open311 tokens),
// and every entry written before entries expired. Any other is dead once the engine's time reaches
// expires_at_ms: the engine then takes a retry for a new request (engine.h), and compactions drop
// the entry once the store's expiry horizon has reached it (Store::SetExpiryHorizon). The engine
// applies the rule itself rather than trust a compaction to have run, so what a retry gets does
// not depend on when one did.
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/store.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"

namespace whistle::storage {

inline bool IsExpiredAt(int64_t expires_at_ms, int64_t now_ms) {
  return expires_at_ms != 0 && expires_at_ms <= now_ms;
}
inline bool IsExpired(const pb::IdempotencyEntry& entry, int64_t now_ms) {
  return IsExpiredAt(entry.expires_at_ms(), now_ms);
}

// The time of the newest record in the log, 0 when it is empty: the horizon (Store::SetExpiryHorizon)
// for a store no engine is running on (tools/compact_main.cc). An engine's time is never earlier.
Result<int64_t> NewestRecordMs(const Store& store);

// IsExpired of a serialized entry, reading only its expires_at_ms (the compaction filter's test:
// a response is hundreds of bytes). A value that does not parse is not expired: it is kept.
bool IsExpiredValue(std::string_view value, int64_t now_ms);

}  // namespace whistle::storage
