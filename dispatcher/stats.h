// Statistics: the counters behind the three rates cities publish (响应率, 解决率, 满意率), kept per
// (month, scope) where a scope is a department, a region or a level.
//
// Appliers add to counters as records are applied (appliers.cc says which record counts what);
// queries read them. A month is the calendar month of the record's time in the city's local time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "whistle/config.pb.h"
#include "whistle/event.pb.h"
#include "whistle/wire.pb.h"

namespace whistle {

// "2026-11" for `at_ms` shifted by `utc_offset_minutes`.
std::string MonthOf(int64_t at_ms, int32_t utc_offset_minutes);
// True for "YYYY-MM" with a month 01..12.
bool IsValidMonth(std::string_view month);

// Scope names, as stored: "d:<department id>", "r:<region code>", "l:<level name>".
std::string DepartmentScope(std::string_view department);
std::string RegionScope(std::string_view region);
std::string LevelScope(pb::Level level);

// The rates from counters; a rate whose denominator is zero is left unset.
pb::Rates RatesOf(const pb::StatCounters& c);

// Writes a pb::CounterSet's bytes straight from counters held elsewhere, entry by entry, without
// building the message: folding a Beijing-size month (55,000 counters after its first day) took
// the engine thread 30 ms when it built the message first, 10-16 ms this way (EngineState,
// "Counters in meta"). The bytes are those pb::CounterSet::SerializeAsString gives for the same
// entries (non-empty keys: proto3 leaves an empty one out).
class CounterSetWriter {
 public:
  void Add(std::string_view key, const pb::StatCounters& counters);
  // The bytes; the writer is empty again.
  std::string Finish();

 private:
  std::string bytes_;
};

}  // namespace whistle
