// ServerMetrics: what the dispatcher counts for MetricsQuery (dispatcher/metrics.h).
#include "dispatcher/metrics.h"

#include <doctest/doctest.h>
#include <pthread.h>

#include <future>
#include <thread>

#include "tests/testing/cpu_time.h"
#include "tests/testing/engine_fixture.h"

namespace whistle {
namespace {

using testing::EngineFixture;

TEST_CASE("metrics count batches, their requests and how late their timers fired") {
  EngineFixture f;
  f.SubmitOk();
  ServerMetrics metrics(testing::kStartMs);
  const std::vector<int64_t> lags = {0, 5, 120, -3};  // -3: a clock stepped back, counted as on time
  metrics.CountBatch(7, 900, lags);
  metrics.CountBatch(1, 100, {});
  pb::MetricsResult m;
  metrics.Fill(f.engine(), &m);
  CHECK(m.started_at_ms() == testing::kStartMs);
  CHECK(m.batches() == 2);
  CHECK(m.commands() == 8);
  CHECK(m.timers_fired() == 4);
  CHECK(m.timer_lag_ms().count() == 4);
  CHECK(m.timer_lag_ms().sum() == 125);
  CHECK(m.timer_lag_ms().max() == 120);
  CHECK(m.timer_lag_ms().p50() == 0);
  CHECK(m.batch_size().max() == 7);
  CHECK(m.open_events() == 1);
  CHECK(m.synced_writes() >= 1);  // the fixture's submit
}

TEST_CASE("metrics show how many events a mode switch has yet to re-plan") {
  EngineFixture f;
  f.options.max_replans_per_batch = 1;
  f.Restart();
  f.SubmitOk("water", testing::kGrid1);
  f.SubmitOk("noise", testing::kGrid1);
  f.SubmitOk("water", testing::kGrid3);
  REQUIRE(f.SetMode(testing::kCity, pb::MODE_EMERGENCY).mode().replanned_events() == 3);
  f.engine().FireDueTimers();  // one re-planned
  ServerMetrics metrics(testing::kStartMs);
  pb::MetricsResult m;
  metrics.Fill(f.engine(), &m);
  CHECK(m.replans_pending() == 2);
  CHECK(metrics.Prometheus().find("\nwhistle_replans_pending 2\n") != std::string::npos);
  while (f.engine().HasPendingReplans()) f.engine().FireDueTimers();
  metrics.Fill(f.engine(), &m);
  CHECK(m.replans_pending() == 0);
}

TEST_CASE("metrics report the process's CPU time, and the engine's and writer's while their clocks run") {
  EngineFixture f;
  ServerMetrics metrics(testing::kStartMs);
  pb::MetricsResult m;
  metrics.Fill(f.engine(), &m);
  CHECK(m.cpu_micros() > 0);
  CHECK(m.engine_cpu_micros() == 0);  // no clocks yet
  CHECK(m.writer_cpu_micros() == 0);
  CHECK(metrics.Prometheus().find("whistle_thread_cpu_seconds_total{") == std::string::npos);

  // This thread stands for the engine, one that only waits for the writer.
  std::promise<void> release;
  std::thread waiting([done = release.get_future()] { done.wait(); });
  clockid_t self_clock, waiting_clock;
  REQUIRE(pthread_getcpuclockid(pthread_self(), &self_clock) == 0);
  REQUIRE(pthread_getcpuclockid(waiting.native_handle(), &waiting_clock) == 0);
  metrics.StartThreadClocks(self_clock, waiting_clock);
  const uint64_t self_before = testing::CpuMicros(self_clock);
  testing::BurnCpu(20000);
  metrics.Fill(f.engine(), &m);
  CHECK(m.engine_cpu_micros() >= self_before + 20000);
  CHECK(m.writer_cpu_micros() < 20000);  // it waited all along
  // Neither thread was running elsewhere while read, so the process's time holds both.
  CHECK(m.cpu_micros() >= m.engine_cpu_micros() + m.writer_cpu_micros());
  const std::string text = metrics.Prometheus();
  CHECK(text.find("\nprocess_cpu_seconds_total ") != std::string::npos);
  CHECK(text.find("\nwhistle_thread_cpu_seconds_total{thread=\"engine\"} ") != std::string::npos);
  CHECK(text.find("\nwhistle_thread_cpu_seconds_total{thread=\"writer\"} ") != std::string::npos);

  // Stopped, the clocks are read no more: the last readings stay, the waiting thread may end.
  metrics.StopThreadClocks();
  pb::MetricsResult stopped;
  metrics.Fill(f.engine(), &stopped);
  release.set_value();
  waiting.join();
  testing::BurnCpu(20000);
  pb::MetricsResult later;
  metrics.Fill(f.engine(), &later);
  CHECK(later.engine_cpu_micros() == stopped.engine_cpu_micros());
  CHECK(later.writer_cpu_micros() == stopped.writer_cpu_micros());
  CHECK(later.engine_cpu_micros() >= m.engine_cpu_micros());
  CHECK(later.cpu_micros() >= stopped.cpu_micros() + 20000);
}

}  // namespace
}  // namespace whistle
