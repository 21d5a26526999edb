// The client library (agents/client.h): its pure parts, and Call against a scripted peer on a
// real loopback socket, for answers a real dispatcher gives only under load. Calls against a real
// dispatcher are in tests/integration.
#include "agents/client.h"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "agents/agent.h"
#include "agents/principals.h"
#include "tests/testing/eventually.h"
#include "tests/testing/temp_dir.h"

namespace whistle {
namespace {

using std::chrono::milliseconds;

// A ROUTER on loopback that answers each request as `script` says (nullopt: no answer), and
// counts them with their request ids.
class ScriptedPeer {
 public:
  explicit ScriptedPeer(std::function<std::optional<pb::StatusCode>(int nth)> script)
      : router_(context_, zmq::socket_type::router), script_(std::move(script)) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedPeer() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  std::set<std::string> request_ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }
  int requests() const { return requests_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(20));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t identity, body;
      (void)router_.recv(identity);
      (void)router_.recv(body);
      pb::Request request;
      REQUIRE(request.ParseFromArray(body.data(), static_cast<int>(body.size())));
      {
        std::lock_guard lock(mu_);
        ids_.insert(request.request_id());
      }
      const auto code = script_(requests_.fetch_add(1));
      if (!code) continue;
      pb::Response response;
      response.set_correlation_id(request.correlation_id());
      response.set_code(*code);
      const std::string bytes = response.SerializeAsString();
      router_.send(identity, zmq::send_flags::sndmore);
      router_.send(zmq::buffer(bytes));
    }
  }

  zmq::context_t context_;
  zmq::socket_t router_;
  std::string endpoint_;
  std::function<std::optional<pb::StatusCode>(int)> script_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::set<std::string> ids_;
  std::thread thread_;
};

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Each attempt waits 2 s: the scripted peer answers at once, and a shorter wait could take a
// loaded machine's late answer for none (UNAVAILABLE where the script said BUSY).
ClientOptions Quick(int attempts) {
  return ClientOptions{
      .timeout = milliseconds(2000), .attempts = attempts, .busy_pause = milliseconds(1), .credentials = {}};
}

// A Submit to `peer` by a fresh client making up to `attempts` attempts.
Result<pb::Response> SubmitTo(const ScriptedPeer& peer, int attempts) {
  zmq::context_t context;
  Client client(context, peer.endpoint(), Quick(attempts));
  pb::Request r;
  r.mutable_submit();
  return client.Call(r);
}

TEST_CASE("a call answered BUSY every time says BUSY: nothing was done") {
  ScriptedPeer peer([](int) { return pb::STATUS_BUSY; });
  auto answer = SubmitTo(peer, 3);
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.status().code() == pb::STATUS_BUSY);
  CHECK(answer.status().message().find("answered BUSY to all 3 attempts") != std::string::npos);
  CHECK(peer.requests() == 3);
  CHECK(peer.request_ids().size() == 1);  // one request id across the attempts
}

TEST_CASE("a call with an attempt unanswered has an unknown outcome, BUSY after it or not") {
  // The first attempt may have been done; the BUSY of the second says nothing about it.
  ScriptedPeer peer([](int nth) -> std::optional<pb::StatusCode> {
    if (nth == 0) return std::nullopt;
    return pb::STATUS_BUSY;
  });
  auto answer = SubmitTo(peer, 2);
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.status().code() == pb::STATUS_UNAVAILABLE);
  CHECK(answer.status().message().find("(1 answered BUSY)") != std::string::npos);
  CHECK(peer.request_ids().size() == 1);
}

TEST_CASE("a call answered after a BUSY returns the answer") {
  ScriptedPeer peer([](int nth) { return nth == 0 ? pb::STATUS_BUSY : pb::STATUS_OK; });
  auto answer = SubmitTo(peer, 2);
  REQUIRE(answer.ok());
  CHECK(answer->code() == pb::STATUS_OK);
}

// Collects the posted request's outcome, waiting up to 10 s.
Result<pb::Response> CollectPosted(Client& client) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    client.AwaitPosted(milliseconds(50));
    auto got = client.Collect();
    if (!got.ok()) return got.status();
    if (got->has_value()) return **got;
  }
  return Internal("no outcome within 10 s");
}

TEST_CASE(
    "a posted request unanswered within its patience is sent again on a fresh socket, up to the "
    "attempts") {
  zmq::context_t context;
  pb::Request read;
  read.mutable_log()->set_wait_ms(20000);
  SUBCASE("the second sending is answered") {
    ScriptedPeer peer([](int nth) -> std::optional<pb::StatusCode> {
      if (nth == 0) return std::nullopt;
      return pb::STATUS_OK;
    });
    // A patience a loaded machine's answer keeps to, and attempts to spare.
    Client client(context, peer.endpoint(), Quick(4));
    REQUIRE(client.Post(read, milliseconds(1000)).ok());
    CHECK(client.posted());
    auto answer = CollectPosted(client);
    REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
    CHECK(answer->code() == pb::STATUS_OK);
    CHECK_FALSE(client.posted());
    CHECK(peer.requests() >= 2);
  }
  SUBCASE("never answered: UNAVAILABLE after the attempts, and nothing posted") {
    ScriptedPeer peer([](int) -> std::optional<pb::StatusCode> { return std::nullopt; });
    Client client(context, peer.endpoint(), Quick(3));
    REQUIRE(client.Post(read, milliseconds(100)).ok());
    auto answer = CollectPosted(client);
    REQUIRE_FALSE(answer.ok());
    CHECK(answer.status().code() == pb::STATUS_UNAVAILABLE);
    CHECK(answer.status().message().find("after 3 attempts") != std::string::npos);
    CHECK_FALSE(client.posted());
    CHECK(testing::Eventually([&] { return peer.requests() == 3; }));
  }
}

TEST_CASE("request ids are 32 hex digits, and none repeats") {
  const std::regex hex32("[0-9a-f]{32}");
  std::set<std::string> ids;
  for (int i = 0; i < 100000; ++i) {
    std::string id = Client::NewRequestId();
    REQUIRE(std::regex_match(id, hex32));
    ids.insert(std::move(id));
  }
  CHECK(ids.size() == 100000);
}

TEST_CASE("the feed's records an agent's start-up lists already showed are not acted on again") {
  // A list showed event 7 with 5 records in its history (event_seq 0..4), event 8 with 2.
  SeenAtStart seen;
  seen.Note(7, 5);
  seen.Note(8, 2);
  auto record = [](uint64_t event, uint32_t event_seq) {
    pb::Record r;
    r.set_event_id(event);
    r.set_event_seq(event_seq);
    return r;
  };
  CHECK(seen.Shown(record(7, 3)));   // made between the log's end read and the list: shown
  CHECK(seen.Shown(record(7, 4)));
  CHECK_FALSE(seen.Shown(record(7, 5)));  // newer than the list: acted on
  CHECK_FALSE(seen.Shown(record(7, 6)));  // and everything after, the event forgotten
  CHECK_FALSE(seen.Shown(record(9, 0)));  // an event no list showed
  CHECK(seen.Shown(record(8, 1)));
  CHECK_FALSE(seen.Shown(record(8, 2)));
}

TEST_CASE("the pause after BUSY doubles with each BUSY in a row, up to 32 times, jittered by half") {
  constexpr uint64_t kLowest = 0, kMiddle = 1ull << 63, kHighest = ~0ull;
  CHECK(BusyBackoff(milliseconds(100), 1, kMiddle) == milliseconds(100));
  CHECK(BusyBackoff(milliseconds(100), 2, kMiddle) == milliseconds(200));
  CHECK(BusyBackoff(milliseconds(100), 3, kMiddle) == milliseconds(400));
  CHECK(BusyBackoff(milliseconds(100), 6, kMiddle) == milliseconds(3200));
  CHECK(BusyBackoff(milliseconds(100), 7, kMiddle) == milliseconds(3200));   // capped
  CHECK(BusyBackoff(milliseconds(100), 1000, kMiddle) == milliseconds(3200));
  CHECK(BusyBackoff(milliseconds(100), 0, kMiddle) == milliseconds(100));    // as the first
  CHECK(BusyBackoff(milliseconds(100), 1, kLowest) == milliseconds(50));     // half
  CHECK(BusyBackoff(milliseconds(100), 1, kHighest) == milliseconds(149));   // just under 1.5x
  CHECK(BusyBackoff(milliseconds(100), 6, kLowest) == milliseconds(1600));
  CHECK(BusyBackoff(milliseconds(0), 5, kHighest) == milliseconds(0));
}

TEST_CASE("a key file is written new, mode 0600, and a file already there is never replaced") {
  testing::TempDir dir;
  const std::string path = dir.Sub("desk.key");
  REQUIRE(WriteKeyFile(path, NewKeyPair("desk")).ok());
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  const std::string kept = ReadWholeFile(path);
  Status again = WriteKeyFile(path, NewKeyPair("desk"));
  CHECK(again.code() == pb::STATUS_BAD_REQUEST);
  CHECK(again.message().find("exists") != std::string::npos);
  CHECK(ReadWholeFile(path) == kept);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // no temporary left
}

TEST_CASE("principal-create's key file goes when refused, stays when the outcome is unknown") {
  testing::TempDir dir;
  zmq::context_t context;
  const std::string server = EncodeZ85Key(std::string(32, 's'));
  auto create = [&](pb::StatusCode answered, const std::string& path) {
    ScriptedPeer peer([answered](int) { return answered; });
    Client admin(context, peer.endpoint(), Quick(1));
    pb::Request r;
    r.mutable_create_principal()->mutable_principal()->set_name("desk");
    auto answer = CreatePrincipalWithKeyFile(admin, server, r, path);
    return std::pair{peer.requests(), answer.ok() ? answer->code() : answer.status().code()};
  };
  CHECK(create(pb::STATUS_OK, dir.Sub("made.key")).second == pb::STATUS_OK);
  CHECK(std::filesystem::exists(dir.Sub("made.key")));
  CHECK(create(pb::STATUS_ILLEGAL_TRANSITION, dir.Sub("refused.key")).second == pb::STATUS_ILLEGAL_TRANSITION);
  CHECK_FALSE(std::filesystem::exists(dir.Sub("refused.key")));
  CHECK(create(pb::STATUS_BUSY, dir.Sub("busy.key")).second == pb::STATUS_BUSY);
  CHECK_FALSE(std::filesystem::exists(dir.Sub("busy.key")));
  // A write that failed on the dispatcher's disk may be found at its restart: kept for a repeat.
  CHECK(create(pb::STATUS_UNAVAILABLE, dir.Sub("unknown.key")).second == pb::STATUS_UNAVAILABLE);
  CHECK(std::filesystem::exists(dir.Sub("unknown.key")));
  // Onto an existing key file (here the one just made): refused before anything is sent.
  const std::string kept = ReadWholeFile(dir.Sub("made.key"));
  auto [sent, code] = create(pb::STATUS_ILLEGAL_TRANSITION, dir.Sub("made.key"));
  CHECK(sent == 0);
  CHECK(code == pb::STATUS_BAD_REQUEST);
  CHECK(ReadWholeFile(dir.Sub("made.key")) == kept);
}

}  // namespace
}  // namespace whistle
