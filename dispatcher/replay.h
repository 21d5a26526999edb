// Replay: rebuild state from the change feed alone.
//
// Runs every record of `source`'s log (or of a copy of one in memory), in sequence order, through
// the same appliers the engine uses, into `target` (whose store must be empty). Because appliers
// are the only code that changes state, the result must equal `source` in every column family but
// `idempotency` (retry answers are not records), and in `meta` when both fold their counters at
// every batch (set_counter_fold_bytes(0)) and `source` holds none in the layout before the
// journal: a journal follows the batches, which the replay cuts differently (EngineState,
// "Counters in meta"). Either way the counters themselves are equal. One more exception: an event
// a version before 2026-12-07 stored with reports linked to it (every link in Event.linked,
// uncounted) and that has had no link since comes out in today's form (linked_count,
// linked_principals, the newest 16 links): the same count and reporters, other bytes. Tests use
// it to prove that; operators can use it to rebuild indexes.
#pragma once

#include <span>

#include "dispatcher/engine_state.h"
#include "storage/store.h"
#include "whistle/status.h"

namespace whistle {

// REQUIRES: target was Load()ed from an empty store. Commits `target` as it goes.
Status ReplayLog(const storage::Store& source, EngineState& target);
// The same for records held in memory (whistle-crashcheck's copy of a dispatcher's log).
// REQUIRES: as ReplayLog; `records` are a whole log from its first record, in sequence order (a
// gap fails the replay).
Status ReplayRecords(std::span<const pb::Record> records, EngineState& target);

}  // namespace whistle
