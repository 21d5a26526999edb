// When an idempotency entry (pb::IdempotencyEntry, the idempotency family's value) is dead.
//
// An entry with expires_at_ms = 0 is kept for good: a Submit's, which maps the client's request id
// to the event it created (Get by submit_request_id, the hotline's order numbers, Open311 tokens),
// and every entry written before entries expired (until ExpireLegacyEntries, below, tells a
// Submit's from another's among them). Any other is dead once the engine's time reaches
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

// The meta key (value "1") that says every idempotency entry without an expiry in the store is a
// Submit's or was decided already (ExpireLegacyEntries): written by the pass, and by the engine
// when it starts on an empty store, which no older version wrote to (EngineState::Load).
inline constexpr std::string_view kMetaLegacyEntriesDecided = "idempotency_decided";

// What ExpireLegacyEntries found in the idempotency family.
struct LegacyEntryCounts {
  bool decided_before = false;  // the store said so: nothing was read
  uint64_t entries = 0;         // every entry read
  uint64_t without_expiry = 0;  // expires_at_ms 0: a Submit's, or written before entries expired
  uint64_t submits = 0;         // of those, a Submit's: kept for good
  uint64_t given_expiry = 0;    // of those, another command's: rewritten with the expiry
  uint64_t undecided = 0;       // of those, not told apart: kept (below)
};

// Gives every entry written before entries expired that is not a Submit's the expiry
// `expires_at_ms`, so that such a store, too, forgets the other commands' answers (a store of 10 M
// events held 31 M of them). An entry without expiry is a Submit's when its answer is an event
// with that Submit linked to it as a duplicate (answers have always said so), or when the event's
// first record (Submitted) was written for the entry's principal and request id. The answer alone
// cannot tell: a claim answers with an event too.
//
// An entry that cannot be decided is kept as it is: keeping an answer is always safe, and
// forgetting a Submit's would lose the event its request id names. Those are an entry or an
// answer that does not parse, a key without the separator of principal and request id (stores
// from before request ids belonged to principals), and an event without its Submitted record.
//
// Run on a store no engine is writing (tools/compact_main.cc). It writes in batches of about
// `batch_bytes`, and marks the store when done (kMetaLegacyEntriesDecided): a store so marked is
// not read again. Cut short, it is safe to run again.
Result<LegacyEntryCounts> ExpireLegacyEntries(Store& store, int64_t expires_at_ms,
                                              size_t batch_bytes = 4 << 20);

}  // namespace whistle::storage
