// The operations console's server side over real HTTP (agents/gateway/console.h): login with a
// dispatcher ticket, the JSON API, the live stream and the actions carried on a person's ticket.
// The page itself is driven in headless Chromium by tests/console/console.test.mjs.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "agents/client.h"
#include "agents/gateway/console.h"
#include "tests/gateway/http/gateway_process.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/test_city.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DispatcherProcess;
using testing::GatewayProcess;

// A --dev-no-auth dispatcher with principals, and a gateway with the console on.
struct ConsoleCity {
  ConsoleCity()
      : gateway(testing::TestCityConfig(), dispatcher.front(), dispatcher.bus(), "http://127.0.0.1:9/unused", 4096,
                "", true),
        client(context, dispatcher.front()) {
    Principal("sup-1", pb::ROLE_SUPERVISOR, 's');
    Principal("watcher-1", pb::ROLE_VIEWER, 'w');
    Principal("rep-1", pb::ROLE_REPORTER, 'r');
  }

  void Principal(const std::string& name, pb::Role role, char key) {
    pb::Request r;
    r.set_request_id("create-" + name);
    pb::Principal* p = r.mutable_create_principal()->mutable_principal();
    p->set_name(name);
    p->set_role(role);
    p->set_public_key(std::string(32, key));
    REQUIRE(Ok(r).principal().name() == name);
  }

  pb::Response Ok(const pb::Request& r) {
    auto answer = client.Call(r);
    REQUIRE(answer.ok());
    REQUIRE_MESSAGE(answer->code() == pb::STATUS_OK, answer->message());
    return *answer;
  }

  // A --dev-no-auth dispatcher issues a ticket for any principal named.
  std::string Ticket(const std::string& name) {
    pb::Request r;
    r.mutable_ticket()->set_principal(name);
    return Ok(r).ticket().ticket();
  }

  uint64_t Submit(const std::string& grid = testing::kGrid1) {
    return Ok(testing::WaterReport(grid, Client::NewRequestId())).event().event().id();
  }

  // Logs in and returns the Cookie header to send.
  std::string Login(const std::string& name) {
    auto http = gateway.Http();
    auto res = http.Post("/console/api/login", json{{"ticket", Ticket(name)}}.dump(), "application/json");
    REQUIRE(res);
    REQUIRE_MESSAGE(res->status == 200, res->body);
    std::string set_cookie = res->get_header_value("Set-Cookie");
    CHECK(set_cookie.find("HttpOnly") != std::string::npos);
    CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
    return set_cookie.substr(0, set_cookie.find(';'));
  }

  httplib::Result Get(const std::string& path, const std::string& cookie) {
    return gateway.Http().Get(path, {{"Cookie", cookie}});
  }
  httplib::Result Post(const std::string& path, const std::string& cookie, const json& body) {
    return gateway.Http().Post(path, {{"Cookie", cookie}}, body.dump(), "application/json");
  }

  DispatcherProcess dispatcher;
  GatewayProcess gateway;
  zmq::context_t context;
  Client client;
};

TEST_CASE("the console answers nothing without a login, refuses a bad ticket and ends at logout") {
  ConsoleCity city;
  auto http = city.gateway.Http();
  auto page = http.Get("/console/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
  CHECK(page->body.find("console.js") != std::string::npos);
  CHECK(page->get_header_value("X-Frame-Options") == "DENY");
  CHECK(page->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'") != std::string::npos);
  auto script = http.Get("/console/console.js");
  REQUIRE(script);
  CHECK(script->get_header_value("Content-Type") == "text/javascript; charset=utf-8");

  for (const char* path : {"/console/api/board", "/console/api/city", "/console/api/me", "/console/api/stream",
                           "/console/api/events/1", "/console/api/ranks"}) {
    CAPTURE(path);
    auto res = http.Get(path);
    REQUIRE(res);
    CHECK(res->status == 401);
    CHECK(json::parse(res->body)["code"] == "UNAUTHENTICATED");
  }
  auto plain = http.Post("/console/api/login", R"({"ticket":"x"})", "text/plain");
  CHECK(plain->status == 415);
  auto forged = http.Post("/console/api/login", json{{"ticket", "v1.sup-1.1.99999999999999.00"}}.dump(),
                          "application/json");
  CHECK(forged->status == 401);
  CHECK(json::parse(forged->body)["error"] ==
        "the console ticket was not issued by this dispatcher (or its key changed)");
  auto for_nobody = http.Post("/console/api/login", json{{"ticket", ""}}.dump(), "application/json");
  CHECK(for_nobody->status == 401);

  // The console shows the whole city: a reporter's app may not log in to it.
  auto reporter = http.Post("/console/api/login", json{{"ticket", city.Ticket("rep-1")}}.dump(), "application/json");
  CHECK(reporter->status == 403);
  CHECK(json::parse(reporter->body)["error"] ==
        "reporter 'rep-1' may not log in: the console shows the whole city, for viewers, admins and supervisors "
        "of the whole city");

  std::string cookie = city.Login("sup-1");
  auto me = city.Get("/console/api/me", cookie);
  CHECK(json::parse(me->body)["principal"]["role"] == "supervisor");
  CHECK(city.Get("/console/api/board", cookie)->status == 200);
  CHECK(city.Post("/console/api/logout", cookie, json::object())->status == 200);
  CHECK(city.Get("/console/api/board", cookie)->status == 401);
  CHECK(city.Get("/console/api/board", "whistle_console=made-up")->status == 401);
}

TEST_CASE("a revoked principal is logged out of the console at the next check of its ticket") {
  ConsoleCity city;
  std::string cookie = city.Login("watcher-1");
  REQUIRE(city.Get("/console/api/board", cookie)->status == 200);
  pb::Request revoke;
  revoke.set_request_id("revoke-watcher-1");
  revoke.mutable_revoke_principal()->set_name("watcher-1");
  city.Ok(revoke);
  // This gateway checks a used session's ticket every second: within a few, the board is refused.
  int status = 200;
  for (int i = 0; i < 50 && status == 200; ++i) {
    std::this_thread::sleep_for(100ms);
    status = city.Get("/console/api/board", cookie)->status;
  }
  CHECK(status == 401);
  CHECK(city.Get("/console/api/me", cookie)->status == 401);  // the session is gone
}

TEST_CASE("an event page of a long history says how many older records its timeline leaves out") {
  pb::EventView view;
  view.mutable_event()->set_id(7);
  view.add_history()->set_event_seq(102);
  view.set_older_history(102);
  json page = gateway::EventPageJson(view);
  CHECK(page["older_history"] == 102);
  CHECK(page["timeline"].size() == 1);
}

TEST_CASE("the board, a grid's events, an event's timeline and the ranks come from the dispatcher") {
  ConsoleCity city;
  const uint64_t a = city.Submit(testing::kGrid1);
  city.Submit(testing::kGrid3);
  std::string cookie = city.Login("watcher-1");  // a viewer reads, and does nothing else

  json board = json::parse(city.Get("/console/api/board", cookie)->body);
  CHECK(board["open"] == 2);
  REQUIRE(board["cells"].size() == 1);
  CHECK(board["cells"][0] == json{{"level", "community"}, {"state", "dispatched"}, {"count", 2}});
  CHECK(board["grids"].size() == 2);

  json city_doc = json::parse(city.Get("/console/api/city", cookie)->body);
  CHECK(city_doc["grids"].size() == 3);
  CHECK(!city_doc["regions"].empty());

  json events = json::parse(city.Get(fmt::format("/console/api/events?grid={}", testing::kGrid1), cookie)->body);
  REQUIRE(events["events"].size() == 1);
  CHECK(events["events"][0]["id"] == a);
  CHECK(events["next_cursor"] == "");
  CHECK(city.Get("/console/api/events?grid=nowhere", cookie)->status == 404);
  CHECK(city.Get(fmt::format("/console/api/events?grid={}&cursor=zz", testing::kGrid1), cookie)->status == 400);

  json page = json::parse(city.Get(fmt::format("/console/api/events/{}", a), cookie)->body);
  REQUIRE(page["timeline"].size() == 2);
  CHECK(page["timeline"][0]["kind"] == "submitted");
  CHECK(page["timeline"][1]["kind"] == "dispatched");
  CHECK(page["older_history"] == 0);  // the whole history: a page holds the newest 1,000 records
  CHECK(page["timeline"][0]["body"]["report"].value("contactPhone", "") == "");  // personal data stays out
  REQUIRE(page["pending"].size() == 2);
  CHECK(page["pending"][0]["kind"] == "claim_deadline");
  CHECK(page["pending"][0]["armed"] == true);
  CHECK(city.Get("/console/api/events/999", cookie)->status == 404);

  auto ranks = city.Get("/console/api/ranks?of=community&month=2026-11", cookie);
  CHECK(ranks->status == 200);
  CHECK(json::parse(ranks->body)["month"] == "2026-11");
  CHECK(city.Get("/console/api/ranks?of=planets", cookie)->status == 400);
  CHECK(city.Get("/console/api/ranks?month=soon", cookie)->status == 400);
}

TEST_CASE("supervise and mode act as the person logged in: a supervisor may, a viewer may not") {
  ConsoleCity city;
  const uint64_t id = city.Submit();
  std::string supervisor = city.Login("sup-1");
  std::string viewer = city.Login("watcher-1");

  auto refused = city.Post("/console/api/mode", viewer, {{"region", testing::kCounty}, {"mode", "emergency"}});
  CHECK(refused->status == 403);
  CHECK(json::parse(refused->body)["error"] == "viewer 'watcher-1' may not set_mode");
  auto refused_supervise = city.Post(fmt::format("/console/api/events/{}/supervise", id), viewer, {{"note", "x"}});
  CHECK(refused_supervise->status == 403);
  CHECK(city.Post("/console/api/mode", supervisor, {{"region", testing::kCounty}, {"mode", "war"}})->status == 400);

  auto mode = city.Post("/console/api/mode", supervisor, {{"region", testing::kCounty}, {"mode", "emergency"}});
  REQUIRE_MESSAGE(mode->status == 200, mode->body);
  CHECK(json::parse(mode->body)["mode"] == "emergency");
  auto supervised = city.Post(fmt::format("/console/api/events/{}/supervise", id), supervisor, {{"note", "hurry"}});
  REQUIRE_MESSAGE(supervised->status == 200, supervised->body);

  pb::Request get;
  get.mutable_get()->set_event_id(id);
  get.mutable_get()->set_with_history(true);
  pb::Response history = city.Ok(get);
  const pb::Record& last = *history.event().history().rbegin();
  REQUIRE(last.has_supervised());
  CHECK(last.actor().principal() == "sup-1");
  CHECK(last.actor().via() == "dev");  // the console's connection to a --dev-no-auth dispatcher
}

// Reads a console stream until `done` says it has seen enough, the server ends it (*ended) or
// 10 s pass.
std::string ReadStream(GatewayProcess& gateway, const std::string& cookie,
                       const std::function<bool(const std::string&)>& done, const std::function<void()>& after_open,
                       bool* ended = nullptr) {
  std::string received;
  std::atomic<bool> opened{false};
  std::thread reader([&] {
    auto http = gateway.Http();
    http.set_read_timeout(10, 0);
    auto result = http.Get("/console/api/stream", {{"Cookie", cookie}}, [&](const char* data, size_t n) {
      received.append(data, n);
      opened = true;
      return !done(received);
    });
    if (ended != nullptr) *ended = static_cast<bool>(result) && result->status == 200;
  });
  // The stream opens with the current board; act once it is open.
  for (int i = 0; i < 500 && !opened; ++i) std::this_thread::sleep_for(10ms);
  after_open();
  reader.join();
  return received;
}

TEST_CASE("a submit reaches an open console page as a record and a new board, pushed") {
  ConsoleCity city;
  std::string cookie = city.Login("sup-1");
  uint64_t id = 0;
  std::string stream = ReadStream(
      city.gateway, cookie,
      [](const std::string& s) {
        return s.find("\"kind\":\"dispatched\"") != std::string::npos && s.find("\"open\":1") != std::string::npos;
      },
      [&] { id = city.Submit(); });
  CHECK(stream.starts_with("event: board\ndata: {"));
  CHECK(stream.find("event: record\ndata: {") != std::string::npos);
  CHECK(stream.find(fmt::format("\"event_id\":{},\"grid\":\"{}\",\"kind\":\"submitted\"", id, testing::kGrid1)) !=
        std::string::npos);
  CHECK(stream.find("\"open\":1") != std::string::npos);
  // After the first, whole board, a page is sent only the grids that changed.
  CHECK(stream.find("\"grids\":[{\"grid\":\"370602001001-01\",\"open\":1,\"overdue\":0,\"supervised\":0}],"
                    "\"grids_delta\":true") != std::string::npos);
}

TEST_CASE(
    "a page opened later starts from the whole board as it stands; a grid emptied is sent at "
    "zero") {
  // The hub asks the dispatcher only for the grids changed since its last board, and keeps the
  // rest: a page opened later gets the whole board made from what it kept.
  ConsoleCity city;
  const std::string grid3 = fmt::format("\"grid\":\"{}\"", testing::kGrid3);
  auto first_event = [](const std::string& stream) {
    return stream.substr(0, stream.find("\n\n"));
  };
  uint64_t in_grid3 = 0;
  ReadStream(
      city.gateway, city.Login("sup-1"),
      [&](const std::string& s) { return s.find(grid3 + ",\"open\":1") != std::string::npos; },
      [&] {
        city.Submit(testing::kGrid1);
        in_grid3 = city.Submit(testing::kGrid3);
      });

  std::string second = ReadStream(
      city.gateway, city.Login("watcher-1"),  // a principal's pages are few (one here)
      [&](const std::string& s) { return s.find(grid3 + ",\"open\":0") != std::string::npos; },
      [&] {
        pb::Request cancel;
        cancel.set_request_id(Client::NewRequestId());
        cancel.mutable_cancel()->set_event_id(in_grid3);
        cancel.mutable_cancel()->set_reason("reported twice");
        city.Ok(cancel);
      });
  std::string whole = first_event(second);
  CHECK(whole.find("\"grids_delta\"") == std::string::npos);
  CHECK(whole.find(fmt::format("{{\"grid\":\"{}\",\"open\":1,", testing::kGrid1)) !=
        std::string::npos);
  CHECK(whole.find(grid3 + ",\"open\":1,") != std::string::npos);
  CHECK(second.find(grid3 + ",\"open\":0,\"overdue\":0,\"supervised\":0}],\"grids_delta\":true") !=
        std::string::npos);

  whole = first_event(ReadStream(
      city.gateway, city.Login("sup-1"),
      [](const std::string& s) { return s.find("\n\n") != std::string::npos; }, [] {}));
  CHECK(whole.starts_with("event: board\ndata: {"));
  CHECK(whole.find(fmt::format("\"grids\":[{{\"grid\":\"{}\",\"open\":1,", testing::kGrid1)) !=
        std::string::npos);
  CHECK(whole.find(grid3) == std::string::npos);
  CHECK(whole.find("\"open\":1,\"overdue\":0,\"overdue_ids\"") != std::string::npos);

  // The hub got one whole board, at its start; every later one was of the changes only.
  auto metrics = city.gateway.Http().Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("whistle_gateway_console_boards_total{answer=\"whole\"} 1\n") !=
        std::string::npos);
  const std::string changes = "whistle_gateway_console_boards_total{answer=\"changes\"} ";
  const size_t at = metrics->body.find(changes);
  REQUIRE(at != std::string::npos);
  CHECK(std::stoi(metrics->body.substr(at + changes.size())) > 0);
}

TEST_CASE("pages past the limits are told so, and logging out ends a session's pages at once") {
  ConsoleCity city;
  city.Principal("admin-1", pb::ROLE_ADMIN, 'a');
  std::string sup = city.Login("sup-1");
  std::string watcher = city.Login("watcher-1");
  // This gateway has two places (max_streams 2); one principal may hold a quarter of them, at
  // least one, so that one login's pages cannot take every place.
  bool a_ended = false, b_ended = false;
  auto never = [](const std::string&) { return false; };
  ReadStream(city.gateway, sup, never, [&] {
    auto second = city.Get("/console/api/stream", sup);
    REQUIRE(second);
    CHECK(second->status == 503);
    CHECK(json::parse(second->body)["error"] == "sup-1 already has as many console pages open as one principal may (1)");
    ReadStream(city.gateway, watcher, never, [&] {
      auto third = city.Get("/console/api/stream", city.Login("admin-1"));
      REQUIRE(third);
      CHECK(third->status == 503);
      CHECK(json::parse(third->body)["error"] == "too many console pages are open");
      city.Post("/console/api/logout", watcher, json::object());
      city.Post("/console/api/logout", sup, json::object());
    }, &b_ended);
  }, &a_ended);
  // The server ended both (a read timeout would have been an error instead).
  CHECK(a_ended);
  CHECK(b_ended);
}

TEST_CASE("a principal keeps at most 8 console sessions: a ninth login ends the oldest and its page") {
  ConsoleCity city;
  std::vector<std::string> cookies;
  for (int i = 0; i < 8; ++i) cookies.push_back(city.Login("watcher-1"));
  std::string sup = city.Login("sup-1");
  bool ended = false;
  auto never = [](const std::string&) { return false; };
  ReadStream(city.gateway, cookies[0], never, [&] { cookies.push_back(city.Login("watcher-1")); }, &ended);
  CHECK(ended);  // the oldest session's page, closed by the server
  auto oldest = city.Get("/console/api/me", cookies[0]);
  REQUIRE(oldest);
  CHECK(oldest->status == 401);
  for (size_t i = 1; i < cookies.size(); ++i) {
    CAPTURE(i);
    auto me = city.Get("/console/api/me", cookies[i]);
    REQUIRE(me);
    CHECK(me->status == 200);
  }
  // Another principal's sessions are its own.
  auto other = city.Get("/console/api/me", sup);
  REQUIRE(other);
  CHECK(other->status == 200);
}

TEST_CASE("the gateway's /metrics counts the console's requests and pages") {
  ConsoleCity city;
  std::string cookie = city.Login("sup-1");
  city.Get("/console/api/board", cookie);
  city.Get("/console/api/board", "");
  // A request is counted once its answer is written: the scrape may come first, so wait for it.
  const std::vector<std::string> expected = {
      "whistle_gateway_http_requests_total{api=\"console_api\",method=\"GET\",status=\"200\"} 1\n",
      "whistle_gateway_http_requests_total{api=\"console_api\",method=\"GET\",status=\"401\"} 1\n",
      "whistle_gateway_http_requests_total{api=\"console_api\",method=\"POST\",status=\"200\"} 1\n",
      "whistle_gateway_console_sessions 1\n",
      "whistle_gateway_dispatcher_answers_total{code=\"STATUS_OK\"}",
  };
  std::string body;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto metrics = city.gateway.Http().Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    body = metrics->body;
    if (std::all_of(expected.begin(), expected.end(),
                    [&](const std::string& line) { return body.find(line) != std::string::npos; })) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  for (const std::string& line : expected) {
    CAPTURE(line);
    CHECK(body.find(line) != std::string::npos);
  }
  CHECK(body.find("# TYPE whistle_gateway_http_request_seconds histogram\n") != std::string::npos);
}

}  // namespace
}  // namespace whistle
