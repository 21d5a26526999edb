// GatewayMetrics: what the gateway counts, for Prometheus's GET /metrics on its HTTP port or its
// metrics_listen (docs/OPERATIONS.md lists every metric): HTTP requests by API, method and status
// with their latency, and the dispatcher's answers by status. Gauges (callbacks, console pages, the
// follower's cursor) are read when scraped, by the Gateway.
//
// Threading: any thread.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

#include "whistle/histogram.h"
#include "whistle/prometheus.h"
#include "whistle/wire.pb.h"

namespace whistle::gateway {

// Which API a path belongs to: open311, hotline, console_page, console_api, console_stream,
// metrics, healthz or other.
std::string_view ApiOf(std::string_view path);

class GatewayMetrics {
 public:
  // `micros`: how long it took, when known.
  void CountRequest(std::string_view path, std::string_view method, int status, std::optional<uint64_t> micros);
  // A call to the dispatcher: its answer's code, or the status of a call that got none.
  void CountDispatcherAnswer(pb::StatusCode code);
  void WriteTo(PrometheusText& out) const;

 private:
  static constexpr std::string_view kApis[] = {"open311", "hotline",  "console_page", "console_api",
                                               "console_stream", "metrics", "healthz", "other"};
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // api, method, status
  std::array<Histogram, std::size(kApis)> latency_micros_;
  std::array<std::atomic<uint64_t>, 16> answers_{};  // by pb::StatusCode
};

}  // namespace whistle::gateway
