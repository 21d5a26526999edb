#include <algorithm>

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

  // Re-plan, from their dispatch time, the deadlines of unresolved events whose mode changes.
  const EngineState::ModeOverride change{c.region(), c.mode()};
  std::vector<std::pair<uint64_t, pb::Mode>> affected;
  state.ForEachOpenEvent([&](const pb::Event& e) {
    if (!Allows(e.state(), Action::kReplan) || e.overdue() || !city.Contains(c.region(), e.grid())) {
      return;
    }
    // A nearer region's own mode still wins over the one being set; urgent reports stay urgent.
    pb::Mode in_force = PlanningMode(state, e.report(), e.grid(), &change);
    if (in_force != EffectiveMode(e.mode())) affected.emplace_back(e.id(), in_force);
  });
  std::sort(affected.begin(), affected.end());  // deterministic record order
  for (auto [id, mode] : affected) {
    auto e = state.FindEvent(id);
    *d.Add(id, now_ms, command.actor).mutable_deadlines_replanned() = Replan(city, **e, mode);
  }

  pb::Response reply;
  reply.mutable_mode()->set_region(c.region());
  reply.mutable_mode()->set_mode(c.mode());
  reply.mutable_mode()->set_replanned_events(static_cast<uint32_t>(affected.size()));
  d.reply = std::move(reply);
  return d;
}

}  // namespace whistle
