#include "agents/gateway/gateway_store.h"

#include <doctest/doctest.h>
#include <rocksdb/env.h>

#include "storage/fault_injection.h"
#include "tests/gateway/hotline/hotline_records.h"
#include "tests/testing/temp_dir.h"

namespace whistle::gateway {
namespace {

using testing::Feed;
using testing::OpenOrDie;
using testing::PendingCountOrDie;
using testing::PendingOrDie;
using whistle::testing::TempDir;

std::vector<pb::TrackedOrder> OrdersOrDie(const GatewayStore& store, uint64_t event_id) {
  auto orders = store.OrdersFor(event_id);
  REQUIRE_MESSAGE(orders.ok(), orders.status().ToString());
  return std::move(orders).value();
}

TEST_CASE("a fresh store starts at cursor 0 with nothing pending") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  CHECK(store->cursor() == 0);
  CHECK_FALSE(store->cursor_mark());
  CHECK(PendingCountOrDie(*store) == 0);
  CHECK(OrdersOrDie(*store, 1).empty());
}

TEST_CASE(
    "applying a hotline order's records tracks it, queues its callbacks and moves the cursor") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(7, "hl", "A1");  // seq 1, 2
  feed.Claim(7, "water");      // seq 3
  feed.Progress(7);            // seq 4: silent
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  CHECK(store->cursor() == 4);

  auto orders = OrdersOrDie(*store, 7);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].order_no() == "A1");
  CHECK(orders[0].level() == "community");  // from the Dispatched in the same batch
  CHECK(orders[0].holder() == "water");

  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].status() == pb::ORDER_CLAIMED);
  CHECK(pending[0].change_id() == 3);
  CHECK(pending[0].level() == "community");
  CHECK(pending[0].client() == "hl");
}

TEST_CASE("applying the same records again adds nothing") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(7, "hl", "A1");
  feed.Claim(7, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  // An overlapping batch: only the new record counts.
  feed.Resolve(7, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  CHECK(store->cursor() == feed.last_seq());
  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].status() == pb::ORDER_CLAIMED);
  CHECK(pending[1].status() == pb::ORDER_RESOLVED);
  CHECK(OrdersOrDie(*store, 7).size() == 1);
}

TEST_CASE("records of other sources only move the cursor") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Add(3).mutable_submitted()->set_request_id("open311/app/1");
  feed.Claim(3, "water");
  feed.Add(0).mutable_mode_changed()->set_region("r1");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  CHECK(store->cursor() == 3);
  CHECK(PendingCountOrDie(*store) == 0);
  CHECK(OrdersOrDie(*store, 3).empty());
}

TEST_CASE("a batch out of sequence order is refused and writes nothing") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(7, "hl", "A1");
  feed.Claim(7, "water");
  std::swap(feed.records()[1], feed.records()[2]);
  Status s = store->Apply(feed.records(), testing::kGateway);
  CHECK(s.code() == pb::STATUS_BAD_REQUEST);
  CHECK(store->cursor() == 0);
  CHECK(PendingCountOrDie(*store) == 0);
  CHECK(OrdersOrDie(*store, 7).empty());
}

TEST_CASE("pending callbacks, tracked orders and the cursor survive reopening the store") {
  TempDir dir;
  Feed feed;
  feed.Submit(7, "hl", "A1");
  feed.Claim(7, "water");
  feed.Resolve(7, "water");
  {
    auto store = OpenOrDie(dir.Sub("gw"));
    REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
    auto pending = PendingOrDie(*store, "hl");
    REQUIRE(pending.size() == 2);
    REQUIRE(store->Delivered(pending[0]).ok());
  }
  auto store = OpenOrDie(dir.Sub("gw"));
  CHECK(store->cursor() == feed.last_seq());
  // With the mark of the record at the cursor: a follower checks the dispatcher still has it.
  REQUIRE(store->cursor_mark());
  CHECK(*store->cursor_mark() == RecordMark::Of(feed.records().back()));
  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].status() == pb::ORDER_RESOLVED);
  auto orders = OrdersOrDie(*store, 7);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0].holder().empty());
  // The feed resumes after the cursor: replaying the whole feed adds nothing.
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  CHECK(PendingCountOrDie(*store) == 1);
}

TEST_CASE("the outbox is read per client in change order") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(1, "hl", "Z9");
  feed.Submit(2, "hl", "A1");
  feed.Submit(3, "other", "A1");
  feed.Claim(2, "water");    // seq 7
  feed.Claim(1, "roads");    // seq 8
  feed.Claim(3, "parks");    // seq 9
  feed.Release(2, "water");  // seq 10
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());

  auto hl = PendingOrDie(*store, "hl");
  REQUIRE(hl.size() == 3);
  CHECK(hl[0].change_id() == 7);
  CHECK(hl[1].change_id() == 8);
  CHECK(hl[2].change_id() == 10);
  CHECK(PendingOrDie(*store, "hl", 2).size() == 2);
  auto other = PendingOrDie(*store, "other");
  REQUIRE(other.size() == 1);
  CHECK(other[0].change_id() == 9);
  CHECK(PendingCountOrDie(*store) == 4);
  CHECK(PendingCountOrDie(*store, "hl") == 3);
  // A client whose name is a prefix of another's sees only its own.
  CHECK(PendingOrDie(*store, "h").empty());
}

TEST_CASE("a delivered callback leaves the outbox, and delivering it again is harmless") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(1, "hl", "A1");
  feed.Claim(1, "water");
  feed.Release(1, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 2);
  REQUIRE(store->Delivered(pending[0]).ok());
  REQUIRE(store->Delivered(pending[0]).ok());
  auto left = PendingOrDie(*store, "hl");
  REQUIRE(left.size() == 1);
  CHECK(left[0].status() == pb::ORDER_RELEASED);
}

TEST_CASE("two orders on one event each get the event's callbacks") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Link(5, "hl", "B2");
  feed.Claim(5, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  auto orders = OrdersOrDie(*store, 5);
  REQUIRE(orders.size() == 2);
  CHECK(orders[1].level() == "community");  // the linked order took its sibling's level
  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].change_id() == pending[1].change_id());
  CHECK(pending[0].order_no() == "A1");
  CHECK(pending[1].order_no() == "B2");
}

TEST_CASE("a cancelled order is closed and no longer tracked") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Cancel(5);
  feed.Claim(5, "water");  // cannot happen; shows nothing is tracked any more
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  CHECK(OrdersOrDie(*store, 5).empty());
  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].closure() == "cancelled");
}

TEST_CASE("a closed order stays tracked so that a reopen is called back") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Close(5);
  feed.Add(5).mutable_reopened()->set_reason("the leak is back");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  auto pending = PendingOrDie(*store, "hl");
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].status() == pb::ORDER_CLOSED);
  CHECK(pending[1].status() == pb::ORDER_REOPENED);
}

TEST_CASE("records applied one by one give the same outbox as one batch") {
  TempDir dir;
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Link(5, "hl", "B2");
  feed.Claim(5, "water");
  feed.Add(5).mutable_escalated()->set_to_level(pb::LEVEL_STREET);
  feed.Claim(5, "roads");
  feed.Add(5).mutable_returned()->set_department("roads");
  feed.Cancel(5);
  auto batch = OpenOrDie(dir.Sub("batch"));
  auto single = OpenOrDie(dir.Sub("single"));
  REQUIRE(batch->Apply(feed.records(), testing::kGateway).ok());
  for (const pb::Record& r : feed.records()) REQUIRE(single->Apply(std::span(&r, 1), testing::kGateway).ok());
  auto a = PendingOrDie(*batch, "hl");
  auto b = PendingOrDie(*single, "hl");
  REQUIRE(a.size() == b.size());
  CHECK(a.size() == 10);  // claimed, escalated, claimed, released (the return), closed; x2
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].SerializeAsString() == b[i].SerializeAsString());
  CHECK(OrdersOrDie(*batch, 5).empty());
  CHECK(OrdersOrDie(*single, 5).empty());
}

TEST_CASE("a batch whose write fails leaves no trace and poisons the store until reopened") {
  TempDir dir;
  auto fs = std::make_shared<storage::FaultInjectionFs>(rocksdb::FileSystem::Default());
  auto env = rocksdb::NewCompositeEnv(fs);
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Claim(5, "water");
  {
    auto store = OpenOrDie(dir.Sub("gw"), {.env = env.get()});
    REQUIRE(store->Apply(std::span(feed.records()).first(2), testing::kGateway).ok());

    fs->set_fail_writes(true);
    Status first = store->Apply(feed.records(), testing::kGateway);
    CHECK(first.code() == pb::STATUS_UNAVAILABLE);
    CHECK(store->cursor() == 2);

    fs->set_fail_writes(false);  // the disk is back, but the store stays poisoned
    CHECK(store->Apply(feed.records(), testing::kGateway).code() == pb::STATUS_UNAVAILABLE);
    CHECK(store->health().code() == pb::STATUS_UNAVAILABLE);
  }
  auto store = OpenOrDie(dir.Sub("gw"));
  CHECK(store->health().ok());
  CHECK(store->cursor() == 2);
  CHECK(PendingCountOrDie(*store) == 0);
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  CHECK(PendingCountOrDie(*store) == 1);
}

TEST_CASE("outbox keys sort by client, then change id, then order number") {
  CHECK(OutboxKey("a", 2, "z") < OutboxKey("a", 10, "a"));
  CHECK(OutboxKey("a", 10, "a") < OutboxKey("a", 10, "b"));
  CHECK(OutboxKey("a", 1u << 20, "a") < OutboxKey("ab", 1, "a"));
  CHECK(OrderKey(1, "z", "z") < OrderKey(2, "a", "a"));
  CHECK(OrderKey(256, "a", "a").starts_with(OrderPrefix(256)));
}

}  // namespace
}  // namespace whistle::gateway
