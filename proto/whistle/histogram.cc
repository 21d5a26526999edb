#include "whistle/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace whistle {

int Histogram::BucketOf(uint64_t value) {
  if (value < kExact) return static_cast<int>(value);
  // value has its top bit at position `top` >= kSubBits + 1; the kSubBits bits below it pick
  // the sub-bucket.
  int top = 63 - std::countl_zero(value);
  int shift = top - kSubBits;
  uint64_t sub = (value >> shift) & ((uint64_t{1} << kSubBits) - 1);
  return static_cast<int>(kExact) + (top - kSubBits - 1) * (1 << kSubBits) + static_cast<int>(sub);
}

uint64_t Histogram::BucketLow(int bucket) {
  if (bucket < static_cast<int>(kExact)) return static_cast<uint64_t>(bucket);
  int rest = bucket - static_cast<int>(kExact);
  int top = rest / (1 << kSubBits) + kSubBits + 1;
  uint64_t sub = static_cast<uint64_t>(rest % (1 << kSubBits));
  int shift = top - kSubBits;
  return ((uint64_t{1} << kSubBits) | sub) << shift;
}

uint64_t Histogram::BucketHigh(int bucket) {
  if (bucket + 1 >= kBuckets) return UINT64_MAX;
  return BucketLow(bucket + 1) - 1;
}

void Histogram::Record(uint64_t value) {
  counts_[static_cast<size_t>(BucketOf(value))].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  uint64_t seen = min_.load(std::memory_order_relaxed);
  while (value < seen && !min_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
  seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot s;
  uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    s.counts_[static_cast<size_t>(i)] = counts_[static_cast<size_t>(i)].load(std::memory_order_relaxed);
    total += s.counts_[static_cast<size_t>(i)];
  }
  // The count is the buckets' sum, so percentiles and Prometheus buckets always agree with it.
  s.count_ = total;
  s.sum_ = sum_.load(std::memory_order_relaxed);
  s.min_ = min_.load(std::memory_order_relaxed);
  s.max_ = max_.load(std::memory_order_relaxed);
  return s;
}

void HistogramSnapshot::Add(uint64_t value) {
  ++counts_[static_cast<size_t>(Histogram::BucketOf(value))];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

uint64_t HistogramSnapshot::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int i = 0; i < Histogram::kBuckets; ++i) {
    seen += counts_[static_cast<size_t>(i)];
    if (seen >= rank) return std::min(Histogram::BucketHigh(i), max_);
  }
  return max_;
}

uint64_t HistogramSnapshot::CountAtMost(uint64_t bound) const {
  uint64_t n = 0;
  int last = Histogram::BucketOf(bound);
  for (int i = 0; i <= last; ++i) n += counts_[static_cast<size_t>(i)];
  return n;
}

void HistogramSnapshot::Merge(const HistogramSnapshot& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

}  // namespace whistle
