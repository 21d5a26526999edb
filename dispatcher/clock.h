// Clock: where the engine gets the time. Injected into constructors; never a global.
//
// Times are milliseconds since the Unix epoch (UTC). ManualClock lets tests and simulations move
// time by hand (`clock.Advance(48h)`) without sleeping; ScaledClock runs simulated time faster
// than real time for demonstrations.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace whistle {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};

// Wall-clock time (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
};

// Time that moves only when told. Thread-safe (atomic), so a test thread may advance it while an
// engine thread reads it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }
  // REQUIRES: ms >= NowMs() (time never goes back).
  void Set(int64_t ms);

 private:
  std::atomic<int64_t> now_ms_;
};

// Simulated time that starts at `start_ms` and runs `factor` times faster than the base clock:
// factor 60 turns one real second into one simulated minute.
class ScaledClock final : public Clock {
 public:
  ScaledClock(const Clock& base, int64_t start_ms, double factor);
  int64_t NowMs() const override;

 private:
  const Clock& base_;
  int64_t base_start_ms_;
  int64_t start_ms_;
  double factor_;
};

}  // namespace whistle
