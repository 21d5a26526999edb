// City: an immutable, validated view of a pb::CityConfig with the lookups routing needs.
//
// Built once at start-up (City::Build) and shared read-only by the engine thread and, later, by
// other threads: every method is const and thread-safe. Build() checks the whole configuration and
// fails with a message that names the offending node and the problem, e.g.
//   "department 'w-370602': jurisdiction '370699' is not a known region"
// so a broken configuration never reaches the engine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "whistle/config.pb.h"
#include "whistle/status.h"

namespace whistle {

// The handling levels, bottom to top. GRID is a place, never a handling level.
inline constexpr pb::Level kLadder[] = {pb::LEVEL_COMMUNITY, pb::LEVEL_STREET, pb::LEVEL_COUNTY,
                                        pb::LEVEL_CITY};
inline bool IsHandlingLevel(pb::Level l) { return l >= pb::LEVEL_COMMUNITY && l <= pb::LEVEL_CITY; }
// "community", "street", ...
std::string_view LevelName(pb::Level level);
// "社区", "街道", ... as city staff say them.
std::string_view LevelNameZh(pb::Level level);
// MODE_UNSPECIFIED reads as MODE_NORMAL everywhere.
inline pb::Mode EffectiveMode(pb::Mode m) { return m == pb::MODE_EMERGENCY ? m : pb::MODE_NORMAL; }

// A finite WGS-84 coordinate: |lat| <= 90, |lon| <= 180.
bool IsWgs84(const pb::Point& p);
// Great-circle distance in metres (haversine on a spherical Earth, R = 6371008.8 m).
double DistanceMeters(const pb::Point& a, const pb::Point& b);
// Point in a simple polygon by ray casting; points on an edge may fall either side.
bool PolygonContains(const pb::Polygon& polygon, const pb::Point& p);

class City {
 public:
  // Validates and indexes `config`. Unset settings get defaults (max_page_size 500,
  // auto_close_seconds 3 days). Returns BAD_REQUEST naming the first offending node.
  static Result<std::shared_ptr<const City>> Build(pb::CityConfig config);

  const pb::CityConfig& config() const { return config_; }
  const pb::EngineSettings& settings() const { return config_.settings(); }
  const pb::Region& root() const;

  // Lookups: nullptr when unknown.
  const pb::Region* FindRegion(std::string_view code) const;
  const pb::Category* FindCategory(std::string_view code) const;
  const pb::Department* FindDepartment(std::string_view id) const;
  // What of a report's category and grid the city lacks (a configuration changed since it came):
  // "category 'noise'" or "grid '370602001002-01'"; "" when it has both.
  std::string MissingOf(std::string_view category, std::string_view grid) const;

  // Dense numbers, for tables with a slot a region or a department: a region's or department's
  // position in the configuration, 0 .. count - 1; -1 when unknown.
  int RegionIndex(std::string_view code) const;
  int DepartmentIndex(std::string_view id) const;
  size_t region_count() const { return parent_.size(); }
  size_t department_count() const { return static_cast<size_t>(config_.departments_size()); }
  // The region numbered `index` and its parent's number (-1 for the root).
  // REQUIRES: 0 <= index < region_count().
  const pb::Region& RegionAt(int index) const { return config_.regions(index); }
  int ParentIndex(int index) const { return parent_[static_cast<size_t>(index)]; }
  // The region itself and its ancestors, bottom-up, ending with the city root.
  // REQUIRES: FindRegion(code) != nullptr.
  std::vector<const pb::Region*> Ancestry(std::string_view code) const;
  // The ancestor of `code` at `level` (the region itself when it is at that level); nullptr when
  // `level` is below the region's own level. REQUIRES: FindRegion(code) != nullptr.
  const pb::Region* AncestorAt(std::string_view code, pb::Level level) const;
  // True when `ancestor` is `code` or one of its ancestors. Unknown codes give false.
  bool Contains(std::string_view ancestor, std::string_view code) const;

  // The grid whose polygon contains `p`, by point-in-polygon (bounding boxes first);
  // nullptr when no grid polygon contains it.
  const pb::Region* LocateGrid(const pb::Point& p) const;
  // A representative point of a grid: the mean of its polygon's vertices. false when it has none.
  bool GridCentre(std::string_view grid, pb::Point* out) const;

  // Departments that answer `category` at `level` for `grid`: those whose jurisdiction is the
  // grid's ancestor at `level`, in configuration order. Build() guarantees this is never empty
  // for a known grid and category and a handling level.
  // REQUIRES: grid is a known LEVEL_GRID region, category known, IsHandlingLevel(level).
  std::span<const pb::Department* const> Candidates(std::string_view category,
                                                    std::string_view grid, pb::Level level) const;

  // The SLA for (category, level, mode). Build() guarantees one exists for every known category,
  // handling level and mode. REQUIRES: category known, IsHandlingLevel(level).
  const pb::SlaPolicy& Sla(std::string_view category, pb::Level level, pb::Mode mode) const;

  size_t grid_count() const { return grids_.size(); }
  // Every grid region, in configuration order.
  std::span<const pb::Region* const> grids() const { return grids_; }
  // The grids in `region` (the region itself when it is a grid), in configuration order: those
  // for which Contains(region, grid). Empty for an unknown code. A region's board walks these,
  // not every grid of the city (a county holds about a sixteenth of Beijing's 30,000).
  std::span<const pb::Region* const> GridsWithin(std::string_view region) const;

 private:
  City() = default;
  // Builds the lookup maps. Tolerates a broken configuration (first occurrence wins, unknown
  // references are skipped) so that Validate() can use the maps to explain what is wrong.
  void Index();
  // Checks in a stable order: regions, categories, departments, SLAs, coverage, settings.
  Status Validate() const;
  Status ValidateRegions() const;
  Status ValidateCategories() const;
  Status ValidateDepartments() const;
  Status ValidateSlas() const;
  Status ValidateCoverage() const;
  Status ValidateSettings() const;
  // Bounding boxes and the bucket index; REQUIRES: Validate() passed (finite coordinates).
  void IndexGeometry();
  // grids_within_; REQUIRES: Validate() passed (the parents form a tree).
  void IndexGridsWithin();
  // Region index of the ancestor of region `index` at `level`, or -1.
  int AncestorIndex(int index, pb::Level level) const;
  static uint64_t RegionCategoryKey(int region, int category) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(region)) << 32) |
           static_cast<uint32_t>(category);
  }

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  struct Box {
    double min_lon, min_lat, max_lon, max_lat;
  };

  pb::CityConfig config_;
  int root_ = -1;
  StringMap<int> region_index_;
  StringMap<int> category_index_;
  StringMap<int> department_index_;
  std::vector<int> parent_;  // by region index; -1 for the root
  std::vector<const pb::Region*> grids_;
  std::vector<std::vector<const pb::Region*>> grids_within_;  // by region index
  std::vector<Box> grid_boxes_;  // parallel to grids_; empty box when no polygon
  // A coarse uniform grid of buckets over the union of the grid boxes: bucket (col, row) lists,
  // in configuration order, the grids whose box overlaps it, so LocateGrid ray-casts a handful
  // of polygons instead of scanning every box. Stored flat: bucket b holds
  // bucket_grids_[bucket_start_[b] .. bucket_start_[b + 1]).
  Box bucket_bounds_{0, 0, 0, 0};
  int bucket_cols_ = 0;
  int bucket_rows_ = 0;
  std::vector<uint32_t> bucket_start_;
  std::vector<uint32_t> bucket_grids_;  // positions in grids_
  // (region index, category index) -> departments whose jurisdiction is that region.
  std::unordered_map<uint64_t, std::vector<const pb::Department*>> departments_by_region_category_;
  // [category][level - LEVEL_COMMUNITY][mode - MODE_NORMAL] -> index into config_.sla()
  std::vector<std::array<std::array<int, 2>, 4>> sla_index_;
};

}  // namespace whistle
