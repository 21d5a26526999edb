// Appliers: the only code that changes an event. One per record type, run for new records and
// (in tests and tools) for replays of the log, so the same history always yields the same state.
//
// An applier trusts its record: the processor already checked everything. A record that cannot
// apply (an event that does not exist) is a broken invariant and aborts.
//
// Statistics are counted here too, so counts follow exactly what happened:
//   Submitted         submitted            regions of the grid
//   Dispatched        offered              each candidate, regions, level
//   Claimed in time   claimed_in_time      claimant, regions, level     } once per dispatch: a
//   Claimed late      claim_missed         claimant, regions, level     } re-claim counts nothing
//   Escalated
//     claim deadline  claim_missed         each candidate, regions, level (unless answered)
//     resolve deadline, or a whistle while claimed (the holder's, or a supervisor's over it)
//                     unresolved           holder, regions, level
//     claim deadline, a supervisor's whistle or the releaser's own, nobody holding it, after
//     a release at this dispatch (Escalated.released_by; not another department's whistle)
//                     unresolved           releasing department, regions, level
//                     escalated            regions, level
//   MarkedOverdue     overdue              regions, level, once each time it goes overdue (not
//                                          again while it is; a reopened one can); claim deadline:
//                                          also claim_missed as above (a holder past the resolve
//                                          deadline may still resolve, so it is not counted
//                                          unresolved). An overdue event a candidate returns is
//                                          dispatched afresh with its claim deadline armed
//                                          (overdue_redispatch): a miss marks it again, counting
//                                          claim_missed against the new candidates, and a late
//                                          claim counts claim_missed
//   Resolved          resolved             resolver, regions, level
//   FeedbackGiven     satisfied|unsatisfied  resolver, regions, level
//   Returned          returned             returning department, regions
//   Closed            closed               regions
// Engine thread only.
#pragma once

#include "dispatcher/engine_state.h"
#include "whistle/event.pb.h"

namespace whistle {

// Applies `record` (not yet logged: seq and event_seq may be unset) to `state`.
void ApplyRecord(const pb::Record& record, EngineState& state);

}  // namespace whistle
