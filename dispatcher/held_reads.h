// HeldReads: the log reads the front door holds until their reader's next record is written
// (LogQuery.wait_ms; server.h, "Held log reads"), indexed so that a record written wakes only the
// reads it concerns.
//
// A read is held with its reader's reach (authorization.h, ReadReach). A record wakes the reads
// that have not seen it (it comes after what their answer had read) and whose reader may read it:
//   - a reader of the whole log: any record;
//   - a reader bounded by regions (an agent: its departments' jurisdictions, narrowed to its own
//     region; a supervisor of a region: the region; ReadReach::BoundingRegions): a record of an
//     event whose grid the reach covers. They are found
//     through an index by region code, so a record costs the reads held in its grid's few
//     regions (grid, community, street, county, city), not every read held;
//   - a reporter (its own reports, which the grid cannot tell): any record of an event. (The log
//     is no reporter's to read: a reporter's read is refused before it could be held.)
// A record of no event (a mode switch, a principal's) wakes only readers of the whole log: the
// others get it withheld.
// Waking too many is harmless (the read is answered as usual); waking too few would leave a
// reader waiting for a record it may read, so each rule above errs towards waking.
//
// Threading: the engine thread's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "dispatcher/authorization.h"
#include "dispatcher/city.h"
#include "dispatcher/processors/processor.h"

namespace whistle {

class HeldReads {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Read {
    zmq::message_t identity;  // the client's routing id on the front socket
    Command command;          // a LogQuery with wait_ms, its actor as authorized when it came
    TimePoint until;          // when its wait ends
  };
  // Whose reads count together against a limit: the principal the connection authenticated as
  // (a console carrying a person's ticket: the console).
  static const std::string& Holder(const pb::Actor& actor) {
    return actor.via().empty() ? actor.principal() : actor.via();
  }

  // A record written, for waking reads: its number and its event's grid ("" for a record of no
  // event, or of an event not found).
  struct Written {
    uint64_t seq;
    std::string_view grid;
  };

  // REQUIRES: `city` outlives this.
  explicit HeldReads(const City& city) : city_(city) {}

  size_t size() const { return entries_.size(); }
  // Reads held for `holder` (Holder).
  size_t HeldFor(const std::string& holder) const;
  // Holds `read` for a reader of reach `reach` that has read the log up to `seen_seq` (its
  // answer's last_seq), unless a record after that in the last batch written (Wrote) wakes it
  // already: then it is moved into *woken. A read is decided while the batch before its own is
  // being written (server.h: rounds are staged while a write is in flight), so it may not have
  // seen that batch's records, which are written, and woke nothing, before it is held; the
  // batches before that it has seen. Its own batch's come after it is held (Wrote).
  void Hold(Read read, const ReadReach& reach, uint64_t seen_seq, std::vector<Read>* woken);
  // A batch's records are written: moves into *woken the reads they wake, and remembers them for
  // Hold until the next batch.
  void Wrote(std::span<const Written> records, std::vector<Read>* woken);
  // Moves into *ended the reads whose wait ended by `now`.
  void Expire(TimePoint now, std::vector<Read>* ended);
  // When the first wait ends; nullopt when nothing is held.
  std::optional<TimePoint> NextEnd() const;
  // Moves out every read held.
  std::vector<Read> TakeAll();

 private:
  struct Entry {
    Read read;
    ReadReach reach;
    uint64_t seen_seq;
    std::vector<std::string_view> regions;  // its keys in by_region_ (the city's own strings)
    bool bounded;                           // in by_region_; else in unbounded_
  };
  // Whether record (seq, grid) wakes a read of `reach` that has seen up to `seen`.
  static bool Wakes(const ReadReach& reach, uint64_t seen, uint64_t seq, std::string_view grid);
  // The ids of the entries record (seq, grid) wakes, each once.
  std::vector<uint64_t> Woken(uint64_t seq, std::string_view grid) const;
  // Removes entry `id` from every index and moves its read into *out.
  void Take(uint64_t id, std::vector<Read>* out);

  const City& city_;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_set<uint64_t> unbounded_;  // whole log, or a reporter
  // Region code -> entries (a set: a wake of a city-wide department's many desks takes each in
  // O(1)).
  std::unordered_map<std::string_view, std::unordered_set<uint64_t>> by_region_;
  std::set<std::pair<TimePoint, uint64_t>> by_end_;
  std::unordered_map<std::string, size_t> by_holder_;  // reads held, by Holder
  // The records of the last batch written (Hold), grids as the city's own strings.
  std::vector<Written> last_batch_;
};

}  // namespace whistle
