#include <optional>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {
namespace {

pb::Actor TimerActor() {
  pb::Actor a;
  a.set_role(pb::ROLE_SYSTEM);
  a.set_principal("timer");
  return a;
}

std::optional<Action> ActionFor(pb::TimerKind kind) {
  switch (kind) {
    case pb::TIMER_CLAIM_DEADLINE: return Action::kClaimDeadline;
    case pb::TIMER_RESOLVE_DEADLINE: return Action::kResolveDeadline;
    case pb::TIMER_AUTO_CLOSE: return Action::kAutoClose;
    default: return std::nullopt;
  }
}

}  // namespace

Result<Decision> DeadlineProcessor::Decide(const DueTimer& timer, const EngineState& state,
                                           int64_t now_ms) const {
  Decision d;
  auto event = state.FindEvent(timer.event_id);
  if (!event.ok()) return event.status();
  const pb::Event* e = *event;
  // The event may have moved on since the timer was taken: then it no longer applies.
  if (e == nullptr || e->timer_due_ms() != timer.due_ms || e->timer_kind() != timer.kind ||
      timer.due_ms > now_ms || !ActionFor(timer.kind) || !Allows(e->state(), *ActionFor(timer.kind))) {
    return d;
  }
  d.reply_event_id = e->id();
  switch (timer.kind) {
    case pb::TIMER_CLAIM_DEADLINE:
      AppendClimb(state, *e, pb::ESCALATION_CLAIM_DEADLINE, {}, now_ms, TimerActor(), &d);
      break;
    case pb::TIMER_RESOLVE_DEADLINE:
      AppendClimb(state, *e, pb::ESCALATION_RESOLVE_DEADLINE, {}, now_ms, TimerActor(), &d);
      break;
    case pb::TIMER_AUTO_CLOSE:
      d.Add(e->id(), now_ms, TimerActor()).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
      break;
    default:
      break;
  }
  return d;
}

}  // namespace whistle
