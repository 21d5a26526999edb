// Preconditions shared by the processors, and the one place rejection messages are worded.
//
// Messages name the event, the department and the state, e.g.
//   "cannot claim event 1042: it is CLAIMED by 370602-water (claim 7)"
// so an agent, an operator or a log reader knows what happened without looking anything up.
//
// A claim number is a fencing token, not a credential: it proves a command is about the current
// claim, not who sent it. Who may act is the authorisation layer's question (issue "Security").
#pragma once

#include <cstdint>
#include <string_view>

#include "dispatcher/city.h"
#include "dispatcher/engine_state.h"
#include "dispatcher/lifecycle.h"
#include "whistle/status.h"

namespace whistle {

inline constexpr size_t kMaxTextBytes = 4096;  // notes, reasons, addresses
// A report's description: Open311 allows 4,000 characters, which in UTF-8 may take 16,000 bytes.
inline constexpr size_t kMaxDescriptionBytes = 16000;
inline constexpr size_t kMaxIdBytes = 128;     // ids and codes

// An id a client sent, cut to kMaxIdBytes for an error message.
inline std::string_view Clip(std::string_view id) { return id.substr(0, kMaxIdBytes); }

// The event, or NOT_FOUND "no event 17".
Result<const pb::Event*> RequireEvent(const EngineState& state, uint64_t id);
// The department, or NOT_FOUND "unknown department 'x'".
Result<const pb::Department*> RequireDepartment(const City& city, std::string_view id);

// CheckTransition, except that an action quoting an older claim than the event's current one is
// told its claim is STALE_CLAIM (the event moved on under it).
Status CheckTransitionWithClaim(const pb::Event& event, Action action, uint64_t quoted_claim);
// The quoted claim is the current one: STALE_CLAIM otherwise.
Status CheckCurrentClaim(const pb::Event& event, Action action, uint64_t quoted_claim);
// The event, allowing `action` and held under `quoted_claim`: RequireEvent, then
// CheckTransitionWithClaim, then CheckCurrentClaim.
Result<const pb::Event*> RequireHeldEvent(const EngineState& state, uint64_t id, Action action,
                                          uint64_t quoted_claim);
// The department may act on the event's current dispatch (return, whistle): as the holder quoting
// the current claim, or, while the event is unclaimed, as one of its candidates quoting no claim.
Status CheckHandler(const pb::Event& event, Action action, std::string_view department,
                    uint64_t quoted_claim);
// "cannot claim event 12: it is CLAIMED by water (claim 3)"
Status AlreadyClaimedBy(const pb::Event& event);
// The department is among the event's candidates at its level: NOT_ASSIGNED otherwise.
Status CheckCandidate(const pb::Event& event, Action action, std::string_view department);

// The city still has the event's category and grid, which planning it again needs (a closed
// event is not checked against the city at start, as open ones are): ILLEGAL_TRANSITION
// "cannot reopen event 9: its category 'noise' is no longer in the city's configuration".
Status CheckStillInCity(const pb::Event& event, Action action, const City& city);

// A free-text field: at most `max_bytes`, and non-empty when `required`.
Status CheckText(std::string_view field, std::string_view value, bool required,
                 size_t max_bytes = kMaxTextBytes);

}  // namespace whistle
