// Walks every (state, action) cell of the lifecycle: the table itself, and the engine applying
// every wire command to an event resting in every state. Illegal cells must write nothing: every
// column family is compared before and after. (Timer and re-plan cells are driven by the engine
// itself; ladder_test and routing_test cover them.)
#include "dispatcher/lifecycle.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>
#include <set>
#include <string>

#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;

// The expected table, written out independently of lifecycle.cc.
const std::set<std::string> kLegal = {
    "DISPATCHED claim",           "DISPATCHED return",          "DISPATCHED whistle",
    "DISPATCHED supervise",       "DISPATCHED merge",           "DISPATCHED merge into",
    "DISPATCHED cancel",          "DISPATCHED re-plan",
    "DISPATCHED escalate at the claim deadline of",
    "CLAIMED assist",             "CLAIMED release",            "CLAIMED report progress on",
    "CLAIMED resolve",            "CLAIMED return",             "CLAIMED whistle",
    "CLAIMED supervise",          "CLAIMED merge",              "CLAIMED merge into",
    "CLAIMED cancel",             "CLAIMED re-plan",
    "CLAIMED escalate at the resolve deadline of",
    "IN_PROGRESS assist",         "IN_PROGRESS release",        "IN_PROGRESS report progress on",
    "IN_PROGRESS resolve",        "IN_PROGRESS return",         "IN_PROGRESS whistle",
    "IN_PROGRESS supervise",      "IN_PROGRESS merge",          "IN_PROGRESS merge into",
    "IN_PROGRESS cancel",         "IN_PROGRESS re-plan",
    "IN_PROGRESS escalate at the resolve deadline of",
    "RESOLVED give feedback on",  "RESOLVED reopen",            "RESOLVED auto-close",
    "CLOSED reopen",
};

std::string Cell(pb::EventState s, Action a) {
  return fmt::format("{} {}", StateName(s), ActionName(a));
}

TEST_CASE("the transition table allows exactly the documented cells") {
  for (int s = pb::EventState_MIN; s <= pb::EventState_MAX; ++s) {
    for (int a = 0; a < kActionCount; ++a) {
      auto state = static_cast<pb::EventState>(s);
      auto action = static_cast<Action>(a);
      CAPTURE(Cell(state, action));
      CHECK(Allows(state, action) == kLegal.contains(Cell(state, action)));
    }
  }
}

TEST_CASE("an illegal transition is rejected naming the event and its state") {
  pb::Event e;
  e.set_id(12);
  e.set_state(pb::STATE_RESOLVED);
  Status s = CheckTransition(e, Action::kClaim);
  CHECK(s.code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK(s.message() == "cannot claim event 12: it is RESOLVED");
}

// ----------------------------------------------------------------------------- engine, every cell

pb::CityConfig NoDuplicates() {
  pb::CityConfig c = testing::TestCityConfig();
  c.mutable_settings()->set_duplicate_window_seconds(0);
  return c;
}

// Brings a fresh event to `state` and returns its id.
uint64_t EventIn(EngineFixture& f, pb::EventState state) {
  uint64_t id = f.SubmitOk("water", testing::kGrid1);
  if (state == pb::STATE_DISPATCHED) return id;
  if (state == pb::STATE_CANCELLED) {
    REQUIRE(f.Cancel(id).code() == pb::STATUS_OK);
    return id;
  }
  if (state == pb::STATE_MERGED) {
    uint64_t other = f.SubmitOk("water", testing::kGrid2);
    REQUIRE(f.Merge(id, other).code() == pb::STATUS_OK);
    return id;
  }
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  if (state == pb::STATE_CLAIMED) return id;
  REQUIRE(f.Progress(id, claim).code() == pb::STATUS_OK);
  if (state == pb::STATE_IN_PROGRESS) return id;
  REQUIRE(f.Resolve(id, claim).code() == pb::STATUS_OK);
  if (state == pb::STATE_RESOLVED) return id;
  REQUIRE(f.Feedback(id, true).code() == pb::STATUS_OK);
  REQUIRE(state == pb::STATE_CLOSED);
  return id;
}

struct WireAction {
  Action action;
  // Sends the command for `id` as a legitimate party would; `other` is a fresh DISPATCHED event.
  std::function<pb::Response(EngineFixture&, uint64_t id, uint64_t claim, uint64_t other)> send;
};

const std::vector<WireAction>& WireActions() {
  static const std::vector<WireAction> actions = {
      {Action::kClaim, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t) { return f.Claim(id, "c1-water-unit"); }},
      {Action::kAssist, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t) { return f.Claim(id, "c1-water-unit", true); }},
      {Action::kRelease, [](EngineFixture& f, uint64_t id, uint64_t c, uint64_t) { return f.Release(id, c); }},
      {Action::kProgress, [](EngineFixture& f, uint64_t id, uint64_t c, uint64_t) { return f.Progress(id, c); }},
      {Action::kResolve, [](EngineFixture& f, uint64_t id, uint64_t c, uint64_t) { return f.Resolve(id, c); }},
      {Action::kReturn, [](EngineFixture& f, uint64_t id, uint64_t c, uint64_t) { return f.Return(id, "c1-committee", c); }},
      {Action::kWhistle, [](EngineFixture& f, uint64_t id, uint64_t c, uint64_t) { return f.Whistle(id, "c1-committee", c); }},
      {Action::kSupervise, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t) { return f.Supervise(id); }},
      {Action::kFeedback, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t) { return f.Feedback(id, true); }},
      {Action::kReopen, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t) { return f.Reopen(id); }},
      {Action::kMergeSource, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t o) { return f.Merge(id, o); }},
      {Action::kMergeTarget, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t o) { return f.Merge(o, id); }},
      {Action::kCancel, [](EngineFixture& f, uint64_t id, uint64_t, uint64_t) { return f.Cancel(id); }},
  };
  return actions;
}

TEST_CASE("every command in every resting state is applied exactly when the table allows it") {
  const pb::EventState resting[] = {pb::STATE_DISPATCHED, pb::STATE_CLAIMED, pb::STATE_IN_PROGRESS,
                                    pb::STATE_RESOLVED,   pb::STATE_CLOSED,  pb::STATE_CANCELLED,
                                    pb::STATE_MERGED};
  EngineFixture f(NoDuplicates());
  for (pb::EventState state : resting) {
    for (const WireAction& w : WireActions()) {
      CAPTURE(Cell(state, w.action));
      uint64_t id = EventIn(f, state);
      uint64_t other = f.SubmitOk("water", testing::kGrid2);
      uint64_t claim = f.EventOf(id).claim_number();
      auto before = testing::DumpAll(f.store());

      pb::Response reply = w.send(f, id, claim, other);

      if (Allows(state, w.action)) {
        CHECK_MESSAGE(reply.code() == pb::STATUS_OK, reply.message());
        continue;
      }
      CAPTURE(reply.message());
      bool claimed = state == pb::STATE_CLAIMED || state == pb::STATE_IN_PROGRESS;
      CHECK(reply.code() == (w.action == Action::kClaim && claimed ? pb::STATUS_ALREADY_CLAIMED
                                                                   : pb::STATUS_ILLEGAL_TRANSITION));
      CHECK(testing::DumpAll(f.store()) == before);  // nothing written at all
    }
  }
}

}  // namespace
}  // namespace whistle
