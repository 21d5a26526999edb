#include "agents/gateway/order_tracker.h"

#include <fmt/format.h>

#include <algorithm>

#include "dispatcher/city.h"
#include "whistle/check.h"

namespace whistle::gateway {
namespace {

std::string Level(pb::Level level) { return std::string(LevelName(level)); }

// Builds the callbacks and tracked-order updates of one record.
class ChangeBuilder {
 public:
  ChangeBuilder(const pb::Record& record, std::span<const pb::TrackedOrder> tracked,
                std::string_view hotline_principal)
      : record_(record), tracked_(tracked), hotline_principal_(hotline_principal) {}

  // One callback of `status` for every tracked order; `fill` completes each.
  template <typename Fill>
  void CallbackEach(pb::OrderStatus status, Fill fill) {
    for (const pb::TrackedOrder& order : tracked_) Callback(order, status, fill);
  }

  template <typename Fill>
  void Callback(const pb::TrackedOrder& order, pb::OrderStatus status, Fill fill) {
    pb::OrderCallback& cb = out_.callbacks.emplace_back();
    cb.set_change_id(record_.seq());
    cb.set_client(order.client());
    cb.set_order_no(order.order_no());
    cb.set_event_id(record_.event_id());
    cb.set_status(status);
    cb.set_at_ms(record_.at_ms());
    cb.set_level(order.level());
    fill(cb);
  }

  // Sets the level and holder of every tracked order, upserting those that change.
  void SetAll(std::optional<std::string> level, std::optional<std::string> holder) {
    for (const pb::TrackedOrder& order : tracked_) Set(order, level, holder);
  }

  void Set(const pb::TrackedOrder& order, const std::optional<std::string>& level,
           const std::optional<std::string>& holder) {
    pb::TrackedOrder next = order;
    if (level) next.set_level(*level);
    if (holder) next.set_holder(*holder);
    if (next.level() != order.level() || next.holder() != order.holder()) {
      out_.upserts.push_back(std::move(next));
    }
  }

  void StopAll() {
    for (const pb::TrackedOrder& order : tracked_) out_.stopped.push_back(order);
  }

  // Starts tracking the order of `request_id`, if it is a hotline order not tracked yet. Only the
  // gateway's own submissions are its orders: the dispatcher lets any principal choose its request
  // ids (scoped by principal), and one shaped "hotline/<client>/<order>" would otherwise send that
  // order's callbacks about another event: a grid worker's, or another hotline principal's.
  // (Without keys every request acts as "dev", the gateway's too.)
  void Start(std::string_view request_id) {
    if (hotline_principal_.empty() || record_.actor().principal() != hotline_principal_) return;
    auto ref = ParseHotlineRequestId(request_id);
    if (!ref) return;
    for (const pb::TrackedOrder& order : tracked_) {
      if (order.client() == ref->client && order.order_no() == ref->order_no) return;
    }
    pb::TrackedOrder& order = out_.upserts.emplace_back();
    order.set_client(std::move(ref->client));
    order.set_order_no(std::move(ref->order_no));
    // A new event's level comes with its Dispatched record; an order joining an open event
    // takes the level and holder its siblings last saw (unknown until the next dispatch or claim
    // when it is alone: then a Returned record says itself whether a holder gave it back).
    if (!tracked_.empty()) {
      order.set_level(tracked_.front().level());
      order.set_holder(tracked_.front().holder());
    }
  }

  OrderChanges Take() { return std::move(out_); }

 private:
  const pb::Record& record_;
  std::span<const pb::TrackedOrder> tracked_;
  std::string_view hotline_principal_;
  OrderChanges out_;
};

std::string_view CloseCauseName(pb::CloseCause cause) {
  switch (cause) {
    case pb::CLOSE_SATISFIED:
      return "satisfied";
    case pb::CLOSE_QUIET_PERIOD:
      return "quiet_period";
    default:
      return "closed";
  }
}

}  // namespace

bool IsValidClientName(std::string_view name) {
  if (name.empty() || name.size() > kMaxClientNameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool IsValidOrderNo(std::string_view order_no) {
  return !order_no.empty() && order_no.size() <= kMaxOrderNoBytes;
}

std::string HotlineRequestId(std::string_view client, std::string_view order_no) {
  WHISTLE_CHECK(IsValidClientName(client), "bad hotline client name '%.*s'",
                static_cast<int>(client.size()), client.data());
  WHISTLE_CHECK(IsValidOrderNo(order_no), "bad hotline order number of %zu bytes", order_no.size());
  std::string id;
  id.reserve(kHotlineRequestPrefix.size() + client.size() + 1 + order_no.size());
  id.append(kHotlineRequestPrefix).append(client).append(1, '/').append(order_no);
  return id;
}

std::optional<HotlineOrderRef> ParseHotlineRequestId(std::string_view request_id) {
  if (!request_id.starts_with(kHotlineRequestPrefix)) return std::nullopt;
  std::string_view rest = request_id.substr(kHotlineRequestPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view client = rest.substr(0, slash);
  std::string_view order_no = rest.substr(slash + 1);
  if (!IsValidClientName(client) || !IsValidOrderNo(order_no)) return std::nullopt;
  return HotlineOrderRef{std::string(client), std::string(order_no)};
}

std::string_view OrderStatusName(pb::OrderStatus status) {
  switch (status) {
    case pb::ORDER_CLAIMED:
      return "claimed";
    case pb::ORDER_RELEASED:
      return "released";
    case pb::ORDER_ESCALATED:
      return "escalated";
    case pb::ORDER_RESOLVED:
      return "resolved";
    case pb::ORDER_REOPENED:
      return "reopened";
    case pb::ORDER_CLOSED:
      return "closed";
    default:
      return "";
  }
}

std::string EscalationCauseText(pb::EscalationCause cause, pb::Level from_level) {
  const std::string_view level = LevelName(from_level);
  switch (cause) {
    case pb::ESCALATION_CLAIM_DEADLINE:
      return fmt::format("nobody claimed it in time at {} level", level);
    case pb::ESCALATION_RESOLVE_DEADLINE:
      return fmt::format("not resolved in time at {} level", level);
    case pb::ESCALATION_WHISTLE:
      return fmt::format("the handling department at {} level blew the whistle", level);
    case pb::ESCALATION_ALL_RETURNED:
      return fmt::format("every department at {} level returned it", level);
    default:
      return fmt::format("escalated from {} level", level);
  }
}

OrderChanges TrackOrders(const pb::Record& record, std::span<const pb::TrackedOrder> tracked,
                         std::string_view hotline_principal) {
  ChangeBuilder b(record, tracked, hotline_principal);
  const std::optional<std::string> keep;  // leave the level or holder as it is
  const std::optional<std::string> no_holder = std::string();
  switch (record.body_case()) {
    case pb::Record::kSubmitted:
      b.Start(record.submitted().request_id());
      break;
    case pb::Record::kReportLinked:
      b.Start(record.report_linked().link().request_id());
      break;
    case pb::Record::kDispatched:
      b.SetAll(Level(record.dispatched().level()), keep);
      break;
    case pb::Record::kClaimed: {
      const pb::Claimed& c = record.claimed();
      b.CallbackEach(pb::ORDER_CLAIMED,
                     [&](pb::OrderCallback& cb) { cb.set_department(c.department()); });
      b.SetAll(keep, c.department());
      break;
    }
    case pb::Record::kReleased: {
      const pb::Released& r = record.released();
      b.CallbackEach(pb::ORDER_RELEASED, [&](pb::OrderCallback& cb) {
        cb.set_department(r.department());
        cb.set_note(r.reason());
      });
      b.SetAll(keep, no_holder);
      break;
    }
    case pb::Record::kReturned: {
      // A candidate declining an offered order changes nothing the hotline was told; the holder
      // of the claim giving it back is a release.
      const pb::Returned& r = record.returned();
      for (const pb::TrackedOrder& order : tracked) {
        // held_claim is the truth; a record written before it existed is judged by the holder
        // this order saw claim it.
        const bool held = r.held_claim() || (!order.holder().empty() && order.holder() == r.department());
        if (!held) continue;
        b.Callback(order, pb::ORDER_RELEASED, [&](pb::OrderCallback& cb) {
          cb.set_department(r.department());
          cb.set_note(fmt::format("returned: {}", r.reason()));
        });
        b.Set(order, keep, no_holder);
      }
      break;
    }
    case pb::Record::kEscalated: {
      const pb::Escalated& e = record.escalated();
      const std::string to = Level(e.to_level());
      b.CallbackEach(pb::ORDER_ESCALATED, [&](pb::OrderCallback& cb) {
        cb.set_level(to);
        cb.set_note(EscalationCauseText(e.cause(), e.from_level()));
      });
      b.SetAll(to, no_holder);
      break;
    }
    case pb::Record::kMarkedOverdue: {
      // At city level the event stays where it is (claimed or not), flagged overdue.
      const pb::MarkedOverdue& m = record.marked_overdue();
      const std::string city = Level(pb::LEVEL_CITY);
      b.CallbackEach(pb::ORDER_ESCALATED, [&](pb::OrderCallback& cb) {
        cb.set_level(city);
        cb.set_note(fmt::format("overdue at city level: {}",
                                EscalationCauseText(m.cause(), pb::LEVEL_CITY)));
      });
      b.SetAll(city, keep);
      break;
    }
    case pb::Record::kResolved: {
      const pb::Resolved& r = record.resolved();
      b.CallbackEach(pb::ORDER_RESOLVED, [&](pb::OrderCallback& cb) {
        cb.set_department(r.department());
        cb.set_note(r.note());
      });
      b.SetAll(keep, no_holder);
      break;
    }
    case pb::Record::kReopened:
      b.CallbackEach(pb::ORDER_REOPENED,
                     [&](pb::OrderCallback& cb) { cb.set_note(record.reopened().reason()); });
      b.SetAll(keep, no_holder);
      break;
    case pb::Record::kClosed:
      b.CallbackEach(pb::ORDER_CLOSED, [&](pb::OrderCallback& cb) {
        cb.set_closure(std::string(CloseCauseName(record.closed().cause())));
      });
      b.SetAll(keep, no_holder);
      break;
    case pb::Record::kCancelled:
      b.CallbackEach(pb::ORDER_CLOSED, [&](pb::OrderCallback& cb) {
        cb.set_closure("cancelled");
        cb.set_note(record.cancelled().reason());
      });
      b.StopAll();
      break;
    case pb::Record::kMergedInto:
      b.CallbackEach(pb::ORDER_CLOSED, [&](pb::OrderCallback& cb) {
        cb.set_closure("merged");
        cb.set_merged_into(record.merged_into().into_event_id());
      });
      b.StopAll();
      break;
    default:
      // AssistJoined, Progressed, Supervised, FeedbackGiven, Whistled, DeadlinesReplanned,
      // ModeChanged and any record type added later: not a status change of the order.
      break;
  }
  return b.Take();
}

}  // namespace whistle::gateway
