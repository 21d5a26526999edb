// The gateway's configuration: what CheckGatewayConfig refuses, and the documented file starting
// a real whistle-gateway; and its health when its store fails.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <signal.h>

#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include <httplib.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include "agents/gateway/gateway.h"
#include "agents/principals.h"
#include "storage/fault_injection.h"
#include "tests/gateway/http/gateway_process.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/eventually.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_city.h"
#include "tools/process.h"

namespace whistle {
namespace {

pb::GatewayConfig Valid() {
  pb::GatewayConfig c;
  c.set_front_endpoint("tcp://127.0.0.1:5570");
  c.set_bus_endpoint("tcp://127.0.0.1:5571");
  pb::GatewayClient* app = c.add_clients();
  app->set_name("app");
  app->set_api_key("0123456789abcdef");
  app->set_kind(pb::GatewayClient::KIND_OPEN311);
  pb::GatewayClient* hotline = c.add_clients();
  hotline->set_name("hotline");
  hotline->set_api_key("fedcba9876543210");
  hotline->set_kind(pb::GatewayClient::KIND_HOTLINE);
  hotline->set_callback_url("http://127.0.0.1:9080/cb");
  return c;
}

TEST_CASE("a gateway configuration gets its defaults, and every mistake is named") {
  auto city = City::Build(testing::TestCityConfig());
  REQUIRE(city.ok());
  auto ok = gateway::CheckGatewayConfig(Valid(), **city);
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->listen_address() == "127.0.0.1");
  CHECK(ok->max_body_bytes() == 65536);
  CHECK(ok->jurisdiction_id() == (*city)->config().city_code());
  pb::GatewayConfig with_console = Valid();
  with_console.mutable_console()->set_enabled(true);
  auto console = gateway::CheckGatewayConfig(with_console, **city);
  REQUIRE(console.ok());
  CHECK(console->console().max_streams() == 32);
  CHECK(console->console().session_hours() == 12);

  struct Case {
    std::function<void(pb::GatewayConfig&)> edit;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {[](auto& g) { g.clear_front_endpoint(); }, "front_endpoint"},
           {[](auto& g) { g.mutable_clients(0)->set_name("App One"); }, "a name is 1..32 characters"},
           {[](auto& g) { g.mutable_clients(0)->set_api_key("short"); }, "at least 16 characters"},
           {[](auto& g) { g.mutable_clients(1)->set_name("app"); }, "duplicate name"},
           {[](auto& g) { g.mutable_clients(1)->set_api_key("0123456789abcdef"); }, "api_key is shared"},
           {[](auto& g) { g.mutable_clients(1)->clear_callback_url(); }, "callback_url"},
           {[](auto& g) { g.mutable_clients(0)->set_kind(pb::GatewayClient::KIND_UNSPECIFIED); }, "kind"},
           {[](auto& g) { g.set_port(70000); }, "not a TCP port"},
           {[](auto& g) { g.set_metrics_listen("127.0.0.1"); }, "metrics address '127.0.0.1' is not HOST:PORT"},
           {[](auto& g) { g.set_metrics_listen("127.0.0.1:99999"); }, "is not HOST:PORT"},
           {[](auto& g) {
              g.set_key_file("gateway.key");
              g.mutable_console()->set_enabled(true);
            },
            "console.key_file is required"},
           {[](auto& g) {
              g.mutable_console()->set_enabled(true);
              g.mutable_console()->set_max_streams(5000);
            },
            "console.max_streams is at most 1000"},
           {[](auto& g) {
              g.mutable_console()->set_enabled(true);
              g.mutable_console()->set_session_hours(48);
            },
            "console.session_hours is at most 24"},
       }) {
    pb::GatewayConfig config = Valid();
    c.edit(config);
    auto checked = gateway::CheckGatewayConfig(config, **city);
    CAPTURE(c.says);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.status().message().find(c.says) != std::string::npos);
  }
}

// An admin's client of `dispatcher` registers a hotline principal (or another `role`); its key
// file is returned.
std::string GatewayKey(const testing::DispatcherProcess& dispatcher, const testing::TempDir& dir,
                       const std::string& name = "gateway-1", pb::Role role = pb::ROLE_HOTLINE) {
  zmq::context_t context;
  auto admin_key = ReadCredentials(dispatcher.admin_key());
  REQUIRE(admin_key.ok());
  Client admin(context, dispatcher.front(), ClientOptions{.credentials = *admin_key});
  pb::Principal principal;
  principal.set_name(name);
  principal.set_role(role);
  auto key = EnsurePrincipal(admin, (*admin_key)->server_public_key(), principal, dir.Sub(name + ".key"));
  REQUIRE_MESSAGE(key.ok(), key.status().ToString());
  return dir.Sub(name + ".key");
}

TEST_CASE("the documented configuration starts a gateway that serves and stops on SIGTERM") {
  testing::DispatcherProcess dispatcher(testing::TestCityConfig(), {}, testing::Auth::kKeys);
  testing::TempDir dir;
  std::string endpoints = dir.Sub("endpoints");
  pid_t pid = Spawn({testing::Binary("agents/gateway/whistle-gateway"),
                     std::string("--gateway-config=") + WHISTLE_SOURCE_DIR + "/deploy/whistle-gateway.textproto",
                     "--front=" + dispatcher.front(), "--bus=" + dispatcher.bus(), "--port=0",
                     "--key=" + GatewayKey(dispatcher, dir), "--data=" + dir.Sub("data"),
                     "--console-key=" + GatewayKey(dispatcher, dir, "ops-console", pb::ROLE_CONSOLE),
                     "--endpoints-file=" + endpoints},
                    "");
  int port = 0;
  testing::WaitUntilReady(&pid, "whistle-gateway", [&] { return (port = testing::ReadGatewayPort(endpoints)) > 0; });
  REQUIRE(port > 0);
  httplib::Client http("127.0.0.1", port);
  auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto services = http.Get("/open311/v2/services.json");
  REQUIRE(services);
  CHECK(services->status == 200);
  auto console = http.Get("/console/");  // the documented configuration turns the console on
  REQUIRE(console);
  CHECK(console->status == 200);
  kill(pid, SIGTERM);
  CHECK(WaitFor(pid) == 0);
}

// whistle-gateway on the documented configuration, keyless, against `dispatcher`, with `extra`
// flags, writing its endpoints to `endpoints` and its output to `log`.
pid_t SpawnGateway(const testing::DispatcherProcess& dispatcher, testing::TempDir& dir, const std::string& endpoints,
                   const std::string& log, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {testing::Binary("agents/gateway/whistle-gateway"),
                                   std::string("--gateway-config=") + WHISTLE_SOURCE_DIR +
                                       "/deploy/whistle-gateway.textproto",
                                   "--front=" + dispatcher.front(), "--bus=" + dispatcher.bus(), "--port=0",
                                   "--key=", "--console-key=none", "--data=" + dir.Sub("data"),
                                   "--endpoints-file=" + endpoints};
  args.insert(args.end(), extra.begin(), extra.end());
  return Spawn(args, log, /*merge_stderr=*/true);
}

TEST_CASE("with --metrics-listen the gateway's /metrics is on a port of its own, not on the public one") {
  testing::DispatcherProcess dispatcher(testing::TestCityConfig());
  testing::TempDir dir;
  std::string endpoints = dir.Sub("endpoints");
  pid_t pid = SpawnGateway(dispatcher, dir, endpoints, dir.Sub("gateway.log"), {"--metrics-listen=127.0.0.1:0"});
  int port = 0;
  testing::WaitUntilReady(&pid, "whistle-gateway", [&] { return (port = testing::ReadGatewayPort(endpoints)) > 0; });
  REQUIRE(port > 0);
  const std::string url = testing::ReadGatewayMetricsUrl(endpoints);
  REQUIRE(url.starts_with("http://127.0.0.1:"));
  REQUIRE(url.ends_with("/metrics"));

  httplib::Client public_port("127.0.0.1", port);
  auto health = public_port.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto hidden = public_port.Get("/metrics");
  REQUIRE(hidden);
  CHECK(hidden->status == 404);

  httplib::Client metrics_port(url.substr(0, url.size() - std::string("/metrics").size()));
  auto scrape = metrics_port.Get("/metrics");
  REQUIRE(scrape);
  CHECK(scrape->status == 200);
  CHECK(scrape->body.find("whistle_gateway_feed_seq") != std::string::npos);
  // The public port's requests are counted there: by cpp-httplib's logger, which runs after the
  // answer is sent, so a scrape right after it may come first (seen once in CI).
  const std::string healthz_counted =
      "whistle_gateway_http_requests_total{api=\"healthz\",method=\"GET\",status=\"200\"} 1";
  CHECK(testing::Eventually([&] {
    auto again = metrics_port.Get("/metrics");
    return again && again->body.find(healthz_counted) != std::string::npos;
  }));
  const std::string log = ReadWholeFile(dir.Sub("gateway.log"));
  CHECK(log.find("metrics at " + url) != std::string::npos);
  // The sample configuration's published API keys are pointed out at every start.
  CHECK(log.find("WARNING: client 'citizen-app' has the sample configuration's api_key") != std::string::npos);
  kill(pid, SIGTERM);
  CHECK(WaitFor(pid) == 0);
}

TEST_CASE("a gateway metrics address that is not HOST:PORT stops its start, saying why") {
  testing::DispatcherProcess dispatcher(testing::TestCityConfig());
  testing::TempDir dir;
  pid_t pid = SpawnGateway(dispatcher, dir, dir.Sub("endpoints"), dir.Sub("gateway.log"), {"--metrics-listen=no-port"});
  CHECK(WaitFor(pid) == 1);
  CHECK(ReadWholeFile(dir.Sub("gateway.log")).find("metrics address 'no-port' is not HOST:PORT") != std::string::npos);
  CHECK(testing::ReadGatewayPort(dir.Sub("endpoints")) == 0);
}

TEST_CASE("an endpoints file the gateway cannot write stops its start, saying why") {
  testing::DispatcherProcess dispatcher(testing::TestCityConfig());
  testing::TempDir dir;
  const std::string endpoints = dir.Sub("missing") + "/endpoints";
  pid_t pid = SpawnGateway(dispatcher, dir, endpoints, dir.Sub("gateway.log"), {});
  CHECK(WaitFor(pid) == 1);
  CHECK(ReadWholeFile(dir.Sub("gateway.log")).find("cannot write " + endpoints) != std::string::npos);
}

TEST_CASE("against a dispatcher with keys the gateway acts as its own hotline principal") {
  testing::DispatcherProcess dispatcher(testing::TestCityConfig(), {}, testing::Auth::kKeys);
  testing::TempDir dir;
  testing::GatewayProcess gateway(testing::TestCityConfig(), dispatcher.front(), dispatcher.bus(),
                                  "http://127.0.0.1:9/unused", 4096, GatewayKey(dispatcher, dir));
  zmq::context_t context;
  Client admin(context, dispatcher.front(), ClientOptions{.credentials = *ReadCredentials(dispatcher.admin_key())});
  auto res = gateway.Http().Post(
      "/open311/v2/requests.json",
      fmt::format("api_key={}&service_code=water&address_id={}&description=Pipe+leaks&phone=13800000000",
                  testing::kApp1Key, testing::kGrid1),
      "application/x-www-form-urlencoded");
  REQUIRE(res);
  CHECK_MESSAGE(res->status == 201, res->body);
  pb::Request get;
  get.mutable_get()->set_event_id(1);
  auto answer = admin.Call(get);
  REQUIRE(answer.ok());
  REQUIRE_MESSAGE(answer->code() == pb::STATUS_OK, answer->message());
  CHECK(answer->event().event().submitted_by() == "gateway-1");
  CHECK(answer->event().event().report().contact_phone() == "13800000000");  // stored, for admins

  // Its answers carry no personal data: the hotline role is not an admin.
  auto view = gateway.Http().Get("/open311/v2/requests/1.json");
  REQUIRE(view);
  CHECK(view->status == 200);
  CHECK(view->body.find("13800000000") == std::string::npos);
}

TEST_CASE("a gateway whose store refuses a write says why on /healthz, with 503") {
  testing::DispatcherProcess dispatcher(testing::TestCityConfig());
  testing::TempDir dir;
  pb::GatewayConfig config;
  config.set_front_endpoint(dispatcher.front());
  config.set_bus_endpoint(dispatcher.bus());
  config.set_data_dir(dir.Sub("data"));
  pb::GatewayClient* hotline = config.add_clients();
  hotline->set_name("hotline");
  hotline->set_api_key(testing::kHotlineKey);
  hotline->set_kind(pb::GatewayClient::KIND_HOTLINE);
  hotline->set_callback_url("http://127.0.0.1:9/unused");
  auto city = City::Build(testing::TestCityConfig());
  REQUIRE(city.ok());
  auto fs = std::make_shared<storage::FaultInjectionFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  auto gateway = gateway::Gateway::Start(config, std::shared_ptr<const City>(std::move(city).value()), env.get());
  REQUIRE_MESSAGE(gateway.ok(), gateway.status().ToString());
  httplib::Client http("127.0.0.1", (*gateway)->port());
  auto health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  fs->set_fail_writes(true);
  // A change on the dispatcher's feed, which the gateway's follower records (its cursor at least).
  zmq::context_t context;
  Client reporter(context, dispatcher.front());
  pb::Request submit;
  submit.mutable_submit()->mutable_report()->set_category("water");
  submit.mutable_submit()->mutable_report()->set_grid(testing::kGrid1);
  auto submitted = reporter.Call(submit);
  REQUIRE(submitted.ok());
  REQUIRE(submitted->code() == pb::STATUS_OK);
  CHECK(testing::Eventually([&] { return !(*gateway)->Failure().ok(); }));
  CHECK((*gateway)->Failure().message().find("refusing all writes until restart") != std::string::npos);
  health = http.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 503);
  CHECK_MESSAGE(health->body.find("not following the dispatcher: gateway store write failed") != std::string::npos,
                health->body);
  (*gateway)->Stop();
}

TEST_CASE("whistle-gateway refuses a configuration it cannot use, with exit code 2") {
  testing::TempDir dir;
  std::string bad = dir.Sub("bad.textproto");
  std::ofstream(bad) << "port: \"not a number\"\n";
  CHECK(WaitFor(Spawn({testing::Binary("agents/gateway/whistle-gateway"), "--gateway-config=" + bad}, "")) == 2);
  CHECK(WaitFor(Spawn({testing::Binary("agents/gateway/whistle-gateway"), "--no-such-flag"}, "")) == 2);
}

}  // namespace
}  // namespace whistle
