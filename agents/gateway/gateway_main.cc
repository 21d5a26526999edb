// whistle-gateway: the HTTP door to the dispatcher (agents/gateway/gateway.h, docs/GATEWAY.md).
//
//   whistle-gateway --gateway-config=FILE [--port=N] [--listen=ADDRESS] [--front=ENDPOINT]
//                   [--bus=ENDPOINT] [--dispatcher-endpoints=FILE] [--data=DIR] [--config=CITY]
//                   [--key=FILE] [--endpoints-file=PATH] [--console-key=FILE]
//                   [--metrics-listen=HOST:PORT]
//
// --console-key turns the operations console on (/console/) with that principal's key file
// (role console); with a dispatcher run --dev-no-auth, --console-key=none turns it on keyless.
//
// The text-format configuration (whistle.pb.GatewayConfig, documented field by field in
// deploy/whistle-gateway.textproto) holds the API clients; flags override its other fields.
// --dispatcher-endpoints reads the front and bus endpoints from the file whistle-dispatcher's
// --endpoints-file wrote. SIGTERM or SIGINT stops it cleanly (exit 0); a store that refuses a write
// stops it with exit status 1 (Gateway::Failure).
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "agents/gateway/gateway.h"
#include "dispatcher/city_loader.h"
#include "tools/flags.h"
#include "tools/process.h"

namespace whistle {
namespace {

constexpr char kUsage[] =
    "usage: whistle-gateway --gateway-config=FILE [--port=N] [--listen=ADDRESS]\n"
    "                       [--front=ENDPOINT --bus=ENDPOINT | --dispatcher-endpoints=FILE]\n"
    "                       [--key=FILE] [--data=DIR] [--config=CITY] [--endpoints-file=PATH]\n"
    "                       [--console-key=FILE|none] [--metrics-listen=HOST:PORT]\n";

Result<pb::GatewayConfig> ReadConfig(Flags& flags) {
  pb::GatewayConfig c;
  if (std::string file = flags.TakeString("gateway-config"); !file.empty()) {
    if (Status s = MergeTextFormatFile(file, &c); !s.ok()) return s;
  }
  if (std::string file = flags.TakeString("dispatcher-endpoints"); !file.empty()) {
    std::string front, bus;
    if (!ReadEndpoints(file, &front, &bus)) {
      return BadRequest(fmt::format("'{}' holds no front= and bus= lines", file));
    }
    c.set_front_endpoint(front);
    c.set_bus_endpoint(bus);
  }
  if (flags.Has("front")) c.set_front_endpoint(flags.TakeString("front"));
  if (flags.Has("bus")) c.set_bus_endpoint(flags.TakeString("bus"));
  if (flags.Has("key")) c.set_key_file(flags.TakeString("key"));
  if (flags.Has("listen")) c.set_listen_address(flags.TakeString("listen"));
  if (flags.Has("data")) c.set_data_dir(flags.TakeString("data"));
  if (flags.Has("config")) c.set_city_config(flags.TakeString("config"));
  if (flags.Has("endpoints-file")) c.set_endpoints_file(flags.TakeString("endpoints-file"));
  if (flags.Has("metrics-listen")) c.set_metrics_listen(flags.TakeString("metrics-listen"));
  if (flags.Has("console-key")) {
    std::string key = flags.TakeString("console-key");
    c.mutable_console()->set_enabled(true);
    c.mutable_console()->set_key_file(key == "none" ? "" : key);
  }
  auto port = flags.TakeInt("port", c.port(), 0, 65535);
  if (!port.ok()) return port.status();
  c.set_port(static_cast<uint32_t>(*port));
  if (Status s = flags.CheckAllTaken(); !s.ok()) return s;
  return c;
}

int Fail(const Status& s) {
  std::cerr << "whistle-gateway: " << s.ToString() << "\n";
  return 1;
}

}  // namespace
}  // namespace whistle

int main(int argc, char** argv) {
  using namespace whistle;
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return std::cerr << "whistle-gateway: " << flags.status().message() << "\n" << kUsage, 2;
  auto config = ReadConfig(*flags);
  if (!config.ok()) return std::cerr << "whistle-gateway: " << config.status().message() << "\n" << kUsage, 2;
  auto city = LoadCity(config->city_config());
  if (!city.ok()) return Fail(city.status());

  // Signals are taken by sigwait below, never by a handler racing the server's threads.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto gateway = gateway::Gateway::Start(*config, *city);
  if (!gateway.ok()) return Fail(gateway.status());
  if (!config->endpoints_file().empty()) {
    std::string text = "http=" + (*gateway)->base_url() + "\n";
    if (!(*gateway)->metrics_url().empty()) text += "metrics=" + (*gateway)->metrics_url() + "\n";
    if (Status s = WriteWholeFile(config->endpoints_file(), text); !s.ok()) return Fail(s);
  }
  std::cerr << fmt::format("whistle-gateway: serving {} on {} for {} client(s); dispatcher at {}{}\n",
                           (*city)->config().name(), (*gateway)->base_url(), config->clients_size(),
                           config->front_endpoint(),
                           (*gateway)->metrics_url().empty() ? "" : "; metrics at " + (*gateway)->metrics_url());
  // The sample configuration's keys are published with the code: fine on a developer's machine,
  // an open door anywhere else. Said at every start, as loudly as the dispatcher's --dev-no-auth.
  for (const auto& client : config->clients()) {
    if (client.api_key().starts_with("CHANGE-ME")) {
      std::cerr << fmt::format("whistle-gateway: WARNING: client '{}' has the sample configuration's api_key, "
                               "which anyone who has read deploy/whistle-gateway.textproto can use: set a "
                               "secret of your own\n",
                               client.name());
    }
  }
  // Waits for a stop signal, looking in on the gateway meanwhile: one that can no longer record
  // the hotline's changes stops with status 1, so that its supervisor (systemd's Restart=) starts
  // it again, reopening its store.
  for (;;) {
    const timespec look_in_every{0, 200'000'000};
    if (sigtimedwait(&stop_signals, nullptr, &look_in_every) > 0) break;
    if (Status failed = (*gateway)->Failure(); !failed.ok()) {
      (*gateway)->Stop();
      return Fail(failed);
    }
  }
  (*gateway)->Stop();
  std::cerr << "whistle-gateway: stopped\n";
  return 0;
}
