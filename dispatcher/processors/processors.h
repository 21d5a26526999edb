// Every processor of the engine, one per command or query (processor.h has the contract).
// registry.h maps wire commands to them; each is defined in its own file in this folder.
#pragma once

#include "dispatcher/processors/processor.h"

namespace whistle {

#define WHISTLE_COMMAND_PROCESSOR(Name)                                                    \
  class Name final : public CommandProcessor {                                             \
   public:                                                                                 \
    Result<Decision> Decide(const Command& command, const EngineState& state,              \
                            int64_t now_ms) const override;                                \
  }

#define WHISTLE_QUERY_PROCESSOR(Name)                                                      \
  class Name final : public QueryProcessor {                                               \
   public:                                                                                 \
    Result<pb::Response> Answer(const Command& command,                                    \
                                const EngineState& state) const override;                  \
  }

// A query that reads memory, or the store merged with the batches not yet written (EngineState):
// it may be decided while earlier batches are being written (QueryProcessor::NeedsEveryBatchWritten).
#define WHISTLE_PIPELINED_QUERY_PROCESSOR(Name)                                            \
  class Name final : public QueryProcessor {                                               \
   public:                                                                                 \
    Result<pb::Response> Answer(const Command& command,                                    \
                                const EngineState& state) const override;                  \
    bool NeedsEveryBatchWritten(const Command&, const EngineState&) const override {      \
      return false;                                                                        \
    }                                                                                      \
  }

// Commands (each emits records).
WHISTLE_COMMAND_PROCESSOR(SubmitProcessor);     // new event, or a duplicate linked to an open one
WHISTLE_COMMAND_PROCESSOR(ReleaseProcessor);    // holder gives the claim back at the same level
WHISTLE_COMMAND_PROCESSOR(ProgressProcessor);   // holder reports progress
WHISTLE_COMMAND_PROCESSOR(ResolveProcessor);    // holder resolves
WHISTLE_COMMAND_PROCESSOR(ReturnProcessor);     // 退单: re-route at the level, or climb
WHISTLE_COMMAND_PROCESSOR(WhistleProcessor);    // 吹哨: explicit escalation
WHISTLE_COMMAND_PROCESSOR(SuperviseProcessor);  // 督办
WHISTLE_COMMAND_PROCESSOR(FeedbackProcessor);   // citizen's rating: close or reopen
WHISTLE_COMMAND_PROCESSOR(ReopenProcessor);
WHISTLE_COMMAND_PROCESSOR(MergeProcessor);
WHISTLE_COMMAND_PROCESSOR(CancelProcessor);
WHISTLE_COMMAND_PROCESSOR(SetModeProcessor);    // 平战结合: re-plans open events' deadlines
WHISTLE_COMMAND_PROCESSOR(CreatePrincipalProcessor);  // principals.cc: a key and what it may do
WHISTLE_COMMAND_PROCESSOR(RevokePrincipalProcessor);

// Queries (no records).
WHISTLE_PIPELINED_QUERY_PROCESSOR(GetProcessor);    // the history merges unwritten records
// Index cursors: it waits only when a batch not yet written changed the index it walks.
class ListProcessor final : public QueryProcessor {
 public:
  Result<pb::Response> Answer(const Command& command, const EngineState& state) const override;
  bool NeedsEveryBatchWritten(const Command& command, const EngineState& state) const override;
};
WHISTLE_PIPELINED_QUERY_PROCESSOR(StatsProcessor);  // memory, or a past month's archive
WHISTLE_PIPELINED_QUERY_PROCESSOR(LogProcessor);    // only up to the last written record
// A Log page: records by default, and at most. A held read's wait at most (LogQuery.wait_ms;
// the server holds it, the processor refuses a longer one).
inline constexpr uint32_t kDefaultLogRecords = 1000;
inline constexpr uint32_t kMaxLogRecords = 10000;
inline constexpr uint32_t kMaxLogWaitMs = 60000;
WHISTLE_QUERY_PROCESSOR(CheckpointProcessor);  // a backup copy of the store
WHISTLE_QUERY_PROCESSOR(DigestProcessor);      // a hash of everything stored
WHISTLE_PIPELINED_QUERY_PROCESSOR(ListPrincipalsProcessor);
WHISTLE_PIPELINED_QUERY_PROCESSOR(WhoAmIProcessor);
WHISTLE_PIPELINED_QUERY_PROCESSOR(BoardProcessor);  // board.cc: open events by level, state and grid
WHISTLE_PIPELINED_QUERY_PROCESSOR(RanksProcessor);  // board.cc: the three rates of every department or region

// Claim (one winner) or join as assisting department.
class ClaimProcessor final : public CommandProcessor {
 public:
  // TEST ONLY: with `test_skip_claimed_check` (whistle-dispatcher
  // --test-plant-bug=claim-without-state-check) a claim on an event someone already holds is
  // accepted and takes the claim over: a bug planted for whistle-crashcheck to find.
  explicit ClaimProcessor(bool test_skip_claimed_check = false)
      : test_skip_claimed_check_(test_skip_claimed_check) {}
  Result<Decision> Decide(const Command& command, const EngineState& state,
                          int64_t now_ms) const override;

 private:
  bool test_skip_claimed_check_;
};

#undef WHISTLE_COMMAND_PROCESSOR
#undef WHISTLE_QUERY_PROCESSOR

// Timers: a deadline or quiet period that came due. Not a wire command: the engine feeds it
// the timers it takes from the state, and it re-checks each against the current state (the event
// may have moved on since), deciding nothing when the timer no longer applies.
class DeadlineProcessor final {
 public:
  Result<Decision> Decide(const DueTimer& timer, const EngineState& state, int64_t now_ms) const;
};

}  // namespace whistle
