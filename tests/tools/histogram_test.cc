// The log-linear histogram behind the metrics and the benchmarks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "whistle/histogram.h"

namespace whistle {
namespace {

TEST_SUITE_BEGIN("histogram");

TEST_CASE("buckets tile all of uint64 in order, exact below 64 and within 1/32 above") {
  CHECK(Histogram::BucketOf(0) == 0);
  CHECK(Histogram::BucketOf(63) == 63);
  CHECK(Histogram::BucketOf(UINT64_MAX) == Histogram::kBuckets - 1);
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    CAPTURE(b);
    REQUIRE(Histogram::BucketHigh(b) + 1 == Histogram::BucketLow(b + 1));
    REQUIRE(Histogram::BucketOf(Histogram::BucketLow(b)) == b);
    REQUIRE(Histogram::BucketOf(Histogram::BucketHigh(b)) == b);
    if (b >= 64) {
      uint64_t low = Histogram::BucketLow(b), width = Histogram::BucketHigh(b) - low + 1;
      REQUIRE(width * 32 <= low);  // relative width at most 1/32
    } else {
      REQUIRE(Histogram::BucketLow(b) == Histogram::BucketHigh(b));
    }
  }
  CHECK(Histogram::BucketHigh(Histogram::kBuckets - 1) == UINT64_MAX);
}

TEST_CASE("percentiles are within 1/32 of the exact ones, and count, sum, min and max are exact") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(7.0, 1.2);  // microseconds, a long tail
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    auto v = static_cast<uint64_t>(latency(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  HistogramSnapshot s = h.Snapshot();
  CHECK(s.count() == values.size());
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  CHECK(s.sum() == sum);
  CHECK(s.min() == values.front());
  CHECK(s.max() == values.back());
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    CAPTURE(q);
    size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * static_cast<double>(values.size()))));
    uint64_t exact = values[rank - 1];
    uint64_t got = s.Percentile(q);
    CHECK(got >= exact);
    CHECK(got <= exact + exact / 32 + 1);
  }
  CHECK(s.Percentile(1.0) == s.max());
  CHECK(s.CountAtMost(values.back()) == values.size());
  CHECK(s.CountAtMost(63) == static_cast<uint64_t>(std::upper_bound(values.begin(), values.end(), 63) - values.begin()));
}

TEST_CASE("an empty histogram answers zeros, merging adds counts") {
  HistogramSnapshot empty;
  CHECK(empty.count() == 0);
  CHECK(empty.Percentile(0.99) == 0);
  CHECK(empty.min() == 0);
  HistogramSnapshot a, b;
  for (uint64_t v : {1, 2, 3}) a.Add(v);
  for (uint64_t v : {1000, 2000}) b.Add(v);
  a.Merge(b);
  CHECK(a.count() == 5);
  CHECK(a.sum() == 3006);
  CHECK(a.min() == 1);
  CHECK(a.max() == 2000);
  CHECK(a.Percentile(0.5) == 3);
}

TEST_CASE("records from several threads at once are all counted") {
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (uint64_t i = 0; i < 20000; ++i) h.Record(i * static_cast<uint64_t>(t + 1));
    });
  }
  for (auto& t : threads) t.join();
  HistogramSnapshot s = h.Snapshot();
  CHECK(s.count() == 80000);
  CHECK(s.max() == 19999 * 4);
  CHECK(s.min() == 0);
}

TEST_SUITE_END();

}  // namespace
}  // namespace whistle
