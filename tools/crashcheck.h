// The history checker of whistle-crashcheck: what the clients did and were told, against what the
// restarted dispatcher has (its log and its events). Pure functions on plain data: no sockets, no
// clock, so every check is unit-tested on hand-made histories (tests/tools/crashcheck_test.cc).
//
// Contract. Given
//   - History: every operation the clients sent, with its outcome: kOk (answered OK), kRejected
//     (answered with an error: it must have changed nothing), kUnknown (timed out or UNAVAILABLE,
//     never resolved by a retry with the same request id: it may or may not have happened); and
//     every record the subscriber was published, by sequence number;
//   - Observed: the dispatcher's whole log (LogQuery from 0), read after History's `ack_cutoff`
//     was taken, and optionally each event with its history (GetQuery) when the clients are quiet;
// Check() returns one Violation per broken rule (empty = clean):
//   log          the log's seqs are 1..N without a gap; each event's history starts with Submitted
//                and its event_seqs count 0, 1, 2, ...
//   submit       every acknowledged Submit is in the log exactly once (by request id), as the event
//                it was answered with: a Submitted record, or, answered as a repeat, the
//                ReportLinked record of its report on the open event it repeats; no Submit is
//                there twice; none that nobody sent; (with duplicate_window_ms) no new event
//                while an unresolved one of its grid and category created within the window was
//                there for it to repeat (unless both reports have a position: the distance is
//                not modelled)
//   switch       the same for SetMode: each acknowledged one is in the log exactly once, as the
//                ModeChanged record naming its request id, region and mode; a rejected one is not;
//                none that nobody sent
//   lost         every acknowledged Claim / Assist / Progress / Resolve / Release / Return /
//                Whistle / Supervise / Feedback / Reopen / Cancel / Merge is in the log (the
//                record names its request id: Progressed/Resolved/Supervised notes,
//                Released/Returned/Whistled/Reopened/Cancelled reasons and the feedback's comment
//                are the request id; a Claimed record is matched by event, claim number,
//                department and agent, a MergedInto record by its two events); a rejected one is
//                not (merges: unless another request for the same pair was not rejected); the
//                AssistJoined records of an event by a department (they name no request) are at
//                least its acknowledged assists and at most those not rejected; a Returned,
//                Whistled, Supervised, FeedbackGiven, (citizen's) Reopened or Cancelled record is
//                there only for a request of its kind for its event, acting for the department
//                its request named, as satisfied as its request, and a MergedInto only for a
//                merge someone sent
//   holder       never two holders at once: no Claimed while the event is claimed, claim numbers
//                grow by one, and no two clients were told they won the same claim; an assisting
//                department joins only a held event, neither leading nor assisting it already,
//                and its assist ends with the claim (release, the holder's return, climb,
//                dispatch, merge, cancel); a climb or an overdue mark names the holder of the
//                moment, if any, and a climb nobody holds
//                (claim deadline, a supervisor's whistle or its own) the department that last
//                gave the claim back at this dispatch with nobody claiming it since, if any
//   stale-claim  no Progress / Resolve / Release accepted with a claim number that is not the
//                current one, or on an event nobody holds; a Return or a department's Whistle
//                (matched to the request that quoted it) is the holder's with its current claim,
//                or, on an event nobody holds, quotes none
//   offer        a claim, an assist, a return or a department's whistle comes from a department
//                the event is offered to at its level (the Dispatched record's candidates, less
//                those that returned it since); a re-dispatch after a return offers it to exactly
//                the rest of its level, never to a department that returned it there, and never to
//                nobody; a dispatch after a reopen offers it to every department of its level again
//   lifecycle    returns, whistles and supervision only of events dispatched or held; feedback
//                only on a resolved event, rating the department that resolved it, and followed by
//                its close (satisfied) or its reopen (not); a reopen only of a resolved or closed
//                event, followed by its dispatch at its level (the reopen after unsatisfied
//                feedback, and only it, gives that reason); a close only of a resolved event, as
//                satisfied only right after satisfied feedback; a cancel or a merge only of an open
//                event, a merge only into another open event, the link of its report on that event
//                right after it, carrying every report linked to it along; nothing after a cancel
//                or a merge; a repeat linked at submit only to an unresolved event of its
//                Submit's grid and category (created within the duplicate window). A record
//                whose follower is
//                missing breaks its rule also at the end of the log, which ends where a batch
//                does
//   deadline     every deadline that passed fired exactly once: no escalation, overdue mark or
//                quiet-period close before its deadline or without a pending one, and none missing
//                once a later command was stamped at or after the deadline (the engine fires due
//                timers before the commands of a batch, so a command record at time T proves every
//                timer due at T had its chance; a re-plan is not such a command: a batch re-plans
//                before it fires timers); a claim is in time exactly when it comes before the claim
//                deadline in force
//   mode         every dispatch and re-plan is planned in the mode in force for the event, as of
//                its place in the log: emergency for an urgent report, else the mode of the
//                nearest region above its grid that a ModeChanged record set (normal if none),
//                with that mode's SLA counted from the dispatch (with `sla`); only an unresolved
//                event that is not overdue (or overdue, dispatched again and not yet claimed) is
//                re-planned; no claim is judged and no claim or resolve deadline fires by
//                deadlines planned in a mode no longer in force (a SetMode's re-plans, cut short
//                by a crash, must be finished before any of them fires); and (with events,
//                `settled`) no open event is left planned in another mode than the one in force
//                once the log stands still
//   ladder       levels climb strictly community -> street -> county -> city: every dispatch is at
//                the level the event is at, or the next one right after an Escalated record; a
//                Returned record is followed by the event's dispatch at its level or by its climb
//                for being returned by all, a Whistled record by its climb for the whistle, and a
//                climb for either cause comes only so; a whistle that named the level it saw
//                (seen_level) climbs from that level
//   workload     of the returns (and whistles, assists, supervisions, satisfied ratings,
//                unsatisfied ratings, reopens, merges, cancels) sent, not every one was refused
//                once 20 were
//   published    every record the subscriber was published is in the log, byte for byte
//   event        (with events) GetQuery's history (every page) equals the event's records in the
//                log, and its state, level, lead, assisting departments, claim number, who gave
//                its claim back (at this dispatch, nobody claiming it since), overdue marks, the
//                supervision mark (a Supervised record's, or an overdue mark's), reopens, linked
//                reports (their count, and the newest 16 kept: which), the event it merged into,
//                candidates, returns at its level, mode and deadlines equal those replayed from
//                the log
//   counters     (with counters) the statistics counters the dispatcher answers StatsQuery with
//                equal those the engine's own appliers count from the log (the caller replays it:
//                dispatcher/replay.h), for every month and scope either has
// Operations acknowledged after `ack_cutoff` (and published records not in the snapshot) may be
// missing from a log read while clients still run; at the final check everything is before it.
//
// Model limits: a record the workload never causes switches the deadline and offer checks off for
// that event.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "whistle/event.pb.h"
#include "whistle/wire.pb.h"

namespace whistle::crashcheck {

enum class OpKind {
  kSubmit,
  kClaim,
  kAssist,
  kProgress,
  kResolve,
  kRelease,
  kReturn,
  kWhistle,
  kSupervise,
  kFeedback,
  kReopen,
  kMerge,
  kCancel,
  kSetMode
};
enum class Outcome { kOk, kRejected, kUnknown };

std::string_view OpKindName(OpKind kind);

// The newest linked reports an event keeps (Event.linked; kLinkedWindow in dispatcher/lifecycle.h).
inline constexpr uint32_t kLinkedKept = 16;

struct Op {
  OpKind kind = OpKind::kSubmit;
  std::string client;       // who sent it ("reporter-1", "agent desk-a")
  // Also the note or reason of Progress, Resolve, Release, Return, Whistle, Reopen and Cancel,
  // and the comment of Feedback.
  std::string request_id;
  // The event acted on; for an acknowledged Submit, the one created, or the open one it repeats.
  uint64_t event_id = 0;
  std::string category, grid;  // Submit
  bool linked = false;      // Submit: answered as linked to an open event as a repeat
  std::string department;   // Claim, Return; Whistle ("" for a supervisor's)
  std::string agent;        // Claim
  // Quoted (Progress, Resolve, Release; Return and Whistle: 0 when the department does not hold
  // the event); won (an acknowledged Claim).
  uint64_t claim_number = 0;
  pb::Level seen_level = pb::LEVEL_UNSPECIFIED;  // Whistle: the level it was sent from, if named
  bool satisfied = false;   // Feedback
  uint64_t into_event_id = 0;  // Merge: the event `event_id` joins
  std::string region;       // SetMode
  pb::Mode mode = pb::MODE_UNSPECIFIED;  // SetMode
  Outcome outcome = Outcome::kUnknown;
  pb::StatusCode code = pb::STATUS_OK;  // the answer's code, when answered
  uint64_t ack_tick = 0;    // when it was answered, on History's tick counter (0 = never)
};

struct History {
  std::vector<Op> ops;
  // By seq: the published records to check. whistle-crashcheck passes those published since its
  // last clean check at each fault, and all of them at the final check.
  std::map<uint64_t, pb::Record> published;
  // Operations answered at or before this tick were answered before the log was read.
  uint64_t ack_cutoff = 0;
};

struct Observed {
  std::vector<pb::Record> log;             // the whole log, in seq order
  std::map<uint64_t, pb::EventView> events;  // by id; empty = skip the "event" check
  // The events were read while the log stood still and nothing was left to re-plan: every open
  // event must be planned in the mode in force (the "mode" check).
  bool settled = false;
  // By month '|' scope (dispatcher/stats.h): the dispatcher's StatsQuery answers, read while `log`
  // stood still (so they count exactly its records), and the counters of `log` replayed through
  // the appliers. Both empty = skip the "counters" check.
  std::map<std::string, pb::StatCounters> counters;
  std::map<std::string, pb::StatCounters> replayed_counters;
};

struct CheckOptions {
  // The city's quiet period (EngineSettings.auto_close_seconds), in ms.
  int64_t auto_close_ms = 0;
  // Each region's and grid's parent ("" for the city): where the "mode" check looks for the mode
  // in force. A grid not in it has only its own mode, which nothing sets: normal.
  std::map<std::string, std::string, std::less<>> parents;
  // The city's SLAs, by (category, level, mode), in ms from the dispatch. Empty: the "mode" check
  // does not compare deadlines with them.
  struct Sla {
    int64_t claim_ms = 0, resolve_ms = 0;
  };
  std::map<std::tuple<std::string, pb::Level, pb::Mode>, Sla> sla;
  // The city's duplicate window (EngineSettings.duplicate_window_seconds), in ms: 0, none, and
  // the "submit" check does not look for repeats that should have been linked.
  int64_t duplicate_window_ms = 0;
};

struct Violation {
  std::string check;  // "log", "submit", "lost", "holder", "stale-claim", "offer", "deadline", ...
  uint64_t event_id = 0;
  uint64_t seq = 0;   // the record concerned, when there is one
  std::string what;
};

std::vector<Violation> Check(const History& history, const Observed& observed,
                             const CheckOptions& options);

// "deadline: event 12, seq 340: ..." one per line.
std::string FormatViolation(const Violation& v);

}  // namespace whistle::crashcheck
