// Authorization: who may make which request, on what. Deny by default.
//
// The dispatcher's front door authenticates a connection (CURVE + ZAP, server.h) and names its
// principal; the engine calls Authorize for every request, in batch order, before anything else
// (idempotency included), so a denied request changes nothing and is answered nothing from the
// state. (Events that do not exist are NOT_FOUND, so ids can be probed; they are sequential anyway.)
//
// The table: the scope in which each role may make each request; "-" = denied.
//
//                      reporter  agent       hotline  supervisor  admin  console  viewer
//   submit             region    -           any      -           -      -       -
//   claim              -         department  -        -           -      -       -
//   release            -         department  -        -           -      -       -
//   progress           -         department  -        -           -      -       -
//   resolve            -         department  -        -           -      -       -
//   return_task        -         department  -        -           -      -       -
//   whistle            -         department  -        region      -      -       -
//   supervise          -         -           -        region      -      -       -
//   feedback           own       -           any      -           -      -       -
//   reopen             -         -           any      region      -      -       -
//   merge, cancel      -         -           -        region      -      -       -
//   set_mode           -         -           -        region      any    -       -
//   create_principal, revoke_principal, list_principals, checkpoint, digest:   admin only (any)
//   get                own       department  any      region      any    any     any
//   list (mine)        own       own         own      own         own    own     own
//   list, stats        -         department  any      region      any    any     any
//   board, ranks       -         -           -        region      any    any     any
//   log                -         department  any      region      any    any     any
//   subscribe (bus)    -         -           any      city        any    any     any
//   metrics            -         -           -        any         any    -       -
//   whoami             any       any         any      any         any    any     any
//   ticket             any       any         any      any         any    -       any  (for itself only)
//
// The console acts for nobody by itself: a request it carries with an acting_ticket is
// authorized as the ticket's principal, by that principal's row (server.h). A viewer is a person
// of the operations centre who watches the whole city through the console and acts on nothing.
//
// Scopes:
//   any         no further check
//   own         the events named were submitted by the principal, or it sent a report linked to
//               them; Get by submit_request_id and List of mine are the principal's own by
//               construction (mine lists only such events, whatever the role)
//   region      the events named lie in the principal's region (the whole city when it has
//               none); Submit: the report's grid, or the grid its position falls in; List and
//               Stats: the scope asked for lies in the region (a level or the whole city only
//               for a principal without a region); Board, Ranks and SetMode: the region asked
//               for (the whole city only for a principal without a region)
//   department  commands: the department the command acts for is the principal's (claim, return
//               and whistle name it; release, progress and resolve act for the claim holder) and
//               the event lies in the principal's region; reads: events within the department's
//               jurisdiction (and region), List and Stats of its own department (whose
//               jurisdiction must lie in its region, if it has one) or of a region within its
//               jurisdiction (which holds every event its departments are offered, lead or
//               assist: only candidates claim or assist, and a grid never moves)
//   city        the whole city only: a principal with a region is refused
// The log: every record in order, but those of events the principal may not get (by get's row),
// and those of no event, are withheld: the answer gives only their seq, event_id and at_ms, with
// Record.withheld set, so that a follower still sees every number. The bus cannot withhold per
// connection (an XPUB sends a topic to whoever subscribed to it, and libzmq 4.3's manual
// subscriptions are not safe to use), so only principals that read the whole log may subscribe;
// the others follow the log through the front door (agents/client.h, Subscriber).
// A supervisor's whistle names no department (WhistleCommand.department empty): it climbs the
// event whoever holds it. ROLE_DEV (a --dev-no-auth dispatcher) may do everything; ROLE_SYSTEM
// (the dispatcher itself; no principal has it) only create_principal, for the first admin;
// ROLE_UNSPECIFIED nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "dispatcher/engine_state.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

enum class Scope { kDenied, kAny, kOwn, kRegion, kDepartment };

// The table above: the scope `role` may make requests of this kind in.
Scope ScopeFor(pb::Role role, pb::Request::CommandCase command);

// OK, or PERMISSION_DENIED saying who may not do what, and why; UNAUTHENTICATED when the actor's
// principal is revoked (by an earlier command of the batch: the server checks it at the read).
Status Authorize(const pb::Actor& actor, const pb::Request& request, const EngineState& state);

// The events a request names: one for most commands and a Get by id, two for a merge, none for
// a Submit, a Get by submit_request_id or a query by scope.
std::vector<uint64_t> EventIds(const pb::Request& request);

// Whether a principal of `role` and `region` reads the whole log, nothing withheld: its role's
// log scope is any, or region with no region (the whole city).
bool ReadsWholeLog(pb::Role role, std::string_view region);

// Whether `principal` may subscribe to the bus: the bus is the whole log, live, so only those
// that read the whole log. The ZAP handler refuses the others' handshakes on the bus (zap.h).
bool MaySubscribe(const pb::Principal& principal);

// Which events `actor` may get (get's row), worked out once for many events: the log withholds
// the records of the others. Covers(e) is true exactly when Authorize would let the actor get e
// (an agent's departments' jurisdictions are gathered once: a duty desk may act for thousands).
// The actor's principal is not checked for revocation: the request that reads was.
class ReadReach {
 public:
  ReadReach(const pb::Actor& actor, const EngineState& state);
  // Every event, nothing withheld (ReadsWholeLog).
  bool whole() const;
  bool Covers(const pb::Event& event) const;
  // Covers for any event of `grid`, by its grid alone: exact for every reach but a reporter's
  // (its own reports), for which it is true (the grid cannot tell).
  bool CoversGrid(std::string_view grid) const;
  // Region codes every covered event lies within (each one in at least one of them), so that a
  // caller can index readers by region: nullopt when no region bounds the reach (the whole log,
  // a reporter's own reports); empty when it covers nothing. An agent's: its departments'
  // jurisdictions, narrowed to its region where that lies within one of them (or they in it).
  std::optional<std::vector<std::string>> BoundingRegions() const;

 private:
  pb::Role role_;
  std::string principal_;
  std::string region_;  // "" = the whole city
  const City& city_;
  Scope scope_;
  std::unordered_set<std::string_view> jurisdictions_;  // kDepartment: region codes
};

// "claim", "set_mode", ...: the request's field name.
std::string_view CommandName(pb::Request::CommandCase command);
std::string_view RoleName(pb::Role role);

}  // namespace whistle
