// Claims: exactly one winner, in one batch or across batches; fencing tokens; co-handling.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>

#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;

Command ClaimCommand(uint64_t id, const std::string& department, const std::string& agent) {
  Command c{testing::TestActor(pb::ROLE_AGENT, agent, department), {}};
  c.request.mutable_claim()->set_event_id(id);
  c.request.mutable_claim()->set_department(department);
  c.request.mutable_claim()->set_agent(agent);
  return c;
}

TEST_CASE("many claims for one event in one batch: exactly one wins, the rest name the winner") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  std::vector<Command> batch;
  for (int i = 0; i < 50; ++i) {
    batch.push_back(ClaimCommand(id, i % 2 ? "c1-committee" : "c1-water-unit", fmt::format("agent-{}", i)));
  }
  auto replies = f.engine().Process(batch);
  int winners = 0;
  for (const auto& r : replies) {
    if (r.code() == pb::STATUS_OK) {
      ++winners;
      continue;
    }
    CHECK(r.code() == pb::STATUS_ALREADY_CLAIMED);
    CHECK(r.message() == "cannot claim event 1: it is CLAIMED by c1-water-unit (claim 1)");
  }
  CHECK(winners == 1);
  CHECK(replies[0].code() == pb::STATUS_OK);  // first in the batch wins
  pb::Event e = f.EventOf(id);
  CHECK(e.lead() == "c1-water-unit");
  CHECK(e.claim_agent() == "agent-0");
}

TEST_CASE("claims across batches: the second claimant is told who holds it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  CHECK(f.ClaimOk(id, "c1-committee") == 1);
  pb::Response second = f.Claim(id, "c1-water-unit");
  CHECK(second.code() == pb::STATUS_ALREADY_CLAIMED);
  CHECK(second.message() == "cannot claim event 1: it is CLAIMED by c1-committee (claim 1)");
}

TEST_CASE("claims over many events in one batch each have exactly one winner") {
  EngineFixture f;
  std::vector<uint64_t> ids;
  for (const char* grid : {testing::kGrid1, testing::kGrid2}) ids.push_back(f.SubmitOk("water", grid));
  std::vector<Command> batch;
  for (int round = 0; round < 8; ++round) {
    for (uint64_t id : ids) batch.push_back(ClaimCommand(id, "c1-committee", fmt::format("a{}", round)));
  }
  auto replies = f.engine().Process(batch);
  std::map<uint64_t, int> wins;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].code() == pb::STATUS_OK) ++wins[batch[i].request.claim().event_id()];
  }
  CHECK(wins == std::map<uint64_t, int>{{ids[0], 1}, {ids[1], 1}});
}

TEST_CASE("a department that is not offered the event cannot claim it") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  std::string before = f.Snapshot(id);
  pb::Response r = f.Claim(id, "s-office");
  CHECK(r.code() == pb::STATUS_NOT_ASSIGNED);
  CHECK(r.message() ==
        "cannot claim event 1: department 's-office' is not offered it at community level "
        "(offered to: c1-committee, c1-water-unit)");
  CHECK(f.Snapshot(id) == before);
}

TEST_CASE("a claim by an unknown department is NOT_FOUND") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Request claim;
  claim.mutable_claim()->set_event_id(id);
  claim.mutable_claim()->set_department("ghost");
  pb::Response r = f.Run(claim);
  CHECK(r.code() == pb::STATUS_NOT_FOUND);
  CHECK(r.message() == "unknown department 'ghost'");
  // An agent whose own department is gone from the configuration may do nothing.
  pb::Response agent = f.Claim(id, "ghost");
  CHECK(agent.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(agent.message() == "agent 'ghost-agent' of department 'ghost' may not claim: its department "
                           "'ghost' is not in the city's configuration");
}

TEST_CASE("a claim for an unknown event is NOT_FOUND") {
  EngineFixture f;
  pb::Response r = f.Claim(99, "c1-committee");
  CHECK(r.code() == pb::STATUS_NOT_FOUND);
  CHECK(r.message() == "no event 99");
}

TEST_CASE("release hands the event back at the same level and the next claim gets a new number") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  uint64_t first = f.ClaimOk(id, "c1-committee");
  REQUIRE(f.Release(id, first).code() == pb::STATUS_OK);
  pb::Event e = f.EventOf(id);
  CHECK(e.state() == pb::STATE_DISPATCHED);
  CHECK(e.level() == pb::LEVEL_COMMUNITY);
  CHECK(e.lead().empty());
  uint64_t second = f.ClaimOk(id, "c1-water-unit");
  CHECK(second == first + 1);
  CHECK(f.Resolve(id, first).code() == pb::STATUS_STALE_CLAIM);
  CHECK(f.Resolve(id, second).code() == pb::STATUS_OK);
}

TEST_CASE("release does not buy time: the original claim deadline still applies") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  int64_t deadline = f.EventOf(id).claim_deadline_ms();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  f.clock.Set(deadline + 1);
  REQUIRE(f.Release(id, claim).code() == pb::STATUS_OK);
  CHECK(f.engine().FireDueTimers() == 1);
  CHECK(f.EventOf(id).level() == pb::LEVEL_STREET);
}

TEST_CASE("progress and resolve with a claim number that was never issued are refused") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.ClaimOk(id, "c1-committee");
  std::string before = f.Snapshot(id);
  pb::Response r = f.Progress(id, 7);
  CHECK(r.code() == pb::STATUS_STALE_CLAIM);
  CHECK(r.message() == "cannot report progress on event 1: claim 7 is not current; c1-committee holds claim 1");
  CHECK(f.Resolve(id, 0).code() == pb::STATUS_BAD_REQUEST);
  CHECK(f.Snapshot(id) == before);
}

TEST_CASE("a second candidate joins a claimed event as assisting department") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.ClaimOk(id, "c1-committee");
  pb::Response r = f.Claim(id, "c1-water-unit", /*assist=*/true);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(r.event().event().lead() == "c1-committee");
  CHECK(r.event().event().assists(0) == "c1-water-unit");
  CHECK(f.Claim(id, "c1-water-unit", true).code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK(f.Claim(id, "c1-committee", true).code() == pb::STATUS_ILLEGAL_TRANSITION);
}

TEST_CASE("resolve requires a note saying what was done") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  uint64_t claim = f.ClaimOk(id, "c1-committee");
  pb::Response r = f.Resolve(id, claim, "");
  CHECK(r.code() == pb::STATUS_BAD_REQUEST);
  CHECK(r.message() == "note is required");
}

TEST_CASE("claiming, releasing and claiming again counts one response for the dispatch") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  REQUIRE(f.Release(id, f.ClaimOk(id, "c1-committee")).code() == pb::STATUS_OK);
  f.ClaimOk(id, "c1-committee");
  pb::Request stats;
  stats.mutable_stats()->set_level(pb::LEVEL_COMMUNITY);
  stats.mutable_stats()->set_month("2026-11");
  CHECK(f.Run(stats).stats().counters().claimed_in_time() == 1);
}

TEST_CASE("a claim naming no agent records the claiming principal (found by fuzz_engine)") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  Command c = ClaimCommand(id, "c1-committee", "");
  c.actor.set_principal("desk-7");
  pb::Response r = f.engine().Execute(c);
  REQUIRE_MESSAGE(r.code() == pb::STATUS_OK, r.message());
  CHECK(f.EventOf(id).claim_agent() == "desk-7");
}

}  // namespace
}  // namespace whistle
