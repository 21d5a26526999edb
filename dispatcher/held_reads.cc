#include "dispatcher/held_reads.h"

#include <algorithm>

namespace whistle {

bool HeldReads::Wakes(const ReadReach& reach, uint64_t seen, uint64_t seq, std::string_view grid) {
  if (seq <= seen) return false;
  if (reach.whole()) return true;
  return !grid.empty() && reach.CoversGrid(grid);
}

void HeldReads::Hold(Read read, const ReadReach& reach, uint64_t seen_seq,
                     std::vector<Read>* woken) {
  for (const Written& w : last_batch_) {
    if (Wakes(reach, seen_seq, w.seq, w.grid)) {
      woken->push_back(std::move(read));
      return;
    }
  }
  const uint64_t id = next_id_++;
  ++by_holder_[Holder(read.command.actor)];
  const TimePoint until = read.until;
  auto regions = reach.BoundingRegions();
  Entry entry{std::move(read), reach, seen_seq, {}, regions.has_value()};
  if (regions) {
    for (const std::string& code : *regions) {
      // Keyed by the city's own string, which lives as long as the city; a code the city does
      // not know holds no event.
      const pb::Region* r = city_.FindRegion(code);
      if (r != nullptr) entry.regions.push_back(r->code());
    }
    std::sort(entry.regions.begin(), entry.regions.end());
    entry.regions.erase(std::unique(entry.regions.begin(), entry.regions.end()),
                        entry.regions.end());
    for (std::string_view code : entry.regions) by_region_[code].insert(id);
  } else {
    unbounded_.insert(id);
  }
  by_end_.emplace(until, id);
  entries_.emplace(id, std::move(entry));
}

std::vector<uint64_t> HeldReads::Woken(uint64_t seq, std::string_view grid) const {
  std::vector<uint64_t> ids;
  for (uint64_t id : unbounded_) {
    const Entry& e = entries_.at(id);
    if (Wakes(e.reach, e.seen_seq, seq, grid)) ids.push_back(id);
  }
  if (!grid.empty()) {
    for (const pb::Region* r : city_.Ancestry(grid)) {
      auto held = by_region_.find(r->code());
      if (held == by_region_.end()) continue;
      for (uint64_t id : held->second) {
        const Entry& e = entries_.at(id);
        if (Wakes(e.reach, e.seen_seq, seq, grid)) ids.push_back(id);
      }
    }
  }
  // One entry may be found under two of the grid's regions (an agent of a street's department
  // and of a community's in it).
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

size_t HeldReads::HeldFor(const std::string& holder) const {
  auto it = by_holder_.find(holder);
  return it == by_holder_.end() ? 0 : it->second;
}

void HeldReads::Wrote(std::span<const Written> records, std::vector<Read>* woken) {
  last_batch_.clear();
  for (const Written& w : records) {
    // A grid the city does not know is nobody's to read but a whole-log reader's: kept as "".
    const pb::Region* region = w.grid.empty() ? nullptr : city_.FindRegion(w.grid);
    const std::string_view grid =
        region == nullptr ? std::string_view() : std::string_view(region->code());
    last_batch_.push_back({w.seq, grid});
    if (entries_.empty()) continue;
    for (uint64_t id : Woken(w.seq, grid)) Take(id, woken);
  }
}

void HeldReads::Expire(TimePoint now, std::vector<Read>* ended) {
  while (!by_end_.empty() && by_end_.begin()->first <= now) Take(by_end_.begin()->second, ended);
}

std::optional<HeldReads::TimePoint> HeldReads::NextEnd() const {
  if (by_end_.empty()) return std::nullopt;
  return by_end_.begin()->first;
}

std::vector<HeldReads::Read> HeldReads::TakeAll() {
  std::vector<Read> all;
  while (!by_end_.empty()) Take(by_end_.begin()->second, &all);
  return all;
}

void HeldReads::Take(uint64_t id, std::vector<Read>* out) {
  auto it = entries_.find(id);
  Entry& e = it->second;
  if (e.bounded) {
    for (std::string_view code : e.regions) {
      auto held = by_region_.find(code);
      held->second.erase(id);
      if (held->second.empty()) by_region_.erase(held);
    }
  } else {
    unbounded_.erase(id);
  }
  by_end_.erase({e.read.until, id});
  auto holder = by_holder_.find(Holder(e.read.command.actor));
  if (--holder->second == 0) by_holder_.erase(holder);
  out->push_back(std::move(e.read));
  entries_.erase(it);
}

}  // namespace whistle
