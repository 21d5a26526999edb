// whistle-test-subscriber: prints the sequence number of every record it is given, one a line,
// until it has printed --until; for tests that stop and resume a subscriber process.
#include <iostream>

#include "agents/client.h"
#include "tools/flags.h"

int main(int argc, char** argv) {
  using namespace whistle;
  auto flags = Flags::Parse(argc, argv);
  if (!flags.ok()) return 2;
  std::string front = flags->TakeString("front");
  std::string bus = flags->TakeString("bus");
  auto until = flags->TakeInt("until", 0, 1, INT64_MAX);
  if (!until.ok() || !flags->CheckAllTaken().ok()) return 2;
  zmq::context_t context;
  Subscriber subscriber(context, bus, front);
  uint64_t quiet = 0;
  while (subscriber.last_seq() < static_cast<uint64_t>(*until) && quiet < 300) {
    auto next = subscriber.Next(std::chrono::milliseconds(100));
    if (!next.ok()) return std::cerr << next.status().ToString() << "\n", 1;
    if (!next->has_value()) {
      ++quiet;
      continue;
    }
    quiet = 0;
    std::cout << (*next)->seq() << "\n";
  }
  std::cerr << "caught up through the front door: " << subscriber.caught_up() << "\n";
  return subscriber.last_seq() >= static_cast<uint64_t>(*until) ? 0 : 1;
}
