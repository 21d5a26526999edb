#include "dispatcher/city_loader.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>

#include <fstream>
#include <string>

#include "dispatcher/sample_city.h"
#include "tests/testing/temp_dir.h"

namespace whistle {
namespace {

using google::protobuf::util::MessageDifferencer;

// A small sample city keeps the round trips quick; the full one is checked once.
pb::CityConfig SmallCity() {
  SampleCityOptions options;
  options.counties = 2;
  options.streets = 3;
  options.communities = 5;
  options.grids = 9;
  options.registered_units = 6;
  return SampleCity(options);
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("the sample city survives a JSON round trip") {
  const pb::CityConfig city = SampleCity();
  auto parsed = ParseCityConfig(FormatCityConfig(city, ConfigFormat::kJson), ConfigFormat::kJson);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK(MessageDifferencer::Equals(city, *parsed));
}

TEST_CASE("a city survives a text format round trip") {
  const pb::CityConfig city = SmallCity();
  auto parsed = ParseCityConfig(FormatCityConfig(city, ConfigFormat::kText), ConfigFormat::kText);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK(MessageDifferencer::Equals(city, *parsed));
}

TEST_CASE("a city survives a binary round trip") {
  const pb::CityConfig city = SmallCity();
  auto parsed =
      ParseCityConfig(FormatCityConfig(city, ConfigFormat::kBinary), ConfigFormat::kBinary);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK(MessageDifferencer::Equals(city, *parsed));
}

TEST_CASE("JSON output keeps Chinese names readable and uses the proto's field names") {
  const std::string json = FormatCityConfig(SmallCity(), ConfigFormat::kJson);
  CHECK(Contains(json, "\"city_code\": \"370600\""));
  CHECK(Contains(json, "烟台市"));
}

TEST_CASE("text output keeps Chinese names readable") {
  CHECK(Contains(FormatCityConfig(SmallCity(), ConfigFormat::kText), "name: \"烟台市\""));
}

TEST_CASE("JSON accepts both proto and lowerCamelCase field names") {
  auto parsed = ParseCityConfig(R"({"city_code": "370600", "regions": [{"code": "370600"}],
                                    "settings": {"maxPageSize": 20}})",
                                ConfigFormat::kJson);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  CHECK(parsed->city_code() == "370600");
  CHECK(parsed->settings().max_page_size() == 20);
}

TEST_CASE("an unknown JSON field is rejected naming the field") {
  auto parsed = ParseCityConfig(R"({"city_code": "370600", "citycode": "x"})", ConfigFormat::kJson);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == pb::STATUS_BAD_REQUEST);
  CHECK(parsed.status().message().rfind("JSON: ", 0) == 0);
  CHECK(Contains(parsed.status().message(), "citycode"));
}

TEST_CASE("malformed JSON is rejected") {
  auto parsed = ParseCityConfig(R"({"city_code": )", ConfigFormat::kJson);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == pb::STATUS_BAD_REQUEST);
}

TEST_CASE("a text format syntax error reports its line and column") {
  auto parsed = ParseCityConfig("city_code: \"370600\"\nname: \"x\"\nregions { code: }\n",
                                ConfigFormat::kText);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == pb::STATUS_BAD_REQUEST);
  CHECK(parsed.status().message().rfind("text format: line 3, column ", 0) == 0);
}

TEST_CASE("an unknown text format field is rejected") {
  auto parsed = ParseCityConfig("city_code: \"370600\"\nmayor: \"x\"\n", ConfigFormat::kText);
  REQUIRE_FALSE(parsed.ok());
  CHECK(Contains(parsed.status().message(), "line 2"));
  CHECK(Contains(parsed.status().message(), "mayor"));
}

TEST_CASE("bytes that are not a CityConfig are rejected as binary") {
  auto parsed = ParseCityConfig("\xff\xff\xff", ConfigFormat::kBinary);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().message() == "binary: not a valid whistle.pb.CityConfig message");
}

TEST_CASE("ReadCityConfigFile reads each format by its extension") {
  testing::TempDir dir;
  const pb::CityConfig city = SmallCity();
  const std::pair<const char*, ConfigFormat> files[] = {
      {"city.json", ConfigFormat::kJson},      {"city.txtpb", ConfigFormat::kText},
      {"city.textproto", ConfigFormat::kText}, {"city.pbtxt", ConfigFormat::kText},
      {"city.binpb", ConfigFormat::kBinary},   {"city.pb", ConfigFormat::kBinary},
  };
  for (const auto& file : files) {
    // Named, not structured bindings: clang 14 cannot capture those (CAPTURE is a lambda).
    const char* name = file.first;
    const ConfigFormat format = file.second;
    CAPTURE(name);
    WriteFile(dir.Sub(name), FormatCityConfig(city, format));
    auto read = ReadCityConfigFile(dir.Sub(name));
    REQUIRE_MESSAGE(read.ok(), read.status().ToString());
    CHECK(MessageDifferencer::Equals(city, *read));
  }
}

TEST_CASE("ReadCityConfigFile parses by extension, not by content") {
  testing::TempDir dir;
  WriteFile(dir.Sub("city.txtpb"), FormatCityConfig(SmallCity(), ConfigFormat::kJson));
  CHECK_FALSE(ReadCityConfigFile(dir.Sub("city.txtpb")).ok());
}

TEST_CASE("ReadCityConfigFile reports a missing file naming it") {
  testing::TempDir dir;
  auto read = ReadCityConfigFile(dir.Sub("missing.json"));
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().code() == pb::STATUS_BAD_REQUEST);
  CHECK(read.status().message() ==
        "city config '" + dir.Sub("missing.json") + "': cannot open: No such file or directory");
}

TEST_CASE("ReadCityConfigFile rejects an unknown extension") {
  testing::TempDir dir;
  WriteFile(dir.Sub("city.yaml"), "city_code: 370600");
  auto read = ReadCityConfigFile(dir.Sub("city.yaml"));
  REQUIRE_FALSE(read.ok());
  CHECK(Contains(read.status().message(), "unknown extension '.yaml'"));
}

TEST_CASE("ReadCityConfigFile names the file and the format in a parse error") {
  testing::TempDir dir;
  WriteFile(dir.Sub("city.json"), R"({"city_code": "370600", "bogus": 1})");
  auto read = ReadCityConfigFile(dir.Sub("city.json"));
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().message().rfind("city config '" + dir.Sub("city.json") + "': JSON: ", 0) ==
        0);
}

}  // namespace
}  // namespace whistle
