// The 12345 hotline's work orders (工单) as JSON: what the hotline posts and what it reads back.
//
// POST /hotline/v1/orders
//   {"order_no": "12345-20261123-0001",            required, 1..64 bytes: the idempotency key
//    "category": "water",                          required: a category (service) code
//    "description": "楼道水管爆裂",
//    "urgency": "normal" | "urgent",               urgent = emergency deadlines (Report.urgent)
//    "location": {"lat": 37.53, "long": 121.39}    one of location / grid / address_id is required
//    "grid": "370602001001-003",
//    "address": "芝罘区幸福路 12 号",
//    "caller": {"name": "王芳", "phone": "138…", "email": "…"},   private: stored, never returned
//    "media_urls": ["http://…"],
//    "attributes": {"kind": "burst", "hazards": ["fire", "fall"]}}
//
// The order view (the answer to POST and to GET /hotline/v1/orders/{order_no}) holds no caller
// details: {"order_no", "event_id", "state", "status" (open/closed), "level", "departments",
// "lead", "linked_as_duplicate", "overdue", "created_at", "claim_by", "resolve_by",
// "resolved_at", "resolved_by", "merged_into"}; times are ISO 8601 in the city's zone.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "dispatcher/city.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"

namespace whistle::gateway {

struct HotlineOrder {
  std::string order_no;
  pb::Report report;  // source HOTLINE, reporter = order_no
};

// Reads a posted order. BAD_REQUEST names the field: bad JSON, a missing or mistyped field, an
// unknown category, a location outside the city, an unknown grid, or answers that do not fit
// the category's attributes.
Result<HotlineOrder> ParseHotlineOrder(std::string_view body, const City& city);

// The order's view (see above). `event` is the dispatcher's event as the gateway read it.
nlohmann::json HotlineOrderView(std::string_view order_no, const pb::Event& event,
                                bool linked_as_duplicate, const City& city);

}  // namespace whistle::gateway
