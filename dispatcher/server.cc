#include "dispatcher/server.h"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dispatcher/authorization.h"
#include "dispatcher/lifecycle.h"
#include "dispatcher/privacy.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/request_peek.h"
#include "whistle/check.h"

namespace whistle {
namespace {

// ZMQ_MAXMSGSIZE only drops the connection, silently: it is the backstop behind our own limit.
constexpr int64_t kMaxMessageBytesBackstop = 1 << 20;
constexpr int kMaxWaitMs = 100;
constexpr int64_t kMaxSubscriptionBytes = 1024;

struct Pending {
  zmq::message_t identity;
  Command command;
  std::chrono::steady_clock::time_point read_at;
  std::optional<std::chrono::steady_clock::time_point> held_until;  // a held read decided again
};

pb::Actor ActorFor(const pb::Principal& p) {
  pb::Actor actor;
  actor.set_role(p.role());
  actor.set_principal(p.name());
  if (p.departments_size() == 1) actor.set_department(p.departments(0));  // for the record
  actor.set_region(p.region());
  return actor;
}

// Connections open on a socket, from its monitor's events (accepted less disconnected); each
// event is also given to `seen` with its descriptor.
void CountConnectionEvents(zmq::socket_t& monitor, int64_t* open,
                           const std::function<void(uint16_t event, int fd)>& seen) {
  while (true) {
    zmq::message_t event, endpoint;
    if (!monitor.recv(event, zmq::recv_flags::dontwait)) return;
    // The parts of a message arrive together: the second is there already.
    if (event.more()) (void)monitor.recv(endpoint, zmq::recv_flags::dontwait);
    // An event's first part is 6 bytes (id, value); anything else is the endpoint part of an
    // event whose first part a signal interrupted (Run).
    if (event.size() != 6) continue;
    uint16_t id;
    int32_t fd;
    std::memcpy(&id, event.data(), sizeof(id));
    std::memcpy(&fd, static_cast<const char*>(event.data()) + sizeof(id), sizeof(fd));
    if (id == ZMQ_EVENT_ACCEPTED) ++*open;
    if (id == ZMQ_EVENT_DISCONNECTED && *open > 0) --*open;
    seen(id, fd);
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(zmq::context_t& context, Engine& engine,
                                              ServerOptions options) {
  std::unique_ptr<Server> server(new Server(context, engine, std::move(options)));
  const ServerOptions& o = server->options_;
  if (o.server_key) {
    if (!zmq_has("curve")) return Unavailable("this libzmq has no CURVE support");
    // A revoked principal's bus connection is cut by its TCP descriptor (bus_peers.h).
    if (!o.bus_endpoint.starts_with("tcp://")) {
      return BadRequest(fmt::format("bus endpoint '{}': with keys the bus must be tcp://", o.bus_endpoint));
    }
    auto zap = ZapHandler::Start(context, [m = &server->metrics_](bool bus) {
      m->CountHandshakeRefused(bus);
    });
    if (!zap.ok()) return zap.status();
    server->zap_ = std::move(zap).value();
    server->SetZapKeys(server->ActiveKeys(), engine.state().principals_version());
  }
  try {
    for (zmq::socket_t* socket : {&server->front_, &server->bus_}) {
      socket->set(zmq::sockopt::linger, 0);
      socket->set(zmq::sockopt::handshake_ivl, o.handshake_ms);
      // No ZMTP heartbeats: they can abort the process (server.h, "Half-open connections").
      socket->set(zmq::sockopt::tcp_keepalive, 1);
      socket->set(zmq::sockopt::tcp_keepalive_idle, o.keepalive_idle_s);
      socket->set(zmq::sockopt::tcp_keepalive_intvl, o.keepalive_interval_s);
      socket->set(zmq::sockopt::tcp_keepalive_cnt, o.keepalive_probes);
      socket->set(zmq::sockopt::tcp_maxrt, o.unacknowledged_timeout_ms);
      if (o.server_key) MakeCurveServer(*socket, *o.server_key, socket == &server->bus_ ? kBusZapDomain : kZapDomain);
    }
    // Every subscription comes up, repeated ones too, each with whose connection it came on. A
    // subscription is a topic: anything larger from a subscriber drops its connection.
    server->bus_.set(zmq::sockopt::xpub_verbose, 1);
    server->bus_.set(zmq::sockopt::maxmsgsize, kMaxSubscriptionBytes);
    // Connection counts for the metrics: each socket reports accepts and disconnects to a pair
    // socket the loop polls (a unique inproc name per server: tests run several in a process).
    int n = 0;
    for (auto [socket, monitor] : {std::pair{&server->front_, &server->front_monitor_},
                                   std::pair{&server->bus_, &server->bus_monitor_}}) {
      std::string name = fmt::format("inproc://whistle-monitor-{}-{}", static_cast<void*>(server.get()), n++);
      if (zmq_socket_monitor(socket->handle(), name.c_str(), ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        throw zmq::error_t();
      }
      monitor->set(zmq::sockopt::linger, 0);
      monitor->connect(name);
    }
    server->front_.set(zmq::sockopt::router_mandatory, 1);
    server->front_.set(zmq::sockopt::rcvbuf, o.front_receive_buffer_bytes);
    server->front_.set(zmq::sockopt::maxmsgsize, kMaxMessageBytesBackstop);
    server->front_.bind(o.front_endpoint);
    server->front_endpoint_ = server->front_.get(zmq::sockopt::last_endpoint);
    server->bus_.bind(o.bus_endpoint);
    server->bus_endpoint_ = server->bus_.get(zmq::sockopt::last_endpoint);
    server->bus_fd_ = server->bus_.get(zmq::sockopt::fd);
  } catch (const zmq::error_t& e) {
    return Unavailable(fmt::format("cannot bind {} / {}: {}", o.front_endpoint, o.bus_endpoint, e.what()));
  }
  if (o.server_key) {
    if (Status s = server->SelfTest(); !s.ok()) return s;
  }
  return server;
}

Server::Server(zmq::context_t& context, Engine& engine, ServerOptions options)
    : engine_(engine),
      options_(std::move(options)),
      context_(context),
      metrics_(SystemClock().NowMs()),
      front_(context, zmq::socket_type::router),
      bus_(context, zmq::socket_type::xpub),
      front_monitor_(context, zmq::socket_type::pair),
      bus_monitor_(context, zmq::socket_type::pair),
      tickets_(options_.server_key ? TicketSigner::FromSecret(options_.server_key->secret_key())
                                   : TicketSigner::Random()),
      writer_(engine.store()) {
  metrics_.ObserveEngine(engine_);
}

Status Server::SelfTest() {
  // A key nobody registered must not complete a handshake on either socket. libzmq would let
  // it in if the ZAP handler were missing or misconfigured, so this is checked, not assumed.
  const pb::KeyFile& server_key = *options_.server_key;
  for (auto [type, endpoint] : {std::pair{zmq::socket_type::dealer, front_endpoint_},
                                std::pair{zmq::socket_type::sub, bus_endpoint_}}) {
    pb::KeyFile stranger = NewKeyPair("self-test");
    stranger.set_server_public_key(server_key.public_key());
    zmq::socket_t probe(context_, type);
    probe.set(zmq::sockopt::linger, 0);
    MakeCurveClient(probe, stranger);
    Handshake outcome = ConnectAndAwaitHandshake(context_, probe, endpoint, std::chrono::seconds(10));
    if (outcome != Handshake::kRefused) {
      return Unavailable(fmt::format(
          "start-up self-test: a client with an unknown key was {} on {}; refusing to serve",
          outcome == Handshake::kSucceeded ? "let in" : "neither refused nor let in", endpoint));
    }
  }
  return Status::Ok();
}

std::unordered_map<std::string, ZapKey> Server::ActiveKeys() const {
  std::unordered_map<std::string, ZapKey> keys;
  for (const auto& [name, p] : engine_.state().principals()) {
    if (p.revoked_at_ms() == 0) keys.emplace(p.public_key(), ZapKey{name, MaySubscribe(p)});
  }
  return keys;
}

void Server::SetZapKeys(std::unordered_map<std::string, ZapKey> keys, uint64_t version) {
  if (!zap_ || zap_keys_version_ == version) return;
  std::unordered_set<std::string> allowed;
  for (const auto& [key, k] : keys) {
    if (k.may_subscribe) allowed.insert(k.principal);
  }
  const bool revoked = std::any_of(bus_principals_.begin(), bus_principals_.end(),
                                   [&](const std::string& p) { return !allowed.contains(p); });
  bus_principals_ = std::move(allowed);
  zap_->SetKeys(std::move(keys));
  zap_keys_version_ = version;
  if (!revoked) return;  // a principal created: nobody to cut off
  // Every connection accepted and every subscription sent so far, known before the cut: a
  // connection still unnamed is cut too (bus_peers.h).
  ReadSubscriptions();
  CutBusPeers();
}

void Server::ReadConnectionEvents() {
  CountConnectionEvents(front_monitor_, &front_connections_, [](uint16_t, int) {});
  CountConnectionEvents(bus_monitor_, &bus_connections_, [this](uint16_t event, int fd) {
    if (!zap_) return;  // --dev-no-auth: nobody to cut off
    if (event == ZMQ_EVENT_ACCEPTED) bus_peers_.Accept(fd);
    if (event == ZMQ_EVENT_DISCONNECTED) bus_peers_.Forget(fd);
  });
  metrics_.SetConnections(static_cast<uint32_t>(front_connections_), static_cast<uint32_t>(bus_connections_));
}

void Server::ReadSubscriptions() {
  // Accepts first: libzmq reports one before its connection's handshake, so each connection is
  // known before its first subscription is read.
  ReadConnectionEvents();
  zmq::message_t m;
  while (bus_.recv(m, zmq::recv_flags::dontwait)) {
    if (!zap_ || m.size() == 0 || *m.data<uint8_t>() != 1) continue;  // no keys; an unsubscription
    const char* principal = zmq_msg_gets(m.handle(), "User-Id");
    const char* peer_ip = zmq_msg_gets(m.handle(), "Peer-Address");
    if (principal == nullptr || peer_ip == nullptr) continue;
    // Not recorded when its connection is gone; an unnamed one is cut at the next revocation.
    if (!bus_peers_.Record(zmq_msg_get(m.handle(), ZMQ_SRCFD), principal, peer_ip)) continue;
    if (!bus_principals_.contains(principal)) CutBusPeers();  // revoked since: cut at once
  }
}

void Server::CutBusPeers() {
  size_t cut = bus_peers_.CutUnless([this](const std::string& p) { return bus_principals_.contains(p); });
  if (cut > 0) metrics_.CountBusConnectionsCut(cut);
}

Result<pb::Actor> Server::ActorOf(zmq::message_t& payload, const pb::Request& request) const {
  pb::Actor connection;
  if (!options_.server_key) {
    connection.set_role(pb::ROLE_DEV);
    connection.set_principal(options_.dev_principal);
  } else {
    const char* user_id = payload.gets("User-Id");
    const pb::Principal* p = user_id == nullptr ? nullptr : engine_.state().FindPrincipal(user_id);
    if (p == nullptr || p->revoked_at_ms() != 0) {
      return Unauthenticated(fmt::format("principal '{}' is {}", user_id == nullptr ? "" : user_id,
                                         p == nullptr ? "unknown" : "revoked"));
    }
    connection = ActorFor(*p);
  }
  if (request.acting_ticket().empty()) return connection;
  // A console carrying a logged-in person's request: it acts as that person (tickets.h).
  if (connection.role() != pb::ROLE_CONSOLE && connection.role() != pb::ROLE_DEV) {
    return PermissionDenied(fmt::format("{} '{}' may not act on a ticket: only a console may",
                                        RoleName(connection.role()), connection.principal()));
  }
  auto claims = tickets_.Verify(request.acting_ticket(), SystemClock().NowMs());
  if (!claims.ok()) return claims.status();
  const pb::Principal* p = engine_.state().FindPrincipal(claims->principal);
  if (p == nullptr || p->revoked_at_ms() != 0 || p->created_at_ms() != claims->principal_created_at_ms) {
    return Unauthenticated(fmt::format("the ticket's principal '{}' is {}", claims->principal,
                                       p == nullptr || p->created_at_ms() != claims->principal_created_at_ms
                                           ? "unknown"
                                           : "revoked"));
  }
  pb::Actor actor = ActorFor(*p);
  actor.set_via(connection.principal());
  return actor;
}

pb::Response Server::IssueTicket(const pb::Actor& actor, const pb::TicketQuery& q) const {
  constexpr uint32_t kDefaultHours = 12;
  constexpr uint32_t kMaxHours = 24;
  uint32_t hours = q.hours() == 0 ? kDefaultHours : q.hours();
  if (hours > kMaxHours) return ErrorResponse(BadRequest(fmt::format("a ticket lasts at most {} hours", kMaxHours)));
  std::string name = actor.principal();
  if (actor.role() == pb::ROLE_DEV) {
    // Nobody is anybody without authentication: a developer names whom to log in as.
    if (q.principal().empty()) return ErrorResponse(BadRequest("--dev-no-auth: name the ticket's principal"));
    name = q.principal();
  } else if (!q.principal().empty() && q.principal() != name) {
    return ErrorResponse(PermissionDenied(
        fmt::format("{} '{}' may ask for a ticket for itself only", RoleName(actor.role()), name)));
  }
  if (!actor.via().empty()) return ErrorResponse(PermissionDenied("a ticket is not issued on a ticket"));
  const pb::Principal* p = engine_.state().FindPrincipal(name);
  if (p == nullptr || p->revoked_at_ms() != 0) {
    return ErrorResponse(NotFound(fmt::format("no active principal '{}'", name.substr(0, 64))));
  }
  TicketClaims claims{p->name(), p->created_at_ms(), SystemClock().NowMs() + int64_t{hours} * 3600 * 1000};
  pb::Response reply;
  pb::TicketResult* t = reply.mutable_ticket();
  t->set_ticket(tickets_.Issue(claims));
  *t->mutable_principal() = *p;
  t->mutable_principal()->clear_public_key();
  t->set_expires_at_ms(claims.expires_at_ms);
  return reply;
}

Status Server::Run() {
  clockid_t engine_clock;
  const int err = pthread_getcpuclockid(pthread_self(), &engine_clock);
  WHISTLE_CHECK(err == 0, "pthread_getcpuclockid: %s", std::strerror(err));  // of this very thread
  metrics_.StartThreadClocks(engine_clock, writer_.cpu_clock());
  // Stopped however Run ends: this thread may end after it.
  struct StopClocks {
    ServerMetrics& metrics;
    ~StopClocks() { metrics.StopThreadClocks(); }
  } stop_clocks{metrics_};
  while (!stop_.load() && engine_.health().ok()) {
    try {
      Turn();
    } catch (const zmq::error_t& e) {
      // A signal (SIGTERM) interrupted a ZeroMQ call. Nothing acknowledged is at stake: requests
      // read and not yet applied are never answered and their clients send them again (same
      // request id); an answer or notification cut off is asked for again or read from the log.
      if (e.num() != EINTR) throw;
    }
  }
  // What is decided is written and answered before returning; a signal only ends a turn of that.
  while (in_flight_ || !staged_.empty()) {
    try {
      Drain();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
  EndHeldReads();
  return engine_.health();
}

void Server::Turn() {
  // Sleep until a request arrives or the next timer is due, but never long: Stop() is polled.
  int wait_ms = kMaxWaitMs;
  if (in_flight_ && !in_flight_->on_writer) {
    wait_ms = 0;  // a batch with nothing left to write is answered at once
  } else if (engine_.HasPendingReplans()) {
    wait_ms = 0;  // a SetMode's re-planning goes on (engine.h, "Re-planning")
  } else if (auto next = engine_.NextTimerDue()) {
    int64_t until = *next - engine_.NowMs();
    wait_ms = static_cast<int>(std::clamp<int64_t>(until, 0, kMaxWaitMs));
  }
  if (!woken_.empty()) {
    wait_ms = 0;  // held reads to decide again
  } else if (auto end = held_reads_.NextEnd()) {
    auto until =
        std::chrono::ceil<std::chrono::milliseconds>(*end - std::chrono::steady_clock::now())
            .count();
    wait_ms = std::min(wait_ms, static_cast<int>(std::clamp<int64_t>(until, 0, kMaxWaitMs)));
  }
  // The writer's signal wakes the loop as soon as the batch in flight is written.
  zmq::pollitem_t items[] = {{front_.handle(), 0, ZMQ_POLLIN, 0},
                             {front_monitor_.handle(), 0, ZMQ_POLLIN, 0},
                             {bus_monitor_.handle(), 0, ZMQ_POLLIN, 0},
                             {nullptr, writer_.ready_fd(), ZMQ_POLLIN, 0},
                             // Its descriptor, not the socket: polling the socket would ask it for
                             // its events twice a turn. Readable when libzmq has news for the bus,
                             // a subscription among them (ReadSubscriptions asks). A send takes
                             // that news in too, so Publish reads the subscriptions after it.
                             {nullptr, bus_fd_, ZMQ_POLLIN, 0}};
  try {
    zmq::poll(items, 5, std::chrono::milliseconds(wait_ms));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
    return;  // a signal: look at stop_ again
  }
  if (items[1].revents != 0 || items[2].revents != 0) ReadConnectionEvents();
  if (items[4].revents != 0) ReadSubscriptions();
  held_reads_.Expire(std::chrono::steady_clock::now(), &woken_);
  if (in_flight_ && (!in_flight_->on_writer || writer_.done())) FinishInFlight();
  // A full batch is staged: wait for the writer rather than stage more. This bounds a write (and
  // the memory held for it) at about two batches while the writer is behind.
  if (in_flight_ && RequestsIn(staged_) >= options_.max_batch) ShedUntilWritten();

  std::vector<Pending> batch;
  // Answers that depend on the state in memory (principals, tickets, metrics), which shows what is
  // decided and not yet written: they wait for the write of the round they join, like its replies.
  std::vector<Answered> answered;
  auto take = [&](Incoming in) {
    Pending p{std::move(in.identity), {}, in.read_at, std::nullopt};
    if (!p.command.request.ParseFromArray(in.payload.data(), static_cast<int>(in.payload.size()))) {
      metrics_.CountRejectedFrame();
      Answer(p.identity, ErrorResponse(BadRequest("the request is not a whistle.pb.Request")));
      return;
    }
    auto actor = ActorOf(in.payload, p.command.request);
    if (!actor.ok()) {
      answered.push_back({std::move(p.identity), std::move(p.command.request),
                          ErrorResponse(actor.status(), p.command.request.correlation_id()), p.read_at});
      return;
    }
    p.command.actor = std::move(actor).value();
    if (p.command.request.has_metrics() || p.command.request.has_ticket()) {
      pb::Response reply;
      if (Status allowed = Authorize(p.command.actor, p.command.request, engine_.state()); !allowed.ok()) {
        reply = ErrorResponse(allowed);
      } else if (p.command.request.has_ticket()) {
        reply = IssueTicket(p.command.actor, p.command.request.ticket());
      } else {
        metrics_.Fill(reply.mutable_metrics());  // as of the last batch written
      }
      reply.set_correlation_id(p.command.request.correlation_id());
      answered.push_back({std::move(p.identity), std::move(p.command.request), std::move(reply), p.read_at});
      return;
    }
    batch.push_back(std::move(p));
  };
  // What was read while the last write synced goes first: it came first. Taken out of held_
  // before any is handled, so that a signal part-way cannot leave moved-from requests there.
  std::vector<Incoming> held = std::exchange(held_, {});
  size_t drained = held.size();
  // Held reads woken, or whose wait ended: decided again as they were read ("Held log reads"), a
  // batch's worth a turn (the rest in the next turns, which do not wait).
  const auto now = std::chrono::steady_clock::now();
  const size_t redecided = std::min(woken_.size(), options_.max_batch);
  for (size_t i = 0; i < redecided; ++i) {
    HeldReads::Read& w = woken_[i];
    if (Status acts = StillActs(w.command); !acts.ok()) {
      answered.push_back({std::move(w.identity), std::move(w.command.request),
                          ErrorResponse(acts, w.command.request.correlation_id()), now});
      continue;
    }
    batch.push_back({std::move(w.identity), std::move(w.command), now, w.until});
  }
  woken_.erase(woken_.begin(), woken_.begin() + static_cast<std::ptrdiff_t>(redecided));
  for (Incoming& in : held) take(std::move(in));
  // Staged rounds wait for the writer (it is busy whenever there are any). Counting them, the
  // submits a write takes stay under max_batch however the reads fall into turns; before, a turn
  // that read little could admit a batch's worth on top of what was staged.
  const size_t staged = RequestsIn(staged_);
  while (drained < options_.busy_window + options_.max_batch) {
    Incoming in;
    const Intake got = ReadRequest(/*shed_submits=*/!admission_.Admits(staged, batch.size()), &in);
    if (got == Intake::kNone) break;
    ++drained;
    if (got == Intake::kTaken) take(std::move(in));
  }
  admission_.EndTurn(drained, static_cast<size_t>(std::count_if(batch.begin(), batch.end(), [&](const Pending& p) {
                       return !p.command.request.has_submit() && engine_.IsCommand(p.command.request);
                     })));
  if (!batch.empty() || !answered.empty() || engine_.HasDueTimers() || engine_.HasPendingReplans()) {
    Round round;
    round.started = std::chrono::steady_clock::now();
    round.identities.reserve(batch.size());
    round.commands.reserve(batch.size());
    round.read_at.reserve(batch.size());
    round.held_until.reserve(batch.size());
    for (auto& p : batch) {
      round.identities.push_back(std::move(p.identity));
      round.commands.push_back(std::move(p.command));
      round.read_at.push_back(p.read_at);
      round.held_until.push_back(p.held_until);
    }
    round.answered = std::move(answered);
    // Such a query reads the store through cursors, which show a batch only once it is written.
    // Only an authorized one counts: anybody else's would stall the pipeline for a refusal.
    if (std::any_of(round.commands.begin(), round.commands.end(), [&](const Command& c) {
          return engine_.WaitsForWrites(c) && Authorize(c.actor, c.request, engine_.state()).ok();
        })) {
      Drain();
    }
    round.replies = engine_.Decide(round.commands);
    staged_.push_back(std::move(round));
  }
  // The writer takes everything decided since its last write as soon as it is free; meanwhile
  // the next rounds are decided (the pipeline).
  if (!in_flight_ && !staged_.empty()) HandOff();
}

Server::Intake Server::ReadRequest(bool shed_submits, Incoming* in) {
  zmq::message_t identity;
  if (!front_.recv(identity, zmq::recv_flags::dontwait)) return Intake::kNone;
  // The parts of a message arrive together: the rest is there already.
  zmq::message_t payload;
  size_t parts = 1;
  if (identity.more()) {
    (void)front_.recv(payload, zmq::recv_flags::none);
    ++parts;
  }
  for (bool more = payload.more(); more; ++parts) {
    zmq::message_t extra;
    (void)front_.recv(extra, zmq::recv_flags::none);
    more = extra.more();
  }
  if (parts != 2) {
    // [identity, payload] is the only shape; answer what we can and drop the rest.
    metrics_.CountRejectedFrame();
    if (parts > 2) Answer(identity, ErrorResponse(BadRequest(fmt::format("a request is one frame, got {}", parts - 1))));
    return Intake::kAnswered;
  }
  if (payload.size() > options_.max_request_bytes) {
    metrics_.CountRejectedFrame();
    Answer(identity, ErrorResponse({pb::STATUS_TOO_LARGE, fmt::format("request is {} bytes; the limit is {}",
                                                                      payload.size(), options_.max_request_bytes)}));
    return Intake::kAnswered;
  }
  if (shed_submits) {
    // Without parsing: under overload a full parse of every Submit only to answer BUSY was a
    // quarter of this thread, in malloc and free (request_peek.h).
    std::optional<RequestPeek> peek = PeekRequest(payload.data(), payload.size());
    if (peek && peek->command == pb::Request::kSubmit) {
      metrics_.CountBusy();
      metrics_.CountReply(pb::Request::kSubmit, pb::STATUS_BUSY);
      Answer(identity, ErrorResponse({pb::STATUS_BUSY, "the dispatcher is busy: retry with the same request id"},
                                     peek->correlation_id));
      return Intake::kAnswered;
    }
  }
  in->identity = std::move(identity);
  in->payload = std::move(payload);
  in->read_at = std::chrono::steady_clock::now();
  return Intake::kTaken;
}

void Server::ShedUntilWritten() {
  while (in_flight_->on_writer && held_.size() < options_.busy_window && !writer_.done()) {
    Incoming in;
    const Intake got = ReadRequest(/*shed_submits=*/true, &in);
    if (got == Intake::kTaken) held_.push_back(std::move(in));
    if (got != Intake::kNone) continue;
    zmq::pollitem_t items[] = {{front_.handle(), 0, ZMQ_POLLIN, 0}, {nullptr, writer_.ready_fd(), ZMQ_POLLIN, 0}};
    zmq::poll(items, 2, std::chrono::milliseconds(kMaxWaitMs));
  }
  FinishInFlight();
}

size_t Server::RequestsIn(const std::vector<Round>& rounds) {
  size_t n = 0;
  for (const Round& r : rounds) n += r.commands.size();
  return n;
}

void Server::HandOff() {
  InFlight f;
  f.rounds = std::move(staged_);
  staged_.clear();
  // Now, while the state is exactly as this batch left it, and before Seal: until then the events
  // the batch touched are still parsed in memory (after it, each would be parsed or copied again).
  // (A stopped engine seals nothing: its staged records are never published, so none are built.)
  if (engine_.health().ok()) f.notifications = Notifications(engine_.state().staged_records());
  f.batch = engine_.Seal();
  f.open_when_sealed = engine_.state().open_tally().city();
  f.principals_version = engine_.state().principals_version();
  if (f.principals_version != zap_keys_version_) f.zap_keys = ActiveKeys();
  in_flight_ = std::move(f);  // with nothing to write, it is answered at the next turn, in order
  if (!in_flight_->batch.write) return;
  // Timers fired and events re-planned are work as requests are: a batch of a mode switch's
  // 2,000 re-plans and no request goes to the writer.
  const size_t work =
      RequestsIn(in_flight_->rounds) + in_flight_->batch.timer_lags_ms.size() + in_flight_->batch.replans;
  if (work < options_.min_requests_for_writer) {
    // Too little to overlap: handing it to the writer thread and back would cost more than the
    // pipeline gains (the claim-race bench ran 18% slower). The loop waits for it here instead.
    in_flight_->written = engine_.store().Write(*in_flight_->batch.write);
  } else {
    writer_.Start(in_flight_->batch.write.get());
    in_flight_->on_writer = true;
  }
}

void Server::Drain() {
  if (in_flight_) FinishInFlight();
  if (!staged_.empty()) HandOff();
  if (in_flight_) FinishInFlight();
}

void Server::FinishInFlight() {
  InFlight f = std::move(*in_flight_);
  in_flight_.reset();
  Status written = f.on_writer ? writer_.Wait() : f.written;
  Status s = engine_.Complete(f.batch, written);
  // The writer is free: give it what was decided meanwhile before answering this batch (unless
  // that is small enough to be written here, which would hold these answers up: the turn's end
  // hands it off).
  if (RequestsIn(staged_) >= options_.min_requests_for_writer) HandOff();
  metrics_.CountBatch(RequestsIn(f.rounds),
                      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - f.rounds.front().started).count()),
                      f.batch.timer_lags_ms);
  if (s.ok()) {
    // Before the answers: a client that got its answer finds its effect in the metrics.
    metrics_.ObserveEngine(f.open_when_sealed, engine_.state().committed_seq(),
                           engine_.state().store().write_micros(), engine_.pending_replans());
    // The keys as this batch left them: a principal created or revoked is let in or shut out at
    // the handshake only once that is on disk.
    if (f.zap_keys) SetZapKeys(std::move(*f.zap_keys), f.principals_version);
  }
  // Once for the batch: its answers go out in a few microseconds each.
  const auto answered_at = std::chrono::steady_clock::now();
  auto answer_micros = [&](std::chrono::steady_clock::time_point read_at) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(answered_at - read_at).count());
  };
  for (Round& r : f.rounds) {
    for (size_t i = 0; i < r.replies.size(); ++i) {
      if (!s.ok()) r.replies[i] = ErrorResponse(s, r.commands[i].request.correlation_id());
      if (s.ok() && HoldRead(r, i, answered_at)) continue;
      metrics_.CountReply(r.commands[i].request, r.replies[i].code());
      metrics_.CountAnswerTime(answer_micros(r.read_at[i]));
      Answer(r.identities[i], r.replies[i]);
    }
    for (Answered& a : r.answered) {
      if (!s.ok()) a.reply = ErrorResponse(s, a.request.correlation_id());
      metrics_.CountReply(a.request, a.reply.code());
      metrics_.CountAnswerTime(answer_micros(a.read_at));
      Answer(a.identity, a.reply);
    }
  }
  if (s.ok()) {
    Publish(f.notifications);
    std::vector<HeldReads::Written> records;
    records.reserve(f.notifications.size());
    for (const Outgoing& o : f.notifications) records.push_back(o.written);
    const size_t before = woken_.size();
    held_reads_.Wrote(records, &woken_);
    metrics_.CountHeldReadsWoken(woken_.size() - before);
  }
  metrics_.SetHeldReads(held_reads_.size());
}

bool Server::HoldRead(Round& r, size_t i, std::chrono::steady_clock::time_point now) {
  const pb::Request& request = r.commands[i].request;
  const pb::Response& reply = r.replies[i];
  if (!request.has_log() || request.log().wait_ms() == 0 || reply.code() != pb::STATUS_OK)
    return false;
  const pb::LogResult& log = reply.log();
  const uint32_t page =
      request.log().max_records() == 0 ? kDefaultLogRecords : request.log().max_records();
  // Something to give (a record the reader may read, a whole page, a mark that differs, a log
  // that ends before the reader's place: a restored dispatcher), or no room: answered now.
  const std::string& holder = HeldReads::Holder(r.commands[i].actor);
  if (log.mark_differs() || static_cast<uint32_t>(log.records_size()) >= page ||
      request.log().after_seq() > log.last_seq() ||
      held_reads_.size() >= options_.max_held_log_reads ||
      held_reads_.HeldFor(holder) >= options_.max_held_log_reads_per_principal || stop_.load()) {
    return false;
  }
  if (std::any_of(log.records().begin(), log.records().end(),
                  [](const pb::Record& rec) { return !rec.withheld(); })) {
    return false;
  }
  const auto until =
      r.held_until[i].value_or(r.read_at[i] + std::chrono::milliseconds(request.log().wait_ms()));
  if (until <= now) return false;
  const ReadReach reach(r.commands[i].actor, engine_.state());
  const bool first = !r.held_until[i].has_value();
  const size_t before = woken_.size();
  // Only what deciding it again needs: a request may carry up to max_request_bytes of fields
  // the log read ignores.
  Command kept;
  kept.actor = std::move(r.commands[i].actor);
  kept.request.set_correlation_id(request.correlation_id());
  *kept.request.mutable_log() = request.log();
  kept.request.set_acting_ticket(request.acting_ticket());
  held_reads_.Hold({std::move(r.identities[i]), std::move(kept), until}, reach, log.last_seq(),
                   &woken_);
  if (first) metrics_.CountHeldRead();
  metrics_.CountHeldReadsWoken(woken_.size() - before);
  return true;
}

Status Server::StillActs(const Command& read) const {
  // The principal itself is checked again by the engine (Authorize); a console carrying its
  // ticket is not, nor the ticket, which may have expired meanwhile.
  if (read.actor.via().empty()) return Status::Ok();
  if (options_.server_key) {
    const pb::Principal* console = engine_.state().FindPrincipal(read.actor.via());
    if (console == nullptr || console->revoked_at_ms() != 0) {
      return Unauthenticated(fmt::format("principal '{}' is {}", read.actor.via(),
                                         console == nullptr ? "unknown" : "revoked"));
    }
  }
  return tickets_.Verify(read.request.acting_ticket(), SystemClock().NowMs()).status();
}

void Server::EndHeldReads() {
  std::vector<HeldReads::Read> ending = held_reads_.TakeAll();
  for (HeldReads::Read& w : woken_) ending.push_back(std::move(w));
  woken_.clear();
  for (HeldReads::Read& read : ending) {
    const pb::Request& request = read.command.request;
    pb::Response reply = ErrorResponse(
        Unavailable("the dispatcher is stopping: read the log again"), request.correlation_id());
    metrics_.CountReply(request, reply.code());
    Answer(read.identity, reply);
  }
  metrics_.SetHeldReads(0);
}

void Server::Answer(const zmq::message_t& identity, const pb::Response& r) {
  std::string bytes = r.SerializeAsString();
  try {
    // Both parts or neither: a full queue refuses the first part (the routing id); once that is
    // taken, the second goes to the same queue, whose limit counts whole messages.
    if (front_.send(zmq::buffer(identity.data(), identity.size()),
                    zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)front_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
      return;
    }
  } catch (const zmq::error_t& e) {
    // ROUTER_MANDATORY: a client that left makes the send fail with EHOSTUNREACH.
    if (e.num() != EHOSTUNREACH) throw;
  }
  metrics_.CountDroppedReply();
}

std::vector<Server::Outgoing> Server::Notifications(const std::vector<pb::Record>& records) const {
  const EngineState& state = engine_.state();
  std::vector<Outgoing> out;
  out.reserve(records.size());
  for (const pb::Record& record : records) {
    pb::Notification n;
    *n.mutable_record() = record;
    StripPersonalData(n.mutable_record());  // stored, never published: contacts, the directory
    Outgoing& o = out.emplace_back();
    o.written.seq = record.seq();
    o.topics.push_back("all");
    if (record.event_id() != 0) {
      o.topics.push_back(fmt::format("e/{}", record.event_id()));
      auto e = state.FindEvent(record.event_id());
      if (e.ok() && *e != nullptr) {
        n.set_state((*e)->state());
        n.set_level((*e)->level());
        n.set_grid((*e)->grid());
        for (auto d : InvolvedDepartments(**e)) {
          n.add_departments(std::string(d));
          o.topics.push_back(fmt::format("d/{}", d));
        }
        if (const pb::Region* grid = engine_.city().FindRegion((*e)->grid()); grid != nullptr) {
          o.written.grid = grid->code();
          for (const pb::Region* r : engine_.city().Ancestry((*e)->grid())) {
            o.topics.push_back(fmt::format("r/{}", r->code()));
          }
        }
      }
    }
    o.bytes = n.SerializeAsString();
  }
  return out;
}

void Server::Publish(const std::vector<Outgoing>& notifications) {
  for (const Outgoing& o : notifications) {
    for (const auto& topic : o.topics) {
      bus_.send(zmq::buffer(topic), zmq::send_flags::sndmore);
      bus_.send(zmq::buffer(o.bytes), zmq::send_flags::none);
    }
  }
  // The sends took in libzmq's news for the bus, and with it the signal Turn polls for: the
  // subscriptions among it are read now rather than at the next batch.
  ReadSubscriptions();
}

}  // namespace whistle
