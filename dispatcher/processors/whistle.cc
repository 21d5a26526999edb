#include <fmt/format.h>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> WhistleProcessor::Decide(const Command& command, const EngineState& state,
                                          int64_t now_ms) const {
  const pb::WhistleCommand& c = command.request.whistle();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (c.department().empty()) {
    // A supervisor's whistle (authorization.h): the event climbs whoever holds it.
    if (Status s = CheckTransition(e, Action::kWhistle); !s.ok()) return s;
    if (c.claim_number() != 0) return BadRequest("a whistle without a department quotes no claim");
  } else {
    if (auto dep = RequireDepartment(state.city(), c.department()); !dep.ok()) return dep.status();
    if (Status s = CheckHandler(e, Action::kWhistle, c.department(), c.claim_number()); !s.ok()) {
      return s;
    }
  }
  if (Status s = CheckText("reason", c.reason(), true); !s.ok()) return s;
  if (c.seen_level() != pb::LEVEL_UNSPECIFIED) {
    if (!IsHandlingLevel(c.seen_level())) {
      return BadRequest(fmt::format("seen_level {} is not a level an event is handled at",
                                    static_cast<int>(c.seen_level())));
    }
    if (c.seen_level() != e.level()) {
      return IllegalTransition(fmt::format(
          "cannot whistle event {} from {} level: it is at {} level now", e.id(),
          LevelName(c.seen_level()), LevelName(e.level())));
    }
  }
  if (e.level() == pb::LEVEL_CITY) {
    return IllegalTransition(fmt::format("cannot whistle event {}: it is already at city level", e.id()));
  }

  Decision d;
  d.reply_event_id = e.id();
  pb::Whistled* whistled = d.Add(e.id(), now_ms, command.actor).mutable_whistled();
  whistled->set_department(c.department());
  whistled->set_reason(c.reason());
  AppendClimb(state, e, pb::ESCALATION_WHISTLE, c.department(), now_ms, command.actor, &d);
  return d;
}

}  // namespace whistle
