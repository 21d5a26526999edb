#include "dispatcher/server.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "dispatcher/lifecycle.h"
#include "dispatcher/privacy.h"

namespace whistle {
namespace {

// ZMQ_MAXMSGSIZE only drops the connection, silently: it is the backstop behind our own limit.
constexpr int64_t kMaxMessageBytesBackstop = 1 << 20;
constexpr int kMaxWaitMs = 100;

struct Pending {
  zmq::message_t identity;
  Command command;
};

void SendReply(zmq::socket_t& front, const zmq::message_t& identity, const pb::Response& r) {
  std::string bytes = r.SerializeAsString();
  // ROUTER_MANDATORY: a peer that left makes send fail with EHOSTUNREACH; its answer is lost
  // with it, and a retry with the same request id gets it again.
  try {
    front.send(zmq::buffer(identity.data(), identity.size()), zmq::send_flags::sndmore);
    front.send(zmq::buffer(bytes), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH) throw;
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(zmq::context_t& context, Engine& engine,
                                              ServerOptions options) {
  std::unique_ptr<Server> server(new Server(context, engine, std::move(options)));
  try {
    server->front_.set(zmq::sockopt::router_mandatory, 1);
    server->front_.set(zmq::sockopt::maxmsgsize, kMaxMessageBytesBackstop);
    server->front_.set(zmq::sockopt::linger, 0);
    server->front_.bind(server->options_.front_endpoint);
    server->front_endpoint_ = server->front_.get(zmq::sockopt::last_endpoint);
    server->bus_.set(zmq::sockopt::linger, 0);
    server->bus_.bind(server->options_.bus_endpoint);
    server->bus_endpoint_ = server->bus_.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t& e) {
    return Unavailable(fmt::format("cannot bind {} / {}: {}", server->options_.front_endpoint,
                                   server->options_.bus_endpoint, e.what()));
  }
  return server;
}

Server::Server(zmq::context_t& context, Engine& engine, ServerOptions options)
    : engine_(engine),
      options_(std::move(options)),
      front_(context, zmq::socket_type::router),
      bus_(context, zmq::socket_type::pub) {}

Status Server::Run() {
  while (!stop_.load() && engine_.health().ok()) Turn();
  return engine_.health();
}

void Server::Turn() {
  // Sleep until a request arrives or the next timer is due, but never long: Stop() is polled.
  int wait_ms = kMaxWaitMs;
  if (auto next = engine_.NextTimerDue()) {
    int64_t until = *next - SystemClock().NowMs();
    wait_ms = static_cast<int>(std::clamp<int64_t>(until, 0, kMaxWaitMs));
  }
  zmq::pollitem_t items[] = {{front_.handle(), 0, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 1, std::chrono::milliseconds(wait_ms));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    return;  // a signal: look at stop_ again
  }

  std::vector<Pending> batch;
  size_t drained = 0;
  while (drained < options_.busy_window + options_.max_batch) {
    std::vector<zmq::message_t> frames;
    zmq::message_t frame;
    if (!front_.recv(frame, zmq::recv_flags::dontwait)) break;
    frames.push_back(std::move(frame));
    while (frames.back().more()) {
      zmq::message_t part;
      (void)front_.recv(part, zmq::recv_flags::none);
      frames.push_back(std::move(part));
    }
    ++drained;
    if (frames.size() != 2) {
      // [identity, payload] is the only shape; answer what we can and drop the rest.
      if (frames.size() > 2) {
        SendReply(front_, frames[0], ErrorResponse(BadRequest(fmt::format(
                                         "a request is one frame, got {}", frames.size() - 1))));
      }
      continue;
    }
    const zmq::message_t& payload = frames[1];
    if (payload.size() > options_.max_request_bytes) {
      SendReply(front_, frames[0],
                ErrorResponse({pb::STATUS_TOO_LARGE,
                               fmt::format("request is {} bytes; the limit is {}", payload.size(),
                                           options_.max_request_bytes)}));
      continue;
    }
    Pending p{std::move(frames[0]), {}};
    if (!p.command.request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      SendReply(front_, p.identity, ErrorResponse(BadRequest("the request is not a whistle.pb.Request")));
      continue;
    }
    if (batch.size() >= options_.max_batch && p.command.request.has_submit()) {
      SendReply(front_, p.identity,
                ErrorResponse({pb::STATUS_BUSY, "the dispatcher is busy: retry with the same request id"},
                              p.command.request.correlation_id()));
      continue;
    }
    p.command.actor.set_role(pb::ROLE_ADMIN);
    p.command.actor.set_principal(options_.dev_principal);
    batch.push_back(std::move(p));
  }
  if (batch.empty() && !engine_.HasDueTimers()) return;

  std::vector<Command> commands;
  commands.reserve(batch.size());
  for (auto& p : batch) commands.push_back(std::move(p.command));
  std::vector<pb::Response> replies = engine_.Process(commands);  // one synced write
  for (size_t i = 0; i < replies.size(); ++i) SendReply(front_, batch[i].identity, replies[i]);
  Publish();
}

void Server::Publish() {
  const EngineState& state = engine_.state();
  for (const pb::Record& record : engine_.committed_records()) {
    pb::Notification n;
    *n.mutable_record() = record;
    if (n.record().has_submitted()) {  // personal data is stored, never published
      StripPersonalData(n.mutable_record()->mutable_submitted()->mutable_report());
    }
    std::vector<std::string> topics = {"all"};
    if (record.event_id() != 0) {
      topics.push_back(fmt::format("e/{}", record.event_id()));
      auto e = state.FindEvent(record.event_id());
      if (e.ok() && *e != nullptr) {
        n.set_state((*e)->state());
        n.set_level((*e)->level());
        n.set_grid((*e)->grid());
        for (auto d : InvolvedDepartments(**e)) {
          n.add_departments(std::string(d));
          topics.push_back(fmt::format("d/{}", d));
        }
        if (engine_.city().FindRegion((*e)->grid()) != nullptr) {
          for (const pb::Region* r : engine_.city().Ancestry((*e)->grid())) {
            topics.push_back(fmt::format("r/{}", r->code()));
          }
        }
      }
    }
    std::string bytes = n.SerializeAsString();
    for (const auto& topic : topics) {
      bus_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      bus_.send(zmq::buffer(bytes), zmq::send_flags::none);
    }
  }
}

}  // namespace whistle
