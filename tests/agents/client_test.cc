// The client library's pure parts (agents/client.h). Calls against a real dispatcher are in
// tests/integration.
#include "agents/client.h"

#include <doctest/doctest.h>

namespace whistle {
namespace {

using std::chrono::milliseconds;

TEST_CASE("the pause after BUSY doubles with each BUSY in a row, up to 32 times, jittered by half") {
  constexpr uint64_t kLowest = 0, kMiddle = 1ull << 63, kHighest = ~0ull;
  CHECK(BusyBackoff(milliseconds(100), 1, kMiddle) == milliseconds(100));
  CHECK(BusyBackoff(milliseconds(100), 2, kMiddle) == milliseconds(200));
  CHECK(BusyBackoff(milliseconds(100), 3, kMiddle) == milliseconds(400));
  CHECK(BusyBackoff(milliseconds(100), 6, kMiddle) == milliseconds(3200));
  CHECK(BusyBackoff(milliseconds(100), 7, kMiddle) == milliseconds(3200));   // capped
  CHECK(BusyBackoff(milliseconds(100), 1000, kMiddle) == milliseconds(3200));
  CHECK(BusyBackoff(milliseconds(100), 0, kMiddle) == milliseconds(100));    // as the first
  CHECK(BusyBackoff(milliseconds(100), 1, kLowest) == milliseconds(50));     // half
  CHECK(BusyBackoff(milliseconds(100), 1, kHighest) == milliseconds(149));   // just under 1.5x
  CHECK(BusyBackoff(milliseconds(100), 6, kLowest) == milliseconds(1600));
  CHECK(BusyBackoff(milliseconds(0), 5, kHighest) == milliseconds(0));
}

}  // namespace
}  // namespace whistle
