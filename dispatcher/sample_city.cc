#include "dispatcher/sample_city.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whistle {
namespace {

// splitmix64: tiny, and the same numbers on every platform and library version (std::
// distributions are not), which keeps the sample city byte-identical everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); n > 0. The modulo bias is irrelevant for sample data.
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }
  template <typename T>
  void Shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Below(static_cast<int>(i))]);
  }

 private:
  uint64_t state_;
};

// Yantai's bounding box, roughly.
constexpr double kWest = 119.5, kEast = 121.9, kSouth = 36.6, kNorth = 38.0;
// Coordinates are rounded to 1e-6 degree (~0.1 m) so files stay short; children reuse their
// parent's rounded edges, so containment stays exact.
double RoundCoord(double x) { return std::round(x * 1e6) / 1e6; }

struct Rect {
  double west, south, east, north;
};

// Counts for `n` children over `parents` parents: each at least `min_each`, the rest shared in
// proportion to random weights in [1 - spread, 1 + spread] (largest remainder), none above `cap`.
// REQUIRES: parents * min_each <= n <= parents * cap.
std::vector<int> Spread(int n, int parents, int min_each, int cap, double spread, Rng& rng) {
  std::vector<int> count(parents, min_each);
  std::vector<double> weight(parents);
  for (double& w : weight) w = 1 + spread * (2 * rng.Uniform() - 1);
  const double total = std::accumulate(weight.begin(), weight.end(), 0.0);
  const int rest = n - parents * min_each;
  std::vector<std::pair<double, int>> remainder;  // (fraction, parent)
  int given = 0;
  for (int i = 0; i < parents; ++i) {
    const double share = rest * weight[i] / total;
    const int whole = static_cast<int>(std::floor(share));
    count[i] += whole;
    given += whole;
    remainder.emplace_back(share - whole, i);
  }
  std::stable_sort(remainder.begin(), remainder.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int k = 0; given < rest; ++k, ++given) ++count[remainder[k % parents].second];
  // Move any excess over the cap to the next parents with room (only for extreme options).
  int carry = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < parents; ++i) {
      if (count[i] > cap) {
        carry += count[i] - cap;
        count[i] = cap;
      } else if (carry > 0) {
        const int take = std::min(carry, cap - count[i]);
        count[i] += take;
        carry -= take;
      }
    }
  }
  return count;
}

// Split lines dividing [lo, hi] in proportion to `weights`, rounded; first is lo, last is hi.
std::vector<double> Cuts(double lo, double hi, const std::vector<double>& weights) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> cuts{lo};
  double acc = 0;
  for (size_t i = 0; i + 1 < weights.size(); ++i) {
    acc += weights[i];
    cuts.push_back(RoundCoord(lo + (hi - lo) * acc / total));
  }
  cuts.push_back(hi);
  return cuts;
}

// Tiles `r` with `k` non-overlapping rectangles of similar (jittered) size: a few rows from north
// to south, each cut into columns from west to east.
std::vector<Rect> Tile(const Rect& r, int k, Rng& rng) {
  // Compare sides in kilometres, not degrees: a degree of longitude is ~0.79 of one of latitude.
  const double aspect = (r.east - r.west) * 0.79 / (r.north - r.south);
  const int rows = std::clamp(static_cast<int>(std::lround(std::sqrt(k / aspect))), 1, k);
  const std::vector<int> per_row = Spread(k, rows, 1, k, 0.0, rng);
  std::vector<double> row_weights;
  for (int n : per_row) row_weights.push_back(n * (0.85 + 0.3 * rng.Uniform()));
  const std::vector<double> lat_cuts = Cuts(r.south, r.north, row_weights);
  std::vector<Rect> out;
  for (int row = rows - 1; row >= 0; --row) {  // north first, as a map is read
    std::vector<double> col_weights;
    for (int c = 0; c < per_row[row]; ++c) col_weights.push_back(0.7 + 0.6 * rng.Uniform());
    const std::vector<double> lon_cuts = Cuts(r.west, r.east, col_weights);
    for (int c = 0; c < per_row[row]; ++c) {
      out.push_back({lon_cuts[c], lat_cuts[row], lon_cuts[c + 1], lat_cuts[row + 1]});
    }
  }
  return out;
}

void SetRectangle(const Rect& r, pb::Region* region) {
  pb::Polygon* polygon = region->mutable_polygon();
  const std::array<std::pair<double, double>, 4> corners = {
      {{r.west, r.south}, {r.east, r.south}, {r.east, r.north}, {r.west, r.north}}};
  for (const auto& [lon, lat] : corners) {
    pb::Point* p = polygon->add_vertices();
    p->set_lon(lon);
    p->set_lat(lat);
  }
}

struct County {
  const char* code;
  const char* name;
  double lon, lat;  // roughly where its seat is, to give it the nearest tile
};
// Yantai's twelve county-level units, by code.
constexpr County kCounties[] = {
    {"370602", "芝罘区", 121.38, 37.54}, {"370611", "福山区", 121.27, 37.50},
    {"370612", "牟平区", 121.60, 37.39}, {"370613", "莱山区", 121.45, 37.51},
    {"370614", "蓬莱区", 120.76, 37.81}, {"370634", "长岛综合试验区", 120.74, 37.92},
    {"370681", "龙口市", 120.48, 37.65}, {"370682", "莱阳市", 120.71, 36.98},
    {"370683", "莱州市", 119.94, 37.18}, {"370685", "招远市", 120.43, 37.36},
    {"370686", "栖霞市", 120.85, 37.34}, {"370687", "海阳市", 121.16, 36.78},
};

// Names for counties beyond the twelve (when options ask for more).
constexpr const char* kExtraCounties[] = {"烟台经济技术开发区", "烟台高新技术产业开发区",
                                          "昆嵛山保护区", "烟台综合保税区"};

// Gives the real counties the tiles nearest their seats, so the map looks roughly like Yantai:
// a greedy start (nearest pairs first), then pairwise swaps while they lower the total squared
// distance. Counties beyond the real ones cost the same anywhere. Returns the tile per county.
std::vector<int> PlaceCounties(const std::vector<Rect>& tiles, int real_counties) {
  const int n = static_cast<int>(tiles.size());
  auto cost = [&](int c, int t) {
    if (c >= real_counties) return 0.0;
    // A degree of longitude is ~0.79 of one of latitude here.
    const double dlon = ((tiles[t].west + tiles[t].east) / 2 - kCounties[c].lon) * 0.79;
    const double dlat = (tiles[t].south + tiles[t].north) / 2 - kCounties[c].lat;
    return dlon * dlon + dlat * dlat;
  };
  std::vector<std::pair<double, std::pair<int, int>>> pairs;  // (cost, (county, tile))
  for (int c = 0; c < n; ++c) {
    for (int t = 0; t < n; ++t) pairs.push_back({cost(c, t), {c, t}});
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<int> tile_of(n, -1);
  std::vector<bool> taken(n, false);
  for (const auto& [unused, pair] : pairs) {
    const auto [c, t] = pair;
    if (tile_of[c] >= 0 || taken[t]) continue;
    tile_of[c] = t;
    taken[t] = true;
  }
  for (bool improved = true; improved;) {
    improved = false;
    for (int a = 0; a < n; ++a) {
      for (int b = a + 1; b < n; ++b) {
        const double now = cost(a, tile_of[a]) + cost(b, tile_of[b]);
        const double swapped = cost(a, tile_of[b]) + cost(b, tile_of[a]);
        if (swapped < now - 1e-12) {
          std::swap(tile_of[a], tile_of[b]);
          improved = true;
        }
      }
    }
  }
  return tile_of;
}

constexpr const char* kStreetStems[] = {
    "向阳", "东山",   "毓璜顶", "通伸",   "奇山",   "幸福", "只楚",   "黄务",   "世回尧", "芝罘岛",
    "清洋", "门楼",   "古现",   "大季家", "八角",   "福新", "兜余",   "宁海",   "文化",   "龙泉",
    "初家", "滨海",   "黄海",   "院格庄", "解甲庄", "登州", "紫荆山", "新港",   "南长山", "北长山",
    "东江", "新嘉",   "徐福",   "龙港",   "诸由观", "城厢", "古柳",   "冯格庄", "柏林庄", "文峰路",
    "永安", "文昌路", "三山岛", "沙河",   "朱桥",   "金城", "罗峰",   "泉山",   "梦芝",   "温泉",
    "金岭", "大秦家", "翠屏",   "松山",   "庄园",   "亭口", "东城",   "凤城",   "方圆",   "留格庄",
    "辛安", "盘石店", "小纪",   "大阎家", "姜疃",   "万第", "照旺庄", "团旺",   "穴坊",   "龙山",
};
constexpr const char* kCommunityStems[] = {
    "幸福", "和平", "建设", "胜利", "新华", "友谊", "文化", "光明", "东方", "阳光", "海滨", "花园",
    "南山", "北岭", "西苑", "东苑", "翠竹", "金桥", "银河", "春晖", "丽景", "锦绣", "长青", "祥和",
    "福泽", "安康", "康乐", "怡园", "碧海", "海韵", "青年", "新村", "桃源", "枫林", "玉泉", "凤鸣",
    "松涛", "白石", "山水", "望海", "明珠", "鸿福", "滨河", "书院", "振华", "兴业", "港城", "华侨",
};
constexpr const char* kBrands[] = {"华安", "恒通", "宏达", "福瑞", "鑫源", "安居",
                                   "惠民", "海天", "万家", "瑞祥", "嘉和", "润泽"};
constexpr const char* kAgencies[] = {"市税务局", "市财政局", "市人社局", "区人民法院", "供电公司",
                                     "烟草公司", "市总工会", "团市委",   "市妇联",     "市档案馆"};

struct CategorySpec {
  const char* code;
  const char* name;
  const char* name_en;
  pb::Severity severity;
};
constexpr CategorySpec kCategories[] = {
    {"environment", "环境卫生", "Environment and sanitation", pb::SEVERITY_MEDIUM},
    {"property", "物业管理", "Property management", pb::SEVERITY_LOW},
    {"water", "供排水", "Water supply and drainage", pb::SEVERITY_HIGH},
    {"roads", "道路交通", "Roads and traffic", pb::SEVERITY_MEDIUM},
    {"noise", "噪声扰民", "Noise nuisance", pb::SEVERITY_LOW},
    {"safety", "安全隐患", "Safety hazards", pb::SEVERITY_CRITICAL},
    {"gas", "燃气供暖", "Gas and heating", pb::SEVERITY_HIGH},
    {"greening", "园林绿化", "Greening and parks", pb::SEVERITY_LOW},
    {"construction", "违法建设", "Illegal construction", pb::SEVERITY_MEDIUM},
    {"market", "市场秩序", "Market order", pb::SEVERITY_MEDIUM},
    {"disputes", "邻里纠纷", "Neighbour disputes", pb::SEVERITY_LOW},
    {"elderly", "养老服务", "Elderly and social services", pb::SEVERITY_MEDIUM},
};

// The questions the sample city asks of some categories (Open311 service attributes). None is
// required, so grid workers and the simulation may report without answering them.
void AddSampleAttributes(pb::Category* category) {
  using Attribute = pb::ServiceAttribute;
  auto add = [&](const char* code, Attribute::Datatype type, bool required, const char* question,
                 std::vector<std::pair<const char*, const char*>> values) {
    Attribute* a = category->add_attributes();
    a->set_code(code);
    a->set_datatype(type);
    a->set_required(required);
    a->set_description(question);
    a->set_order(category->attributes_size());
    for (auto [key, name] : values) {
      pb::AttributeValue* v = a->add_values();
      v->set_key(key);
      v->set_name(name);
    }
  };
  std::string_view code = category->code();
  category->set_group(code == "water" || code == "gas" || code == "roads" ? "infrastructure"
                                                                          : "community");
  if (code == "water") {
    category->set_description("供水、排水管道漏水、爆管、积水、停水 / leaks, bursts, flooding, outages");
    add("kind", Attribute::DATATYPE_SINGLEVALUELIST, false, "问题类型 / What is wrong?",
        {{"leak", "漏水"}, {"burst", "爆管"}, {"flooding", "积水"}, {"outage", "停水"}});
    add("households", Attribute::DATATYPE_NUMBER, false, "受影响户数 / Households affected", {});
  } else if (code == "safety") {
    category->set_description("楼道、围墙、电线等安全隐患 / stairways, walls, wiring and other hazards");
    add("hazards", Attribute::DATATYPE_MULTIVALUELIST, false, "隐患 / Which hazards?",
        {{"collapse", "坍塌"}, {"fire", "火灾隐患"}, {"electric", "电线裸露"}, {"fall", "高空坠物"}});
    add("injured", Attribute::DATATYPE_SINGLEVALUELIST, false, "是否有人受伤 / Anyone hurt?",
        {{"yes", "是"}, {"no", "否"}});
  } else if (code == "noise") {
    category->set_description("施工、商铺、邻里噪声 / construction, shops, neighbours");
    add("since", Attribute::DATATYPE_DATETIME, false, "开始时间 / Since when?", {});
  }
}

struct DepartmentSpec {
  const char* key;
  const char* name;
  std::vector<const char*> categories;
};
// The bureaus found at city and (prefixed with the county's name) county level. Between them they
// answer every category.
const std::vector<DepartmentSpec>& Bureaus() {
  static const auto* bureaus = new std::vector<DepartmentSpec>{
      {"urban", "城市管理局", {"environment", "greening", "construction", "roads"}},
      {"water", "水务局", {"water"}},
      {"housing", "住房和城乡建设局", {"property", "construction", "gas"}},
      {"ecology", "生态环境局", {"environment", "noise"}},
      {"transport", "交通运输局", {"roads"}},
      {"emergency", "应急管理局", {"safety", "gas"}},
      {"market", "市场监督管理局", {"market"}},
      {"civil", "民政局", {"elderly", "disputes"}},
      {"police", "公安局", {"safety", "noise", "disputes"}},
  };
  return *bureaus;
}
// A street's offices. The first three cover every category on their own; a street with four
// offices also has a 平安建设办公室 and its 综合执法队 then leaves safety to it.
const std::vector<DepartmentSpec>& StreetOffices() {
  static const auto* offices = new std::vector<DepartmentSpec>{
      {"enforce", "综合执法队", {"construction", "environment", "market", "noise", "safety"}},
      {"urban", "城市管理办公室", {"environment", "greening", "roads", "water", "gas"}},
      {"community", "社区建设办公室", {"property", "elderly", "disputes"}},
      {"safety", "平安建设办公室", {"safety", "disputes", "noise", "gas"}},
  };
  return *offices;
}

enum class UnitKind { kWater, kProperty, kPolice, kHealth, kSchool, kParty, kGas, kMarket };
struct UnitSpec {
  UnitKind kind;
  std::vector<const char*> categories;  // one to three
};
const std::vector<UnitSpec>& Units() {
  static const auto* units = new std::vector<UnitSpec>{
      {UnitKind::kWater, {"water"}},
      {UnitKind::kProperty, {"property", "environment", "greening"}},
      {UnitKind::kPolice, {"safety", "disputes", "noise"}},
      {UnitKind::kHealth, {"elderly", "environment"}},
      {UnitKind::kSchool, {"safety", "roads"}},
      {UnitKind::kParty, {"disputes", "elderly"}},
      {UnitKind::kGas, {"gas"}},
      {UnitKind::kMarket, {"market", "construction"}},
  };
  return *units;
}

void AddDepartment(pb::CityConfig& config, std::string id, std::string name, pb::Level level,
                   const std::string& jurisdiction, const std::vector<const char*>& categories,
                   bool registered_unit = false) {
  pb::Department* d = config.add_departments();
  d->set_id(std::move(id));
  d->set_name(std::move(name));
  d->set_level(level);
  d->set_jurisdiction(jurisdiction);
  for (const char* c : categories) d->add_categories(c);
  d->set_registered_unit(registered_unit);
}

// Deadlines in seconds: the base figures per level, scaled by severity (higher is faster),
// a quarter in emergency mode; claims never below 5 minutes; whole minutes.
void AddSlas(pb::CityConfig& config) {
  constexpr int64_t kClaim[] = {30 * 60, 60 * 60, 2 * 3600, 4 * 3600};           // by ladder rung
  constexpr int64_t kResolve[] = {24 * 3600, 48 * 3600, 72 * 3600, 120 * 3600};  // by ladder rung
  for (const CategorySpec& c : kCategories) {
    // Severity factor as num/den: low 3/2, medium 1, high 1/2, critical 1/4.
    int64_t num = 1, den = 1;
    switch (c.severity) {
      case pb::SEVERITY_LOW:
        num = 3, den = 2;
        break;
      case pb::SEVERITY_HIGH:
        den = 2;
        break;
      case pb::SEVERITY_CRITICAL:
        den = 4;
        break;
      default:
        break;
    }
    for (int rung = 0; rung < 4; ++rung) {
      for (pb::Mode mode : {pb::MODE_NORMAL, pb::MODE_EMERGENCY}) {
        const int64_t mode_den = mode == pb::MODE_EMERGENCY ? 4 : 1;
        int64_t claim = kClaim[rung] * num / (den * mode_den) / 60 * 60;
        int64_t resolve = kResolve[rung] * num / (den * mode_den) / 60 * 60;
        claim = std::max<int64_t>(claim, 5 * 60);
        resolve = std::max(resolve, claim);
        pb::SlaPolicy* sla = config.add_sla();
        sla->set_category(c.code);
        sla->set_level(static_cast<pb::Level>(pb::LEVEL_COMMUNITY + rung));
        sla->set_mode(mode);
        sla->set_claim_seconds(claim);
        sla->set_resolve_seconds(resolve);
      }
    }
  }
}

// `n` names from `stems`, in random order: unique within one call, numbered once the stems run
// out ("幸福", ..., "幸福2").
std::vector<std::string> Names(const char* const* stems, size_t stem_count, int n, Rng& rng) {
  std::vector<int> order(stem_count);
  std::iota(order.begin(), order.end(), 0);
  rng.Shuffle(order);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    const size_t round = i / stem_count;
    const char* stem = stems[order[i % stem_count]];
    names.push_back(round == 0 ? std::string(stem) : fmt::format("{}{}", stem, round + 1));
  }
  return names;
}

struct Node {
  std::string code;
  std::string name;
  std::string stem;  // the name without its 街道/社区 suffix
  Rect rect;
  int parent;  // index in the level above
};

}  // namespace

pb::CityConfig SampleCity(const SampleCityOptions& options) {
  // Keep the options within what the codes can express: 80 counties (2 free digits), 999 streets
  // per county and communities per street (3 digits), every parent with at least one child.
  const int counties = std::clamp(options.counties, 1, 80);
  const int streets = std::clamp(options.streets, counties, counties * 999);
  const int communities = std::clamp(options.communities, streets, streets * 999);
  const int grids = std::clamp(options.grids, communities, communities * 999);
  const int units = std::max(options.registered_units, 0);
  Rng rng(options.seed);

  pb::CityConfig config;
  config.set_city_code("370600");
  config.set_name("烟台市 (sample)");
  config.set_version(1);

  // Regions, level by level: city, counties, streets, communities, grids.
  const Rect city_rect{kWest, kSouth, kEast, kNorth};
  pb::Region* city = config.add_regions();
  city->set_code("370600");
  city->set_name("烟台市");
  city->set_level(pb::LEVEL_CITY);
  SetRectangle(city_rect, city);

  std::vector<Node> county_nodes;
  {
    std::vector<std::string> codes;
    std::vector<std::string> names;
    for (int i = 0; i < counties && i < static_cast<int>(std::size(kCounties)); ++i) {
      codes.push_back(kCounties[i].code);
      names.push_back(kCounties[i].name);
    }
    // Extra counties take the free 3706xx codes from 70 up (then from 01), skipping the real ones.
    for (int suffix = 70, extra = 0; static_cast<int>(codes.size()) < counties;
         suffix = suffix == 99 ? 1 : suffix + 1) {
      const std::string code = fmt::format("3706{:02d}", suffix);
      if (std::any_of(std::begin(kCounties), std::end(kCounties),
                      [&](const County& c) { return code == c.code; })) {
        continue;
      }
      codes.push_back(code);
      names.push_back(extra < static_cast<int>(std::size(kExtraCounties))
                          ? kExtraCounties[extra]
                          : fmt::format("第{}新区", extra + 1));
      ++extra;
    }
    const std::vector<Rect> rects = Tile(city_rect, counties, rng);
    const std::vector<int> tile_of =
        PlaceCounties(rects, std::min<int>(counties, std::size(kCounties)));
    for (int i = 0; i < counties; ++i) {
      county_nodes.push_back({codes[i], names[i], names[i], rects[tile_of[i]], 0});
    }
  }

  // Children with 3-digit codes under each parent. Street names are unique in the city (as real
  // ones are); community names only within their street.
  auto children = [&rng](const std::vector<Node>& parents, int n, const char* const* stems,
                         size_t stem_count, std::string_view suffix, bool unique_in_city) {
    const std::vector<int> counts = Spread(n, static_cast<int>(parents.size()), 1, 999, 0.5, rng);
    std::vector<std::string> names;
    if (unique_in_city) names = Names(stems, stem_count, n, rng);
    std::vector<Node> out;
    for (size_t p = 0; p < parents.size(); ++p) {
      const std::vector<Rect> rects = Tile(parents[p].rect, counts[p], rng);
      if (!unique_in_city) names = Names(stems, stem_count, counts[p], rng);
      for (int i = 0; i < counts[p]; ++i) {
        const std::string& stem = names[unique_in_city ? out.size() : i];
        out.push_back({fmt::format("{}{:03d}", parents[p].code, i + 1), stem + std::string(suffix),
                       stem, rects[i], static_cast<int>(p)});
      }
    }
    return out;
  };
  const std::vector<Node> street_nodes =
      children(county_nodes, streets, kStreetStems, std::size(kStreetStems), "街道", true);
  const std::vector<Node> community_nodes = children(street_nodes, communities, kCommunityStems,
                                                     std::size(kCommunityStems), "社区", false);
  std::vector<Node> grid_nodes;
  {
    const std::vector<int> counts =
        Spread(grids, static_cast<int>(community_nodes.size()), 1, 999, 0.5, rng);
    for (size_t p = 0; p < community_nodes.size(); ++p) {
      const std::vector<Rect> rects = Tile(community_nodes[p].rect, counts[p], rng);
      for (int i = 0; i < counts[p]; ++i) {
        grid_nodes.push_back({fmt::format("{}-{:02d}", community_nodes[p].code, i + 1),
                              fmt::format("{}第{}网格", community_nodes[p].name, i + 1), "",
                              rects[i], static_cast<int>(p)});
      }
    }
  }

  auto add_regions = [&](const std::vector<Node>& nodes, const std::vector<Node>* parents,
                         pb::Level level) {
    for (const Node& n : nodes) {
      pb::Region* r = config.add_regions();
      r->set_code(n.code);
      r->set_name(n.name);
      r->set_level(level);
      r->set_parent(parents == nullptr ? "370600" : (*parents)[n.parent].code);
      SetRectangle(n.rect, r);
      if (level == pb::LEVEL_GRID) r->set_households(200 + rng.Below(201));
    }
  };
  add_regions(county_nodes, nullptr, pb::LEVEL_COUNTY);
  add_regions(street_nodes, &county_nodes, pb::LEVEL_STREET);
  add_regions(community_nodes, &street_nodes, pb::LEVEL_COMMUNITY);
  add_regions(grid_nodes, &community_nodes, pb::LEVEL_GRID);

  for (const CategorySpec& c : kCategories) {
    pb::Category* category = config.add_categories();
    category->set_code(c.code);
    category->set_name(c.name);
    category->set_name_en(c.name_en);
    category->set_severity(c.severity);
    AddSampleAttributes(category);
  }

  // Departments, top down.
  for (const DepartmentSpec& b : Bureaus()) {
    AddDepartment(config, fmt::format("city-{}", b.key), fmt::format("烟台市{}", b.name),
                  pb::LEVEL_CITY, "370600", b.categories);
  }
  for (const Node& county : county_nodes) {
    for (const DepartmentSpec& b : Bureaus()) {
      AddDepartment(config, fmt::format("{}-{}", county.code, b.key),
                    fmt::format("{}{}", county.name, b.name), pb::LEVEL_COUNTY, county.code,
                    b.categories);
    }
  }
  for (const Node& street : street_nodes) {
    // About three streets in four have a separate 平安建设办公室.
    const bool four = rng.Below(4) != 0;
    for (size_t k = 0; k < (four ? 4u : 3u); ++k) {
      const DepartmentSpec& office = StreetOffices()[k];
      std::vector<const char*> categories = office.categories;
      if (four && k == 0) std::erase(categories, std::string_view("safety"));
      AddDepartment(config, fmt::format("{}-{}", street.code, office.key),
                    fmt::format("{}{}", street.name, office.name), pb::LEVEL_STREET, street.code,
                    categories);
    }
  }
  std::vector<const char*> all_categories;
  for (const CategorySpec& c : kCategories) all_categories.push_back(c.code);
  const std::vector<int> units_per_community =
      Spread(units, static_cast<int>(community_nodes.size()), 0, 1 << 30, 0.6, rng);
  for (size_t i = 0; i < community_nodes.size(); ++i) {
    const Node& community = community_nodes[i];
    const Node& street = street_nodes[community.parent];
    AddDepartment(config, fmt::format("{}-committee", community.code),
                  fmt::format("{}居委会", community.name), pb::LEVEL_COMMUNITY, community.code,
                  all_categories);
    // Different kinds of unit in one community, as long as there are kinds left.
    std::vector<int> kinds(Units().size());
    std::iota(kinds.begin(), kinds.end(), 0);
    rng.Shuffle(kinds);
    for (int u = 0; u < units_per_community[i]; ++u) {
      const UnitSpec& unit = Units()[kinds[u % kinds.size()]];
      std::string name;
      switch (unit.kind) {
        case UnitKind::kWater:
          name = fmt::format("{}供水公司{}服务队", county_nodes[street.parent].name, street.stem);
          break;
        case UnitKind::kProperty:
          name = fmt::format("{}物业公司{}项目部", kBrands[rng.Below(std::size(kBrands))],
                             community.stem);
          break;
        case UnitKind::kPolice:
          name = fmt::format("{}派出所{}警务室", street.stem, community.name);
          break;
        case UnitKind::kHealth:
          name = fmt::format("{}卫生服务站", community.name);
          break;
        case UnitKind::kSchool:
          name = fmt::format("{}{}", community.stem, rng.Below(2) == 0 ? "小学" : "中学");
          break;
        case UnitKind::kParty:
          name = fmt::format("{}机关党支部", kAgencies[rng.Below(std::size(kAgencies))]);
          break;
        case UnitKind::kGas:
          name = fmt::format("{}燃气公司{}服务站", kBrands[rng.Below(std::size(kBrands))],
                             street.stem);
          break;
        case UnitKind::kMarket:
          name = fmt::format("{}市场监管所", street.stem);
          break;
      }
      AddDepartment(config, fmt::format("{}-u{}", community.code, u + 1), std::move(name),
                    pb::LEVEL_COMMUNITY, community.code, unit.categories,
                    /*registered_unit=*/true);
    }
  }

  AddSlas(config);

  pb::EngineSettings* settings = config.mutable_settings();
  settings->set_duplicate_window_seconds(2 * 3600);
  settings->set_duplicate_distance_meters(150);
  settings->set_auto_close_seconds(3 * 24 * 3600);
  settings->set_utc_offset_minutes(480);
  settings->set_max_page_size(500);
  return config;
}

}  // namespace whistle
