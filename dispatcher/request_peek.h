// PeekRequest: what the front door needs to know of a request frame to shed it under overload,
// read from the wire without building the pb::Request.
//
// A full parse allocates every string of a Submit's report only for the answer to be BUSY; under
// 10x load that was a quarter of the engine thread, in malloc and free. The peek walks the
// top-level fields once and allocates nothing.
//
// It agrees with pb::Request::ParseFromArray wherever that succeeds: the same correlation id and
// the same command (the last field of the oneof on the wire wins, as in the parser; a field of
// the wrong wire type is an unknown field to both). Where it fails (the top level is not a
// well-formed message), the caller parses fully and answers what the parser says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "whistle/wire.pb.h"

namespace whistle {

struct RequestPeek {
  uint64_t correlation_id = 0;
  pb::Request::CommandCase command = pb::Request::COMMAND_NOT_SET;
};

// nullopt when `data` is not a well-formed message at its top level (or is over 2 GiB).
std::optional<RequestPeek> PeekRequest(const void* data, size_t size);

}  // namespace whistle
