#include "dispatcher/rejections.h"

#include <algorithm>

#include <fmt/format.h>

namespace whistle {
namespace {

Status StaleClaimOn(const pb::Event& e, Action action, uint64_t quoted_claim) {
  return StaleClaim(fmt::format("cannot {} event {}: claim {} is stale (the event is {} at {} level)",
                                ActionName(action), e.id(), quoted_claim, StateName(e.state()),
                                LevelName(e.level())));
}

}  // namespace

Result<const pb::Event*> RequireEvent(const EngineState& state, uint64_t id) {
  if (id == 0) return BadRequest("event_id is required");
  auto e = state.FindEvent(id);
  if (!e.ok()) return e.status();
  if (*e == nullptr) return NotFound(fmt::format("no event {}", id));
  return *e;
}

Result<const pb::Department*> RequireDepartment(const City& city, std::string_view id) {
  if (id.empty()) return BadRequest("department is required");
  const pb::Department* d = city.FindDepartment(id);
  if (d == nullptr) return NotFound(fmt::format("unknown department '{}'", Clip(id)));
  return d;
}

Status CheckTransitionWithClaim(const pb::Event& event, Action action, uint64_t quoted_claim) {
  if (Allows(event.state(), action)) return Status::Ok();
  if (quoted_claim != 0 && quoted_claim < event.claim_number()) {
    return StaleClaimOn(event, action, quoted_claim);
  }
  return CheckTransition(event, action);
}

Status CheckCurrentClaim(const pb::Event& event, Action action, uint64_t quoted_claim) {
  if (quoted_claim == event.claim_number()) return Status::Ok();
  if (quoted_claim == 0) {
    return BadRequest(fmt::format("cannot {} event {}: claim_number is required",
                                  ActionName(action), event.id()));
  }
  return StaleClaim(fmt::format("cannot {} event {}: claim {} is not current; {} holds claim {}",
                                ActionName(action), event.id(), quoted_claim, event.lead(),
                                event.claim_number()));
}

Result<const pb::Event*> RequireHeldEvent(const EngineState& state, uint64_t id, Action action,
                                          uint64_t quoted_claim) {
  auto event = RequireEvent(state, id);
  if (!event.ok()) return event;
  if (Status s = CheckTransitionWithClaim(**event, action, quoted_claim); !s.ok()) return s;
  if (Status s = CheckCurrentClaim(**event, action, quoted_claim); !s.ok()) return s;
  return event;
}

Status CheckHandler(const pb::Event& e, Action action, std::string_view department,
                    uint64_t quoted_claim) {
  if (Status s = CheckTransitionWithClaim(e, action, quoted_claim); !s.ok()) return s;
  if (IsClaimed(e.state())) {
    if (department != e.lead()) {
      return NotAssigned(fmt::format("cannot {} event {}: department '{}' does not hold it; {} does "
                                     "(claim {})",
                                     ActionName(action), e.id(), Clip(department), e.lead(),
                                     e.claim_number()));
    }
    return CheckCurrentClaim(e, action, quoted_claim);
  }
  if (quoted_claim != 0) return StaleClaimOn(e, action, quoted_claim);
  return CheckCandidate(e, action, department);
}

Status AlreadyClaimedBy(const pb::Event& event) {
  return AlreadyClaimed(fmt::format("cannot claim event {}: it is {} by {} (claim {})", event.id(),
                                    StateName(event.state()), event.lead(), event.claim_number()));
}

Status CheckCandidate(const pb::Event& event, Action action, std::string_view department) {
  const auto& c = event.candidates();
  if (std::find(c.begin(), c.end(), department) != c.end()) return Status::Ok();
  return NotAssigned(fmt::format("cannot {} event {}: department '{}' is not offered it at {} level "
                                 "(offered to: {})",
                                 ActionName(action), event.id(), Clip(department),
                                 LevelName(event.level()), fmt::join(c, ", ")));
}

Status CheckStillInCity(const pb::Event& e, Action action, const City& city) {
  const std::string missing = city.MissingOf(e.report().category(), e.grid());
  if (missing.empty()) return Status::Ok();
  return IllegalTransition(fmt::format("cannot {} event {}: its {} is no longer in the city's configuration",
                                       ActionName(action), e.id(), missing));
}

Status CheckText(std::string_view field, std::string_view value, bool required, size_t max_bytes) {
  if (required && value.empty()) return BadRequest(fmt::format("{} is required", field));
  if (value.size() > max_bytes) {
    return BadRequest(fmt::format("{} is {} bytes; the limit is {}", field, value.size(), max_bytes));
  }
  return Status::Ok();
}

}  // namespace whistle
