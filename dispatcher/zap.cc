#include "dispatcher/zap.h"

#include <vector>

#include <fmt/format.h>

namespace whistle {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr int kPollMs = 100;  // how soon the thread notices the destructor

std::string_view View(const zmq::message_t& m) { return {m.data<char>(), m.size()}; }

}  // namespace

Result<std::unique_ptr<ZapHandler>> ZapHandler::Start(zmq::context_t& context,
                                                      std::function<void(bool bus)> on_refused) {
  std::unique_ptr<ZapHandler> handler(new ZapHandler(context));
  handler->on_refused_ = std::move(on_refused);
  try {
    handler->socket_.set(zmq::sockopt::linger, 0);
    handler->socket_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return Unavailable(fmt::format("cannot start the ZAP handler on {}: {}", kZapEndpoint, e.what()));
  }
  handler->thread_ = std::thread([h = handler.get()] { h->Run(); });
  return handler;
}

ZapHandler::ZapHandler(zmq::context_t& context) : socket_(context, zmq::socket_type::rep) {}

ZapHandler::~ZapHandler() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::SetKeys(std::unordered_map<std::string, ZapKey> keys) {
  std::lock_guard lock(mu_);
  keys_ = std::move(keys);
}

ZapHandler::Verdict ZapHandler::Judge(const std::vector<zmq::message_t>& request) {
  // version, request id, domain, address, identity, mechanism, credentials...
  if (request.size() < 6 || View(request[0]) != "1.0") return {"400", "malformed ZAP request", ""};
  const bool bus = View(request[2]) == kBusZapDomain;
  if (!bus && View(request[2]) != kZapDomain) return {"400", "unknown domain", ""};
  if (View(request[5]) != "CURVE" || request.size() != 7 || request[6].size() != 32) {
    return {"400", "CURVE required", "", bus};
  }
  std::lock_guard lock(mu_);
  auto it = keys_.find(std::string(View(request[6])));
  if (it == keys_.end()) return {"400", "unknown or revoked key", "", bus};
  if (bus && !it->second.may_subscribe) {
    return {"400", "this principal may not read the whole log", "", bus};
  }
  return {"200", "OK", it->second.principal, bus};
}

void ZapHandler::Run() {
  while (!stop_.load()) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(kPollMs));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      if (e.num() == ETERM) return;
      throw;
    }
    if (!(item.revents & ZMQ_POLLIN)) continue;
    std::vector<zmq::message_t> request;
    do {
      zmq::message_t frame;
      (void)socket_.recv(frame, zmq::recv_flags::none);
      request.push_back(std::move(frame));
    } while (request.back().more());
    Verdict v = Judge(request);
    if (v.code[0] != '2' && on_refused_) on_refused_(v.bus);
    std::string_view request_id = request.size() > 1 ? View(request[1]) : std::string_view();
    socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(std::string_view(v.code)), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(v.text), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(v.user_id), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer(""), zmq::send_flags::none);  // metadata: none
  }
}

}  // namespace whistle
