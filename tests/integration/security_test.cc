// Security against a real whistle-dispatcher process with CURVE keys: only registered keys get
// in, each principal does only what the authorization table allows, and hostile input changes
// nothing (the store's digest is the same before and after) while the dispatcher keeps serving.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "agents/client.h"
#include "agents/principals.h"
#include "dispatcher/server.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/engine_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/test_city.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::Auth;
using testing::DispatcherProcess;

// A dispatcher with keys, an admin connection and helpers to register principals.
struct SecureCity {
  SecureCity() : dispatcher(testing::TestCityConfig(), {}, Auth::kKeys) {
    auto key = ReadCredentials(dispatcher.admin_key());
    REQUIRE_MESSAGE(key.ok(), key.status().ToString());
    admin_key = *key;
    admin.emplace(context, dispatcher.front(), Options(admin_key));
  }

  // One attempt, waited for long: a resend after a slow answer (a loaded sanitizer build) opens a
  // new connection, and tests here tell a refusal on an open connection from one at the handshake.
  static ClientOptions Options(ClientCredentials credentials) {
    ClientOptions o;
    o.timeout = 10000ms;
    o.attempts = 1;
    o.credentials = std::move(credentials);
    return o;
  }

  // Registers a principal and returns its key file.
  pb::KeyFile Principal(const std::string& name, pb::Role role, const std::string& department = "",
                        const std::string& region = "") {
    pb::Principal p;
    p.set_name(name);
    p.set_role(role);
    if (!department.empty()) p.add_departments(department);
    p.set_region(region);
    auto key = EnsurePrincipal(*admin, admin_key->server_public_key(), p, dir.Sub(name + ".key"));
    REQUIRE_MESSAGE(key.ok(), key.status().ToString());
    return *key;
  }

  Client As(const pb::KeyFile& key) { return Client(context, dispatcher.front(), Options(key)); }

  uint64_t Digest() {
    pb::Request r;
    r.mutable_digest();
    auto answer = admin->Call(r);
    REQUIRE(answer.ok());
    REQUIRE_MESSAGE(answer->code() == pb::STATUS_OK, answer->message());
    return answer->digest().digest();
  }

  testing::TempDir dir;
  DispatcherProcess dispatcher;
  zmq::context_t context;
  ClientCredentials admin_key;
  std::optional<Client> admin;
};

// A report any test may send again: a fresh request id each time.
pb::Request Submit(const std::string& grid = testing::kGrid1) {
  return testing::WaterReport(grid, Client::NewRequestId());
}

pb::Response Answer(Client& client, pb::Request r) {
  auto answer = client.Call(std::move(r));
  REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
  return *answer;
}

pb::Response AnswerOk(Client& client, pb::Request r) {
  pb::Response answer = Answer(client, std::move(r));
  REQUIRE_MESSAGE(answer.code() == pb::STATUS_OK, answer.message());
  return answer;
}

uint16_t PortOf(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

// Writes `bytes` on a plain TCP connection and reads until the peer closes it (true) or 5 s pass.
bool RawTcpIsClosed(const std::string& endpoint, const std::string& bytes, std::string* got) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(PortOf(endpoint));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  (void)::write(fd, bytes.data(), bytes.size());
  char buffer[4096];
  bool closed = false;
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      closed = true;
      break;
    }
    if (n < 0) break;  // timed out: still open
    got->append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return closed;
}

// A ZMTP 3.0 greeting asking for the NULL mechanism (no CURVE at all).
std::string NullGreeting() {
  std::string g("\xff\0\0\0\0\0\0\0\x01\x7f", 10);
  g += std::string("\x03\x00", 2);
  std::string mechanism = "NULL";
  mechanism.resize(20, '\0');
  g += mechanism;
  g += std::string(1, '\0');   // as-server
  g += std::string(31, '\0');  // filler
  return g;
}

TEST_CASE("unknown keys, clients without CURVE and raw TCP bytes are refused, nothing reaches the engine") {
  SecureCity city;
  uint64_t before = city.Digest();

  pb::KeyFile stranger = NewKeyPair("stranger");
  stranger.set_server_public_key(city.admin_key->server_public_key());
  Client unknown = city.As(stranger);
  auto refused = unknown.Call(Submit());
  CHECK(refused.status().code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(refused.status().message().find("refused this client's key") != std::string::npos);

  // The server often closes a keyless connection before the client has read its greeting, and
  // the client reconnects: on a loaded machine the refusal may take several rounds.
  ClientOptions keyless = SecureCity::Options({});
  keyless.timeout = 10s;
  Client plain(city.context, city.dispatcher.front(), keyless);
  CHECK(plain.Call(Submit()).status().code() == pb::STATUS_UNAUTHENTICATED);

  // The bus too: an unknown key's subscription never completes its handshake.
  zmq::socket_t sub(city.context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  MakeCurveClient(sub, stranger);
  CHECK(ConnectAndAwaitHandshake(city.context, sub, city.dispatcher.bus(), 5s) == Handshake::kRefused);
  zmq::socket_t plain_sub(city.context, zmq::socket_type::sub);
  plain_sub.set(zmq::sockopt::linger, 0);
  CHECK(ConnectAndAwaitHandshake(city.context, plain_sub, city.dispatcher.bus(), 5s) == Handshake::kRefused);

  // Raw bytes: garbage, and a well-formed greeting that asks for no security. The server closes
  // the connection without a single protobuf answer.
  for (const std::string& bytes : {std::string("GET / HTTP/1.0\r\n\r\n"), std::string(4096, '\x01'),
                                   NullGreeting()}) {
    std::string got;
    CHECK(RawTcpIsClosed(city.dispatcher.front(), bytes, &got));
    pb::Response r;
    CHECK_FALSE((got.size() > 64 && r.ParseFromString(got.substr(64)) && r.code() != pb::STATUS_OK));
  }

  CHECK(city.Digest() == before);
  pb::Request whoami;
  whoami.mutable_whoami();
  CHECK(AnswerOk(*city.admin, whoami).principal().name() == "admin");
}

TEST_CASE("a revoked key is refused at once: at the handshake, and on a connection already open") {
  SecureCity city;
  pb::KeyFile worker = city.Principal("worker-1", pb::ROLE_REPORTER);
  Client open = city.As(worker);
  AnswerOk(open, Submit());

  pb::Request revoke;
  revoke.set_request_id("revoke-1");
  revoke.mutable_revoke_principal()->set_name("worker-1");
  revoke.mutable_revoke_principal()->set_reason("phone lost");
  CHECK(AnswerOk(*city.admin, revoke).principal().revoked_at_ms() > 0);

  uint64_t before = city.Digest();
  pb::Response on_open = Answer(open, Submit());
  CHECK(on_open.code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(on_open.message() == "principal 'worker-1' is revoked");
  Client fresh = city.As(worker);
  CHECK(fresh.Call(Submit()).status().code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(city.Digest() == before);

  // The identity is the key's: another principal's name in a report changes nothing.
  pb::KeyFile other = city.Principal("worker-2", pb::ROLE_REPORTER);
  Client second = city.As(other);
  pb::Request report = Submit(testing::kGrid3);
  report.mutable_submit()->mutable_report()->set_reporter("worker-1");
  pb::Response accepted = AnswerOk(second, report);
  CHECK(accepted.event().event().submitted_by() == "worker-2");
}

// A bus subscription on `key`'s CURVE credentials to everything, its handshake waited for.
zmq::socket_t Subscribe(SecureCity& city, const pb::KeyFile& key) {
  zmq::socket_t sub(city.context, zmq::socket_type::sub);
  sub.set(zmq::sockopt::linger, 0);
  MakeCurveClient(sub, key);
  sub.set(zmq::sockopt::subscribe, "all");
  REQUIRE(ConnectAndAwaitHandshake(city.context, sub, city.dispatcher.bus(), 10s) == Handshake::kSucceeded);
  return sub;
}

// The next notification on `sub` whose record `wanted` accepts, skipping others; nullopt after
// `timeout` without one.
std::optional<pb::Notification> NextWhere(zmq::socket_t& sub, const std::function<bool(const pb::Record&)>& wanted,
                                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t topic, body;
    (void)sub.recv(topic, zmq::recv_flags::none);
    REQUIRE(topic.more());
    (void)sub.recv(body, zmq::recv_flags::none);
    pb::Notification n;
    REQUIRE(n.ParseFromArray(body.data(), static_cast<int>(body.size())));
    if (wanted(n.record())) return n;
  }
}

auto About(uint64_t event_id) {
  return [event_id](const pb::Record& r) { return r.event_id() == event_id; };
}
auto RevocationOf(const std::string& name) {
  return [name](const pb::Record& r) { return r.has_principal_revoked() && r.principal_revoked().name() == name; };
}

// Submits reports until every one of `subs` has heard of one: a finished handshake does not mean
// the subscription has reached the dispatcher yet.
void AwaitSubscribed(Client& reporter, std::vector<zmq::socket_t*> subs) {
  for (int attempt = 0; attempt < 50 && !subs.empty(); ++attempt) {
    uint64_t id = AnswerOk(reporter, Submit()).event().event().id();
    std::erase_if(subs, [&](zmq::socket_t* s) { return NextWhere(*s, About(id), 200ms).has_value(); });
  }
  REQUIRE(subs.empty());
}

// Watches `socket`'s connection from now on: the socket monitor's events, in order.
class ConnectionWatch {
 public:
  ConnectionWatch(zmq::context_t& context, zmq::socket_t& socket) : events_(context, zmq::socket_type::pair) {
    static int n = 0;
    std::string address = fmt::format("inproc://security-test-watch-{}", n++);
    REQUIRE(zmq_socket_monitor(socket.handle(), address.c_str(),
                               ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) == 0);
    events_.set(zmq::sockopt::linger, 0);
    events_.connect(address);
  }
  // The next event's id, or 0 after `timeout`.
  uint16_t Next(std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{events_.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, timeout);
    if (!(item.revents & ZMQ_POLLIN)) return 0;
    zmq::message_t event, where;
    (void)events_.recv(event, zmq::recv_flags::none);
    if (event.more()) (void)events_.recv(where, zmq::recv_flags::none);
    uint16_t id;
    std::memcpy(&id, event.data(), sizeof id);
    return id;
  }

 private:
  zmq::socket_t events_;
};

// The dispatcher's counters, as its admin reads them.
pb::MetricsResult Metrics(SecureCity& city) {
  pb::Request r;
  r.mutable_metrics();
  return AnswerOk(*city.admin, r).metrics();
}

void Revoke(SecureCity& city, const std::string& name) {
  pb::Request revoke;
  revoke.set_request_id("revoke-" + name);
  revoke.mutable_revoke_principal()->set_name(name);
  revoke.mutable_revoke_principal()->set_reason("phone lost");
  AnswerOk(*city.admin, revoke);
}

TEST_CASE("a revoked key's bus subscription is cut off at once, the others' go on") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  zmq::socket_t lost = Subscribe(city, city.Principal("screen-lost", pb::ROLE_VIEWER));
  zmq::socket_t kept = Subscribe(city, city.Principal("screen-kept", pb::ROLE_VIEWER));
  AwaitSubscribed(reporter, {&lost, &kept});
  CHECK(Metrics(city).bus_connections_cut() == 0);

  ConnectionWatch watch(city.context, lost);
  Revoke(city, "screen-lost");
  // The dispatcher shut the connection down, and the socket's reconnection is refused.
  CHECK(watch.Next(10s) == ZMQ_EVENT_DISCONNECTED);
  CHECK(watch.Next(10s) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  CHECK(Metrics(city).bus_connections_cut() == 1);
  // The one that stays hears of the revocation, the lost phone does not (what it had queued
  // before the cut is read out here). This does not prove the cut came before the publishing: cut
  // just after it, the record would mostly still be in libzmq's queue, never sent.
  CHECK(NextWhere(kept, RevocationOf("screen-lost"), 10s));
  CHECK_FALSE(NextWhere(lost, RevocationOf("screen-lost"), 500ms));

  uint64_t next = AnswerOk(reporter, Submit(testing::kGrid2)).event().event().id();
  CHECK(NextWhere(kept, About(next), 10s));
  CHECK_FALSE(NextWhere(lost, About(next), 500ms));
}

TEST_CASE("at a revocation a bus connection not yet known to be anyone's is cut too, and comes back if it may") {
  SecureCity city;
  pb::KeyFile late_key = city.Principal("screen-late", pb::ROLE_VIEWER);
  pb::KeyFile idle_key = city.Principal("screen-idle", pb::ROLE_VIEWER);
  // Both let in, neither subscribed: whose they are, the dispatcher learns from a subscription.
  zmq::socket_t late(city.context, zmq::socket_type::sub);
  zmq::socket_t idle(city.context, zmq::socket_type::sub);
  for (auto [socket, key] : {std::pair{&late, &late_key}, std::pair{&idle, &idle_key}}) {
    socket->set(zmq::sockopt::linger, 0);
    MakeCurveClient(*socket, *key);
    REQUIRE(ConnectAndAwaitHandshake(city.context, *socket, city.dispatcher.bus(), 10s) == Handshake::kSucceeded);
  }
  ConnectionWatch late_watch(city.context, late);
  ConnectionWatch idle_watch(city.context, idle);
  Revoke(city, "screen-late");
  // Had `late` subscribed a moment before, its subscription could be in libzmq's table before
  // the dispatcher read whose it was: so it is cut at the revocation, not at its subscription.
  CHECK(late_watch.Next(10s) == ZMQ_EVENT_DISCONNECTED);
  CHECK(late_watch.Next(10s) == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
  CHECK(idle_watch.Next(10s) == ZMQ_EVENT_DISCONNECTED);
  CHECK(idle_watch.Next(10s) == ZMQ_EVENT_HANDSHAKE_SUCCEEDED);  // let in again
  CHECK(Metrics(city).bus_connections_cut() == 2);
}

TEST_CASE("a reporter reads no log, so it may not subscribe to the bus, and its front door works") {
  SecureCity city;
  pb::KeyFile app_key = city.Principal("app-2", pb::ROLE_REPORTER);
  zmq::socket_t app_sub(city.context, zmq::socket_type::sub);
  app_sub.set(zmq::sockopt::linger, 0);
  MakeCurveClient(app_sub, app_key);
  CHECK(ConnectAndAwaitHandshake(city.context, app_sub, city.dispatcher.bus(), 10s) == Handshake::kRefused);
  Client app = city.As(app_key);
  AnswerOk(app, Submit());
}

TEST_CASE("an agent follows its reach of the log: the bus refuses it, its Subscriber reads the log and passes the rest over") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  const pb::KeyFile desk_key = city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee");
  // The bus is the whole log: an agent and a supervisor of a region are refused on it, a
  // supervisor of the whole city is let in.
  const std::vector<std::pair<pb::KeyFile, Handshake>> handshakes = {
      {desk_key, Handshake::kRefused},
      {city.Principal("sup-st", pb::ROLE_SUPERVISOR, "", testing::kStreet), Handshake::kRefused},
      {city.Principal("sup-city", pb::ROLE_SUPERVISOR), Handshake::kSucceeded}};
  for (const auto& [key, expected] : handshakes) {
    zmq::socket_t sub(city.context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    MakeCurveClient(sub, key);
    CHECK(ConnectAndAwaitHandshake(city.context, sub, city.dispatcher.bus(), 10s) == expected);
  }

  Subscriber desk(city.context, city.dispatcher.bus(), city.dispatcher.front(), 0,
                  SecureCity::Options(desk_key));
  const uint64_t ours = AnswerOk(reporter, Submit(testing::kGrid1)).event().event().id();
  const uint64_t theirs = AnswerOk(reporter, Submit(testing::kGrid3)).event().event().id();
  const uint64_t ours_too = AnswerOk(reporter, Submit(testing::kGrid2)).event().event().id();
  pb::Request log;
  log.mutable_log();
  const pb::LogResult all = AnswerOk(*city.admin, log).log();
  std::vector<uint64_t> expected;
  for (const pb::Record& r : all.records()) {
    if (r.event_id() == ours || r.event_id() == ours_too) expected.push_back(r.seq());
  }
  REQUIRE(expected.size() >= 4);  // each submitted and dispatched

  std::vector<uint64_t> delivered;
  while (desk.last_seq() < all.last_seq()) {
    auto next = desk.Next(10s);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    if (!next->has_value()) break;
    CHECK_FALSE((*next)->withheld());
    CHECK((*next)->has_actor());
    delivered.push_back((*next)->seq());
  }
  CHECK(desk.bus_refused());
  CHECK(delivered == expected);
  CHECK(desk.last_seq() == all.last_seq());
  CHECK(desk.withheld() == all.records_size() - expected.size());

  // Refused once, the Subscriber does not knock on the bus again: it reads the log while it
  // waits, and a report sent after it began to wait reaches it.
  const uint64_t refused = Metrics(city).bus_handshakes_refused();
  CHECK(refused >= 4);  // the start-up self-test's stranger, the two above, the desk's Subscriber
  std::thread later([&] {
    std::this_thread::sleep_for(4 * kLogPollInterval);
    Client other = city.As(city.Principal("app-2", pb::ROLE_REPORTER));
    AnswerOk(other, Submit(testing::kGrid1));
  });
  const auto waited_from = std::chrono::steady_clock::now();
  auto next = desk.Next(10s);
  // During the wait, not at its end (when any Subscriber reads the log): the log was read as it
  // waited. (A bound with room to spare, not a speed.)
  CHECK(std::chrono::steady_clock::now() - waited_from < 8s);
  later.join();
  REQUIRE_MESSAGE(next.ok(), next.status().ToString());
  REQUIRE(next->has_value());
  const std::string got = (*next)->ShortDebugString();
  INFO("next: ", got);
  CHECK((*next)->has_report_linked());  // a repeat of the first report: linked to it
  CHECK((*next)->event_id() == ours);
  CHECK(Metrics(city).bus_handshakes_refused() == refused);

  // The log as the desk reads it: every number, the other community's event and the principals'
  // records withheld to their marks.
  Client desk_front = city.As(desk_key);
  log.mutable_log()->set_max_records(static_cast<uint32_t>(all.records_size()));
  const pb::LogResult mine = AnswerOk(desk_front, log).log();
  REQUIRE(mine.records_size() == all.records_size());
  for (int i = 0; i < all.records_size(); ++i) {
    const pb::Record& full = all.records(i);
    const pb::Record& read = mine.records(i);
    INFO("seq ", full.seq());
    CHECK(RecordMark::Of(read) == RecordMark::Of(full));
    const bool readable = full.event_id() == ours || full.event_id() == ours_too;
    CHECK(read.withheld() != readable);
    CHECK(read.has_actor() == readable);
    CHECK((read.body_case() == full.body_case()) == readable);
  }
  CHECK(std::none_of(mine.records().begin(), mine.records().end(),
                     [&](const pb::Record& r) { return r.event_id() == theirs && !r.withheld(); }));
}

TEST_CASE("a supervisor of one community follows that community's events and nothing else") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  const pb::KeyFile sup_key = city.Principal("sup-c2", pb::ROLE_SUPERVISOR, "", testing::kCommunity2);
  Subscriber sup(city.context, city.dispatcher.bus(), city.dispatcher.front(), 0,
                 SecureCity::Options(sup_key));
  const uint64_t outside = AnswerOk(reporter, Submit(testing::kGrid1)).event().event().id();
  const uint64_t inside = AnswerOk(reporter, Submit(testing::kGrid3)).event().event().id();
  // Acted on by the supervisor itself: its own records come back to it too.
  pb::Request supervise;
  supervise.mutable_supervise()->set_event_id(inside);
  supervise.mutable_supervise()->set_note("hurry");
  Client sup_front = city.As(sup_key);
  AnswerOk(sup_front, supervise);
  pb::Request log;
  log.mutable_log();
  const pb::LogResult all = AnswerOk(*city.admin, log).log();
  std::vector<uint64_t> expected;
  for (const pb::Record& r : all.records()) {
    if (r.event_id() == inside) expected.push_back(r.seq());
  }
  REQUIRE(expected.size() == 3);  // submitted, dispatched, supervised
  std::vector<uint64_t> delivered;
  while (sup.last_seq() < all.last_seq()) {
    auto next = sup.Next(10s);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    if (!next->has_value()) break;
    CHECK((*next)->event_id() == inside);
    delivered.push_back((*next)->seq());
  }
  CHECK(sup.bus_refused());
  CHECK(delivered == expected);
  CHECK(sup.last_seq() == all.last_seq());
  // Passed over: the other community's event, and the principals' records.
  CHECK(std::count_if(all.records().begin(), all.records().end(),
                      [&](const pb::Record& r) { return r.event_id() == outside; }) == 2);
  CHECK(sup.withheld() == all.records_size() - expected.size());
}

// The answer to `client`'s posted request, waited for up to 10 s.
pb::Response Collected(Client& client) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    client.AwaitPosted(100ms);
    auto got = client.Collect();
    REQUIRE_MESSAGE(got.ok(), got.status().ToString());
    if (got->has_value()) return **got;
  }
  FAIL("no answer to the posted request within 10 s");
  return {};
}

TEST_CASE(
    "an agent's held log read is woken by a record of its reach, not by another community's") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  Client desk = city.As(city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee"));
  pb::Request log;
  log.mutable_log()->set_after_seq(UINT64_MAX);
  const uint64_t start = AnswerOk(*city.admin, log).log().last_seq();
  log.mutable_log()->set_after_seq(start);
  log.mutable_log()->set_wait_ms(20000);
  REQUIRE(desk.Post(log, 30s).ok());
  REQUIRE(testing::Eventually([&] { return Metrics(city).log_reads_held() == 1; }));

  // Another community's report: the desk gets it withheld, so it stays held. (The metrics are
  // answered after the report's batch is written: the read would be woken by then.)
  const uint64_t theirs = AnswerOk(reporter, Submit(testing::kGrid3)).event().event().id();
  pb::MetricsResult m = Metrics(city);
  CHECK(m.log_reads_held() == 1);
  CHECK(m.log_reads_woken() == 0);

  // A report in its community wakes it: it gets everything since, the other's withheld.
  const uint64_t ours = AnswerOk(reporter, Submit(testing::kGrid2)).event().event().id();
  pb::Response answer = Collected(desk);
  REQUIRE_MESSAGE(answer.code() == pb::STATUS_OK, answer.message());
  std::string seen;
  for (const pb::Record& r : answer.log().records()) {
    CHECK(r.withheld() == (r.event_id() != ours));
    if (r.event_id() == theirs) seen += "t";
    if (r.event_id() == ours) seen += "o";
  }
  CHECK(seen == "ttoo");  // each submitted and dispatched
  CHECK(answer.log().records(0).seq() == start + 1);
  m = Metrics(city);
  CHECK(m.log_reads_held() == 0);
  CHECK(m.log_reads_held_total() == 1);
  CHECK(m.log_reads_woken() == 1);
}

// Calls desk.Next until the desk knows it is refused on the bus and its read of the log is held.
// (What the log holds so far, the principals' records, is withheld from it: no reason to answer.)
void UntilReadHeld(SecureCity& city, Subscriber& desk) {
  for (int i = 0; i < 100 && Metrics(city).log_reads_held() == 0; ++i) {
    auto next = desk.Next(100ms);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    CHECK_FALSE(next->has_value());
  }
  REQUIRE(Metrics(city).log_reads_held() == 1);
}

TEST_CASE(
    "an idle Subscriber refused on the bus sends one held read, and sees a report as it comes") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  Subscriber desk(city.context, city.dispatcher.bus(), city.dispatcher.front(), 0,
                  SecureCity::Options(city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee")));
  UntilReadHeld(city, desk);
  CHECK(desk.bus_refused());
  // Then idle through many of the short waits an agent's loop makes (whistle-agent: 50 ms): the
  // read is held through them all, where reading every kLogPollInterval sent one each.
  auto log_reads = [&] {
    uint64_t n = 0;
    const pb::MetricsResult m = Metrics(city);
    for (const auto& c : m.by_command()) n += c.command() == "log" ? c.count() : 0;
    return n;
  };
  const uint64_t answered = log_reads();
  const uint64_t held = Metrics(city).log_reads_held_total();
  const auto idle_from = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - idle_from < 8 * kLogPollInterval) {
    auto next = desk.Next(50ms);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    CHECK_FALSE(next->has_value());
  }
  CHECK(log_reads() == answered);
  CHECK(Metrics(city).log_reads_held_total() == held);
  CHECK(Metrics(city).log_reads_held() == 1);
  // A report in its community comes through the read held.
  const uint64_t ours = AnswerOk(reporter, Submit(testing::kGrid1)).event().event().id();
  auto next = desk.Next(10s);
  REQUIRE_MESSAGE(next.ok(), next.status().ToString());
  REQUIRE(next->has_value());
  CHECK((*next)->event_id() == ours);
  CHECK((*next)->has_submitted());
  CHECK(desk.withheld() >= 3);  // passed over on the way: the principals' records
  CHECK(Metrics(city).log_reads_woken() >= 1);
}

TEST_CASE(
    "a held read lost with a dispatcher killed -9 is sent again when its connection drops, not "
    "after its patience") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  // One attempt (SecureCity::Options): a sending lost with its connection is not a want of an
  // answer, and does not use it up.
  Subscriber desk(city.context, city.dispatcher.bus(), city.dispatcher.front(), 0,
                  SecureCity::Options(city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee")));
  UntilReadHeld(city, desk);
  city.dispatcher.Kill();
  city.dispatcher.StartOnSamePorts();
  const uint64_t ours = AnswerOk(reporter, Submit(testing::kGrid1)).event().event().id();
  // Its read died with the dispatcher. Sent again as the connection dropped, it is held by the
  // new one and woken by the report; waiting out its patience would take 22 s.
  std::optional<pb::Record> got;
  const auto from = std::chrono::steady_clock::now();
  while (!got && std::chrono::steady_clock::now() - from < kLogHoldTime / 2) {
    auto next = desk.Next(1s);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    got = *next;
  }
  REQUIRE(got.has_value());
  CHECK(got->event_id() == ours);
  CHECK(got->has_submitted());
}

TEST_CASE("a Subscriber passing over a backlog of withheld records keeps to the wait it was asked for") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  const pb::KeyFile desk_key = city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee");
  pb::Request log;
  log.mutable_log()->set_after_seq(UINT64_MAX);
  const uint64_t start = AnswerOk(*city.admin, log).log().last_seq();
  // More than a page of the log (1,000 records) out of the desk's reach: one report in the other
  // community and its repeats, then one in its own.
  for (int i = 0; i < 1100; ++i) AnswerOk(reporter, Submit(testing::kGrid3));
  const uint64_t ours = AnswerOk(reporter, Submit(testing::kGrid1)).event().event().id();

  Subscriber desk(city.context, city.dispatcher.bus(), city.dispatcher.front(), start,
                  SecureCity::Options(desk_key));
  // Each call reads a page at most, passes it over, and is out of time for another. (A read may
  // still be on its way when the wait ends: it is taken at the next call.)
  for (int call = 0; call < 1000 && desk.withheld() == 0; ++call) {
    auto none = desk.Next(1ms);
    REQUIRE_MESSAGE(none.ok(), none.status().ToString());
    CHECK_FALSE(none->has_value());
  }
  CHECK(desk.withheld() >= 1);
  CHECK(desk.withheld() <= 1000);  // one page of the log at most
  CHECK(desk.last_seq() == start + desk.withheld());
  std::optional<pb::Record> first;
  for (int call = 0; call < 100 && !first; ++call) {
    auto next = desk.Next(10s);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    first = *next;
  }
  REQUIRE(first.has_value());
  CHECK(first->event_id() == ours);
  CHECK(first->has_submitted());
  CHECK(desk.withheld() >= 1101);  // the first report, its dispatch and its 1,099 repeats
}

TEST_CASE("a reporter cannot claim, department A cannot touch B's task, the hotline submits but does not resolve") {
  SecureCity city;
  Client reporter = city.As(city.Principal("app-1", pb::ROLE_REPORTER));
  Client agent_a = city.As(city.Principal("desk-a", pb::ROLE_AGENT, "c1-committee"));
  Client agent_b = city.As(city.Principal("desk-b", pb::ROLE_AGENT, "c2-committee"));
  Client hotline = city.As(city.Principal("hotline", pb::ROLE_HOTLINE));

  uint64_t id = AnswerOk(reporter, Submit()).event().event().id();
  uint64_t before = city.Digest();

  pb::Request claim;
  claim.mutable_claim()->set_event_id(id);
  claim.mutable_claim()->set_department("c1-committee");
  pb::Response by_reporter = Answer(reporter, claim);
  CHECK(by_reporter.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(by_reporter.message() == "reporter 'app-1' may not claim");
  pb::Response b_for_a = Answer(agent_b, claim);
  CHECK(b_for_a.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(b_for_a.message() == "agent 'desk-b' of department 'c2-committee' may not claim: it does not "
                             "act for department 'c1-committee'");
  CHECK(city.Digest() == before);

  uint64_t claim_number = AnswerOk(agent_a, claim).event().event().claim_number();
  before = city.Digest();
  pb::Request resolve;
  resolve.mutable_resolve()->set_event_id(id);
  resolve.mutable_resolve()->set_claim_number(claim_number);
  resolve.mutable_resolve()->set_note("fixed");
  pb::Response b_resolves = Answer(agent_b, resolve);
  CHECK(b_resolves.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(b_resolves.message().ends_with("its department does not hold event 1"));
  pb::Response hotline_resolves = Answer(hotline, resolve);
  CHECK(hotline_resolves.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(hotline_resolves.message() == "hotline 'hotline' may not resolve");
  CHECK(city.Digest() == before);

  const uint64_t by_hotline = AnswerOk(hotline, Submit(testing::kGrid2)).event().event().id();
  // Each lists its own reports, by the key it connected with, and a reporter nothing else.
  pb::Request mine;
  mine.mutable_list()->set_mine(true);
  const pb::Response reporter_list = AnswerOk(reporter, mine);
  REQUIRE(reporter_list.list().events_size() == 1);
  CHECK(reporter_list.list().events(0).id() == id);
  CHECK(reporter_list.list().events(0).report().contact_phone().empty());  // not even its own
  const pb::Response hotline_list = AnswerOk(hotline, mine);
  REQUIRE(hotline_list.list().events_size() == 1);
  CHECK(hotline_list.list().events(0).id() == by_hotline);
  CHECK(AnswerOk(agent_a, mine).list().events_size() == 0);
  pb::Request department_list;
  department_list.mutable_list()->set_department("c1-committee");
  pb::Response reporter_department = Answer(reporter, department_list);
  CHECK(reporter_department.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(reporter_department.message() == "reporter 'app-1' may not list: it lists only its own reports (mine)");
  // Readers other than admins never see the reporter's phone.
  pb::Request get;
  get.mutable_get()->set_event_id(id);
  get.mutable_get()->set_with_history(true);
  CHECK(AnswerOk(agent_a, get).event().event().report().contact_phone().empty());
  CHECK(AnswerOk(hotline, get).event().history(0).submitted().report().contact_phone().empty());
  CHECK(AnswerOk(*city.admin, get).event().event().report().contact_phone() == "13900000000");
  AnswerOk(agent_a, resolve);
}

TEST_CASE("malformed, truncated, oversized and out-of-range input each get their error and change nothing") {
  SecureCity city;
  AnswerOk(*city.admin, [] {
    pb::Request r;
    r.mutable_whoami();
    return r;
  }());
  pb::KeyFile hotline_key = city.Principal("hotline", pb::ROLE_HOTLINE);
  Client hotline = city.As(hotline_key);
  AnswerOk(hotline, Submit());
  uint64_t before = city.Digest();

  std::string valid = Submit().SerializeAsString();
  struct Case {
    std::string what;
    std::vector<std::string> frames;
    pb::StatusCode code;
  };
  std::vector<Case> cases = {
      {"garbage", {"\xff\xff\xff\xff garbage"}, pb::STATUS_BAD_REQUEST},
      {"truncated", {valid.substr(0, valid.size() - 5)}, pb::STATUS_BAD_REQUEST},
      {"oversized", {std::string(100 * 1024, 'a')}, pb::STATUS_TOO_LARGE},
      {"two frames", {valid, valid}, pb::STATUS_BAD_REQUEST},
      {"no command", {std::string("\x98\x06\x01", 3)}, pb::STATUS_BAD_REQUEST},
  };
  auto add = [&](std::string what, pb::Request r, pb::StatusCode code) {
    if (r.request_id().empty()) r.set_request_id(Client::NewRequestId());
    cases.push_back({std::move(what), {r.SerializeAsString()}, code});
  };
  // Submits go as the hotline (an admin may not submit); the rest as the admin.
  pb::Request r;
  r.mutable_get()->set_event_id(0);
  add("event id 0", r, pb::STATUS_BAD_REQUEST);
  r.mutable_get()->set_event_id(UINT64_MAX);
  add("unknown event", r, pb::STATUS_NOT_FOUND);
  r.Clear();
  r.mutable_list()->set_department("c1-committee");
  r.mutable_list()->set_page_size(1u << 30);
  add("page size", r, pb::STATUS_BAD_REQUEST);
  r.Clear();
  r.mutable_log()->set_max_records(UINT32_MAX);
  add("log size", r, pb::STATUS_BAD_REQUEST);
  r.Clear();
  r.mutable_set_mode()->set_region(testing::kCounty);
  r.mutable_set_mode()->set_mode(static_cast<pb::Mode>(77));
  add("mode out of range", r, pb::STATUS_BAD_REQUEST);
  r = Submit();
  r.mutable_submit()->mutable_report()->set_description(std::string(20000, 'x'));
  add("description too long", r, pb::STATUS_BAD_REQUEST);
  r = Submit();
  for (int i = 0; i < 100; ++i) r.mutable_submit()->mutable_report()->add_media_urls("http://m/1.jpg");
  add("too many media", r, pb::STATUS_BAD_REQUEST);
  r = Submit();
  r.mutable_submit()->mutable_report()->set_category(std::string(500, 'c'));
  add("category too long", r, pb::STATUS_NOT_FOUND);
  r = Submit();
  r.mutable_submit()->mutable_report()->mutable_position()->set_lon(1000);
  r.mutable_submit()->mutable_report()->clear_grid();
  add("position out of range", r, pb::STATUS_BAD_REQUEST);
  r = Submit();
  r.set_request_id(std::string(1000, 'r'));
  add("request id too long", r, pb::STATUS_BAD_REQUEST);
  r = Submit();
  for (int i = 0; i < 1000; ++i) {
    pb::AttributeAnswer* a = r.mutable_submit()->mutable_report()->add_attributes();
    a->set_code(fmt::format("a{}", i));
    a->add_values("1");
  }
  add("too many attribute answers", r, pb::STATUS_BAD_REQUEST);
  r.Clear();
  r.mutable_list()->set_city(true);
  for (int i = 0; i < 1000; ++i) r.mutable_list()->add_categories("water");
  add("too many categories", r, pb::STATUS_BAD_REQUEST);
  r.Clear();
  r.mutable_create_principal()->mutable_principal()->set_name("x");
  r.mutable_create_principal()->mutable_principal()->set_role(pb::ROLE_DEV);
  add("a dev principal", r, pb::STATUS_BAD_REQUEST);

  for (const Case& c : cases) {
    CAPTURE(c.what);
    pb::Request parsed;
    bool submit = c.frames.size() == 1 && parsed.ParseFromString(c.frames[0]) && parsed.has_submit();
    auto answer = testing::SendRawFrames(city.context, city.dispatcher.front(), c.frames,
                                         submit ? hotline_key : *city.admin_key);
    REQUIRE(answer.has_value());
    CHECK(answer->code() == c.code);
    CHECK_FALSE(answer->message().empty());
  }
  CHECK(city.Digest() == before);
  AnswerOk(hotline, Submit());  // still serving
}

TEST_CASE("the server refuses to start when its ZAP handler cannot run") {
  // Without a handler libzmq lets any CURVE key in: this is what the start-up self-test guards.
  zmq::context_t context;
  pb::KeyFile server_key = NewKeyPair("server");
  zmq::socket_t open_door(context, zmq::socket_type::router);
  open_door.set(zmq::sockopt::linger, 0);
  MakeCurveServer(open_door, server_key, kZapDomain);
  open_door.bind("tcp://127.0.0.1:*");
  pb::KeyFile stranger = NewKeyPair("stranger");
  stranger.set_server_public_key(server_key.public_key());
  zmq::socket_t probe(context, zmq::socket_type::dealer);
  probe.set(zmq::sockopt::linger, 0);
  MakeCurveClient(probe, stranger);
  CHECK(ConnectAndAwaitHandshake(context, probe, open_door.get(zmq::sockopt::last_endpoint), 5s) ==
        Handshake::kSucceeded);

  // Another handler holds the ZAP endpoint of the context: the server will not serve.
  zmq::socket_t squatter(context, zmq::socket_type::rep);
  squatter.set(zmq::sockopt::linger, 0);
  squatter.bind("inproc://zeromq.zap.01");
  testing::EngineFixture f;
  ServerOptions options;
  options.front_endpoint = "tcp://127.0.0.1:*";
  options.bus_endpoint = "tcp://127.0.0.1:*";
  options.server_key = server_key;
  auto server = Server::Start(context, f.engine(), options);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().code() == pb::STATUS_UNAVAILABLE);
  CHECK(server.status().message().find("ZAP") != std::string::npos);
}

}  // namespace
}  // namespace whistle

namespace whistle {
namespace {

pb::Request TicketRequest(const std::string& principal = "", uint32_t hours = 0) {
  pb::Request r;
  r.mutable_ticket()->set_principal(principal);
  r.mutable_ticket()->set_hours(hours);
  return r;
}

pb::Request SuperviseRequest(uint64_t id, const std::string& ticket) {
  pb::Request r;
  r.set_request_id(Client::NewRequestId());
  r.set_acting_ticket(ticket);
  r.mutable_supervise()->set_event_id(id);
  r.mutable_supervise()->set_note("the residents are waiting");
  return r;
}

TEST_CASE("a console acts only on a person's ticket, as that person, a forged, misused or revoked ticket changes nothing") {
  SecureCity city;
  pb::KeyFile sup_key = city.Principal("sup-1", pb::ROLE_SUPERVISOR);
  pb::KeyFile console_key = city.Principal("ops-console", pb::ROLE_CONSOLE);
  pb::KeyFile reporter_key = city.Principal("worker-1", pb::ROLE_REPORTER);
  Client sup = city.As(sup_key);
  Client console = city.As(console_key);
  Client reporter = city.As(reporter_key);
  const uint64_t id = AnswerOk(reporter, Submit()).event().event().id();

  pb::TicketResult issued = AnswerOk(sup, TicketRequest()).ticket();
  CHECK(issued.principal().name() == "sup-1");
  CHECK(issued.principal().public_key().empty());
  const std::string ticket = issued.ticket();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(issued.expires_at_ms() > now_ms + 11 * 3600 * 1000);  // 12 hours by default
  CHECK(issued.expires_at_ms() <= now_ms + 12 * 3600 * 1000 + 60'000);

  // Refusals first; none of them writes anything.
  const uint64_t before = city.Digest();
  pb::Response other = Answer(sup, TicketRequest("worker-1"));
  CHECK(other.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(other.message() == "supervisor 'sup-1' may ask for a ticket for itself only");
  CHECK(Answer(sup, TicketRequest("", 25)).code() == pb::STATUS_BAD_REQUEST);
  pb::Response own = Answer(console, TicketRequest());
  CHECK(own.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(own.message() == "console 'ops-console' may not ticket");

  pb::Response by_itself = Answer(console, SuperviseRequest(id, ""));
  CHECK(by_itself.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(by_itself.message() == "console 'ops-console' may not supervise");
  pb::Response not_a_console = Answer(reporter, SuperviseRequest(id, ticket));
  CHECK(not_a_console.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(not_a_console.message() == "reporter 'worker-1' may not act on a ticket: only a console may");
  std::string forged = ticket;
  forged.replace(3, 5, "admin");
  pb::Response forged_answer = Answer(console, SuperviseRequest(id, forged));
  CHECK(forged_answer.code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(forged_answer.message() == "the console ticket was not issued by this dispatcher (or its key changed)");
  pb::Request nested = TicketRequest();
  nested.set_acting_ticket(ticket);
  CHECK(Answer(console, nested).message() == "a ticket is not issued on a ticket");
  // A reporter's ticket carries a reporter's rights, no more.
  const std::string reporter_ticket = AnswerOk(reporter, TicketRequest()).ticket().ticket();
  pb::Request mode;
  mode.set_request_id(Client::NewRequestId());
  mode.set_acting_ticket(reporter_ticket);
  mode.mutable_set_mode()->set_region(testing::kCounty);
  mode.mutable_set_mode()->set_mode(pb::MODE_EMERGENCY);
  pb::Response reporter_mode = Answer(console, mode);
  CHECK(reporter_mode.code() == pb::STATUS_PERMISSION_DENIED);
  CHECK(reporter_mode.message() == "reporter 'worker-1' may not set_mode");
  CHECK(city.Digest() == before);
  // On it, mine is the reporter's reports, not the console's (which has none).
  pb::Request mine;
  mine.set_acting_ticket(reporter_ticket);
  mine.mutable_list()->set_mine(true);
  const pb::Response reporter_mine = AnswerOk(console, mine);
  REQUIRE(reporter_mine.list().events_size() == 1);
  CHECK(reporter_mine.list().events(0).id() == id);

  // On the supervisor's ticket the console supervises, as the supervisor, via the console.
  pb::Response supervised = AnswerOk(console, SuperviseRequest(id, ticket));
  CHECK(supervised.event().event().supervised());
  pb::Request get;
  get.mutable_get()->set_event_id(id);
  get.mutable_get()->set_with_history(true);
  const pb::Response history = AnswerOk(*city.admin, get);
  const pb::Record& last = *history.event().history().rbegin();
  REQUIRE(last.has_supervised());
  CHECK(last.actor().principal() == "sup-1");
  CHECK(last.actor().role() == pb::ROLE_SUPERVISOR);
  CHECK(last.actor().via() == "ops-console");
  mode.set_acting_ticket(ticket);
  CHECK(AnswerOk(console, mode).mode().mode() == pb::MODE_EMERGENCY);

  // Through the console nobody is answered personal data, not even an admin.
  CHECK(history.event().event().report().contact_phone() == "13900000000");  // the admin, directly
  pb::Request admin_get = get;
  admin_get.set_acting_ticket(AnswerOk(*city.admin, TicketRequest()).ticket().ticket());
  CHECK(AnswerOk(console, admin_get).event().event().report().contact_phone().empty());

  // Revoking the supervisor ends its tickets at once.
  pb::Request revoke;
  revoke.set_request_id("revoke-sup-1");
  revoke.mutable_revoke_principal()->set_name("sup-1");
  AnswerOk(*city.admin, revoke);
  const uint64_t after_revoke = city.Digest();
  pb::Response revoked = Answer(console, SuperviseRequest(id, ticket));
  CHECK(revoked.code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(revoked.message() == "the ticket's principal 'sup-1' is revoked");
  CHECK(city.Digest() == after_revoke);
}

TEST_CASE(
    "a console's held read on a person's ticket is answered UNAUTHENTICATED once the console is "
    "revoked") {
  SecureCity city;
  Client sup = city.As(city.Principal("sup-city", pb::ROLE_SUPERVISOR));
  Client console = city.As(city.Principal("ops-console", pb::ROLE_CONSOLE));
  const std::string ticket = AnswerOk(sup, TicketRequest()).ticket().ticket();
  pb::Request log;
  log.mutable_log()->set_after_seq(UINT64_MAX);
  log.mutable_log()->set_after_seq(AnswerOk(*city.admin, log).log().last_seq());
  log.mutable_log()->set_wait_ms(20000);
  log.set_acting_ticket(ticket);
  REQUIRE(console.Post(log, 30s).ok());
  REQUIRE(testing::Eventually([&] { return Metrics(city).log_reads_held() == 1; }));
  // The revocation's record wakes it (the supervisor of the whole city reads every record); the
  // console that carried it may no longer act for anyone.
  Revoke(city, "ops-console");
  const pb::Response answer = Collected(console);
  CHECK(answer.code() == pb::STATUS_UNAUTHENTICATED);
  CHECK(answer.message() == "principal 'ops-console' is revoked");
  CHECK(answer.log().records_size() == 0);
}

}  // namespace
}  // namespace whistle
