#include "agents/gateway/order_tracker.h"

#include <doctest/doctest.h>

#include <functional>

namespace whistle::gateway {
namespace {

constexpr uint64_t kEvent = 42;
constexpr char kGateway[] = "gateway";  // the gateway's own principal

pb::Record Rec(uint64_t seq, const std::function<void(pb::Record&)>& body) {
  pb::Record r;
  r.set_seq(seq);
  r.set_event_id(kEvent);
  r.set_at_ms(1'700'000'000'000 + static_cast<int64_t>(seq));
  r.mutable_actor()->set_principal(kGateway);
  body(r);
  return r;
}

pb::TrackedOrder Order(std::string order_no, std::string level = "street",
                       std::string holder = "") {
  pb::TrackedOrder o;
  o.set_client("hotline");
  o.set_order_no(std::move(order_no));
  o.set_level(std::move(level));
  o.set_holder(std::move(holder));
  return o;
}

// The single callback `record` makes for one tracked order.
pb::OrderCallback OnlyCallback(const pb::Record& record, const pb::TrackedOrder& order) {
  OrderChanges c = TrackOrders(record, std::span(&order, 1), kGateway);
  REQUIRE(c.callbacks.size() == 1);
  const pb::OrderCallback& cb = c.callbacks[0];
  CHECK(cb.change_id() == record.seq());
  CHECK(cb.event_id() == kEvent);
  CHECK(cb.order_no() == order.order_no());
  CHECK(cb.client() == order.client());
  CHECK(cb.at_ms() == record.at_ms());
  return cb;
}

TEST_CASE("hotline request ids round-trip, order numbers may contain slashes") {
  CHECK(HotlineRequestId("hl-1", "2024/06/000123") == "hotline/hl-1/2024/06/000123");
  auto ref = ParseHotlineRequestId("hotline/hl-1/2024/06/000123");
  REQUIRE(ref.has_value());
  CHECK(*ref == HotlineOrderRef{"hl-1", "2024/06/000123"});
  const std::string binary("a\0b\n", 4);
  CHECK(ParseHotlineRequestId(HotlineRequestId("x", binary))->order_no == binary);
}

TEST_CASE("other request ids are not hotline orders") {
  for (std::string_view id :
       {"", "hotline/", "hotline/x", "hotline/x/", "hotline//7", "hotline/Upper/7", "open311/x/7",
        "Hotline/x/7", "0123456789abcdef"}) {
    CAPTURE(id);
    CHECK_FALSE(ParseHotlineRequestId(id).has_value());
  }
  CHECK_FALSE(ParseHotlineRequestId("hotline/x/" + std::string(kMaxOrderNoBytes + 1, '7')));
  CHECK(ParseHotlineRequestId("hotline/x/" + std::string(kMaxOrderNoBytes, '7')));
  CHECK_FALSE(ParseHotlineRequestId("hotline/" + std::string(kMaxClientNameBytes + 1, 'c') + "/7"));
}

TEST_CASE("a submitted hotline order starts being tracked without a callback") {
  auto r = Rec(5, [](pb::Record& x) {
    x.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    x.mutable_submitted()->set_request_id(HotlineRequestId("hotline", "A1"));
  });
  OrderChanges c = TrackOrders(r, {}, kGateway);
  CHECK(c.callbacks.empty());
  CHECK(c.stopped.empty());
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].client() == "hotline");
  CHECK(c.upserts[0].order_no() == "A1");
  CHECK(c.upserts[0].level().empty());
}

TEST_CASE("submissions from elsewhere are not tracked") {
  auto r = Rec(5, [](pb::Record& x) {
    x.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    x.mutable_submitted()->set_request_id("open311/app/17");
    x.mutable_submitted()->mutable_report()->set_source(pb::SOURCE_OPEN311);
  });
  CHECK(TrackOrders(r, {}, kGateway).empty());
}

TEST_CASE("a hotline-shaped request id from anyone but the gateway is not an order") {
  // Any principal may choose its request ids: a grid worker's app, or another principal of role
  // hotline, naming a real order must not send that order's callbacks about its own event.
  const pb::TrackedOrder first = Order("A1");
  for (pb::Role role : {pb::ROLE_REPORTER, pb::ROLE_AGENT, pb::ROLE_HOTLINE, pb::ROLE_SUPERVISOR, pb::ROLE_ADMIN,
                        pb::ROLE_CONSOLE, pb::ROLE_DEV, pb::ROLE_UNSPECIFIED}) {
    CAPTURE(role);
    auto submitted = Rec(5, [role](pb::Record& x) {
      x.mutable_actor()->set_role(role);
      x.mutable_actor()->set_principal("hotline-12345");
      x.mutable_submitted()->set_request_id(HotlineRequestId("hotline", "A1"));
    });
    CHECK(TrackOrders(submitted, {}, kGateway).empty());
    auto linked = Rec(9, [role](pb::Record& x) {
      x.mutable_actor()->set_role(role);
      x.mutable_actor()->set_principal("hotline-12345");
      x.mutable_report_linked()->mutable_link()->set_request_id(HotlineRequestId("hotline", "B2"));
    });
    CHECK(TrackOrders(linked, std::span(&first, 1), kGateway).empty());
  }
  // Without keys every request is the developer's, the gateway's own too.
  auto dev = Rec(5, [](pb::Record& x) {
    x.mutable_actor()->set_role(pb::ROLE_DEV);
    x.mutable_actor()->set_principal("dev");
    x.mutable_submitted()->set_request_id(HotlineRequestId("hotline", "A1"));
  });
  CHECK(TrackOrders(dev, {}, "dev").upserts.size() == 1);
  // Not knowing itself yet, the gateway starts nothing.
  CHECK(TrackOrders(dev, {}, "").empty());
}

TEST_CASE("a hotline order linked to an open event is tracked with its siblings' level") {
  const pb::TrackedOrder first = Order("A1", "county");
  auto r = Rec(9, [](pb::Record& x) {
    x.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    x.mutable_report_linked()->mutable_link()->set_request_id(HotlineRequestId("hotline", "B2"));
  });
  OrderChanges c = TrackOrders(r, std::span(&first, 1), kGateway);
  CHECK(c.callbacks.empty());
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].order_no() == "B2");
  CHECK(c.upserts[0].level() == "county");
  CHECK(c.upserts[0].holder().empty());
}

TEST_CASE("a hotline order linked to a claimed event takes its siblings' holder, and hears the return") {
  const pb::TrackedOrder first = Order("A1", "community", "water");
  auto linked = Rec(9, [](pb::Record& x) {
    x.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    x.mutable_report_linked()->mutable_link()->set_request_id(HotlineRequestId("hotline", "B2"));
  });
  OrderChanges c = TrackOrders(linked, std::span(&first, 1), kGateway);
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].holder() == "water");
  // A return written before Returned.held_claim existed: judged by the holder the order knows.
  auto returned = Rec(10, [](pb::Record& x) {
    x.mutable_returned()->set_department("water");
    x.mutable_returned()->set_reason("wrong district");
  });
  CHECK(OnlyCallback(returned, c.upserts[0]).status() == pb::ORDER_RELEASED);
}

TEST_CASE("an order alone on an event claimed before it came hears the holder's return") {
  // The event was reported through Open311 and claimed; the hotline order joined it after: the
  // gateway never saw the claim, and only the record can say that a holder gave it back.
  const pb::TrackedOrder alone = Order("B2", "");
  auto returned = Rec(10, [](pb::Record& x) {
    x.mutable_returned()->set_department("water");
    x.mutable_returned()->set_reason("wrong district");
    x.mutable_returned()->set_held_claim(true);
  });
  pb::OrderCallback cb = OnlyCallback(returned, alone);
  CHECK(cb.status() == pb::ORDER_RELEASED);
  CHECK(cb.department() == "water");
  CHECK(cb.note() == "returned: wrong district");
}

TEST_CASE("an order already tracked is not started twice") {
  const pb::TrackedOrder first = Order("A1");
  auto r = Rec(9, [](pb::Record& x) {
    x.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    x.mutable_report_linked()->mutable_link()->set_request_id(HotlineRequestId("hotline", "A1"));
  });
  CHECK(TrackOrders(r, std::span(&first, 1), kGateway).empty());
}

TEST_CASE("the report linked to the target of a merge starts nothing") {
  const pb::TrackedOrder first = Order("A1");
  auto r = Rec(9, [](pb::Record& x) {
    x.mutable_report_linked()->mutable_link()->set_event_id(7);
    x.mutable_report_linked()->mutable_link()->set_reporter("A9");
  });
  CHECK(TrackOrders(r, std::span(&first, 1), kGateway).empty());
}

TEST_CASE("a dispatch updates the tracked level without a callback") {
  const pb::TrackedOrder o = Order("A1", "");
  auto r = Rec(6, [](pb::Record& x) { x.mutable_dispatched()->set_level(pb::LEVEL_COMMUNITY); });
  OrderChanges c = TrackOrders(r, std::span(&o, 1), kGateway);
  CHECK(c.callbacks.empty());
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].level() == "community");
  // A dispatch at the level already known changes nothing.
  const pb::TrackedOrder same = Order("A1", "community");
  CHECK(TrackOrders(r, std::span(&same, 1), kGateway).empty());
}

TEST_CASE("a claim is called back with the department, which becomes the holder") {
  const pb::TrackedOrder o = Order("A1", "street");
  auto r = Rec(7, [](pb::Record& x) {
    x.mutable_claimed()->set_department("water");
    x.mutable_claimed()->set_claim_number(3);
  });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_CLAIMED);
  CHECK(cb.department() == "water");
  CHECK(cb.level() == "street");
  OrderChanges c = TrackOrders(r, std::span(&o, 1), kGateway);
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].holder() == "water");
}

TEST_CASE("a release is called back with its reason") {
  const pb::TrackedOrder o = Order("A1", "street", "water");
  auto r = Rec(8, [](pb::Record& x) {
    x.mutable_released()->set_department("water");
    x.mutable_released()->set_reason("not ours");
  });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_RELEASED);
  CHECK(cb.department() == "water");
  CHECK(cb.note() == "not ours");
  OrderChanges c = TrackOrders(r, std::span(&o, 1), kGateway);
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].holder().empty());
}

TEST_CASE("a return by the claim's holder is called back as a release") {
  const pb::TrackedOrder o = Order("A1", "street", "water");
  auto r = Rec(8, [](pb::Record& x) {
    x.mutable_returned()->set_department("water");
    x.mutable_returned()->set_reason("wrong district");
  });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_RELEASED);
  CHECK(cb.department() == "water");
  CHECK(cb.note() == "returned: wrong district");
}

TEST_CASE("a return by a candidate that never claimed it is silent") {
  const pb::TrackedOrder o = Order("A1", "street");
  auto r = Rec(8, [](pb::Record& x) {
    x.mutable_returned()->set_department("roads");
    x.mutable_returned()->set_reason("not ours");
  });
  CHECK(TrackOrders(r, std::span(&o, 1), kGateway).empty());
}

TEST_CASE("an escalation is called back with the new level and its cause in words") {
  const pb::TrackedOrder o = Order("A1", "street", "water");
  auto r = Rec(10, [](pb::Record& x) {
    x.mutable_escalated()->set_from_level(pb::LEVEL_STREET);
    x.mutable_escalated()->set_to_level(pb::LEVEL_COUNTY);
    x.mutable_escalated()->set_cause(pb::ESCALATION_RESOLVE_DEADLINE);
    x.mutable_escalated()->set_holder("water");
  });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_ESCALATED);
  CHECK(cb.level() == "county");
  CHECK(cb.note() == "not resolved in time at street level");
  OrderChanges c = TrackOrders(r, std::span(&o, 1), kGateway);
  REQUIRE(c.upserts.size() == 1);
  CHECK(c.upserts[0].level() == "county");
  CHECK(c.upserts[0].holder().empty());
}

TEST_CASE("every escalation cause has words") {
  CHECK(EscalationCauseText(pb::ESCALATION_CLAIM_DEADLINE, pb::LEVEL_COMMUNITY) ==
        "nobody claimed it in time at community level");
  CHECK(EscalationCauseText(pb::ESCALATION_WHISTLE, pb::LEVEL_STREET) ==
        "the handling department at street level blew the whistle");
  CHECK(EscalationCauseText(pb::ESCALATION_ALL_RETURNED, pb::LEVEL_COUNTY) ==
        "every department at county level returned it");
}

TEST_CASE("overdue at city level is called back as an escalation that stays at city level") {
  const pb::TrackedOrder o = Order("A1", "city", "water");
  auto r = Rec(11, [](pb::Record& x) {
    x.mutable_marked_overdue()->set_cause(pb::ESCALATION_CLAIM_DEADLINE);
  });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_ESCALATED);
  CHECK(cb.level() == "city");
  CHECK(cb.note() == "overdue at city level: nobody claimed it in time at city level");
  // The event stays claimed: the holder is kept.
  CHECK(TrackOrders(r, std::span(&o, 1), kGateway).upserts.empty());
}

TEST_CASE("a resolution is called back with the department and its note") {
  const pb::TrackedOrder o = Order("A1", "street", "water");
  auto r = Rec(12, [](pb::Record& x) {
    x.mutable_resolved()->set_department("water");
    x.mutable_resolved()->set_note("pipe fixed");
  });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_RESOLVED);
  CHECK(cb.department() == "water");
  CHECK(cb.note() == "pipe fixed");
}

TEST_CASE("a reopen is called back with its reason") {
  const pb::TrackedOrder o = Order("A1");
  auto r = Rec(13, [](pb::Record& x) { x.mutable_reopened()->set_reason("unsatisfied feedback"); });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_REOPENED);
  CHECK(cb.note() == "unsatisfied feedback");
}

TEST_CASE("closing is called back with its cause and the order stays tracked for a reopen") {
  const pb::TrackedOrder o = Order("A1");
  auto satisfied =
      Rec(14, [](pb::Record& x) { x.mutable_closed()->set_cause(pb::CLOSE_SATISFIED); });
  pb::OrderCallback cb = OnlyCallback(satisfied, o);
  CHECK(cb.status() == pb::ORDER_CLOSED);
  CHECK(cb.closure() == "satisfied");
  CHECK(TrackOrders(satisfied, std::span(&o, 1), kGateway).stopped.empty());

  auto quiet =
      Rec(15, [](pb::Record& x) { x.mutable_closed()->set_cause(pb::CLOSE_QUIET_PERIOD); });
  CHECK(OnlyCallback(quiet, o).closure() == "quiet_period");
}

TEST_CASE("a cancellation closes the order with its reason and stops tracking it") {
  const pb::TrackedOrder o = Order("A1");
  auto r = Rec(16, [](pb::Record& x) { x.mutable_cancelled()->set_reason("reported by mistake"); });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_CLOSED);
  CHECK(cb.closure() == "cancelled");
  CHECK(cb.note() == "reported by mistake");
  OrderChanges c = TrackOrders(r, std::span(&o, 1), kGateway);
  REQUIRE(c.stopped.size() == 1);
  CHECK(c.stopped[0].order_no() == "A1");
}

TEST_CASE("a merge closes the order naming the target and stops tracking it") {
  const pb::TrackedOrder o = Order("A1");
  auto r = Rec(17, [](pb::Record& x) { x.mutable_merged_into()->set_into_event_id(40); });
  pb::OrderCallback cb = OnlyCallback(r, o);
  CHECK(cb.status() == pb::ORDER_CLOSED);
  CHECK(cb.closure() == "merged");
  CHECK(cb.merged_into() == 40);
  CHECK(TrackOrders(r, std::span(&o, 1), kGateway).stopped.size() == 1);
}

TEST_CASE("records that change no order's status are silent") {
  const pb::TrackedOrder o = Order("A1", "street", "water");
  std::vector<pb::Record> silent = {
      Rec(1, [](pb::Record& x) { x.mutable_assist_joined()->set_department("roads"); }),
      Rec(2, [](pb::Record& x) { x.mutable_progressed()->set_note("on site"); }),
      Rec(3, [](pb::Record& x) { x.mutable_supervised()->set_note("watch this"); }),
      Rec(4, [](pb::Record& x) { x.mutable_feedback_given()->mutable_feedback()->set_score(5); }),
      Rec(5, [](pb::Record& x) { x.mutable_whistled()->set_department("water"); }),
      Rec(6, [](pb::Record& x) { x.mutable_deadlines_replanned()->set_claim_deadline_ms(1); }),
      Rec(7, [](pb::Record& x) { x.mutable_mode_changed()->set_region("r1"); }),
      Rec(8, [](pb::Record&) {}),  // no body
  };
  for (const pb::Record& r : silent) {
    CAPTURE(r.DebugString());
    CHECK(TrackOrders(r, std::span(&o, 1), kGateway).empty());
  }
}

TEST_CASE("one record calls back every order on the event with the same change id") {
  const std::vector<pb::TrackedOrder> orders = {Order("A1"), Order("B2")};
  auto r = Rec(20, [](pb::Record& x) { x.mutable_claimed()->set_department("water"); });
  OrderChanges c = TrackOrders(r, orders, kGateway);
  REQUIRE(c.callbacks.size() == 2);
  CHECK(c.callbacks[0].order_no() == "A1");
  CHECK(c.callbacks[1].order_no() == "B2");
  CHECK(c.callbacks[0].change_id() == 20);
  CHECK(c.callbacks[1].change_id() == 20);
  CHECK(c.upserts.size() == 2);
}

TEST_CASE("status names are the wire's") {
  CHECK(OrderStatusName(pb::ORDER_CLAIMED) == "claimed");
  CHECK(OrderStatusName(pb::ORDER_RELEASED) == "released");
  CHECK(OrderStatusName(pb::ORDER_ESCALATED) == "escalated");
  CHECK(OrderStatusName(pb::ORDER_RESOLVED) == "resolved");
  CHECK(OrderStatusName(pb::ORDER_REOPENED) == "reopened");
  CHECK(OrderStatusName(pb::ORDER_CLOSED) == "closed");
}

}  // namespace
}  // namespace whistle::gateway
