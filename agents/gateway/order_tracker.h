// OrderTracker: which changes of a 12345 hotline work order are called back. Pure logic: no I/O,
// no clock, no state of its own; GatewayStore::Apply runs it over the dispatcher's change feed
// and persists what it returns.
//
// A hotline order enters the dispatcher as a Submit with request id "hotline/<client>/<order_no>"
// (HotlineRequestId). The feed then carries that id in Submitted.request_id (a new event) or in
// ReportLinked.link.request_id (the order joined an open event as a duplicate). From then on the
// order follows its event, and every record that changes what the hotline knows about the order
// becomes one pb::OrderCallback per tracked order of the event, with change_id = record.seq (the
// receiver drops a second delivery of (order_no, change_id)):
//
//   record          callback          level / department / note / closure       tracking
//   Submitted*      -                                                            starts
//   ReportLinked*   -                 (level and holder copied from an order already on
//                                     the event)                                 starts
//   Dispatched      -                 level := the dispatch's level              kept
//   Claimed         ORDER_CLAIMED     department = claimant                      holder := it
//   Released        ORDER_RELEASED    department, note = reason                  holder := ""
//   Returned        ORDER_RELEASED    only when the returning department held the claim
//                                     (held_claim: a claimed order given back, 退单; in a record
//                                     older than that field, when it is the order's holder);
//                                     department, note
//   Escalated       ORDER_ESCALATED   level = to_level, note = the cause in words holder := ""
//   MarkedOverdue   ORDER_ESCALATED   level = city, note "overdue at city level: <cause>"
//   Resolved        ORDER_RESOLVED    department, note                           holder := ""
//   Reopened        ORDER_REOPENED    note = reason                              holder := ""
//   Closed          ORDER_CLOSED      closure satisfied / quiet_period           kept (see below)
//   Cancelled       ORDER_CLOSED      closure cancelled, note = reason           stops
//   MergedInto      ORDER_CLOSED      closure merged, merged_into = target       stops
//   anything else   -   (AssistJoined, Progressed, Supervised, FeedbackGiven, Whistled,
//                        DeadlinesReplanned, ModeChanged, a ReportLinked without a hotline id)
//   * with a hotline request id, by the gateway's own principal; any other Submitted /
//     ReportLinked is silent.
//
// Decisions:
// * Merge: the order does NOT follow its event into the target. It is told ORDER_CLOSED with
//   closure "merged" and merged_into = the target, and is no longer tracked; the hotline can ask
//   the gateway about the target event. (The merge's ReportLinked on the target carries no
//   request id, so nothing starts tracking there.)
// * Closed is not terminal in the dispatcher: a CLOSED event accepts Reopen. The order therefore
//   stays tracked after ORDER_CLOSED (satisfied / quiet_period), so a later Reopen is called back
//   as ORDER_REOPENED. Only Cancelled and MergedInto, after which the event accepts nothing, stop
//   tracking.
// * Whistled and an all-returned Returned are followed by an Escalated (or MarkedOverdue) record:
//   that record is the change, called back once.
// * Submitted and ReportLinked are not called back: the gateway answered the Submit itself.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "whistle/event.pb.h"
#include "whistle/gateway.pb.h"

namespace whistle::gateway {

// On the wire: the hotline request id layout is frozen (it is stored in the dispatcher's records).
inline constexpr std::string_view kHotlineRequestPrefix = "hotline/";
inline constexpr size_t kMaxClientNameBytes = 32;
inline constexpr size_t kMaxOrderNoBytes = 64;

// A gateway client's name: [a-z0-9_-], 1..32 characters (GatewayClient.name).
bool IsValidClientName(std::string_view name);
// An order number: 1..64 bytes, anything else goes.
bool IsValidOrderNo(std::string_view order_no);

// "hotline/<client>/<order_no>".
// REQUIRES: IsValidClientName(client) && IsValidOrderNo(order_no).
std::string HotlineRequestId(std::string_view client, std::string_view order_no);

struct HotlineOrderRef {
  std::string client;
  std::string order_no;
  bool operator==(const HotlineOrderRef&) const = default;
};
// The inverse of HotlineRequestId; nullopt for any other request id (the order number is
// everything after the client's '/', so it may itself contain '/').
std::optional<HotlineOrderRef> ParseHotlineRequestId(std::string_view request_id);

// "claimed", "released", "escalated", "resolved", "reopened", "closed"; "" for UNSPECIFIED.
std::string_view OrderStatusName(pb::OrderStatus status);
// The cause of a climb in words, e.g. "nobody claimed it in time at street level".
std::string EscalationCauseText(pb::EscalationCause cause, pb::Level from_level);

// What one record does to the hotline orders of its event.
struct OrderChanges {
  // Orders to write whole (keyed by event, client, order_no): tracking started, or the level or
  // holder changed. An order appears at most once.
  std::vector<pb::TrackedOrder> upserts;
  // Orders no longer tracked (cancelled, merged).
  std::vector<pb::TrackedOrder> stopped;
  // Callbacks to enqueue, one per tracked order the record changes, in `tracked` order.
  std::vector<pb::OrderCallback> callbacks;

  bool empty() const { return upserts.empty() && stopped.empty() && callbacks.empty(); }
};

// The changes `record` makes, given `tracked`: the orders tracked for record.event_id() just
// before it (each (client, order_no) at most once). Only a submission of `hotline_principal`,
// the gateway's own principal, starts an order. Deterministic: the same input gives the same
// output, which is what makes replaying the feed after a crash safe.
OrderChanges TrackOrders(const pb::Record& record, std::span<const pb::TrackedOrder> tracked,
                         std::string_view hotline_principal);

}  // namespace whistle::gateway
