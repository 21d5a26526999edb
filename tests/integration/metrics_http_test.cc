// The dispatcher's Prometheus endpoint (--metrics-listen, whistle/metrics_http.h) against a
// real dispatcher process: what it counts agrees with MetricsQuery and with what was done.
#include <cstring>
#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <httplib.h>

#include "agents/client.h"
#include "tests/integration/dispatcher_process.h"
#include "tests/testing/test_city.h"

namespace whistle {
namespace {

using namespace std::chrono_literals;
using testing::DispatcherProcess;

struct Scrape {
  std::map<std::string, double> samples;  // "name{labels}" -> value
  std::set<std::string> typed;            // families with a # TYPE line
  std::set<std::string> helped;
  double at(const std::string& key) const {
    auto it = samples.find(key);
    if (it == samples.end()) FAIL("no sample ", key);
    return it->second;
  }
};

Scrape ScrapeMetrics(const std::string& url) {
  // url: http://host:port/metrics
  std::string rest = url.substr(7);
  std::string host = rest.substr(0, rest.find('/'));
  httplib::Client http("http://" + host);
  auto res = http.Get("/metrics");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  Scrape s;
  std::istringstream in(res->body);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# TYPE ")) {
      s.typed.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (line.starts_with("# HELP ")) {
      s.helped.insert(line.substr(7, line.find(' ', 7) - 7));
    } else if (!line.empty()) {
      size_t space = line.rfind(' ');
      REQUIRE_MESSAGE(space != std::string::npos, line);
      s.samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
      std::string family = line.substr(0, line.find_first_of("{ "));
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (family.ends_with(suffix) && !s.typed.count(family)) family.resize(family.size() - std::strlen(suffix));
      }
      CHECK_MESSAGE(s.typed.count(family) == 1, "sample before its # TYPE: ", line);
      CHECK_MESSAGE(s.helped.count(family) == 1, "sample without # HELP: ", line);
    }
  }
  return s;
}

TEST_CASE("GET /metrics counts what the dispatcher did, the way MetricsQuery does") {
  DispatcherProcess dispatcher(testing::TestCityConfig(), {"--metrics-listen=127.0.0.1:0"});
  REQUIRE(dispatcher.metrics_url().starts_with("http://127.0.0.1:"));
  zmq::context_t context;
  Client client(context, dispatcher.front());
  for (const char* grid : {testing::kGrid1, testing::kGrid2, testing::kGrid3}) {  // no duplicates
    auto answer = client.Call(testing::WaterReport(grid, Client::NewRequestId()));
    REQUIRE(answer.ok());
    REQUIRE(answer->code() == pb::STATUS_OK);
  }
  pb::Request bad;
  bad.mutable_get()->set_event_id(999);
  REQUIRE(client.Call(bad)->code() == pb::STATUS_NOT_FOUND);
  pb::Request supervise;
  supervise.set_request_id("s-1");
  supervise.mutable_supervise()->set_event_id(1);
  REQUIRE(client.Call(supervise)->code() == pb::STATUS_OK);

  Scrape s = ScrapeMetrics(dispatcher.metrics_url());
  CHECK(s.at("whistle_replies_total{command=\"submit\",code=\"STATUS_OK\"}") == 3);
  CHECK(s.at("whistle_replies_total{command=\"get\",code=\"STATUS_NOT_FOUND\"}") == 1);
  CHECK(s.at("whistle_open_events{level=\"community\",state=\"dispatched\"}") == 3);
  CHECK(s.at("whistle_supervised_events") == 1);
  CHECK(s.at("whistle_overdue_events") == 0);
  CHECK(s.at("whistle_connected_clients{socket=\"front\"}") >= 1);
  CHECK(s.at("whistle_busy_replies_total") == 0);
  CHECK(s.at("whistle_bus_connections_cut_total") == 0);  // no keys: nobody to cut off
  CHECK(s.at("process_cpu_seconds_total") > 0);
  CHECK(s.at("whistle_thread_cpu_seconds_total{thread=\"engine\"}") > 0);
  CHECK(s.samples.count("whistle_thread_cpu_seconds_total{thread=\"writer\"}") == 1);
  // Histograms: cumulative buckets ending at +Inf, which is the count.
  for (const char* h : {"whistle_batch_size", "whistle_batch_seconds", "whistle_fsync_seconds",
                        "whistle_timer_lag_seconds", "whistle_answer_seconds"}) {
    CAPTURE(h);
    std::map<double, double> buckets;  // le -> count, in numeric order
    const std::string prefix = std::string(h) + "_bucket{le=\"";
    for (const auto& [key, value] : s.samples) {
      if (!key.starts_with(prefix)) continue;
      std::string le = key.substr(prefix.size(), key.size() - prefix.size() - 2);
      buckets[le == "+Inf" ? HUGE_VAL : std::stod(le)] = value;
    }
    CHECK(buckets.size() > 5);
    double previous = 0;
    for (const auto& [le, count] : buckets) {
      CHECK(count >= previous);
      previous = count;
    }
    CHECK(s.at(std::string(h) + "_bucket{le=\"+Inf\"}") == s.at(std::string(h) + "_count"));
  }
  CHECK(s.at("whistle_fsync_seconds_count") >= 4);  // a synced write for each command
  // Each request above, answered after its batch: the three submits, the get, the supervise.
  CHECK(s.at("whistle_answer_seconds_count") == 5);
  CHECK(s.at("whistle_answer_seconds_sum") > 0);

  // The same figures as MetricsQuery.
  pb::Request metrics;
  metrics.mutable_metrics();
  pb::MetricsResult m = client.Call(metrics)->metrics();
  CHECK(m.overdue_events() == 0);
  CHECK(m.supervised_events() == 1);
  CHECK(m.open_events() == 3);
  REQUIRE(m.open_by_level_state_size() == 1);
  CHECK(m.open_by_level_state(0).count() == 3);
  CHECK(m.connected_clients() >= 1);
  CHECK(m.last_seq() == static_cast<uint64_t>(s.at("whistle_last_seq")));
  CHECK(m.answer_micros().count() == 5);  // filled as it was read, before its own answer
  CHECK(m.engine_cpu_micros() > 0);
  CHECK(m.cpu_micros() >= m.engine_cpu_micros());  // read on the engine thread, so all of it

  // Nothing else is served.
  std::string rest = dispatcher.metrics_url().substr(7);
  httplib::Client http("http://" + rest.substr(0, rest.find('/')));
  auto other = http.Get("/");
  REQUIRE(other);
  CHECK(other->status == 404);
}

TEST_CASE("a metrics address that cannot be listened on stops the start, saying why") {
  CHECK_THROWS_WITH_AS(DispatcherProcess(testing::TestCityConfig(), {"--metrics-listen=no-port"}),
                       doctest::Contains("whistle-dispatcher"), std::runtime_error);
}

}  // namespace
}  // namespace whistle
