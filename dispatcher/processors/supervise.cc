#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> SuperviseProcessor::Decide(const Command& command, const EngineState& state,
                                            int64_t now_ms) const {
  const pb::SuperviseCommand& c = command.request.supervise();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (Status s = CheckTransition(e, Action::kSupervise); !s.ok()) return s;
  if (Status s = CheckText("note", c.note(), false); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  d.Add(e.id(), now_ms, command.actor).mutable_supervised()->set_note(c.note());
  return d;
}

}  // namespace whistle
