// PrometheusText: writes Prometheus's text exposition format (version 0.0.4), for the
// dispatcher's and the gateway's /metrics (docs/OPERATIONS.md lists every metric).
//
//   PrometheusText out;
//   out.Counter("whistle_replies_total", "Answers sent, by request kind and status.");
//   out.Sample("whistle_replies_total", {{"command", "submit"}, {"code", "OK"}}, 17);
//   out.Histogram("whistle_batch_seconds", "...", snapshot, kMicrosBounds, 1e6);  // us -> s
//   std::string body = out.Take();
//
// Histograms come from whistle::Histogram (histogram.h), divided into base units (1e6 for
// microseconds to seconds). Each bucket's `le` is the upper end of
// the histogram bucket holding the bound asked for, so every count is exact (the bounds move up
// by at most 3% to get there).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "whistle/histogram.h"

namespace whistle {

using PrometheusLabels = std::vector<std::pair<std::string, std::string>>;

class PrometheusText {
 public:
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // A family's HELP and TYPE lines; write them once, before its samples.
  void Counter(std::string_view name, std::string_view help) { Family(name, "counter", help); }
  void Gauge(std::string_view name, std::string_view help) { Family(name, "gauge", help); }
  void Sample(std::string_view name, const PrometheusLabels& labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  // A whole histogram family (HELP, TYPE, buckets, sum and count) for one label set, or further
  // label sets of a family already started (`help` empty).
  void Histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                 std::span<const uint64_t> bounds, double divisor, const PrometheusLabels& labels = {});

  std::string Take() { return std::move(out_); }

 private:
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Line(std::string_view name, const PrometheusLabels& labels, double value);

  std::string out_;
};

// Bounds for latencies recorded in microseconds: 100 us to 10 s.
inline constexpr uint64_t kMicrosBounds[] = {100,    250,    500,     1000,    2500,    5000,   10000,
                                             25000,  50000,  100000,  250000,  500000,  1000000,
                                             2500000, 10000000};
// Bounds for lags recorded in milliseconds: 1 ms to 1 min.
inline constexpr uint64_t kMillisBounds[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 60000};
// Bounds for counts (batch sizes): 1 to 4,096.
inline constexpr uint64_t kCountBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

}  // namespace whistle
