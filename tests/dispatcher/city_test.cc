#include "dispatcher/city.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dispatcher/sample_city.h"

namespace whistle {
namespace {

// A tiny valid city: 1 city, 1 county, 1 street, 1 community, 2 grids side by side, 2 categories,
// one department per level answering both, and the full SLA table.
class TinyCity {
 public:
  TinyCity() {
    config_.set_city_code("370600");
    config_.set_name("tiny");
    AddRegion("370600", pb::LEVEL_CITY, "");
    AddRegion("370602", pb::LEVEL_COUNTY, "370600");
    AddRegion("370602001", pb::LEVEL_STREET, "370602");
    AddRegion("370602001001", pb::LEVEL_COMMUNITY, "370602001");
    Square(AddRegion("370602001001-01", pb::LEVEL_GRID, "370602001001"), 121.0, 37.0);
    Square(AddRegion("370602001001-02", pb::LEVEL_GRID, "370602001001"), 121.1, 37.0);
    AddCategory("water");
    AddCategory("noise");
    AddDepartment("city-all", pb::LEVEL_CITY, "370600", {"water", "noise"});
    AddDepartment("county-all", pb::LEVEL_COUNTY, "370602", {"water", "noise"});
    AddDepartment("street-all", pb::LEVEL_STREET, "370602001", {"water", "noise"});
    AddDepartment("committee", pb::LEVEL_COMMUNITY, "370602001001", {"water", "noise"});
    for (const char* category : {"water", "noise"}) {
      for (pb::Level level : kLadder) {
        for (pb::Mode mode : {pb::MODE_NORMAL, pb::MODE_EMERGENCY}) {
          AddSla(category, level, mode, 600, 3600);
        }
      }
    }
  }

  pb::CityConfig& config() { return config_; }
  pb::Region* region(int i) { return config_.mutable_regions(i); }
  pb::Department* department(int i) { return config_.mutable_departments(i); }

  pb::Region* AddRegion(const std::string& code, pb::Level level, const std::string& parent) {
    pb::Region* r = config_.add_regions();
    r->set_code(code);
    r->set_name(code);
    r->set_level(level);
    r->set_parent(parent);
    return r;
  }
  // A 0.1-degree square with its south-west corner at (lon, lat).
  static void Square(pb::Region* r, double lon, double lat) {
    r->clear_polygon();
    const std::vector<std::pair<double, double>> corners = {
        {lon, lat}, {lon + 0.1, lat}, {lon + 0.1, lat + 0.1}, {lon, lat + 0.1}};
    for (auto [x, y] : corners) {
      pb::Point* p = r->mutable_polygon()->add_vertices();
      p->set_lon(x);
      p->set_lat(y);
    }
  }
  void AddCategory(const std::string& code) { config_.add_categories()->set_code(code); }
  pb::Department* AddDepartment(const std::string& id, pb::Level level,
                                const std::string& jurisdiction,
                                const std::vector<std::string>& categories) {
    pb::Department* d = config_.add_departments();
    d->set_id(id);
    d->set_level(level);
    d->set_jurisdiction(jurisdiction);
    for (const auto& c : categories) d->add_categories(c);
    return d;
  }
  pb::SlaPolicy* AddSla(const std::string& category, pb::Level level, pb::Mode mode, int64_t claim,
                        int64_t resolve) {
    pb::SlaPolicy* s = config_.add_sla();
    s->set_category(category);
    s->set_level(level);
    s->set_mode(mode);
    s->set_claim_seconds(claim);
    s->set_resolve_seconds(resolve);
    return s;
  }
  // The index of the SLA for (category, level, mode).
  int SlaIndex(const std::string& category, pb::Level level, pb::Mode mode) const {
    for (int i = 0; i < config_.sla_size(); ++i) {
      const auto& s = config_.sla(i);
      if (s.category() == category && s.level() == level && s.mode() == mode) return i;
    }
    return -1;
  }

  Result<std::shared_ptr<const City>> Build() const { return City::Build(config_); }
  // The Build error message ("" when it builds).
  std::string Error() const {
    auto city = Build();
    if (city.ok()) return "";
    CHECK(city.status().code() == pb::STATUS_BAD_REQUEST);
    return city.status().message();
  }

 private:
  pb::CityConfig config_;
};

// Indexes of the regions in the test configuration's list (not region ids).
constexpr int kCityAt = 0, kCountyAt = 1, kStreetAt = 2, kCommunityAt = 3, kGrid1At = 4, kGrid2At = 5;

std::shared_ptr<const City> MustBuild(const pb::CityConfig& config) {
  auto city = City::Build(config);
  REQUIRE_MESSAGE(city.ok(), city.status().ToString());
  return *city;
}

const std::shared_ptr<const City>& SampleCityBuilt() {
  static const auto* city = new std::shared_ptr<const City>(MustBuild(SampleCity()));
  return *city;
}

pb::Point At(double lon, double lat) {
  pb::Point p;
  p.set_lon(lon);
  p.set_lat(lat);
  return p;
}

// ---- Building

TEST_CASE("the sample city builds") {
  auto city = City::Build(SampleCity());
  CHECK_MESSAGE(city.ok(), city.status().ToString());
}

TEST_CASE("the tiny test city builds") { CHECK(TinyCity().Error() == ""); }

// ---- Regions

TEST_CASE("a config without a city region is rejected before its orphans are") {
  TinyCity t;
  t.config().mutable_regions()->DeleteSubrange(kCityAt, 1);
  CHECK(t.Error() == "no city region: exactly one region must be at city level");
}

TEST_CASE("an empty config is rejected as having no city region") {
  CHECK(City::Build(pb::CityConfig()).status().message() ==
        "no city region: exactly one region must be at city level");
}

TEST_CASE("a second city region is rejected naming the root") {
  TinyCity t;
  t.AddRegion("370700", pb::LEVEL_CITY, "");
  CHECK(t.Error() == "region '370700' (city): a second city region; the root is '370600'");
}

TEST_CASE("a city region with a parent is rejected") {
  TinyCity t;
  t.region(kCityAt)->set_parent("370000");
  CHECK(t.Error() ==
        "region '370600' (city): the city region has no parent, but parent is '370000'");
}

TEST_CASE("a city_code that differs from the city region is rejected") {
  TinyCity t;
  t.config().set_city_code("370700");
  CHECK(t.Error() == "region '370600' (city): city_code '370700' names another city");
}

TEST_CASE("a region whose parent is unknown is rejected naming both codes") {
  TinyCity t;
  t.region(kStreetAt)->set_parent("370699");
  CHECK(t.Error() == "region '370602001' (street): parent '370699' is not a known region");
}

TEST_CASE("a region without a parent is rejected") {
  TinyCity t;
  t.region(kCommunityAt)->set_parent("");
  CHECK(t.Error() == "region '370602001001' (community): no parent");
}

TEST_CASE("a region whose parent is not exactly one level up is rejected naming both levels") {
  TinyCity t;
  t.region(kStreetAt)->set_parent("370600");
  CHECK(t.Error() ==
        "region '370602001' (street): parent '370600' is a city, but a street's parent must be a "
        "county");
}

TEST_CASE("a duplicate region code is rejected") {
  TinyCity t;
  t.AddRegion("370602001", pb::LEVEL_STREET, "370602");
  CHECK(t.Error() == "region '370602001': duplicate code");
}

TEST_CASE("an empty region code is rejected naming its position") {
  TinyCity t;
  t.region(kStreetAt)->set_code("");
  CHECK(t.Error() == "region #2: empty code");
}

TEST_CASE("a region without a level is rejected") {
  TinyCity t;
  t.region(kCountyAt)->set_level(pb::LEVEL_UNSPECIFIED);
  CHECK(t.Error() == "region '370602': level is not set");
}

TEST_CASE("a city code that is not 6 digits is rejected") {
  TinyCity t;
  t.region(kCityAt)->set_code("3706");
  t.region(kCountyAt)->set_parent("3706");
  t.config().set_city_code("3706");
  CHECK(t.Error() == "region '3706' (city): a city code must be 6 digits");
}

TEST_CASE("a county code outside the city's first 4 digits is rejected") {
  TinyCity t;
  t.region(kCountyAt)->set_code("370702");
  t.region(kStreetAt)->set_parent("370702");
  CHECK(t.Error() ==
        "region '370702' (county): a county code must share the city's first 4 digits '3706'");
}

TEST_CASE("a street code that does not start with its county's code is rejected") {
  TinyCity t;
  t.region(kStreetAt)->set_code("370611001");
  t.region(kCommunityAt)->set_parent("370611001");
  CHECK(t.Error() ==
        "region '370611001' (street): a street code must start with its county's code '370602'");
}

TEST_CASE("a community code that is not 12 digits is rejected") {
  TinyCity t;
  t.region(kCommunityAt)->set_code("3706020010011");
  t.region(kGrid1At)->set_parent("3706020010011");
  t.region(kGrid2At)->set_parent("3706020010011");
  CHECK(t.Error() == "region '3706020010011' (community): a community code must be 12 digits");
}

TEST_CASE("a grid code without a digit suffix after its community's code is rejected") {
  TinyCity t;
  t.region(kGrid1At)->set_code("370602001001-");
  CHECK(t.Error() ==
        "region '370602001001-' (grid): a grid code must be its community's code '370602001001', "
        "'-' and digits");
}

TEST_CASE("a polygon with fewer than 3 vertices is rejected") {
  TinyCity t;
  t.region(kGrid2At)->mutable_polygon()->mutable_vertices()->DeleteSubrange(0, 2);
  CHECK(t.Error() ==
        "region '370602001001-02' (grid): polygon has 2 vertices; at least 3 are needed");
}

TEST_CASE("a polygon vertex outside the globe is rejected") {
  TinyCity t;
  t.region(kGrid1At)->mutable_polygon()->mutable_vertices(1)->set_lat(91);
  CHECK(t.Error() ==
        "region '370602001001-01' (grid): polygon vertex #1 (lon 121.1, lat 91) is not a valid "
        "position");
}

TEST_CASE("a polygon vertex that is not a number is rejected") {
  TinyCity t;
  t.region(kGrid1At)->mutable_polygon()->mutable_vertices(0)->set_lon(
      std::numeric_limits<double>::quiet_NaN());
  CHECK(t.Error().find("region '370602001001-01' (grid): polygon vertex #0") == 0);
}

// ---- Categories

TEST_CASE("an empty category code is rejected") {
  TinyCity t;
  t.config().mutable_categories(1)->set_code("");
  CHECK(t.Error() == "category #1: empty code");
}

TEST_CASE("a duplicate category code is rejected") {
  TinyCity t;
  t.AddCategory("water");
  CHECK(t.Error() == "category 'water': duplicate code");
}

// ---- Departments

TEST_CASE("an empty department id is rejected") {
  TinyCity t;
  t.department(2)->set_id("");
  CHECK(t.Error() == "department #2: empty id");
}

TEST_CASE("a duplicate department id is rejected") {
  TinyCity t;
  t.AddDepartment("committee", pb::LEVEL_COMMUNITY, "370602001001", {"water"});
  CHECK(t.Error() == "department 'committee': duplicate id");
}

TEST_CASE("a department at grid level is rejected") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_GRID, "370602001001-01", {"water"});
  CHECK(t.Error() ==
        "department 'x': level is grid, but a department must be at community, street, county or "
        "city level");
}

TEST_CASE("a department without a jurisdiction is rejected") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_STREET, "", {"water"});
  CHECK(t.Error() == "department 'x': no jurisdiction");
}

TEST_CASE("a department whose jurisdiction is unknown is rejected naming it") {
  TinyCity t;
  t.AddDepartment("w-370602", pb::LEVEL_COUNTY, "370699", {"water"});
  CHECK(t.Error() == "department 'w-370602': jurisdiction '370699' is not a known region");
}

TEST_CASE("a department whose jurisdiction is at another level is rejected naming both levels") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_STREET, "370602", {"water"});
  CHECK(t.Error() ==
        "department 'x': jurisdiction '370602' is a county, but the department is at street level");
}

TEST_CASE("a department that answers no category is rejected") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_STREET, "370602001", {});
  CHECK(t.Error() == "department 'x': answers no category");
}

TEST_CASE("a department answering an unknown category is rejected naming it") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_STREET, "370602001", {"water", "gas"});
  CHECK(t.Error() == "department 'x': category 'gas' is not a known category");
}

TEST_CASE("a department listing a category twice is rejected") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_STREET, "370602001", {"water", "noise", "water"});
  CHECK(t.Error() == "department 'x': category 'water' is listed twice");
}

// ---- SLAs

TEST_CASE("an SLA for an unknown category is rejected") {
  TinyCity t;
  t.AddSla("gas", pb::LEVEL_CITY, pb::MODE_NORMAL, 60, 60);
  CHECK(t.Error() ==
        "sla #16 (category 'gas', city, normal): category 'gas' is not a known category");
}

TEST_CASE("an SLA at grid level is rejected") {
  TinyCity t;
  t.AddSla("water", pb::LEVEL_GRID, pb::MODE_NORMAL, 60, 60);
  CHECK(t.Error() ==
        "sla #16 (category 'water', grid, normal): level must be community, street, county or "
        "city");
}

TEST_CASE("an SLA without a mode is rejected") {
  TinyCity t;
  t.config().mutable_sla(0)->set_mode(pb::MODE_UNSPECIFIED);
  CHECK(t.Error() ==
        "sla #0 (category 'water', community, unspecified): mode must be normal or emergency");
}

TEST_CASE("an SLA with a claim deadline of zero is rejected") {
  TinyCity t;
  t.config().mutable_sla(3)->set_claim_seconds(0);
  CHECK(t.Error() ==
        "sla #3 (category 'water', street, emergency): claim_seconds must be positive, got 0");
}

TEST_CASE("an SLA whose resolve deadline is before its claim deadline is rejected") {
  TinyCity t;
  t.config().mutable_sla(1)->set_resolve_seconds(599);
  CHECK(t.Error() ==
        "sla #1 (category 'water', community, emergency): resolve_seconds 599 is less than "
        "claim_seconds 600");
}

TEST_CASE("a second SLA for the same category, level and mode is rejected") {
  TinyCity t;
  t.AddSla("noise", pb::LEVEL_COUNTY, pb::MODE_EMERGENCY, 60, 60);
  CHECK(t.Error() == "sla #16 (category 'noise', county, emergency): duplicate of sla #13");
}

TEST_CASE("a missing SLA is rejected naming the category, level and mode") {
  TinyCity t;
  const int i = t.SlaIndex("water", pb::LEVEL_STREET, pb::MODE_EMERGENCY);
  t.config().mutable_sla()->DeleteSubrange(i, 1);
  CHECK(t.Error() == "category 'water': no SLA for (street, emergency)");
}

// ---- Coverage

TEST_CASE("a grid without a department for a category at some level is rejected naming both") {
  TinyCity t;
  t.department(2)->clear_categories();
  t.department(2)->add_categories("water");
  CHECK(t.Error() ==
        "category 'noise': no department at street level covers grid '370602001001-01' (street "
        "'370602001')");
}

// ---- Settings

TEST_CASE("unset settings get their defaults") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->settings().max_page_size() == 500);
  CHECK(city->settings().auto_close_seconds() == 259200);
}

TEST_CASE("a zero duplicate window stays zero, meaning duplicate detection is off") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->settings().duplicate_window_seconds() == 0);
}

TEST_CASE("set settings are kept") {
  TinyCity t;
  t.config().mutable_settings()->set_max_page_size(20);
  t.config().mutable_settings()->set_auto_close_seconds(60);
  auto city = MustBuild(t.config());
  CHECK(city->settings().max_page_size() == 20);
  CHECK(city->settings().auto_close_seconds() == 60);
}

TEST_CASE("a negative max_page_size is rejected") {
  TinyCity t;
  t.config().mutable_settings()->set_max_page_size(-1);
  CHECK(t.Error() == "settings: max_page_size must not be negative, got -1");
}

TEST_CASE("an auto_close_seconds that is negative or over a year is rejected") {
  TinyCity t;
  t.config().mutable_settings()->set_auto_close_seconds(-5);
  CHECK(t.Error() == "settings: auto_close_seconds must be from 0 to 31622400 (a year), got -5");
  // In milliseconds added to a resolve time, this would overflow.
  t.config().mutable_settings()->set_auto_close_seconds(int64_t{1} << 62);
  CHECK(t.Error() ==
        "settings: auto_close_seconds must be from 0 to 31622400 (a year), got 4611686018427387904");
}

TEST_CASE("a duplicate window that is negative or over a year is rejected") {
  TinyCity t;
  t.config().mutable_settings()->set_duplicate_window_seconds(-1);
  CHECK(t.Error() == "settings: duplicate_window_seconds must be from 0 to 31622400 (a year), got -1");
  t.config().mutable_settings()->set_duplicate_window_seconds(31622401);
  CHECK(t.Error() ==
        "settings: duplicate_window_seconds must be from 0 to 31622400 (a year), got 31622401");
}

TEST_CASE("a negative duplicate distance is rejected") {
  TinyCity t;
  t.config().mutable_settings()->set_duplicate_distance_meters(-1);
  CHECK(t.Error() == "settings: duplicate_distance_meters must be a finite number >= 0, got -1");
}

TEST_CASE("a UTC offset beyond fourteen hours is rejected") {
  TinyCity t;
  t.config().mutable_settings()->set_utc_offset_minutes(15 * 60);
  CHECK(t.Error() == "settings: utc_offset_minutes 900 is not in [-720, 840]");
}

TEST_CASE("the first problem in the order regions, categories, departments is reported") {
  TinyCity t;
  t.AddDepartment("x", pb::LEVEL_STREET, "370699", {"water"});  // a department problem...
  t.AddCategory("");                                            // ...a category problem...
  t.region(kGrid2At)->set_parent("370602001999");                 // ...and a region problem
  CHECK(t.Error() ==
        "region '370602001001-02' (grid): parent '370602001999' is not a known region");
}

// ---- Lookups

TEST_CASE("Find returns the node for a known code and nullptr for an unknown one") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->FindRegion("370602001")->level() == pb::LEVEL_STREET);
  CHECK(city->FindCategory("noise")->code() == "noise");
  CHECK(city->FindDepartment("committee")->jurisdiction() == "370602001001");
  CHECK(city->FindRegion("370602009") == nullptr);
  CHECK(city->FindCategory("gas") == nullptr);
  CHECK(city->FindDepartment("nobody") == nullptr);
}

TEST_CASE("root is the city region") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->root().code() == "370600");
}

TEST_CASE("grids lists every grid in configuration order") {
  auto city = MustBuild(TinyCity().config());
  REQUIRE(city->grid_count() == 2);
  CHECK(city->grids()[0]->code() == "370602001001-01");
  CHECK(city->grids()[1]->code() == "370602001001-02");
}

TEST_CASE("Candidates are the departments of the grid's ancestor at the level, in config order") {
  TinyCity t;
  t.AddDepartment("street-water", pb::LEVEL_STREET, "370602001", {"water"});
  auto city = MustBuild(t.config());
  auto water = city->Candidates("water", "370602001001-02", pb::LEVEL_STREET);
  REQUIRE(water.size() == 2);
  CHECK(water[0]->id() == "street-all");
  CHECK(water[1]->id() == "street-water");
  auto noise = city->Candidates("noise", "370602001001-02", pb::LEVEL_STREET);
  REQUIRE(noise.size() == 1);
  CHECK(noise[0]->id() == "street-all");
}

TEST_CASE("Candidates at each handling level come from that level") {
  auto city = MustBuild(TinyCity().config());
  for (pb::Level level : kLadder) {
    auto candidates = city->Candidates("water", "370602001001-01", level);
    REQUIRE(candidates.size() == 1);
    CHECK(candidates[0]->level() == level);
  }
}

TEST_CASE("Candidates in the sample city are never empty for any grid, category and level") {
  const auto& city = SampleCityBuilt();
  size_t empty = 0;
  for (const pb::Region* grid : city->grids()) {
    for (const pb::Category& category : city->config().categories()) {
      for (pb::Level level : kLadder) {
        empty += city->Candidates(category.code(), grid->code(), level).empty();
      }
    }
  }
  CHECK(empty == 0);
}

TEST_CASE("AncestorAt finds the ancestor at a level, the region itself at its own level") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->AncestorAt("370602001001-01", pb::LEVEL_STREET)->code() == "370602001");
  CHECK(city->AncestorAt("370602001001-01", pb::LEVEL_CITY)->code() == "370600");
  CHECK(city->AncestorAt("370602001", pb::LEVEL_STREET)->code() == "370602001");
}

TEST_CASE("AncestorAt a level below the region's own is nullptr") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->AncestorAt("370602", pb::LEVEL_COMMUNITY) == nullptr);
}

TEST_CASE("Ancestry runs bottom-up from the region to the city root") {
  auto city = MustBuild(TinyCity().config());
  std::vector<std::string> codes;
  for (const pb::Region* r : city->Ancestry("370602001001-02")) codes.push_back(r->code());
  CHECK(codes == std::vector<std::string>{"370602001001-02", "370602001001", "370602001", "370602",
                                          "370600"});
}

TEST_CASE("Contains holds for the region itself and its ancestors only") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->Contains("370602001001-01", "370602001001-01"));
  CHECK(city->Contains("370602", "370602001001-01"));
  CHECK(city->Contains("370600", "370602001"));
  CHECK_FALSE(city->Contains("370602001001-02", "370602001001-01"));
  CHECK_FALSE(city->Contains("370602001", "370602"));
}

TEST_CASE("Contains is false for unknown codes") {
  auto city = MustBuild(TinyCity().config());
  CHECK_FALSE(city->Contains("370699", "370602001"));
  CHECK_FALSE(city->Contains("370602", "370602999"));
}

TEST_CASE("LocateGrid finds the grid whose polygon contains the point") {
  auto city = MustBuild(TinyCity().config());
  const pb::Region* grid = city->LocateGrid(At(121.15, 37.02));
  REQUIRE(grid != nullptr);
  CHECK(grid->code() == "370602001001-02");
}

TEST_CASE("LocateGrid outside every grid is nullptr") {
  auto city = MustBuild(TinyCity().config());
  CHECK(city->LocateGrid(At(121.05, 37.15)) == nullptr);  // just north of the grids
  CHECK(city->LocateGrid(At(116.4, 39.9)) == nullptr);    // Beijing
  CHECK(city->LocateGrid(At(std::nan(""), 37.05)) == nullptr);
}

TEST_CASE("LocateGrid outside the sample city is nullptr") {
  CHECK(SampleCityBuilt()->LocateGrid(At(116.4, 39.9)) == nullptr);
}

TEST_CASE("every sample grid's centre locates back to that grid") {
  const auto& city = SampleCityBuilt();
  size_t wrong = 0;
  for (const pb::Region* grid : city->grids()) {
    pb::Point centre;
    REQUIRE(city->GridCentre(grid->code(), &centre));
    const pb::Region* found = city->LocateGrid(centre);
    if (found != grid) ++wrong;
  }
  CHECK(wrong == 0);
}

TEST_CASE("LocateGrid handles a concave grid polygon") {
  TinyCity t;
  // An L shape: the square at (121.0, 37.0) minus its north-east quarter.
  pb::Polygon* l = t.region(kGrid1At)->mutable_polygon();
  l->clear_vertices();
  const std::vector<std::pair<double, double>> corners = {
      {121.0, 37.0}, {121.1, 37.0}, {121.1, 37.05}, {121.05, 37.05}, {121.05, 37.1}, {121.0, 37.1}};
  for (auto [x, y] : corners) {
    pb::Point* p = l->add_vertices();
    p->set_lon(x);
    p->set_lat(y);
  }
  auto city = MustBuild(t.config());
  CHECK(city->LocateGrid(At(121.02, 37.08))->code() == "370602001001-01");
  CHECK(city->LocateGrid(At(121.08, 37.08)) == nullptr);  // in the box, not in the polygon
}

TEST_CASE("GridCentre is the mean of the polygon's vertices, false without a polygon") {
  TinyCity t;
  t.region(kGrid2At)->clear_polygon();
  auto city = MustBuild(t.config());
  pb::Point centre;
  REQUIRE(city->GridCentre("370602001001-01", &centre));
  CHECK(centre.lon() == doctest::Approx(121.05));
  CHECK(centre.lat() == doctest::Approx(37.05));
  CHECK_FALSE(city->GridCentre("370602001001-02", &centre));
  CHECK_FALSE(city->GridCentre("nowhere", &centre));
}

TEST_CASE("Sla finds the policy for the category, level and mode") {
  TinyCity t;
  t.config()
      .mutable_sla(t.SlaIndex("noise", pb::LEVEL_COUNTY, pb::MODE_EMERGENCY))
      ->set_claim_seconds(300);
  auto city = MustBuild(t.config());
  const pb::SlaPolicy& sla = city->Sla("noise", pb::LEVEL_COUNTY, pb::MODE_EMERGENCY);
  CHECK(sla.category() == "noise");
  CHECK(sla.level() == pb::LEVEL_COUNTY);
  CHECK(sla.claim_seconds() == 300);
}

TEST_CASE("Sla treats an unspecified mode as normal") {
  auto city = MustBuild(TinyCity().config());
  const pb::SlaPolicy& sla = city->Sla("water", pb::LEVEL_STREET, pb::MODE_UNSPECIFIED);
  CHECK(sla.mode() == pb::MODE_NORMAL);
  CHECK(&sla == &city->Sla("water", pb::LEVEL_STREET, pb::MODE_NORMAL));
}

// ---- Geometry helpers

TEST_CASE("one degree of latitude is about 111.2 km") {
  CHECK(DistanceMeters(At(121, 37), At(121, 38)) == doctest::Approx(111195.1).epsilon(1e-5));
}

TEST_CASE("the distance from a point to itself is zero") {
  CHECK(DistanceMeters(At(121.4, 37.5), At(121.4, 37.5)) == 0);
}

TEST_CASE("PolygonContains is false for a polygon with fewer than 3 vertices") {
  pb::Polygon polygon;
  *polygon.add_vertices() = At(0, 0);
  *polygon.add_vertices() = At(1, 1);
  CHECK_FALSE(PolygonContains(polygon, At(0.5, 0.5)));
}

TEST_CASE("LevelName names each level") {
  CHECK(LevelName(pb::LEVEL_GRID) == "grid");
  CHECK(LevelName(pb::LEVEL_COMMUNITY) == "community");
  CHECK(LevelName(pb::LEVEL_STREET) == "street");
  CHECK(LevelName(pb::LEVEL_COUNTY) == "county");
  CHECK(LevelName(pb::LEVEL_CITY) == "city");
}

}  // namespace
}  // namespace whistle
