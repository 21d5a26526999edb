// Human-readable lines for records and events, for the simulator's report and the CLI.
#pragma once

#include <string>

#include "dispatcher/city.h"
#include "whistle/event.pb.h"

namespace whistle {

// "2026-11-23 09:12" in the city's local time.
std::string LocalTime(int64_t at_ms, int32_t utc_offset_minutes);
// A department's name with its id: "芝罘区水务局 (370602-water)"; the id alone when unknown.
std::string DepartmentLabel(const City& city, const std::string& id);
// One line for a record: "09:42  escalated community -> street (claim deadline missed)".
std::string DescribeRecord(const City& city, const pb::Record& record);

}  // namespace whistle
