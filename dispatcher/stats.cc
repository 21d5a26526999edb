#include "dispatcher/stats.h"

#include <utility>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "dispatcher/city.h"
#include "dispatcher/iso8601.h"
#include "whistle/check.h"

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

void CounterSetWriter::Add(std::string_view key, const pb::StatCounters& counters) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedOutputStream;
  using Entry = pb::CounterSet::Entry;
  constexpr auto kDelimited = WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
  // One byte a tag: every field number here is below 16.
  static_assert(pb::CounterSet::kEntriesFieldNumber < 16 && Entry::kKeyFieldNumber < 16 &&
                Entry::kCountersFieldNumber < 16);
  auto key_size = static_cast<uint32_t>(key.size());
  // ByteSizeLong caches the size, which SerializeWithCachedSizesToArray below relies on.
  auto counters_size = static_cast<uint32_t>(counters.ByteSizeLong());
  uint32_t entry_size = 1 + CodedOutputStream::VarintSize32(key_size) + key_size + 1 +
                        CodedOutputStream::VarintSize32(counters_size) + counters_size;
  size_t at = bytes_.size();
  bytes_.resize(at + 1 + CodedOutputStream::VarintSize32(entry_size) + entry_size);
  auto tag = [](int field) { return WireFormatLite::MakeTag(field, kDelimited); };
  auto* p = reinterpret_cast<uint8_t*>(bytes_.data() + at);
  p = CodedOutputStream::WriteTagToArray(tag(pb::CounterSet::kEntriesFieldNumber), p);
  p = CodedOutputStream::WriteVarint32ToArray(entry_size, p);
  p = CodedOutputStream::WriteTagToArray(tag(Entry::kKeyFieldNumber), p);
  p = CodedOutputStream::WriteVarint32ToArray(key_size, p);
  p = CodedOutputStream::WriteRawToArray(key.data(), static_cast<int>(key_size), p);
  p = CodedOutputStream::WriteTagToArray(tag(Entry::kCountersFieldNumber), p);
  p = CodedOutputStream::WriteVarint32ToArray(counters_size, p);
  p = counters.SerializeWithCachedSizesToArray(p);
  WHISTLE_CHECK(p == reinterpret_cast<uint8_t*>(bytes_.data() + bytes_.size()),
                "CounterSet entry size");
}

std::string CounterSetWriter::Finish() { return std::exchange(bytes_, {}); }

}  // namespace whistle
