// The pipelined commit (Engine::Decide / Seal / Complete): a batch decided while the one before it
// is not yet written sees that batch's effects, and nothing of either is answered or published
// before its own write.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <rocksdb/env.h>

#include "storage/fault_injection.h"
#include "storage/keys.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/faulty_disk.h"

namespace whistle {
namespace {

using testing::EngineFixture;

Command PipelineCommand(pb::Request request) { return Command{testing::TestActor(), std::move(request)}; }

Command PipelineSubmit(const std::string& request_id, const std::string& grid) {
  pb::Request r;
  r.set_request_id(request_id);
  r.mutable_submit()->mutable_report()->set_category("water");
  r.mutable_submit()->mutable_report()->set_grid(grid);
  return PipelineCommand(std::move(r));
}

Command PipelineFeedback(uint64_t id) {
  pb::Request r;
  r.set_request_id(fmt::format("feedback-{}", id));
  r.mutable_feedback()->set_event_id(id);
  r.mutable_feedback()->set_satisfied(true);
  r.mutable_feedback()->set_score(5);
  return PipelineCommand(std::move(r));
}

Command PipelineReopen(uint64_t id) {
  pb::Request r;
  r.set_request_id(fmt::format("reopen-{}", id));
  r.mutable_reopen()->set_event_id(id);
  r.mutable_reopen()->set_reason("came back");
  return PipelineCommand(std::move(r));
}

pb::EventState StoredState(EngineFixture& f, uint64_t id) {
  auto value = f.store().Get(storage::Cf::kEvents, storage::EventKey(id));
  REQUIRE(value.ok());
  REQUIRE(value->has_value());
  pb::Event e;
  REQUIRE(e.ParseFromString(**value));
  return e.state();
}

TEST_CASE("a batch decided before the previous one is written sees what that one did") {
  EngineFixture f;
  Engine& engine = f.engine();
  uint64_t closing = f.SubmitOk("water", testing::kGrid1);
  REQUIRE(f.Resolve(closing, f.ClaimOk(closing, "c1-water-unit")).code() == pb::STATUS_OK);

  // Batch 1 closes the event (it leaves memory for the store) and makes a new one.
  std::vector<Command> first = {PipelineFeedback(closing), PipelineSubmit("pipe-1", testing::kGrid2)};
  std::vector<pb::Response> first_replies = engine.Decide(first);
  SealedBatch one = engine.Seal();
  REQUIRE(one.write != nullptr);
  CHECK(engine.batches_in_flight() == 1);
  REQUIRE(first_replies[0].code() == pb::STATUS_OK);
  REQUIRE(first_replies[1].code() == pb::STATUS_OK);
  const uint64_t made = first_replies[1].event().event().id();

  // Batch 2, decided before batch 1 is on disk: the store still has the event resolved, and no
  // answer to "pipe-1". The engine must not read either from there.
  CHECK(StoredState(f, closing) == pb::STATE_RESOLVED);
  std::vector<Command> second = {PipelineReopen(closing), PipelineSubmit("pipe-1", testing::kGrid2)};
  std::vector<pb::Response> second_replies = engine.Decide(second);
  SealedBatch two = engine.Seal();
  CHECK(engine.batches_in_flight() == 2);
  CHECK(second_replies[0].code() == pb::STATUS_OK);  // reopened: it was closed, as batch 1 left it
  CHECK(second_replies[1].code() == pb::STATUS_OK);
  // The retry gets the first answer again, not a new report linked to the first as a duplicate.
  CHECK(second_replies[1].SerializeAsString() == first_replies[1].SerializeAsString());
  CHECK_FALSE(second_replies[1].event().linked_as_duplicate());

  // Written in order, each completed with its write's status.
  CHECK(engine.Complete(one, f.store().Write(*one.write)).ok());
  REQUIRE(engine.committed_records().size() == one.records->size());
  CHECK(engine.committed_records().back().seq() == one.records->back().seq());
  CHECK(StoredState(f, closing) == pb::STATE_CLOSED);
  REQUIRE(two.write != nullptr);
  CHECK(engine.Complete(two, f.store().Write(*two.write)).ok());
  CHECK(engine.batches_in_flight() == 0);
  CHECK(StoredState(f, closing) == pb::STATE_DISPATCHED);  // reopened and dispatched again
  CHECK(engine.state().next_event_id() == made + 1);  // the retry made no second event
  CHECK(engine.state().committed_seq() == engine.state().last_seq());

  // And all of it is what a restart finds.
  f.Restart();
  CHECK(f.EventOf(closing).state() == pb::STATE_DISPATCHED);
  CHECK(f.engine().state().next_event_id() == made + 1);
}

TEST_CASE("rounds decided between two seals are one write, and their records publish together") {
  EngineFixture f;
  Engine& engine = f.engine();
  std::vector<Command> a = {PipelineSubmit("round-a", testing::kGrid1)};
  std::vector<Command> b = {PipelineSubmit("round-b", testing::kGrid2)};
  REQUIRE(engine.Decide(a)[0].code() == pb::STATUS_OK);
  REQUIRE(engine.Decide(b)[0].code() == pb::STATUS_OK);
  SealedBatch both = engine.Seal();
  REQUIRE(both.write != nullptr);
  CHECK(both.records->size() == 4);  // each event submitted and dispatched
  CHECK(engine.state().committed_seq() == 0);
  CHECK(engine.Complete(both, f.store().Write(*both.write)).ok());
  CHECK(engine.state().committed_seq() == 4);
}

TEST_CASE("when a write fails, the batches decided after it fail too, even one with nothing to write") {
  testing::FaultyEngine disk;
  Engine& engine = *disk.engine;

  std::vector<Command> first = {PipelineSubmit("lost-1", testing::kGrid1)};
  REQUIRE(engine.Decide(first)[0].code() == pb::STATUS_OK);
  SealedBatch one = engine.Seal();
  // Batch 2 retries batch 1's report: it is answered from batch 1 (the event it made), and
  // writes nothing.
  std::vector<pb::Response> retried = engine.Decide(first);
  REQUIRE(retried[0].code() == pb::STATUS_OK);
  CHECK(retried[0].event().event().id() == 1);
  SealedBatch two = engine.Seal();
  CHECK(two.write == nullptr);

  disk.fs->set_fail_writes(true);
  Status s1 = engine.Complete(one, disk.store->Write(*one.write));
  CHECK(s1.code() == pb::STATUS_UNAVAILABLE);
  CHECK(engine.committed_records().empty());
  disk.fs->set_fail_writes(false);
  Status s2 = engine.Complete(two, Status::Ok());
  CHECK(s2.code() == pb::STATUS_UNAVAILABLE);  // it told of an event that never was
  CHECK(engine.committed_records().empty());
  CHECK(engine.health().code() == pb::STATUS_UNAVAILABLE);
  std::vector<Command> third = {PipelineSubmit("after", testing::kGrid2)};
  CHECK(engine.Decide(third)[0].code() == pb::STATUS_UNAVAILABLE);
}

TEST_CASE("only queries that would read unwritten changes through cursors wait for the writes") {
  EngineFixture f;
  Engine& engine = f.engine();
  auto list_of = [](const std::string& department) {
    pb::Request r;
    r.mutable_list()->set_department(department);
    return r;
  };
  pb::Request city;
  city.mutable_list()->set_city(true);
  pb::Request get;
  get.mutable_get()->set_event_id(1);
  get.mutable_get()->set_with_history(true);
  pb::Request digest;
  digest.mutable_digest();
  pb::Request stats;
  stats.mutable_stats()->set_department("c1-water-unit");
  pb::Request log;
  log.mutable_log();
  pb::Request claim;
  claim.mutable_claim()->set_event_id(1);
  pb::Request mine;
  mine.mutable_list()->set_mine(true);
  // PipelineSubmit reports as TestActor()'s principal.
  const Command submitter_mine = PipelineCommand(mine);
  const Command other_mine{testing::TestActor(pb::ROLE_REPORTER, "someone-else"), mine};

  CHECK(engine.WaitsForWrites(PipelineCommand(digest)));
  CHECK(engine.WaitsForWrites(PipelineCommand(city)));
  CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(list_of("c1-water-unit"))));  // nothing unwritten
  for (const pb::Request* r : {&get, &stats, &log, &claim}) CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(*r)));

  // A report offered to c1-water-unit, decided: while it is only staged, a list sees it in memory
  // as it always did (and the answer must not depend on what its own round decided before it).
  std::vector<Command> submit = {PipelineSubmit("wait-1", testing::kGrid1)};
  std::vector<pb::Response> made = engine.Decide(submit);
  REQUIRE(made[0].code() == pb::STATUS_OK);
  const auto& offered = made[0].event().event().candidates();
  REQUIRE(std::find(offered.begin(), offered.end(), "c1-water-unit") != offered.end());
  CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(list_of("c1-water-unit"))));
  // Sealed and not yet written: its list waits, another does not.
  CHECK_FALSE(engine.WaitsForWrites(submitter_mine));
  SealedBatch one = engine.Seal();
  CHECK(engine.WaitsForWrites(PipelineCommand(list_of("c1-water-unit"))));
  CHECK(engine.WaitsForWrites(PipelineCommand(city)));
  pb::Request no_scope;
  no_scope.mutable_list();  // refused BAD_REQUEST without a read: it must not hold up the pipeline
  CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(no_scope)));
  CHECK(engine.WaitsForWrites(submitter_mine));  // its new report's key is not written yet
  CHECK_FALSE(engine.WaitsForWrites(other_mine));
  CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(list_of("c2-committee"))));
  for (const pb::Request* r : {&get, &stats, &log, &claim}) CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(*r)));
  CHECK(engine.Complete(one, f.store().Write(*one.write)).ok());
  CHECK_FALSE(engine.WaitsForWrites(PipelineCommand(list_of("c1-water-unit"))));
  CHECK_FALSE(engine.WaitsForWrites(submitter_mine));
}

TEST_CASE("a list decided after its round's timers changed its index, with a batch unwritten, is answered") {
  // Found by whistle-crashcheck: the engine checked the waiting rule against the round's own
  // changes, made by a timer fired just before the list, and aborted.
  EngineFixture f;
  Engine& engine = f.engine();
  const uint64_t late = f.SubmitOk("water", testing::kGrid1);  // offered to c1-water-unit
  std::vector<Command> other = {PipelineSubmit("elsewhere", testing::kGrid3)};
  REQUIRE(engine.Decide(other)[0].code() == pb::STATUS_OK);
  SealedBatch one = engine.Seal();
  pb::Request list;
  list.mutable_list()->set_department("c1-water-unit");
  REQUIRE_FALSE(engine.WaitsForWrites(PipelineCommand(list)));  // the sealed batch did not touch this index

  f.clock.Advance(std::chrono::hours(2));  // the claim deadline passes: the round's timer climbs
  std::vector<Command> ask = {PipelineCommand(list)};
  std::vector<pb::Response> listed = engine.Decide(ask);
  CHECK(engine.timer_lags_last_batch_ms().empty());  // Process's, not Decide's
  REQUIRE(listed[0].code() == pb::STATUS_OK);
  SealedBatch two = engine.Seal();
  REQUIRE_FALSE(two.timer_lags_ms.empty());  // the climbs happened in the list's round
  CHECK(engine.Complete(one, f.store().Write(*one.write)).ok());
  CHECK(engine.Complete(two, f.store().Write(*two.write)).ok());
  CHECK(f.EventOf(late).level() == pb::LEVEL_STREET);
}

std::vector<uint32_t> HistorySeqs(const pb::Response& reply) {
  std::vector<uint32_t> seqs;
  for (const pb::Record& r : reply.event().history()) seqs.push_back(r.event_seq());
  return seqs;
}

TEST_CASE("a history asked for while batches are unwritten has every record once") {
  EngineFixture f;
  Engine& engine = f.engine();
  uint64_t id = f.SubmitOk();  // submitted, dispatched: on disk
  pb::Request claim;
  claim.set_request_id("claim-1");
  claim.mutable_claim()->set_event_id(id);
  claim.mutable_claim()->set_department("c1-water-unit");
  std::vector<Command> first = {PipelineCommand(claim)};
  std::vector<pb::Response> claimed = engine.Decide(first);
  REQUIRE(claimed[0].code() == pb::STATUS_OK);
  SealedBatch one = engine.Seal();
  pb::Request progress;
  progress.set_request_id("progress-1");
  progress.mutable_progress()->set_event_id(id);
  progress.mutable_progress()->set_claim_number(claimed[0].event().event().claim_number());
  progress.mutable_progress()->set_note("on site");
  std::vector<Command> second = {PipelineCommand(progress)};
  REQUIRE(engine.Decide(second)[0].code() == pb::STATUS_OK);
  SealedBatch two = engine.Seal();

  pb::Request get;
  get.mutable_get()->set_event_id(id);
  get.mutable_get()->set_with_history(true);
  std::vector<Command> ask = {PipelineCommand(get)};
  // And a page of it, which ends in the unwritten records.
  get.mutable_get()->set_history_before(3);
  std::vector<Command> ask_page = {PipelineCommand(get)};
  const std::vector<uint32_t> all = {0, 1, 2, 3}, page = {0, 1, 2};
  CHECK(HistorySeqs(engine.Decide(ask)[0]) == all);
  CHECK(HistorySeqs(engine.Decide(ask_page)[0]) == page);
  // Batch 1 written, not yet completed: the store's cursor sees its record too; still once.
  REQUIRE(f.store().Write(*one.write).ok());
  CHECK(HistorySeqs(engine.Decide(ask)[0]) == all);
  CHECK(HistorySeqs(engine.Decide(ask_page)[0]) == page);
  CHECK(engine.Complete(one, Status::Ok()).ok());
  CHECK(engine.Complete(two, f.store().Write(*two.write)).ok());
  SealedBatch three = engine.Seal();  // the Gets' rounds, which wrote nothing
  CHECK(three.write == nullptr);
  CHECK(engine.Complete(three, Status::Ok()).ok());
  CHECK(HistorySeqs(engine.Decide(ask)[0]) == all);
}

TEST_CASE("the newest page of a long history ends in its unwritten records, each once") {
  EngineFixture f;
  Engine& engine = f.engine();
  const uint64_t id = f.SubmitOk("water", testing::kGrid1);
  std::vector<Command> repeats;
  for (int i = 0; i < 1000; ++i) repeats.push_back(PipelineSubmit(fmt::format("repeat-{}", i), testing::kGrid1));
  for (const pb::Response& r : engine.Process(repeats)) REQUIRE(r.event().event().id() == id);
  // 1,002 records on disk; three more in each of two sealed batches, neither written yet.
  auto seal_three_repeats = [&](int first) {
    std::vector<Command> more;
    for (int i = first; i < first + 3; ++i) {
      more.push_back(PipelineSubmit(fmt::format("late-{}", i), testing::kGrid1));
    }
    REQUIRE(engine.Decide(more)[0].code() == pb::STATUS_OK);
    return engine.Seal();
  };
  SealedBatch one = seal_three_repeats(1);
  SealedBatch two = seal_three_repeats(4);

  pb::Request get;
  get.mutable_get()->set_event_id(id);
  get.mutable_get()->set_with_history(true);
  std::vector<Command> ask = {PipelineCommand(get)};
  get.mutable_get()->set_history_before(1005);  // ends inside the first unwritten batch
  std::vector<Command> ask_before = {PipelineCommand(get)};
  auto range = [](uint32_t from, uint32_t to) {
    std::vector<uint32_t> out;
    for (uint32_t i = from; i < to; ++i) out.push_back(i);
    return out;
  };
  auto check = [&] {
    pb::Response newest = engine.Decide(ask)[0];
    CHECK(newest.event().older_history() == 8);
    CHECK(HistorySeqs(newest) == range(8, 1008));
    pb::Response before = engine.Decide(ask_before)[0];
    CHECK(before.event().older_history() == 5);
    CHECK(HistorySeqs(before) == range(5, 1005));
  };
  check();
  // Batch 1 written, not yet completed: the cursor sees its records too; each still once.
  REQUIRE(f.store().Write(*one.write).ok());
  check();
  CHECK(engine.Complete(one, Status::Ok()).ok());
  CHECK(engine.Complete(two, f.store().Write(*two.write)).ok());
  check();
}

}  // namespace
}  // namespace whistle
