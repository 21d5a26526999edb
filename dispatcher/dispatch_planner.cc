#include "dispatcher/dispatch_planner.h"

#include <algorithm>

#include "dispatcher/lifecycle.h"
#include "whistle/check.h"

namespace whistle {

pb::Level NextLevel(pb::Level level) {
  WHISTLE_CHECK(level >= pb::LEVEL_COMMUNITY && level < pb::LEVEL_CITY, "no level above %d",
                static_cast<int>(level));
  return static_cast<pb::Level>(level + 1);
}

pb::Dispatched PlanDispatch(const EngineState& state, const pb::Report& report,
                            std::string_view grid, pb::Level level, int64_t dispatched_at_ms,
                            const std::vector<std::string>& excluded) {
  const City& city = state.city();
  const std::string& category = report.category();
  pb::Mode mode = state.PlanningMode(report, grid);
  const pb::SlaPolicy& sla = city.Sla(category, level, mode);
  pb::Dispatched d;
  d.set_level(level);
  d.set_mode(mode);
  d.set_claim_deadline_ms(dispatched_at_ms + sla.claim_seconds() * 1000);
  d.set_resolve_deadline_ms(dispatched_at_ms + sla.resolve_seconds() * 1000);
  for (const pb::Department* dep : city.Candidates(category, grid, level)) {
    if (std::find(excluded.begin(), excluded.end(), dep->id()) == excluded.end()) {
      d.add_candidates(dep->id());
    }
  }
  return d;
}

pb::DeadlinesReplanned Replan(const City& city, const pb::Event& event, pb::Mode mode) {
  const pb::SlaPolicy& sla = city.Sla(event.report().category(), event.level(), mode);
  pb::DeadlinesReplanned r;
  r.set_mode(mode);
  r.set_claim_deadline_ms(event.dispatched_at_ms() + sla.claim_seconds() * 1000);
  r.set_resolve_deadline_ms(event.dispatched_at_ms() + sla.resolve_seconds() * 1000);
  return r;
}

int64_t ReplannedDue(const City& city, const pb::Event& event, pb::Mode mode) {
  const pb::DeadlinesReplanned r = Replan(city, event, mode);
  return event.state() == pb::STATE_DISPATCHED ? r.claim_deadline_ms() : r.resolve_deadline_ms();
}

void AppendClimb(const EngineState& state, const pb::Event& event, pb::EscalationCause cause,
                 std::string_view whistled_by, int64_t now_ms, const pb::Actor& actor,
                 Decision* decision) {
  const bool answered = cause != pb::ESCALATION_ALL_RETURNED;
  const bool held = IsClaimed(event.state());
  const std::string holder = answered && held ? event.lead() : std::string();
  const bool releaser_answers = answered && !held &&
                                (cause != pb::ESCALATION_WHISTLE || whistled_by.empty() ||
                                 whistled_by == event.released_by());
  if (event.level() == pb::LEVEL_CITY) {
    // An overdue event stays where it is, and may still be claimed or resolved: nobody is counted
    // unresolved, so a release is not named.
    auto* overdue = decision->Add(event.id(), now_ms, actor).mutable_marked_overdue();
    overdue->set_cause(cause);
    overdue->set_holder(holder);
    return;
  }
  pb::Level next = NextLevel(event.level());
  auto* up = decision->Add(event.id(), now_ms, actor).mutable_escalated();
  up->set_from_level(event.level());
  up->set_to_level(next);
  up->set_cause(cause);
  up->set_holder(holder);
  if (releaser_answers) up->set_released_by(event.released_by());
  *decision->Add(event.id(), now_ms, actor).mutable_dispatched() =
      PlanDispatch(state, event.report(), event.grid(), next, now_ms);
}

}  // namespace whistle
