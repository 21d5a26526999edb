#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> CancelProcessor::Decide(const Command& command, const EngineState& state,
                                         int64_t now_ms) const {
  const pb::CancelCommand& c = command.request.cancel();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (Status s = CheckTransition(e, Action::kCancel); !s.ok()) return s;
  if (Status s = CheckText("reason", c.reason(), true); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  d.Add(e.id(), now_ms, command.actor).mutable_cancelled()->set_reason(c.reason());
  return d;
}

}  // namespace whistle
