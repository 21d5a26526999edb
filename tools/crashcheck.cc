#include "tools/crashcheck.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace whistle::crashcheck {
namespace {

bool Held(pb::EventState s) { return s == pb::STATE_CLAIMED || s == pb::STATE_IN_PROGRESS; }
// Waiting for a claim or held: the states returns, whistles, merges, cancels and re-plans need.
bool Open(pb::EventState s) { return s == pb::STATE_DISPATCHED || Held(s); }

std::string_view Short(pb::EventState s) {
  std::string_view name = pb::EventState_Name(s);
  if (name.starts_with("STATE_")) name.remove_prefix(6);
  return name;
}

std::string_view Short(pb::Level l) {
  std::string_view name = pb::Level_Name(l);
  if (name.starts_with("LEVEL_")) name.remove_prefix(6);
  return name;
}

std::string_view Short(pb::Mode m) {
  std::string_view name = pb::Mode_Name(m);
  if (name.starts_with("MODE_")) name.remove_prefix(5);
  return name;
}

// A mode as planning reads it (dispatcher/city.h EffectiveMode): anything but emergency is normal.
pb::Mode Effective(pb::Mode m) { return m == pb::MODE_EMERGENCY ? m : pb::MODE_NORMAL; }

enum class TimerKind { kNone, kClaim, kResolve, kClose };

// A return, whistle, assist, supervision, rating, reopen, merge or cancel now and then meets a
// state that refuses it; this many of a kind, none accepted, does not happen to the workload (a
// short run accepts a few to dozens of each; assists are asked of events another department
// leads, as a rule, which about one in three accepts).
constexpr size_t kRefusalsToNotice = 20;

// The reason of the Reopened record that unsatisfied feedback writes (processors/feedback.cc).
constexpr std::string_view kUnsatisfiedReason = "unsatisfied feedback";

std::string_view TimerName(TimerKind k) {
  switch (k) {
    case TimerKind::kClaim: return "claim deadline";
    case TimerKind::kResolve: return "resolve deadline";
    case TimerKind::kClose: return "quiet period";
    case TimerKind::kNone: break;
  }
  return "no timer";
}

// One event, as replayed from its records (mirrors dispatcher/appliers.cc for what the checks
// need, and EngineState::PlanTimer for its one pending timer).
struct EventModel {
  std::string grid, category;
  bool urgent = false;
  int64_t created_at = 0;
  bool positioned = false;  // its report has a position
  int64_t dispatched_at = 0;  // at the current level
  pb::Mode planned_mode = pb::MODE_NORMAL;  // of its deadlines: its Dispatched or DeadlinesReplanned
  pb::EventState state = pb::STATE_UNSPECIFIED;
  pb::Level level = pb::LEVEL_UNSPECIFIED;
  bool overdue = false;
  // Event.overdue_redispatch: dispatched afresh while overdue (a return at city level), so its
  // claim deadline is armed again.
  bool overdue_redispatch = false;
  uint64_t claim_number = 0;
  std::string lead, agent;
  // The department that gave its claim back at this dispatch (its Released record answerable),
  // nobody claiming it since: a climb nobody holds names it (Escalated.released_by), unless for
  // being returned by all or for another department's whistle (`whistled_by`).
  std::string released_by;
  // The department of the Whistled record before a climb; "" = a supervisor's.
  std::string whistled_by;
  int64_t claim_deadline = 0, resolve_deadline = 0, resolved_at = 0;
  uint32_t next_event_seq = 0;
  bool dispatched_once = false;
  std::optional<pb::Level> escalated_to;  // set by Escalated until its Dispatched
  std::string resolved_by;  // the department whose Resolved record stands
  uint32_t reopens = 0;
  uint32_t linked = 0;        // reports linked to it: a ReportLinked record's, and those it carried
  uint32_t link_records = 0;  // ReportLinked records
  // (merged event, request id) of the newest kLinkedKept ReportLinked records: Event.linked.
  std::deque<std::pair<uint64_t, std::string>> kept_links;
  uint64_t merged_into = 0;  // set by MergedInto
  // What a record must be followed by, in the same batch: a Returned one by the dispatch or
  // climb, a Whistled one by its climb, a FeedbackGiven one by the close (satisfied) or the reopen,
  // a Reopened one by its dispatch.
  enum class Pending {
    kNothing, kReturnedOutcome, kWhistledClimb, kSatisfiedClose, kUnsatisfiedReopen, kReopenedDispatch
  } pending = Pending::kNothing;
  std::vector<std::string> candidates;  // offered to at its level, less those that returned it
  std::set<std::string, std::less<>> returned_by;  // at its level
  // Each level's first offer: every department of the level, which a reopen offers it to again.
  std::map<pb::Level, std::vector<std::string>> full_offer;
  // False once a record the model does not follow (MergedInto, Cancelled, ...) applies: the
  // deadline and offer checks are off for the event from then on.
  bool deadlines_modelled = true;
  TimerKind timer = TimerKind::kNone;
  int64_t timer_due = 0;
  int64_t timer_set_ms = 0;  // the batch time of the record that planned it
  std::vector<const pb::Record*> records;
  std::vector<std::string> assists;  // departments that joined the current claim, in order
  bool supervised = false;           // a Supervised record, or an overdue mark; never unset

  // The claim is over (Event's ClearClaim in dispatcher/appliers.cc).
  void EndClaim() {
    lead.clear();
    agent.clear();
    assists.clear();
    released_by.clear();
  }
};

class Checker {
 public:
  Checker(const History& history, const Observed& observed, const CheckOptions& options)
      : history_(history), observed_(observed), options_(options) {}

  std::vector<Violation> Run() {
    for (const Op& op : history_.ops) {
      if (op.kind == OpKind::kReturn || op.kind == OpKind::kWhistle ||
          op.kind == OpKind::kFeedback || op.kind == OpKind::kReopen ||
          op.kind == OpKind::kCancel || op.kind == OpKind::kSupervise) {
        sent_by_reason_[op.request_id] = &op;
      }
      if (op.kind == OpKind::kMerge) merges_sent_.insert({op.event_id, op.into_event_id});
      if (op.kind == OpKind::kSubmit) submits_[op.request_id] = &op;
    }
    ReplayLog();
    CheckNothingLeftHanging();
    CheckSubmits();
    CheckTransitions();
    CheckModeSwitches();
    CheckSomeAccepted();
    CheckPublished();
    if (!observed_.events.empty()) CheckEvents();
    CheckCounters();
    return std::move(violations_);
  }

 private:
  void Add(std::string check, uint64_t event_id, uint64_t seq, std::string what) {
    violations_.push_back({std::move(check), event_id, seq, std::move(what)});
  }

  // ------------------------------------------------------------------ the log, replayed in order
  void ReplayLog() {
    uint64_t expected_seq = 1;
    for (const pb::Record& r : observed_.log) {
      if (r.seq() != expected_seq) {
        Add("log", r.event_id(), r.seq(),
            fmt::format("sequence numbers jump from {} to {}", expected_seq - 1, r.seq()));
      }
      expected_seq = r.seq() + 1;
      // A batch re-plans before it fires its due timers (Engine::Decide): a re-plan, whoever it
      // is stamped with, proves nothing about the timers of its batch.
      if (r.actor().role() != pb::ROLE_SYSTEM && !r.has_deadlines_replanned()) CheckMissedDeadlines(r);
      CheckMergeLinked(r);
      if (r.event_id() != 0) Apply(r);
      if (r.has_mode_changed()) modes_[r.mode_changed().region()] = Effective(r.mode_changed().mode());
    }
  }

  // The mode an event's deadlines must be planned in now (EngineState::PlanningMode).
  pb::Mode ModeInForce(const EventModel& m) const {
    if (m.urgent) return pb::MODE_EMERGENCY;
    std::string_view code = m.grid;
    while (!code.empty()) {
      if (auto set = modes_.find(code); set != modes_.end()) return set->second;
      auto parent = options_.parents.find(code);
      if (parent == options_.parents.end()) break;
      code = parent->second;
    }
    return pb::MODE_NORMAL;
  }

  // A claim is judged, and a claim or resolve deadline fires, by deadlines planned in the mode in
  // force. An overdue event is not re-planned (its deadlines are spent) unless it was dispatched
  // again while overdue and waits for a claim.
  void CheckPlannedInForce(const pb::Record& r, const EventModel& m, std::string_view what) {
    if (!m.deadlines_modelled || !Replannable(m)) return;
    if (pb::Mode now = ModeInForce(m); m.planned_mode != now) {
      Add("mode", r.event_id(), r.seq(),
          fmt::format("{} by deadlines planned in {} mode while {} mode is in force for grid {}", what,
                      Short(m.planned_mode), Short(now), m.grid));
    }
  }

  // A command record at time T: every timer due at or before T, planned in an earlier batch, must
  // have fired already (the engine fires due timers before a batch's commands).
  void CheckMissedDeadlines(const pb::Record& r) {
    while (!pending_.empty() && pending_.begin()->first <= r.at_ms()) {
      auto [due, id] = *pending_.begin();
      pending_.erase(pending_.begin());
      const EventModel& m = events_[id];
      if (m.timer_set_ms >= r.at_ms()) {
        deferred_.emplace_back(due, id);  // planned in this batch (same time): not due yet here
        continue;
      }
      Add("deadline", id, r.seq(),
          fmt::format("its {} (due {}) passed without firing: record {} was stamped {} ms after it",
                      TimerName(m.timer), due, r.seq(), r.at_ms() - due));
    }
    for (auto& d : deferred_) pending_.insert(d);
    deferred_.clear();
  }

  void Apply(const pb::Record& r) {
    const uint64_t id = r.event_id();
    auto found = events_.find(id);
    if (found == events_.end()) {
      if (!r.has_submitted()) {
        const auto* body = r.GetDescriptor()->FindFieldByNumber(r.body_case());
        Add("log", id, r.seq(), fmt::format("first record of the event is not Submitted but {}",
                                            body != nullptr ? body->name() : std::string("empty")));
      }
      found = events_.emplace(id, EventModel{}).first;
    } else if (r.has_submitted()) {
      Add("log", id, r.seq(), "a second Submitted record for the event");
    }
    EventModel& m = found->second;
    if (m.state == pb::STATE_MERGED || m.state == pb::STATE_CANCELLED) {
      const auto* body = r.GetDescriptor()->FindFieldByNumber(r.body_case());
      Add("lifecycle", id, r.seq(),
          fmt::format("a {} record for an event already {}", body != nullptr ? body->name() : std::string("empty"),
                      Short(m.state)));
    }
    m.records.push_back(&r);
    if (r.event_seq() != m.next_event_seq) {
      Add("log", id, r.seq(), fmt::format("event_seq {} where {} was next", r.event_seq(), m.next_event_seq));
    }
    m.next_event_seq = r.event_seq() + 1;

    if (m.escalated_to && !r.has_dispatched()) {
      Add("ladder", id, r.seq(), "an Escalated record not followed by its Dispatched");
      m.escalated_to.reset();
    }
    const EventModel::Pending pending = std::exchange(m.pending, EventModel::Pending::kNothing);
    if (pending != EventModel::Pending::kNothing && !Follows(pending, r)) {
      Add(RuleOf(pending), id, r.seq(), std::string(Unfollowed(pending)));
    }
    if (pending == EventModel::Pending::kReturnedOutcome && r.has_dispatched() && m.deadlines_modelled &&
        (m.candidates.empty() || !std::ranges::equal(r.dispatched().candidates(), m.candidates))) {
      // The rest of the level, as planned at its dispatch there, less those that returned it.
      Add("offer", id, r.seq(),
          fmt::format("dispatched again after a return to [{}], not to the rest of its level [{}]{}",
                      fmt::join(r.dispatched().candidates(), ", "), fmt::join(m.candidates, ", "),
                      m.candidates.empty() ? ", which is nobody: it climbs instead" : ""));
    }
    if (r.has_dispatched() && m.deadlines_modelled && pending != EventModel::Pending::kReturnedOutcome) {
      const auto& offered = r.dispatched().candidates();
      auto [full, first] = m.full_offer.try_emplace(r.dispatched().level(), offered.begin(), offered.end());
      if (pending == EventModel::Pending::kReopenedDispatch && !first && !std::ranges::equal(offered, full->second)) {
        Add("offer", id, r.seq(),
            fmt::format("dispatched again after a reopen to [{}], not to every department of its level [{}]",
                        fmt::join(offered, ", "), fmt::join(full->second, ", ")));
      }
    }
    switch (r.body_case()) {
      case pb::Record::kSubmitted:
        m.state = pb::STATE_SUBMITTED;
        m.grid = r.submitted().grid();
        m.category = r.submitted().report().category();
        m.urgent = r.submitted().report().urgent();
        m.created_at = r.at_ms();
        m.positioned = r.submitted().report().has_position();
        CheckNotARepeat(r, m);
        break;
      case pb::Record::kDeadlinesReplanned: ApplyReplanned(r, m); break;
      case pb::Record::kDispatched: ApplyDispatched(r, m); break;
      case pb::Record::kClaimed: ApplyClaimed(r, m); break;
      case pb::Record::kReleased:
        CheckFenced(r, m, "release", r.released().claim_number());
        m.state = pb::STATE_DISPATCHED;
        {
          std::string releaser = m.lead;
          m.EndClaim();
          if (r.released().answerable()) m.released_by = std::move(releaser);
        }
        break;
      case pb::Record::kProgressed:
        CheckFenced(r, m, "progress", r.progressed().claim_number());
        m.state = pb::STATE_IN_PROGRESS;
        break;
      case pb::Record::kResolved:
        CheckFenced(r, m, "resolve", r.resolved().claim_number());
        m.state = pb::STATE_RESOLVED;
        m.resolved_at = r.at_ms();
        m.resolved_by = r.resolved().department();
        break;
      case pb::Record::kEscalated: ApplyEscalated(r, m, pending); break;
      case pb::Record::kMarkedOverdue:
        if (m.level != pb::LEVEL_CITY) {
          Add("ladder", id, r.seq(), fmt::format("marked overdue at {} level, not at city level", Short(m.level)));
        }
        CheckFired(r, m, r.marked_overdue().cause());
        CheckClimbHolder(r, m, r.marked_overdue().holder());
        m.overdue = true;
        m.supervised = true;
        m.overdue_redispatch = false;
        break;
      case pb::Record::kClosed:
        if (r.closed().cause() == pb::CLOSE_QUIET_PERIOD) CheckFiredKind(r, m, TimerKind::kClose);
        if (r.closed().cause() == pb::CLOSE_SATISFIED && pending != EventModel::Pending::kSatisfiedClose) {
          Add("lifecycle", id, r.seq(), "closed as satisfied right after no satisfied feedback");
        }
        if (m.state != pb::STATE_RESOLVED) {
          Add("lifecycle", id, r.seq(), fmt::format("closed while {}", Short(m.state)));
        }
        m.state = pb::STATE_CLOSED;
        break;
      case pb::Record::kAssistJoined:
        ApplyAssistJoined(r, m);
        break;
      case pb::Record::kSupervised:
        CheckOpen(r, m, "supervised");
        (void)SentFor(r, OpKind::kSupervise, r.supervised().note());
        m.supervised = true;
        break;
      case pb::Record::kReportLinked:
        if (r.report_linked().link().event_id() == 0) CheckRepeat(r, m);
        m.linked += 1 + r.report_linked().carried_links();
        ++m.link_records;
        m.kept_links.emplace_back(r.report_linked().link().event_id(), r.report_linked().link().request_id());
        if (m.kept_links.size() > kLinkedKept) m.kept_links.pop_front();
        break;
      case pb::Record::kFeedbackGiven: ApplyFeedbackGiven(r, m); break;
      case pb::Record::kReturned: ApplyReturned(r, m); break;
      case pb::Record::kWhistled: ApplyWhistled(r, m); break;
      case pb::Record::kReopened: ApplyReopened(r, m, pending); break;
      case pb::Record::kMergedInto: ApplyMergedInto(r, m); break;
      case pb::Record::kCancelled:
        CheckOpen(r, m, "cancelled");
        (void)SentFor(r, OpKind::kCancel, r.cancelled().reason());
        m.state = pb::STATE_CANCELLED;
        m.EndClaim();
        break;
      default:  // not caused by the workload
        m.deadlines_modelled = false;
        break;
    }
    Replan(id, m, r.at_ms());
  }

  // Whether `r` is what a record that left `pending` must be followed by.
  static bool Follows(EventModel::Pending pending, const pb::Record& r) {
    using P = EventModel::Pending;
    switch (pending) {
      case P::kReturnedOutcome:
        return r.has_dispatched() || (r.has_escalated() && r.escalated().cause() == pb::ESCALATION_ALL_RETURNED);
      case P::kWhistledClimb: return r.has_escalated() && r.escalated().cause() == pb::ESCALATION_WHISTLE;
      case P::kSatisfiedClose: return r.has_closed() && r.closed().cause() == pb::CLOSE_SATISFIED;
      case P::kUnsatisfiedReopen: return r.has_reopened();
      case P::kReopenedDispatch: return r.has_dispatched();
      case P::kNothing: break;
    }
    return true;
  }
  static std::string_view Unfollowed(EventModel::Pending pending) {
    using P = EventModel::Pending;
    switch (pending) {
      case P::kReturnedOutcome: return "a Returned record not followed by a dispatch at its level or a climb";
      case P::kWhistledClimb: return "a Whistled record not followed by its climb";
      case P::kSatisfiedClose: return "a satisfied FeedbackGiven record not followed by the event's close";
      case P::kUnsatisfiedReopen: return "an unsatisfied FeedbackGiven record not followed by the event's reopen";
      case P::kReopenedDispatch: return "a Reopened record not followed by the event's dispatch";
      case P::kNothing: break;
    }
    return "";
  }
  static const char* RuleOf(EventModel::Pending pending) {
    using P = EventModel::Pending;
    return pending == P::kReturnedOutcome || pending == P::kWhistledClimb ? "ladder" : "lifecycle";
  }

  // A batch is written whole and the log is read to its end: nothing a record must be followed by
  // is missing at the end of it either.
  void CheckNothingLeftHanging() {
    for (const auto& [id, m] : events_) {
      const uint64_t last = m.records.empty() ? 0 : m.records.back()->seq();
      if (m.escalated_to) Add("ladder", id, last, "the log ends after an Escalated record, without its Dispatched");
      if (merge_link_ && merge_link_->source == id) {
        Add("lifecycle", id, last, "the log ends after a MergedInto record, without the link of its report");
      }
      if (m.pending != EventModel::Pending::kNothing) {
        Add(RuleOf(m.pending), id, last, fmt::format("the log ends after {}", Unfollowed(m.pending)));
      }
    }
  }

  void ApplyDispatched(const pb::Record& r, EventModel& m) {
    const pb::Level level = r.dispatched().level();
    pb::Level expected = m.escalated_to ? *m.escalated_to
                         : m.dispatched_once ? m.level
                                             : pb::LEVEL_COMMUNITY;
    if (level != expected) {
      Add("ladder", r.event_id(), r.seq(),
          fmt::format("dispatched at {} level where {} level was next", Short(level), Short(expected)));
    }
    m.escalated_to.reset();
    m.dispatched_once = true;
    m.state = pb::STATE_DISPATCHED;
    if (level != m.level) m.returned_by.clear();  // returns count per level
    m.level = level;
    m.candidates.assign(r.dispatched().candidates().begin(), r.dispatched().candidates().end());
    for (const std::string& c : m.candidates) {
      if (m.deadlines_modelled && m.returned_by.contains(c)) {
        Add("offer", r.event_id(), r.seq(),
            fmt::format("dispatched again at {} level to '{}', which returned it at that level", Short(level), c));
      }
    }
    // Still overdue (a return at city level): the new candidates' claim deadline is armed.
    m.overdue_redispatch = m.overdue;
    m.EndClaim();
    m.claim_deadline = r.dispatched().claim_deadline_ms();
    m.resolve_deadline = r.dispatched().resolve_deadline_ms();
    m.dispatched_at = r.at_ms();
    m.planned_mode = Effective(r.dispatched().mode());
    if (pb::Mode now = ModeInForce(m); m.planned_mode != now) {
      Add("mode", r.event_id(), r.seq(),
          fmt::format("dispatched in {} mode while {} mode is in force for grid {}", Short(m.planned_mode),
                      Short(now), m.grid));
    }
    CheckSla(r, m, "dispatched");
  }

  // The model's deadlines (just planned) against the SLA of its category, level and planned mode.
  void CheckSla(const pb::Record& r, const EventModel& m, std::string_view what) {
    if (options_.sla.empty()) return;
    auto sla = options_.sla.find({m.category, m.level, m.planned_mode});
    if (sla == options_.sla.end()) {
      Add("mode", r.event_id(), r.seq(),
          fmt::format("{} with no SLA for '{}' at {} level in {} mode", what, m.category, Short(m.level),
                      Short(m.planned_mode)));
    } else if (m.claim_deadline != m.dispatched_at + sla->second.claim_ms ||
               m.resolve_deadline != m.dispatched_at + sla->second.resolve_ms) {
      Add("mode", r.event_id(), r.seq(),
          fmt::format("{} with deadlines {} and {}, not {} mode's {} and {} (dispatched at {})", what,
                      m.claim_deadline, m.resolve_deadline, Short(m.planned_mode),
                      m.dispatched_at + sla->second.claim_ms, m.dispatched_at + sla->second.resolve_ms,
                      m.dispatched_at));
    }
  }

  // EngineState::NeedsReplan's states: dispatched, claimed or in progress, and not overdue unless
  // dispatched again while overdue (waiting for a claim: Event.overdue_redispatch).
  static bool Replannable(const EventModel& m) {
    return Open(m.state) && (!m.overdue || m.overdue_redispatch);
  }

  // EngineState::NeedsReplan: a replannable event planned in another mode than the one in force,
  // re-planned in that one.
  void ApplyReplanned(const pb::Record& r, EventModel& m) {
    const pb::DeadlinesReplanned& re = r.deadlines_replanned();
    const pb::Mode mode = Effective(re.mode());
    const pb::Mode now = ModeInForce(m);
    if (!Open(m.state)) {
      Add("mode", r.event_id(), r.seq(), fmt::format("re-planned while {}", Short(m.state)));
    } else if (!Replannable(m)) {
      Add("mode", r.event_id(), r.seq(), "re-planned while overdue (and not dispatched again)");
    } else if (mode != now || mode == m.planned_mode) {
      Add("mode", r.event_id(), r.seq(),
          fmt::format("re-planned from {} to {} mode while {} mode is in force for grid {}",
                      Short(m.planned_mode), Short(mode), Short(now), m.grid));
    }
    m.planned_mode = mode;
    m.claim_deadline = re.claim_deadline_ms();
    m.resolve_deadline = re.resolve_deadline_ms();
    CheckSla(r, m, "re-planned");
  }

  void ApplyClaimed(const pb::Record& r, EventModel& m) {
    const pb::Claimed& c = r.claimed();
    if (Held(m.state)) {
      Add("holder", r.event_id(), r.seq(),
          fmt::format("claim {} by {}/{} while {}/{} holds claim {}", c.claim_number(), c.department(),
                      c.agent(), m.lead, m.agent, m.claim_number));
    } else if (m.state != pb::STATE_DISPATCHED) {
      Add("holder", r.event_id(), r.seq(),
          fmt::format("claim {} by {}/{} accepted while the event is {}", c.claim_number(),
                      c.department(), c.agent(), Short(m.state)));
    }
    if (c.claim_number() != m.claim_number + 1) {
      Add("holder", r.event_id(), r.seq(),
          fmt::format("claim number {} after claim {} (they grow by one)", c.claim_number(), m.claim_number));
    }
    if (m.state == pb::STATE_DISPATCHED && m.deadlines_modelled) {
      CheckPlannedInForce(r, m, "claim judged");
      if (const bool in_time = r.at_ms() < m.claim_deadline; c.in_time() != in_time) {
        Add("deadline", r.event_id(), r.seq(),
            fmt::format("claim {} at {} recorded {} in time, but the claim deadline in force is {}",
                        c.claim_number(), r.at_ms(), c.in_time() ? "as" : "as not", m.claim_deadline));
      }
    }
    CheckOffered(r, m, "claim", c.department());
    m.state = pb::STATE_CLAIMED;
    m.lead = c.department();
    m.agent = c.agent();
    m.released_by.clear();
    m.claim_number = c.claim_number();
    m.overdue_redispatch = false;
  }

  // A department joins the holder to co-handle the event (ClaimCommand.assist): a candidate at its
  // level, while the event is held, neither the lead nor assisting already.
  void ApplyAssistJoined(const pb::Record& r, EventModel& m) {
    const std::string& department = r.assist_joined().department();
    if (!Held(m.state)) {
      Add("holder", r.event_id(), r.seq(),
          fmt::format("'{}' joins to assist while the event is {}", department, Short(m.state)));
    } else if (department == m.lead ||
               std::ranges::find(m.assists, department) != m.assists.end()) {
      Add("holder", r.event_id(), r.seq(),
          fmt::format("'{}' joins to assist while it already {} the event", department,
                      department == m.lead ? "leads" : "assists"));
    }
    CheckOffered(r, m, "assist", department);
    m.assists.push_back(department);
  }

  // 退单: a candidate declines the offer, or the holder gives its claim back; either way the
  // department is not offered the event again at this level.
  void ApplyReturned(const pb::Record& r, EventModel& m) {
    const pb::Returned& ret = r.returned();
    const Op* sent = SentFor(r, OpKind::kReturn, ret.reason());
    CheckOpen(r, m, "returned");
    CheckSentFor(r, "return", ret.department(), sent);
    CheckHandler(r, m, "return", ret.department(), ret.held_claim(), sent);
    CheckOffered(r, m, "return", ret.department());
    std::erase(m.candidates, ret.department());
    m.returned_by.insert(ret.department());
    if (m.lead == ret.department()) {
      m.state = pb::STATE_DISPATCHED;
      m.EndClaim();
    }
    m.pending = EventModel::Pending::kReturnedOutcome;
  }

  // A whistle (吹哨): a department's, which must be the holder's or a candidate's, or a
  // supervisor's (no department). It moves nothing itself: the climb that follows does.
  void ApplyWhistled(const pb::Record& r, EventModel& m) {
    const pb::Whistled& w = r.whistled();
    const Op* sent = SentFor(r, OpKind::kWhistle, w.reason());
    CheckOpen(r, m, "whistled");
    CheckSentFor(r, "whistle", w.department(), sent);
    if (!w.department().empty()) {
      CheckHandler(r, m, "whistle", w.department(), Held(m.state), sent);
      CheckOffered(r, m, "whistle", w.department());
    }
    if (sent != nullptr && sent->seen_level != pb::LEVEL_UNSPECIFIED && sent->seen_level != m.level) {
      Add("ladder", r.event_id(), r.seq(),
          fmt::format("whistle {} was sent from {} level, but the event climbs from {} level",
                      sent->request_id, Short(sent->seen_level), Short(m.level)));
    }
    m.whistled_by = w.department();
    m.pending = EventModel::Pending::kWhistledClimb;
  }

  // A citizen's rating of a resolved event (the department that resolved it is the one rated):
  // satisfied closes it, unsatisfied reopens it.
  void ApplyFeedbackGiven(const pb::Record& r, EventModel& m) {
    const pb::FeedbackGiven& f = r.feedback_given();
    if (m.state != pb::STATE_RESOLVED) {
      Add("lifecycle", r.event_id(), r.seq(), fmt::format("feedback accepted while {}", Short(m.state)));
    } else if (f.resolved_by() != m.resolved_by) {
      Add("lifecycle", r.event_id(), r.seq(),
          fmt::format("feedback rates '{}', but '{}' resolved the event", f.resolved_by(), m.resolved_by));
    }
    if (const Op* sent = SentFor(r, OpKind::kFeedback, f.feedback().comment());
        sent != nullptr && sent->satisfied != f.feedback().satisfied()) {
      Add("lost", r.event_id(), r.seq(),
          fmt::format("feedback {} was sent {} but is recorded {}", sent->request_id,
                      sent->satisfied ? "satisfied" : "not satisfied",
                      f.feedback().satisfied() ? "satisfied" : "not satisfied"));
    }
    m.pending = f.feedback().satisfied() ? EventModel::Pending::kSatisfiedClose
                                         : EventModel::Pending::kUnsatisfiedReopen;
  }

  // A duplicate joins the event it repeats (its reports linked there, in the same batch): both
  // must be open, and someone must have asked for that merge.
  void ApplyMergedInto(const pb::Record& r, EventModel& m) {
    const uint64_t into = r.merged_into().into_event_id();
    auto target = events_.find(into);
    CheckOpen(r, m, "merged");
    if (target == events_.end() || into == r.event_id() || !Open(target->second.state)) {
      Add("lifecycle", r.event_id(), r.seq(),
          fmt::format("merged into event {}, which is {}", into,
                      target == events_.end() ? std::string("not in the log")
                      : into == r.event_id()  ? std::string("itself")
                                              : std::string(Short(target->second.state))));
    }
    if (!merges_sent_.contains({r.event_id(), into})) {
      Add("lost", r.event_id(), r.seq(), fmt::format("a merge into event {} nobody sent", into));
    }
    m.state = pb::STATE_MERGED;
    m.merged_into = into;
    m.EndClaim();
    // Its own report, carrying those linked to it before along.
    merge_link_ = MergeLink{r.event_id(), into, m.linked};
  }

  // A Submit makes a new event only when no unresolved event of its grid and category made within
  // the duplicate window was there for it to repeat (EngineState::UnresolvedAt, FindDuplicate in
  // dispatcher/processors/submit.cc). Where both reports have a position the distance decides,
  // which the model leaves to the engine. Records come in time order: each (grid, category) keeps
  // the events made within the window, oldest first.
  void CheckNotARepeat(const pb::Record& r, const EventModel& made) {
    if (options_.duplicate_window_ms <= 0) return;
    auto& recent = made_within_window_[{made.grid, made.category}];
    while (!recent.empty() && events_.at(recent.front()).created_at < r.at_ms() - options_.duplicate_window_ms) {
      recent.pop_front();
    }
    for (uint64_t earlier : recent) {
      const EventModel& e = events_.at(earlier);
      if (Open(e.state) && !(made.positioned && e.positioned)) {
        Add("submit", r.event_id(), r.seq(),
            fmt::format("a new event of {} in {} while event {} (made {} ms before, {}) was there for it to repeat",
                        made.category, made.grid, earlier, r.at_ms() - e.created_at, Short(e.state)));
        break;
      }
    }
    recent.push_back(r.event_id());
  }

  // A repeat report linked to an open event at its Submit: only to one waiting or held (not
  // resolved), and of the grid and category the Submit asked for. (That a Submit is linked at all,
  // once, and to the event it was answered with: CheckSubmits.)
  void CheckRepeat(const pb::Record& r, const EventModel& m) {
    if (!Open(m.state)) {
      Add("lifecycle", r.event_id(), r.seq(), fmt::format("a repeat report linked while {}", Short(m.state)));
    }
    if (options_.duplicate_window_ms > 0 && m.created_at < r.at_ms() - options_.duplicate_window_ms) {
      Add("lifecycle", r.event_id(), r.seq(),
          fmt::format("a repeat report linked {} ms after the event was made, past the {} ms window",
                      r.at_ms() - m.created_at, options_.duplicate_window_ms));
    }
    auto op = submits_.find(r.report_linked().link().request_id());
    if (op != submits_.end() && (op->second->grid != m.grid || op->second->category != m.category)) {
      Add("lifecycle", r.event_id(), r.seq(),
          fmt::format("a repeat report of {} in {} linked to an event of {} in {}", op->second->category,
                      op->second->grid, m.category, m.grid));
    }
  }

  // The record right after a MergedInto links the merged event's report to the one it joined, and
  // carries the reports linked to it along; no other record links a merged event's report.
  void CheckMergeLinked(const pb::Record& r) {
    if (!merge_link_) {
      if (r.has_report_linked() && r.report_linked().link().event_id() != 0) {
        Add("lifecycle", r.event_id(), r.seq(), "a merged event's report linked to the event, but by no merge");
      }
      return;
    }
    const MergeLink link = *merge_link_;
    merge_link_.reset();
    if (!(r.has_report_linked() && r.event_id() == link.into &&
          r.report_linked().link().event_id() == link.source)) {
      Add("lifecycle", link.source, r.seq(),
          fmt::format("a MergedInto record not followed by the link of its report on event {}", link.into));
    } else if (r.report_linked().carried_links() != link.carried) {
      Add("lifecycle", link.source, r.seq(),
          fmt::format("merged into event {} carrying {} linked report{} along, of the {} it had", link.into,
                      r.report_linked().carried_links(), r.report_linked().carried_links() == 1 ? "" : "s",
                      link.carried));
    }
  }

  // A resolved or closed event taken up again (a citizen's reopen, or unsatisfied feedback): it
  // starts over at its level, every department offered again, with fresh deadlines.
  void ApplyReopened(const pb::Record& r, EventModel& m, EventModel::Pending pending) {
    if (m.state != pb::STATE_RESOLVED && m.state != pb::STATE_CLOSED) {
      Add("lifecycle", r.event_id(), r.seq(), fmt::format("reopened while {}", Short(m.state)));
    }
    const bool for_feedback = r.reopened().reason() == kUnsatisfiedReason;
    if (for_feedback != (pending == EventModel::Pending::kUnsatisfiedReopen)) {
      Add("lifecycle", r.event_id(), r.seq(),
          for_feedback ? "reopened for unsatisfied feedback right after none"
                       : fmt::format("reopened right after unsatisfied feedback with the reason '{}', not '{}'",
                                     r.reopened().reason(), kUnsatisfiedReason));
    }
    if (!for_feedback) (void)SentFor(r, OpKind::kReopen, r.reopened().reason());
    m.state = pb::STATE_REOPENED;
    ++m.reopens;
    m.overdue = false;
    m.overdue_redispatch = false;
    m.returned_by.clear();
    m.resolved_at = 0;
    m.resolved_by.clear();
    m.pending = EventModel::Pending::kReopenedDispatch;
  }

  // Returns, whistles, merges and cancels: only of an event waiting for a claim or held.
  void CheckOpen(const pb::Record& r, const EventModel& m, std::string_view done) {
    if (!Open(m.state)) Add("lifecycle", r.event_id(), r.seq(), fmt::format("{} while {}", done, Short(m.state)));
  }

  // The record acts for the department its request named ("" for a supervisor's whistle).
  void CheckSentFor(const pb::Record& r, std::string_view what, const std::string& department,
                    const Op* sent) {
    if (sent == nullptr || sent->department == department) return;
    Add("lost", r.event_id(), r.seq(),
        fmt::format("{} {} was sent for '{}' but is recorded for '{}'", what, sent->request_id,
                    sent->department, department));
  }

  // The request a Returned, Whistled or Reopened record names (its reason), or a FeedbackGiven
  // record (its comment), if it is a request of `kind` for the record's event; null otherwise,
  // which is a finding: nobody sent the record's request, or it asked for something else.
  const Op* SentFor(const pb::Record& r, OpKind kind, const std::string& request_id) {
    auto it = sent_by_reason_.find(request_id);
    if (it == sent_by_reason_.end()) {
      Add("lost", r.event_id(), r.seq(),
          fmt::format("a {} nobody sent (request id '{}')", OpKindName(kind), request_id));
      return nullptr;
    }
    const Op& op = *it->second;
    if (op.kind != kind || op.event_id != r.event_id()) {
      Add("lost", r.event_id(), r.seq(),
          fmt::format("request {} was a {} of event {}, but the log has a {} of event {}", request_id,
                      OpKindName(op.kind), op.event_id, OpKindName(kind), r.event_id()));
      return nullptr;
    }
    return &op;
  }

  // A return or a department's whistle: by the holder, quoting its current claim (`held`: the
  // record says the department held it), or, while nobody holds the event, quoting none.
  void CheckHandler(const pb::Record& r, const EventModel& m, std::string_view what,
                    const std::string& department, bool held, const Op* sent) {
    const uint64_t quoted = sent != nullptr ? sent->claim_number : 0;
    if (held != Held(m.state)) {
      Add("stale-claim", r.event_id(), r.seq(),
          fmt::format("{} by '{}' recorded as {} the claim while the event is {}", what, department,
                      held ? "holding" : "not holding", Short(m.state)));
    } else if (held && department != m.lead) {
      Add("stale-claim", r.event_id(), r.seq(),
          fmt::format("{} by '{}' accepted while {}/{} holds claim {}", what, department, m.lead, m.agent,
                      m.claim_number));
    } else if (sent != nullptr && quoted != (held ? m.claim_number : 0)) {
      Add("stale-claim", r.event_id(), r.seq(),
          fmt::format("{} by '{}' accepted quoting claim {} while {}", what, department, quoted,
                      held ? fmt::format("the current claim is {}", m.claim_number)
                           : std::string("nobody holds the event")));
    }
  }

  // Claims, returns and a department's whistles come from a department offered the event.
  void CheckOffered(const pb::Record& r, const EventModel& m, std::string_view what,
                    const std::string& department) {
    if (!m.deadlines_modelled || std::ranges::find(m.candidates, department) != m.candidates.end()) return;
    Add("offer", r.event_id(), r.seq(),
        fmt::format("{} by '{}', which is not offered the event at {} level (offered to: {})", what,
                    department, Short(m.level), fmt::join(m.candidates, ", ")));
  }

  // A climb or an overdue mark names the department that held the event then, if any.
  void CheckClimbHolder(const pb::Record& r, const EventModel& m, const std::string& holder) {
    const std::string& held_by = Held(m.state) ? m.lead : std::string();
    if (holder == held_by) return;
    Add("holder", r.event_id(), r.seq(),
        fmt::format("{} names '{}' as the holder, but {}", r.has_escalated() ? "a climb" : "an overdue mark",
                    holder, held_by.empty() ? std::string("nobody holds the event") : "'" + held_by + "' does"));
  }

  // A climb nobody holds names the department that gave the claim back at this dispatch, if any:
  // it answers for the climb, unless every department returned the event or another department
  // whistled it up.
  void CheckClimbReleaser(const pb::Record& r, const EventModel& m, const pb::Escalated& up) {
    const bool whistled_by_another = up.cause() == pb::ESCALATION_WHISTLE &&
                                     !m.whistled_by.empty() && m.whistled_by != m.released_by;
    const bool answered =
        up.cause() != pb::ESCALATION_ALL_RETURNED && !Held(m.state) && !whistled_by_another;
    const std::string expected = answered ? m.released_by : std::string();
    if (up.released_by() == expected) return;
    Add("holder", r.event_id(), r.seq(),
        fmt::format(
            "a climb names '{}' as the department that gave it back, but {}", up.released_by(),
            expected.empty() ? std::string("none answers for it") : "'" + expected + "' does"));
  }

  void ApplyEscalated(const pb::Record& r, EventModel& m, EventModel::Pending pending) {
    const pb::Escalated& up = r.escalated();
    CheckClimbHolder(r, m, up.holder());
    CheckClimbReleaser(r, m, up);
    if (up.cause() == pb::ESCALATION_WHISTLE && pending != EventModel::Pending::kWhistledClimb) {
      Add("ladder", r.event_id(), r.seq(), "climbed for a whistle right after no Whistled record");
    }
    if (up.cause() == pb::ESCALATION_ALL_RETURNED) {
      if (pending != EventModel::Pending::kReturnedOutcome) {
        Add("ladder", r.event_id(), r.seq(), "climbed for being returned by all right after no Returned record");
      } else if (m.deadlines_modelled && !m.candidates.empty()) {
        Add("offer", r.event_id(), r.seq(),
            fmt::format("climbed for being returned by all while still offered to {}", fmt::join(m.candidates, ", ")));
      }
    }
    if (up.from_level() != m.level) {
      Add("ladder", r.event_id(), r.seq(),
          fmt::format("escalated from {} level while at {} level", Short(up.from_level()), Short(m.level)));
    }
    if (m.level >= pb::LEVEL_CITY || up.to_level() != m.level + 1) {
      Add("ladder", r.event_id(), r.seq(),
          fmt::format("escalated from {} to {} level, not to the next one", Short(m.level), Short(up.to_level())));
    }
    CheckFired(r, m, up.cause());
    m.escalated_to = up.to_level();
    m.EndClaim();
    m.overdue_redispatch = false;
  }

  // Progress, resolve and release must quote the current claim of a held event.
  void CheckFenced(const pb::Record& r, const EventModel& m, std::string_view what, uint64_t quoted) {
    if (!Held(m.state)) {
      Add("stale-claim", r.event_id(), r.seq(),
          fmt::format("{} with claim {} accepted while nobody holds the event (it is {})", what, quoted,
                      Short(m.state)));
    } else if (quoted != m.claim_number) {
      Add("stale-claim", r.event_id(), r.seq(),
          fmt::format("{} accepted with claim {} while the current claim is {} ({}/{})", what, quoted,
                      m.claim_number, m.lead, m.agent));
    }
  }

  void CheckFired(const pb::Record& r, const EventModel& m, pb::EscalationCause cause) {
    if (cause == pb::ESCALATION_CLAIM_DEADLINE || cause == pb::ESCALATION_RESOLVE_DEADLINE) {
      CheckPlannedInForce(r, m, "deadline fired");
    }
    if (cause == pb::ESCALATION_CLAIM_DEADLINE) CheckFiredKind(r, m, TimerKind::kClaim);
    if (cause == pb::ESCALATION_RESOLVE_DEADLINE) CheckFiredKind(r, m, TimerKind::kResolve);
  }

  void CheckFiredKind(const pb::Record& r, const EventModel& m, TimerKind kind) {
    if (!m.deadlines_modelled) return;
    if (m.timer != kind) {
      Add("deadline", r.event_id(), r.seq(),
          fmt::format("fired for its {} while {} was pending (a deadline fired twice, or never set)",
                      TimerName(kind), TimerName(m.timer)));
    } else if (r.at_ms() < m.timer_due) {
      Add("deadline", r.event_id(), r.seq(),
          fmt::format("fired for its {} {} ms early (due {}, fired {})", TimerName(kind),
                      m.timer_due - r.at_ms(), m.timer_due, r.at_ms()));
    }
  }

  // The event's one pending timer after a record (EngineState::PlanTimer).
  void Replan(uint64_t id, EventModel& m, int64_t at_ms) {
    TimerKind kind = TimerKind::kNone;
    int64_t due = 0;
    if (m.escalated_to) {
      // Between Escalated and its Dispatched: the old timer is spent.
    } else if (m.state == pb::STATE_DISPATCHED && (!m.overdue || m.overdue_redispatch)) {
      kind = TimerKind::kClaim;
      due = m.claim_deadline;
    } else if (Held(m.state) && !m.overdue) {
      kind = TimerKind::kResolve;
      due = m.resolve_deadline;
    } else if (m.state == pb::STATE_RESOLVED) {
      kind = TimerKind::kClose;
      due = m.resolved_at + options_.auto_close_ms;
    }
    if (!m.deadlines_modelled) kind = TimerKind::kNone;
    if (kind == m.timer && due == m.timer_due) return;
    if (m.timer != TimerKind::kNone) pending_.erase({m.timer_due, id});
    m.timer = kind;
    m.timer_due = kind == TimerKind::kNone ? 0 : due;
    m.timer_set_ms = at_ms;
    if (kind != TimerKind::kNone) pending_.insert({m.timer_due, id});
  }

  // ------------------------------------------------------------------ the clients' operations
  bool MustBeThere(const Op& op) const {
    return op.outcome == Outcome::kOk && op.ack_tick != 0 && op.ack_tick <= history_.ack_cutoff;
  }

  // The rules "submit" and "switch": every acknowledged operation of `kind` is in the log exactly
  // once, as the record `request_id_of` finds its request id in (null for other records), and that
  // record is the one it was answered with (`differs` says how it is not, or ""); a rejected one is
  // not there; none is there twice, and none that nobody sent.
  using RequestIdOf = const std::string* (*)(const pb::Record&);
  using Differs = std::string (*)(const Op&, const pb::Record&);
  void CheckOncePerRequest(OpKind kind, const char* rule, RequestIdOf request_id_of,
                           Differs differs) {
    std::map<std::string_view, std::vector<const pb::Record*>> by_request;
    for (const pb::Record& r : observed_.log) {
      if (const std::string* id = request_id_of(r)) by_request[*id].push_back(&r);
    }
    std::set<std::string_view> sent;
    const std::string_view name = OpKindName(kind);
    for (const Op& op : history_.ops) {
      if (op.kind != kind) continue;
      sent.insert(op.request_id);
      auto it = by_request.find(op.request_id);
      const pb::Record* first = it == by_request.end() ? nullptr : it->second.front();
      if (MustBeThere(op)) {
        if (first == nullptr) {
          Add(rule, op.event_id, 0,
              fmt::format("acknowledged {} {} (event {}) of {} is not in the log", name, op.request_id,
                          op.event_id, op.client));
        } else if (std::string how = differs(op, *first); !how.empty()) {
          Add(rule, first->event_id(), first->seq(), fmt::format("{} {} {}", name, op.request_id, how));
        }
      } else if (op.outcome == Outcome::kRejected && first != nullptr) {
        Add(rule, first->event_id(), first->seq(),
            fmt::format("{} {} was rejected ({}) yet is in the log", name, op.request_id,
                        pb::StatusCode_Name(op.code)));
      }
    }
    for (const auto& [request_id, records] : by_request) {
      if (records.size() > 1) {
        Add(rule, records[1]->event_id(), records[1]->seq(),
            fmt::format("{} {} is in the log {} times (seqs {} and {})", name, request_id, records.size(),
                        records[0]->seq(), records[1]->seq()));
      }
      if (!sent.contains(request_id)) {
        Add(rule, records[0]->event_id(), records[0]->seq(),
            fmt::format("a {} nobody sent (request id '{}')", name, request_id));
      }
    }
  }

  // A Submit is in the log as the event it made (Submitted) or as the repeat of an open one (the
  // ReportLinked record of its report, which names no merged event).
  void CheckSubmits() {
    CheckOncePerRequest(
        OpKind::kSubmit, "submit",
        [](const pb::Record& r) -> const std::string* {
          if (r.has_submitted()) return &r.submitted().request_id();
          if (r.has_report_linked() && r.report_linked().link().event_id() == 0) {
            return &r.report_linked().link().request_id();
          }
          return nullptr;
        },
        [](const Op& op, const pb::Record& r) {
          auto as = [](bool repeat, uint64_t id) {
            return fmt::format("{} {}", repeat ? "a repeat of event" : "event", id);
          };
          return r.event_id() == op.event_id && op.linked == r.has_report_linked()
                     ? std::string()
                     : fmt::format("was answered as {} but the log has it as {}", as(op.linked, op.event_id),
                                   as(r.has_report_linked(), r.event_id()));
        });
  }

  // A ModeChanged record names its SetMode's request id. One written before records did would
  // be a switch nobody sent, but the checker runs only on stores it saw made.
  void CheckModeSwitches() {
    CheckOncePerRequest(
        OpKind::kSetMode, "switch",
        [](const pb::Record& r) {
          return r.has_mode_changed() ? &r.mode_changed().request_id() : nullptr;
        },
        [](const Op& op, const pb::Record& r) {
          const pb::ModeChanged& m = r.mode_changed();
          return m.region() == op.region && m.mode() == op.mode
                     ? std::string()
                     : fmt::format("asked for {} {} but the log switches {} to {}", op.region,
                                   Short(op.mode), m.region(), Short(m.mode()));
        });
  }

  void CheckTransitions() {
    // Progress, resolve and release records carry the request id as their note / reason.
    std::map<std::string, const pb::Record*> by_note;
    std::map<std::pair<uint64_t, uint64_t>, const pb::Record*> claims;  // (event, claim number)
    std::set<std::pair<uint64_t, uint64_t>> merged;  // (event, into)
    // (A refused merge of a pair that another request, accepted or unanswered, merged is no finding.)
    std::set<std::pair<uint64_t, uint64_t>> merges_not_rejected;
    // An AssistJoined record names no request: counted by (event, department). Each assist
    // request makes at most one record (a department may join again under a later claim), so the
    // records are at least those acknowledged (before the cutoff) and at most those not refused.
    struct AssistCount {
      size_t records = 0, acknowledged = 0, not_rejected = 0;
      const Op* acked = nullptr;     // the last acknowledged, for the finding
      const Op* rejected = nullptr;  // the last refused
    };
    std::map<std::pair<uint64_t, std::string>, AssistCount> assists;
    for (const Op& op : history_.ops) {
      if (op.kind == OpKind::kMerge && op.outcome != Outcome::kRejected) {
        merges_not_rejected.insert({op.event_id, op.into_event_id});
      }
      if (op.kind == OpKind::kAssist) {
        AssistCount& n = assists[{op.event_id, op.department}];
        n.acknowledged += MustBeThere(op);
        if (MustBeThere(op)) n.acked = &op;
        n.not_rejected += op.outcome != Outcome::kRejected;
        if (op.outcome == Outcome::kRejected) n.rejected = &op;
      }
    }
    for (const pb::Record& r : observed_.log) {
      if (r.has_progressed()) by_note[r.progressed().note()] = &r;
      if (r.has_resolved()) by_note[r.resolved().note()] = &r;
      if (r.has_released()) by_note[r.released().reason()] = &r;
      if (r.has_returned()) by_note[r.returned().reason()] = &r;
      if (r.has_whistled()) by_note[r.whistled().reason()] = &r;
      if (r.has_feedback_given()) by_note[r.feedback_given().feedback().comment()] = &r;
      if (r.has_reopened()) by_note[r.reopened().reason()] = &r;
      if (r.has_cancelled()) by_note[r.cancelled().reason()] = &r;
      if (r.has_supervised()) by_note[r.supervised().note()] = &r;
      if (r.has_assist_joined()) ++assists[{r.event_id(), r.assist_joined().department()}].records;
      if (r.has_claimed()) claims[{r.event_id(), r.claimed().claim_number()}] = &r;
      if (r.has_merged_into()) merged.insert({r.event_id(), r.merged_into().into_event_id()});
    }
    std::map<std::pair<uint64_t, uint64_t>, const Op*> winners;
    for (const Op& op : history_.ops) {
      if (op.kind == OpKind::kSubmit || op.kind == OpKind::kSetMode) continue;
      if (op.kind == OpKind::kMerge) {
        // A MergedInto names no request: matched by its two events (an event merges once).
        if (MustBeThere(op) && !merged.contains({op.event_id, op.into_event_id})) {
          Add("lost", op.event_id, 0,
              fmt::format("acknowledged merge {} of event {} into event {} by {} is not in the log",
                          op.request_id, op.event_id, op.into_event_id, op.client));
        }
        if (op.outcome == Outcome::kRejected && merged.contains({op.event_id, op.into_event_id}) &&
            !merges_not_rejected.contains({op.event_id, op.into_event_id})) {
          Add("rejected", op.event_id, 0,
              fmt::format("merge {} of event {} into event {} was rejected ({}) yet is in the log",
                          op.request_id, op.event_id, op.into_event_id, pb::StatusCode_Name(op.code)));
        }
        continue;
      }
      if (op.kind == OpKind::kAssist) continue;  // counted below
      if (op.kind == OpKind::kClaim) {
        if (op.outcome != Outcome::kOk) continue;
        auto key = std::make_pair(op.event_id, op.claim_number);
        if (auto [it, fresh] = winners.emplace(key, &op); !fresh &&
            (it->second->department != op.department || it->second->agent != op.agent)) {
          Add("holder", op.event_id, 0,
              fmt::format("both {}/{} and {}/{} were told they won claim {}", it->second->department,
                          it->second->agent, op.department, op.agent, op.claim_number));
        }
        if (!MustBeThere(op)) continue;
        auto c = claims.find(key);
        if (c == claims.end()) {
          Add("lost", op.event_id, 0,
              fmt::format("acknowledged claim {} by {}/{} is not in the log", op.claim_number,
                          op.department, op.agent));
        } else if (c->second->claimed().department() != op.department || c->second->claimed().agent() != op.agent) {
          Add("holder", op.event_id, c->second->seq(),
              fmt::format("{}/{} was told it won claim {}, but the log gives it to {}/{}", op.department,
                          op.agent, op.claim_number, c->second->claimed().department(),
                          c->second->claimed().agent()));
        }
        continue;
      }
      auto it = by_note.find(op.request_id);
      if (MustBeThere(op) && it == by_note.end()) {
        Add("lost", op.event_id, 0,
            fmt::format("acknowledged {} {} (claim {}) by {} is not in the log", OpKindName(op.kind),
                        op.request_id, op.claim_number, op.client));
      } else if (op.outcome == Outcome::kRejected && it != by_note.end()) {
        Add("rejected", op.event_id, it->second->seq(),
            fmt::format("{} {} was rejected ({}) yet is in the log", OpKindName(op.kind), op.request_id,
                        pb::StatusCode_Name(op.code)));
      }
    }
    for (const auto& [key, n] : assists) {
      const auto& [event, department] = key;
      if (n.records < n.acknowledged) {
        Add("lost", event, 0,
            fmt::format("{} acknowledged assist(s) of event {} by {}, but {} AssistJoined "
                        "record(s) (the last acknowledged: {} by {})",
                        n.acknowledged, event, department, n.records, n.acked->request_id,
                        n.acked->agent));
      } else if (n.records > n.not_rejected) {
        Add("rejected", event, 0,
            fmt::format("{} AssistJoined record(s) of event {} by {}, but {} assist request(s) not "
                        "refused{}",
                        n.records, event, department, n.not_rejected,
                        n.rejected == nullptr
                            ? std::string()
                            : fmt::format(" ({} was refused: {})", n.rejected->request_id,
                                          pb::StatusCode_Name(n.rejected->code))));
      }
    }
  }

  // A workload whose returns (or whistles, assists, supervisions, satisfied or unsatisfied
  // ratings, reopens, merges, cancels) are all refused reaches none of what they lead to, and every
  // check of them passes for want of records: a dispatcher refusing every one is a finding.
  void CheckSomeAccepted() {
    struct Kind {
      OpKind kind;
      int satisfied;  // Feedback: 1 or 0; -1 for the others
      std::string_view name;
    };
    for (const Kind k :
         {Kind{OpKind::kReturn, -1, "returns"}, Kind{OpKind::kWhistle, -1, "whistles"},
          Kind{OpKind::kAssist, -1, "assists"}, Kind{OpKind::kSupervise, -1, "supervisions"},
          Kind{OpKind::kFeedback, 1, "satisfied ratings"},
          Kind{OpKind::kFeedback, 0, "unsatisfied ratings"}, Kind{OpKind::kReopen, -1, "reopens"},
          Kind{OpKind::kMerge, -1, "merges"}, Kind{OpKind::kCancel, -1, "cancels"}}) {
      size_t ok = 0, rejected = 0;
      const Op* refused = nullptr;
      for (const Op& op : history_.ops) {
        if (op.kind != k.kind || (k.satisfied >= 0 && op.satisfied != (k.satisfied == 1))) continue;
        if (op.outcome == Outcome::kOk) ++ok;
        if (op.outcome == Outcome::kRejected) ++rejected, refused = &op;
      }
      if (ok == 0 && rejected >= kRefusalsToNotice) {
        Add("workload", refused->event_id, 0,
            fmt::format("all {} {} sent were refused, none accepted (the last: {})", rejected, k.name,
                        pb::StatusCode_Name(refused->code)));
      }
    }
  }

  void CheckPublished() {
    for (const auto& [seq, record] : history_.published) {
      if (seq == 0 || seq > observed_.log.size() || observed_.log[seq - 1].seq() != seq) {
        Add("published", record.event_id(), seq,
            fmt::format("published to subscribers, but not in the log (it has {} records)",
                        observed_.log.size()));
      } else if (observed_.log[seq - 1].SerializeAsString() != record.SerializeAsString()) {
        Add("published", record.event_id(), seq,
            "the log's record differs from the one published to subscribers");
      }
    }
  }

  void CheckEvents() {
    for (const auto& [id, m] : events_) {
      auto it = observed_.events.find(id);
      if (it == observed_.events.end()) {
        Add("event", id, 0, "in the log, but GetQuery does not find it");
        continue;
      }
      const pb::EventView& view = it->second;
      bool same = static_cast<size_t>(view.history_size()) == m.records.size();
      for (size_t i = 0; same && i < m.records.size(); ++i) {
        same = view.history(static_cast<int>(i)).SerializeAsString() == m.records[i]->SerializeAsString();
      }
      if (!same) {
        Add("event", id, 0,
            fmt::format("its history ({} records) differs from its records in the log ({})",
                        view.history_size(), m.records.size()));
      }
      const pb::Event& e = view.event();
      if (e.state() != m.state || e.level() != m.level || e.lead() != m.lead ||
          e.claim_number() != m.claim_number || e.overdue() != m.overdue) {
        Add("event", id, 0,
            fmt::format("stored as {} at {} level, lead '{}', claim {}{}; the log replays to {} at {} "
                        "level, lead '{}', claim {}{}",
                        Short(e.state()), Short(e.level()), e.lead(), e.claim_number(),
                        e.overdue() ? ", overdue" : "", Short(m.state), Short(m.level), m.lead,
                        m.claim_number, m.overdue ? ", overdue" : ""));
      }
      if (!std::ranges::equal(e.assists(), m.assists)) {
        Add("event", id, 0,
            fmt::format("stored assisted by [{}]; the log replays to [{}]",
                        fmt::join(e.assists(), ", "), fmt::join(m.assists, ", ")));
      }
      if (e.supervised() != m.supervised) {
        Add("event", id, 0,
            fmt::format("stored {}supervised; the log replays to {}supervised",
                        e.supervised() ? "" : "not ", m.supervised ? "" : "not "));
      }
      if (e.released_by() != m.released_by) {
        Add("event", id, 0,
            fmt::format("stored as given back by '{}'; the log replays to '{}'", e.released_by(),
                        m.released_by));
      }
      if (m.deadlines_modelled && e.overdue_redispatch() != m.overdue_redispatch) {
        Add("event", id, 0,
            fmt::format("stored with overdue_redispatch {}; the log replays to {}", e.overdue_redispatch(),
                        m.overdue_redispatch));
      }
      if (m.deadlines_modelled && !std::ranges::equal(e.candidates(), m.candidates)) {
        Add("event", id, 0,
            fmt::format("stored offered to {}; the log replays to {}", fmt::join(e.candidates(), ", "),
                        fmt::join(m.candidates, ", ")));
      }
      std::deque<std::pair<uint64_t, std::string>> kept;
      for (const pb::LinkedReport& link : e.linked()) kept.emplace_back(link.event_id(), link.request_id());
      if (e.linked_count() != m.linked || e.merged_into() != m.merged_into) {
        Add("event", id, 0,
            fmt::format("stored with {} linked reports{}; the log replays to {}{}", e.linked_count(),
                        e.merged_into() != 0 ? fmt::format(", merged into event {}", e.merged_into()) : "",
                        m.linked,
                        m.merged_into != 0 ? fmt::format(", merged into event {}", m.merged_into) : ""));
      }
      if (kept != m.kept_links) {
        auto names = [](const std::deque<std::pair<uint64_t, std::string>>& links) {
          std::vector<std::string> out;
          for (const auto& [merged, request_id] : links) {
            out.push_back(merged != 0 ? fmt::format("event {}", merged) : request_id);
          }
          return fmt::format("[{}]", fmt::join(out, ", "));
        };
        Add("event", id, 0,
            fmt::format("stored keeping the links {}; the log replays to {}", names(kept), names(m.kept_links)));
      }
      if (e.reopen_count() != m.reopens) {
        Add("event", id, 0,
            fmt::format("stored as reopened {} times; the log replays to {}", e.reopen_count(), m.reopens));
      }
      std::vector<std::string> returned_by(e.returned_by().begin(), e.returned_by().end());
      std::ranges::sort(returned_by);
      if (m.deadlines_modelled && !std::ranges::equal(returned_by, m.returned_by)) {
        Add("event", id, 0,
            fmt::format("stored as returned at its level by [{}]; the log replays to [{}]",
                        fmt::join(returned_by, ", "), fmt::join(m.returned_by, ", ")));
      }
      if (m.deadlines_modelled &&
          (Effective(e.mode()) != m.planned_mode || e.claim_deadline_ms() != m.claim_deadline ||
           e.resolve_deadline_ms() != m.resolve_deadline)) {
        Add("event", id, 0,
            fmt::format("stored planned in {} mode, deadlines {} and {}; the log replays to {} mode, {} "
                        "and {}",
                        Short(Effective(e.mode())), e.claim_deadline_ms(), e.resolve_deadline_ms(),
                        Short(m.planned_mode), m.claim_deadline, m.resolve_deadline));
      }
      if (observed_.settled && m.deadlines_modelled && Replannable(m)) {
        if (pb::Mode now = ModeInForce(m); m.planned_mode != now) {
          Add("mode", id, 0,
              fmt::format("left planned in {} mode while {} mode is in force for grid {}, with "
                          "nothing left to re-plan: a switch's re-plans were never finished",
                          Short(m.planned_mode), Short(now), m.grid));
        }
      }
    }
  }

  void CheckCounters() {
    auto text = [](const std::map<std::string, pb::StatCounters>& counters, const std::string& key) {
      auto it = counters.find(key);
      return it == counters.end() ? std::string("none") : it->second.ShortDebugString();
    };
    std::set<std::string> keys;
    for (const auto* counters : {&observed_.counters, &observed_.replayed_counters}) {
      for (const auto& [key, c] : *counters) keys.insert(key);
    }
    for (const std::string& key : keys) {
      std::string stored = text(observed_.counters, key);
      std::string replayed = text(observed_.replayed_counters, key);
      if (stored != replayed) {
        Add("counters", 0, 0,
            fmt::format("{}: the dispatcher counts {{{}}}, the log {{{}}}", key, stored, replayed));
      }
    }
  }

  const History& history_;
  const Observed& observed_;
  const CheckOptions& options_;
  std::map<uint64_t, EventModel> events_;
  std::map<std::string, pb::Mode, std::less<>> modes_;  // set by ModeChanged records, by region
  // Returns, whistles, ratings, reopens and cancels, by request id.
  std::map<std::string, const Op*, std::less<>> sent_by_reason_;
  std::set<std::pair<uint64_t, uint64_t>> merges_sent_;  // (event, into), acknowledged or not
  std::map<std::string, const Op*, std::less<>> submits_;  // by request id
  // By (grid, category): the events made within the duplicate window of the latest Submitted.
  std::map<std::pair<std::string, std::string>, std::deque<uint64_t>> made_within_window_;
  struct MergeLink {
    uint64_t source = 0, into = 0;
    uint32_t carried = 0;  // the reports linked to the source, which its link carries along
  };
  std::optional<MergeLink> merge_link_;  // after a MergedInto
  std::set<std::pair<int64_t, uint64_t>> pending_;  // (due, event) of modelled pending timers
  std::vector<std::pair<int64_t, uint64_t>> deferred_;
  std::vector<Violation> violations_;
};

}  // namespace

std::string_view OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kSubmit: return "submit";
    case OpKind::kClaim: return "claim";
    case OpKind::kAssist:
      return "assist";
    case OpKind::kProgress: return "progress";
    case OpKind::kResolve: return "resolve";
    case OpKind::kRelease: return "release";
    case OpKind::kReturn: return "return";
    case OpKind::kWhistle: return "whistle";
    case OpKind::kSupervise:
      return "supervise";
    case OpKind::kFeedback: return "feedback";
    case OpKind::kReopen: return "reopen";
    case OpKind::kMerge: return "merge";
    case OpKind::kCancel: return "cancel";
    case OpKind::kSetMode: return "set-mode";
  }
  return "?";
}

std::vector<Violation> Check(const History& history, const Observed& observed,
                             const CheckOptions& options) {
  return Checker(history, observed, options).Run();
}

std::string FormatViolation(const Violation& v) {
  std::string where;
  if (v.event_id != 0) where += fmt::format("event {}", v.event_id);
  if (v.seq != 0) where += fmt::format("{}seq {}", where.empty() ? "" : ", ", v.seq);
  return fmt::format("{}: {}{}{}", v.check, where, where.empty() ? "" : ": ", v.what);
}

}  // namespace whistle::crashcheck
