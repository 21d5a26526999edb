#include "dispatcher/city_loader.h"

#include "dispatcher/sample_city.h"

#include <fmt/format.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace whistle {
namespace {

// Keeps the first text-format error with its position (protobuf counts from 0, people from 1).
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!error_.empty()) return;
    error_ = fmt::format("line {}, column {}: {}", line + 1, column + 1, message);
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

std::string_view FormatName(ConfigFormat format) {
  switch (format) {
    case ConfigFormat::kJson:
      return "JSON";
    case ConfigFormat::kText:
      return "text format";
    case ConfigFormat::kBinary:
      return "binary";
  }
  return "unknown format";
}

}  // namespace

Result<pb::CityConfig> ParseCityConfig(std::string_view data, ConfigFormat format) {
  pb::CityConfig config;
  switch (format) {
    case ConfigFormat::kJson: {
      google::protobuf::util::JsonParseOptions options;
      options.ignore_unknown_fields = false;  // a misspelt field must not pass silently
      auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(data.data(), data.size()), &config, options);
      if (!status.ok()) {
        return BadRequest(fmt::format("{}: {}", FormatName(format), status.message().ToString()));
      }
      return config;
    }
    case ConfigFormat::kText: {
      FirstErrorCollector errors;
      google::protobuf::TextFormat::Parser parser;
      parser.RecordErrorsTo(&errors);
      if (!parser.ParseFromString(std::string(data), &config)) {
        return BadRequest(fmt::format("{}: {}", FormatName(format),
                                      errors.error().empty() ? "parse failed" : errors.error()));
      }
      return config;
    }
    case ConfigFormat::kBinary:
      if (!config.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
        return BadRequest(
            fmt::format("{}: not a valid {} message", FormatName(format), config.GetTypeName()));
      }
      return config;
  }
  return BadRequest("unknown configuration format");
}

Result<pb::CityConfig> ReadCityConfigFile(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  ConfigFormat format;
  if (ext == ".json") {
    format = ConfigFormat::kJson;
  } else if (ext == ".txtpb" || ext == ".textproto" || ext == ".pbtxt") {
    format = ConfigFormat::kText;
  } else if (ext == ".binpb" || ext == ".pb") {
    format = ConfigFormat::kBinary;
  } else {
    return BadRequest(fmt::format(
        "city config '{}': unknown extension '{}'; use .json, .txtpb, .textproto, .pbtxt, .binpb "
        "or .pb",
        path, ext));
  }

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) {
    return BadRequest(fmt::format("city config '{}': cannot open: {}", path, std::strerror(errno)));
  }
  std::string data;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) data.append(buffer, n);
  if (std::ferror(file.get())) {
    return BadRequest(fmt::format("city config '{}': cannot read: {}", path, std::strerror(errno)));
  }

  Result<pb::CityConfig> config = ParseCityConfig(data, format);
  if (!config.ok()) {
    return BadRequest(fmt::format("city config '{}': {}", path, config.status().message()));
  }
  return config;
}

std::string FormatCityConfig(const pb::CityConfig& config, ConfigFormat format) {
  std::string out;
  switch (format) {
    case ConfigFormat::kJson: {
      google::protobuf::util::JsonPrintOptions options;
      options.add_whitespace = true;
      // The .proto's own names, as the text format and the documentation use them.
      options.preserve_proto_field_names = true;
      // Cannot fail for a message without Any fields.
      (void)google::protobuf::util::MessageToJsonString(config, &out, options);
      break;
    }
    case ConfigFormat::kText: {
      google::protobuf::TextFormat::Printer printer;
      printer.SetUseUtf8StringEscaping(true);  // names stay readable Chinese, not octal escapes
      printer.PrintToString(config, &out);
      break;
    }
    case ConfigFormat::kBinary:
      config.SerializeToString(&out);
      break;
  }
  return out;
}

Result<std::shared_ptr<const City>> LoadCity(const std::string& path) {
  if (path.empty()) return City::Build(SampleCity());
  auto config = ReadCityConfigFile(path);
  if (!config.ok()) return config.status();
  return City::Build(std::move(config).value());
}

}  // namespace whistle
