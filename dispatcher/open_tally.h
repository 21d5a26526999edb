// OpenTally: how many open events there are, by level and state, overdue and supervised, per
// grid, and which open events are overdue or supervised, in the city and in each grid. The engine
// keeps it in step with every command (EngineState::FinishCommand removes an event's state before
// the command and adds its state after), so the operations console's board and the metrics cost
// a pass over the grids with open events, never a scan of the events, and a board of one region
// never reads an event of another to find which marked events are its own. It also remembers the
// last record that changed each grid's counts, so that a board can send only the grids changed
// since one a reader already has (the console asks four times a second, and a Beijing-size city
// has 30,000 grids: 9 ms of the engine thread and a megabyte each time).
//
// Threading: engine thread only.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>

#include "whistle/event.pb.h"

namespace whistle {

struct OpenCounts {
  static constexpr int kLevels = 6;   // pb::Level values
  static constexpr int kStates = 10;  // pb::EventState values

  std::array<std::array<uint32_t, kStates>, kLevels> by_level_state{};
  uint32_t open = 0;
  uint32_t overdue = 0;
  uint32_t supervised = 0;

  void Add(const OpenCounts& other);
  bool operator==(const OpenCounts&) const = default;
};

// The open events of one grid that are overdue, and those supervised, by id.
struct GridMarks {
  std::set<uint64_t> overdue;
  std::set<uint64_t> supervised;
  bool operator==(const GridMarks&) const = default;
};

class OpenTally {
 public:
  // Counts an open event (REQUIRES: its state is open) / uncounts one counted before; `seq` is the
  // record that made the change (the newest of its command's), or the last record when the tally
  // is filled at a start.
  void Add(const pb::Event& e, uint64_t seq) { Change(e, +1, seq); }
  void Remove(const pb::Event& e, uint64_t seq) { Change(e, -1, seq); }
  // Remove(before) then Add(after), for an event that stays open (REQUIRES: both states open),
  // without giving up its grid's entry or its marks in between.
  void Replace(const pb::Event& before, const pb::Event& after, uint64_t seq);

  const OpenCounts& city() const { return city_; }
  // Grids with at least one open event.
  const std::unordered_map<std::string, OpenCounts>& by_grid() const { return by_grid_; }
  // The open events that are overdue, and those supervised, by id.
  const std::set<uint64_t>& overdue_ids() const { return overdue_ids_; }
  const std::set<uint64_t>& supervised_ids() const { return supervised_ids_; }
  // The same, by grid: only grids with a mark. Each id is in its event's grid. Each marked event
  // thus costs a second set node per mark (about 50 bytes): some 9 MB for 90,000 events both
  // overdue and supervised, against a board of one region reading them all.
  const std::unordered_map<std::string, GridMarks>& marks_by_grid() const { return marks_by_grid_; }

  // The last record that changed each grid's open, overdue or supervised count, for every grid
  // changed by a record after `stamped_after()` (at most every grid of the city: one whose last
  // open event went stays, at zero). A grid changed only before it is not in it.
  const std::unordered_map<std::string, uint64_t>& changed_at() const { return changed_at_; }
  uint64_t stamped_after() const { return stamped_after_; }
  // Random, never 0: which tally (which start of the dispatcher) the stamps are of.
  uint64_t epoch() const { return epoch_; }
  // A start, before it fills the tally from the store as of record `seq` (whose Adds, given
  // `seq`, stamp nothing).
  void StampChangesAfter(uint64_t seq) { stamped_after_ = seq; }

 private:
  void Change(const pb::Event& e, int delta, uint64_t seq);
  void Stamp(const std::string& grid, uint64_t seq) {
    if (seq > stamped_after_) changed_at_[grid] = seq;
  }
  // Marks `id` of `grid` (or unmarks it) in the city's set and in its grid's.
  void Mark(std::set<uint64_t>& city, std::set<uint64_t> GridMarks::*in_grid,
            const std::string& grid, uint64_t id, bool on);

  OpenCounts city_;
  std::unordered_map<std::string, OpenCounts> by_grid_;
  std::set<uint64_t> overdue_ids_;
  std::set<uint64_t> supervised_ids_;
  std::unordered_map<std::string, GridMarks> marks_by_grid_;
  std::unordered_map<std::string, uint64_t> changed_at_;
  uint64_t stamped_after_ = 0;
  uint64_t epoch_ = NewEpoch();

  static uint64_t NewEpoch();
};

}  // namespace whistle
