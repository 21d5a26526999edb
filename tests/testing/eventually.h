// Waiting in tests for something another thread or process does on its own time (RocksDB's
// background work, a callback's delivery): polls, and never asserts how long it took.
#pragma once

#include <chrono>
#include <thread>

namespace whistle::testing {

// Polls `done` every 10 ms until it holds or `timeout` passes; then what `done` says.
template <typename Pred>
bool Eventually(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace whistle::testing
