// Histogram: a log-linear histogram of non-negative integers (latencies in microseconds, batch
// sizes), for the dispatcher's metrics and the benchmarks.
//
// Values below 64 are counted exactly; above, each power of two is split into 32 buckets, so a
// percentile is off by at most 1/32 (about 3%) of its value, and no value is ever dropped: the
// buckets cover all of uint64. Count, sum, min and max are exact. (The layout follows
// HdrHistogram's idea with a fixed precision; 1,920 buckets, 15 KiB.)
//
// Threading: Record may be called from any number of threads at once (relaxed atomic counters);
// Snapshot may run concurrently with them and sees each recorded value either whole or not yet
// in every bucket it reads, which is all a scrape or a report needs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace whistle {

class HistogramSnapshot;

class Histogram {
 public:
  static constexpr int kSubBits = 5;                              // 32 buckets per power of two
  static constexpr uint64_t kExact = uint64_t{1} << (kSubBits + 1);  // 0..63 counted exactly
  static constexpr int kBuckets = static_cast<int>(kExact) + (64 - kSubBits - 1) * (1 << kSubBits);

  void Record(uint64_t value);
  HistogramSnapshot Snapshot() const;

  // The bucket holding `value`, and the smallest and largest values of a bucket.
  static int BucketOf(uint64_t value);
  static uint64_t BucketLow(int bucket);
  static uint64_t BucketHigh(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
};

// A plain copy of a Histogram's counts: percentiles, merging, Prometheus buckets.
class HistogramSnapshot {
 public:
  HistogramSnapshot() : counts_(Histogram::kBuckets, 0) {}

  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / static_cast<double>(count_); }

  // The value at quantile q in [0, 1]: the upper end of the bucket holding the ceil(q * count)-th
  // smallest value (never above max). 0 when empty. Percentile(1) == max().
  uint64_t Percentile(double q) const;
  // How many values were <= `bound` (counting a whole bucket when `bound` falls inside it, so a
  // Prometheus "le" bucket is exact when bound is a bucket's upper end).
  uint64_t CountAtMost(uint64_t bound) const;

  void Merge(const HistogramSnapshot& other);
  // Adds one value (the same bucketing as Histogram::Record), for single-threaded use.
  void Add(uint64_t value);

 private:
  friend class Histogram;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace whistle
