#include "tools/flags.h"

#include <charconv>

#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

namespace whistle {

Result<Flags> Flags::Parse(int argc, const char* const* argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      return BadRequest(fmt::format("bad argument '{}': flags look like --name=value", arg));
    }
    size_t eq = arg.find('=');
    std::string name(arg.substr(2, eq == std::string_view::npos ? std::string_view::npos : eq - 2));
    std::string value(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
    if (!flags.values_.emplace(name, eq == std::string_view::npos ? "\x01" : value).second) {
      return BadRequest(fmt::format("--{} is given twice", name));
    }
  }
  return flags;
}

std::string Flags::TakeString(std::string_view name, std::string fallback) {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return fallback;
  std::string v = it->second == "\x01" ? "" : it->second;
  values_.erase(it);
  return v;
}

Result<bool> Flags::TakeBool(std::string_view name) {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return false;
  std::string v = it->second;
  values_.erase(it);
  if (v == "\x01" || v == "true") return true;
  if (v == "false") return false;
  return BadRequest(fmt::format("--{} takes no value, or true or false", name));
}

Result<int64_t> Flags::TakeInt(std::string_view name, int64_t fallback, int64_t min, int64_t max) {
  if (!Has(name)) return fallback;
  std::string v = TakeString(name);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size() || n < min || n > max) {
    return BadRequest(fmt::format("--{} must be a whole number from {} to {}", name, min, max));
  }
  return n;
}

Result<double> Flags::TakeDouble(std::string_view name, double fallback, double min, double max) {
  if (!Has(name)) return fallback;
  std::string v = TakeString(name);
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !(d >= min && d <= max)) {
    return BadRequest(fmt::format("--{} must be a number from {} to {}", name, min, max));
  }
  return d;
}

Status Flags::CheckAllTaken() const {
  if (values_.empty()) return Status::Ok();
  return BadRequest(fmt::format("unknown flag --{}", values_.begin()->first));
}

Status MergeTextFormatFile(const std::string& path, google::protobuf::Message* out) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return BadRequest(fmt::format("cannot read '{}'", path));
  std::unique_ptr<google::protobuf::Message> from_file(out->New());
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), from_file.get())) {
    return BadRequest(fmt::format("'{}' is not a {} in text format (the parser's complaint is on stderr)",
                                  path, out->GetTypeName()));
  }
  out->MergeFrom(*from_file);
  return Status::Ok();
}

std::vector<std::string> SplitCommaList(std::string_view list) {
  std::vector<std::string> items;
  while (true) {
    size_t comma = list.find(',');
    if (std::string_view item = list.substr(0, comma); !item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace whistle
