// Routing and the ladder: whom an event is offered to at a level, with which deadlines, and the
// records that move it up a level.
//
// Deadlines are counted from the moment of dispatch at a level, with the SLA of the event's
// category at that level in the mode in force for its grid (EngineState::ModeFor), or in
// emergency mode for an urgent report.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/city.h"
#include "dispatcher/engine_state.h"
#include "dispatcher/processors/processor.h"
#include "whistle/event.pb.h"

namespace whistle {

// A Dispatched record body for `report`'s category in `grid` at `level`, dispatched at
// `dispatched_at_ms`, offered to the candidates minus `excluded`.
// REQUIRES: grid and category known, IsHandlingLevel(level).
pb::Dispatched PlanDispatch(const EngineState& state, const pb::Report& report,
                            std::string_view grid, pb::Level level, int64_t dispatched_at_ms,
                            const std::vector<std::string>& excluded = {});

// Deadlines for an event's current dispatch re-planned under `mode` (from its dispatch time).
pb::DeadlinesReplanned Replan(const City& city, const pb::Event& event, pb::Mode mode);
// When the pending deadline of `event` falls once re-planned under `mode`: its claim deadline while
// it waits to be claimed, its resolve deadline once held (EngineState::PlanTimer).
// REQUIRES: EngineState::NeedsReplan(event) (dispatched, claimed or in progress, not overdue unless
// dispatched again while overdue).
int64_t ReplannedDue(const City& city, const pb::Event& event, pb::Mode mode);

// Appends the records that take `event` one level up (Escalated + Dispatched), or, at city level,
// mark it overdue and supervised (MarkedOverdue).
//
// The records name who answers for the climb, counted unresolved (appliers.h): the department
// holding the claim (`holder`) or, nobody holding it, the one that last gave it back at this
// dispatch (Escalated.released_by; a release does not hand back the duty to resolve). Nobody
// answers for a climb because every department returned the event (each said it is not theirs),
// nor a releaser for another department's whistle. `whistled_by`: for a whistle, the department
// that blew it, empty for a supervisor's.
void AppendClimb(const EngineState& state, const pb::Event& event, pb::EscalationCause cause,
                 std::string_view whistled_by, int64_t now_ms, const pb::Actor& actor,
                 Decision* decision);

// The level above `level`. REQUIRES: COMMUNITY <= level < CITY.
pb::Level NextLevel(pb::Level level);

}  // namespace whistle
