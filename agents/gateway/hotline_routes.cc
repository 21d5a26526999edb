// The 12345 hotline's work orders: POST /hotline/v1/orders and GET /hotline/v1/orders/{order_no}.
// The hotline authenticates with its API key (X-Api-Key or Authorization: Bearer); the order
// number is the idempotency key, so posting an order again gives the first answer and creates
// nothing.
#include <fmt/format.h>
#include <httplib.h>

#include "agents/gateway/gateway.h"
#include "agents/gateway/hotline_order.h"
#include "agents/gateway/order_tracker.h"
#include "agents/gateway/responses.h"

namespace whistle::gateway {
namespace {

// The hotline client the request authenticates as, or an error already written.
const pb::GatewayClient* RequireHotline(const httplib::Request& req, httplib::Response& res,
                                        const pb::GatewayClient* client) {
  bool has_key = req.has_header("X-Api-Key") || req.has_header("Authorization") || req.has_param("api_key");
  if (client == nullptr) {
    WriteError(req, res, has_key ? 403 : 401, has_key ? "the API key is not valid" : "an API key is required");
    return nullptr;
  }
  if (client->kind() != pb::GatewayClient::KIND_HOTLINE) {
    WriteError(req, res, 403, fmt::format("client '{}' is not a hotline", client->name()));
    return nullptr;
  }
  return client;
}

}  // namespace

void Gateway::HotlinePostOrder(const httplib::Request& req, httplib::Response& res) {
  const pb::GatewayClient* client = RequireHotline(req, res, Authenticate(req));
  if (client == nullptr) return;
  auto order = ParseHotlineOrder(req.body, *city_);
  if (!order.ok()) return WriteStatus(req, res, order.status());
  pb::Request request;
  request.set_request_id(HotlineRequestId(client->name(), order->order_no));
  *request.mutable_submit()->mutable_report() = order->report;
  auto answer = ExpectOk(Call(std::move(request)));
  if (!answer.ok() && answer.status().code() == pb::STATUS_IDEMPOTENCY_MISMATCH) {
    return WriteError(req, res, 409,
                      fmt::format("order '{}' was already posted with different contents", order->order_no));
  }
  if (!answer.ok()) return WriteStatus(req, res, answer.status());
  const pb::EventView& view = answer->event();
  WriteJson(res, 201, HotlineOrderView(order->order_no, view.event(), view.linked_as_duplicate(), *city_));
}

void Gateway::HotlineGetOrder(const httplib::Request& req, httplib::Response& res) {
  const pb::GatewayClient* client = RequireHotline(req, res, Authenticate(req));
  if (client == nullptr) return;
  std::string order_no = req.matches[1];
  if (!IsValidOrderNo(order_no)) return WriteError(req, res, 400, "not an order number");
  pb::Request request;
  request.mutable_get()->set_submit_request_id(HotlineRequestId(client->name(), order_no));
  auto answer = ExpectOk(Call(std::move(request)));
  if (!answer.ok() && answer.status().code() == pb::STATUS_NOT_FOUND) {
    return WriteError(req, res, 404, fmt::format("no order '{}'", order_no));
  }
  if (!answer.ok()) return WriteStatus(req, res, answer.status());
  const pb::Event& e = answer->event().event();
  // The order joined another report's event when its event was created for someone else.
  bool linked = e.report().reporter() != order_no || e.report().source() != pb::SOURCE_HOTLINE;
  WriteJson(res, 200, HotlineOrderView(order_no, e, linked, *city_));
}

}  // namespace whistle::gateway
