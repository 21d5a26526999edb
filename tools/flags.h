// Flags: "--name=value" and "--name" command-line parsing for whistle's tools. Each tool takes
// the flags it knows; whatever is left is an error, so a typo never passes silently.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "whistle/status.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace whistle {

// Merges the protobuf text-format file at `path` into `out` (a daemon's option file). BAD_REQUEST
// names the file and the message type when it cannot be read or parsed (the parser's complaint
// goes to stderr).
Status MergeTextFormatFile(const std::string& path, google::protobuf::Message* out);

// The items of a comma-separated flag value ("a,b,c"), empty items dropped.
std::vector<std::string> SplitCommaList(std::string_view list);

class Flags {
 public:
  // Fails on an argument that is not "--name" or "--name=value", or a flag given twice.
  static Result<Flags> Parse(int argc, const char* const* argv);

  bool Has(std::string_view name) const { return values_.contains(std::string(name)); }
  // The value of --name (removing it), or `fallback`.
  std::string TakeString(std::string_view name, std::string fallback = "");
  // A present "--name" or "--name=true" is true; "--name=false" is false; absent is false.
  Result<bool> TakeBool(std::string_view name);
  Result<int64_t> TakeInt(std::string_view name, int64_t fallback, int64_t min, int64_t max);
  Result<double> TakeDouble(std::string_view name, double fallback, double min, double max);
  // BAD_REQUEST naming the first flag nobody took.
  Status CheckAllTaken() const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace whistle
