#include <algorithm>

#include <fmt/format.h>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {
namespace {

// The mode in force for `grid` once `region` is set to `mode`.
pb::Mode ModeAfter(const EngineState& state, const std::string& grid, const std::string& region,
                   pb::Mode mode) {
  for (const pb::Region* r : state.city().Ancestry(grid)) {
    if (r->code() == region) return mode;
    if (auto it = state.modes().find(r->code()); it != state.modes().end()) {
      return EffectiveMode(it->second);
    }
  }
  return pb::MODE_NORMAL;
}

}  // namespace

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
  std::vector<const pb::Event*> affected;
  state.ForEachOpenEvent([&](const pb::Event& e) {
    if (Allows(e.state(), Action::kReplan) && !e.overdue() && city.Contains(c.region(), e.grid()) &&
        ModeAfter(state, e.grid(), c.region(), c.mode()) != EffectiveMode(e.mode())) {
      affected.push_back(&e);
    }
  });
  // Deterministic record order, whatever the hash map's.
  std::sort(affected.begin(), affected.end(),
            [](const pb::Event* a, const pb::Event* b) { return a->id() < b->id(); });
  for (const pb::Event* e : affected) {
    *d.Add(e->id(), now_ms, command.actor).mutable_deadlines_replanned() = Replan(city, *e, c.mode());
  }

  pb::Response reply;
  reply.mutable_mode()->set_region(c.region());
  reply.mutable_mode()->set_mode(c.mode());
  reply.mutable_mode()->set_replanned_events(static_cast<uint32_t>(affected.size()));
  d.reply = std::move(reply);
  return d;
}

}  // namespace whistle
