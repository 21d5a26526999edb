#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> ReleaseProcessor::Decide(const Command& command, const EngineState& state,
                                          int64_t now_ms) const {
  const pb::ReleaseCommand& c = command.request.release();
  auto event = RequireHeldEvent(state, c.event_id(), Action::kRelease, c.claim_number());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (Status s = CheckText("reason", c.reason(), false); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  pb::Released* released = d.Add(e.id(), now_ms, command.actor).mutable_released();
  released->set_department(e.lead());
  released->set_claim_number(c.claim_number());
  released->set_reason(c.reason());
  released->set_answerable(true);  // a release hands back the claim, not the duty (appliers.h)
  return d;
}

}  // namespace whistle
