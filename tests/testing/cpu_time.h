// CPU time in tests: a clock's reading, and work for this thread until its own clock has moved.
// For checks of what a thread's CPU-time clock counts, never of how fast anything runs.
#pragma once

#include <time.h>

#include <cstdint>

namespace whistle::testing {

// `clock`'s reading in microseconds (a CPU-time clock: CLOCK_THREAD_CPUTIME_ID,
// pthread_getcpuclockid); 0 when it cannot be read.
inline uint64_t CpuMicros(clockid_t clock) {
  timespec t{};
  if (clock_gettime(clock, &t) != 0) return 0;
  return static_cast<uint64_t>(t.tv_sec) * 1000000 + static_cast<uint64_t>(t.tv_nsec) / 1000;
}

// Keeps this thread on the CPU until its CPU-time clock has advanced by `micros`.
inline void BurnCpu(uint64_t micros) {
  const uint64_t until = CpuMicros(CLOCK_THREAD_CPUTIME_ID) + micros;
  volatile uint64_t sink = 0;
  while (CpuMicros(CLOCK_THREAD_CPUTIME_ID) < until) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

}  // namespace whistle::testing
