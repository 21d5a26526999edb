// Idempotent retries: same request id and payload -> the first answer; different payload -> error.
#include <doctest/doctest.h>

#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;

TEST_CASE("a retried submit gets the first answer and creates nothing new") {
  EngineFixture f;
  pb::Response first = f.Submit("water", testing::kGrid1, "worker", "req-1");
  REQUIRE(first.code() == pb::STATUS_OK);
  f.clock.Advance(std::chrono::hours(3));  // past the duplicate window: a new report would be new
  pb::Response retry = f.Submit("water", testing::kGrid1, "worker", "req-1");
  CHECK(retry.SerializeAsString() == first.SerializeAsString());
  CHECK(f.engine().state().next_event_id() == 2);
}

TEST_CASE("a request id reused with a different payload is refused and changes nothing") {
  EngineFixture f;
  REQUIRE(f.Submit("water", testing::kGrid1, "worker", "req-1").code() == pb::STATUS_OK);
  uint64_t seq = f.engine().state().last_seq();
  pb::Response clash = f.Submit("noise", testing::kGrid2, "worker", "req-1");
  CHECK(clash.code() == pb::STATUS_IDEMPOTENCY_MISMATCH);
  CHECK(clash.message() == "request id 'req-1' was already used for a different request");
  CHECK(f.engine().state().last_seq() == seq);
}

TEST_CASE("a retry survives a restart") {
  EngineFixture f;
  pb::Response first = f.Submit("water", testing::kGrid1, "worker", "req-9");
  REQUIRE(first.code() == pb::STATUS_OK);
  f.Restart();
  pb::Response retry = f.Submit("water", testing::kGrid1, "worker", "req-9");
  CHECK(retry.event().event().id() == first.event().event().id());
  CHECK(f.engine().state().next_event_id() == 2);
}

TEST_CASE("the same request twice in one batch is applied once") {
  EngineFixture f;
  Command c{testing::TestActor(), {}};
  c.request.set_request_id("twice");
  c.request.mutable_submit()->mutable_report()->set_category("water");
  c.request.mutable_submit()->mutable_report()->set_grid(testing::kGrid1);
  auto replies = f.engine().Process(std::vector<Command>{c, c});
  REQUIRE(replies[0].code() == pb::STATUS_OK);
  CHECK(replies[1].SerializeAsString() == replies[0].SerializeAsString());
  CHECK(f.engine().state().next_event_id() == 2);
}

TEST_CASE("a retried claim returns the claim it won instead of 'already claimed'") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  Command c{testing::TestActor(pb::ROLE_AGENT, "agent-7", "c1-committee"), {}};
  c.request.set_request_id("claim-1");
  c.request.mutable_claim()->set_event_id(id);
  c.request.mutable_claim()->set_department("c1-committee");
  pb::Response first = f.engine().Execute(c);
  REQUIRE(first.code() == pb::STATUS_OK);
  c.request.set_correlation_id(42);
  pb::Response retry = f.engine().Execute(c);
  CHECK(retry.code() == pb::STATUS_OK);
  CHECK(retry.correlation_id() == 42);
  CHECK(retry.event().event().claim_number() == first.event().event().claim_number());
}

TEST_CASE("a rejected request is not remembered: the retry is decided afresh") {
  EngineFixture f;
  pb::Response rejected = f.Submit("plumbing", testing::kGrid1, "worker", "req-2");
  CHECK(rejected.code() == pb::STATUS_NOT_FOUND);
  pb::Response fixed = f.Submit("water", testing::kGrid1, "worker", "req-2");  // same id, fixed
  CHECK(fixed.code() == pb::STATUS_OK);
}

TEST_CASE("request ids belong to their principal: two clients may both say req-1") {
  EngineFixture f;
  pb::Response a = f.Submit("water", testing::kGrid1, "worker-a", "req-1");
  pb::Response b = f.Submit("noise", testing::kGrid2, "worker-b", "req-1");
  REQUIRE(a.code() == pb::STATUS_OK);
  REQUIRE_MESSAGE(b.code() == pb::STATUS_OK, b.message());
  CHECK(a.event().event().id() != b.event().event().id());
}

TEST_CASE("a submit without a request id is refused: it could not be retried safely") {
  EngineFixture f;
  Command c{testing::TestActor(), {}};
  c.request.mutable_submit()->mutable_report()->set_category("water");
  c.request.mutable_submit()->mutable_report()->set_grid(testing::kGrid1);
  pb::Response r = f.engine().Execute(c);
  CHECK(r.code() == pb::STATUS_BAD_REQUEST);
  CHECK(r.message() == "submit needs a request_id, the key that makes retries safe");
  CHECK(f.engine().state().next_event_id() == 1);
}

}  // namespace
}  // namespace whistle
