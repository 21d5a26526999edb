// whistle-report: a grid worker's reporter.
//
//   one report:  whistle-report --front=ENDPOINT --category=CODE (--grid=CODE | --lon=X --lat=Y)
//                               [--description=TEXT] [--reporter=ID] [--request-id=ID]
//                exit 0 reported, 1 refused (its key, or BUSY: not reported), 3 outcome unknown:
//                it prints the request id to repeat it with, so that it is reported at most once
//   generator:   whistle-report --front=ENDPOINT --rate=PER_SECOND --duration-s=S
//                               [--config=FILE] [--seed=N] [--reporter=ID] [--latencies-out=FILE]
//
// Both take [--key=FILE]: the reporter's CURVE key file (a principal of role reporter).
//
// The generator draws grids and categories from the city (the sample city unless --config) and
// prints acknowledgements and ack latency percentiles (p50, p99, p99.9, max) when it ends.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "agents/client.h"
#include "dispatcher/city_loader.h"
#include "tools/describe.h"
#include "tools/flags.h"
#include "whistle/random.h"

int main(int argc, char** argv) {
  using namespace whistle;
  auto usage = [](std::string_view problem) {
    std::cerr << "whistle-report: " << problem << "\nsee the header of agents/report_main.cc for flags\n";
    return 2;
  };
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return usage(flags.status().message());
  std::string front = flags->TakeString("front", "tcp://127.0.0.1:5570");
  std::string category = flags->TakeString("category");
  std::string grid = flags->TakeString("grid");
  std::string description = flags->TakeString("description");
  std::string reporter = flags->TakeString("reporter", "grid-worker");
  std::string config = flags->TakeString("config");
  std::string latencies_out = flags->TakeString("latencies-out");
  std::string request_id = flags->TakeString("request-id");
  auto credentials = ReadCredentials(flags->TakeString("key"));
  if (!credentials.ok()) return usage(credentials.status().ToString());
  bool has_position = flags->Has("lon") || flags->Has("lat");
  if (flags->Has("lon") != flags->Has("lat")) return usage("give both --lon and --lat, or neither");
  auto lon = flags->TakeDouble("lon", 0, -180, 180);
  auto lat = flags->TakeDouble("lat", 0, -90, 90);
  auto rate = flags->TakeDouble("rate", 0, 0, 1e6);
  auto duration = flags->TakeDouble("duration-s", 10, 0, 1e7);
  auto seed = flags->TakeInt("seed", 1, 0, INT64_MAX);
  for (const Status& s : {lon.status(), lat.status(), rate.status(), duration.status(), seed.status(),
                          flags->CheckAllTaken()}) {
    if (!s.ok()) return usage(s.message());
  }
  zmq::context_t context;
  Client client(context, front, ClientOptions{.credentials = *credentials});

  if (*rate > 0 && !request_id.empty()) return usage("--request-id names one report, not a generator's");
  if (*rate == 0) {  // one report
    if (category.empty() || (grid.empty() && !has_position)) return usage("give --category and --grid or --lon/--lat");
    pb::Request r;
    r.set_request_id(request_id.empty() ? Client::NewRequestId() : request_id);
    pb::Report* report = r.mutable_submit()->mutable_report();
    report->set_category(category);
    report->set_grid(grid);
    if (has_position) {
      report->mutable_position()->set_lon(*lon);
      report->mutable_position()->set_lat(*lat);
    }
    report->set_description(description);
    report->set_reporter(reporter);
    report->set_source(pb::SOURCE_GRID_APP);
    auto answer = client.Call(r);
    switch (OutcomeOf(answer)) {
      case CallOutcome::kRefused:
        return std::cerr << "whistle-report: " << StatusOf(answer).ToString() << "\n", 1;
      case CallOutcome::kUnknown:
        return std::cerr << "whistle-report: " << StatusOf(answer).ToString() << "\nwhistle-report: the outcome is "
                         << "unknown; repeat with --request-id=" << r.request_id() << " to report it at most once\n",
               3;
      case CallOutcome::kDone:
        break;
    }
    const pb::Event& e = answer->event().event();
    std::cout << fmt::format("event {} {} in grid {} at {} level, offered to {}\n", e.id(),
                             answer->event().linked_as_duplicate() ? "(an open report of the same problem)" : "",
                             e.grid(), LevelName(e.level()), fmt::join(e.candidates(), ", "));
    return 0;
  }

  auto city = LoadCity(config);
  if (!city.ok()) return std::cerr << "whistle-report: " << city.status().ToString() << "\n", 1;
  SplitMix64 rng(static_cast<uint64_t>(*seed));
  auto uniform = [&] { return rng.Uniform(); };
  const auto& categories = (*city)->config().categories();
  std::vector<double> latencies_ms;
  uint64_t sent = 0, refused = 0, failed = 0;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::milliseconds(static_cast<int64_t>(*duration * 1000));
  auto interval = std::chrono::duration<double>(1.0 / *rate);
  for (uint64_t i = 0;; ++i) {
    auto intended = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval * i);
    if (intended >= end) break;
    std::this_thread::sleep_until(intended);
    pb::Request r;
    pb::Report* report = r.mutable_submit()->mutable_report();
    report->set_category(categories[static_cast<int>(uniform() * categories.size())].code());
    report->set_grid((*city)->grids()[static_cast<size_t>(uniform() * (*city)->grid_count())]->code());
    report->set_reporter(reporter);
    report->set_source(pb::SOURCE_GRID_APP);
    report->set_description("generated report");
    auto answer = client.Call(r);
    ++sent;
    if (!answer.ok()) {
      ++failed;
    } else if (answer->code() != pb::STATUS_OK) {
      ++refused;
    } else {
      // Latency from the intended send time, so a slow dispatcher cannot hide behind a slow
      // sender; of acknowledged submits only (a refusal is not an acknowledgement).
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - intended).count());
    }
  }
  if (!latencies_out.empty()) {  // for an orchestrator that merges several reporters' figures
    std::ofstream out(latencies_out);
    for (double ms : latencies_ms) out << ms << "\n";
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::cout << fmt::format("reporter {}: sent {} acknowledged {} refused {} unanswered {}; ack latency ms "
                           "p50 {:.2f} p99 {:.2f} p99.9 {:.2f} max {:.2f}\n",
                           reporter, sent, latencies_ms.size(), refused, failed, Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
                           Percentile(latencies_ms, 0.999), Percentile(latencies_ms, 1));
  return failed == 0 ? 0 : 3;
}
