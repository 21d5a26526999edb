#include "dispatcher/appliers.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "dispatcher/lifecycle.h"
#include "whistle/check.h"

namespace whistle {
namespace {

using Bump = void (*)(pb::StatCounters&);

// Adds to a counter for the given departments, the regions containing the event's grid, and the
// level scope (when `level` is a handling level).
template <typename Departments>
void CountFor(EngineState& state, const pb::Record& r, const pb::Event& e, const Departments& departments,
              pb::Level level, Bump bump) {
  const City& city = state.city();
  const int64_t at = r.at_ms();
  for (const auto& d : departments) bump(state.MutableDepartmentCounters(at, d));
  for (int region = city.RegionIndex(e.grid()); region >= 0; region = city.ParentIndex(region)) {
    bump(state.MutableRegionCounters(at, region));
  }
  if (IsHandlingLevel(level)) bump(state.MutableLevelCounters(at, level));
}

void Count(EngineState& state, const pb::Record& r, const pb::Event& e,
           std::initializer_list<std::string_view> departments, pb::Level level, Bump bump) {
  CountFor(state, r, e, departments, level, bump);
}

void Count(EngineState& state, const pb::Record& r, const pb::Event& e,
           const google::protobuf::RepeatedPtrField<std::string>& departments, pb::Level level, Bump bump) {
  CountFor(state, r, e, departments, level, bump);
}

void ClearClaim(pb::Event& e) {
  e.clear_lead();
  e.clear_claim_agent();
  e.clear_assists();
  e.clear_claimed_at_ms();
  e.clear_released_by();
}

void RemoveValue(google::protobuf::RepeatedPtrField<std::string>* list, const std::string& v) {
  list->erase(std::remove(list->begin(), list->end(), v), list->end());
}

// A claim deadline passing unanswered counts against every candidate, once per dispatch (a
// dispatch someone claimed in time and then released was answered).
void CountClaimMissed(EngineState& state, const pb::Record& r, pb::Event& e) {
  e.set_overdue_redispatch(false);  // judged
  if (e.responded()) return;
  Count(state, r, e, e.candidates(), e.level(),
        [](pb::StatCounters& c) { c.set_claim_missed(c.claim_missed() + 1); });
}

// A department that climbs away unresolved: the holder (resolve deadline, a whistle), or the one
// that gave the claim back with nobody claiming it since (Escalated.released_by).
void CountUnresolved(EngineState& state, const pb::Record& r, const pb::Event& e,
                     const std::string& department) {
  if (department.empty()) return;
  Count(state, r, e, {department}, e.level(),
        [](pb::StatCounters& c) { c.set_unresolved(c.unresolved() + 1); });
}

void ApplySubmitted(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.CreateEvent(r.event_id());
  *e.mutable_report() = r.submitted().report();
  e.set_grid(r.submitted().grid());
  e.set_state(pb::STATE_SUBMITTED);
  e.set_created_at_ms(r.at_ms());
  e.set_submitted_by(r.actor().principal());
  Count(state, r, e, {}, pb::LEVEL_UNSPECIFIED,
        [](pb::StatCounters& c) { c.set_submitted(c.submitted() + 1); });
}

void ApplyDispatched(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  const pb::Dispatched& d = r.dispatched();
  if (d.level() != e.level()) e.clear_returned_by();  // returns count per level
  e.set_state(pb::STATE_DISPATCHED);
  e.set_level(d.level());
  *e.mutable_candidates() = d.candidates();
  ClearClaim(e);
  e.set_dispatched_at_ms(r.at_ms());
  e.set_responded(false);
  e.set_claim_deadline_ms(d.claim_deadline_ms());
  e.set_resolve_deadline_ms(d.resolve_deadline_ms());
  // Still overdue (a return at city level): the new candidates get a fair time all the same,
  // and are judged by it.
  e.set_overdue_redispatch(e.overdue());
  e.set_mode(d.mode());
  Count(state, r, e, e.candidates(), e.level(),
        [](pb::StatCounters& c) { c.set_offered(c.offered() + 1); });
}

void ApplyClaimed(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  const pb::Claimed& c = r.claimed();
  e.set_state(pb::STATE_CLAIMED);
  e.set_lead(c.department());
  e.set_claim_agent(c.agent());
  e.set_claim_number(c.claim_number());
  e.set_claimed_at_ms(r.at_ms());
  e.clear_released_by();
  if (c.in_time() && !e.responded()) {
    Count(state, r, e, {c.department()}, e.level(),
          [](pb::StatCounters& s) { s.set_claimed_in_time(s.claimed_in_time() + 1); });
    e.set_responded(true);
  } else if (!c.in_time() && (!e.overdue() || e.overdue_redispatch()) && !e.responded()) {
    // Late, and no timer has counted the miss yet (MarkedOverdue has, for the dispatch that went
    // overdue at city level; not for a later one).
    Count(state, r, e, {c.department()}, e.level(),
          [](pb::StatCounters& s) { s.set_claim_missed(s.claim_missed() + 1); });
    e.set_responded(true);
  }
  e.set_overdue_redispatch(false);
}

void ApplyAssistJoined(const pb::Record& r, EngineState& state) {
  state.MutableEvent(r.event_id()).add_assists(r.assist_joined().department());
}

void ApplyReleased(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  e.set_state(pb::STATE_DISPATCHED);
  ClearClaim(e);
  if (r.released().answerable()) e.set_released_by(r.released().department());
}

void ApplyProgressed(const pb::Record& r, EngineState& state) {
  state.MutableEvent(r.event_id()).set_state(pb::STATE_IN_PROGRESS);
}

void ApplyResolved(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  e.set_state(pb::STATE_RESOLVED);
  e.set_resolved_at_ms(r.at_ms());
  e.set_resolved_by(r.resolved().department());
  Count(state, r, e, {r.resolved().department()}, e.level(),
        [](pb::StatCounters& c) { c.set_resolved(c.resolved() + 1); });
}

void ApplyReturned(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  const std::string& department = r.returned().department();
  e.add_returned_by(department);
  RemoveValue(e.mutable_candidates(), department);
  if (e.lead() == department) {
    e.set_state(pb::STATE_DISPATCHED);
    ClearClaim(e);
  }
  Count(state, r, e, {department}, pb::LEVEL_UNSPECIFIED,
        [](pb::StatCounters& c) { c.set_returned(c.returned() + 1); });
}

void ApplyWhistled(const pb::Record& r, EngineState& state) {
  // History only: the Escalated record that follows moves the event.
  (void)state.MutableEvent(r.event_id());
}

void ApplyEscalated(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  const pb::Escalated& up = r.escalated();
  WHISTLE_CHECK(up.from_level() == e.level(), "event %llu escalates from level %d but is at %d",
                static_cast<unsigned long long>(e.id()), up.from_level(), e.level());
  if (up.cause() == pb::ESCALATION_CLAIM_DEADLINE) CountClaimMissed(state, r, e);
  if (up.cause() == pb::ESCALATION_RESOLVE_DEADLINE || up.cause() == pb::ESCALATION_WHISTLE) {
    CountUnresolved(state, r, e, up.holder());
  }
  // The planner names a releaser only for the causes it answers for (AppendClimb).
  CountUnresolved(state, r, e, up.released_by());
  Count(state, r, e, {}, e.level(), [](pb::StatCounters& c) { c.set_escalated(c.escalated() + 1); });
  e.set_escalations(e.escalations() + 1);
  ClearClaim(e);
}

void ApplyMarkedOverdue(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  // A holder past the city's resolve deadline may still resolve: only the claim miss is final.
  if (r.marked_overdue().cause() == pb::ESCALATION_CLAIM_DEADLINE) CountClaimMissed(state, r, e);
  // An event is counted overdue once, not again when a later dispatch's claim is missed too.
  if (!e.overdue()) {
    Count(state, r, e, {}, e.level(), [](pb::StatCounters& c) { c.set_overdue(c.overdue() + 1); });
  }
  e.set_overdue(true);
  e.set_overdue_redispatch(false);
  e.set_supervised(true);
}

void ApplySupervised(const pb::Record& r, EngineState& state) {
  state.MutableEvent(r.event_id()).set_supervised(true);
}

void ApplyFeedbackGiven(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  const pb::FeedbackGiven& f = r.feedback_given();
  *e.mutable_feedback() = f.feedback();
  Bump bump = f.feedback().satisfied()
                  ? Bump([](pb::StatCounters& c) { c.set_satisfied(c.satisfied() + 1); })
                  : Bump([](pb::StatCounters& c) { c.set_unsatisfied(c.unsatisfied() + 1); });
  Count(state, r, e, {f.resolved_by()}, e.level(), bump);
}

void ApplyReopened(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  e.set_state(pb::STATE_REOPENED);
  e.set_reopen_count(e.reopen_count() + 1);
  // It starts over at its level: new deadlines that must fire, every department offered again.
  // A supervision flag stays.
  e.set_overdue(false);
  e.clear_returned_by();
  e.clear_resolved_at_ms();
  e.clear_resolved_by();
  e.clear_closed_at_ms();
}

void ApplyMergedInto(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  e.set_state(pb::STATE_MERGED);
  e.set_merged_into(r.merged_into().into_event_id());
  e.set_closed_at_ms(r.at_ms());
  ClearClaim(e);
}

void ApplyReportLinked(const pb::Record& r, EngineState& state) {
  AddLinked(&state.MutableEvent(r.event_id()), r.report_linked());
}

void ApplyCancelled(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  e.set_state(pb::STATE_CANCELLED);
  e.set_closed_at_ms(r.at_ms());
  ClearClaim(e);
}

void ApplyClosed(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  e.set_state(pb::STATE_CLOSED);
  e.set_closed_at_ms(r.at_ms());
  Count(state, r, e, {}, pb::LEVEL_UNSPECIFIED,
        [](pb::StatCounters& c) { c.set_closed(c.closed() + 1); });
}

void ApplyDeadlinesReplanned(const pb::Record& r, EngineState& state) {
  pb::Event& e = state.MutableEvent(r.event_id());
  const pb::DeadlinesReplanned& d = r.deadlines_replanned();
  e.set_mode(d.mode());
  e.set_claim_deadline_ms(d.claim_deadline_ms());
  e.set_resolve_deadline_ms(d.resolve_deadline_ms());
}

void ApplyModeChanged(const pb::Record& r, EngineState& state) {
  state.SetMode(r.mode_changed().region(), r.mode_changed().mode());
}

void ApplyPrincipalCreated(const pb::Record& r, EngineState& state) {
  state.PutPrincipal(r.principal_created().principal());
}

void ApplyPrincipalRevoked(const pb::Record& r, EngineState& state) {
  const pb::Principal* p = state.FindPrincipal(r.principal_revoked().name());
  WHISTLE_CHECK(p != nullptr, "record %llu revokes unknown principal '%s'",
                static_cast<unsigned long long>(r.seq()), r.principal_revoked().name().c_str());
  pb::Principal revoked = *p;
  revoked.set_revoked_at_ms(r.at_ms());
  revoked.set_revoked_by(r.actor().principal());
  state.PutPrincipal(std::move(revoked));
}

}  // namespace

void ApplyRecord(const pb::Record& r, EngineState& state) {
  switch (r.body_case()) {
    case pb::Record::kSubmitted: return ApplySubmitted(r, state);
    case pb::Record::kDispatched: return ApplyDispatched(r, state);
    case pb::Record::kClaimed: return ApplyClaimed(r, state);
    case pb::Record::kAssistJoined: return ApplyAssistJoined(r, state);
    case pb::Record::kReleased: return ApplyReleased(r, state);
    case pb::Record::kProgressed: return ApplyProgressed(r, state);
    case pb::Record::kResolved: return ApplyResolved(r, state);
    case pb::Record::kReturned: return ApplyReturned(r, state);
    case pb::Record::kWhistled: return ApplyWhistled(r, state);
    case pb::Record::kEscalated: return ApplyEscalated(r, state);
    case pb::Record::kMarkedOverdue: return ApplyMarkedOverdue(r, state);
    case pb::Record::kSupervised: return ApplySupervised(r, state);
    case pb::Record::kFeedbackGiven: return ApplyFeedbackGiven(r, state);
    case pb::Record::kReopened: return ApplyReopened(r, state);
    case pb::Record::kMergedInto: return ApplyMergedInto(r, state);
    case pb::Record::kReportLinked: return ApplyReportLinked(r, state);
    case pb::Record::kCancelled: return ApplyCancelled(r, state);
    case pb::Record::kClosed: return ApplyClosed(r, state);
    case pb::Record::kDeadlinesReplanned: return ApplyDeadlinesReplanned(r, state);
    case pb::Record::kModeChanged: return ApplyModeChanged(r, state);
    case pb::Record::kPrincipalCreated: return ApplyPrincipalCreated(r, state);
    case pb::Record::kPrincipalRevoked: return ApplyPrincipalRevoked(r, state);
    case pb::Record::BODY_NOT_SET: break;
  }
  WHISTLE_CHECK(false, "record %llu has no body", static_cast<unsigned long long>(r.seq()));
}

}  // namespace whistle
