// whistle-gencity: writes the sample city configuration (dispatcher/sample_city.h).
//
//   whistle-gencity [--format=json|text|binary] [--out=FILE] [--counties=N] [--streets=N]
//                   [--communities=N] [--grids=N] [--units=N] [--seed=N]
//
// The output is checked with City::Build before it is written, so a generated file always loads.
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include "dispatcher/city.h"
#include "dispatcher/city_loader.h"
#include "dispatcher/sample_city.h"

namespace {

constexpr char kUsage[] =
    "usage: whistle-gencity [--format=json|text|binary] [--out=FILE]\n"
    "                       [--counties=N] [--streets=N] [--communities=N] [--grids=N]\n"
    "                       [--units=N] [--seed=N]\n"
    "Writes the sample city configuration (default: JSON to stdout).\n";

int Usage(std::string_view problem) {
  if (!problem.empty()) std::cerr << "whistle-gencity: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

int main(int argc, char** argv) {
  whistle::SampleCityOptions options;
  whistle::ConfigFormat format = whistle::ConfigFormat::kJson;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    const size_t eq = arg.find('=');
    if (arg.substr(0, 2) != "--" || eq == std::string_view::npos) {
      return Usage("bad argument '" + std::string(arg) + "'");
    }
    const std::string_view name = arg.substr(2, eq - 2);
    const std::string_view value = arg.substr(eq + 1);
    int* count = nullptr;
    if (name == "format") {
      if (value == "json") {
        format = whistle::ConfigFormat::kJson;
      } else if (value == "text") {
        format = whistle::ConfigFormat::kText;
      } else if (value == "binary") {
        format = whistle::ConfigFormat::kBinary;
      } else {
        return Usage("--format must be json, text or binary");
      }
      continue;
    } else if (name == "out") {
      if (value.empty()) return Usage("--out needs a file name");
      out = value;
      continue;
    } else if (name == "seed") {
      if (!ParseNumber(value, &options.seed)) return Usage("--seed must be a non-negative number");
      continue;
    } else if (name == "counties") {
      count = &options.counties;
    } else if (name == "streets") {
      count = &options.streets;
    } else if (name == "communities") {
      count = &options.communities;
    } else if (name == "grids") {
      count = &options.grids;
    } else if (name == "units") {
      count = &options.registered_units;
    } else {
      return Usage("unknown flag '--" + std::string(name) + "'");
    }
    // Units may be zero; every level of the tree needs at least one node.
    const int min = name == "units" ? 0 : 1;
    if (!ParseNumber(value, count) || *count < min) {
      return Usage("--" + std::string(name) + " must be a number >= " + std::to_string(min));
    }
  }

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
