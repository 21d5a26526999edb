#include "dispatcher/clock.h"

#include <stdexcept>

namespace whistle {

int64_t SystemClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ManualClock::Set(int64_t ms) {
  if (ms < now_ms_.load()) throw std::logic_error("ManualClock::Set: time cannot go back");
  now_ms_.store(ms);
}

ScaledClock::ScaledClock(const Clock& base, int64_t start_ms, double factor)
    : base_(base), base_start_ms_(base.NowMs()), start_ms_(start_ms), factor_(factor) {
  if (factor <= 0) throw std::invalid_argument("ScaledClock: factor must be positive");
}

int64_t ScaledClock::NowMs() const {
  return start_ms_ + static_cast<int64_t>(static_cast<double>(base_.NowMs() - base_start_ms_) * factor_);
}

}  // namespace whistle
