// CPU time in tests: a clock's reading, and work for this thread until its own clock has moved.
// For checks of what a thread's CPU-time clock counts, never of how fast anything runs.
#pragma once

#include <time.h>

#include <cstdint>

#include "whistle/cpu_time.h"

namespace whistle::testing {

using whistle::CpuMicros;  // proto/whistle/cpu_time.h

// Keeps this thread on the CPU until its CPU-time clock has advanced by `micros`.
inline void BurnCpu(uint64_t micros) {
  const uint64_t until = CpuMicros(CLOCK_THREAD_CPUTIME_ID) + micros;
  volatile uint64_t sink = 0;
  while (CpuMicros(CLOCK_THREAD_CPUTIME_ID) < until) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

}  // namespace whistle::testing
