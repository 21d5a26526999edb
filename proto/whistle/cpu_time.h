// A CPU-time clock's reading (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, or a thread's
// from pthread_getcpuclockid), in microseconds.
#pragma once

#include <time.h>

#include <cstdint>

namespace whistle {

// 0 when the clock cannot be read (its thread has exited).
inline uint64_t CpuMicros(clockid_t clock) {
  timespec t{};
  if (clock_gettime(clock, &t) != 0) return 0;
  return static_cast<uint64_t>(t.tv_sec) * 1000000 + static_cast<uint64_t>(t.tv_nsec) / 1000;
}

}  // namespace whistle
