#include <fmt/format.h>

#include "dispatcher/attributes.h"
#include "dispatcher/dispatch_planner.h"
#include "dispatcher/processors/processors.h"
#include "dispatcher/rejections.h"

namespace whistle {
namespace {

constexpr int kMaxMediaUrls = 16;
constexpr int kMaxAttributeAnswers = 32;
constexpr int kMaxAttributeValues = 32;

Status CheckReportFields(const pb::Report& r) {
  if (Status s = CheckText("description", r.description(), false, kMaxDescriptionBytes); !s.ok()) return s;
  if (Status s = CheckText("address", r.address(), false); !s.ok()) return s;
  for (auto [field, value] : {std::pair<std::string_view, const std::string&>{"reporter", r.reporter()},
                              {"contact_name", r.contact_name()},
                              {"contact_phone", r.contact_phone()},
                              {"contact_email", r.contact_email()},
                              {"address_id", r.address_id()},
                              {"device_id", r.device_id()},
                              {"account_id", r.account_id()}}) {
    if (value.size() > kMaxIdBytes) {
      return BadRequest(fmt::format("{} is {} bytes; the limit is {}", field, value.size(), kMaxIdBytes));
    }
  }
  if (r.media_urls_size() > kMaxMediaUrls) {
    return BadRequest(fmt::format("{} media urls; the limit is {}", r.media_urls_size(), kMaxMediaUrls));
  }
  for (const auto& url : r.media_urls()) {
    if (Status s = CheckText("media url", url, true); !s.ok()) return s;
  }
  if (r.attributes_size() > kMaxAttributeAnswers) {
    return BadRequest(fmt::format("{} attributes; the limit is {}", r.attributes_size(), kMaxAttributeAnswers));
  }
  for (const pb::AttributeAnswer& a : r.attributes()) {
    if (a.values_size() > kMaxAttributeValues) {
      return BadRequest(fmt::format("attribute has {} values; the limit is {}", a.values_size(), kMaxAttributeValues));
    }
    for (const std::string& v : a.values()) {
      if (Status s = CheckText("attribute value", v, false); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

// The grid a report is placed in: the named grid, or the one containing its position.
Result<std::string> PlaceReport(const City& city, const pb::Report& r) {
  if (r.has_position()) {
    const pb::Point& p = r.position();
    if (!IsWgs84(p)) {
      return BadRequest(fmt::format("position ({}, {}) is not a WGS-84 coordinate", p.lon(), p.lat()));
    }
  }
  if (!r.grid().empty()) {
    const pb::Region* region = city.FindRegion(r.grid());
    if (region == nullptr) {
      return NotFound(fmt::format("unknown grid '{}'", r.grid().substr(0, kMaxIdBytes)));
    }
    if (region->level() != pb::LEVEL_GRID) {
      return BadRequest(fmt::format("region '{}' is a {}, not a grid", r.grid(),
                                    LevelName(region->level())));
    }
    return r.grid();
  }
  if (!r.has_position()) return BadRequest("a report needs a grid or a position");
  const pb::Point& p = r.position();
  const pb::Region* grid = city.LocateGrid(p);
  if (grid == nullptr) {
    return NotFound(fmt::format("position ({:.6f}, {:.6f}) is in no grid of the city", p.lon(), p.lat()));
  }
  return grid->code();
}

// An unresolved event this report repeats: same category and grid, reported within the window
// and, when both carry a position, within the distance.
const pb::Event* FindDuplicate(const EngineState& state, const pb::Report& r, const std::string& grid,
                               int64_t now_ms) {
  const pb::EngineSettings& s = state.city().settings();
  if (s.duplicate_window_seconds() <= 0) return nullptr;
  for (const pb::Event* e : state.UnresolvedAt(grid, r.category(), now_ms - s.duplicate_window_seconds() * 1000)) {
    if (r.has_position() && e->report().has_position() && s.duplicate_distance_meters() > 0 &&
        DistanceMeters(r.position(), e->report().position()) > s.duplicate_distance_meters()) {
      continue;
    }
    return e;
  }
  return nullptr;
}

}  // namespace

Result<Decision> SubmitProcessor::Decide(const Command& command, const EngineState& state,
                                         int64_t now_ms) const {
  const pb::Report& report = command.request.submit().report();
  const City& city = state.city();
  if (report.category().empty()) return BadRequest("category is required");
  if (city.FindCategory(report.category()) == nullptr) {
    return NotFound(fmt::format("unknown category '{}'", report.category().substr(0, kMaxIdBytes)));
  }
  if (Status s = CheckReportFields(report); !s.ok()) return s;
  if (Status s = CheckAnswers(*city.FindCategory(report.category()), report.attributes()); !s.ok()) {
    return s;
  }
  auto grid = PlaceReport(city, report);
  if (!grid.ok()) return grid.status();

  Decision d;
  if (const pb::Event* open = FindDuplicate(state, report, *grid, now_ms)) {
    pb::LinkedReport* link = d.Add(open->id(), now_ms, command.actor).mutable_report_linked()->mutable_link();
    link->set_reporter(report.reporter());
    link->set_at_ms(now_ms);
    link->set_request_id(command.request.request_id());
    link->set_principal(command.actor.principal());
    d.reply_event_id = open->id();
    d.linked_as_duplicate = true;
    return d;
  }

  uint64_t id = state.next_event_id();
  pb::Submitted* submitted = d.Add(id, now_ms, command.actor).mutable_submitted();
  *submitted->mutable_report() = report;
  submitted->set_grid(*grid);
  submitted->set_request_id(command.request.request_id());
  *d.Add(id, now_ms, command.actor).mutable_dispatched() =
      PlanDispatch(state, report, *grid, pb::LEVEL_COMMUNITY, now_ms);
  d.reply_event_id = id;
  return d;
}

}  // namespace whistle
