// PrometheusText (proto/whistle/prometheus.h): the text exposition format.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "whistle/prometheus.h"

namespace whistle {
namespace {

TEST_CASE("families, labels and escaping follow the text format") {
  PrometheusText out;
  out.Counter("x_total", "Things.\nCounted \\ here.");
  out.Sample("x_total", {{"kind", "a\"b\\c\nd"}, {"code", "OK"}}, 3);
  out.Gauge("y", "A level.");
  out.Sample("y", 0.25);
  CHECK(out.Take() ==
        "# HELP x_total Things.\\nCounted \\\\ here.\n"
        "# TYPE x_total counter\n"
        "x_total{kind=\"a\\\"b\\\\c\\nd\",code=\"OK\"} 3\n"
        "# HELP y A level.\n"
        "# TYPE y gauge\n"
        "y 0.25\n");
}

TEST_CASE("a histogram's buckets are cumulative, exact at their upper ends, and end at +Inf") {
  Histogram h;
  for (uint64_t v : {40, 90, 150, 1500, 40'000'000}) h.Record(v);  // microseconds
  const uint64_t bounds[] = {100, 1000, 1000};  // a repeated bound is written once
  PrometheusText out;
  out.Histogram("t_seconds", "Time.", h.Snapshot(), bounds, 1e6, {{"api", "x"}});
  std::string text = out.Take();
  const uint64_t le100 = Histogram::BucketHigh(Histogram::BucketOf(100));
  const uint64_t le1000 = Histogram::BucketHigh(Histogram::BucketOf(1000));
  CHECK(le100 >= 100);
  CHECK(le100 <= 103);
  CHECK(text.find(fmt::format("t_seconds_bucket{{api=\"x\",le=\"{}\"}} 2\n", static_cast<double>(le100) / 1e6)) !=
        std::string::npos);
  CHECK(text.find(fmt::format("t_seconds_bucket{{api=\"x\",le=\"{}\"}} 3\n", static_cast<double>(le1000) / 1e6)) !=
        std::string::npos);
  CHECK(text.find("t_seconds_bucket{api=\"x\",le=\"+Inf\"} 5\n") != std::string::npos);
  CHECK(text.find("t_seconds_sum{api=\"x\"} 40.00178\n") != std::string::npos);
  CHECK(text.find("t_seconds_count{api=\"x\"} 5\n") != std::string::npos);
  CHECK(text.find("# TYPE t_seconds histogram\n") == text.find("# TYPE"));
  size_t buckets = 0;
  for (size_t at = text.find("_bucket"); at != std::string::npos; at = text.find("_bucket", at + 1)) ++buckets;
  CHECK(buckets == 3);  // 100, 1000 and +Inf
}

}  // namespace
}  // namespace whistle
