#include "dispatcher/stats.h"

#include <fmt/format.h>

#include "dispatcher/city.h"
#include "dispatcher/iso8601.h"

namespace whistle {

std::string MonthOf(int64_t at_ms, int32_t utc_offset_minutes) {
  LocalCalendar t = ToLocalCalendar(at_ms, utc_offset_minutes);
  return fmt::format("{:04d}-{:02d}", t.year, t.month);
}

bool IsValidMonth(std::string_view m) {
  if (m.size() != 7 || m[4] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6}) {
    if (m[i] < '0' || m[i] > '9') return false;
  }
  int month = (m[5] - '0') * 10 + (m[6] - '0');
  return month >= 1 && month <= 12;
}

std::string DepartmentScope(std::string_view department) { return fmt::format("d:{}", department); }
std::string RegionScope(std::string_view region) { return fmt::format("r:{}", region); }
std::string LevelScope(pb::Level level) { return fmt::format("l:{}", LevelName(level)); }

pb::Rates RatesOf(const pb::StatCounters& c) {
  pb::Rates r;
  auto ratio = [](uint64_t num, uint64_t den) {
    return static_cast<double>(num) / static_cast<double>(den);
  };
  if (uint64_t d = c.claimed_in_time() + c.claim_missed()) {
    r.set_response_rate(ratio(c.claimed_in_time(), d));
  }
  if (uint64_t d = c.resolved() + c.unresolved()) r.set_resolution_rate(ratio(c.resolved(), d));
  if (uint64_t d = c.satisfied() + c.unsatisfied()) {
    r.set_satisfaction_rate(ratio(c.satisfied(), d));
  }
  return r;
}

}  // namespace whistle
