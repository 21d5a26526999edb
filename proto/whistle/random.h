// SplitMix64: a small, fast generator that gives the same numbers on every machine and library
// version (std:: distributions do not), for simulations and sample data.
//
// Seeds are mixed before use: the raw SplitMix64 state advances by a constant, so generators
// seeded with neighbouring numbers would otherwise walk the same stream one step apart.
#pragma once

#include <cstdint>

namespace whistle {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(Mix(seed ^ 0x6A09E667F3BCC909ull)) {}

  uint64_t Next() { return Mix(state_ += 0x9E3779B97F4A7C15ull); }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

}  // namespace whistle
