#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> ResolveProcessor::Decide(const Command& command, const EngineState& state,
                                          int64_t now_ms) const {
  const pb::ResolveCommand& c = command.request.resolve();
  auto event = RequireHeldEvent(state, c.event_id(), Action::kResolve, c.claim_number());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  // What was done is what the citizen is asked to rate (办理结果): required.
  if (Status s = CheckText("note", c.note(), true); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  pb::Resolved* resolved = d.Add(e.id(), now_ms, command.actor).mutable_resolved();
  resolved->set_department(e.lead());
  resolved->set_claim_number(c.claim_number());
  resolved->set_note(c.note());
  return d;
}

}  // namespace whistle
