// Human-readable lines for records and events, for the simulator's report and the CLI.
//
// With a City, departments and categories carry their names; the `const City*` variants accept
// nullptr (whistlectl without --config) and then print the ids alone.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dispatcher/city.h"
#include "whistle/event.pb.h"
#include "whistle/wire.pb.h"

namespace whistle {

// "2026-11-23 09:12" in the city's local time.
std::string LocalTime(int64_t at_ms, int32_t utc_offset_minutes);
// A department's name with its id: "芝罘区水务局 (370602-water)"; the id alone when unknown.
std::string DepartmentLabel(const City& city, const std::string& id);
// The same, or the id alone when `city` is nullptr.
std::string DepartmentLabel(const City* city, const std::string& id);
// Several, comma-separated: "芝罘区水务局 (370602-water), 芝罘区城管局 (370602-urban)".
std::string DepartmentLabels(const City* city,
                             const google::protobuf::RepeatedPtrField<std::string>& ids);
// A category's name with its code: "供排水 (water)"; the code alone when unknown or no city.
std::string CategoryLabel(const City* city, const std::string& code);
// The q-quantile (0..1) of an ascending `sorted` series; 0 when it is empty.
double Percentile(const std::vector<double>& sorted, double q);
// "  rates for 2026-11 by level     响应率 ..." and one row per level: the three rates as
// percentages, "-" where a rate has nothing to count yet.
std::string RatesHeader(std::string_view month);
std::string RatesRow(pb::Level level, const pb::Rates& rates);

// One line for a record: "2026-11-23 09:42  escalated community -> street (claim deadline
// missed)", in the city's local time.
std::string DescribeRecord(const City& city, const pb::Record& record);
// The same with ids instead of names when `city` is nullptr, in local time at
// `utc_offset_minutes`.
std::string DescribeRecord(const City* city, int32_t utc_offset_minutes, const pb::Record& record);

}  // namespace whistle
