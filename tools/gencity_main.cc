// whistle-gencity: writes the sample city configuration (dispatcher/sample_city.h).
//
//   whistle-gencity [--format=json|text|binary] [--out=FILE] [--counties=N] [--streets=N]
//                   [--communities=N] [--grids=N] [--units=N] [--seed=N]
//
// The output is checked with City::Build before it is written, so a generated file always loads.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "dispatcher/sample_city.h"
#include "tools/flags.h"

namespace {

constexpr char kUsage[] =
    "usage: whistle-gencity [--format=json|text|binary] [--out=FILE]\n"
    "                       [--counties=N] [--streets=N] [--communities=N] [--grids=N]\n"
    "                       [--units=N] [--seed=N]\n"
    "Writes the sample city configuration (default: JSON to stdout).\n";

int Usage(std::string_view problem) {
  std::cerr << "whistle-gencity: " << problem << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = whistle::Flags::Parse(argc, argv);
  if (!flags.ok()) return Usage(flags.status().message());
  if (auto help = flags->TakeBool("help"); help.ok() && *help) return std::cout << kUsage, 0;
  whistle::SampleCityOptions options;
  const std::string format_name = flags->TakeString("format", "json");
  const std::string out = flags->TakeString("out");
  auto seed = flags->TakeInt("seed", static_cast<int64_t>(options.seed), 0, INT64_MAX);
  // Units may be zero; every level of the tree needs at least one node.
  auto counties = flags->TakeInt("counties", options.counties, 1, 1 << 20);
  auto streets = flags->TakeInt("streets", options.streets, 1, 1 << 20);
  auto communities = flags->TakeInt("communities", options.communities, 1, 1 << 20);
  auto grids = flags->TakeInt("grids", options.grids, 1, 1 << 24);
  auto units = flags->TakeInt("units", options.registered_units, 0, 1 << 24);
  for (const whistle::Status& s : {seed.status(), counties.status(), streets.status(),
                                   communities.status(), grids.status(), units.status(),
                                   flags->CheckAllTaken()}) {
    if (!s.ok()) return Usage(s.message());
  }
  whistle::ConfigFormat format;
  if (format_name == "json") {
    format = whistle::ConfigFormat::kJson;
  } else if (format_name == "text") {
    format = whistle::ConfigFormat::kText;
  } else if (format_name == "binary") {
    format = whistle::ConfigFormat::kBinary;
  } else {
    return Usage("--format must be json, text or binary");
  }
  options.seed = static_cast<uint64_t>(*seed);
  options.counties = static_cast<int>(*counties);
  options.streets = static_cast<int>(*streets);
  options.communities = static_cast<int>(*communities);
  options.grids = static_cast<int>(*grids);
  options.registered_units = static_cast<int>(*units);

  whistle::pb::CityConfig config = whistle::SampleCity(options);
  // SampleCity clamps counts the codes cannot express; say so rather than surprise.
  int regions[6] = {};
  for (const auto& r : config.regions()) ++regions[r.level()];
  const std::pair<whistle::pb::Level, int> asked[] = {
      {whistle::pb::LEVEL_COUNTY, options.counties},
      {whistle::pb::LEVEL_STREET, options.streets},
      {whistle::pb::LEVEL_COMMUNITY, options.communities},
      {whistle::pb::LEVEL_GRID, options.grids}};
  for (const auto& [level, count] : asked) {
    if (regions[level] != count) {
      std::cerr << "whistle-gencity: note: " << count << " " << whistle::LevelName(level)
                << " regions asked, " << regions[level] << " generated (see sample_city.h)\n";
    }
  }
  if (auto city = whistle::City::Build(config); !city.ok()) {
    std::cerr << "whistle-gencity: the generated city does not validate: "
              << city.status().ToString() << "\n";
    return 1;
  }
  const std::string data = whistle::FormatCityConfig(config, format);
  if (out.empty()) {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "whistle-gencity: cannot write to stdout\n";
      return 1;
    }
    return 0;
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file.write(data.data(), static_cast<std::streamsize>(data.size()));
  file.close();
  if (!file) {
    std::cerr << "whistle-gencity: cannot write '" << out << "'\n";
    return 1;
  }
  return 0;
}
