// A small, hand-built city for engine tests: fast to build and easy to reason about.
//
//   city 370600 ── county 370602 ── street 370602001 ─┬─ community 370602001001 ─ grids -01, -02
//                                                     └─ community 370602001002 ─ grid  -01
// Grids are 0.01° squares side by side along longitude from (121.40, 37.50).
// Categories: "water" and "noise".
// Departments (all answer both categories unless noted):
//   community 001: "c1-committee", "c1-water-unit" (water only, registered unit)
//   community 002: "c2-committee"
//   street:        "s-office"
//   county:        "k-bureau"
//   city:          "city-bureau", "city-police" (noise only)
// SLAs (normal; emergency is a quarter): community claim 30 min / resolve 24 h; street 1 h / 48 h;
// county 2 h / 72 h; city 4 h / 120 h. Duplicates within 2 h and 150 m; auto-close after 72 h.
#pragma once

#include "whistle/config.pb.h"

namespace whistle::testing {

inline constexpr char kGrid1[] = "370602001001-01";
inline constexpr char kGrid2[] = "370602001001-02";
inline constexpr char kGrid3[] = "370602001002-01";
inline constexpr char kCommunity1[] = "370602001001";
inline constexpr char kCommunity2[] = "370602001002";
inline constexpr char kStreet[] = "370602001";
inline constexpr char kCounty[] = "370602";
inline constexpr char kCity[] = "370600";

pb::CityConfig TestCityConfig();

}  // namespace whistle::testing
