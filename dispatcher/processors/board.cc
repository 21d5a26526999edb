// The operations console's queries: Board (open events at a glance) and Ranks (the three rates
// for every department or region of a month). Both read counters the engine keeps in step with
// every command (open_tally.h, stats.h), never the events themselves.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include "dispatcher/lifecycle.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"
#include "dispatcher/stats.h"

namespace whistle {

Result<pb::Response> BoardProcessor::Answer(const Command& command, const EngineState& state) const {
  const pb::BoardQuery& q = command.request.board();
  const City& city = state.city();
  if (!q.region().empty() && city.FindRegion(q.region()) == nullptr) {
    return NotFound(fmt::format("unknown region '{}'", Clip(q.region())));
  }
  OpenCounts total;
  pb::Response reply;
  pb::BoardResult* board = reply.mutable_board();
  const OpenTally& tally = state.open_tally();
  auto add_grid = [&](const std::string& grid, const OpenCounts& counts) {
    pb::GridCount* g = board->add_grids();
    g->set_grid(grid);
    g->set_open(counts.open);
    g->set_overdue(counts.overdue);
    g->set_supervised(counts.supervised);
  };
  // Only what changed since a board the caller has, when the tally can say: that board is of this
  // start (its epoch), so every grid changed after it was stamped.
  const uint64_t after = q.grids_changed_after();
  const bool changed_only = q.grids_epoch() == tally.epoch() && after >= tally.stamped_after() &&
                            after <= state.last_seq();
  board->set_grids_epoch(tally.epoch());
  // A region's grids are the city's list of them (a county holds a sixteenth of Beijing's), each
  // looked up in the tally, not every grid of the tally tested for being in the region.
  const std::span<const pb::Region* const> region_grids =
      q.region().empty() ? std::span<const pb::Region* const>() : city.GridsWithin(q.region());
  if (changed_only) {
    board->set_grids_changed_only(true);
    auto add_changed = [&](const std::string& grid, uint64_t seq) {
      if (seq <= after) return;
      auto counts = tally.by_grid().find(grid);
      add_grid(grid, counts == tally.by_grid().end() ? OpenCounts() : counts->second);
    };
    if (q.region().empty()) {
      for (const auto& [grid, seq] : tally.changed_at()) add_changed(grid, seq);
    } else {
      for (const pb::Region* g : region_grids) {
        if (auto stamp = tally.changed_at().find(g->code()); stamp != tally.changed_at().end()) {
          add_changed(g->code(), stamp->second);
        }
      }
    }
  }
  if (q.region().empty()) {
    total = tally.city();
    if (!changed_only) {
      for (const auto& [grid, counts] : tally.by_grid()) add_grid(grid, counts);
    }
  } else {
    for (const pb::Region* g : region_grids) {
      auto counts = tally.by_grid().find(g->code());
      if (counts == tally.by_grid().end()) continue;
      total.Add(counts->second);
      if (!changed_only) add_grid(g->code(), counts->second);
    }
  }
  std::sort(board->mutable_grids()->begin(), board->mutable_grids()->end(),
            [](const pb::GridCount& a, const pb::GridCount& b) { return a.grid() < b.grid(); });
  // The newest of the events to watch, in the region asked for. A region's come from its grids'
  // marks, merged newest first (a heap of each grid's newest not yet taken), never by reading
  // the city's events: a lookup for each of its grids and 100 steps.
  constexpr int kMaxWatched = 100;
  const bool whole_city = q.region().empty() || q.region() == city.root().code();
  auto watch = [&](const std::set<uint64_t>& city_ids, std::set<uint64_t> GridMarks::*in_grid,
                   google::protobuf::RepeatedField<uint64_t>* out) {
    if (whole_city) {
      for (auto it = city_ids.rbegin(); it != city_ids.rend() && out->size() < kMaxWatched; ++it) {
        out->Add(*it);
      }
      return;
    }
    using Newest = std::set<uint64_t>::const_reverse_iterator;
    std::vector<std::pair<Newest, Newest>> heads;  // each marked grid's next and end
    for (const pb::Region* g : region_grids) {
      auto marks = tally.marks_by_grid().find(g->code());
      if (marks == tally.marks_by_grid().end()) continue;
      const std::set<uint64_t>& ids = marks->second.*in_grid;
      if (!ids.empty()) heads.emplace_back(ids.rbegin(), ids.rend());
    }
    auto older = [](const auto& a, const auto& b) { return *a.first < *b.first; };
    std::make_heap(heads.begin(), heads.end(), older);
    while (!heads.empty() && out->size() < kMaxWatched) {
      std::pop_heap(heads.begin(), heads.end(), older);
      auto& [next, end] = heads.back();
      out->Add(*next);
      if (++next == end) {
        heads.pop_back();
      } else {
        std::push_heap(heads.begin(), heads.end(), older);
      }
    }
  };
  watch(tally.overdue_ids(), &GridMarks::overdue, board->mutable_overdue_ids());
  watch(tally.supervised_ids(), &GridMarks::supervised, board->mutable_supervised_ids());
  board->set_last_seq(state.last_seq());
  board->set_open(total.open);
  board->set_overdue(total.overdue);
  board->set_supervised(total.supervised);
  for (int level = 0; level < OpenCounts::kLevels; ++level) {
    for (int s = 0; s < OpenCounts::kStates; ++s) {
      uint32_t n = total.by_level_state[static_cast<size_t>(level)][static_cast<size_t>(s)];
      if (n == 0) continue;
      pb::BoardCell* cell = board->add_cells();
      cell->set_level(static_cast<pb::Level>(level));
      cell->set_state(static_cast<pb::EventState>(s));
      cell->set_count(n);
    }
  }
  return reply;
}

Result<pb::Response> RanksProcessor::Answer(const Command& command, const EngineState& state) const {
  const pb::RanksQuery& q = command.request.ranks();
  const City& city = state.city();
  if (!IsValidMonth(q.month())) {
    return BadRequest(fmt::format("month '{}' is not YYYY-MM", Clip(q.month())));
  }
  if (!q.region().empty() && city.FindRegion(q.region()) == nullptr) {
    return NotFound(fmt::format("unknown region '{}'", Clip(q.region())));
  }
  pb::Response reply;
  pb::RanksResult* ranks = reply.mutable_ranks();
  ranks->set_month(q.month());
  auto add = [&](std::string_view scope_id, const std::string& name, const pb::StatCounters& c) {
    pb::RankRow* row = ranks->add_rows();
    row->set_scope(std::string(scope_id));
    row->set_name(name);
    *row->mutable_counters() = c;
    *row->mutable_rates() = RatesOf(c);
  };
  auto in_scope = [&](std::string_view code) { return q.region().empty() || city.Contains(q.region(), code); };
  // The scopes counted into that month (nothing counted: nothing to rank) that the city knows: a
  // walk of the month's counters, which for a past month are on disk (EngineState, "Counters of
  // past months"), not a lookup for each department or region of the city.
  Status walked;
  switch (q.of_case()) {
    case pb::RanksQuery::kDepartments: {
      const std::string prefix = DepartmentScope("");
      const pb::Department* d = nullptr;  // of the scope `wanted` last said yes to
      walked = state.ForEachCounters(
          q.month(), prefix,
          [&](std::string_view scope) {
            d = city.FindDepartment(scope.substr(prefix.size()));
            return d != nullptr && in_scope(d->jurisdiction());
          },
          [&](std::string_view scope, const pb::StatCounters& c) { add(scope.substr(prefix.size()), d->name(), c); });
      break;
    }
    case pb::RanksQuery::kRegionLevel: {
      if (!IsHandlingLevel(q.region_level())) {
        return BadRequest("region_level must be community, street, county or city");
      }
      const std::string prefix = RegionScope("");
      const pb::Region* r = nullptr;  // of the scope `wanted` last said yes to
      walked = state.ForEachCounters(
          q.month(), prefix,
          [&](std::string_view scope) {
            std::string_view code = scope.substr(prefix.size());
            r = city.FindRegion(code);
            return r != nullptr && r->level() == q.region_level() && in_scope(code);
          },
          [&](std::string_view scope, const pb::StatCounters& c) { add(scope.substr(prefix.size()), r->name(), c); });
      break;
    }
    case pb::RanksQuery::OF_NOT_SET:
      return BadRequest("ranks needs departments or a region_level");
  }
  if (!walked.ok()) return walked;
  std::sort(ranks->mutable_rows()->begin(), ranks->mutable_rows()->end(),
            [](const pb::RankRow& a, const pb::RankRow& b) { return a.scope() < b.scope(); });
  return reply;
}

}  // namespace whistle
