// Reading a city configuration (pb::CityConfig) with protobuf's own parsers.
//
// Parsing only checks syntax; City::Build (city.h) checks meaning. Errors name the file and
// what the parser reported.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dispatcher/city.h"
#include "whistle/config.pb.h"
#include "whistle/status.h"

namespace whistle {

enum class ConfigFormat { kJson, kText, kBinary };

// Parses `data` in `format`. Unknown JSON fields are errors (a typo must not pass silently).
Result<pb::CityConfig> ParseCityConfig(std::string_view data, ConfigFormat format);

// Reads a file, picking the format by extension: .json; .txtpb, .textproto, .pbtxt; .binpb, .pb.
Result<pb::CityConfig> ReadCityConfigFile(const std::string& path);

// The city every binary starts from: the file at `path` when given, else the embedded sample city
// (sample_city.h), validated by City::Build.
Result<std::shared_ptr<const City>> LoadCity(const std::string& path);

// Writes `config` in `format` (JSON is pretty-printed).
std::string FormatCityConfig(const pb::CityConfig& config, ConfigFormat format);

}  // namespace whistle
