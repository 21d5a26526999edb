// Idempotent retries: same request id and payload -> the first answer; different payload -> error.
#include <doctest/doctest.h>

#include "storage/idempotency.h"
#include "storage/keys.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;
using testing::IdempotencyExpiry;

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

// A Cancel of event `id` with request id `request_id`: applied once, a retry refused afresh
// (the event is cancelled already), so its answer says whether the retry was remembered.
pb::Request CancelRequest(uint64_t id, const std::string& request_id, const std::string& reason = "by mistake") {
  pb::Request r;
  r.set_request_id(request_id);
  r.mutable_cancel()->set_event_id(id);
  r.mutable_cancel()->set_reason(reason);
  return r;
}

constexpr auto kRetention = std::chrono::hours(7 * 24);  // EngineOptions' default

TEST_CASE("a retry carried on another ticket of the same person is the same request") {
  // A console logged in again between a request and its retry: a new ticket, the same person.
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Request cancel = CancelRequest(id, "cancel-1");
  cancel.set_acting_ticket("v1.sup-a.1.2.first");
  pb::Response first = f.Run(cancel);
  REQUIRE(first.code() == pb::STATUS_OK);
  cancel.set_acting_ticket("v1.sup-a.1.3.second");
  CHECK(f.Run(cancel).SerializeAsString() == first.SerializeAsString());
  // Another command under that request id is still refused.
  pb::Request other = CancelRequest(id, "cancel-1", "another reason");
  other.set_acting_ticket("v1.sup-a.1.3.second");
  CHECK(f.Run(other).code() == pb::STATUS_IDEMPOTENCY_MISMATCH);
}

TEST_CASE("a command other than submit is answered again for the retention, then decided afresh") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  pb::Response first = f.Run(CancelRequest(id, "cancel-1"));
  REQUIRE(first.code() == pb::STATUS_OK);
  const size_t history = f.HistoryOf(id).size();

  f.clock.Advance(kRetention - std::chrono::milliseconds(1));
  CHECK(f.Run(CancelRequest(id, "cancel-1")).SerializeAsString() == first.SerializeAsString());
  CHECK(f.Run(CancelRequest(id, "cancel-1", "another reason")).code() == pb::STATUS_IDEMPOTENCY_MISMATCH);

  f.clock.Advance(std::chrono::milliseconds(1));  // the entry's expiry: the retry is a new request
  pb::Response again = f.Run(CancelRequest(id, "cancel-1"));
  CHECK(again.code() == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK(f.HistoryOf(id).size() == history);
  // A new request with the old id is remembered again, for the retention from now.
  pb::Response fresh = f.Run(CancelRequest(f.SubmitOk(), "cancel-1", "another reason"));
  REQUIRE(fresh.code() == pb::STATUS_OK);
  f.clock.Advance(kRetention - std::chrono::milliseconds(1));
  CHECK(f.Run(CancelRequest(fresh.event().event().id(), "cancel-1", "another reason")).SerializeAsString() ==
        fresh.SerializeAsString());
}

TEST_CASE("a submit's first answer is kept for good: retried, or found by its request id, a year later") {
  EngineFixture f;
  pb::Response first = f.Submit("water", testing::kGrid1, "worker", "req-1");
  REQUIRE(first.code() == pb::STATUS_OK);
  f.clock.Advance(std::chrono::hours(366 * 24));
  f.Restart();
  CHECK(f.Submit("water", testing::kGrid1, "worker", "req-1").SerializeAsString() == first.SerializeAsString());
  CHECK(f.engine().state().next_event_id() == 2);
  pb::Request get;
  get.mutable_get()->set_submit_request_id("req-1");
  pb::Response found = f.Run(get, testing::TestActor(pb::ROLE_DEV, "worker"));
  REQUIRE_MESSAGE(found.code() == pb::STATUS_OK, found.message());
  CHECK(found.event().event().id() == first.event().event().id());
}

std::vector<std::string> IdempotencyKeys(const storage::Store& store) {
  return testing::Keys(store, storage::Cf::kIdempotency);
}

TEST_CASE("compactions drop the expired entries once a written record is past their expiry, and no others") {
  EngineFixture f;
  pb::Response submitted = f.Submit("water", testing::kGrid1, "worker", "report-1");
  uint64_t id = submitted.event().event().id();
  REQUIRE(f.Run(CancelRequest(id, "cancel-1")).code() == pb::STATUS_OK);
  const std::string submit_key = storage::IdempotencyKey("worker", "report-1");
  const std::string cancel_key = storage::IdempotencyKey("tester", "cancel-1");
  REQUIRE(IdempotencyKeys(f.store()) == std::vector<std::string>{cancel_key, submit_key});

  // The clock alone moves nothing: the horizon is the time of the newest record written.
  f.clock.Advance(kRetention * 2);
  REQUIRE(f.engine().FireDueTimers() == 0);
  REQUIRE(f.store().CompactAll().ok());
  CHECK(IdempotencyKeys(f.store()) == std::vector<std::string>{cancel_key, submit_key});

  // A record at the new time, written.
  pb::Response other = f.Submit("noise", testing::kGrid2, "worker", "report-2");
  REQUIRE(other.code() == pb::STATUS_OK);
  CHECK(f.store().expiry_horizon() == other.event().event().created_at_ms());
  REQUIRE(f.store().CompactAll().ok());
  CHECK(IdempotencyKeys(f.store()) ==
        std::vector<std::string>{submit_key, storage::IdempotencyKey("worker", "report-2")});
  CHECK(f.EventOf(id).state() == pb::STATE_CANCELLED);  // only the entry went
}

TEST_CASE("a restarted engine sets the expiry horizon to its newest record on disk") {
  EngineFixture f;
  uint64_t id = f.SubmitOk();
  f.clock.Advance(std::chrono::hours(1));
  REQUIRE(f.Cancel(id).code() == pb::STATUS_OK);
  const int64_t newest = f.HistoryOf(id).back().at_ms();
  CHECK(f.store().expiry_horizon() == newest);
  f.clock.Advance(std::chrono::hours(1));  // the clock is later, but nothing was written then
  f.Restart();
  CHECK(f.store().expiry_horizon() == newest);
}

// Rewrites every idempotency entry as a version before entries expired wrote it: no expiry, and no
// mark that says they were decided. With `oldest`, also as before events named their submitter.
void MakeLegacy(storage::Store& store, bool oldest) {
  storage::WriteBatch batch(store);
  batch.Delete(storage::Cf::kMeta, storage::kMetaLegacyEntriesDecided);
  for (const auto& [key, value] : testing::Dump(store, storage::Cf::kIdempotency)) {
    pb::IdempotencyEntry entry;
    REQUIRE(entry.ParseFromString(value));
    entry.clear_expires_at_ms();
    if (oldest) {
      pb::Response answer;
      REQUIRE(answer.ParseFromString(entry.response()));
      if (answer.has_event()) answer.mutable_event()->mutable_event()->clear_submitted_by();
      entry.set_response(answer.SerializeAsString());
    }
    batch.Put(storage::Cf::kIdempotency, key, entry.SerializeAsString());
  }
  REQUIRE(store.Write(batch).ok());
}

TEST_CASE("entries written before entries expired: a Submit's kept for good, another command's given an expiry") {
  for (bool oldest : {false, true}) {
    CAPTURE(oldest);
    EngineFixture f;
    const pb::Actor worker = testing::TestActor(pb::ROLE_DEV, "worker");
    pb::Response created = f.Submit("water", testing::kGrid1, "worker", "report-1");
    pb::Response linked = f.Submit("water", testing::kGrid1, "neighbour", "report-2");
    REQUIRE(linked.event().linked_as_duplicate());
    const uint64_t id = created.event().event().id();
    const uint64_t other = f.SubmitOk("noise", testing::kGrid2);
    REQUIRE(f.Run(CancelRequest(other, "cancel-1")).code() == pb::STATUS_OK);
    // The submitter acting on its own event: the answer is that event, but not its Submit's.
    pb::Request supervise;
    supervise.set_request_id("note-1");
    supervise.mutable_supervise()->set_event_id(id);
    supervise.mutable_supervise()->set_note("still leaking");
    REQUIRE(f.Run(supervise, worker).code() == pb::STATUS_OK);
    // Another principal with the Submit's request id: a key of its own, and not a Submit's.
    supervise.set_request_id("report-1");
    REQUIRE(f.Run(supervise).code() == pb::STATUS_OK);
    pb::Request mode;
    mode.set_request_id("mode-1");
    mode.mutable_set_mode()->set_region(testing::kCity);
    mode.mutable_set_mode()->set_mode(pb::MODE_EMERGENCY);
    REQUIRE(f.Run(mode, testing::TestActor(pb::ROLE_ADMIN)).code() == pb::STATUS_OK);
    MakeLegacy(f.store(), oldest);

    const int64_t expires = f.clock.NowMs() + 1000;
    // In writes of an entry each, or all in one.
    auto counts = storage::ExpireLegacyEntries(f.store(), expires, oldest ? 1 : 4 << 20);
    REQUIRE(counts.ok());
    // Three Submits (SubmitOk's request id is the fixture's), three other commands, a mode switch.
    CHECK(counts->entries == 7);
    CHECK(counts->without_expiry == 7);
    CHECK(counts->submits == 3);
    CHECK(counts->given_expiry == 4);
    CHECK(counts->undecided == 0);
    CHECK(IdempotencyExpiry(f.store(), storage::IdempotencyKey("worker", "report-1")) == 0);
    CHECK(IdempotencyExpiry(f.store(), storage::IdempotencyKey("neighbour", "report-2")) == 0);
    CHECK(IdempotencyExpiry(f.store(), storage::IdempotencyKey("tester", "cancel-1")) == expires);
    CHECK(IdempotencyExpiry(f.store(), storage::IdempotencyKey("worker", "note-1")) == expires);
    CHECK(IdempotencyExpiry(f.store(), storage::IdempotencyKey("tester", "report-1")) == expires);

    // The store is marked as decided: not read again.
    auto again = storage::ExpireLegacyEntries(f.store(), expires + 1);
    REQUIRE(again.ok());
    CHECK(again->decided_before);
    CHECK(again->entries == 0);
    // Unmarked (a run cut short before its mark), only the Submits' are left without an expiry.
    storage::WriteBatch unmark(f.store());
    unmark.Delete(storage::Cf::kMeta, storage::kMetaLegacyEntriesDecided);
    REQUIRE(f.store().Write(unmark).ok());
    again = storage::ExpireLegacyEntries(f.store(), expires + 1);
    REQUIRE(again.ok());
    CHECK_FALSE(again->decided_before);
    CHECK(again->without_expiry == 3);
    CHECK(again->submits == 3);
    CHECK(again->given_expiry == 0);
    CHECK(IdempotencyExpiry(f.store(), storage::IdempotencyKey("tester", "cancel-1")) == expires);

    // The engine takes the expiry as its own: the cancel is answered again until then.
    f.Restart();
    pb::Response cancelled = f.Run(CancelRequest(other, "cancel-1"));
    CHECK(cancelled.code() == pb::STATUS_OK);
    f.clock.Advance(std::chrono::milliseconds(1000));
    CHECK(f.Run(CancelRequest(other, "cancel-1")).code() == pb::STATUS_ILLEGAL_TRANSITION);
    // And the Submits' request ids still name their event.
    pb::Request get;
    get.mutable_get()->set_submit_request_id("report-2");
    pb::Response found = f.Run(get, testing::TestActor(pb::ROLE_DEV, "neighbour"));
    REQUIRE_MESSAGE(found.code() == pb::STATUS_OK, found.message());
    CHECK(found.event().event().id() == id);
    CHECK(f.Submit("water", testing::kGrid1, "worker", "report-1").event().event().id() == id);
  }
}

TEST_CASE("an entry without expiry that cannot be told apart is kept: no Submit found, no separator, corrupt") {
  EngineFixture f;
  storage::WriteBatch batch(f.store());
  batch.Delete(storage::Cf::kMeta, storage::kMetaLegacyEntriesDecided);
  pb::Response answer;
  answer.mutable_event()->mutable_event()->set_id(99);  // no such event: no Submitted record
  pb::IdempotencyEntry entry;
  entry.set_response(answer.SerializeAsString());
  const std::string ghost = storage::IdempotencyKey("ghost", "r-1");
  batch.Put(storage::Cf::kIdempotency, ghost, entry.SerializeAsString());
  batch.Put(storage::Cf::kIdempotency, "no separator", entry.SerializeAsString());
  entry.set_response("\xff\xff");
  batch.Put(storage::Cf::kIdempotency, storage::IdempotencyKey("ghost", "r-2"), entry.SerializeAsString());
  batch.Put(storage::Cf::kIdempotency, storage::IdempotencyKey("ghost", "r-3"), "\xff\xff");
  REQUIRE(f.store().Write(batch).ok());
  const auto before = testing::Dump(f.store(), storage::Cf::kIdempotency);
  auto counts = storage::ExpireLegacyEntries(f.store(), f.clock.NowMs());
  REQUIRE(counts.ok());
  CHECK(counts->entries == 4);
  CHECK(counts->undecided == 4);
  CHECK(counts->given_expiry == 0);
  CHECK(testing::Dump(f.store(), storage::Cf::kIdempotency) == before);
  CHECK(IdempotencyExpiry(f.store(), ghost) == 0);
}

TEST_CASE("a store the engine started empty is marked: none of its entries is an older version's") {
  EngineFixture f;
  REQUIRE(f.Run(CancelRequest(f.SubmitOk(), "cancel-1")).code() == pb::STATUS_OK);
  auto counts = storage::ExpireLegacyEntries(f.store(), f.clock.NowMs());
  REQUIRE(counts.ok());
  CHECK(counts->decided_before);
  f.Restart();  // a start on a store with records writes no mark: an older version's has none
  storage::WriteBatch unmark(f.store());
  unmark.Delete(storage::Cf::kMeta, storage::kMetaLegacyEntriesDecided);
  REQUIRE(f.store().Write(unmark).ok());
  f.Restart();
  CHECK_FALSE(f.store().Get(storage::Cf::kMeta, storage::kMetaLegacyEntriesDecided)->has_value());
}

}  // namespace
}  // namespace whistle
