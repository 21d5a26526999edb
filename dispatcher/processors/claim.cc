#include <algorithm>

#include <fmt/format.h>

#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> ClaimProcessor::Decide(const Command& command, const EngineState& state,
                                        int64_t now_ms) const {
  const pb::ClaimCommand& c = command.request.claim();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  auto department = RequireDepartment(state.city(), c.department());
  if (!department.ok()) return department.status();
  if (c.agent().size() > kMaxIdBytes) return BadRequest("agent name is too long");

  Decision d;
  d.reply_event_id = e.id();
  if (c.assist()) {
    if (Status s = CheckTransition(e, Action::kAssist); !s.ok()) return s;
    if (Status s = CheckCandidate(e, Action::kAssist, c.department()); !s.ok()) return s;
    if (e.lead() == c.department() ||
        std::find(e.assists().begin(), e.assists().end(), c.department()) != e.assists().end()) {
      return IllegalTransition(fmt::format("cannot assist event {}: department '{}' already {} it",
                                           e.id(), c.department(),
                                           e.lead() == c.department() ? "leads" : "assists"));
    }
    d.Add(e.id(), now_ms, command.actor).mutable_assist_joined()->set_department(c.department());
    return d;
  }

  if (test_skip_claimed_check_) {
    // PLANTED BUG (test only): checks that the event still waits for someone, not that nobody
    // holds it.
    if (!IsUnresolved(e.state())) return CheckTransition(e, Action::kClaim);
  } else {
    if (IsClaimed(e.state())) return AlreadyClaimedBy(e);
    if (Status s = CheckTransition(e, Action::kClaim); !s.ok()) return s;
  }
  if (Status s = CheckCandidate(e, Action::kClaim, c.department()); !s.ok()) return s;
  pb::Claimed* claimed = d.Add(e.id(), now_ms, command.actor).mutable_claimed();
  claimed->set_department(c.department());
  // Who claimed: the name the agent gives (the person on duty), else its authenticated principal.
  claimed->set_agent(c.agent().empty() ? command.actor.principal() : c.agent());
  claimed->set_claim_number(e.claim_number() + 1);
  claimed->set_in_time(now_ms < e.claim_deadline_ms());  // the deadline fires at due <= now
  return d;
}

}  // namespace whistle
