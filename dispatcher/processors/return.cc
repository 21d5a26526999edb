#include <fmt/format.h>

#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {

Result<Decision> ReturnProcessor::Decide(const Command& command, const EngineState& state,
                                         int64_t now_ms) const {
  const pb::ReturnCommand& c = command.request.return_task();
  auto event = RequireEvent(state, c.event_id());
  if (!event.ok()) return event.status();
  const pb::Event& e = **event;
  if (auto dep = RequireDepartment(state.city(), c.department()); !dep.ok()) return dep.status();
  if (Status s = CheckHandler(e, Action::kReturn, c.department(), c.claim_number()); !s.ok()) return s;
  // 退单 must say why: the next department, and the statistics, depend on it.
  if (Status s = CheckText("reason", c.reason(), true); !s.ok()) return s;

  std::vector<std::string> excluded(e.returned_by().begin(), e.returned_by().end());
  excluded.push_back(c.department());
  pb::Dispatched rerouted = PlanDispatch(state, e.report(), e.grid(), e.level(), now_ms,
                                         excluded);
  if (rerouted.candidates().empty() && e.level() == pb::LEVEL_CITY) {
    return IllegalTransition(fmt::format(
        "cannot return event {}: '{}' is its last candidate at city level; ask a supervisor",
        e.id(), c.department()));
  }

  Decision d;
  d.reply_event_id = e.id();
  pb::Returned* returned = d.Add(e.id(), now_ms, command.actor).mutable_returned();
  returned->set_department(c.department());
  returned->set_reason(c.reason());
  returned->set_held_claim(IsClaimed(e.state()));  // CheckHandler: then it is the holder's
  if (!rerouted.candidates().empty()) {
    *d.Add(e.id(), now_ms, command.actor).mutable_dispatched() = std::move(rerouted);
  } else {
    // Everyone at this level said "not ours": the level above decides.
    AppendClimb(state, e, pb::ESCALATION_ALL_RETURNED, {}, now_ms, command.actor, &d);
  }
  return d;
}

}  // namespace whistle
