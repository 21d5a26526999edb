#include "dispatcher/city.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "dispatcher/attributes.h"

namespace whistle {
namespace {

// A year is far beyond any SLA, duplicate window or quiet period; the bound keeps the time
// arithmetic (ms) far from overflow.
constexpr int64_t kMaxSlaSeconds = 366LL * 24 * 3600;

constexpr double kEarthRadiusMeters = 6371008.8;
constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kDefaultMaxPageSize = 500;
constexpr int64_t kDefaultAutoCloseSeconds = 3 * 24 * 3600;
constexpr pb::Mode kModes[] = {pb::MODE_NORMAL, pb::MODE_EMERGENCY};

// A broken invariant (a caller ignored a REQUIRES): log and abort; restart is cheap.
[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "whistle: fatal: %s\n", message.c_str());
  std::abort();
}

std::string_view ModeName(pb::Mode mode) {
  switch (mode) {
    case pb::MODE_NORMAL:
      return "normal";
    case pb::MODE_EMERGENCY:
      return "emergency";
    default:
      return "unspecified";
  }
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "a street's parent must be a county": the level one above `level`.
pb::Level LevelAbove(pb::Level level) { return static_cast<pb::Level>(level + 1); }

// The code shape a region must have, given its (already checked) parent's code. Empty when fine.
std::string CodeProblem(std::string_view code, pb::Level level, std::string_view parent) {
  switch (level) {
    case pb::LEVEL_CITY:
      if (code.size() != 6 || !AllDigits(code)) return "a city code must be 6 digits";
      return {};
    case pb::LEVEL_COUNTY:
      if (code.size() != 6 || !AllDigits(code)) return "a county code must be 6 digits";
      if (!code.starts_with(parent.substr(0, 4))) {
        return fmt::format("a county code must share the city's first 4 digits '{}'",
                           parent.substr(0, 4));
      }
      return {};
    case pb::LEVEL_STREET:
      if (code.size() != 9 || !AllDigits(code)) return "a street code must be 9 digits";
      if (!code.starts_with(parent)) {
        return fmt::format("a street code must start with its county's code '{}'", parent);
      }
      return {};
    case pb::LEVEL_COMMUNITY:
      if (code.size() != 12 || !AllDigits(code)) return "a community code must be 12 digits";
      if (!code.starts_with(parent)) {
        return fmt::format("a community code must start with its street's code '{}'", parent);
      }
      return {};
    case pb::LEVEL_GRID:
      if (code.size() < parent.size() + 2 || !code.starts_with(parent) ||
          code[parent.size()] != '-' || !AllDigits(code.substr(parent.size() + 1))) {
        return fmt::format("a grid code must be its community's code '{}', '-' and digits", parent);
      }
      return {};
    default:
      return "unknown level";
  }
}

}  // namespace

bool IsWgs84(const pb::Point& p) {
  return std::isfinite(p.lon()) && std::isfinite(p.lat()) && std::abs(p.lon()) <= 180 &&
         std::abs(p.lat()) <= 90;
}

std::string_view LevelNameZh(pb::Level level) {
  switch (level) {
    case pb::LEVEL_GRID: return "网格";
    case pb::LEVEL_COMMUNITY: return "社区";
    case pb::LEVEL_STREET: return "街道";
    case pb::LEVEL_COUNTY: return "区县";
    case pb::LEVEL_CITY: return "市";
    default: return "未知层级";
  }
}

std::string_view LevelName(pb::Level level) {
  switch (level) {
    case pb::LEVEL_GRID:
      return "grid";
    case pb::LEVEL_COMMUNITY:
      return "community";
    case pb::LEVEL_STREET:
      return "street";
    case pb::LEVEL_COUNTY:
      return "county";
    case pb::LEVEL_CITY:
      return "city";
    default:
      return "unspecified";
  }
}

double DistanceMeters(const pb::Point& a, const pb::Point& b) {
  constexpr double kRad = kPi / 180.0;
  const double dlat = (b.lat() - a.lat()) * kRad;
  const double dlon = (b.lon() - a.lon()) * kRad;
  const double s =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(a.lat() * kRad) * std::cos(b.lat() * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusMeters * std::asin(std::min(1.0, std::sqrt(s)));
}

bool PolygonContains(const pb::Polygon& polygon, const pb::Point& p) {
  // Ray casting (W. Randolph Franklin's PNPOLY): count the edges a ray to +lon crosses.
  const auto& v = polygon.vertices();
  const int n = v.size();
  if (n < 3) return false;
  bool inside = false;
  for (int i = 0, j = n - 1; i < n; j = i++) {
    const double yi = v[i].lat(), yj = v[j].lat();
    if ((yi > p.lat()) != (yj > p.lat())) {
      const double x = v[i].lon() + (p.lat() - yi) * (v[j].lon() - v[i].lon()) / (yj - yi);
      if (p.lon() < x) inside = !inside;
    }
  }
  return inside;
}

Result<std::shared_ptr<const City>> City::Build(pb::CityConfig config) {
  std::shared_ptr<City> city(new City());
  city->config_ = std::move(config);
  city->Index();
  if (Status s = city->Validate(); !s.ok()) return s;
  pb::EngineSettings* settings = city->config_.mutable_settings();
  if (settings->max_page_size() == 0) settings->set_max_page_size(kDefaultMaxPageSize);
  if (settings->auto_close_seconds() == 0) {
    settings->set_auto_close_seconds(kDefaultAutoCloseSeconds);
  }
  city->IndexGeometry();
  city->IndexGridsWithin();
  return std::shared_ptr<const City>(std::move(city));
}

void City::IndexGridsWithin() {
  const auto& regions = config_.regions();
  grids_within_.assign(parent_.size(), {});
  for (int g = 0; g < regions.size(); ++g) {
    if (regions[g].level() != pb::LEVEL_GRID) continue;
    for (int i = g; i >= 0; i = parent_[static_cast<size_t>(i)]) {
      grids_within_[static_cast<size_t>(i)].push_back(&regions[g]);
    }
  }
}

std::span<const pb::Region* const> City::GridsWithin(std::string_view region) const {
  auto it = region_index_.find(region);
  if (it == region_index_.end()) return {};
  return grids_within_[static_cast<size_t>(it->second)];
}

void City::Index() {
  const auto& regions = config_.regions();
  parent_.assign(regions.size(), -1);
  region_index_.reserve(regions.size());
  for (int i = 0; i < regions.size(); ++i) {
    region_index_.try_emplace(regions[i].code(), i);
    if (regions[i].level() == pb::LEVEL_CITY && root_ < 0) root_ = i;
    if (regions[i].level() == pb::LEVEL_GRID) grids_.push_back(&regions[i]);
  }
  for (int i = 0; i < regions.size(); ++i) {
    if (regions[i].parent().empty()) continue;
    if (auto it = region_index_.find(regions[i].parent()); it != region_index_.end()) {
      parent_[i] = it->second;
    }
  }
  for (int i = 0; i < config_.categories_size(); ++i) {
    category_index_.try_emplace(config_.categories(i).code(), i);
  }
  department_index_.reserve(config_.departments_size());
  for (int i = 0; i < config_.departments_size(); ++i) {
    const pb::Department& d = config_.departments(i);
    if (!department_index_.try_emplace(d.id(), i).second) continue;  // duplicate: Validate says so
    auto region = region_index_.find(d.jurisdiction());
    if (region == region_index_.end()) continue;
    for (int c = 0; c < d.categories_size(); ++c) {
      auto category = category_index_.find(d.categories(c));
      if (category == category_index_.end()) continue;
      // A category listed twice is an error Validate reports; do not list the department twice.
      if (std::find(d.categories().begin(), d.categories().begin() + c, d.categories(c)) !=
          d.categories().begin() + c) {
        continue;
      }
      departments_by_region_category_[RegionCategoryKey(region->second, category->second)]
          .push_back(&d);
    }
  }
  std::array<std::array<int, 2>, 4> none;
  for (auto& by_level : none) by_level.fill(-1);
  sla_index_.assign(config_.categories_size(), none);
  for (int i = 0; i < config_.sla_size(); ++i) {
    const pb::SlaPolicy& sla = config_.sla(i);
    auto category = category_index_.find(sla.category());
    if (category == category_index_.end() || !IsHandlingLevel(sla.level()) ||
        (sla.mode() != pb::MODE_NORMAL && sla.mode() != pb::MODE_EMERGENCY)) {
      continue;
    }
    int& slot = sla_index_[category->second][sla.level() - pb::LEVEL_COMMUNITY]
                          [sla.mode() - pb::MODE_NORMAL];
    if (slot < 0) slot = i;
  }
}

Status City::Validate() const {
  if (Status s = ValidateRegions(); !s.ok()) return s;
  if (Status s = ValidateCategories(); !s.ok()) return s;
  if (Status s = ValidateDepartments(); !s.ok()) return s;
  if (Status s = ValidateSlas(); !s.ok()) return s;
  if (Status s = ValidateCoverage(); !s.ok()) return s;
  return ValidateSettings();
}

Status City::ValidateRegions() const {
  // Without a root every county is an orphan; say the real problem once instead.
  if (root_ < 0) return BadRequest("no city region: exactly one region must be at city level");
  const auto& regions = config_.regions();
  int root = -1;
  for (int i = 0; i < regions.size(); ++i) {
    const pb::Region& r = regions[i];
    if (r.code().empty()) return BadRequest(fmt::format("region #{}: empty code", i));
    if (region_index_.find(r.code())->second != i) {
      return BadRequest(fmt::format("region '{}': duplicate code", r.code()));
    }
    if (!pb::Level_IsValid(r.level()) || r.level() == pb::LEVEL_UNSPECIFIED) {
      return BadRequest(fmt::format("region '{}': level is not set", r.code()));
    }
    const std::string node = fmt::format("region '{}' ({})", r.code(), LevelName(r.level()));
    std::string problem;
    if (r.level() == pb::LEVEL_CITY) {
      if (root >= 0) {
        return BadRequest(
            fmt::format("{}: a second city region; the root is '{}'", node, regions[root].code()));
      }
      root = i;
      if (!r.parent().empty()) {
        return BadRequest(
            fmt::format("{}: the city region has no parent, but parent is '{}'", node, r.parent()));
      }
      if (!config_.city_code().empty() && config_.city_code() != r.code()) {
        return BadRequest(
            fmt::format("{}: city_code '{}' names another city", node, config_.city_code()));
      }
      problem = CodeProblem(r.code(), r.level(), "");
    } else {
      if (r.parent().empty()) return BadRequest(fmt::format("{}: no parent", node));
      if (parent_[i] < 0) {
        return BadRequest(fmt::format("{}: parent '{}' is not a known region", node, r.parent()));
      }
      const pb::Region& parent = regions[parent_[i]];
      if (parent.level() != LevelAbove(r.level())) {
        return BadRequest(fmt::format("{}: parent '{}' is a {}, but a {}'s parent must be a {}",
                                      node, r.parent(), LevelName(parent.level()),
                                      LevelName(r.level()), LevelName(LevelAbove(r.level()))));
      }
      problem = CodeProblem(r.code(), r.level(), parent.code());
    }
    if (!problem.empty()) return BadRequest(fmt::format("{}: {}", node, problem));
    if (r.has_polygon()) {
      const auto& v = r.polygon().vertices();
      if (v.size() < 3) {
        return BadRequest(
            fmt::format("{}: polygon has {} vertices; at least 3 are needed", node, v.size()));
      }
      for (int k = 0; k < v.size(); ++k) {
        const double lon = v[k].lon(), lat = v[k].lat();
        // Written so that NaN fails too.
        if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90)) {
          return BadRequest(
              fmt::format("{}: polygon vertex #{} (lon {}, lat {}) is not a valid position", node,
                          k, lon, lat));
        }
      }
    }
  }
  return Status::Ok();
}

Status City::ValidateCategories() const {
  for (int i = 0; i < config_.categories_size(); ++i) {
    const pb::Category& c = config_.categories(i);
    if (c.code().empty()) return BadRequest(fmt::format("category #{}: empty code", i));
    if (category_index_.find(c.code())->second != i) {
      return BadRequest(fmt::format("category '{}': duplicate code", c.code()));
    }
    if (Status s = ValidateAttributeDefinitions(c); !s.ok()) return s;
  }
  return Status::Ok();
}

Status City::ValidateDepartments() const {
  for (int i = 0; i < config_.departments_size(); ++i) {
    const pb::Department& d = config_.departments(i);
    if (d.id().empty()) return BadRequest(fmt::format("department #{}: empty id", i));
    const std::string node = fmt::format("department '{}'", d.id());
    if (department_index_.find(d.id())->second != i) {
      return BadRequest(fmt::format("{}: duplicate id", node));
    }
    if (!IsHandlingLevel(d.level())) {
      return BadRequest(fmt::format(
          "{}: level is {}, but a department must be at community, street, county or city level",
          node, LevelName(d.level())));
    }
    if (d.jurisdiction().empty()) return BadRequest(fmt::format("{}: no jurisdiction", node));
    const pb::Region* region = FindRegion(d.jurisdiction());
    if (region == nullptr) {
      return BadRequest(
          fmt::format("{}: jurisdiction '{}' is not a known region", node, d.jurisdiction()));
    }
    if (region->level() != d.level()) {
      return BadRequest(
          fmt::format("{}: jurisdiction '{}' is a {}, but the department is at {} level", node,
                      d.jurisdiction(), LevelName(region->level()), LevelName(d.level())));
    }
    if (d.categories().empty()) return BadRequest(fmt::format("{}: answers no category", node));
    for (int c = 0; c < d.categories_size(); ++c) {
      const std::string& code = d.categories(c);
      if (FindCategory(code) == nullptr) {
        return BadRequest(fmt::format("{}: category '{}' is not a known category", node, code));
      }
      if (std::find(d.categories().begin(), d.categories().begin() + c, code) !=
          d.categories().begin() + c) {
        return BadRequest(fmt::format("{}: category '{}' is listed twice", node, code));
      }
    }
  }
  return Status::Ok();
}

Status City::ValidateSlas() const {
  for (int i = 0; i < config_.sla_size(); ++i) {
    const pb::SlaPolicy& sla = config_.sla(i);
    const std::string node = fmt::format("sla #{} (category '{}', {}, {})", i, sla.category(),
                                         LevelName(sla.level()), ModeName(sla.mode()));
    auto category = category_index_.find(sla.category());
    if (category == category_index_.end()) {
      return BadRequest(
          fmt::format("{}: category '{}' is not a known category", node, sla.category()));
    }
    if (!IsHandlingLevel(sla.level())) {
      return BadRequest(fmt::format("{}: level must be community, street, county or city", node));
    }
    if (sla.mode() != pb::MODE_NORMAL && sla.mode() != pb::MODE_EMERGENCY) {
      return BadRequest(fmt::format("{}: mode must be normal or emergency", node));
    }
    if (sla.claim_seconds() <= 0) {
      return BadRequest(
          fmt::format("{}: claim_seconds must be positive, got {}", node, sla.claim_seconds()));
    }
    if (sla.resolve_seconds() > kMaxSlaSeconds) {
      return BadRequest(fmt::format("{}: resolve_seconds {} is over a year", node, sla.resolve_seconds()));
    }
    if (sla.resolve_seconds() < sla.claim_seconds()) {
      return BadRequest(fmt::format("{}: resolve_seconds {} is less than claim_seconds {}", node,
                                    sla.resolve_seconds(), sla.claim_seconds()));
    }
    const int first = sla_index_[category->second][sla.level() - pb::LEVEL_COMMUNITY]
                                [sla.mode() - pb::MODE_NORMAL];
    if (first != i) return BadRequest(fmt::format("{}: duplicate of sla #{}", node, first));
  }
  for (int c = 0; c < config_.categories_size(); ++c) {
    for (pb::Level level : kLadder) {
      for (pb::Mode mode : kModes) {
        if (sla_index_[c][level - pb::LEVEL_COMMUNITY][mode - pb::MODE_NORMAL] < 0) {
          return BadRequest(fmt::format("category '{}': no SLA for ({}, {})",
                                        config_.categories(c).code(), LevelName(level),
                                        ModeName(mode)));
        }
      }
    }
  }
  return Status::Ok();
}

Status City::ValidateCoverage() const {
  const auto& regions = config_.regions();
  for (const pb::Region* grid : grids_) {
    const int g = region_index_.find(grid->code())->second;
    for (pb::Level level : kLadder) {
      const int ancestor = AncestorIndex(g, level);
      for (int c = 0; c < config_.categories_size(); ++c) {
        if (!departments_by_region_category_.contains(RegionCategoryKey(ancestor, c))) {
          return BadRequest(
              fmt::format("category '{}': no department at {} level covers grid '{}' ({} '{}')",
                          config_.categories(c).code(), LevelName(level), grid->code(),
                          LevelName(level), regions[ancestor].code()));
        }
      }
    }
  }
  return Status::Ok();
}

Status City::ValidateSettings() const {
  const pb::EngineSettings& s = config_.settings();
  // Both become milliseconds added to a time: bounded like a deadline, so that the sum fits.
  if (s.duplicate_window_seconds() < 0 || s.duplicate_window_seconds() > kMaxSlaSeconds) {
    return BadRequest(fmt::format(
        "settings: duplicate_window_seconds must be from 0 to {} (a year), got {}", kMaxSlaSeconds,
        s.duplicate_window_seconds()));
  }
  if (!(s.duplicate_distance_meters() >= 0) || !std::isfinite(s.duplicate_distance_meters())) {
    return BadRequest(
        fmt::format("settings: duplicate_distance_meters must be a finite number >= 0, got {}",
                    s.duplicate_distance_meters()));
  }
  if (s.auto_close_seconds() < 0 || s.auto_close_seconds() > kMaxSlaSeconds) {
    return BadRequest(fmt::format(
        "settings: auto_close_seconds must be from 0 to {} (a year), got {}", kMaxSlaSeconds,
        s.auto_close_seconds()));
  }
  if (s.max_page_size() < 0) {
    return BadRequest(
        fmt::format("settings: max_page_size must not be negative, got {}", s.max_page_size()));
  }
  // Real offsets run from UTC-12:00 to UTC+14:00.
  if (s.utc_offset_minutes() < -12 * 60 || s.utc_offset_minutes() > 14 * 60) {
    return BadRequest(fmt::format("settings: utc_offset_minutes {} is not in [-720, 840]",
                                  s.utc_offset_minutes()));
  }
  return Status::Ok();
}

void City::IndexGeometry() {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  grid_boxes_.clear();
  grid_boxes_.reserve(grids_.size());
  Box all{kInf, kInf, -kInf, -kInf};
  for (const pb::Region* grid : grids_) {
    Box box{kInf, kInf, -kInf, -kInf};  // empty: contains nothing
    if (grid->polygon().vertices_size() >= 3) {
      for (const pb::Point& v : grid->polygon().vertices()) {
        box.min_lon = std::min(box.min_lon, v.lon());
        box.min_lat = std::min(box.min_lat, v.lat());
        box.max_lon = std::max(box.max_lon, v.lon());
        box.max_lat = std::max(box.max_lat, v.lat());
      }
      all.min_lon = std::min(all.min_lon, box.min_lon);
      all.min_lat = std::min(all.min_lat, box.min_lat);
      all.max_lon = std::max(all.max_lon, box.max_lon);
      all.max_lat = std::max(all.max_lat, box.max_lat);
    }
    grid_boxes_.push_back(box);
  }
  bucket_start_.clear();
  bucket_grids_.clear();
  bucket_cols_ = bucket_rows_ = 0;
  if (all.min_lon > all.max_lon) return;  // no grid has a polygon
  bucket_bounds_ = all;

  // About one bucket per grid, shaped like the city, so a bucket overlaps a few grids.
  const double width = std::max(all.max_lon - all.min_lon, 1e-9);
  const double height = std::max(all.max_lat - all.min_lat, 1e-9);
  const double cells = static_cast<double>(std::max<size_t>(grids_.size(), 1));
  bucket_cols_ =
      std::clamp(static_cast<int>(std::lround(std::sqrt(cells * width / height))), 1, 512);
  bucket_rows_ = std::clamp(static_cast<int>(std::lround(cells / bucket_cols_)), 1, 512);
  auto col_of = [&](double lon) {
    return std::clamp(static_cast<int>((lon - all.min_lon) / width * bucket_cols_), 0,
                      bucket_cols_ - 1);
  };
  auto row_of = [&](double lat) {
    return std::clamp(static_cast<int>((lat - all.min_lat) / height * bucket_rows_), 0,
                      bucket_rows_ - 1);
  };
  // Two passes (count, then fill) give the flat layout in configuration order.
  const size_t buckets = static_cast<size_t>(bucket_cols_) * bucket_rows_;
  std::vector<uint32_t> count(buckets + 1, 0);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t g = 0; g < grids_.size(); ++g) {
      const Box& b = grid_boxes_[g];
      if (b.min_lon > b.max_lon) continue;
      for (int row = row_of(b.min_lat); row <= row_of(b.max_lat); ++row) {
        for (int col = col_of(b.min_lon); col <= col_of(b.max_lon); ++col) {
          const size_t bucket = static_cast<size_t>(row) * bucket_cols_ + col;
          if (pass == 0) {
            ++count[bucket + 1];
          } else {
            bucket_grids_[count[bucket]++] = static_cast<uint32_t>(g);
          }
        }
      }
    }
    if (pass == 0) {
      for (size_t b = 0; b < buckets; ++b) count[b + 1] += count[b];
      bucket_start_ = count;
      bucket_grids_.resize(count[buckets]);
    }
  }
}

int City::AncestorIndex(int index, pb::Level level) const {
  const auto& regions = config_.regions();
  // Levels strictly increase towards the root (Validate checked it), so this ends.
  while (index >= 0 && regions[index].level() < level) index = parent_[index];
  return index >= 0 && regions[index].level() == level ? index : -1;
}

const pb::Region& City::root() const { return config_.regions(root_); }

const pb::Region* City::FindRegion(std::string_view code) const {
  const int index = RegionIndex(code);
  return index < 0 ? nullptr : &config_.regions(index);
}

const pb::Category* City::FindCategory(std::string_view code) const {
  auto it = category_index_.find(code);
  return it == category_index_.end() ? nullptr : &config_.categories(it->second);
}

std::string City::MissingOf(std::string_view category, std::string_view grid) const {
  if (FindCategory(category) == nullptr) return fmt::format("category '{}'", category);
  if (const pb::Region* g = FindRegion(grid); g == nullptr || g->level() != pb::LEVEL_GRID) {
    return fmt::format("grid '{}'", grid);
  }
  return "";
}

const pb::Department* City::FindDepartment(std::string_view id) const {
  const int index = DepartmentIndex(id);
  return index < 0 ? nullptr : &config_.departments(index);
}

int City::RegionIndex(std::string_view code) const {
  auto it = region_index_.find(code);
  return it == region_index_.end() ? -1 : it->second;
}

int City::DepartmentIndex(std::string_view id) const {
  auto it = department_index_.find(id);
  return it == department_index_.end() ? -1 : it->second;
}

std::vector<const pb::Region*> City::Ancestry(std::string_view code) const {
  std::vector<const pb::Region*> out;
  auto it = region_index_.find(code);
  if (it == region_index_.end()) return out;
  for (int i = it->second; i >= 0; i = parent_[i]) out.push_back(&config_.regions(i));
  return out;
}

const pb::Region* City::AncestorAt(std::string_view code, pb::Level level) const {
  auto it = region_index_.find(code);
  if (it == region_index_.end()) return nullptr;
  const int index = AncestorIndex(it->second, level);
  return index < 0 ? nullptr : &config_.regions(index);
}

bool City::Contains(std::string_view ancestor, std::string_view code) const {
  auto a = region_index_.find(ancestor);
  auto it = region_index_.find(code);
  if (a == region_index_.end() || it == region_index_.end()) return false;
  for (int i = it->second; i >= 0; i = parent_[i]) {
    if (i == a->second) return true;
  }
  return false;
}

const pb::Region* City::LocateGrid(const pb::Point& p) const {
  if (bucket_cols_ == 0) return nullptr;
  const Box& all = bucket_bounds_;
  // Written so that NaN lands outside.
  if (!(p.lon() >= all.min_lon && p.lon() <= all.max_lon && p.lat() >= all.min_lat &&
        p.lat() <= all.max_lat)) {
    return nullptr;
  }
  const double width = std::max(all.max_lon - all.min_lon, 1e-9);
  const double height = std::max(all.max_lat - all.min_lat, 1e-9);
  const int col = std::clamp(static_cast<int>((p.lon() - all.min_lon) / width * bucket_cols_), 0,
                             bucket_cols_ - 1);
  const int row = std::clamp(static_cast<int>((p.lat() - all.min_lat) / height * bucket_rows_), 0,
                             bucket_rows_ - 1);
  const size_t bucket = static_cast<size_t>(row) * bucket_cols_ + col;
  for (uint32_t k = bucket_start_[bucket]; k < bucket_start_[bucket + 1]; ++k) {
    const uint32_t g = bucket_grids_[k];
    const Box& b = grid_boxes_[g];
    if (p.lon() < b.min_lon || p.lon() > b.max_lon || p.lat() < b.min_lat || p.lat() > b.max_lat) {
      continue;
    }
    if (PolygonContains(grids_[g]->polygon(), p)) return grids_[g];
  }
  return nullptr;
}

bool City::GridCentre(std::string_view grid, pb::Point* out) const {
  const pb::Region* region = FindRegion(grid);
  if (region == nullptr || region->polygon().vertices_size() == 0) return false;
  double lon = 0, lat = 0;
  for (const pb::Point& v : region->polygon().vertices()) {
    lon += v.lon();
    lat += v.lat();
  }
  const int n = region->polygon().vertices_size();
  out->set_lon(lon / n);
  out->set_lat(lat / n);
  return true;
}

std::span<const pb::Department* const> City::Candidates(std::string_view category,
                                                        std::string_view grid,
                                                        pb::Level level) const {
  auto g = region_index_.find(grid);
  auto c = category_index_.find(category);
  if (g == region_index_.end() || c == category_index_.end()) return {};
  const int ancestor = AncestorIndex(g->second, level);
  if (ancestor < 0) return {};
  auto it = departments_by_region_category_.find(RegionCategoryKey(ancestor, c->second));
  if (it == departments_by_region_category_.end()) return {};
  return it->second;
}

const pb::SlaPolicy& City::Sla(std::string_view category, pb::Level level, pb::Mode mode) const {
  auto c = category_index_.find(category);
  if (c == category_index_.end() || !IsHandlingLevel(level)) {
    Die(fmt::format("City::Sla: unknown category '{}' or level {} (a caller skipped a check)",
                    category, LevelName(level)));
  }
  const int index =
      sla_index_[c->second][level - pb::LEVEL_COMMUNITY][EffectiveMode(mode) - pb::MODE_NORMAL];
  return config_.sla(index);
}

}  // namespace whistle
