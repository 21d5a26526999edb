// The event lifecycle as a transition table: which action is allowed in which state.
//
//                      claim deadline / resolve deadline missed, whistle, all returned
//                              ┌──────────── escalate to level L+1 ───────────┐
//                              │   (at city level: overdue + supervised flag)  │
//                              ▼                                               │
//  Submit ─► SUBMITTED ─► DISPATCHED(L) ─claim─► CLAIMED ─progress─► IN_PROGRESS
//                          ▲   ▲    │  ◄─release── │ │                  │  │
//                          │   │    │  ◄─return──── ┘ │ ◄───return/release┘  │
//                          │   │    └─return (re-route at L, or climb)   resolve
//                          │   │                                            ▼
//                          │   └────── REOPENED ◄─unsatisfied feedback── RESOLVED
//                          │                 ▲                           │      │
//                          │                 └────────── reopen ─────────┤ satisfied feedback
//                          │                                             │ or quiet period
//                          │                                             ▼      ▼
//                          └──────────────────────────── reopen ──── CLOSED
//
//  any of DISPATCHED, CLAIMED, IN_PROGRESS ─cancel─► CANCELLED ; ─merge─► MERGED
//
// SUBMITTED and REOPENED are transient: the same batch that records them dispatches the event,
// so no event ever rests in them and every action is refused there. CLOSED accepts only Reopen;
// CANCELLED and MERGED accept nothing.
#pragma once

#include <string_view>
#include <vector>

#include "whistle/event.pb.h"
#include "whistle/status.h"

namespace whistle {

// Everything that can happen to an existing event. Claim and Assist are one wire command
// (ClaimCommand.assist) but different transitions; merge acts on two events (source and target).
enum class Action {
  kClaim,
  kAssist,
  kRelease,
  kProgress,
  kResolve,
  kReturn,
  kWhistle,
  kSupervise,
  kFeedback,
  kReopen,
  kMergeSource,
  kMergeTarget,
  kCancel,
  kReplan,           // SetMode re-plans deadlines
  kClaimDeadline,    // timer
  kResolveDeadline,  // timer
  kAutoClose,        // timer
};
inline constexpr int kActionCount = static_cast<int>(Action::kAutoClose) + 1;

// "claim", "resolve deadline", ...
std::string_view ActionName(Action action);
// "DISPATCHED", ...
std::string_view StateName(pb::EventState state);
// "dispatched", "in_progress", ...: as whistlectl's flags, the console and the metrics spell it.
std::string StateKey(pb::EventState state);

// The table itself.
bool Allows(pb::EventState state, Action action);

// OK, or ILLEGAL_TRANSITION: "cannot claim event 12: it is RESOLVED".
Status CheckTransition(const pb::Event& event, Action action);

// The states an event can rest in between batches.
inline bool IsOpen(pb::EventState s) {
  return s == pb::STATE_DISPATCHED || s == pb::STATE_CLAIMED || s == pb::STATE_IN_PROGRESS ||
         s == pb::STATE_RESOLVED;
}
inline bool IsClaimed(pb::EventState s) {
  return s == pb::STATE_CLAIMED || s == pb::STATE_IN_PROGRESS;
}
// Every department an event involves (candidates, lead, assists), sorted, without repeats.
std::vector<std::string_view> InvolvedDepartments(const pb::Event& event);
// Every principal that reported an event: the one whose Submit created it and those of the
// reports linked to it (duplicates, merged events), sorted, without repeats or empty names. What
// a principal's own events are (authorization.h's "own", ListQuery.mine). As long as the event's
// count of distinct principals, not of its links.
std::vector<std::string_view> Reporters(const pb::Event& event);
bool IsReporter(const pb::Event& event, std::string_view principal);

// How many of the newest linked reports an event keeps in `linked` (the rest are counted, and
// their principals kept, in linked_count and linked_principals).
inline constexpr int kLinkedWindow = 16;
// Reports linked to the event: linked_count, or for an event written before it was kept (every
// link in `linked`), their number.
inline uint32_t LinkedCount(const pb::Event& event) {
  return event.linked_count() != 0 ? event.linked_count() : static_cast<uint32_t>(event.linked_size());
}
// Adds a linked report (and those a merge carried along with it) to the event: the count, the
// principals, the window.
void AddLinked(pb::Event* event, const pb::ReportLinked& linked);

// Open and still waiting for someone to act (not yet resolved).
inline bool IsUnresolved(pb::EventState s) {
  return s == pb::STATE_DISPATCHED || IsClaimed(s);
}

}  // namespace whistle
