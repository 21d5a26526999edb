// The processor contract: decide, then apply.
//
// A CommandProcessor reads a const view of the state and returns either a rejection (nothing
// changes) or a Decision: the records to apply, in order. It never mutates. The engine then runs
// one applier per record (appliers.h) — the only code that changes state — and replies.
// A QueryProcessor answers from the state and produces no records.
//
// Every processor is listed in one place: registry.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "dispatcher/engine_state.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

// A request as the engine receives it, with the principal the transport authenticated.
struct Command {
  pb::Actor actor;
  pb::Request request;
};

struct Decision {
  std::vector<pb::Record> records;  // seq and event_seq are assigned when logged
  uint64_t reply_event_id = 0;      // the reply carries this event's view
  bool linked_as_duplicate = false;
  std::optional<pb::Response> reply;  // a ready reply; when set, reply_event_id is not used
  // Events whose deadlines the engine re-plans after this command, a bounded number each round,
  // the soonest new deadline first (SetMode: Engine, "Re-planning").
  std::vector<ReplanTarget> replans;

  // Appends a record for `event_id` at `now_ms` by `actor`; fill its body through the result.
  pb::Record& Add(uint64_t event_id, int64_t now_ms, const pb::Actor& actor);
};

class CommandProcessor {
 public:
  virtual ~CommandProcessor() = default;
  // Decides what `command` does to `state` at `now_ms` without changing anything.
  virtual Result<Decision> Decide(const Command& command, const EngineState& state,
                                  int64_t now_ms) const = 0;
};

class QueryProcessor {
 public:
  virtual ~QueryProcessor() = default;
  // Answers `command` (a query) for its principal from `state`.
  virtual Result<pb::Response> Answer(const Command& command, const EngineState& state) const = 0;
  // True when answering `request` now would read, through cursors over the store, data that a
  // sealed batch not yet written changed: it may then be decided only when no batch is sealed and
  // unwritten (Engine::Decide). It must not depend on this batch's own changes, only on the sealed
  // ones (the server asks before the round's timers and commands are decided). False for a query
  // answered from memory, or from the store merged with what is not yet written.
  virtual bool NeedsEveryBatchWritten(const Command& /*command*/, const EngineState& /*state*/) const {
    return true;
  }
};

}  // namespace whistle
