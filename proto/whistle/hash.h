// FNV-1a, 64 bit: stable across builds and machines, which std::hash is not. On disk: the
// idempotency entries store it, so do not change it. Not cryptographic.
#pragma once

#include <cstdint>
#include <string_view>

namespace whistle {

inline uint64_t Fnv1a64(std::string_view bytes, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace whistle
