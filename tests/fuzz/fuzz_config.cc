// fuzz_config: configuration loading. The bytes are read as a pb::CityConfig by the loader's own
// parsers (ParseCityConfig, dispatcher/city_loader.h): protobuf text format, JSON, and binary
// (cheap, and random bytes reach City::Build far more often that way), then City::Build.
//
// Properties: nothing crashes; a refusal is BAD_REQUEST with a message; a City that builds
// answers its lookups for every one of its own grids, categories and departments, and keeps the
// promises city.h makes (Candidates is never empty for a known grid and category at a handling
// level; an SLA exists for every category, handling level and mode).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "tests/fuzz/fuzz_support.h"
#include "whistle/check.h"

namespace whistle::fuzz {
namespace {

// Bounds the work per input: a few KB of text can name many grids and categories.
constexpr int kMaxGridsChecked = 64;
constexpr int kMaxCategoriesChecked = 16;

void Exercise(const City& city) {
  const pb::CityConfig& config = city.config();
  const pb::Region& root = city.root();
  WHISTLE_CHECK(city.FindRegion(root.code()) != nullptr, "the root '%s' is not found",
                root.code().c_str());
  (void)city.FindRegion("");
  (void)city.FindCategory("");
  (void)city.FindDepartment("");
  for (const pb::Region& r : config.regions()) {
    WHISTLE_CHECK(city.FindRegion(r.code()) != nullptr, "region '%s' is not found",
                  r.code().c_str());
    WHISTLE_CHECK(city.Contains(root.code(), r.code()), "the root does not contain '%s'",
                  r.code().c_str());
    std::vector<const pb::Region*> ancestry = city.Ancestry(r.code());
    WHISTLE_CHECK(!ancestry.empty() && ancestry.back()->code() == root.code(),
                  "the ancestry of '%s' does not end at the root", r.code().c_str());
  }
  for (const pb::Category& c : config.categories()) {
    WHISTLE_CHECK(city.FindCategory(c.code()) != nullptr, "category '%s' is not found",
                  c.code().c_str());
  }
  for (const pb::Department& d : config.departments()) {
    WHISTLE_CHECK(city.FindDepartment(d.id()) != nullptr, "department '%s' is not found",
                  d.id().c_str());
  }

  int grids = 0;
  for (const pb::Region* grid : city.grids()) {
    if (++grids > kMaxGridsChecked) break;
    const std::string& code = grid->code();
    WHISTLE_CHECK(city.FindRegion(code) != nullptr, "grid '%s' is not found", code.c_str());
    for (pb::Level level : kLadder) (void)city.AncestorAt(code, level);
    pb::Point centre;
    if (city.GridCentre(code, &centre)) (void)city.LocateGrid(centre);
    for (const pb::Point& p : grid->polygon().vertices()) (void)city.LocateGrid(p);

    int categories = 0;
    for (const pb::Category& category : config.categories()) {
      if (++categories > kMaxCategoriesChecked) break;
      for (pb::Level level : kLadder) {
        auto candidates = city.Candidates(category.code(), code, level);
        WHISTLE_CHECK(!candidates.empty(), "no candidate for '%s' in grid '%s' at level %d",
                      category.code().c_str(), code.c_str(), static_cast<int>(level));
        for (const pb::Department* d : candidates) {
          WHISTLE_CHECK(city.FindDepartment(d->id()) == d, "candidate '%s' is not found",
                        d->id().c_str());
        }
        for (pb::Mode mode : {pb::MODE_NORMAL, pb::MODE_EMERGENCY}) {
          (void)city.Sla(category.code(), level, mode);
        }
      }
    }
  }
  // A few points outside any sensible city, all valid WGS-84.
  for (auto [lon, lat] : {std::pair{0.0, 0.0}, std::pair{180.0, 90.0}, std::pair{-180.0, -90.0},
                          std::pair{121.4, 37.5}}) {
    pb::Point p;
    p.set_lon(lon);
    p.set_lat(lat);
    (void)city.LocateGrid(p);
  }
}

}  // namespace
}  // namespace whistle::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  whistle::fuzz::QuietProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace whistle;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (ConfigFormat format : {ConfigFormat::kText, ConfigFormat::kJson, ConfigFormat::kBinary}) {
    Result<pb::CityConfig> config = ParseCityConfig(bytes, format);
    if (!config.ok()) {
      WHISTLE_CHECK(!config.status().message().empty(), "a parse error without a message");
      continue;
    }
    Result<std::shared_ptr<const City>> city = City::Build(std::move(config).value());
    if (!city.ok()) {
      WHISTLE_CHECK(
          city.status().code() == pb::STATUS_BAD_REQUEST && !city.status().message().empty(),
          "City::Build refused with %s", city.status().ToString().c_str());
      continue;
    }
    fuzz::Exercise(**city);
  }
  return 0;
}
