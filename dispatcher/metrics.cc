#include "dispatcher/metrics.h"

#include <algorithm>

#include <google/protobuf/descriptor.h>

namespace whistle {

void ServerMetrics::CountReply(const pb::Request& request, pb::StatusCode code) {
  int kind = static_cast<int>(request.command_case());
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

void ServerMetrics::Fill(const Engine& engine, pb::MetricsResult* out) const {
  out->set_started_at_ms(started_at_ms_);
  out->set_batches(batches_.load(std::memory_order_relaxed));
  out->set_commands(commands_.load(std::memory_order_relaxed));
  out->set_busy_replies(busy_.load(std::memory_order_relaxed));
  out->set_rejected_frames(rejected_frames_.load(std::memory_order_relaxed));
  out->set_dropped_replies(dropped_replies_.load(std::memory_order_relaxed));
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
  HistogramSnapshot lags = timer_lag_ms_.Snapshot();
  out->set_timers_fired(lags.count());
  Summarize(lags, out->mutable_timer_lag_ms());
  HistogramSnapshot writes = engine.state().store().write_micros().Snapshot();
  out->set_synced_writes(writes.count());
  Summarize(writes, out->mutable_synced_write_micros());
  out->set_open_events(engine.state().open_event_count());
  out->set_last_seq(engine.state().committed_seq());
}

}  // namespace whistle
