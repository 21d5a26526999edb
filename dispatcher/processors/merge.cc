#include <fmt/format.h>

#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> MergeProcessor::Decide(const Command& command, const EngineState& state,
                                        int64_t now_ms) const {
  const pb::MergeCommand& c = command.request.merge();
  if (c.event_id() == c.into_event_id()) {
    return BadRequest(fmt::format("cannot merge event {} into itself", c.event_id()));
  }
  auto source = RequireEvent(state, c.event_id());
  if (!source.ok()) return source.status();
  auto target = RequireEvent(state, c.into_event_id());
  if (!target.ok()) return target.status();
  if (Status s = CheckTransition(**source, Action::kMergeSource); !s.ok()) return s;
  if (Status s = CheckTransition(**target, Action::kMergeTarget); !s.ok()) return s;

  Decision d;
  d.reply_event_id = c.into_event_id();
  d.Add(c.event_id(), now_ms, command.actor).mutable_merged_into()->set_into_event_id(c.into_event_id());
  pb::ReportLinked* linked = d.Add(c.into_event_id(), now_ms, command.actor).mutable_report_linked();
  pb::LinkedReport* link = linked->mutable_link();
  link->set_event_id(c.event_id());
  link->set_reporter((*source)->report().reporter());
  link->set_principal((*source)->submitted_by());
  link->set_at_ms(now_ms);
  // The reports linked to the source come along, so that their reporters may still read and rate
  // what became of them (Reporters in lifecycle.h): counted, with their principals, in this one
  // record however many they are. Not their request ids: a hotline order is told its event was
  // merged and follows it no further (agents/gateway/order_tracker.h).
  linked->set_carried_links(LinkedCount(**source));
  for (std::string_view p : Reporters(**source)) {
    if (p != (*source)->submitted_by()) linked->add_carried_principals(std::string(p));
  }
  return d;
}

}  // namespace whistle
