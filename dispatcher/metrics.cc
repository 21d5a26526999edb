#include "dispatcher/metrics.h"

#include <algorithm>

#include <google/protobuf/descriptor.h>

#include "dispatcher/lifecycle.h"
#include "whistle/check.h"
#include "whistle/cpu_time.h"
#include "whistle/prometheus.h"

namespace whistle {

void ServerMetrics::CountReply(pb::Request::CommandCase command, pb::StatusCode code) {
  int kind = static_cast<int>(command);
  int c = static_cast<int>(code);
  if (kind < 0 || kind >= kKinds) kind = 0;
  if (c < 0 || c >= kCodes) c = pb::STATUS_INTERNAL;
  replies_[static_cast<size_t>(kind)][static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
}

void ServerMetrics::CountBatch(size_t requests, uint64_t micros, std::span<const int64_t> timer_lags_ms) {
  batches_.fetch_add(1, std::memory_order_relaxed);
  commands_.fetch_add(requests, std::memory_order_relaxed);
  batch_size_.Record(requests);
  batch_micros_.Record(micros);
  // A timer fires no earlier than due; a clock that stepped back is counted as on time.
  for (int64_t lag : timer_lags_ms) timer_lag_ms_.Record(static_cast<uint64_t>(std::max<int64_t>(lag, 0)));
}

void Summarize(const HistogramSnapshot& h, pb::HistogramSummary* out) {
  out->set_count(h.count());
  out->set_sum(h.sum());
  out->set_p50(h.Percentile(0.5));
  out->set_p90(h.Percentile(0.9));
  out->set_p99(h.Percentile(0.99));
  out->set_p999(h.Percentile(0.999));
  out->set_max(h.max());
}

void ServerMetrics::StartThreadClocks(clockid_t engine, clockid_t writer) {
  std::lock_guard lock(clocks_mu_);
  engine_clock_ = engine;
  writer_clock_ = writer;
  clocks_started_ = true;
  clocks_running_ = true;
}

void ServerMetrics::StopThreadClocks() {
  std::lock_guard lock(clocks_mu_);
  if (!clocks_running_) return;
  engine_cpu_micros_ = CpuMicros(engine_clock_);
  writer_cpu_micros_ = CpuMicros(writer_clock_);
  clocks_running_ = false;
}

void ServerMetrics::ObserveEngine(const OpenCounts& open, uint64_t last_seq, const Histogram& store_writes,
                                  uint64_t replans_pending) {
  std::lock_guard lock(engine_mu_);
  open_ = open;
  last_seq_ = last_seq;
  replans_pending_ = replans_pending;
  store_write_micros_ = &store_writes;
}

void ServerMetrics::ObserveEngine(const Engine& engine) {
  WHISTLE_CHECK(engine.batches_in_flight() == 0, "metrics observed with a batch not yet written");
  ObserveEngine(engine.state().open_tally().city(), engine.state().committed_seq(),
                engine.state().store().write_micros(), engine.pending_replans());
}

void ServerMetrics::Fill(pb::MetricsResult* out) const {
  out->set_started_at_ms(started_at_ms_);
  out->set_batches(batches_.load(std::memory_order_relaxed));
  out->set_commands(commands_.load(std::memory_order_relaxed));
  out->set_busy_replies(busy_.load(std::memory_order_relaxed));
  out->set_rejected_frames(rejected_frames_.load(std::memory_order_relaxed));
  out->set_dropped_replies(dropped_replies_.load(std::memory_order_relaxed));
  out->set_bus_connections_cut(bus_connections_cut_.load(std::memory_order_relaxed));
  out->set_front_handshakes_refused(front_handshakes_refused_.load(std::memory_order_relaxed));
  out->set_bus_handshakes_refused(bus_handshakes_refused_.load(std::memory_order_relaxed));
  out->set_log_reads_held(held_reads_.load(std::memory_order_relaxed));
  out->set_log_reads_held_total(held_reads_total_.load(std::memory_order_relaxed));
  out->set_log_reads_woken(held_reads_woken_.load(std::memory_order_relaxed));
  for (int kind = 0; kind < kKinds; ++kind) {
    for (int code = 0; code < kCodes; ++code) {
      uint64_t n = replies_[static_cast<size_t>(kind)][static_cast<size_t>(code)].load(std::memory_order_relaxed);
      if (n == 0) continue;
      pb::CommandCount* c = out->add_by_command();
      // The oneof's field numbers are its cases; 0 is a request without a command.
      const google::protobuf::FieldDescriptor* field = pb::Request::descriptor()->FindFieldByNumber(kind);
      c->set_command(field != nullptr ? field->name() : "none");
      c->set_code(static_cast<pb::StatusCode>(code));
      c->set_count(n);
    }
  }
  Summarize(batch_size_.Snapshot(), out->mutable_batch_size());
  Summarize(batch_micros_.Snapshot(), out->mutable_batch_micros());
  Summarize(answer_micros_.Snapshot(), out->mutable_answer_micros());
  HistogramSnapshot lags = timer_lag_ms_.Snapshot();
  out->set_timers_fired(lags.count());
  Summarize(lags, out->mutable_timer_lag_ms());
  out->set_connected_clients(front_connections_.load(std::memory_order_relaxed));
  out->set_bus_subscribers(bus_connections_.load(std::memory_order_relaxed));
  {
    // The threads first, then the process: its time then includes theirs, but for what a thread
    // running on another core has used since the scheduler last counted it (up to a tick).
    std::lock_guard lock(clocks_mu_);
    if (clocks_running_) {
      engine_cpu_micros_ = CpuMicros(engine_clock_);
      writer_cpu_micros_ = CpuMicros(writer_clock_);
    }
    out->set_engine_cpu_micros(engine_cpu_micros_);
    out->set_writer_cpu_micros(writer_cpu_micros_);
  }
  out->set_cpu_micros(CpuMicros(CLOCK_PROCESS_CPUTIME_ID));
  std::lock_guard lock(engine_mu_);
  HistogramSnapshot writes = store_write_micros_ ? store_write_micros_->Snapshot() : HistogramSnapshot();
  out->set_synced_writes(writes.count());
  Summarize(writes, out->mutable_synced_write_micros());
  out->set_open_events(open_.open);
  out->set_overdue_events(open_.overdue);
  out->set_supervised_events(open_.supervised);
  out->set_last_seq(last_seq_);
  out->set_replans_pending(replans_pending_);
  for (size_t level = 0; level < OpenCounts::kLevels; ++level) {
    for (size_t state = 0; state < OpenCounts::kStates; ++state) {
      if (uint32_t n = open_.by_level_state[level][state]) {
        pb::BoardCell* cell = out->add_open_by_level_state();
        cell->set_level(static_cast<pb::Level>(level));
        cell->set_state(static_cast<pb::EventState>(state));
        cell->set_count(n);
      }
    }
  }
}

std::string ServerMetrics::Prometheus() const {
  pb::MetricsResult m;
  Fill(&m);
  PrometheusText out;
  out.Gauge("whistle_start_time_seconds", "When the dispatcher started, seconds since the epoch.");
  out.Sample("whistle_start_time_seconds", static_cast<double>(m.started_at_ms()) / 1e3);
  out.Counter("whistle_replies_total", "Answers the front door sent, by request kind and status code.");
  for (const pb::CommandCount& c : m.by_command()) {
    out.Sample("whistle_replies_total", {{"command", c.command()}, {"code", pb::StatusCode_Name(c.code())}},
               static_cast<double>(c.count()));
  }
  out.Counter("whistle_busy_replies_total", "Submits answered BUSY: shed under overload, to be retried.");
  out.Sample("whistle_busy_replies_total", static_cast<double>(m.busy_replies()));
  out.Counter("whistle_rejected_frames_total", "Messages refused before the engine: malformed, multi-frame or too large.");
  out.Sample("whistle_rejected_frames_total", static_cast<double>(m.rejected_frames()));
  out.Counter("whistle_dropped_replies_total", "Answers not sent because the client had 1,000 unread (or had left).");
  out.Sample("whistle_dropped_replies_total", static_cast<double>(m.dropped_replies()));
  out.Counter("whistle_bus_connections_cut_total",
              "Bus connections shut down at revocations: the revoked principals' and those not yet known to be anyone's.");
  out.Sample("whistle_bus_connections_cut_total", static_cast<double>(m.bus_connections_cut()));
  out.Counter("whistle_handshakes_refused_total",
              "CURVE handshakes refused: unknown or revoked keys; on the bus, principals that may not read the whole log.");
  out.Sample("whistle_handshakes_refused_total", {{"socket", "front"}},
             static_cast<double>(m.front_handshakes_refused()));
  out.Sample("whistle_handshakes_refused_total", {{"socket", "bus"}},
             static_cast<double>(m.bus_handshakes_refused()));
  out.Gauge("whistle_log_reads_held",
            "Log reads held now for their reader's next record (LogQuery.wait_ms).");
  out.Sample("whistle_log_reads_held", static_cast<double>(m.log_reads_held()));
  out.Counter("whistle_log_reads_held_total",
              "Log reads held for their reader's next record since the start.");
  out.Sample("whistle_log_reads_held_total", static_cast<double>(m.log_reads_held_total()));
  out.Counter(
      "whistle_log_reads_woken_total",
      "Held log reads a record their reader may read woke (the rest ended with their wait).");
  out.Sample("whistle_log_reads_woken_total", static_cast<double>(m.log_reads_woken()));
  out.Counter("whistle_batches_total", "Engine batches (each one synced write when it changed anything).");
  out.Sample("whistle_batches_total", static_cast<double>(m.batches()));
  out.Counter("whistle_engine_requests_total", "Requests that reached the engine, queries included.");
  out.Sample("whistle_engine_requests_total", static_cast<double>(m.commands()));
  out.Histogram("whistle_batch_size", "Requests per engine batch (group commit).", batch_size_.Snapshot(),
                kCountBounds, 1);
  out.Histogram("whistle_batch_seconds", "An engine batch, from the decision of its first request to its synced write.",
                batch_micros_.Snapshot(), kMicrosBounds, 1e6);
  out.Histogram("whistle_answer_seconds",
                "A request answered after a batch, from its read off the front socket until its batch's answers go "
                "out (BUSY and malformed ones excluded; the wait in the socket before the read is not in it).",
                answer_micros_.Snapshot(), kMicrosBounds, 1e6);
  {
    std::lock_guard lock(engine_mu_);
    HistogramSnapshot writes = store_write_micros_ ? store_write_micros_->Snapshot() : HistogramSnapshot();
    out.Histogram("whistle_fsync_seconds", "One synced write of the store: log append and fsync.", writes,
                  kMicrosBounds, 1e6);
  }
  out.Histogram("whistle_timer_lag_seconds", "How late each deadline or auto-close fired: due time to its batch.",
                timer_lag_ms_.Snapshot(), kMillisBounds, 1e3);
  out.Gauge("whistle_open_events", "Open events by handling level and state.");
  for (const pb::BoardCell& c : m.open_by_level_state()) {
    out.Sample("whistle_open_events", {{"level", std::string(LevelName(c.level()))}, {"state", StateKey(c.state())}},
               c.count());
  }
  out.Gauge("whistle_overdue_events", "Open events that missed a deadline at city level.");
  out.Sample("whistle_overdue_events", m.overdue_events());
  out.Gauge("whistle_supervised_events", "Open events under supervision.");
  out.Sample("whistle_supervised_events", m.supervised_events());
  out.Gauge("whistle_replans_pending", "Events a mode switch has yet to re-plan.");
  out.Sample("whistle_replans_pending", static_cast<double>(m.replans_pending()));
  out.Gauge("whistle_connected_clients", "Connections open now, by socket.");
  out.Sample("whistle_connected_clients", {{"socket", "front"}}, m.connected_clients());
  out.Sample("whistle_connected_clients", {{"socket", "bus"}}, m.bus_subscribers());
  // process_cpu_seconds_total is the name Prometheus's own clients give the process's CPU time.
  out.Counter("process_cpu_seconds_total", "CPU time of the whole process, user and system, in seconds.");
  out.Sample("process_cpu_seconds_total", static_cast<double>(m.cpu_micros()) / 1e6);
  bool started;
  {
    std::lock_guard lock(clocks_mu_);
    started = clocks_started_;
  }
  if (started) {
    out.Counter("whistle_thread_cpu_seconds_total",
                "CPU time of the engine thread and of the writer thread; a thread near 1 a second is "
                "one limit of the dispatcher, the process near the machine's cores another.");
    out.Sample("whistle_thread_cpu_seconds_total", {{"thread", "engine"}},
               static_cast<double>(m.engine_cpu_micros()) / 1e6);
    out.Sample("whistle_thread_cpu_seconds_total", {{"thread", "writer"}},
               static_cast<double>(m.writer_cpu_micros()) / 1e6);
  }
  out.Gauge("whistle_last_seq", "The newest record's sequence number on disk.");
  out.Sample("whistle_last_seq", static_cast<double>(m.last_seq()));
  return out.Take();
}

}  // namespace whistle
