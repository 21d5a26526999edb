// Small helpers the Open311 unit tests share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dispatcher/iso8601.h"

namespace whistle::testing {

// The test city's UTC offset, in minutes (China Standard Time).
inline constexpr int32_t kChina = 480;

// Milliseconds since the epoch of an ISO 8601 time with its offset. REQUIRES: it parses.
inline int64_t Ms(std::string_view iso) { return *ParseIso8601(iso, 0); }

inline bool Mentions(const std::string& message, std::string_view what) {
  return message.find(what) != std::string::npos;
}

}  // namespace whistle::testing
