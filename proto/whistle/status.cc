#include "whistle/status.h"

namespace whistle {

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string name = pb::StatusCode_Name(code_);
  // Drop the "STATUS_" prefix: "NOT_FOUND: no event 17".
  if (name.rfind("STATUS_", 0) == 0) name.erase(0, 7);
  return name + ": " + message_;
}

}  // namespace whistle
