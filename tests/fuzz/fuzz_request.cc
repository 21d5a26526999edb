// fuzz_request: the bytes of one request frame, decoded as the dispatcher decodes them
// (pb::Request::ParseFromArray, dispatcher/server.cc) and, when they parse, run through a real
// engine twice: as ROLE_DEV (the --dev-no-auth dispatcher, which may do everything) and as a
// ROLE_REPORTER principal (mostly refused by authorization).
//
// Properties: the engine never crashes nor breaks its own checks, it stays healthy, and every
// answer passes CheckResponse (a valid StatusCode; a message when not OK; the correlation id).
// PeekRequest (dispatcher/request_peek.h) reads the same correlation id and command as the parse.
//
// One engine per process, created on the first input, so state accumulates across inputs as it
// does in a dispatcher: a Claim may find the event an earlier Submit made. Two departures, both
// to keep a long run meaningful and fast:
//   - CheckpointQuery.dir is replaced by a path in the engine's scratch directory (removed after
//     each input): the fuzzer must not write copies of the store all over the file system.
//   - the engine starts over on a new store once it has logged kRecycleAfterRecords records:
//     with a clock that never moves, every Submit of a grid and category links to the same open
//     event, whose size (and so each later Submit's cost) grows without bound, and Digest,
//     Checkpoint, List and Log cost in proportion to the store (with 20000 records, 2,300
//     inputs/s after 20 minutes; with 2000, 7,700/s).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <system_error>

#include "dispatcher/request_peek.h"
#include "tests/fuzz/fuzz_support.h"
#include "whistle/check.h"

namespace whistle::fuzz {
namespace {

constexpr uint64_t kRecycleAfterRecords = 2000;

pb::Actor Dev() {
  pb::Actor a;
  a.set_role(pb::ROLE_DEV);
  a.set_principal("dev");
  return a;
}

pb::Actor Reporter() {
  pb::Actor a;
  a.set_role(pb::ROLE_REPORTER);
  a.set_principal("fuzz-reporter");
  return a;
}

}  // namespace
}  // namespace whistle::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  whistle::fuzz::QuietProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace whistle;
  using namespace whistle::fuzz;

  // Exactly the server's decoding; a frame that does not parse gets BAD_REQUEST there.
  pb::Request request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  // What the server sheds under overload without parsing must be what the parser reads.
  std::optional<RequestPeek> peek = PeekRequest(data, size);
  WHISTLE_CHECK(peek.has_value(), "a request that parses has no peek");
  WHISTLE_CHECK(peek->correlation_id == request.correlation_id() && peek->command == request.command_case(),
                "the peek (%llu, command %d) is not the parse (%llu, command %d)",
                static_cast<unsigned long long>(peek->correlation_id), static_cast<int>(peek->command),
                static_cast<unsigned long long>(request.correlation_id()), static_cast<int>(request.command_case()));

  EngineWorld& world = SharedWorld();
  std::string checkpoint_dir;
  if (request.has_checkpoint() && !request.checkpoint().dir().empty()) {
    checkpoint_dir = world.dir().Sub("checkpoint");
    request.mutable_checkpoint()->set_dir(checkpoint_dir);
  }

  for (const pb::Actor& actor : {Dev(), Reporter()}) {
    pb::Response response = world.engine().Execute(Command{actor, request});
    CheckResponse(response, request, actor.role() == pb::ROLE_DEV ? "as dev" : "as reporter");
    WHISTLE_CHECK(world.engine().health().ok(), "the engine stopped: %s",
                  world.engine().health().ToString().c_str());
    if (!checkpoint_dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(checkpoint_dir, ignored);
    }
  }

  if (world.engine().state().last_seq() > kRecycleAfterRecords) DropSharedWorld();
  return 0;
}
