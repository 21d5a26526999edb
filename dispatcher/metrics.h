// ServerMetrics: what the dispatcher counts while it serves, answered to MetricsQuery (wire.proto)
// and, for operators, rendered by whistlectl metrics.
//
//   replies by request kind and status code   every answer the front door sent, BUSY included
//   batches, their size and duration          one engine batch = one synced write (group commit)
//   synced writes and their latency           from the store (storage/store.h)
//   BUSY replies, rejected frames, answers dropped (the client's queue full)
//   timers fired and how late each (due time to the batch that fired it)
//
// Threading: the engine thread records; Fill may run on any thread (relaxed atomics: each counter
// is exact, counters read together may be a batch apart).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>

#include "dispatcher/engine.h"
#include "whistle/histogram.h"
#include "whistle/wire.pb.h"

namespace whistle {

class ServerMetrics {
 public:
  explicit ServerMetrics(int64_t started_at_ms) : started_at_ms_(started_at_ms) {}

  void CountReply(const pb::Request& request, pb::StatusCode code);
  // A batch of `requests`, `micros` long, that fired timers this late (ms each).
  void CountBatch(size_t requests, uint64_t micros, std::span<const int64_t> timer_lags_ms);
  void CountBusy() { busy_.fetch_add(1, std::memory_order_relaxed); }
  void CountRejectedFrame() { rejected_frames_.fetch_add(1, std::memory_order_relaxed); }
  void CountDroppedReply() { dropped_replies_.fetch_add(1, std::memory_order_relaxed); }

  // Everything above, with the engine's open events and last sequence number and the store's
  // synced writes. Engine state is read without a lock: call on the engine thread.
  void Fill(const Engine& engine, pb::MetricsResult* out) const;

 private:
  // Request oneof field numbers stay below 64 (wire.proto); status codes below 16.
  static constexpr int kKinds = 64;
  static constexpr int kCodes = 16;

  int64_t started_at_ms_;
  std::array<std::array<std::atomic<uint64_t>, kCodes>, kKinds> replies_{};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> busy_{0};
  std::atomic<uint64_t> rejected_frames_{0};
  std::atomic<uint64_t> dropped_replies_{0};
  Histogram batch_size_;
  Histogram batch_micros_;
  Histogram timer_lag_ms_;
};

// A histogram's summary for the wire.
void Summarize(const HistogramSnapshot& h, pb::HistogramSummary* out);

}  // namespace whistle
