#include "agents/gateway/callback_sender.h"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/gateway/hotline/hotline_records.h"
#include "tests/testing/eventually.h"
#include "tests/testing/temp_dir.h"

namespace whistle::gateway {
namespace {

using namespace std::chrono_literals;
using testing::Feed;
using whistle::testing::Eventually;
using testing::OpenOrDie;
using testing::PendingCountOrDie;
using testing::PendingOrDie;
using whistle::testing::TempDir;

// One POST the receiver handled.
struct Delivery {
  std::string order_no;
  std::string change_id;
  std::string status;
  nlohmann::json body;
  std::string change_id_header;
  std::string idempotency_key;
  std::string content_type;
};

// A hotline's callback endpoint on 127.0.0.1: answers the first `fail_first` POSTs 500, and
// makes the first `stall_first` POSTs it would accept wait `stall` before answering 200 (so the
// sender times out and tries again).
class Receiver {
 public:
  struct Options {
    int port = 0;  // 0 = any free port
    int fail_first = 0;
    int stall_first = 0;
    std::chrono::milliseconds stall{0};
  };

  explicit Receiver(Options options) : options_(options) {
    server_.Post("/hotline/callbacks", [this](const httplib::Request& req, httplib::Response& res) {
      bool stall = false;
      {
        std::lock_guard lock(mu_);
        ++attempts_;
        if (failed_ < options_.fail_first) {
          ++failed_;
          res.status = 500;
          return;
        }
        Delivery d;
        d.body = nlohmann::json::parse(req.body);
        d.order_no = d.body.at("order_no");
        d.change_id = d.body.at("change_id");
        d.status = d.body.at("status");
        d.change_id_header = req.get_header_value("X-Whistle-Change-Id");
        d.idempotency_key = req.get_header_value("Idempotency-Key");
        d.content_type = req.get_header_value("Content-Type");
        received_.push_back(std::move(d));
        if (stalled_ < options_.stall_first) {
          ++stalled_;
          stall = true;
        }
      }
      if (stall) std::this_thread::sleep_for(options_.stall);
      res.status = 200;
      res.set_content("{}", "application/json");
    });
    if (options_.port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
      REQUIRE(port_ > 0);
    } else {
      port_ = options_.port;
      REQUIRE(server_.bind_to_port("127.0.0.1", port_));
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // Server::stop() does nothing until the server runs: wait for it, or Stop() could hang.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    REQUIRE(server_.is_running());
  }
  ~Receiver() { Stop(); }

  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/hotline/callbacks", port_); }
  std::vector<Delivery> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  int attempts() const {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  const Options options_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  int attempts_ = 0;
  int failed_ = 0;
  int stalled_ = 0;
  std::vector<Delivery> received_;
};

CallbackSenderOptions TestOptions(std::string client, std::string url) {
  CallbackSenderOptions o;
  o.client = std::move(client);
  o.callback_url = std::move(url);
  o.utc_offset_minutes = 8 * 60;
  // Long enough that a loaded machine (a sanitizer build, other tests) never sees a delivery time
  // out and repeated, which the exact counts below would take for a bug.
  o.timeout = 5000ms;
  o.initial_backoff = 20ms;
  o.max_backoff = 200ms;
  o.idle_poll = 50ms;
  o.batch = 4;  // smaller than the outbox, so the sender reads it in several rounds
  o.log = false;
  return o;
}

std::unique_ptr<CallbackSender> StartOrDie(GatewayStore& store, CallbackSenderOptions options) {
  auto sender = CallbackSender::Start(store, std::move(options));
  REQUIRE_MESSAGE(sender.ok(), sender.status().ToString());
  return std::move(sender).value();
}

// A feed with three hotline orders of client "hl" (two on event 5) and one of "other".
Feed BusyFeed() {
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Submit(6, "hl", "C3");
  feed.Link(5, "hl", "B2");
  feed.Submit(7, "other", "A1");
  feed.Claim(5, "water");
  feed.Claim(6, "roads");
  feed.Release(5, "water");
  feed.Claim(7, "parks");
  feed.Claim(5, "water");
  feed.Resolve(6, "roads");
  feed.Resolve(5, "water");
  feed.Close(6);
  feed.Close(5);
  return feed;
}

using Change = std::pair<std::string, std::string>;  // (order_no, change_id)

std::set<Change> Changes(const std::vector<pb::OrderCallback>& callbacks) {
  std::set<Change> out;
  for (const auto& cb : callbacks) out.emplace(cb.order_no(), std::to_string(cb.change_id()));
  return out;
}

// Every change at least once, nothing else, and each order's changes in change order.
void CheckExactlyOnceInOrder(const std::vector<Delivery>& received,
                             const std::vector<pb::OrderCallback>& expected) {
  std::set<Change> seen;
  std::map<std::string, uint64_t> last_per_order;
  for (const Delivery& d : received) {
    seen.emplace(d.order_no, d.change_id);
    const uint64_t id = std::stoull(d.change_id);
    CAPTURE(d.order_no);
    CHECK(id >= last_per_order[d.order_no]);  // a repeat of the head is allowed, going back not
    last_per_order[d.order_no] = id;
  }
  CHECK(seen == Changes(expected));
}

TEST_CASE("every callback reaches a receiver that fails the first deliveries, in order") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed = BusyFeed();
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  const auto expected = PendingOrDie(*store, "hl");
  REQUIRE(expected.size() == 13);

  Receiver receiver({.fail_first = 4});
  auto sender = StartOrDie(*store, TestOptions("hl", receiver.url()));
  REQUIRE(Eventually([&] { return PendingCountOrDie(*store, "hl") == 0; }));
  sender->Stop();

  CHECK(sender->failed_attempts() >= 4);
  CHECK(sender->delivered() == expected.size());
  CHECK(receiver.received().size() == expected.size());  // nothing was answered 2xx twice
  CheckExactlyOnceInOrder(receiver.received(), expected);
  CHECK(PendingCountOrDie(*store, "other") == 1);  // another client's outbox is not touched
}

TEST_CASE("callbacks wait while the receiver is down and all arrive once it comes up") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed = BusyFeed();
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  const auto expected = PendingOrDie(*store, "hl");

  int port = 0;
  {
    Receiver gone({});  // find a free port, then close it: nobody listens there
    port = gone.port();
  }
  const std::string url = fmt::format("http://127.0.0.1:{}/hotline/callbacks", port);
  auto sender = StartOrDie(*store, TestOptions("hl", url));
  REQUIRE(Eventually([&] { return sender->failed_attempts() >= 3; }));
  CHECK(PendingCountOrDie(*store, "hl") == expected.size());
  CHECK(sender->last_error().find("127.0.0.1") != std::string::npos);

  Receiver receiver({.port = port});
  REQUIRE(Eventually([&] { return PendingCountOrDie(*store, "hl") == 0; }));
  sender->Stop();
  CHECK(sender->delivered() == expected.size());
  CheckExactlyOnceInOrder(receiver.received(), expected);
}

TEST_CASE("a receiver too slow to answer gets the callback again and can drop the repeat") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Claim(5, "water");
  feed.Resolve(5, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  const auto expected = PendingOrDie(*store, "hl");

  Receiver receiver({.stall_first = 1, .stall = 1500ms});
  auto options = TestOptions("hl", receiver.url());
  options.timeout = 300ms;
  auto sender = StartOrDie(*store, options);
  REQUIRE(Eventually([&] { return PendingCountOrDie(*store, "hl") == 0; }));
  sender->Stop();
  receiver.Stop();  // lets the stalled handler finish before reading what it saw

  CHECK(sender->failed_attempts() >= 1);
  const auto received = receiver.received();
  CHECK(received.size() > expected.size());  // the first change came twice
  CheckExactlyOnceInOrder(received, expected);
}

TEST_CASE("two orders on one event each get every change of the event") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Link(5, "hl", "B2");
  feed.Claim(5, "water");
  feed.Resolve(5, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());

  Receiver receiver({});
  auto sender = StartOrDie(*store, TestOptions("hl", receiver.url()));
  REQUIRE(Eventually([&] { return receiver.received().size() == 4; }));
  sender->Stop();
  std::map<std::string, std::vector<std::string>> statuses;
  for (const Delivery& d : receiver.received()) statuses[d.order_no].push_back(d.status);
  CHECK(statuses["A1"] == std::vector<std::string>{"claimed", "resolved"});
  CHECK(statuses["B2"] == std::vector<std::string>{"claimed", "resolved"});
}

TEST_CASE("Notify wakes an idle sender for callbacks applied after it started") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Receiver receiver({});
  auto options = TestOptions("hl", receiver.url());
  options.idle_poll = 1h;  // only Notify can wake it in time
  auto sender = StartOrDie(*store, options);

  Feed feed;
  feed.Submit(5, "hl", "A1");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  std::this_thread::sleep_for(50ms);  // let the sender find the outbox empty and go idle
  feed.Claim(5, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());
  sender->Notify();
  REQUIRE(Eventually([&] { return sender->delivered() == 1; }));
  sender->Stop();
  REQUIRE(receiver.received().size() == 1);
  CHECK(receiver.received()[0].status == "claimed");
}

TEST_CASE("a callback is posted as JSON with the change id and idempotency key headers") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "2024/A1");
  feed.Claim(5, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());

  Receiver receiver({});
  auto sender = StartOrDie(*store, TestOptions("hl", receiver.url()));
  REQUIRE(Eventually([&] { return sender->delivered() == 1; }));
  sender->Stop();
  const auto received = receiver.received();
  REQUIRE(received.size() == 1);
  const Delivery& d = received[0];
  CHECK(d.content_type == "application/json");
  CHECK(d.change_id_header == "3");
  CHECK(d.idempotency_key == "2024/A1/3");
  const nlohmann::json want = {
      {"change_id", "3"},
      {"order_no", "2024/A1"},
      {"event_id", "5"},
      {"status", "claimed"},
      {"level", "community"},
      {"department", "water"},
      {"at", "2023-11-15T06:13:23+08:00"},
  };
  CHECK(d.body == want);
}

TEST_CASE("stopping a sender that is backing off leaves its callbacks in the outbox") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  Feed feed;
  feed.Submit(5, "hl", "A1");
  feed.Claim(5, "water");
  REQUIRE(store->Apply(feed.records(), testing::kGateway).ok());

  Receiver receiver({.fail_first = 1000});
  auto options = TestOptions("hl", receiver.url());
  options.initial_backoff = 1h;  // Stop must not wait for this
  options.max_backoff = 1h;
  auto sender = StartOrDie(*store, options);
  REQUIRE(Eventually([&] { return sender->failed_attempts() >= 1; }));
  sender->Stop();
  sender->Stop();  // idempotent
  CHECK(sender->delivered() == 0);
  CHECK(PendingCountOrDie(*store, "hl") == 1);
}

TEST_CASE("the callback body leaves out empty fields and writes ids as strings") {
  pb::OrderCallback cb;
  cb.set_change_id(18446744073709551615ull);
  cb.set_order_no("A1");
  cb.set_event_id(9);
  cb.set_status(pb::ORDER_CLOSED);
  cb.set_at_ms(0);
  cb.set_closure("merged");
  cb.set_merged_into(4);
  const auto body = nlohmann::json::parse(CallbackJson(cb, -90));
  const nlohmann::json want = {
      {"change_id", "18446744073709551615"},
      {"order_no", "A1"},
      {"event_id", "9"},
      {"status", "closed"},
      {"at", "1969-12-31T22:30:00-01:30"},
      {"closure", "merged"},
      {"merged_into", "4"},
  };
  CHECK(body == want);
}

TEST_CASE("odd bytes of an order number are percent-encoded in the idempotency key") {
  pb::OrderCallback cb;
  cb.set_order_no(std::string("a b\r\n%\xe4\0", 8));
  cb.set_change_id(12);
  CHECK(IdempotencyKey(cb) == "a%20b%0D%0A%25%E4%00/12");
}

TEST_CASE("callback URLs split into origin and path") {
  struct Case {
    std::string_view url, origin, path;
  };
  for (const Case& c : {
           Case{"http://127.0.0.1:8080/cb", "http://127.0.0.1:8080", "/cb"},
           Case{"http://hotline.example", "http://hotline.example", "/"},
           Case{"https://hotline.example/a/b?x=1#frag", "https://hotline.example", "/a/b?x=1"},
           Case{"http://h:1?q", "http://h:1", "/?q"},
           Case{"http://[::1]:9000/cb", "http://[::1]:9000", "/cb"},
       }) {
    CAPTURE(c.url);
    auto u = ParseCallbackUrl(c.url);
    REQUIRE_MESSAGE(u.ok(), u.status().ToString());
    CHECK(u->origin == c.origin);
    CHECK(u->path == c.path);
  }
}

TEST_CASE("bad callback URLs are refused naming the problem") {
  for (std::string_view url :
       {"", "ftp://h/", "http://", "http:///x", "http://h:/x", "http://h:0/x", "http://h:70000/x",
        "http://h:8o/x", "http://u:p@h/x", "http://h/a b", "hotline.example/cb"}) {
    CAPTURE(url);
    auto u = ParseCallbackUrl(url);
    CHECK(u.status().code() == pb::STATUS_BAD_REQUEST);
  }
}

TEST_CASE("a sender is not started with a bad URL or client name") {
  TempDir dir;
  auto store = OpenOrDie(dir.Sub("gw"));
  CHECK(CallbackSender::Start(*store, TestOptions("hl", "gopher://x/")).status().code() ==
        pb::STATUS_BAD_REQUEST);
  CHECK(CallbackSender::Start(*store, TestOptions("has/slash", "http://h/")).status().code() ==
        pb::STATUS_BAD_REQUEST);
}

TEST_CASE("sender options come from the gateway configuration with its defaults") {
  pb::GatewayConfig config;
  pb::GatewayClient client;
  client.set_name("hl");
  client.set_callback_url("http://h/cb");
  auto o = SenderOptionsFor(config, client, 480);
  CHECK(o.client == "hl");
  CHECK(o.callback_url == "http://h/cb");
  CHECK(o.utc_offset_minutes == 480);
  CHECK(o.timeout == 5000ms);
  CHECK(o.max_backoff == 60000ms);
  config.set_callback_timeout_ms(700);
  config.set_callback_max_backoff_ms(900);
  o = SenderOptionsFor(config, client, 480);
  CHECK(o.timeout == 700ms);
  CHECK(o.max_backoff == 900ms);
}

}  // namespace
}  // namespace whistle::gateway
