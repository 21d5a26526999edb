// ServerMetrics: what the dispatcher counts while it serves, answered to MetricsQuery (wire.proto)
// and, for operators, rendered by whistlectl metrics.
//
//   replies by request kind and status code   every answer the front door sent, BUSY included
//   batches, their size and duration          one engine batch = one synced write (group commit)
//   answer time                               a request's, from its read to its batch's answers
//   synced writes and their latency           from the store (storage/store.h)
//   BUSY replies, rejected frames, answers dropped (the client's queue full)
//   timers fired and how late each (due time to the batch that fired it)
//   open events by level and state, overdue, supervised (the engine's, as of the last turn)
//   connections on the front door and the bus
//   CPU time: the process's, the engine thread's and the writer thread's
//
// Also rendered in Prometheus's text format for GET /metrics (whistle/metrics_http.h);
// docs/OPERATIONS.md lists every metric.
//
// Threading: the engine thread records and calls ObserveEngine once a turn; Fill and
// WritePrometheus may run on any thread (relaxed atomics: each counter is exact, counters read
// together may be a batch apart; engine figures are those of the last ObserveEngine).
#pragma once

#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "dispatcher/engine.h"
#include "whistle/histogram.h"
#include "whistle/wire.pb.h"

namespace whistle {

class ServerMetrics {
 public:
  explicit ServerMetrics(int64_t started_at_ms) : started_at_ms_(started_at_ms) {}

  void CountReply(const pb::Request& request, pb::StatusCode code) { CountReply(request.command_case(), code); }
  void CountReply(pb::Request::CommandCase command, pb::StatusCode code);
  // A batch of `requests`, `micros` long, that fired timers this late (ms each).
  void CountBatch(size_t requests, uint64_t micros, std::span<const int64_t> timer_lags_ms);
  // A request answered after a batch, `micros` after it was read off the front socket.
  void CountAnswerTime(uint64_t micros) { answer_micros_.Record(micros); }
  void CountBusy() { busy_.fetch_add(1, std::memory_order_relaxed); }
  void CountRejectedFrame() { rejected_frames_.fetch_add(1, std::memory_order_relaxed); }
  void CountDroppedReply() { dropped_replies_.fetch_add(1, std::memory_order_relaxed); }
  void CountBusConnectionsCut(uint64_t n) { bus_connections_cut_.fetch_add(n, std::memory_order_relaxed); }
  // A CURVE handshake the ZAP handler refused, on the bus or the front door (any thread).
  void CountHandshakeRefused(bool bus) {
    auto& counter = bus ? bus_handshakes_refused_ : front_handshakes_refused_;
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  // Log reads held for their next record (server.h, "Held log reads"): one more held, n woken by a
  // record, and how many are held now.
  void CountHeldRead() { held_reads_total_.fetch_add(1, std::memory_order_relaxed); }
  void CountHeldReadsWoken(uint64_t n) {
    held_reads_woken_.fetch_add(n, std::memory_order_relaxed);
  }
  void SetHeldReads(uint32_t n) { held_reads_.store(n, std::memory_order_relaxed); }
  // Connections now open on the front door and the bus (socket monitor events).
  void SetConnections(uint32_t front, uint32_t bus) {
    front_connections_.store(front, std::memory_order_relaxed);
    bus_connections_.store(bus, std::memory_order_relaxed);
  }

  // The engine thread's and the writer thread's CPU-time clocks (pthread_getcpuclockid). From
  // StartThreadClocks until StopThreadClocks each Fill reads them; after, it gives their last
  // readings: the engine thread may end once it stops serving, and a dead thread's clock reads
  // nothing (or another thread's, once its id is reused). Before, both are 0 (and Prometheus
  // leaves them out). The engine's includes what its thread did before serving: loading the store.
  // Any thread; each thread must live until StopThreadClocks.
  void StartThreadClocks(clockid_t engine, clockid_t writer);
  void StopThreadClocks();

  // Copies the engine's figures as of its last written batch (the open events when that batch was
  // sealed, the last sequence number written, the store's synced-write histogram; nothing shown
  // is still to be written) and the events a mode switch has yet to re-plan, for Fill and
  // WritePrometheus. Engine thread only.
  void ObserveEngine(const OpenCounts& open, uint64_t last_seq, const Histogram& store_writes,
                     uint64_t replans_pending);
  // The same, read from the engine. REQUIRES: nothing is decided and unwritten (at start, in tests).
  void ObserveEngine(const Engine& engine);

  // Everything above, as of the last ObserveEngine. Any thread.
  void Fill(pb::MetricsResult* out) const;
  // ObserveEngine(engine), then Fill: on the engine thread, with nothing decided and unwritten.
  void Fill(const Engine& engine, pb::MetricsResult* out) {
    ObserveEngine(engine);
    Fill(out);
  }
  // The same figures in Prometheus's text format, histograms with their buckets. Any thread.
  std::string Prometheus() const;

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
  std::atomic<uint64_t> bus_connections_cut_{0};
  std::atomic<uint64_t> front_handshakes_refused_{0};
  std::atomic<uint64_t> bus_handshakes_refused_{0};
  std::atomic<uint64_t> held_reads_total_{0};
  std::atomic<uint64_t> held_reads_woken_{0};
  std::atomic<uint32_t> held_reads_{0};
  std::atomic<uint32_t> front_connections_{0};
  std::atomic<uint32_t> bus_connections_{0};
  // The threads' clocks and their last readings.
  mutable std::mutex clocks_mu_;
  bool clocks_started_ = false;                 // guarded by clocks_mu_
  bool clocks_running_ = false;                 // guarded by clocks_mu_
  clockid_t engine_clock_ = 0;                  // guarded by clocks_mu_
  clockid_t writer_clock_ = 0;                  // guarded by clocks_mu_
  mutable uint64_t engine_cpu_micros_ = 0;      // guarded by clocks_mu_
  mutable uint64_t writer_cpu_micros_ = 0;      // guarded by clocks_mu_
  Histogram batch_size_;
  Histogram batch_micros_;
  Histogram timer_lag_ms_;
  Histogram answer_micros_;

  // ObserveEngine's copy.
  mutable std::mutex engine_mu_;
  OpenCounts open_;
  uint64_t last_seq_ = 0;
  uint64_t replans_pending_ = 0;
  const Histogram* store_write_micros_ = nullptr;  // the store's: outlives the server
};

// A histogram's summary for the wire.
void Summarize(const HistogramSnapshot& h, pb::HistogramSummary* out);

}  // namespace whistle
