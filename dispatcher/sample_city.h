// The sample city: whistle's embedded default configuration, generated deterministically.
//
// Modelled on the figures in shared/seeds (Yantai, Laizhou): a dozen districts, ~65 streets,
// several hundred communities, ~2,100 grids of 200-400 households, departments at every level
// including units registered to communities (双报到), and a category taxonomy with normal and
// emergency SLAs. The same options always give the same bytes.
#pragma once

#include <cstdint>

#include "whistle/config.pb.h"

namespace whistle {

struct SampleCityOptions {
  uint64_t seed = 20261123;
  int counties = 12;
  int streets = 65;             // spread over the counties
  int communities = 460;        // spread over the streets
  int grids = 2100;             // spread over the communities
  int registered_units = 1586;  // 双报到 units, spread over the communities
};

// Counts are clamped to what the region codes can express: 1 to 80 counties, and every parent
// gets at least 1 and at most 999 children (so e.g. streets >= counties).
pb::CityConfig SampleCity(const SampleCityOptions& options = {});

}  // namespace whistle
