// ServerMetrics: what the dispatcher counts for MetricsQuery (dispatcher/metrics.h).
#include "dispatcher/metrics.h"

#include <doctest/doctest.h>

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

}  // namespace
}  // namespace whistle
