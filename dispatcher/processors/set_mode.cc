#include <fmt/format.h>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {
Result<Decision> SetModeProcessor::Decide(const Command& command, const EngineState& state,
                                          int64_t now_ms) const {
  const pb::SetModeCommand& c = command.request.set_mode();
  const City& city = state.city();
  const pb::Region* region = city.FindRegion(c.region());
  if (region == nullptr) {
    return NotFound(fmt::format("unknown region '{}'", c.region().substr(0, kMaxIdBytes)));
  }
  if (region->level() == pb::LEVEL_GRID) {
    return BadRequest(fmt::format("mode is set per city, county, street or community; '{}' is a grid",
                                  c.region()));
  }
  if (c.mode() != pb::MODE_NORMAL && c.mode() != pb::MODE_EMERGENCY) {
    return BadRequest("mode must be MODE_NORMAL or MODE_EMERGENCY");
  }

  Decision d;
  pb::ModeChanged* changed = d.Add(0, now_ms, command.actor).mutable_mode_changed();
  changed->set_region(c.region());
  changed->set_mode(c.mode());
  changed->set_request_id(command.request.request_id());

  // The unresolved events whose mode this switch changes are re-planned from their dispatch time,
  // in the rounds after this one, the soonest new deadline first (Engine, "Re-planning"): all at
  // once, a whole city's took seconds and gigabytes in one batch. The switch changes the mode of
  // events in the region only, and not where a nearer region has its own mode set or a report is
  // urgent (EngineState::PlanningMode).
  // An event an earlier switch has yet to re-plan is listed again only if this one changes its
  // mode too, so a switch repeated while the first one's list is worked through lists nothing.
  const EngineState::ModeOverride change{city.RegionIndex(c.region()), c.mode()};
  state.ForEachOpenEvent([&](const pb::Event& e) {
    const pb::Mode after = state.PlanningMode(e.report(), e.grid(), &change);
    if (after != state.PlanningMode(e.report(), e.grid()) && state.NeedsReplan(e, &change)) {
      d.replans.push_back({ReplannedDue(city, e, after), e.id()});
    }
  });

  pb::Response reply;
  reply.mutable_mode()->set_region(c.region());
  reply.mutable_mode()->set_mode(c.mode());
  reply.mutable_mode()->set_replanned_events(static_cast<uint32_t>(d.replans.size()));
  d.reply = std::move(reply);
  return d;
}

}  // namespace whistle
