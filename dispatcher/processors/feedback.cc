#include <fmt/format.h>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> FeedbackProcessor::Decide(const Command& command, const EngineState& state,
                                           int64_t now_ms) const {
  const pb::FeedbackCommand& c = command.request.feedback();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (Status s = CheckTransition(e, Action::kFeedback); !s.ok()) return s;
  if (c.score() < 1 || c.score() > 5) {
    return BadRequest(fmt::format("score {} is out of range: give 1 to 5", c.score()));
  }
  if (Status s = CheckText("comment", c.comment(), false); !s.ok()) return s;

  Decision d;
  d.reply_event_id = e.id();
  pb::FeedbackGiven* given = d.Add(e.id(), now_ms, command.actor).mutable_feedback_given();
  given->mutable_feedback()->set_satisfied(c.satisfied());
  given->mutable_feedback()->set_score(c.score());
  given->mutable_feedback()->set_comment(c.comment());
  given->mutable_feedback()->set_at_ms(now_ms);
  given->set_resolved_by(e.resolved_by());
  if (c.satisfied()) {
    d.Add(e.id(), now_ms, command.actor).mutable_closed()->set_cause(pb::CLOSE_SATISFIED);
    return d;
  }
  // Not satisfied: the level that resolved it takes it again, with fresh deadlines.
  d.Add(e.id(), now_ms, command.actor).mutable_reopened()->set_reason("unsatisfied feedback");
  *d.Add(e.id(), now_ms, command.actor).mutable_dispatched() =
      PlanDispatch(state, e.report(), e.grid(), e.level(), now_ms);
  return d;
}

}  // namespace whistle
