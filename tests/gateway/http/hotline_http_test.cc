// The 12345 hotline's work orders over real HTTP, with callbacks to a receiver in this process
// that fails the first deliveries, and a dispatcher that restarts underneath.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "agents/client.h"
#include "tests/gateway/http/gateway_process.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_city.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DispatcherProcess;
using testing::GatewayProcess;

// The hotline system's callback endpoint: answers 500 to the first `fail_first` deliveries.
class Receiver {
 public:
  explicit Receiver(int fail_first) : fail_left_(fail_first) {
    server_.Post("/callbacks", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      ++attempts_;
      if (fail_left_ > 0) {
        --fail_left_;
        res.status = 500;
        return;
      }
      json body = json::parse(req.body);
      received_.push_back(body);
      CHECK(req.get_header_value("X-Whistle-Change-Id") == body["change_id"]);
      res.status = 204;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);  // else stop() would not stop it
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/callbacks", port_); }

  // The deliveries of `order_no` after dropping repeats of a change id, waiting up to 20 s for
  // at least `count`.
  std::vector<json> Changes(const std::string& order_no, size_t count) {
    for (int i = 0; i < 200; ++i) {
      std::vector<json> out = Deduped(order_no);
      if (out.size() >= count) return out;
      std::this_thread::sleep_for(100ms);
    }
    return Deduped(order_no);
  }
  int attempts() {
    std::lock_guard lock(mu_);
    return attempts_;
  }

 private:
  std::vector<json> Deduped(const std::string& order_no) {
    std::lock_guard lock(mu_);
    std::vector<json> out;
    std::set<std::string> seen;
    for (const json& c : received_) {
      if (c["order_no"] == order_no && seen.insert(c["change_id"].get<std::string>()).second) out.push_back(c);
    }
    return out;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  int fail_left_;
  int attempts_ = 0;
  std::vector<json> received_;
};

// An urgent water order in testing::kGrid1 (or, at longitude 121.415, in kGrid2).
std::string Order(const std::string& order_no, const std::string& description = "楼道水管爆裂",
                  double longitude = 121.405) {
  return json{{"order_no", order_no},
              {"category", "water"},
              {"description", description},
              {"urgency", "urgent"},
              {"location", {{"lat", 37.505}, {"long", longitude}}},
              {"caller", {{"name", "王芳"}, {"phone", "13800000000"}}}}
      .dump();
}

httplib::Headers Key(const char* key = testing::kHotlineKey) { return {{"X-Api-Key", key}}; }

struct HotlineWorld {
  explicit HotlineWorld(int fail_first) : receiver(fail_first) {}
  Receiver receiver;
  DispatcherProcess dispatcher{testing::TestCityConfig()};
  GatewayProcess gateway{testing::TestCityConfig(), dispatcher.front(), dispatcher.bus(), receiver.url()};
  zmq::context_t context;

  json PostOrder(const std::string& body, int expect) {
    auto res = gateway.Http().Post("/hotline/v1/orders", Key(), body, "application/json");
    REQUIRE(res);
    CHECK_MESSAGE(res->status == expect, res->body);
    json doc = json::parse(res->body, nullptr, false);
    REQUIRE_MESSAGE(!doc.is_discarded(), res->body);
    return doc;
  }
  pb::Response Command(pb::Request r) {
    Client agent(context, dispatcher.front());
    auto answer = agent.Call(std::move(r));
    REQUIRE(answer.ok());
    REQUIRE_MESSAGE(answer->code() == pb::STATUS_OK, answer->message());
    return *answer;
  }
  uint64_t Claim(uint64_t id) {
    pb::Request r;
    r.mutable_claim()->set_event_id(id);
    r.mutable_claim()->set_department("c1-water-unit");
    return Command(r).event().event().claim_number();
  }
  void Resolve(uint64_t id, uint64_t claim) {
    pb::Request r;
    r.mutable_resolve()->set_event_id(id);
    r.mutable_resolve()->set_claim_number(claim);
    r.mutable_resolve()->set_note("pipe replaced");
    Command(r);
  }
  void Feedback(uint64_t id) {
    pb::Request r;
    r.mutable_feedback()->set_event_id(id);
    r.mutable_feedback()->set_satisfied(true);
    r.mutable_feedback()->set_score(5);
    Command(r);
  }
};

std::vector<std::string> Statuses(const std::vector<json>& changes) {
  std::vector<std::string> out;
  for (const json& c : changes) out.push_back(c["status"]);
  return out;
}

TEST_CASE("a work order is created once, however often it is posted, and read back without the caller") {
  HotlineWorld w(0);
  json first = w.PostOrder(Order("12345-0001"), 201);
  CHECK(first["order_no"] == "12345-0001");
  CHECK(first["status"] == "open");
  CHECK(first["level"] == "community");
  json again = w.PostOrder(Order("12345-0001"), 201);
  CHECK(again["event_id"] == first["event_id"]);
  json conflict = w.PostOrder(Order("12345-0001", "another problem"), 409);
  CHECK(conflict["error"]["code"] == 409);

  auto res = w.gateway.Http().Get("/hotline/v1/orders/12345-0001", Key());
  REQUIRE(res);
  CHECK(res->status == 200);
  json view = json::parse(res->body);
  CHECK(view["event_id"] == first["event_id"]);
  CHECK(res->body.find("13800000000") == std::string::npos);
  CHECK(res->body.find("王芳") == std::string::npos);
  // Urgent: emergency deadlines.
  pb::Request get;
  get.mutable_get()->set_event_id(std::stoull(first["event_id"].get<std::string>()));
  pb::Event e = w.Command(get).event().event();
  CHECK(e.mode() == pb::MODE_EMERGENCY);
  CHECK(e.report().contact_phone() == "13800000000");  // stored, for the hotline to call back

  pb::Request all;
  all.mutable_list()->set_city(true);
  CHECK(w.Command(all).list().events_size() == 1);

  auto unknown = w.gateway.Http().Get("/hotline/v1/orders/12345-9999", Key());
  REQUIRE(unknown);
  CHECK(unknown->status == 404);

  // An order number may hold '/': read back with it percent-encoded in the path.
  json slashed = w.PostOrder(Order("2024/06/000123", "水管又漏了", 121.415), 201);
  auto by_number = w.gateway.Http().Get("/hotline/v1/orders/2024%2F06%2F000123", Key());
  REQUIRE(by_number);
  REQUIRE_MESSAGE(by_number->status == 200, by_number->body);
  CHECK(json::parse(by_number->body)["order_no"] == "2024/06/000123");
  CHECK(json::parse(by_number->body)["event_id"] == slashed["event_id"]);
}

TEST_CASE("a body not announced by a Content-Length, or compressed, is refused before it is read") {
  HotlineWorld w(0);
  const std::string head = fmt::format(
      "POST /hotline/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: {}\r\n"
      "Content-Type: application/json\r\n",
      testing::kHotlineKey);
  std::string body;
  // Chunked, its last chunk never sent: answered at once, where cpp-httplib alone would read
  // chunks, without a limit, for as long as they came.
  CHECK(testing::SendRawHttp(w.gateway.port(), head + "Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n",
                             &body) == 411);
  CHECK_MESSAGE(body.find("must come with a Content-Length, not chunked") != std::string::npos, body);
  // No length: a body read until the connection closes.
  CHECK(testing::SendRawHttp(w.gateway.port(), head + "\r\n{\"order_no\":", &body) == 411);
  CHECK_MESSAGE(body.find("must come with a Content-Length") != std::string::npos, body);
  // Compressed: inflated past the limit its length was checked against.
  CHECK(testing::SendRawHttp(w.gateway.port(), head + "Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
                             &body) == 415);
  CHECK_MESSAGE(body.find("uncompressed, not 'gzip'") != std::string::npos, body);
  // Open311's too, before its key is looked at.
  CHECK(testing::SendRawHttp(w.gateway.port(),
                             "POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n") == 411);
  // Over the limit (4,096 bytes here) by its Content-Length: answered at once, its body never
  // sent (cpp-httplib alone would wait for it, up to its 10 s read timeout, to throw it away).
  CHECK(testing::SendRawHttp(w.gateway.port(), head + "Content-Length: 100000\r\n\r\n", &body, 5) == 413);
  CHECK_MESSAGE(body.find("over the limit") != std::string::npos, body);
  // Any method but GET, HEAD and OPTIONS, known to cpp-httplib or not, needs a length.
  CHECK(testing::SendRawHttp(w.gateway.port(), "PRI /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 411);
  CHECK(testing::SendRawHttp(w.gateway.port(), head + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}") == 400);
  // After any answer the connection is closed: a refused request's unread body is never taken for
  // a request of its own (here one that would be answered 200), sent after the answer or not.
  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  for (const std::string& refused :
       {head + "Transfer-Encoding: chunked\r\n\r\n", head + "Content-Length: 100000\r\n\r\n", head + "\r\n",
        std::string("HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        head + "Range: bytes=0-0\r\nTransfer-Encoding: chunked\r\n\r\n", healthz}) {
    CAPTURE(refused);
    const std::string got = testing::RawHttpThenMore(w.gateway.port(), refused, healthz);
    CHECK(got.starts_with("HTTP/1.1 "));
    CHECK_MESSAGE(got.find("HTTP/1.1", 1) == std::string::npos, got);  // one answer, then the end
  }

  // Still serving, and nothing was created.
  pb::Request all;
  all.mutable_list()->set_city(true);
  CHECK(w.Command(all).list().events_size() == 0);
  w.PostOrder(Order("12345-0003"), 201);
}

TEST_CASE("bad orders and bad keys get their 4xx and create nothing") {
  HotlineWorld w(0);
  struct Case {
    std::string body;
    int status;
    const char* says;
  };
  std::vector<Case> cases = {
      {"{not json", 400, "not JSON"},
      {"[1,2]", 400, "object"},
      {R"({"category":"water","grid":"370602001001-01"})", 400, "order_no"},
      {R"({"order_no":"a","grid":"370602001001-01"})", 400, "category"},
      {R"({"order_no":"a","category":"fireworks","grid":"370602001001-01"})", 400, "fireworks"},
      {R"({"order_no":"a","category":"water"})", 400, "location"},
      {R"({"order_no":"a","category":"water","location":{"lat":30,"long":120}})", 400, "outside the city"},
      {R"({"order_no":"a","category":"water","grid":"nowhere"})", 400, "not a grid"},
      {R"({"order_no":"a","category":"water","grid":"370602001001-01","urgency":"asap"})", 400, "urgency"},
      {R"({"order_no":7,"category":"water","grid":"370602001001-01"})", 400, "order_no"},
      {json{{"order_no", std::string(65, 'x')}, {"category", "water"}, {"grid", "370602001001-01"}}.dump(), 400,
       "order_no"},
      {json{{"order_no", "big"}, {"category", "water"}, {"grid", "370602001001-01"},
            {"description", std::string(5000, 'x')}}
           .dump(),
       413, "over the limit"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.body.substr(0, 120));
    json error = w.PostOrder(c.body, c.status);
    CHECK(error["error"]["code"] == c.status);
    CHECK_MESSAGE(error["error"]["message"].get<std::string>().find(c.says) != std::string::npos, error.dump());
  }
  const std::string good = Order("12345-0002");
  auto no_key = w.gateway.Http().Post("/hotline/v1/orders", good, "application/json");
  REQUIRE(no_key);
  CHECK(no_key->status == 401);
  auto wrong = w.gateway.Http().Post("/hotline/v1/orders", Key("wrong-key-0123456789"), good, "application/json");
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  auto open311_key = w.gateway.Http().Post("/hotline/v1/orders", Key(testing::kApp1Key), good, "application/json");
  REQUIRE(open311_key);
  CHECK(open311_key->status == 403);

  pb::Request all;
  all.mutable_list()->set_city(true);
  CHECK(w.Command(all).list().events_size() == 0);
}

TEST_CASE("every status change of an order is called back once, through failures and restarts") {
  HotlineWorld w(3);  // the hotline's receiver fails the first three deliveries
  json order = w.PostOrder(Order("12345-0100"), 201);
  uint64_t id = std::stoull(order["event_id"].get<std::string>());
  uint64_t claim = w.Claim(id);
  w.Resolve(id, claim);
  auto changes = w.receiver.Changes("12345-0100", 2);
  CHECK(Statuses(changes) == std::vector<std::string>{"claimed", "resolved"});
  CHECK(w.receiver.attempts() >= 5);
  CHECK(changes[0]["event_id"] == order["event_id"]);
  CHECK(changes[0]["department"] == "c1-water-unit");

  // The dispatcher dies and comes back on the same endpoints; the gateway carries on.
  w.dispatcher.Kill();
  w.dispatcher.StartOnSamePorts();
  w.Feedback(id);  // satisfied: closed
  changes = w.receiver.Changes("12345-0100", 3);
  CHECK(Statuses(changes) == std::vector<std::string>{"claimed", "resolved", "closed"});
  CHECK(changes[2]["closure"] == "satisfied");
  json second = w.PostOrder(Order("12345-0101", "水表漏水"), 201);
  uint64_t id2 = std::stoull(second["event_id"].get<std::string>());

  // The gateway dies; changes made while it is down are called back when it returns.
  w.gateway.Kill();
  w.Claim(id2);
  w.gateway.Start();
  changes = w.receiver.Changes("12345-0101", 1);
  CHECK(Statuses(changes) == std::vector<std::string>{"claimed"});
  // Nothing else was called back: no progress notes, no duplicates after dedupe, no gaps.
  CHECK(Statuses(w.receiver.Changes("12345-0100", 3)).size() == 3);
}

// The gateway's /metrics value of `name` (a sample without labels), or -1.
double GatewayGauge(GatewayProcess& gateway, const std::string& name) {
  auto res = gateway.Http().Get("/metrics");
  if (!res || res->status != 200) return -1;
  auto at = res->body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(res->body.substr(at + name.size() + 2));
}

TEST_CASE("a gateway whose copy is newer than the restored dispatcher's calls back nothing for wrong orders") {
  HotlineWorld w(0);
  json kept = w.PostOrder(Order("12345-0200"), 201);
  w.Claim(std::stoull(kept["event_id"].get<std::string>()));
  REQUIRE(Statuses(w.receiver.Changes("12345-0200", 1)) == std::vector<std::string>{"claimed"});
  testing::TempDir dir;
  pb::Request checkpoint;
  checkpoint.mutable_checkpoint()->set_dir(dir.Sub("backup"));
  w.Command(checkpoint);
  json lost = w.PostOrder(Order("12345-0201", "水表漏水", 121.415), 201);  // not a repeat: kGrid2
  uint64_t lost_id = std::stoull(lost["event_id"].get<std::string>());
  w.Claim(lost_id);
  REQUIRE(Statuses(w.receiver.Changes("12345-0201", 1)) == std::vector<std::string>{"claimed"});
  CHECK(GatewayGauge(w.gateway, "whistle_gateway_feed_rewound") == 0);
  // Delivered and out of the outbox: killed now, the gateway has nothing to send again.
  for (int i = 0; i < 200 && GatewayGauge(w.gateway, "whistle_gateway_callbacks_pending") != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(GatewayGauge(w.gateway, "whistle_gateway_callbacks_pending") == 0);

  // The dispatcher restored from the copy while the gateway is down, and at work again before the
  // gateway returns: its log passes the gateway's cursor with other records under the same
  // numbers, and a new event takes the lost one's id.
  w.gateway.Kill();
  w.dispatcher.Kill();
  std::filesystem::remove_all(w.dispatcher.data_dir());
  std::filesystem::copy(dir.Sub("backup"), w.dispatcher.data_dir(), std::filesystem::copy_options::recursive);
  w.dispatcher.StartOnSamePorts();
  REQUIRE(w.Command(testing::WaterReport(testing::kGrid2, "after-restore")).event().event().id() == lost_id);
  w.Resolve(lost_id, w.Claim(lost_id));
  for (const char* grid : {testing::kGrid3, testing::kGrid1}) w.Command(testing::WaterReport(grid));
  const int attempts = w.receiver.attempts();

  w.gateway.Start();
  double rewound = 0;
  for (int i = 0; i < 200 && rewound != 1; ++i) {
    std::this_thread::sleep_for(100ms);
    rewound = GatewayGauge(w.gateway, "whistle_gateway_feed_rewound");
  }
  REQUIRE(rewound == 1);
  // Followed on, the new event's claim and resolution would have been called back under the lost
  // order's number.
  std::this_thread::sleep_for(1s);
  CHECK(w.receiver.attempts() == attempts);
  CHECK(Statuses(w.receiver.Changes("12345-0201", 1)) == std::vector<std::string>{"claimed"});
  // The HTTP API still answers.
  json after = w.PostOrder(Order("12345-0202", "楼道水管爆裂", 121.425), 201);
  CHECK(after["order_no"] == "12345-0202");
}

}  // namespace
}  // namespace whistle
