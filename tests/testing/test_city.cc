#include "tests/testing/test_city.h"

#include <string>
#include <vector>

namespace whistle::testing {
namespace {

void AddRegion(pb::CityConfig* c, const std::string& code, pb::Level level, const std::string& parent) {
  pb::Region* r = c->add_regions();
  r->set_code(code);
  r->set_name(code);
  r->set_level(level);
  r->set_parent(parent);
}

void AddGrid(pb::CityConfig* c, const std::string& code, const std::string& parent, int column) {
  AddRegion(c, code, pb::LEVEL_GRID, parent);
  pb::Region* g = c->mutable_regions(c->regions_size() - 1);
  g->set_households(300);
  double lon = 121.40 + 0.01 * column, lat = 37.50;
  for (auto [x, y] : std::vector<std::pair<double, double>>{
           {lon, lat}, {lon + 0.01, lat}, {lon + 0.01, lat + 0.01}, {lon, lat + 0.01}}) {
    pb::Point* p = g->mutable_polygon()->add_vertices();
    p->set_lon(x);
    p->set_lat(y);
  }
}

void AddDepartment(pb::CityConfig* c, const std::string& id, pb::Level level,
                   const std::string& jurisdiction, std::vector<std::string> categories,
                   bool registered = false) {
  pb::Department* d = c->add_departments();
  d->set_id(id);
  d->set_name(id);
  d->set_level(level);
  d->set_jurisdiction(jurisdiction);
  for (auto& cat : categories) d->add_categories(cat);
  d->set_registered_unit(registered);
}

}  // namespace

pb::CityConfig TestCityConfig() {
  pb::CityConfig c;
  c.set_city_code(kCity);
  c.set_name("test city");
  c.set_version(1);
  AddRegion(&c, kCity, pb::LEVEL_CITY, "");
  AddRegion(&c, kCounty, pb::LEVEL_COUNTY, kCity);
  AddRegion(&c, kStreet, pb::LEVEL_STREET, kCounty);
  AddRegion(&c, kCommunity1, pb::LEVEL_COMMUNITY, kStreet);
  AddRegion(&c, kCommunity2, pb::LEVEL_COMMUNITY, kStreet);
  AddGrid(&c, kGrid1, kCommunity1, 0);
  AddGrid(&c, kGrid2, kCommunity1, 1);
  AddGrid(&c, kGrid3, kCommunity2, 2);

  for (auto [code, name] : std::vector<std::pair<std::string, std::string>>{{"water", "供排水"},
                                                                              {"noise", "噪声扰民"}}) {
    pb::Category* cat = c.add_categories();
    cat->set_code(code);
    cat->set_name(name);
    cat->set_name_en(code);
    cat->set_severity(pb::SEVERITY_MEDIUM);
  }

  const std::vector<std::string> both = {"water", "noise"};
  AddDepartment(&c, "c1-committee", pb::LEVEL_COMMUNITY, kCommunity1, both);
  AddDepartment(&c, "c1-water-unit", pb::LEVEL_COMMUNITY, kCommunity1, {"water"}, true);
  AddDepartment(&c, "c2-committee", pb::LEVEL_COMMUNITY, kCommunity2, both);
  AddDepartment(&c, "s-office", pb::LEVEL_STREET, kStreet, both);
  AddDepartment(&c, "k-bureau", pb::LEVEL_COUNTY, kCounty, both);
  AddDepartment(&c, "city-bureau", pb::LEVEL_CITY, kCity, both);
  AddDepartment(&c, "city-police", pb::LEVEL_CITY, kCity, {"noise"});

  struct Sla {
    pb::Level level;
    int64_t claim_minutes, resolve_hours;
  };
  for (const std::string& cat : both) {
    for (Sla s : {Sla{pb::LEVEL_COMMUNITY, 30, 24}, Sla{pb::LEVEL_STREET, 60, 48},
                  Sla{pb::LEVEL_COUNTY, 120, 72}, Sla{pb::LEVEL_CITY, 240, 120}}) {
      for (pb::Mode mode : {pb::MODE_NORMAL, pb::MODE_EMERGENCY}) {
        int64_t divisor = mode == pb::MODE_EMERGENCY ? 4 : 1;
        pb::SlaPolicy* p = c.add_sla();
        p->set_category(cat);
        p->set_level(s.level);
        p->set_mode(mode);
        p->set_claim_seconds(s.claim_minutes * 60 / divisor);
        p->set_resolve_seconds(s.resolve_hours * 3600 / divisor);
      }
    }
  }

  pb::EngineSettings* settings = c.mutable_settings();
  settings->set_duplicate_window_seconds(7200);
  settings->set_duplicate_distance_meters(150);
  settings->set_auto_close_seconds(72 * 3600);
  settings->set_utc_offset_minutes(480);
  settings->set_max_page_size(100);
  return c;
}

}  // namespace whistle::testing
