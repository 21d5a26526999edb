#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> ProgressProcessor::Decide(const Command& command, const EngineState& state,
                                           int64_t now_ms) const {
  const pb::ProgressCommand& c = command.request.progress();
  auto event = RequireHeldEvent(state, c.event_id(), Action::kProgress, c.claim_number());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (Status s = CheckText("note", c.note(), false); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  pb::Progressed* progressed = d.Add(e.id(), now_ms, command.actor).mutable_progressed();
  progressed->set_department(e.lead());
  progressed->set_claim_number(c.claim_number());
  progressed->set_note(c.note());
  return d;
}

}  // namespace whistle
