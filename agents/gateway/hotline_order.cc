#include "agents/gateway/hotline_order.h"

#include <fmt/format.h>

#include "agents/gateway/order_tracker.h"
#include "dispatcher/attributes.h"
#include "dispatcher/iso8601.h"
#include "dispatcher/lifecycle.h"

namespace whistle::gateway {
namespace {

using nlohmann::json;

// A string field: absent (or null) gives "", anything but a string is an error.
Result<std::string> OptionalString(const json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return BadRequest(fmt::format("'{}' must be a string", field));
  return it->get<std::string>();
}

Result<std::string> RequiredString(const json& object, const char* field) {
  auto s = OptionalString(object, field);
  if (s.ok() && s->empty()) return BadRequest(fmt::format("'{}' is required", field));
  return s;
}

Status ReadLocation(const json& order, const City& city, pb::Report* report) {
  auto location = order.find("location");
  if (location != order.end() && !location->is_null()) {
    if (!location->is_object()) return BadRequest("'location' must be {\"lat\": …, \"long\": …}");
    auto lat = location->find("lat");
    auto lon = location->find("long");
    if (lat == location->end() || lon == location->end() || !lat->is_number() || !lon->is_number()) {
      return BadRequest("'location' needs numbers 'lat' and 'long'");
    }
    pb::Point p;
    p.set_lat(lat->get<double>());
    p.set_lon(lon->get<double>());
    if (!IsWgs84(p)) {
      return BadRequest("'location' is not a WGS-84 coordinate");
    }
    if (city.LocateGrid(p) == nullptr) {
      return BadRequest(fmt::format("location ({}, {}) is outside the city", p.lat(), p.lon()));
    }
    *report->mutable_position() = p;
  }
  auto grid = OptionalString(order, "grid");
  if (!grid.ok()) return grid.status();
  if (!grid->empty()) {
    const pb::Region* region = city.FindRegion(*grid);
    if (region == nullptr || region->level() != pb::LEVEL_GRID) {
      return BadRequest(fmt::format("'{}' is not a grid of the city", grid->substr(0, 64)));
    }
    report->set_grid(*grid);
  }
  if (!report->has_position() && report->grid().empty()) {
    return BadRequest("an order needs a 'location' or a 'grid'");
  }
  return Status::Ok();
}

Status ReadAttributes(const json& order, pb::Report* report) {
  auto attributes = order.find("attributes");
  if (attributes == order.end() || attributes->is_null()) return Status::Ok();
  if (!attributes->is_object()) return BadRequest("'attributes' must be an object");
  for (const auto& item : attributes->items()) {
    // Named, not structured bindings: clang 14 cannot capture those in the lambda below.
    const std::string& code = item.key();
    const json& value = item.value();
    pb::AttributeAnswer* answer = report->add_attributes();
    answer->set_code(code);
    auto add = [&](const json& v) -> Status {
      if (v.is_string()) {
        answer->add_values(v.get<std::string>());
      } else if (v.is_number()) {
        answer->add_values(v.dump());
      } else {
        return BadRequest(fmt::format("attribute '{}' must be a string, a number or a list of them",
                                      code.substr(0, 64)));
      }
      return Status::Ok();
    };
    if (value.is_array()) {
      for (const json& v : value) {
        if (Status s = add(v); !s.ok()) return s;
      }
    } else if (Status s = add(value); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<HotlineOrder> ParseHotlineOrder(std::string_view body, const City& city) {
  json order = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (order.is_discarded()) return BadRequest("the body is not JSON");
  if (!order.is_object()) return BadRequest("the body must be a JSON object");
  HotlineOrder out;
  auto order_no = RequiredString(order, "order_no");
  if (!order_no.ok()) return order_no.status();
  if (!IsValidOrderNo(*order_no)) {
    return BadRequest(fmt::format("'order_no' is {} bytes; the limit is {}", order_no->size(),
                                  kMaxOrderNoBytes));
  }
  out.order_no = *order_no;
  pb::Report& report = out.report;
  report.set_source(pb::SOURCE_HOTLINE);
  report.set_reporter(out.order_no);

  auto category = RequiredString(order, "category");
  if (!category.ok()) return category.status();
  const pb::Category* known = city.FindCategory(*category);
  if (known == nullptr) {
    return BadRequest(fmt::format("'{}' is not a category of the city", category->substr(0, 64)));
  }
  report.set_category(*category);

  for (auto [field, setter] : {std::pair<const char*, void (pb::Report::*)(const std::string&)>{
                                   "description", &pb::Report::set_description},
                               {"address", &pb::Report::set_address}}) {
    auto value = OptionalString(order, field);
    if (!value.ok()) return value.status();
    (report.*setter)(*value);
  }
  auto urgency = OptionalString(order, "urgency");
  if (!urgency.ok()) return urgency.status();
  if (*urgency == "urgent") {
    report.set_urgent(true);
  } else if (!urgency->empty() && *urgency != "normal") {
    return BadRequest("'urgency' is \"normal\" or \"urgent\"");
  }
  if (Status s = ReadLocation(order, city, &report); !s.ok()) return s;

  if (auto caller = order.find("caller"); caller != order.end() && !caller->is_null()) {
    if (!caller->is_object()) return BadRequest("'caller' must be an object");
    for (auto [field, setter] : {std::pair<const char*, void (pb::Report::*)(const std::string&)>{
                                     "name", &pb::Report::set_contact_name},
                                 {"phone", &pb::Report::set_contact_phone},
                                 {"email", &pb::Report::set_contact_email}}) {
      auto value = OptionalString(*caller, field);
      if (!value.ok()) return BadRequest(fmt::format("caller: {}", value.status().message()));
      (report.*setter)(*value);
    }
  }
  if (auto media = order.find("media_urls"); media != order.end() && !media->is_null()) {
    if (!media->is_array()) return BadRequest("'media_urls' must be a list of strings");
    for (const json& url : *media) {
      if (!url.is_string()) return BadRequest("'media_urls' must be a list of strings");
      report.add_media_urls(url.get<std::string>());
    }
  }
  if (Status s = ReadAttributes(order, &report); !s.ok()) return s;
  if (Status s = CheckAnswers(*known, report.attributes()); !s.ok()) return s;
  return out;
}

nlohmann::json HotlineOrderView(std::string_view order_no, const pb::Event& e,
                                bool linked_as_duplicate, const City& city) {
  const int32_t offset = city.settings().utc_offset_minutes();
  auto time = [&](int64_t ms) { return ms > 0 ? json(FormatIso8601(ms, offset)) : json(nullptr); };
  json departments = json::array();
  for (const std::string& d : e.candidates()) departments.push_back(d);
  json view = {
      {"order_no", order_no},
      {"event_id", std::to_string(e.id())},
      {"state", StateName(e.state())},
      {"status", IsOpen(e.state()) && e.state() != pb::STATE_RESOLVED ? "open" : "closed"},
      {"level", LevelName(e.level())},
      {"departments", departments},
      {"lead", e.lead()},
      {"linked_as_duplicate", linked_as_duplicate},
      {"overdue", e.overdue()},
      {"created_at", time(e.created_at_ms())},
      {"claim_by", IsOpen(e.state()) && e.lead().empty() ? time(e.claim_deadline_ms()) : json(nullptr)},
      {"resolve_by", IsOpen(e.state()) && e.state() != pb::STATE_RESOLVED ? time(e.resolve_deadline_ms())
                                                                          : json(nullptr)},
      {"resolved_at", time(e.resolved_at_ms())},
      {"resolved_by", e.resolved_by()},
  };
  if (e.merged_into() != 0) view["merged_into"] = std::to_string(e.merged_into());
  return view;
}

}  // namespace whistle::gateway
