#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> ReopenProcessor::Decide(const Command& command, const EngineState& state,
                                         int64_t now_ms) const {
  const pb::ReopenCommand& c = command.request.reopen();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (Status s = CheckTransition(e, Action::kReopen); !s.ok()) return s;
  if (Status s = CheckText("reason", c.reason(), true); !s.ok()) return s;
  if (Status s = CheckStillInCity(e, Action::kReopen, state.city()); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  d.Add(e.id(), now_ms, command.actor).mutable_reopened()->set_reason(c.reason());
  *d.Add(e.id(), now_ms, command.actor).mutable_dispatched() =
      PlanDispatch(state, e.report(), e.grid(), e.level(), now_ms);
  return d;
}

}  // namespace whistle
