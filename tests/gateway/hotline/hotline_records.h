// Record builders for the hotline tests: a tiny change feed written by hand.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "agents/gateway/gateway_store.h"
#include "agents/gateway/order_tracker.h"
#include "whistle/event.pb.h"

namespace whistle::gateway::testing {

inline constexpr int64_t kT0 = 1'700'000'000'000;
inline constexpr char kGateway[] = "gateway";  // the gateway's own principal, which submits orders

class Feed {
 public:
  // The next record of `event_id`, with the next sequence number.
  pb::Record& Add(uint64_t event_id) {
    pb::Record& r = records_.emplace_back();
    r.set_seq(++seq_);
    r.set_event_id(event_id);
    r.set_at_ms(kT0 + static_cast<int64_t>(seq_) * 1000);
    return r;
  }
  // A hotline order submitted as a new event (by the hotline), then dispatched at community level.
  void Submit(uint64_t event_id, std::string_view client, std::string_view order_no) {
    pb::Record& submitted = Add(event_id);
    submitted.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    submitted.mutable_actor()->set_principal(kGateway);
    submitted.mutable_submitted()->set_request_id(HotlineRequestId(client, order_no));
    Add(event_id).mutable_dispatched()->set_level(pb::LEVEL_COMMUNITY);
  }
  // A hotline order linked to an open event as a duplicate.
  void Link(uint64_t event_id, std::string_view client, std::string_view order_no) {
    pb::Record& linked = Add(event_id);
    linked.mutable_actor()->set_role(pb::ROLE_HOTLINE);
    linked.mutable_actor()->set_principal(kGateway);
    linked.mutable_report_linked()->mutable_link()->set_request_id(HotlineRequestId(client, order_no));
  }
  void Claim(uint64_t event_id, std::string_view department) {
    Add(event_id).mutable_claimed()->set_department(std::string(department));
  }
  void Release(uint64_t event_id, std::string_view department) {
    Add(event_id).mutable_released()->set_department(std::string(department));
  }
  void Progress(uint64_t event_id) { Add(event_id).mutable_progressed()->set_note("on it"); }
  void Resolve(uint64_t event_id, std::string_view department) {
    Add(event_id).mutable_resolved()->set_department(std::string(department));
  }
  void Close(uint64_t event_id) { Add(event_id).mutable_closed()->set_cause(pb::CLOSE_SATISFIED); }
  void Cancel(uint64_t event_id) { Add(event_id).mutable_cancelled()->set_reason("duplicate"); }

  std::vector<pb::Record>& records() { return records_; }
  uint64_t last_seq() const { return seq_; }

 private:
  uint64_t seq_ = 0;
  std::vector<pb::Record> records_;
};

inline std::unique_ptr<GatewayStore> OpenOrDie(const std::string& path,
                                               const GatewayStoreOptions& options = {}) {
  auto store = GatewayStore::Open(path, options);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store).value();
}

inline std::vector<pb::OrderCallback> PendingOrDie(const GatewayStore& store,
                                                   std::string_view client, size_t max = 1000) {
  auto pending = store.Pending(client, max);
  REQUIRE_MESSAGE(pending.ok(), pending.status().ToString());
  return std::move(pending).value();
}

inline size_t PendingCountOrDie(const GatewayStore& store, std::string_view client = {}) {
  auto n = store.PendingCount(client);
  REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  return *n;
}

}  // namespace whistle::gateway::testing
