// The crash checker's history checks (tools/crashcheck.h) on hand-made histories: a clean one
// passes, and each check fails on a history that breaks its rule.
#include "tools/crashcheck.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>

namespace whistle::crashcheck {
namespace {

constexpr int64_t kT0 = 1'000'000;
constexpr int64_t kClaimMs = 60'000, kResolveMs = 150'000, kQuietMs = 120'000;
// The emergency mode's SLA (a switch to it re-plans shorter deadlines).
constexpr int64_t kUrgentClaimMs = 40'000, kUrgentResolveMs = 100'000;

// Builds a log the way the engine writes it: seqs in order, event_seqs per event.
class LogBuilder {
 public:
  pb::Record& Add(uint64_t event_id, int64_t at_ms, bool timer = false) {
    pb::Record& r = log_.emplace_back();
    r.set_seq(log_.size());
    r.set_event_id(event_id);
    r.set_event_seq(event_seqs_[event_id]++);
    r.set_at_ms(at_ms);
    r.mutable_actor()->set_role(timer ? pb::ROLE_SYSTEM : pb::ROLE_DEV);
    r.mutable_actor()->set_principal(timer ? "timer" : "dev");
    return r;
  }
  void Submit(uint64_t id, int64_t at, const std::string& request_id, const std::string& grid = "",
              pb::Mode mode = pb::MODE_NORMAL) {
    pb::Submitted* s = Add(id, at).mutable_submitted();
    s->set_request_id(request_id);
    s->set_grid(grid);
    Dispatch(id, at, pb::LEVEL_COMMUNITY, false, mode);
  }
  // Offered to kOffered unless told otherwise.
  void Dispatch(uint64_t id, int64_t at, pb::Level level, bool timer = false,
                pb::Mode mode = pb::MODE_NORMAL,
                const std::vector<std::string>& candidates = {"c1-committee", "c1-water-unit"}) {
    const bool emergency = mode == pb::MODE_EMERGENCY;
    pb::Dispatched* d = Add(id, at, timer).mutable_dispatched();
    d->set_level(level);
    for (const std::string& c : candidates) d->add_candidates(c);
    d->set_claim_deadline_ms(at + (emergency ? kUrgentClaimMs : kClaimMs));
    d->set_resolve_deadline_ms(at + (emergency ? kUrgentResolveMs : kResolveMs));
    d->set_mode(mode);
  }
  void Claim(uint64_t id, int64_t at, const std::string& department, const std::string& agent,
             uint64_t number, bool in_time = true) {
    pb::Claimed* c = Add(id, at).mutable_claimed();
    c->set_department(department);
    c->set_agent(agent);
    c->set_claim_number(number);
    c->set_in_time(in_time);
  }
  // A SetMode's record (no event; its request id "switch-<seq>" unless given) and a re-plan of an
  // event dispatched at `dispatched_at`.
  void SetMode(int64_t at, const std::string& region, pb::Mode mode, std::string request_id = "") {
    pb::Record& r = Add(0, at);
    if (request_id.empty()) request_id = "switch-" + std::to_string(r.seq());
    pb::ModeChanged* m = r.mutable_mode_changed();
    m->set_region(region);
    m->set_mode(mode);
    m->set_request_id(request_id);
  }
  void Replan(uint64_t id, int64_t at, int64_t dispatched_at, pb::Mode mode) {
    const bool emergency = mode == pb::MODE_EMERGENCY;
    pb::DeadlinesReplanned* r = Add(id, at).mutable_deadlines_replanned();
    r->set_mode(mode);
    r->set_claim_deadline_ms(dispatched_at + (emergency ? kUrgentClaimMs : kClaimMs));
    r->set_resolve_deadline_ms(dispatched_at + (emergency ? kUrgentResolveMs : kResolveMs));
  }
  void Progress(uint64_t id, int64_t at, uint64_t number, const std::string& note) {
    pb::Progressed* p = Add(id, at).mutable_progressed();
    p->set_claim_number(number);
    p->set_note(note);
  }
  void Resolve(uint64_t id, int64_t at, uint64_t number, const std::string& note,
               const std::string& department = "c1-committee") {
    pb::Resolved* p = Add(id, at).mutable_resolved();
    p->set_department(department);
    p->set_claim_number(number);
    p->set_note(note);
  }
  // A citizen's feedback (its comment the request id) on an event `resolved_by` resolved, and
  // what follows it: the close, or the reopen and dispatch at `level`.
  void Feedback(uint64_t id, int64_t at, bool satisfied, const std::string& request_id,
                pb::Level level, const std::string& resolved_by = "c1-committee") {
    pb::FeedbackGiven* f = Add(id, at).mutable_feedback_given();
    f->mutable_feedback()->set_satisfied(satisfied);
    f->mutable_feedback()->set_score(satisfied ? 5 : 1);
    f->mutable_feedback()->set_comment(request_id);
    f->set_resolved_by(resolved_by);
    if (satisfied) {
      Add(id, at).mutable_closed()->set_cause(pb::CLOSE_SATISFIED);
    } else {
      Reopen(id, at, "unsatisfied feedback", level);
    }
  }
  // A Reopened record (its reason the request id) and the dispatch at `level`.
  void Reopen(uint64_t id, int64_t at, const std::string& request_id, pb::Level level) {
    Add(id, at).mutable_reopened()->set_reason(request_id);
    Dispatch(id, at, level);
  }
  void Escalate(uint64_t id, int64_t at, pb::Level from, pb::EscalationCause cause,
                pb::Mode mode = pb::MODE_NORMAL, const std::string& holder = "",
                const std::string& released_by = "") {
    const bool timer = cause == pb::ESCALATION_CLAIM_DEADLINE || cause == pb::ESCALATION_RESOLVE_DEADLINE;
    pb::Escalated* e = Add(id, at, timer).mutable_escalated();
    e->set_from_level(from);
    e->set_to_level(static_cast<pb::Level>(from + 1));
    e->set_cause(cause);
    e->set_holder(holder);
    e->set_released_by(released_by);
    Dispatch(id, at, static_cast<pb::Level>(from + 1), timer, mode);
  }
  // The holder `department` gives claim `number` back (`answerable`: as every release since
  // Released.answerable).
  void Release(uint64_t id, int64_t at, const std::string& department, uint64_t number,
               bool answerable = true) {
    pb::Released* r = Add(id, at).mutable_released();
    r->set_department(department);
    r->set_claim_number(number);
    r->set_answerable(answerable);
  }
  // A Returned record (its reason the request id); the dispatch or climb after it is the caller's.
  void Return(uint64_t id, int64_t at, const std::string& department, const std::string& request_id,
              bool held) {
    pb::Returned* r = Add(id, at).mutable_returned();
    r->set_department(department);
    r->set_reason(request_id);
    r->set_held_claim(held);
  }
  // A Whistled record (a supervisor's when `department` is empty) and the climb from `from`,
  // naming `holder`.
  void Whistle(uint64_t id, int64_t at, const std::string& department, const std::string& request_id,
               pb::Level from, const std::string& holder = "") {
    pb::Whistled* w = Add(id, at).mutable_whistled();
    w->set_department(department);
    w->set_reason(request_id);
    Escalate(id, at, from, pb::ESCALATION_WHISTLE, pb::MODE_NORMAL, holder);
  }
  // An event dispatched at community level at `from` and never claimed: it climbs at each claim
  // deadline, in order, up to city level and is marked overdue there. Returns when it was marked.
  int64_t ClimbToOverdue(uint64_t id, int64_t from) {
    int64_t t = from;
    for (pb::Level level : {pb::LEVEL_COMMUNITY, pb::LEVEL_STREET, pb::LEVEL_COUNTY}) {
      t += kClaimMs;
      Escalate(id, t, level, pb::ESCALATION_CLAIM_DEADLINE);
    }
    t += kClaimMs;
    Add(id, t, true).mutable_marked_overdue()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
    return t;
  }
  void Assist(uint64_t id, int64_t at, const std::string& department) {
    Add(id, at).mutable_assist_joined()->set_department(department);
  }
  // A Supervised record (its note the request id).
  void Supervise(uint64_t id, int64_t at, const std::string& request_id) {
    Add(id, at).mutable_supervised()->set_note(request_id);
  }
  std::vector<pb::Record>& log() { return log_; }

 private:
  std::vector<pb::Record> log_;
  std::map<uint64_t, uint32_t> event_seqs_;
};

Op Acked(OpKind kind, const std::string& request_id, uint64_t event_id, uint64_t tick) {
  Op op;
  op.kind = kind;
  op.client = "test";
  op.request_id = request_id;
  op.event_id = event_id;
  op.outcome = Outcome::kOk;
  op.ack_tick = tick;
  return op;
}

Op AckedClaim(uint64_t event_id, const std::string& department, const std::string& agent, uint64_t number,
              uint64_t tick) {
  Op op = Acked(OpKind::kClaim, "claim-" + agent + std::to_string(tick), event_id, tick);
  op.department = department;
  op.agent = agent;
  op.claim_number = number;
  return op;
}

// The options of a city with no mode set anywhere and no SLA to compare with.
CheckOptions Quiet() {
  CheckOptions options;
  options.auto_close_ms = kQuietMs;
  return options;
}

// A clean history: event 1 claimed, progressed and resolved in time; event 2 never claimed, so
// it climbs at each claim deadline, in order, up to city level and overdue.
struct Scenario {
  LogBuilder log;
  History history;

  Scenario() {
    log.Submit(1, kT0, "s1");
    log.Submit(2, kT0, "s2");
    log.Claim(1, kT0 + 10, "c1-committee", "desk-a", 1);
    log.Progress(1, kT0 + 20, 1, "p1");
    log.Resolve(1, kT0 + 30, 1, "r1");
    log.ClimbToOverdue(2, kT0);
    log.Add(1, kT0 + 30 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
    history.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), Acked(OpKind::kSubmit, "s2", 2, 2),
                   AckedClaim(1, "c1-committee", "desk-a", 1, 3), Acked(OpKind::kProgress, "p1", 1, 4),
                   Acked(OpKind::kResolve, "r1", 1, 5)};
    history.ops[3].claim_number = history.ops[4].claim_number = 1;
    history.ack_cutoff = 5;
  }

  Observed observed;  // all but the log, which Run takes from `log`

  std::vector<Violation> Run() {
    Observed o = observed;
    o.log = log.log();
    return Check(history, o, Quiet());
  }
};

bool Has(const std::vector<Violation>& found, const std::string& check) {
  return std::any_of(found.begin(), found.end(), [&](const Violation& v) { return v.check == check; });
}

std::string All(const std::vector<Violation>& found) {
  std::string out;
  for (const auto& v : found) out += FormatViolation(v) + "\n";
  return out;
}

// The log, and event 1 stored with its whole history; the caller sets the event's fields.
Observed LogWithEventOne(const std::vector<pb::Record>& log) {
  Observed o;
  o.log = log;
  pb::EventView& view = o.events[1];
  for (const pb::Record& r : o.log) *view.add_history() = r;
  view.mutable_event()->set_id(1);
  return o;
}

// Clean when `expected` is "", else a violation of `rule` whose text holds `expected`.
void CheckFound(const std::vector<Violation>& found, const std::string& rule,
                const std::string& expected) {
  if (expected.empty()) {
    CHECK_MESSAGE(found.empty(), All(found));
    return;
  }
  REQUIRE_MESSAGE(Has(found, rule), All(found));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck: a clean history has no violation") {
  Scenario s;
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck: counters the dispatcher and the replayed log disagree on are violations") {
  Scenario s;
  pb::StatCounters two;
  two.set_submitted(2);
  pb::StatCounters three = two;
  three.set_submitted(3);
  s.observed.counters = {{"2026-11|l:community", two}, {"2026-11|d:a", two}};
  s.observed.replayed_counters = {
      {"2026-11|l:community", two}, {"2026-11|d:a", three}, {"2026-11|d:b", two}};
  auto found = s.Run();
  REQUIRE(found.size() == 2);
  CHECK(FormatViolation(found[0]) ==
        "counters: 2026-11|d:a: the dispatcher counts {submitted: 2}, the log {submitted: 3}");
  CHECK(FormatViolation(found[1]) ==
        "counters: 2026-11|d:b: the dispatcher counts {none}, the log {submitted: 2}");
}

TEST_CASE("crashcheck: counters equal to the replayed log's are no violation") {
  Scenario s;
  pb::StatCounters two;
  two.set_submitted(2);
  s.observed.counters = {{"2026-11|l:community", two}, {"2026-11|d:a", two}};
  s.observed.replayed_counters = s.observed.counters;
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck: an acknowledged submit missing from the log is a violation") {
  Scenario s;
  s.history.ops.push_back(Acked(OpKind::kSubmit, "s3", 3, 6));
  s.history.ack_cutoff = 6;
  auto found = s.Run();
  CHECK(Has(found, "submit"));
}

TEST_CASE("crashcheck: a submit answered after the log was read may be missing") {
  Scenario s;
  s.history.ops.push_back(Acked(OpKind::kSubmit, "s3", 3, 6));  // ack_cutoff stays 5
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck: a submit applied twice is a violation") {
  Scenario s;
  s.log.Submit(3, kT0 + 40, "s1");
  auto found = s.Run();
  CHECK(Has(found, "submit"));
}

TEST_CASE("crashcheck: a submit answered as another event, rejected yet logged, or nobody's is a violation") {
  {
    Scenario s;
    s.history.ops[1].event_id = 7;  // answered as event 7; the log made it event 2
    auto found = s.Run();
    REQUIRE(Has(found, "submit"));
    CHECK(All(found).find("was answered as event 7 but the log has it as event 2") != std::string::npos);
  }
  {
    Scenario s;
    s.history.ops[1].outcome = Outcome::kRejected;
    s.history.ops[1].code = pb::STATUS_BUSY;
    auto found = s.Run();
    REQUIRE(Has(found, "submit"));
    CHECK(All(found).find("was rejected (STATUS_BUSY) yet is in the log") != std::string::npos);
  }
  {
    Scenario s;
    s.history.ops.erase(s.history.ops.begin() + 1);
    auto found = s.Run();
    REQUIRE(Has(found, "submit"));
    CHECK(All(found).find("a submit nobody sent (request id 's2')") != std::string::npos);
  }
}

TEST_CASE("crashcheck: an acknowledged progress missing from the log is a violation") {
  Scenario s;
  Op op = Acked(OpKind::kProgress, "p-lost", 1, 5);
  op.claim_number = 1;
  s.history.ops.push_back(op);
  auto found = s.Run();
  CHECK(Has(found, "lost"));
}

TEST_CASE("crashcheck: a rejected resolve found in the log is a violation") {
  Scenario s;
  Op op = Acked(OpKind::kResolve, "r1", 1, 0);
  op.outcome = Outcome::kRejected;
  op.code = pb::STATUS_STALE_CLAIM;
  s.history.ops[4] = op;
  auto found = s.Run();
  CHECK(Has(found, "rejected"));
}

TEST_CASE("crashcheck: a second claim while the event is held is a violation") {
  Scenario s;
  s.log.Claim(2, kT0 + 10, "c1-committee", "desk-a", 1);
  s.log.Claim(2, kT0 + 11, "c1-water-unit", "unit", 2);
  auto found = s.Run();
  CHECK(Has(found, "holder"));
}

TEST_CASE("crashcheck: two clients told they won the same claim is a violation") {
  Scenario s;
  s.history.ops.push_back(AckedClaim(1, "c1-water-unit", "unit", 1, 5));
  auto found = s.Run();
  CHECK(Has(found, "holder"));
}

TEST_CASE("crashcheck: progress accepted with a stale claim number is a violation") {
  Scenario s;
  s.log.Claim(2, kT0 + 10, "c1-committee", "desk-a", 1);
  s.log.Add(2, kT0 + 11).mutable_released()->set_claim_number(1);
  s.log.Claim(2, kT0 + 12, "c1-water-unit", "unit", 2);
  s.log.Progress(2, kT0 + 13, 1, "p-stale");
  auto found = s.Run();
  CHECK(Has(found, "stale-claim"));
}

TEST_CASE("crashcheck: a deadline that fires twice is a violation") {
  Scenario s;
  // Event 2's community claim deadline fires a second time (as after a lost timer removal).
  auto& log = s.log.log();
  auto first = std::find_if(log.begin(), log.end(), [](const pb::Record& r) { return r.has_escalated(); });
  REQUIRE(first != log.end());
  pb::Record again = *first;  // the first Escalated of event 2
  LogBuilder& b = s.log;
  pb::Record& r = b.Add(2, kT0 + 4 * kClaimMs + 1, true);
  *r.mutable_escalated() = again.escalated();
  auto found = s.Run();
  CHECK(Has(found, "deadline"));
}

TEST_CASE("crashcheck: a deadline that fires early is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Escalate(1, kT0 + kClaimMs - 1, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE);
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1)};
  Observed o;
  o.log = b.log();
  auto found = Check(h, o, Quiet());
  CHECK(Has(found, "deadline"));
}

TEST_CASE("crashcheck: a deadline passed by a later command without firing is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Submit(2, kT0 + kClaimMs + 5, "s2");  // a command stamped after event 1's claim deadline
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), Acked(OpKind::kSubmit, "s2", 2, 2)};
  Observed o;
  o.log = b.log();
  auto found = Check(h, o, Quiet());
  CHECK(Has(found, "deadline"));
}

TEST_CASE("crashcheck: a level skipped on the ladder is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  pb::Escalated* e = b.Add(1, kT0 + kClaimMs, true).mutable_escalated();
  e->set_from_level(pb::LEVEL_COMMUNITY);
  e->set_to_level(pb::LEVEL_COUNTY);
  e->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
  b.Dispatch(1, kT0 + kClaimMs, pb::LEVEL_COUNTY, true);
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1)};
  Observed o;
  o.log = b.log();
  auto found = Check(h, o, Quiet());
  CHECK(Has(found, "ladder"));
}

TEST_CASE("crashcheck: a gap in the log's sequence numbers is a violation") {
  Scenario s;
  s.log.log().erase(s.log.log().begin() + 3);
  auto found = s.Run();
  CHECK(Has(found, "log"));
}

TEST_CASE("crashcheck: a published record the log no longer has is a violation") {
  Scenario s;
  pb::Record gone = s.log.log().back();
  gone.set_seq(s.log.log().size() + 1);
  s.history.published[gone.seq()] = gone;
  auto found = s.Run();
  CHECK(Has(found, "published"));
}

TEST_CASE("crashcheck: an event whose stored state differs from its log is a violation") {
  Scenario s;
  Observed o;
  o.log = s.log.log();
  for (uint64_t id : {1, 2}) {
    pb::EventView& v = o.events[id];
    v.mutable_event()->set_id(id);
    for (const auto& r : o.log) {
      if (r.event_id() != id) continue;
      *v.add_history() = r;
      if (r.has_dispatched()) {  // the deadlines of the dispatch at its current level
        *v.mutable_event()->mutable_candidates() = r.dispatched().candidates();
        v.mutable_event()->set_mode(r.dispatched().mode());
        v.mutable_event()->set_claim_deadline_ms(r.dispatched().claim_deadline_ms());
        v.mutable_event()->set_resolve_deadline_ms(r.dispatched().resolve_deadline_ms());
      }
    }
  }
  o.events[1].mutable_event()->set_state(pb::STATE_CLOSED);
  o.events[1].mutable_event()->set_level(pb::LEVEL_COMMUNITY);
  o.events[1].mutable_event()->set_lead("c1-committee");
  o.events[1].mutable_event()->set_claim_number(1);
  o.events[2].mutable_event()->set_state(pb::STATE_DISPATCHED);
  o.events[2].mutable_event()->set_level(pb::LEVEL_CITY);
  o.events[2].mutable_event()->set_overdue(true);
  o.events[2].mutable_event()->set_supervised(true);  // overdue marks it
  const CheckOptions options = Quiet();
  auto clean = Check(s.history, o, options);
  CHECK_MESSAGE(clean.empty(), All(clean));
  SUBCASE("another level") { o.events[2].mutable_event()->set_level(pb::LEVEL_COUNTY); }
  SUBCASE("another mode") { o.events[2].mutable_event()->set_mode(pb::MODE_EMERGENCY); }
  SUBCASE("another deadline") {
    o.events[1].mutable_event()->set_resolve_deadline_ms(o.events[1].event().resolve_deadline_ms() + 1);
  }
  SUBCASE("not overdue") { o.events[2].mutable_event()->set_overdue(false); }
  SUBCASE("re-dispatched while overdue") { o.events[2].mutable_event()->set_overdue_redispatch(true); }
  SUBCASE("other candidates") { o.events[2].mutable_event()->mutable_candidates()->RemoveLast(); }
  SUBCASE("given back by a department") {
    o.events[1].mutable_event()->set_released_by("c1-committee");
  }
  SUBCASE("not supervised") { o.events[2].mutable_event()->set_supervised(false); }
  SUBCASE("assisted") { o.events[1].mutable_event()->add_assists("c1-water-unit"); }
  CHECK(Has(Check(s.history, o, options), "event"));
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

// The mode checks: a grid in a community in a street of the city.
constexpr char kGrid[] = "g1";

CheckOptions ModeCity() {
  CheckOptions options = Quiet();
  options.parents = {{"city", ""}, {"street", "city"}, {"community", "street"}, {kGrid, "community"}};
  for (pb::Level level : {pb::LEVEL_COMMUNITY, pb::LEVEL_STREET, pb::LEVEL_COUNTY, pb::LEVEL_CITY}) {
    options.sla[{"", level, pb::MODE_NORMAL}] = {kClaimMs, kResolveMs};  // LogBuilder's reports
    options.sla[{"", level, pb::MODE_EMERGENCY}] = {kUrgentClaimMs, kUrgentResolveMs};
  }
  return options;
}

Op AckedSetMode(const std::string& region, pb::Mode mode, uint64_t tick, const std::string& request_id) {
  Op op = Acked(OpKind::kSetMode, request_id, 0, tick);
  op.region = region;
  op.mode = mode;
  return op;
}

// Checks the log against `ops`; by default, against a Submit and a SetMode acknowledged for each
// of the log's.
std::vector<Violation> CheckModes(LogBuilder& b, std::optional<std::vector<Op>> ops = std::nullopt,
                                  const Observed& events = {}) {
  History h;
  if (ops) {
    h.ops = std::move(*ops);
  } else {
    for (const pb::Record& r : b.log()) {
      const uint64_t tick = h.ops.size() + 1;
      if (r.has_submitted()) {
        h.ops.push_back(Acked(OpKind::kSubmit, r.submitted().request_id(), r.event_id(), tick));
      }
      if (r.has_mode_changed()) {
        h.ops.push_back(
            AckedSetMode(r.mode_changed().region(), r.mode_changed().mode(), tick, r.mode_changed().request_id()));
      }
    }
  }
  h.ack_cutoff = 1000;
  Observed o = events;
  o.log = b.log();
  return Check(h, o, ModeCity());
}

TEST_CASE("crashcheck modes: a switch re-plans, and the new deadline fires in the new mode") {
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  b.SetMode(kT0 + 100, "city", pb::MODE_EMERGENCY);
  b.Replan(1, kT0 + 200, kT0, pb::MODE_EMERGENCY);
  b.Escalate(1, kT0 + kUrgentClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE, pb::MODE_EMERGENCY);
  auto found = CheckModes(b);
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck modes: a deadline of a mode no longer in force that fires is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  b.SetMode(kT0 + 100, "street", pb::MODE_EMERGENCY);  // and no re-plan of event 1
  b.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE, pb::MODE_EMERGENCY);
  auto found = CheckModes(b);
  CHECK(Has(found, "mode"));
  CHECK_FALSE(Has(found, "deadline"));  // the old deadline was the pending one
}

TEST_CASE("crashcheck modes: a claim judged by deadlines of the old mode is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  b.SetMode(kT0 + 100, "community", pb::MODE_EMERGENCY);
  b.Claim(1, kT0 + 200, "c1-committee", "desk-a", 1);
  CHECK(Has(CheckModes(b), "mode"));
}

TEST_CASE("crashcheck modes: a claim is in time exactly when before the re-planned deadline") {
  // Planned in emergency, switched back to normal: the claim deadline moves 20 s later.
  for (const bool in_time : {true, false}) {
    CAPTURE(in_time);
    LogBuilder b;
    b.SetMode(kT0 - 10, "city", pb::MODE_EMERGENCY);
    b.Submit(1, kT0, "s1", kGrid, pb::MODE_EMERGENCY);
    b.SetMode(kT0 + 100, "city", pb::MODE_NORMAL);
    b.Replan(1, kT0 + 200, kT0, pb::MODE_NORMAL);
    b.Claim(1, kT0 + kUrgentClaimMs + 10'000, "c1-committee", "desk-a", 1, in_time);
    auto found = CheckModes(b);
    CHECK_MESSAGE(Has(found, "deadline") != in_time, All(found));
    CHECK_FALSE(Has(found, "mode"));
  }
}

TEST_CASE("crashcheck modes: a re-plan into a mode not in force, or of an overdue event, is a violation") {
  SUBCASE("no switch") {
    LogBuilder b;
    b.Submit(1, kT0, "s1", kGrid);
    b.Replan(1, kT0 + 200, kT0, pb::MODE_EMERGENCY);
    CHECK(Has(CheckModes(b), "mode"));
  }
  SUBCASE("overdue at city level") {
    LogBuilder b;
    b.Submit(1, kT0, "s1", kGrid);
    const int64_t t = b.ClimbToOverdue(1, kT0);
    b.SetMode(t + 100, "city", pb::MODE_EMERGENCY);
    CHECK_MESSAGE(CheckModes(b).empty(), All(CheckModes(b)));
    b.Replan(1, t + 200, t - kClaimMs, pb::MODE_EMERGENCY);
    CHECK(Has(CheckModes(b), "mode"));
  }
}

TEST_CASE("crashcheck modes: the nearest region with a mode set decides, and dispatches follow it") {
  LogBuilder b;
  b.SetMode(kT0 - 20, "city", pb::MODE_EMERGENCY);
  b.SetMode(kT0 - 10, "community", pb::MODE_NORMAL);
  b.Submit(1, kT0, "s1", kGrid, pb::MODE_NORMAL);
  b.Submit(2, kT0, "s2", "elsewhere", pb::MODE_NORMAL);  // a grid the city does not know: normal
  CHECK_MESSAGE(CheckModes(b).empty(), All(CheckModes(b)));
  b.Submit(3, kT0 + 10, "s3", kGrid, pb::MODE_EMERGENCY);
  CHECK(Has(CheckModes(b), "mode"));
}

TEST_CASE("crashcheck modes: a re-plan stamped after a due deadline of its batch is no missed deadline") {
  // The batch at kT0 + 50 s re-plans event 2 first, then fires event 1's deadline (due at 40 s).
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  b.Submit(2, kT0, "s2", kGrid);
  b.SetMode(kT0 + 100, "city", pb::MODE_EMERGENCY);
  b.Replan(1, kT0 + 200, kT0, pb::MODE_EMERGENCY);
  const int64_t batch = kT0 + 50'000;
  b.Replan(2, batch, kT0, pb::MODE_EMERGENCY);
  b.Escalate(1, batch, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE, pb::MODE_EMERGENCY);
  b.Escalate(2, batch, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE, pb::MODE_EMERGENCY);
  auto found = CheckModes(b);
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck modes: deadlines not of the SLA of the mode, from the dispatch, are a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  b.SetMode(kT0 + 100, "city", pb::MODE_EMERGENCY);
  b.Replan(1, kT0 + 200, kT0, pb::MODE_EMERGENCY);
  CHECK_MESSAGE(CheckModes(b).empty(), All(CheckModes(b)));
  b.SetMode(kT0 + 300, "city", pb::MODE_NORMAL);
  b.Replan(1, kT0 + 400, kT0 + 400, pb::MODE_NORMAL);  // counted from the re-plan
  CHECK(Has(CheckModes(b), "mode"));

  LogBuilder other;  // a dispatch labelled normal, with emergency's deadlines
  other.Submit(1, kT0, "s1", kGrid);
  other.log().back().mutable_dispatched()->set_claim_deadline_ms(kT0 + kUrgentClaimMs);
  CHECK(Has(CheckModes(other), "mode"));
}

TEST_CASE("crashcheck modes: an urgent report is planned in emergency mode whatever the region's") {
  for (const pb::Mode dispatched : {pb::MODE_EMERGENCY, pb::MODE_NORMAL}) {
    CAPTURE(dispatched);
    LogBuilder b;
    b.Submit(1, kT0, "s1", kGrid, dispatched);
    b.log()[0].mutable_submitted()->mutable_report()->set_urgent(true);
    CHECK(Has(CheckModes(b), "mode") == (dispatched == pb::MODE_NORMAL));
  }
}

TEST_CASE("crashcheck modes: an event left in the old mode once the log stands still is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  b.SetMode(kT0 + 100, "city", pb::MODE_EMERGENCY);  // and no re-plan
  Observed settled;
  settled.settled = true;
  pb::Event& e = *settled.events[1].mutable_event();
  e.set_id(1);
  e.set_state(pb::STATE_DISPATCHED);
  e.set_level(pb::LEVEL_COMMUNITY);
  e.set_mode(pb::MODE_NORMAL);
  e.set_claim_deadline_ms(kT0 + kClaimMs);
  e.set_resolve_deadline_ms(kT0 + kResolveMs);
  e.add_candidates("c1-committee");
  e.add_candidates("c1-water-unit");
  for (const pb::Record& r : b.log()) {
    if (r.event_id() == 1) *settled.events[1].add_history() = r;
  }
  CHECK(Has(CheckModes(b, std::nullopt, settled), "mode"));
  settled.settled = false;  // re-plans may be left: the log may yet move on
  auto found = CheckModes(b, std::nullopt, settled);
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck modes: a switch acknowledged but not in the log, another, or nobody's, is a violation") {
  LogBuilder b;
  b.SetMode(kT0, "city", pb::MODE_EMERGENCY);  // switch-1
  using Ops = std::vector<Op>;
  CHECK(CheckModes(b).empty());
  const Op acked = AckedSetMode("city", pb::MODE_EMERGENCY, 1, "switch-1");
  const Op retried = AckedSetMode("city", pb::MODE_EMERGENCY, 2, "switch-1");  // answered again
  CHECK(CheckModes(b, Ops{acked, retried}).empty());
  const Op missing = AckedSetMode("city", pb::MODE_EMERGENCY, 2, "switch-9");
  CHECK(Has(CheckModes(b, Ops{acked, missing}), "switch"));
  CHECK(Has(CheckModes(b, Ops{AckedSetMode("street", pb::MODE_EMERGENCY, 1, "switch-1")}), "switch"));
  CHECK(Has(CheckModes(b, Ops{AckedSetMode("city", pb::MODE_NORMAL, 1, "switch-1")}), "switch"));
  CHECK(Has(CheckModes(b, Ops{}), "switch"));
  Op refused = acked;
  refused.outcome = Outcome::kRejected;
  CHECK(Has(CheckModes(b, Ops{refused}), "switch"));
  Op unknown = acked;
  unknown.outcome = Outcome::kUnknown;
  unknown.ack_tick = 0;
  CHECK(CheckModes(b, Ops{unknown}).empty());
  // Applied twice: a retry that was not answered from its first answer.
  b.SetMode(kT0 + 1, "city", pb::MODE_EMERGENCY, "switch-1");
  CHECK(Has(CheckModes(b, Ops{acked}), "switch"));
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

// Returns and whistles: event 1 at community level, offered to c1-committee and c1-water-unit.

Op AckedReturn(const std::string& request_id, const std::string& department, uint64_t quoted,
               uint64_t tick) {
  Op op = Acked(OpKind::kReturn, request_id, 1, tick);
  op.department = department;
  op.claim_number = quoted;
  return op;
}

Op AckedWhistle(const std::string& request_id, const std::string& department, uint64_t quoted,
                pb::Level seen, uint64_t tick) {
  Op op = Acked(OpKind::kWhistle, request_id, 1, tick);
  op.department = department;
  op.claim_number = quoted;
  op.seen_level = seen;
  return op;
}

// Checks the log against `ops` and an acknowledged Submit for each of its Submitted records.
std::vector<Violation> CheckReturns(LogBuilder& b, std::vector<Op> ops, const CheckOptions& options = Quiet()) {
  History h;
  for (const pb::Record& r : b.log()) {
    if (r.has_submitted()) h.ops.push_back(Acked(OpKind::kSubmit, r.submitted().request_id(), r.event_id(), 100));
  }
  h.ops.insert(h.ops.end(), ops.begin(), ops.end());
  h.ack_cutoff = 1000;
  Observed o;
  o.log = b.log();
  return Check(h, o, options);
}

// The committee declines the offer; the water unit claims, then gives its claim back: all have
// returned it, so it climbs to street level; a supervisor whistles it from there to county level.
struct Returns {
  LogBuilder log;
  std::vector<Op> ops = {AckedReturn("ret-1", "c1-committee", 0, 1),
                         AckedClaim(1, "c1-water-unit", "unit", 1, 2),
                         AckedReturn("ret-2", "c1-water-unit", 1, 3),
                         AckedWhistle("w-1", "", 0, pb::LEVEL_STREET, 4)};
  Returns() {
    log.Submit(1, kT0, "s1");
    log.Return(1, kT0 + 10, "c1-committee", "ret-1", false);
    log.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
    log.Claim(1, kT0 + 20, "c1-water-unit", "unit", 1);
    log.Return(1, kT0 + 30, "c1-water-unit", "ret-2", true);
    log.Escalate(1, kT0 + 30, pb::LEVEL_COMMUNITY, pb::ESCALATION_ALL_RETURNED);
    log.Whistle(1, kT0 + 40, "", "w-1", pb::LEVEL_STREET);
  }
  std::vector<Violation> Run() { return CheckReturns(log, ops); }
};

TEST_CASE("crashcheck returns: returns re-offer the event, then climb, and a whistle climbs from the level seen") {
  Returns s;
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));
  SUBCASE("a whistle sent without a level climbs from wherever the event is") {
    s.ops[3].seen_level = pb::LEVEL_UNSPECIFIED;
    found = s.Run();
    CHECK_MESSAGE(found.empty(), All(found));
  }
  SUBCASE("a return or a whistle answered after the log was read may be missing") {
    s.ops.push_back(AckedReturn("ret-late", "c1-committee", 0, 1001));
    s.ops.push_back(AckedWhistle("w-late", "", 0, pb::LEVEL_COUNTY, 1002));
    found = s.Run();
    CHECK_MESSAGE(found.empty(), All(found));
  }
}

TEST_CASE("crashcheck returns: an acknowledged return or whistle missing, or a rejected one logged, is a violation") {
  Returns s;
  SUBCASE("a return") { s.ops.push_back(AckedReturn("ret-lost", "c1-committee", 0, 5)); }
  SUBCASE("a whistle") { s.ops.push_back(AckedWhistle("w-lost", "", 0, pb::LEVEL_COUNTY, 5)); }
  auto found = s.Run();
  REQUIRE(Has(found, "lost"));
  CHECK(All(found).find("-lost (claim 0) by test is not in the log") != std::string::npos);
}

TEST_CASE("crashcheck returns: a rejected return or whistle found in the log is a violation") {
  for (size_t i : {0, 2, 3}) {  // ret-1, ret-2, w-1
    Returns s;
    s.ops[i].outcome = Outcome::kRejected;
    s.ops[i].code = pb::STATUS_ILLEGAL_TRANSITION;
    CHECK_MESSAGE(Has(s.Run(), "rejected"), s.ops[i].request_id);
  }
}

TEST_CASE("crashcheck returns: a whistle that climbs from another level than the one it was sent from is a violation") {
  Returns s;
  s.ops[3].seen_level = pb::LEVEL_COMMUNITY;  // the event climbed before it came
  auto found = s.Run();
  REQUIRE(Has(found, "ladder"));
  CHECK(All(found).find("whistle w-1 was sent from COMMUNITY level, but the event climbs from STREET level") !=
        std::string::npos);
}

TEST_CASE("crashcheck returns: a department offered the event again at the level it returned it at is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Return(1, kT0 + 10, "c1-committee", "ret-1", false);
  SUBCASE("re-dispatched to it") {
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY);
    auto found = CheckReturns(b, {AckedReturn("ret-1", "c1-committee", 0, 1)});
    REQUIRE(Has(found, "offer"));
    CHECK(All(found).find("dispatched again at COMMUNITY level to 'c1-committee', which returned it") !=
          std::string::npos);
  }
  SUBCASE("its claim accepted") {
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
    b.Claim(1, kT0 + 20, "c1-committee", "desk-a", 1);
    auto found = CheckReturns(b, {AckedReturn("ret-1", "c1-committee", 0, 1)});
    REQUIRE(Has(found, "offer"));
    CHECK(All(found).find("claim by 'c1-committee', which is not offered the event") != std::string::npos);
  }
  SUBCASE("climbed as returned by all while another is still offered it") {
    b.Escalate(1, kT0 + 10, pb::LEVEL_COMMUNITY, pb::ESCALATION_ALL_RETURNED);
    auto found = CheckReturns(b, {AckedReturn("ret-1", "c1-committee", 0, 1)});
    REQUIRE(Has(found, "offer"));
    CHECK(All(found).find("returned by all while still offered to c1-water-unit") != std::string::npos);
  }
}

TEST_CASE("crashcheck returns: a return not the holder's, or quoting a claim not the current one, is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Claim(1, kT0 + 10, "c1-committee", "desk-a", 1);
  b.Add(1, kT0 + 11).mutable_released()->set_claim_number(1);
  b.Claim(1, kT0 + 12, "c1-committee", "desk-b", 2);
  std::vector<Op> ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 1),
                         AckedClaim(1, "c1-committee", "desk-b", 2, 2)};
  std::string expected;
  SUBCASE("an old claim") {
    b.Return(1, kT0 + 20, "c1-committee", "ret-1", true);
    ops.push_back(AckedReturn("ret-1", "c1-committee", 1, 3));
    expected = "return by 'c1-committee' accepted quoting claim 1 while the current claim is 2";
  }
  SUBCASE("a candidate's, while another holds it") {
    b.Return(1, kT0 + 20, "c1-water-unit", "ret-1", true);
    ops.push_back(AckedReturn("ret-1", "c1-water-unit", 2, 3));
    expected = "return by 'c1-water-unit' accepted while c1-committee/desk-b holds claim 2";
  }
  SUBCASE("recorded as declining an offer while the event is held") {
    b.Return(1, kT0 + 20, "c1-committee", "ret-1", false);
    ops.push_back(AckedReturn("ret-1", "c1-committee", 0, 3));
    expected = "return by 'c1-committee' recorded as not holding the claim while the event is CLAIMED";
  }
  SUBCASE("a department's whistle quoting an old claim") {
    b.Whistle(1, kT0 + 20, "c1-committee", "w-1", pb::LEVEL_COMMUNITY, "c1-committee");
    ops.push_back(AckedWhistle("w-1", "c1-committee", 1, pb::LEVEL_COMMUNITY, 3));
    expected = "whistle by 'c1-committee' accepted quoting claim 1 while the current claim is 2";
  }
  auto found = CheckReturns(b, ops);
  REQUIRE(Has(found, "stale-claim"));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck returns: a Returned or Whistled record without its outcome, or a climb without its cause, is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  std::vector<Op> ops;
  std::string expected;
  SUBCASE("a return, then a claim") {
    b.Return(1, kT0 + 10, "c1-committee", "ret-1", false);
    b.Claim(1, kT0 + 10, "c1-water-unit", "unit", 1);
    ops.push_back(AckedReturn("ret-1", "c1-committee", 0, 1));
    expected = "a Returned record not followed by a dispatch at its level or a climb";
  }
  SUBCASE("a whistle, then a dispatch") {
    b.Add(1, kT0 + 10).mutable_whistled()->set_reason("w-1");
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY);
    ops.push_back(AckedWhistle("w-1", "", 0, pb::LEVEL_UNSPECIFIED, 1));
    expected = "a Whistled record not followed by its climb";
  }
  SUBCASE("a climb for a whistle nobody blew") {
    b.Escalate(1, kT0 + 10, pb::LEVEL_COMMUNITY, pb::ESCALATION_WHISTLE);
    expected = "climbed for a whistle right after no Whistled record";
  }
  SUBCASE("a climb for returns nobody made") {
    b.Escalate(1, kT0 + 10, pb::LEVEL_COMMUNITY, pb::ESCALATION_ALL_RETURNED);
    expected = "climbed for being returned by all right after no Returned record";
  }
  auto found = CheckReturns(b, ops);
  REQUIRE(Has(found, "ladder"));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

// Event 1, dispatched at city level at `t` and waiting for a claim: its claim deadline marks it
// overdue (clean), or a later command passes the deadline with nothing fired (a violation).
void CheckCityClaimDeadline(const LogBuilder& log, const std::vector<Op>& ops, int64_t t) {
  for (const bool fired : {true, false}) {
    CAPTURE(fired);
    LogBuilder b = log;
    if (fired) b.Add(1, t + kClaimMs, true).mutable_marked_overdue()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
    b.Submit(2, t + kClaimMs + 5, "s2");
    auto found = CheckReturns(b, ops);
    if (fired) {
      CHECK_MESSAGE(found.empty(), All(found));
    } else {
      REQUIRE(Has(found, "deadline"));
      CHECK(All(found).find("its claim deadline (due " + std::to_string(t + kClaimMs) + ") passed without firing") !=
            std::string::npos);
    }
  }
}

// An event overdue at city level, one of its candidates returns it: dispatched afresh to the
// other, whose claim deadline is armed (Event.overdue_redispatch) and fires once.
TEST_CASE("crashcheck returns: an overdue event returned at city level has its new claim deadline fire") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  const int64_t overdue_at = b.ClimbToOverdue(1, kT0);
  const int64_t t = overdue_at + 10;
  b.Return(1, t, "c1-committee", "ret-1", false);
  b.Dispatch(1, t, pb::LEVEL_CITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
  const std::vector<Op> ops = {AckedReturn("ret-1", "c1-committee", 0, 1)};
  SUBCASE("fired, or never armed") { CheckCityClaimDeadline(b, ops, t); }
  SUBCASE("claimed, then released: no deadline left, as before the return") {
    b.Claim(1, t + 10, "c1-water-unit", "unit", 1);
    b.Add(1, t + 20).mutable_released()->set_claim_number(1);
    b.Submit(2, t + kClaimMs + 5, "s2");
    auto found = CheckReturns(b, ops);
    CHECK_MESSAGE(found.empty(), All(found));
  }
}

TEST_CASE("crashcheck returns: an event stored other than its returns replay to is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  const int64_t t = b.ClimbToOverdue(1, kT0) + 10;
  b.Return(1, t, "c1-committee", "ret-1", false);
  b.Dispatch(1, t, pb::LEVEL_CITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), AckedReturn("ret-1", "c1-committee", 0, 2)};
  h.ack_cutoff = 1000;
  Observed o = LogWithEventOne(b.log());
  pb::Event& e = *o.events[1].mutable_event();
  e.set_state(pb::STATE_DISPATCHED);
  e.set_level(pb::LEVEL_CITY);
  e.set_overdue(true);
  e.set_supervised(true);  // overdue marks it
  e.set_overdue_redispatch(true);
  e.add_candidates("c1-water-unit");
  e.add_returned_by("c1-committee");
  e.set_mode(pb::MODE_NORMAL);
  e.set_claim_deadline_ms(t + kClaimMs);
  e.set_resolve_deadline_ms(t + kResolveMs);
  auto found = Check(h, o, Quiet());
  REQUIRE_MESSAGE(found.empty(), All(found));
  std::string expected;
  SUBCASE("its claim deadline not re-armed") {
    e.set_overdue_redispatch(false);
    expected = "stored with overdue_redispatch false; the log replays to true";
  }
  SUBCASE("offered to the department that returned it") {
    e.add_candidates("c1-committee");
    expected = "stored offered to c1-water-unit, c1-committee; the log replays to c1-water-unit";
  }
  SUBCASE("its return forgotten") {
    e.clear_returned_by();
    expected = "stored as returned at its level by []; the log replays to [c1-committee]";
  }
  found = Check(h, o, Quiet());
  REQUIRE(Has(found, "event"));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck returns: a return or a re-dispatch the rules of the offer or the lifecycle forbid is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  std::vector<Op> ops = {AckedReturn("ret-1", "c1-committee", 0, 1)};
  std::string check = "offer", expected;
  SUBCASE("a return by a department not offered the event") {
    b.Return(1, kT0 + 10, "c2-committee", "ret-1", false);
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-committee", "c1-water-unit"});
    ops[0].department = "c2-committee";
    expected = "return by 'c2-committee', which is not offered the event at COMMUNITY level";
  }
  SUBCASE("a return of a resolved event") {
    b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
    b.Resolve(1, kT0 + 6, 1, "r1");
    b.Return(1, kT0 + 10, "c1-committee", "ret-1", false);
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
    check = "lifecycle";
    expected = "returned while RESOLVED";
  }
  SUBCASE("re-dispatched to a department nobody offered it to") {
    b.Return(1, kT0 + 10, "c1-committee", "ret-1", false);
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-water-unit", "c2-committee"});
    expected = "dispatched again after a return to [c1-water-unit, c2-committee], not to the rest of its level "
               "[c1-water-unit]";
  }
  SUBCASE("re-dispatched to nobody instead of climbing") {
    b.Return(1, kT0 + 10, "c1-committee", "ret-1", false);
    b.Dispatch(1, kT0 + 10, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
    b.Return(1, kT0 + 20, "c1-water-unit", "ret-2", false);
    b.Dispatch(1, kT0 + 20, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {});
    ops.push_back(AckedReturn("ret-2", "c1-water-unit", 0, 2));
    expected = "dispatched again after a return to [], not to the rest of its level [], which is nobody";
  }
  auto found = CheckReturns(b, ops);
  REQUIRE(Has(found, check));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck returns: a whistle of a resolved event, one recorded for another department, or a climb naming the wrong holder, is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
  std::vector<Op> ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 1)};
  std::string check, expected;
  SUBCASE("whistled once resolved") {
    b.Resolve(1, kT0 + 6, 1, "r1");
    b.Whistle(1, kT0 + 10, "", "w-1", pb::LEVEL_COMMUNITY);
    ops.push_back(AckedWhistle("w-1", "", 0, pb::LEVEL_UNSPECIFIED, 2));
    check = "lifecycle";
    expected = "whistled while RESOLVED";
  }
  SUBCASE("the holder's whistle recorded as a supervisor's") {
    b.Whistle(1, kT0 + 10, "", "w-1", pb::LEVEL_COMMUNITY, "c1-committee");
    ops.push_back(AckedWhistle("w-1", "c1-committee", 1, pb::LEVEL_COMMUNITY, 2));
    check = "lost";
    expected = "whistle w-1 was sent for 'c1-committee' but is recorded for ''";
  }
  SUBCASE("a climb that forgets the holder") {
    b.Whistle(1, kT0 + 10, "", "w-1", pb::LEVEL_COMMUNITY);
    ops.push_back(AckedWhistle("w-1", "", 0, pb::LEVEL_COMMUNITY, 2));
    check = "holder";
    expected = "a climb names '' as the holder, but 'c1-committee' does";
  }
  auto found = CheckReturns(b, ops);
  REQUIRE(Has(found, check));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck returns: a climb nobody holds names the department that gave the claim back, and only then") {
  // Claimed by c1-committee and released at once; the claim deadline is kT0 + kClaimMs.
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
  std::vector<Op> ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 1)};
  std::string expected;
  b.Release(1, kT0 + 6, "c1-committee", 1);
  SUBCASE("named at the claim deadline: clean") {
    b.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE, pb::MODE_NORMAL, "",
               "c1-committee");
  }
  SUBCASE("named by a supervisor's whistle: clean") {
    b.Add(1, kT0 + 10).mutable_whistled()->set_reason("w-1");
    b.Escalate(1, kT0 + 10, pb::LEVEL_COMMUNITY, pb::ESCALATION_WHISTLE, pb::MODE_NORMAL, "", "c1-committee");
    ops.push_back(AckedWhistle("w-1", "", 0, pb::LEVEL_UNSPECIFIED, 2));
  }
  SUBCASE("named by its own whistle: clean") {
    b.Whistle(1, kT0 + 10, "c1-committee", "w-1", pb::LEVEL_COMMUNITY);
    b.log()[b.log().size() - 2].mutable_escalated()->set_released_by("c1-committee");
    ops.push_back(AckedWhistle("w-1", "c1-committee", 0, pb::LEVEL_COMMUNITY, 2));
  }
  SUBCASE("named by another department's whistle") {
    b.Whistle(1, kT0 + 10, "c1-water-unit", "w-1", pb::LEVEL_COMMUNITY);
    b.log()[b.log().size() - 2].mutable_escalated()->set_released_by("c1-committee");
    ops.push_back(AckedWhistle("w-1", "c1-water-unit", 0, pb::LEVEL_COMMUNITY, 2));
    expected =
        "a climb names 'c1-committee' as the department that gave it back, but none answers for it";
  }
  SUBCASE("named after another department claimed it and gave it back too") {
    b.Claim(1, kT0 + 7, "c1-water-unit", "unit", 2);
    ops.push_back(AckedClaim(1, "c1-water-unit", "unit", 2, 2));
    b.Release(1, kT0 + 8, "c1-water-unit", 2);
    b.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE,
               pb::MODE_NORMAL, "", "c1-committee");
    expected =
        "a climb names 'c1-committee' as the department that gave it back, but 'c1-water-unit' "
        "does";
  }
  SUBCASE("forgotten at the claim deadline") {
    b.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE);
    expected = "a climb names '' as the department that gave it back, but 'c1-committee' does";
  }
  SUBCASE("named after another department claimed it, as well as the holder") {
    b.Claim(1, kT0 + 7, "c1-water-unit", "unit", 2);
    ops.push_back(AckedClaim(1, "c1-water-unit", "unit", 2, 2));
    b.Escalate(1, kT0 + kResolveMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_RESOLVE_DEADLINE, pb::MODE_NORMAL,
               "c1-water-unit", "c1-committee");
    expected = "a climb names 'c1-committee' as the department that gave it back, but none answers for it";
  }
  SUBCASE("named after a dispatch afresh") {
    b.Return(1, kT0 + 7, "c1-water-unit", "ret-1", false);
    b.Dispatch(1, kT0 + 7, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-committee"});
    ops.push_back(AckedReturn("ret-1", "c1-water-unit", 0, 2));
    b.Escalate(1, kT0 + 7 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE, pb::MODE_NORMAL, "",
               "c1-committee");
    expected = "a climb names 'c1-committee' as the department that gave it back, but none answers for it";
  }
  SUBCASE("named when every department returned it") {
    b.Return(1, kT0 + 7, "c1-committee", "ret-1", false);
    b.Return(1, kT0 + 7, "c1-water-unit", "ret-2", false);
    ops.push_back(AckedReturn("ret-1", "c1-committee", 0, 2));
    ops.push_back(AckedReturn("ret-2", "c1-water-unit", 0, 3));
    b.Escalate(1, kT0 + 7, pb::LEVEL_COMMUNITY, pb::ESCALATION_ALL_RETURNED, pb::MODE_NORMAL, "", "c1-committee");
    expected = "a climb names 'c1-committee' as the department that gave it back, but none answers for it";
  }
  CheckFound(CheckReturns(b, ops), "holder", expected);
}

TEST_CASE(
    "crashcheck returns: a release written before Released.answerable leaves nobody to name") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
  b.Release(1, kT0 + 6, "c1-committee", 1, /*answerable=*/false);
  const std::vector<Op> ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 1)};
  SUBCASE("a climb naming nobody: clean") {
    b.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE);
    auto found = CheckReturns(b, ops);
    CHECK_MESSAGE(found.empty(), All(found));
  }
  SUBCASE("a climb naming it") {
    b.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE,
               pb::MODE_NORMAL, "", "c1-committee");
    auto found = CheckReturns(b, ops);
    CHECK_MESSAGE(
        All(found).find("a climb names 'c1-committee' as the department that gave it back, but "
                        "none answers for it") != std::string::npos,
        All(found));
  }
}

TEST_CASE("crashcheck returns: every one of 20 returns refused is a violation, some accepted is not") {
  Returns s;
  for (uint64_t i = 0; i < 20; ++i) {
    Op refused = AckedReturn("ret-no-" + std::to_string(i), "c1-committee", 0, 10 + i);
    refused.outcome = Outcome::kRejected;
    refused.code = pb::STATUS_NOT_ASSIGNED;
    s.ops.push_back(refused);
  }
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));  // two were accepted
  s.ops.erase(s.ops.begin(), s.ops.begin() + 3);  // ret-1, the claim, ret-2
  s.log = LogBuilder();
  s.log.Submit(1, kT0, "s1");
  s.log.Whistle(1, kT0 + 40, "", "w-1", pb::LEVEL_COMMUNITY);
  s.ops[0].seen_level = pb::LEVEL_COMMUNITY;
  found = s.Run();
  REQUIRE(Has(found, "workload"));
  CHECK(All(found).find("all 20 returns sent were refused, none accepted (the last: STATUS_NOT_ASSIGNED)") !=
        std::string::npos);
}

Op AckedAssist(const std::string& request_id, const std::string& department, uint64_t tick) {
  Op op = Acked(OpKind::kAssist, request_id, 1, tick);
  op.department = department;
  op.agent = department + "-desk";
  return op;
}

Op Refused(Op op, pb::StatusCode code = pb::STATUS_ILLEGAL_TRANSITION) {
  op.outcome = Outcome::kRejected;
  op.code = code;
  return op;
}

TEST_CASE(
    "crashcheck assists: a department joins a held event it is offered, once a claim, and leaves "
    "with the claim") {
  // Event 1 at community level, offered to c1-committee and c1-water-unit; c1-committee claims.
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
  std::vector<Op> ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 1)};
  std::string check, expected;
  SUBCASE("joined, acknowledged: clean") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2));
  }
  SUBCASE("joined again under the next claim: clean, the first assist ended with its claim") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    b.Release(1, kT0 + 7, "c1-committee", 1);
    b.Claim(1, kT0 + 8, "c1-committee", "desk-a", 2);
    b.Assist(1, kT0 + 9, "c1-water-unit");
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2));
    ops.push_back(AckedClaim(1, "c1-committee", "desk-a", 2, 3));
    ops.push_back(AckedAssist("a-2", "c1-water-unit", 4));
  }
  SUBCASE("joined under one claim, acknowledged again under the next, not there again") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    b.Release(1, kT0 + 7, "c1-committee", 1);
    b.Claim(1, kT0 + 8, "c1-committee", "desk-a", 2);
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2));
    ops.push_back(AckedClaim(1, "c1-committee", "desk-a", 2, 3));
    ops.push_back(AckedAssist("a-2", "c1-water-unit", 4));
    check = "lost";
    expected =
        "2 acknowledged assist(s) of event 1 by c1-water-unit, but 1 AssistJoined "
        "record(s) (the last acknowledged: a-2 by c1-water-unit-desk)";
  }
  SUBCASE("joined again after a climb: clean, the climb ended the claim and its assist") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    b.Escalate(1, kT0 + kResolveMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_RESOLVE_DEADLINE,
               pb::MODE_NORMAL, "c1-committee");
    b.Claim(1, kT0 + kResolveMs + 1, "c1-committee", "desk-a", 2);
    b.Assist(1, kT0 + kResolveMs + 2, "c1-water-unit");
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2));
    ops.push_back(AckedClaim(1, "c1-committee", "desk-a", 2, 3));
    ops.push_back(AckedAssist("a-2", "c1-water-unit", 4));
  }
  SUBCASE("joined by a department that returned the event at its level") {
    b.Release(1, kT0 + 6, "c1-committee", 1);
    b.Return(1, kT0 + 7, "c1-water-unit", "ret-1", false);
    b.Dispatch(1, kT0 + 7, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-committee"});
    b.Claim(1, kT0 + 8, "c1-committee", "desk-a", 2);
    b.Assist(1, kT0 + 9, "c1-water-unit");
    ops.push_back(AckedReturn("ret-1", "c1-water-unit", 0, 2));
    ops.push_back(AckedClaim(1, "c1-committee", "desk-a", 2, 3));
    check = "offer";
    expected = "assist by 'c1-water-unit', which is not offered the event at COMMUNITY level";
  }
  SUBCASE("joined by a request never answered: clean, it may have happened") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    Op unknown = AckedAssist("a-1", "c1-water-unit", 0);
    unknown.outcome = Outcome::kUnknown;
    ops.push_back(unknown);
  }
  SUBCASE("acknowledged after the log was read, not in it: clean") {
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2000));
  }
  SUBCASE("joined by nobody's request") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    check = "rejected";
    expected =
        "1 AssistJoined record(s) of event 1 by c1-water-unit, but 0 assist request(s) not "
        "refused\n";
  }
  SUBCASE("refused once, then joined by another request: clean") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2));
    ops.push_back(Refused(AckedAssist("a-2", "c1-water-unit", 3)));
  }
  SUBCASE("acknowledged, not in the log") {
    ops.push_back(AckedAssist("a-1", "c1-water-unit", 2));
    check = "lost";
    expected =
        "1 acknowledged assist(s) of event 1 by c1-water-unit, but 0 AssistJoined "
        "record(s) (the last acknowledged: a-1 by c1-water-unit-desk)";
  }
  SUBCASE("refused, yet in the log") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    ops.push_back(Refused(AckedAssist("a-1", "c1-water-unit", 2)));
    check = "rejected";
    expected =
        "1 AssistJoined record(s) of event 1 by c1-water-unit, but 0 assist request(s) not "
        "refused (a-1 was refused: STATUS_ILLEGAL_TRANSITION)";
  }
  SUBCASE("joined by the lead") {
    b.Assist(1, kT0 + 6, "c1-committee");
    check = "holder";
    expected = "'c1-committee' joins to assist while it already leads the event";
  }
  SUBCASE("joined twice") {
    b.Assist(1, kT0 + 6, "c1-water-unit");
    b.Assist(1, kT0 + 7, "c1-water-unit");
    check = "holder";
    expected = "'c1-water-unit' joins to assist while it already assists the event";
  }
  SUBCASE("joined once the claim was given back") {
    b.Release(1, kT0 + 6, "c1-committee", 1);
    b.Assist(1, kT0 + 7, "c1-water-unit");
    check = "holder";
    expected = "'c1-water-unit' joins to assist while the event is DISPATCHED";
  }
  SUBCASE("joined by a department not offered it") {
    b.Assist(1, kT0 + 6, "c2-committee");
    check = "offer";
    expected = "assist by 'c2-committee', which is not offered the event at COMMUNITY level";
  }
  CheckFound(CheckReturns(b, ops), check, expected);
}

TEST_CASE(
    "crashcheck supervision: a Supervised record is a supervise someone sent, of an open event") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  std::vector<Op> ops;
  std::string check, expected;
  SUBCASE("marked, acknowledged: clean") {
    b.Supervise(1, kT0 + 5, "sv-1");
    ops.push_back(Acked(OpKind::kSupervise, "sv-1", 1, 1));
  }
  SUBCASE("acknowledged, not in the log") {
    ops.push_back(Acked(OpKind::kSupervise, "sv-1", 1, 1));
    check = "lost";
    expected = "acknowledged supervise sv-1 (claim 0) by test is not in the log";
  }
  SUBCASE("refused, yet in the log") {
    b.Supervise(1, kT0 + 5, "sv-1");
    ops.push_back(Refused(Acked(OpKind::kSupervise, "sv-1", 1, 1)));
    check = "rejected";
    expected = "supervise sv-1 was rejected (STATUS_ILLEGAL_TRANSITION) yet is in the log";
  }
  SUBCASE("nobody sent it") {
    b.Supervise(1, kT0 + 5, "sv-9");
    check = "lost";
    expected = "a supervise nobody sent (request id 'sv-9')";
  }
  SUBCASE("of a resolved event") {
    b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
    b.Resolve(1, kT0 + 6, 1, "r1");
    b.Supervise(1, kT0 + 7, "sv-1");
    ops.push_back(AckedClaim(1, "c1-committee", "desk-a", 1, 1));
    ops.push_back(Acked(OpKind::kResolve, "r1", 1, 2));
    ops.back().claim_number = 1;
    ops.push_back(Acked(OpKind::kSupervise, "sv-1", 1, 3));
    check = "lifecycle";
    expected = "supervised while RESOLVED";
  }
  CheckFound(CheckReturns(b, ops), check, expected);
}

TEST_CASE(
    "crashcheck supervision and assists: an event stored without the mark or the assist its log "
    "has is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
  b.Assist(1, kT0 + 6, "c1-water-unit");
  b.Supervise(1, kT0 + 7, "sv-1");
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), AckedClaim(1, "c1-committee", "desk-a", 1, 2),
           AckedAssist("a-1", "c1-water-unit", 3), Acked(OpKind::kSupervise, "sv-1", 1, 4)};
  h.ack_cutoff = 1000;
  Observed o = LogWithEventOne(b.log());
  pb::Event& e = *o.events[1].mutable_event();
  e.set_state(pb::STATE_CLAIMED);
  e.set_level(pb::LEVEL_COMMUNITY);
  e.set_lead("c1-committee");
  e.set_claim_number(1);
  e.add_assists("c1-water-unit");
  e.set_supervised(true);
  *e.mutable_candidates() = o.log[1].dispatched().candidates();
  e.set_claim_deadline_ms(kT0 + kClaimMs);
  e.set_resolve_deadline_ms(kT0 + kResolveMs);
  auto found = Check(h, o, Quiet());
  REQUIRE_MESSAGE(found.empty(), All(found));
  std::string expected;
  SUBCASE("not supervised") {
    e.set_supervised(false);
    expected = "stored not supervised; the log replays to supervised";
  }
  SUBCASE("without its assist") {
    e.clear_assists();
    expected = "stored assisted by []; the log replays to [c1-water-unit]";
  }
  found = Check(h, o, Quiet());
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck assists: every one of 20 assists or supervisions refused is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  for (OpKind kind : {OpKind::kAssist, OpKind::kSupervise}) {
    std::vector<Op> ops;
    for (uint64_t i = 0; i < 20; ++i)
      ops.push_back(Refused(Acked(kind, "no-" + std::to_string(i), 1, 1 + i)));
    auto found = CheckReturns(b, ops);
    const std::string name = kind == OpKind::kAssist ? "assists" : "supervisions";
    CHECK_MESSAGE(All(found).find("all 20 " + name + " sent were refused, none accepted") !=
                      std::string::npos,
                  All(found));
  }
}

// NeedsReplan: such an event's claim deadline is live, so a switch re-plans it like any other.
TEST_CASE("crashcheck returns: an overdue event dispatched again has its claim deadline re-planned by a switch") {
  LogBuilder b;
  b.Submit(1, kT0, "s1", kGrid);
  const int64_t t = b.ClimbToOverdue(1, kT0) + 10;
  b.Return(1, t, "c1-committee", "ret-1", false);
  b.Dispatch(1, t, pb::LEVEL_CITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
  b.SetMode(t + 100, "city", pb::MODE_EMERGENCY, "switch-1");
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), AckedSetMode("city", pb::MODE_EMERGENCY, 2, "switch-1"),
           AckedReturn("ret-1", "c1-committee", 0, 3)};
  h.ack_cutoff = 1000;
  SUBCASE("re-planned, then fired") {
    b.Replan(1, t + 200, t, pb::MODE_EMERGENCY);
    b.Add(1, t + kUrgentClaimMs, true).mutable_marked_overdue()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
    Observed o;
    o.log = b.log();
    auto found = Check(h, o, ModeCity());
    CHECK_MESSAGE(found.empty(), All(found));
  }
  SUBCASE("left in the old mode, fired by it") {
    b.Add(1, t + kClaimMs, true).mutable_marked_overdue()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
    Observed o;
    o.log = b.log();
    auto found = Check(h, o, ModeCity());
    REQUIRE(Has(found, "mode"));
    CHECK(All(found).find("deadline fired by deadlines planned in NORMAL mode while EMERGENCY mode is in "
                          "force") != std::string::npos);
  }
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

// A citizen's feedback and reopens. Event 1 resolved by c1-committee at kT0 + 30.

Op AckedFeedback(const std::string& request_id, bool satisfied, uint64_t tick) {
  Op op = Acked(OpKind::kFeedback, request_id, 1, tick);
  op.satisfied = satisfied;
  return op;
}

struct Rated {
  LogBuilder log;
  std::vector<Op> ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 1)};
  Rated() {
    log.Submit(1, kT0, "s1");
    log.Claim(1, kT0 + 10, "c1-committee", "desk-a", 1);
    log.Resolve(1, kT0 + 30, 1, "r1");
  }
  std::vector<Violation> Run() { return CheckReturns(log, ops); }
};

TEST_CASE("crashcheck feedback: a rating closes or reopens the event, and a reopen dispatches it again with deadlines that fire") {
  Rated s;
  SUBCASE("satisfied: closed") {
    s.log.Feedback(1, kT0 + 40, true, "f-1", pb::LEVEL_COMMUNITY);
    s.ops.push_back(AckedFeedback("f-1", true, 2));
    s.log.Submit(2, kT0 + 40 + kQuietMs + 5, "s2");  // no quiet period left to fire
  }
  SUBCASE("not satisfied: reopened, claimed again in its new time") {
    s.log.Feedback(1, kT0 + 40, false, "f-1", pb::LEVEL_COMMUNITY);
    s.log.Claim(1, kT0 + 40 + kClaimMs - 1, "c1-water-unit", "unit", 2);
    s.ops.push_back(AckedFeedback("f-1", false, 2));
  }
  SUBCASE("closed by its quiet period, reopened, its new claim deadline fired") {
    s.log.Add(1, kT0 + 30 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
    const int64_t t = kT0 + 30 + kQuietMs + 100;
    s.log.Reopen(1, t, "o-1", pb::LEVEL_COMMUNITY);
    s.log.Escalate(1, t + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE);
    s.ops.push_back(Acked(OpKind::kReopen, "o-1", 1, 2));
  }
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck feedback: a reopened event's new claim deadline passed without firing is a violation") {
  Rated s;
  s.log.Feedback(1, kT0 + 40, false, "f-1", pb::LEVEL_COMMUNITY);
  s.ops.push_back(AckedFeedback("f-1", false, 2));
  s.log.Submit(2, kT0 + 40 + kClaimMs + 5, "s2");
  auto found = s.Run();
  REQUIRE(Has(found, "deadline"));
  CHECK(All(found).find("its claim deadline (due " + std::to_string(kT0 + 40 + kClaimMs) +
                        ") passed without firing") != std::string::npos);
}

TEST_CASE("crashcheck feedback: feedback or a reopen acknowledged but missing, or recorded otherwise, is a violation") {
  Rated s;
  std::string check = "lost", expected;
  SUBCASE("feedback missing") {
    s.ops.push_back(AckedFeedback("f-lost", true, 2));
    expected = "acknowledged feedback f-lost (claim 0) by test is not in the log";
  }
  SUBCASE("a reopen missing") {
    s.ops.push_back(Acked(OpKind::kReopen, "o-lost", 1, 2));
    expected = "acknowledged reopen o-lost (claim 0) by test is not in the log";
  }
  SUBCASE("satisfied, recorded not") {
    s.log.Feedback(1, kT0 + 40, false, "f-1", pb::LEVEL_COMMUNITY);
    s.ops.push_back(AckedFeedback("f-1", true, 2));
    expected = "feedback f-1 was sent satisfied but is recorded not satisfied";
  }
  SUBCASE("a refused reopen in the log") {
    s.log.Add(1, kT0 + 30 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
    s.log.Reopen(1, kT0 + 30 + kQuietMs + 100, "o-1", pb::LEVEL_COMMUNITY);
    Op refused = Acked(OpKind::kReopen, "o-1", 1, 2);
    refused.outcome = Outcome::kRejected;
    refused.code = pb::STATUS_ILLEGAL_TRANSITION;
    s.ops.push_back(refused);
    check = "rejected";
    expected = "reopen o-1 was rejected (STATUS_ILLEGAL_TRANSITION) yet is in the log";
  }
  auto found = s.Run();
  REQUIRE(Has(found, check));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck feedback: feedback or a reopen the lifecycle does not allow is a violation") {
  Rated s;
  std::string expected;
  SUBCASE("feedback on a closed event") {
    s.log.Add(1, kT0 + 30 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
    s.log.Feedback(1, kT0 + 30 + kQuietMs + 100, true, "f-1", pb::LEVEL_COMMUNITY);
    expected = "feedback accepted while CLOSED";
  }
  SUBCASE("feedback rating another department") {
    s.log.Feedback(1, kT0 + 40, true, "f-1", pb::LEVEL_COMMUNITY, "c1-water-unit");
    expected = "feedback rates 'c1-water-unit', but 'c1-committee' resolved the event";
  }
  SUBCASE("satisfied feedback, and the log ends") {
    pb::FeedbackGiven* f = s.log.Add(1, kT0 + 40).mutable_feedback_given();
    f->mutable_feedback()->set_satisfied(true);
    f->mutable_feedback()->set_comment("f-1");
    f->set_resolved_by("c1-committee");
    s.ops.push_back(AckedFeedback("f-1", true, 2));
    expected = "the log ends after a satisfied FeedbackGiven record not followed by the event's close";
  }
  SUBCASE("unsatisfied feedback, then a close") {
    pb::FeedbackGiven* f = s.log.Add(1, kT0 + 40).mutable_feedback_given();
    f->mutable_feedback()->set_comment("f-1");
    f->set_resolved_by("c1-committee");
    s.log.Add(1, kT0 + 40).mutable_closed()->set_cause(pb::CLOSE_SATISFIED);
    s.ops.push_back(AckedFeedback("f-1", false, 2));
    expected = "an unsatisfied FeedbackGiven record not followed by the event's reopen";
  }
  SUBCASE("unsatisfied feedback, then a reopen for another reason") {
    pb::FeedbackGiven* f = s.log.Add(1, kT0 + 40).mutable_feedback_given();
    f->mutable_feedback()->set_comment("f-1");
    f->set_resolved_by("c1-committee");
    s.log.Reopen(1, kT0 + 40, "o-1", pb::LEVEL_COMMUNITY);
    s.ops.push_back(AckedFeedback("f-1", false, 2));
    s.ops.push_back(Acked(OpKind::kReopen, "o-1", 1, 3));
    expected = "reopened right after unsatisfied feedback with the reason 'o-1', not 'unsatisfied feedback'";
  }
  SUBCASE("reopened for unsatisfied feedback nobody gave") {
    s.log.Add(1, kT0 + 30 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
    s.log.Reopen(1, kT0 + 30 + kQuietMs + 100, "unsatisfied feedback", pb::LEVEL_COMMUNITY);
    expected = "reopened for unsatisfied feedback right after none";
  }
  SUBCASE("closed while still offered") {
    s.log.Submit(2, kT0 + 40, "s2");
    s.log.Add(2, kT0 + 50).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
    expected = "closed while DISPATCHED";
  }
  SUBCASE("closed as satisfied with no feedback") {
    s.log.Add(1, kT0 + 40).mutable_closed()->set_cause(pb::CLOSE_SATISFIED);
    expected = "closed as satisfied right after no satisfied feedback";
  }
  SUBCASE("a reopen of an open event") {
    s.log.Submit(2, kT0, "s2");
    s.log.Reopen(2, kT0 + 10, "o-1", pb::LEVEL_COMMUNITY);
    expected = "reopened while DISPATCHED";
  }
  SUBCASE("a reopen not followed by its dispatch") {
    s.log.Add(1, kT0 + 40).mutable_reopened()->set_reason("o-1");
    s.log.Claim(1, kT0 + 41, "c1-committee", "desk-a", 2);
    expected = "a Reopened record not followed by the event's dispatch";
  }
  auto found = s.Run();
  REQUIRE(Has(found, "lifecycle"));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck feedback: an event stored with fewer reopens than its log has is a violation") {
  Rated s;
  s.log.Feedback(1, kT0 + 40, false, "f-1", pb::LEVEL_COMMUNITY);
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), AckedFeedback("f-1", false, 2)};
  h.ack_cutoff = 1000;
  Observed o = LogWithEventOne(s.log.log());
  pb::Event& e = *o.events[1].mutable_event();
  e.set_state(pb::STATE_DISPATCHED);
  e.set_level(pb::LEVEL_COMMUNITY);
  e.set_claim_number(1);
  e.add_candidates("c1-committee");
  e.add_candidates("c1-water-unit");
  e.set_claim_deadline_ms(kT0 + 40 + kClaimMs);
  e.set_resolve_deadline_ms(kT0 + 40 + kResolveMs);
  e.set_reopen_count(1);
  auto found = Check(h, o, Quiet());
  REQUIRE_MESSAGE(found.empty(), All(found));
  e.set_reopen_count(0);
  found = Check(h, o, Quiet());
  REQUIRE(Has(found, "event"));
  CHECK(All(found).find("stored as reopened 0 times; the log replays to 1") != std::string::npos);
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

TEST_CASE("crashcheck feedback: a reopen at city level of an event once overdue arms its claim deadline again") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  int64_t t = b.ClimbToOverdue(1, kT0);
  b.Claim(1, t + 10, "c1-committee", "desk-a", 1, false);
  b.Resolve(1, t + 20, 1, "r1");
  b.Add(1, t + 20 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
  t += 20 + kQuietMs + 100;
  b.Reopen(1, t, "o-1", pb::LEVEL_CITY);
  CheckCityClaimDeadline(b, {AckedClaim(1, "c1-committee", "desk-a", 1, 1), Acked(OpKind::kReopen, "o-1", 1, 2)}, t);
}

TEST_CASE("crashcheck feedback: a reopen offered to fewer than every department of its level, or nobody's, is a violation") {
  Rated s;
  s.log.Add(1, kT0 + 30 + kQuietMs, true).mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD);
  const int64_t t = kT0 + 30 + kQuietMs + 100;
  std::string check, expected;
  SUBCASE("offered to one department of two") {
    s.log.Add(1, t).mutable_reopened()->set_reason("o-1");
    s.log.Dispatch(1, t, pb::LEVEL_COMMUNITY, false, pb::MODE_NORMAL, {"c1-water-unit"});
    s.ops.push_back(Acked(OpKind::kReopen, "o-1", 1, 2));
    check = "offer";
    expected = "dispatched again after a reopen to [c1-water-unit], not to every department of its level "
               "[c1-committee, c1-water-unit]";
  }
  SUBCASE("nobody sent it") {
    s.log.Reopen(1, t, "o-9", pb::LEVEL_COMMUNITY);
    check = "lost";
    expected = "a reopen nobody sent (request id 'o-9')";
  }
  SUBCASE("its request was another event's") {
    s.log.Reopen(1, t, "o-1", pb::LEVEL_COMMUNITY);
    s.ops.push_back(Acked(OpKind::kReopen, "o-1", 7, 2));
    check = "lost";
    expected = "request o-1 was a reopen of event 7, but the log has a reopen of event 1";
  }
  auto found = s.Run();
  REQUIRE(Has(found, check));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

TEST_CASE("crashcheck feedback: every one of 20 unsatisfied ratings refused is a violation, satisfied ones accepted or not") {
  Rated s;
  s.log.Feedback(1, kT0 + 40, true, "f-1", pb::LEVEL_COMMUNITY);
  s.ops.push_back(AckedFeedback("f-1", true, 2));
  for (uint64_t i = 0; i < 20; ++i) {
    Op refused = AckedFeedback("f-no-" + std::to_string(i), false, 10 + i);
    refused.outcome = Outcome::kRejected;
    refused.code = pb::STATUS_ILLEGAL_TRANSITION;
    s.ops.push_back(refused);
  }
  auto found = s.Run();
  REQUIRE(Has(found, "workload"));
  CHECK(All(found).find("all 20 unsatisfied ratings sent were refused, none accepted") != std::string::npos);
  CHECK(std::count_if(found.begin(), found.end(), [](const Violation& v) { return v.check == "workload"; }) == 1);
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

// A supervisor's merges and cancels: events 1 and 2 open at community level.

Op AckedMerge(uint64_t event_id, uint64_t into, uint64_t tick) {
  Op op = Acked(OpKind::kMerge, "m-" + std::to_string(tick), event_id, tick);
  op.into_event_id = into;
  return op;
}

struct Merged {
  LogBuilder log;
  std::vector<Op> ops = {AckedMerge(2, 1, 1), Acked(OpKind::kCancel, "c-1", 3, 2)};
  Merged() {
    log.Submit(1, kT0, "s1");
    log.Submit(2, kT0 + 5, "s2");
    log.Submit(3, kT0 + 6, "s3");
    log.Add(2, kT0 + 10).mutable_merged_into()->set_into_event_id(1);
    LinkOnto(1, 2, kT0 + 10);
    log.Add(3, kT0 + 20).mutable_cancelled()->set_reason("c-1");
  }
  void LinkOnto(uint64_t into, uint64_t from, int64_t at) {
    log.Add(into, at).mutable_report_linked()->mutable_link()->set_event_id(from);
  }
  // Another merge, acknowledged, whatever the rules say of it.
  void Merge(uint64_t from, uint64_t into, int64_t at) {
    log.Add(from, at).mutable_merged_into()->set_into_event_id(into);
    LinkOnto(into, from, at);
    ops.push_back(AckedMerge(from, into, 10 + ops.size()));
  }
  std::vector<Violation> Run() { return CheckReturns(log, ops); }
};

TEST_CASE("crashcheck merges: a merge links its report onto the event it joins, and a merged or cancelled event's deadlines are gone") {
  Merged s;
  s.log.Escalate(1, kT0 + kClaimMs, pb::LEVEL_COMMUNITY, pb::ESCALATION_CLAIM_DEADLINE);
  s.log.Submit(4, kT0 + kClaimMs + 10, "s4");  // past the claim deadlines events 2 and 3 had
  auto found = s.Run();
  CHECK_MESSAGE(found.empty(), All(found));
}

TEST_CASE("crashcheck merges: a merge or cancel lost, nobody's, or of a closed event, or anything after it, is a violation") {
  Merged s;
  std::string check = "lifecycle", expected;
  SUBCASE("an acknowledged merge missing") {
    s.ops.push_back(AckedMerge(3, 1, 3));
    check = "lost";
    expected = "acknowledged merge m-3 of event 3 into event 1 by test is not in the log";
  }
  SUBCASE("an acknowledged cancel missing") {
    s.ops.push_back(Acked(OpKind::kCancel, "c-lost", 1, 3));
    check = "lost";
    expected = "acknowledged cancel c-lost (claim 0) by test is not in the log";
  }
  SUBCASE("a merge nobody sent") {
    s.ops.erase(s.ops.begin());
    check = "lost";
    expected = "a merge into event 1 nobody sent";
  }
  SUBCASE("a merge without its link") {
    s.log = LogBuilder();
    s.log.Submit(1, kT0, "s1");
    s.log.Submit(2, kT0 + 5, "s2");
    s.log.Add(2, kT0 + 10).mutable_merged_into()->set_into_event_id(1);
    s.log.Submit(3, kT0 + 10, "s3");
    s.ops.pop_back();
    expected = "a MergedInto record not followed by the link of its report on event 1";
  }
  SUBCASE("a merge into a cancelled event") {
    s.Merge(1, 3, kT0 + 30);
    expected = "merged into event 3, which is CANCELLED";
  }
  SUBCASE("a cancel of a resolved event") {
    s.log.Claim(1, kT0 + 30, "c1-committee", "desk-a", 1);
    s.log.Resolve(1, kT0 + 31, 1, "r1");
    s.log.Add(1, kT0 + 32).mutable_cancelled()->set_reason("c-2");
    s.ops.push_back(Acked(OpKind::kCancel, "c-2", 1, 3));
    expected = "cancelled while RESOLVED";
  }
  SUBCASE("a claim of a merged event") {
    s.log.Claim(2, kT0 + 30, "c1-committee", "desk-a", 1);
    expected = "a claimed record for an event already MERGED";
  }
  SUBCASE("a merge of a cancelled event") {
    s.Merge(3, 1, kT0 + 30);
    expected = "merged while CANCELLED";
  }
  SUBCASE("a merge into itself") {
    s.Merge(1, 1, kT0 + 30);
    expected = "merged into event 1, which is itself";
  }
  SUBCASE("the log ends after a merge") {
    s.log.log().resize(7);  // three submits and their dispatches, then the merge
    s.ops.pop_back();
    expected = "the log ends after a MergedInto record, without the link of its report";
  }
  SUBCASE("a report linked by no merge") {
    s.LinkOnto(1, 3, kT0 + 30);
    expected = "a merged event's report linked to the event, but by no merge";
  }
  SUBCASE("a cancel nobody sent") {
    s.ops.pop_back();
    check = "lost";
    expected = "a cancel nobody sent (request id 'c-1')";
  }
  SUBCASE("a rejected cancel in the log") {
    s.ops.back().outcome = Outcome::kRejected;
    s.ops.back().code = pb::STATUS_ILLEGAL_TRANSITION;
    check = "rejected";
    expected = "cancel c-1 was rejected (STATUS_ILLEGAL_TRANSITION) yet is in the log";
  }
  SUBCASE("a rejected merge in the log") {
    s.ops.front().outcome = Outcome::kRejected;
    s.ops.front().code = pb::STATUS_ILLEGAL_TRANSITION;
    check = "rejected";
    expected = "merge m-1 of event 2 into event 1 was rejected (STATUS_ILLEGAL_TRANSITION) yet is in the log";
  }
  auto found = s.Run();
  REQUIRE(Has(found, check));
  CHECK_MESSAGE(All(found).find(expected) != std::string::npos, All(found));
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

TEST_CASE("crashcheck merges: a merge carries the reports linked to the merged event along") {
  // Event 4 merged into event 2, then event 2 into event 1: one link on event 1, naming 2 and
  // carrying 4's report along.
  LogBuilder b;
  for (uint64_t id : {1, 2, 4}) b.Submit(id, kT0, "s" + std::to_string(id));
  b.Add(4, kT0 + 10).mutable_merged_into()->set_into_event_id(2);
  b.Add(2, kT0 + 10).mutable_report_linked()->mutable_link()->set_event_id(4);
  b.Add(2, kT0 + 20).mutable_merged_into()->set_into_event_id(1);
  const std::vector<Op> ops = {AckedMerge(4, 2, 1), AckedMerge(2, 1, 2)};
  auto link_onto_1 = [&](uint32_t carried) {
    pb::ReportLinked* linked = b.Add(1, kT0 + 20).mutable_report_linked();
    linked->mutable_link()->set_event_id(2);
    linked->set_carried_links(carried);
  };
  std::string expected;
  SUBCASE("carried") {
    link_onto_1(1);  // expected stays "": clean
  }
  SUBCASE("left behind") {
    link_onto_1(0);
    expected = "merged into event 1 carrying 0 linked reports along, of the 1 it had";
  }
  SUBCASE("one too many") {
    link_onto_1(2);
    expected = "merged into event 1 carrying 2 linked reports along, of the 1 it had";
  }
  SUBCASE("not linked at all") {
    expected = "a MergedInto record not followed by the link of its report on event 1";
  }
  b.Submit(5, kT0 + 30, "s5");
  CheckFound(CheckReturns(b, ops), "lifecycle", expected);
}

TEST_CASE("crashcheck merges: an event stored without the report merged into it, or merged elsewhere, is a violation") {
  LogBuilder b;
  b.Submit(1, kT0, "s1");
  b.Submit(2, kT0, "s2");
  b.Add(2, kT0 + 10).mutable_merged_into()->set_into_event_id(1);
  b.Add(1, kT0 + 10).mutable_report_linked()->mutable_link()->set_event_id(2);
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1), Acked(OpKind::kSubmit, "s2", 2, 2), AckedMerge(2, 1, 3)};
  h.ack_cutoff = 1000;
  Observed o;
  o.log = b.log();
  for (uint64_t id : {1, 2}) {
    for (const pb::Record& r : o.log) {
      if (r.event_id() == id) *o.events[id].add_history() = r;
    }
    pb::Event& e = *o.events[id].mutable_event();
    e.set_id(id);
    e.set_state(id == 1 ? pb::STATE_DISPATCHED : pb::STATE_MERGED);
    e.set_level(pb::LEVEL_COMMUNITY);
    e.add_candidates("c1-committee");
    e.add_candidates("c1-water-unit");
    e.set_claim_deadline_ms(kT0 + kClaimMs);
    e.set_resolve_deadline_ms(kT0 + kResolveMs);
  }
  o.events[1].mutable_event()->add_linked()->set_event_id(2);
  o.events[1].mutable_event()->set_linked_count(1);
  o.events[2].mutable_event()->set_merged_into(1);
  auto found = Check(h, o, Quiet());
  REQUIRE_MESSAGE(found.empty(), All(found));
  std::string expected;
  SUBCASE("its report not counted") {
    o.events[1].mutable_event()->clear_linked_count();
    expected = "event: event 1: stored with 0 linked reports; the log replays to 1";
  }
  SUBCASE("counted but not kept") {
    o.events[1].mutable_event()->clear_linked();
    expected = "event: event 1: stored keeping the links []; the log replays to [event 2]";
  }
  SUBCASE("merged into another event") {
    o.events[2].mutable_event()->set_merged_into(7);
    expected = "event: event 2: stored with 0 linked reports, merged into event 7; the log replays to 0, "
               "merged into event 1";
  }
  found = Check(h, o, Quiet());
  REQUIRE(found.size() == 1);
  CHECK(FormatViolation(found[0]) == expected);
}

TEST_CASE("crashcheck merges: every one of 20 cancels refused is a violation") {
  Merged s;
  for (uint64_t i = 0; i < 20; ++i) {
    Op refused = Acked(OpKind::kCancel, "c-no-" + std::to_string(i), 1, 10 + i);
    refused.outcome = Outcome::kRejected;
    refused.code = pb::STATUS_ILLEGAL_TRANSITION;
    s.ops.push_back(refused);
  }
  CHECK_FALSE(Has(s.Run(), "workload"));  // c-1 was accepted
  s.ops.erase(s.ops.begin() + 1);
  s.log.log().pop_back();  // and c-1 with it
  auto found = s.Run();
  REQUIRE(Has(found, "workload"));
  CHECK(All(found).find("all 20 cancels sent were refused, none accepted") != std::string::npos);
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

constexpr int64_t kWindowMs = 5'000;  // shorter than a claim deadline: no timer fires in these

CheckOptions WithWindow() {
  CheckOptions options = Quiet();
  options.duplicate_window_ms = kWindowMs;
  return options;
}

// An outage in g1 reported at kT0 (event 1), without a position.
LogBuilder Outage() {
  LogBuilder b;
  b.Submit(1, kT0, "s1", "g1");
  b.log()[0].mutable_submitted()->mutable_report()->set_category("outage");
  return b;
}

// An acknowledged Submit of an outage in g1, answered as a repeat of event 1.
Op AckedRepeat(const std::string& request_id, uint64_t tick) {
  Op repeat = Acked(OpKind::kSubmit, request_id, 1, tick);
  repeat.linked = true;
  repeat.grid = "g1";
  repeat.category = "outage";
  return repeat;
}

void SubmitOutage(LogBuilder& b, uint64_t id, int64_t at, const std::string& category = "outage") {
  const size_t at_index = b.log().size();
  b.Submit(id, at, "s" + std::to_string(id), "g1");
  b.log()[at_index].mutable_submitted()->mutable_report()->set_category(category);
}

TEST_CASE("crashcheck repeats: an acknowledged repeat is its report's link on the open event it was answered with") {
  LogBuilder b = Outage();
  auto link = [&](const std::string& request_id, int64_t at) {
    b.Add(1, at).mutable_report_linked()->mutable_link()->set_request_id(request_id);
  };
  std::vector<Op> ops = {AckedRepeat("s2", 101)};
  std::string check = "submit", expected;
  SUBCASE("linked") {
    link("s2", kT0 + 10);  // expected stays "": clean
  }
  SUBCASE("lost") {
    expected = "acknowledged submit s2 (event 1) of test is not in the log";
  }
  SUBCASE("linked twice") {
    link("s2", kT0 + 10);
    link("s2", kT0 + 20);
    expected = "submit s2 is in the log 2 times";
  }
  SUBCASE("a new event instead") {
    b.Submit(2, kT0 + 10, "s2", "g1");
    expected = "submit s2 was answered as a repeat of event 1 but the log has it as event 2";
  }
  SUBCASE("answered as a new event, linked instead") {
    link("s2", kT0 + 10);
    ops[0].linked = false;
    expected = "submit s2 was answered as event 1 but the log has it as a repeat of event 1";
  }
  SUBCASE("a repeat nobody sent") {
    link("s9", kT0 + 10);
    link("s2", kT0 + 10);
    expected = "a submit nobody sent (request id 's9')";
  }
  SUBCASE("linked to a resolved event") {
    b.Claim(1, kT0 + 10, "c1-committee", "desk-a", 1);
    b.Resolve(1, kT0 + 20, 1, "r1");
    link("s2", kT0 + 30);
    ops.push_back(AckedClaim(1, "c1-committee", "desk-a", 1, 102));
    ops.push_back(Acked(OpKind::kResolve, "r1", 1, 103));
    ops.back().claim_number = 1;
    check = "lifecycle";
    expected = "a repeat report linked while RESOLVED";
  }
  SUBCASE("of another category") {
    link("s2", kT0 + 10);
    ops[0].category = "water";
    check = "lifecycle";
    expected = "a repeat report of water in g1 linked to an event of outage in g1";
  }
  SUBCASE("of another grid") {
    link("s2", kT0 + 10);
    ops[0].grid = "g2";
    check = "lifecycle";
    expected = "a repeat report of outage in g2 linked to an event of outage in g1";
  }
  CheckFound(CheckReturns(b, ops), check, expected);
}

}  // namespace
}  // namespace whistle::crashcheck

namespace whistle::crashcheck {
namespace {

TEST_CASE("crashcheck repeats: a new event while an open one of its grid and category was there to repeat") {
  LogBuilder b = Outage();
  std::vector<Op> ops;
  std::string expected;
  SUBCASE("made anew") {
    SubmitOutage(b, 2, kT0 + 10);
    expected = "a new event of outage in g1 while event 1 (made 10 ms before, DISPATCHED) was there for it to repeat";
  }
  SUBCASE("the first one resolved") {
    b.Claim(1, kT0 + 5, "c1-committee", "desk-a", 1);
    b.Resolve(1, kT0 + 6, 1, "r1");
    ops = {AckedClaim(1, "c1-committee", "desk-a", 1, 101), Acked(OpKind::kResolve, "r1", 1, 102)};
    ops.back().claim_number = 1;
    SubmitOutage(b, 2, kT0 + 10);
  }
  SUBCASE("past the window") {
    SubmitOutage(b, 2, kT0 + kWindowMs + 1);
  }
  SUBCASE("at the window's edge") {
    SubmitOutage(b, 2, kT0 + kWindowMs);
    expected = "while event 1 (made 5000 ms before, DISPATCHED) was there for it to repeat";
  }
  SUBCASE("another category") {
    SubmitOutage(b, 2, kT0 + 10, "water");
  }
  SUBCASE("both with a position: the distance decides, not modelled") {
    b.log()[0].mutable_submitted()->mutable_report()->mutable_position()->set_lon(121.4);
    SubmitOutage(b, 2, kT0 + 10);
    b.log()[2].mutable_submitted()->mutable_report()->mutable_position()->set_lon(121.4);
  }
  SUBCASE("one with a position") {
    b.log()[0].mutable_submitted()->mutable_report()->mutable_position()->set_lon(121.4);
    SubmitOutage(b, 2, kT0 + 10);
    expected = "a new event of outage in g1 while event 1";
  }
  CheckFound(CheckReturns(b, ops, WithWindow()), "submit", expected);
  CHECK(CheckReturns(b, ops).empty());  // without a window, nothing is a repeat
}

TEST_CASE("crashcheck repeats: a repeat linked to an event made before the window is a violation") {
  LogBuilder b = Outage();
  b.Add(1, kT0 + kWindowMs + 1).mutable_report_linked()->mutable_link()->set_request_id("s2");
  CheckFound(CheckReturns(b, {AckedRepeat("s2", 101)}, WithWindow()), "lifecycle",
             "a repeat report linked 5001 ms after the event was made, past the 5000 ms window");
}

TEST_CASE("crashcheck repeats: an event stored with other links kept than its newest 16, or miscounted, is a violation") {
  LogBuilder b = Outage();
  History h;
  h.ops = {Acked(OpKind::kSubmit, "s1", 1, 1)};
  for (int i = 0; i < 20; ++i) {
    const std::string request_id = fmt::format("r{:02}", i);
    b.Add(1, kT0 + 10 + i).mutable_report_linked()->mutable_link()->set_request_id(request_id);
    h.ops.push_back(AckedRepeat(request_id, 2 + static_cast<uint64_t>(i)));
  }
  h.ack_cutoff = 1000;
  Observed o;
  o.log = b.log();
  pb::Event& e = *o.events[1].mutable_event();
  for (const pb::Record& r : o.log) *o.events[1].add_history() = r;
  e.set_id(1);
  e.set_state(pb::STATE_DISPATCHED);
  e.set_level(pb::LEVEL_COMMUNITY);
  e.add_candidates("c1-committee");
  e.add_candidates("c1-water-unit");
  e.set_claim_deadline_ms(kT0 + kClaimMs);
  e.set_resolve_deadline_ms(kT0 + kResolveMs);
  e.set_linked_count(20);
  auto keep = [&](int from) {
    e.clear_linked();
    for (int i = from; i < from + 16; ++i) e.add_linked()->set_request_id(fmt::format("r{:02}", i));
  };
  keep(4);
  REQUIRE_MESSAGE(Check(h, o, WithWindow()).empty(), All(Check(h, o, WithWindow())));
  std::string expected;
  SUBCASE("the oldest 16 kept") {
    keep(0);
    expected = "event: event 1: stored keeping the links [r00, r01,";
  }
  SUBCASE("one link not counted") {
    e.set_linked_count(19);
    expected = "event: event 1: stored with 19 linked reports; the log replays to 20";
  }
  auto found = Check(h, o, WithWindow());
  REQUIRE(found.size() == 1);
  CHECK_MESSAGE(FormatViolation(found[0]).find(expected) == 0, FormatViolation(found[0]));
}

}  // namespace
}  // namespace whistle::crashcheck
