#include "dispatcher/sample_city.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dispatcher/city.h"

namespace whistle {
namespace {

std::map<pb::Level, int> CountRegions(const pb::CityConfig& config) {
  std::map<pb::Level, int> count;
  for (const pb::Region& r : config.regions()) ++count[r.level()];
  return count;
}

int CountRegisteredUnits(const pb::CityConfig& config) {
  int units = 0;
  for (const pb::Department& d : config.departments()) units += d.registered_unit();
  return units;
}

struct Box {
  double west, south, east, north;
};
Box BoxOf(const pb::Region& r) {
  Box b{1e9, 1e9, -1e9, -1e9};
  for (const pb::Point& p : r.polygon().vertices()) {
    b.west = std::min(b.west, p.lon());
    b.south = std::min(b.south, p.lat());
    b.east = std::max(b.east, p.lon());
    b.north = std::max(b.north, p.lat());
  }
  return b;
}

TEST_CASE("the sample city has the seeds' counts of counties, streets, communities and grids") {
  const auto count = CountRegions(SampleCity());
  CHECK(count.at(pb::LEVEL_CITY) == 1);
  CHECK(count.at(pb::LEVEL_COUNTY) == 12);
  CHECK(count.at(pb::LEVEL_STREET) == 65);
  CHECK(count.at(pb::LEVEL_COMMUNITY) == 460);
  CHECK(count.at(pb::LEVEL_GRID) == 2100);
}

TEST_CASE("the sample city has the seeds' 1,586 registered units") {
  CHECK(CountRegisteredUnits(SampleCity()) == 1586);
}

TEST_CASE("region counts follow the options") {
  SampleCityOptions options;
  options.counties = 3;
  options.streets = 7;
  options.communities = 20;
  options.grids = 50;
  options.registered_units = 11;
  const pb::CityConfig config = SampleCity(options);
  const auto count = CountRegions(config);
  CHECK(count.at(pb::LEVEL_COUNTY) == 3);
  CHECK(count.at(pb::LEVEL_STREET) == 7);
  CHECK(count.at(pb::LEVEL_COMMUNITY) == 20);
  CHECK(count.at(pb::LEVEL_GRID) == 50);
  CHECK(CountRegisteredUnits(config) == 11);
}

TEST_CASE("the sample city passes City::Build") {
  auto city = City::Build(SampleCity());
  CHECK_MESSAGE(city.ok(), city.status().ToString());
}

TEST_CASE("the grids within each region are exactly those it contains, in configuration order") {
  auto city = City::Build(SampleCity());
  REQUIRE(city.ok());
  const City& c = **city;
  for (int i = 0; i < static_cast<int>(c.region_count()); ++i) {
    const pb::Region& region = c.RegionAt(i);
    std::vector<const pb::Region*> contained;
    for (const pb::Region* grid : c.grids()) {
      if (c.Contains(region.code(), grid->code())) contained.push_back(grid);
    }
    const auto within = c.GridsWithin(region.code());
    CHECK_MESSAGE(std::vector<const pb::Region*>(within.begin(), within.end()) == contained,
                  region.code());
  }
  CHECK(c.GridsWithin(c.root().code()).size() == c.grid_count());
  CHECK(c.GridsWithin("nowhere").empty());
}

TEST_CASE("a sample city with other options passes City::Build") {
  SampleCityOptions options;
  options.seed = 7;
  options.counties = 15;  // three more than Yantai has
  options.streets = 40;
  options.communities = 100;
  options.grids = 300;
  options.registered_units = 0;
  auto city = City::Build(SampleCity(options));
  CHECK_MESSAGE(city.ok(), city.status().ToString());
}

TEST_CASE("the sample city is Yantai with its real county codes") {
  const pb::CityConfig config = SampleCity();
  CHECK(config.city_code() == "370600");
  std::map<std::string, std::string> counties;
  for (const pb::Region& r : config.regions()) {
    if (r.level() == pb::LEVEL_COUNTY) counties[r.code()] = r.name();
  }
  CHECK(counties.at("370602") == "芝罘区");
  CHECK(counties.at("370683") == "莱州市");
  CHECK(counties.at("370687") == "海阳市");
}

TEST_CASE("every sample grid has 200 to 400 households") {
  int outside = 0;
  const pb::CityConfig config = SampleCity();
  for (const pb::Region& r : config.regions()) {
    if (r.level() == pb::LEVEL_GRID && (r.households() < 200 || r.households() > 400)) ++outside;
  }
  CHECK(outside == 0);
}

TEST_CASE("the sample city is deterministic: two calls serialize identically") {
  CHECK(SampleCity().SerializeAsString() == SampleCity().SerializeAsString());
}

TEST_CASE("another seed gives another sample city") {
  SampleCityOptions options;
  options.seed = 1;
  CHECK(SampleCity(options).SerializeAsString() != SampleCity().SerializeAsString());
}

TEST_CASE("every sample region's polygon lies inside its parent's") {
  const pb::CityConfig config = SampleCity();
  std::map<std::string, Box> boxes;
  for (const pb::Region& r : config.regions()) boxes[r.code()] = BoxOf(r);
  int outside = 0;
  for (const pb::Region& r : config.regions()) {
    if (r.parent().empty()) continue;
    const Box& b = boxes.at(r.code());
    const Box& p = boxes.at(r.parent());
    if (b.west < p.west || b.east > p.east || b.south < p.south || b.north > p.north) ++outside;
  }
  CHECK(outside == 0);
}

TEST_CASE("sample grid polygons do not overlap") {
  // The polygons are rectangles, so comparing boxes is exact.
  const pb::CityConfig config = SampleCity();
  std::vector<std::pair<std::string, Box>> grids;
  for (const pb::Region& r : config.regions()) {
    if (r.level() == pb::LEVEL_GRID) grids.emplace_back(r.code(), BoxOf(r));
  }
  int overlaps = 0;
  for (const auto& [code, b] : grids) {
    for (const auto& [other, o] : grids) {
      // Interiors overlap when they overlap on both axes by more than a shared edge.
      if (code != other && b.west < o.east && o.west < b.east && b.south < o.north &&
          o.south < b.north) {
        ++overlaps;
      }
    }
  }
  CHECK(overlaps == 0);
}

TEST_CASE("sample grids cover the whole city box") {
  double area = 0;
  const pb::CityConfig config = SampleCity();
  for (const pb::Region& r : config.regions()) {
    if (r.level() != pb::LEVEL_GRID) continue;
    const Box b = BoxOf(r);
    area += (b.east - b.west) * (b.north - b.south);
  }
  CHECK(area == doctest::Approx((121.9 - 119.5) * (38.0 - 36.6)));
}

TEST_CASE("sample department ids are unique") {
  std::set<std::string> ids;
  const pb::CityConfig config = SampleCity();
  for (const pb::Department& d : config.departments()) ids.insert(d.id());
  CHECK(ids.size() == static_cast<size_t>(config.departments_size()));
}

TEST_CASE("every sample registered unit answers one to three categories") {
  int bad = 0;
  const pb::CityConfig config = SampleCity();
  for (const pb::Department& d : config.departments()) {
    if (d.registered_unit() && (d.categories_size() < 1 || d.categories_size() > 3)) ++bad;
  }
  CHECK(bad == 0);
}

TEST_CASE("sample emergency deadlines are shorter than normal ones, claims at least 5 minutes") {
  auto city = City::Build(SampleCity());
  REQUIRE(city.ok());
  int bad = 0;
  for (const pb::Category& c : (*city)->config().categories()) {
    for (pb::Level level : kLadder) {
      const pb::SlaPolicy& normal = (*city)->Sla(c.code(), level, pb::MODE_NORMAL);
      const pb::SlaPolicy& emergency = (*city)->Sla(c.code(), level, pb::MODE_EMERGENCY);
      if (emergency.resolve_seconds() >= normal.resolve_seconds()) ++bad;
      if (emergency.claim_seconds() > normal.claim_seconds()) ++bad;
      if (emergency.claim_seconds() < 300) ++bad;
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("sample settings are the documented ones") {
  const pb::EngineSettings s = SampleCity().settings();
  CHECK(s.duplicate_window_seconds() == 7200);
  CHECK(s.duplicate_distance_meters() == 150);
  CHECK(s.auto_close_seconds() == 259200);
  CHECK(s.utc_offset_minutes() == 480);
  CHECK(s.max_page_size() == 500);
}

}  // namespace
}  // namespace whistle
