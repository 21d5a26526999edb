#include "dispatcher/open_tally.h"

#include <random>

#include "whistle/check.h"

namespace whistle {
namespace {

void Apply(OpenCounts& c, const pb::Event& e, int delta) {
  auto bump = [delta](uint32_t& n) { n = static_cast<uint32_t>(static_cast<int64_t>(n) + delta); };
  auto level = static_cast<size_t>(e.level());
  auto state = static_cast<size_t>(e.state());
  WHISTLE_CHECK(level < OpenCounts::kLevels && state < OpenCounts::kStates,
                "event %llu has level %d state %d", static_cast<unsigned long long>(e.id()),
                static_cast<int>(level), static_cast<int>(state));
  bump(c.by_level_state[level][state]);
  bump(c.open);
  if (e.overdue()) bump(c.overdue);
  if (e.supervised()) bump(c.supervised);
}

}  // namespace

uint64_t OpenTally::NewEpoch() {
  std::random_device random;
  const uint64_t epoch = (static_cast<uint64_t>(random()) << 32) | random();
  return epoch == 0 ? 1 : epoch;
}

void OpenCounts::Add(const OpenCounts& other) {
  for (int l = 0; l < kLevels; ++l) {
    for (int s = 0; s < kStates; ++s) by_level_state[l][s] += other.by_level_state[l][s];
  }
  open += other.open;
  overdue += other.overdue;
  supervised += other.supervised;
}

void OpenTally::Change(const pb::Event& e, int delta, uint64_t seq) {
  Apply(city_, e, delta);
  auto it = by_grid_.try_emplace(e.grid()).first;
  Apply(it->second, e, delta);
  if (it->second.open == 0) by_grid_.erase(it);
  Stamp(e.grid(), seq);  // its open count changed
  if (e.overdue()) Mark(overdue_ids_, &GridMarks::overdue, e.grid(), e.id(), delta > 0);
  if (e.supervised()) Mark(supervised_ids_, &GridMarks::supervised, e.grid(), e.id(), delta > 0);
}

void OpenTally::Mark(std::set<uint64_t>& city, std::set<uint64_t> GridMarks::*in_grid,
                     const std::string& grid, uint64_t id, bool on) {
  if (on) {
    city.insert(id);
    (marks_by_grid_[grid].*in_grid).insert(id);
    return;
  }
  city.erase(id);
  auto it = marks_by_grid_.find(grid);
  if (it == marks_by_grid_.end()) return;
  (it->second.*in_grid).erase(id);
  if (it->second.overdue.empty() && it->second.supervised.empty()) marks_by_grid_.erase(it);
}

void OpenTally::Replace(const pb::Event& before, const pb::Event& after, uint64_t seq) {
  auto it = by_grid_.find(after.grid());
  if (before.grid() != after.grid() || before.id() != after.id() || it == by_grid_.end()) {
    Remove(before, seq);
    Add(after, seq);
    return;
  }
  // The grid's open count stays; what a board shows of it changes only with a mark.
  if (before.overdue() != after.overdue() || before.supervised() != after.supervised()) {
    Stamp(after.grid(), seq);
  }
  Apply(city_, before, -1);
  Apply(city_, after, +1);
  Apply(it->second, before, -1);
  Apply(it->second, after, +1);
  if (before.overdue() != after.overdue()) {
    Mark(overdue_ids_, &GridMarks::overdue, after.grid(), after.id(), after.overdue());
  }
  if (before.supervised() != after.supervised()) {
    Mark(supervised_ids_, &GridMarks::supervised, after.grid(), after.id(), after.supervised());
  }
}

}  // namespace whistle
