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
//   log                -         any         any      any         any    any     any
//   subscribe (bus)    -         any         any      any         any    any     any
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
//               jurisdiction
// A supervisor's whistle names no department (WhistleCommand.department empty): it climbs the
// event whoever holds it. ROLE_DEV (a --dev-no-auth dispatcher) may do everything; ROLE_SYSTEM
// (the dispatcher itself; no principal has it) only create_principal, for the first admin;
// ROLE_UNSPECIFIED nothing.
#pragma once

#include <cstdint>
#include <string_view>
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

// Whether `role` may subscribe to the bus: the bus is the log, live, so the log's row decides.
// The ZAP handler refuses the others' handshakes on the bus (zap.h).
bool MaySubscribe(pb::Role role);

// "claim", "set_mode", ...: the request's field name.
std::string_view CommandName(pb::Request::CommandCase command);
std::string_view RoleName(pb::Role role);

}  // namespace whistle
