// whistle-dispatcher: the engine on ZeroMQ.
//
//   whistle-dispatcher --dev-no-auth [--data=DIR] [--config=FILE] [--front=ENDPOINT]
//                      [--bus=ENDPOINT] [--endpoints-file=PATH] [--time-scale=F]
//                      [--max-batch=N] [--busy-threshold=N]
//
// --endpoints-file writes the bound endpoints ("front=...\nbus=...\n") once both are bound, so a
// caller can bind port 0 (tcp://127.0.0.1:*) and read the ports back. --time-scale runs simulated
// time F times faster than real time (demonstrations only). SIGTERM or SIGINT: finish the batch
// in hand, flush, exit 0. After kill -9, start again: the store recovers and serving resumes.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "dispatcher/clock.h"
#include "dispatcher/engine.h"
#include "dispatcher/server.h"
#include "storage/store.h"
#include "tools/flags.h"

namespace {

constexpr char kUsage[] =
    "usage: whistle-dispatcher --dev-no-auth [--data=DIR] [--config=FILE] [--front=ENDPOINT]\n"
    "                          [--bus=ENDPOINT] [--endpoints-file=PATH] [--time-scale=F]\n"
    "                          [--max-batch=N] [--busy-threshold=N]\n";

whistle::Server* g_server = nullptr;

void OnSignal(int) {
  if (g_server != nullptr) g_server->Stop();
}

int Fail(const whistle::Status& s) {
  std::cerr << "whistle-dispatcher: " << s.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace whistle;
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return std::cerr << "whistle-dispatcher: " << flags.status().message() << "\n" << kUsage, 2;
  ServerOptions options;
  std::string data = flags->TakeString("data", "data/dispatcher");
  std::string config_path = flags->TakeString("config");
  options.front_endpoint = flags->TakeString("front", options.front_endpoint);
  options.bus_endpoint = flags->TakeString("bus", options.bus_endpoint);
  std::string endpoints_file = flags->TakeString("endpoints-file");
  auto scale = flags->TakeDouble("time-scale", 1, 1e-3, 1e6);
  auto max_batch = flags->TakeInt("max-batch", static_cast<int64_t>(options.max_batch), 1, 1 << 20);
  auto busy = flags->TakeInt("busy-threshold", static_cast<int64_t>(options.busy_threshold), 0, 1 << 24);
  auto dev = flags->TakeBool("dev-no-auth");
  for (const Status& s : {scale.status(), max_batch.status(), busy.status(), dev.status(), flags->CheckAllTaken()}) {
    if (!s.ok()) return std::cerr << "whistle-dispatcher: " << s.message() << "\n" << kUsage, 2;
  }
  if (!*dev) {
    // Fail closed: CURVE keys and the ZAP handler are the Security issue's; until then nobody
    // runs a dispatcher without saying out loud that it accepts anyone.
    std::cerr << "whistle-dispatcher: authentication is not built yet; start with --dev-no-auth "
                 "only on a trusted machine\n";
    return 2;
  }
  std::cerr << "whistle-dispatcher: WARNING: --dev-no-auth: every client is trusted as '"
            << options.dev_principal << "'\n";
  options.max_batch = static_cast<size_t>(*max_batch);
  options.busy_threshold = static_cast<size_t>(*busy);

  auto city = LoadCity(config_path);
  if (!city.ok()) return Fail(city.status());

  std::filesystem::create_directories(data);
  auto store = storage::Store::Open(data);
  if (!store.ok()) return Fail(store.status());
  SystemClock wall;
  // Scaled time carries on from the newest record, so a resumed demonstration never goes back.
  int64_t start_ms = wall.NowMs();
  if (*scale != 1) {
    auto last = (*store)->NewCursor(storage::Cf::kLog);
    last->SeekToLast();
    pb::Record record;
    if (last->Valid() && record.ParseFromArray(last->value().data(), static_cast<int>(last->value().size()))) {
      start_ms = std::max(start_ms, record.at_ms());
    }
  }
  ScaledClock scaled(wall, start_ms, *scale);
  const Clock& clock = *scale == 1 ? static_cast<const Clock&>(wall) : scaled;
  auto engine = Engine::Open(**store, *city, clock);
  if (!engine.ok()) return Fail(engine.status());

  zmq::context_t context(1);
  auto server = Server::Start(context, **engine, options);
  if (!server.ok()) return Fail(server.status());
  if (!endpoints_file.empty()) {
    // Written whole, then renamed, so a reader never sees half a file.
    std::string tmp = endpoints_file + ".tmp";
    std::ofstream(tmp) << "front=" << (*server)->front_endpoint() << "\nbus=" << (*server)->bus_endpoint() << "\n";
    std::filesystem::rename(tmp, endpoints_file);
  }
  std::cerr << fmt::format("whistle-dispatcher: {} ({} grids), data in {}, front {}, bus {}, {} open events\n",
                           (*city)->config().name(), (*city)->grid_count(), data,
                           (*server)->front_endpoint(), (*server)->bus_endpoint(),
                           (*engine)->state().open_event_count());
  g_server = server->get();
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  Status s = (*server)->Run();
  g_server = nullptr;
  if (!s.ok()) return Fail(s);
  std::cerr << "whistle-dispatcher: stopped\n";
  return 0;
}
