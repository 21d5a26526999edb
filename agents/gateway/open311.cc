#include "agents/gateway/open311.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "dispatcher/attributes.h"
#include "dispatcher/iso8601.h"
#include "dispatcher/lifecycle.h"

namespace whistle::open311 {
namespace {

using Attribute = pb::ServiceAttribute;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr size_t kQuoteLimit = 64;  // bytes of a client's value quoted back in a message

// A client's value as quoted in an error message: short, whatever it was.
std::string Quote(std::string_view value) {
  return value.size() <= kQuoteLimit ? std::string(value)
                                     : std::string(value.substr(0, kQuoteLimit)) + "...";
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

std::string_view Trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// The items of a comma list, blanks around them and empty items dropped.
std::vector<std::string> SplitList(std::string_view list) {
  std::vector<std::string> items;
  while (true) {
    const size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    list.remove_prefix(comma + 1);
  }
}

// The items of every occurrence of a comma-list parameter.
std::vector<std::string> ListParam(const Params& params, const std::string& key) {
  std::vector<std::string> items;
  auto [begin, end] = params.equal_range(key);
  for (auto it = begin; it != end; ++it) {
    for (std::string& item : SplitList(it->second)) items.push_back(std::move(item));
  }
  return items;
}

// The one non-empty value of a single-valued parameter, or "" when it is absent or empty (the
// spec: an empty parameter is an absent one). Two non-empty values are refused rather than one
// picked. Text must be UTF-8, as Open311 requires and protobuf's string fields insist.
Result<std::string> SingleParam(const Params& params, const std::string& key) {
  std::string value;
  auto [begin, end] = params.equal_range(key);
  for (auto it = begin; it != end; ++it) {
    if (it->second.empty()) continue;
    if (!value.empty()) return BadRequest(fmt::format("{} is given more than once", key));
    value = it->second;
  }
  if (!Utf8Length(value)) return BadRequest(fmt::format("{} is not valid UTF-8", key));
  return value;
}

std::string DepartmentName(const City& city, std::string_view id) {
  const pb::Department* d = city.FindDepartment(id);
  return d != nullptr && !d->name().empty() ? d->name() : std::string(id);
}

template <typename Ids>
std::string DepartmentNames(const City& city, const Ids& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ", ";
    out += DepartmentName(city, id);
  }
  return out;
}

std::string ServiceName(const pb::Category& category, Language language) {
  if (language == Language::kEn && !category.name_en().empty()) return category.name_en();
  return category.name();
}

std::string_view DatatypeName(Attribute::Datatype type) {
  switch (type) {
    case Attribute::DATATYPE_NUMBER:
      return "number";
    case Attribute::DATATYPE_DATETIME:
      return "datetime";
    case Attribute::DATATYPE_TEXT:
      return "text";
    case Attribute::DATATYPE_SINGLEVALUELIST:
      return "singlevaluelist";
    case Attribute::DATATYPE_MULTIVALUELIST:
      return "multivaluelist";
    default:
      return "string";  // City::Build refuses an unspecified datatype
  }
}

// The level above `level` on the ladder; `level` itself at the top.
pb::Level LevelAbove(pb::Level level) {
  for (size_t i = 0; i + 1 < std::size(kLadder); ++i) {
    if (kLadder[i] == level) return kLadder[i + 1];
  }
  return level;
}

// --- Report form -------------------------------------------------------------------------------

// A coordinate: a finite decimal number within [-limit, limit].
Result<double> ParseCoordinate(const std::string& key, const std::string& text, double limit) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return BadRequest(fmt::format("{} '{}' is not a number", key, Quote(text)));
  }
  if (std::abs(value) > limit) {
    return BadRequest(fmt::format("{} {} is out of range: WGS-84 degrees lie within +-{}", key,
                                  Quote(text), limit));
  }
  return value;
}

// The grids whose code or name is exactly `text`.
std::vector<const pb::Region*> GridsNamed(const City& city, std::string_view text) {
  std::vector<const pb::Region*> out;
  for (const pb::Region* grid : city.grids()) {
    if (grid->code() == text || grid->name() == text) out.push_back(grid);
  }
  return out;
}

// Places the report: position and grid from lat/long, the grid from address_id (it wins: the
// client named it), or from an address_string that is exactly a grid's code or name.
Status ParseLocation(const Params& form, const City& city, pb::Report* report) {
  auto lat = SingleParam(form, "lat");
  if (!lat.ok()) return lat.status();
  auto lon = SingleParam(form, "long");
  if (!lon.ok()) return lon.status();
  auto address_id = SingleParam(form, "address_id");
  if (!address_id.ok()) return address_id.status();
  auto address = SingleParam(form, "address_string");
  if (!address.ok()) return address.status();
  report->set_address(*address);

  if (lat->empty() != lon->empty()) {
    return BadRequest(lat->empty() ? "long is given without lat" : "lat is given without long");
  }
  if (!lat->empty()) {
    auto y = ParseCoordinate("lat", *lat, 90);
    if (!y.ok()) return y.status();
    auto x = ParseCoordinate("long", *lon, 180);
    if (!x.ok()) return x.status();
    report->mutable_position()->set_lat(*y);
    report->mutable_position()->set_lon(*x);
    const pb::Region* grid = city.LocateGrid(report->position());
    if (grid == nullptr) {
      return BadRequest(
          fmt::format("lat/long ({}, {}) is outside the city: no grid of {} contains it",
                      Quote(*lat), Quote(*lon), city.config().name()));
    }
    report->set_grid(grid->code());
  }
  if (!address_id->empty()) {
    const pb::Region* region = city.FindRegion(*address_id);
    if (region == nullptr) {
      return BadRequest(
          fmt::format("address_id '{}' is not a grid code of the city", Quote(*address_id)));
    }
    if (region->level() != pb::LEVEL_GRID) {
      return BadRequest(fmt::format("address_id '{}' is a {}, not a grid", *address_id,
                                    LevelName(region->level())));
    }
    report->set_address_id(*address_id);
    report->set_grid(*address_id);
  }
  if (!report->grid().empty()) return Status::Ok();
  if (address->empty()) {
    return BadRequest("a location is required: lat and long, address_string or address_id");
  }
  const std::vector<const pb::Region*> grids = GridsNamed(city, *address);
  if (grids.size() != 1) {
    return BadRequest(fmt::format(
        "address_string '{}' {}; this gateway cannot geocode addresses, so send lat and long, or "
        "address_id (a grid code)",
        Quote(*address),
        grids.empty() ? "is not a grid code or name of the city"
                      : fmt::format("names {} grids", grids.size())));
  }
  report->set_grid(grids.front()->code());
  return Status::Ok();
}

// attribute[code] and attribute[code][] -> the code; nullopt for a key that is not an attribute.
// BAD_REQUEST for an attribute key of another shape.
Result<std::optional<std::string>> AttributeCode(std::string_view key) {
  constexpr std::string_view kPrefix = "attribute";
  if (key.substr(0, kPrefix.size()) != kPrefix) return std::optional<std::string>();
  std::string_view rest = key.substr(kPrefix.size());
  const size_t close = rest.find(']');
  std::string_view code, tail;
  if (!rest.empty() && rest.front() == '[' && close != std::string_view::npos) {
    code = rest.substr(1, close - 1);
    tail = rest.substr(close + 1);
  }
  if (code.empty() || code.find('[') != std::string_view::npos || (!tail.empty() && tail != "[]")) {
    return BadRequest(
        fmt::format("malformed parameter '{}': attributes are sent as attribute[code]=value, or "
                    "attribute[code][]=value repeated for a multivaluelist",
                    Quote(key)));
  }
  return std::optional<std::string>(code);
}

// The attribute answers of the form, in the category's order (codes it does not know last, for
// CheckAnswers to name), then checked against the category.
Status ParseAttributes(const Params& form, const pb::Category& category, pb::Report* report) {
  std::map<std::string, std::vector<std::string>> values;  // code -> non-empty values
  for (const auto& [key, value] : form) {
    auto code = AttributeCode(key);
    if (!code.ok()) return code.status();
    if (!code->has_value() || value.empty()) continue;
    if (!Utf8Length(value)) return BadRequest(fmt::format("{} is not valid UTF-8", Quote(key)));
    values[**code].push_back(value);
  }
  auto add = [&](const std::string& code, std::vector<std::string>& answer) {
    pb::AttributeAnswer* a = report->add_attributes();
    a->set_code(code);
    for (std::string& v : answer) a->add_values(std::move(v));
  };
  for (const Attribute& def : category.attributes()) {
    auto it = values.find(def.code());
    if (it == values.end()) continue;
    add(it->first, it->second);
    values.erase(it);
  }
  for (auto& [code, answer] : values) add(code, answer);
  return CheckAnswers(category, report->attributes());
}

// The report's free text and the reporter's details.
Status ParseDetails(const Params& form, pb::Report* report) {
  struct Field {
    const char* key;
    std::string* (pb::Report::*field)();
  };
  static constexpr Field kFields[] = {
      {"description", &pb::Report::mutable_description},
      {"email", &pb::Report::mutable_contact_email},
      {"phone", &pb::Report::mutable_contact_phone},
      {"device_id", &pb::Report::mutable_device_id},
      {"account_id", &pb::Report::mutable_account_id},
  };
  for (const Field& f : kFields) {
    auto value = SingleParam(form, f.key);
    if (!value.ok()) return value.status();
    *(report->*f.field)() = std::move(*value);
  }
  const size_t chars = *Utf8Length(report->description());
  if (chars > kMaxDescriptionChars) {
    return BadRequest(fmt::format("description is {} characters; Open311 allows at most {}", chars,
                                  kMaxDescriptionChars));
  }
  auto first = SingleParam(form, "first_name");
  if (!first.ok()) return first.status();
  auto last = SingleParam(form, "last_name");
  if (!last.ok()) return last.status();
  report->set_contact_name(std::string(Trim(*first + " " + *last)));
  auto media = SingleParam(form, "media_url");
  if (!media.ok()) return media.status();
  if (!media->empty()) report->add_media_urls(*media);
  return Status::Ok();
}

// --- Request view ------------------------------------------------------------------------------

// The newest moment something happened to the event.
int64_t LastChange(const pb::Event& e, int64_t known) {
  int64_t last = std::max({known, e.created_at_ms(), e.dispatched_at_ms(), e.claimed_at_ms(),
                           e.resolved_at_ms(), e.closed_at_ms(), e.feedback().at_ms()});
  for (const pb::LinkedReport& link : e.linked()) last = std::max(last, link.at_ms());
  return last;
}

std::string StatusNotes(const pb::Event& e, const City& city, const std::string& resolution_note) {
  const std::string level(LevelName(e.level()));
  std::string notes;
  switch (e.state()) {
    case pb::STATE_SUBMITTED:
      notes = "Received; being routed to a department.";
      break;
    case pb::STATE_DISPATCHED:
      notes = fmt::format("Offered at {} level to {}; waiting for one of them to take it on.",
                          level, DepartmentNames(city, e.candidates()));
      break;
    case pb::STATE_CLAIMED:
    case pb::STATE_IN_PROGRESS:
      notes = fmt::format("{} by {} at {} level.",
                          e.state() == pb::STATE_CLAIMED ? "Taken on" : "In progress",
                          DepartmentName(city, e.lead()), level);
      if (!e.assists().empty()) {
        notes += fmt::format(" Assisted by {}.", DepartmentNames(city, e.assists()));
      }
      break;
    case pb::STATE_RESOLVED:
    case pb::STATE_CLOSED:
      notes = fmt::format("Resolved by {}", DepartmentName(city, e.resolved_by()));
      if (!resolution_note.empty()) notes += ": " + resolution_note;
      notes += ".";
      if (e.state() == pb::STATE_RESOLVED) {
        notes += " Waiting for the reporter's feedback.";
      } else if (e.feedback().satisfied() && e.feedback().at_ms() >= e.resolved_at_ms()) {
        // Feedback on this resolution, not on one before a reopen.
        notes += " Closed: the reporter is satisfied.";
      } else {
        notes += " Closed: no objection came within the quiet period.";
      }
      break;
    case pb::STATE_REOPENED:
      notes = "Reopened; being routed again.";
      break;
    case pb::STATE_CANCELLED:
      notes = "Cancelled.";
      break;
    case pb::STATE_MERGED:
      notes =
          fmt::format("Merged into request {}, which reports the same problem.", e.merged_into());
      break;
    default:
      notes = "Received.";
  }
  if (e.escalations() > 0) {
    notes += fmt::format(" Escalated {} time{}.", e.escalations(), e.escalations() == 1 ? "" : "s");
  }
  if (e.reopen_count() > 0) {
    notes +=
        fmt::format(" Reopened {} time{}.", e.reopen_count(), e.reopen_count() == 1 ? "" : "s");
  }
  if (e.overdue()) {
    notes += " Overdue: it missed a deadline at city level and is under supervision.";
  } else if (e.supervised()) {
    notes += " Under supervision.";
  }
  return notes;
}

std::string AgencyResponsible(const pb::Event& e, const City& city) {
  if (!e.lead().empty()) return DepartmentName(city, e.lead());
  if (!e.resolved_by().empty()) return DepartmentName(city, e.resolved_by());
  return DepartmentNames(city, e.candidates());
}

Json ExtendedAttributes(const pb::Event& e, const City& city) {
  Json answers = Json::array();
  for (const pb::AttributeAnswer& a : e.report().attributes()) {
    answers.push_back(
        Json{{"code", a.code()},
             {"values", Json(std::vector<std::string>(a.values().begin(), a.values().end()))}});
  }
  return Json{
      {"state", Lowercase(StateName(e.state()))},
      {"level", LevelName(e.level())},
      {"escalations", e.escalations()},
      {"overdue", e.overdue()},
      {"supervised", e.supervised()},
      {"claimed_by", e.lead().empty() ? std::string() : DepartmentName(city, e.lead())},
      {"merged_into", e.merged_into() == 0 ? std::string() : std::to_string(e.merged_into())},
      {"attributes", std::move(answers)},
  };
}

// --- Updates -----------------------------------------------------------------------------------

struct Update {
  std::string_view status;
  std::string description;
};

std::string WithReason(std::string sentence, const std::string& reason) {
  return reason.empty() ? sentence + "." : sentence + ": " + reason;
}

std::string_view CauseWords(pb::EscalationCause cause) {
  switch (cause) {
    case pb::ESCALATION_CLAIM_DEADLINE:
      return "nobody took it on in time";
    case pb::ESCALATION_RESOLVE_DEADLINE:
      return "it was not resolved in time";
    case pb::ESCALATION_WHISTLE:
      return "the handler called in the next level";
    case pb::ESCALATION_ALL_RETURNED:
      return "every department at that level returned it";
    default:
      return "a deadline passed";
  }
}

std::optional<Update> UpdateOf(const pb::Record& r, const City& city) {
  auto name = [&](const std::string& id) { return DepartmentName(city, id); };
  switch (r.body_case()) {
    case pb::Record::kDispatched: {
      if (r.event_seq() > 1) return std::nullopt;
      const pb::Dispatched& d = r.dispatched();
      return Update{"OPEN",
                    fmt::format("Received and offered at {} level to {}.", LevelName(d.level()),
                                DepartmentNames(city, d.candidates()))};
    }
    case pb::Record::kClaimed:
      return Update{"INVESTIGATING",
                    fmt::format("Taken on by {}.", name(r.claimed().department()))};
    case pb::Record::kReleased:
      return Update{"OPEN", WithReason(fmt::format("Given back by {} and offered again",
                                                   name(r.released().department())),
                                       r.released().reason())};
    case pb::Record::kProgressed:
      return Update{"IN_PROGRESS",
                    WithReason(fmt::format("In progress at {}", name(r.progressed().department())),
                               r.progressed().note())};
    case pb::Record::kResolved:
      return Update{"FIXED",
                    WithReason(fmt::format("Resolved by {}", name(r.resolved().department())),
                               r.resolved().note())};
    case pb::Record::kClosed:
      return Update{"FIXED", r.closed().cause() == pb::CLOSE_SATISFIED
                                 ? "Closed: the reporter is satisfied with the fix."
                                 : "Closed: no objection came within the quiet period."};
    case pb::Record::kReopened:
      return Update{"OPEN", WithReason("Reopened", r.reopened().reason())};
    case pb::Record::kCancelled:
      return Update{"NO_FURTHER_ACTION", WithReason("Cancelled", r.cancelled().reason())};
    case pb::Record::kMergedInto:
      return Update{"DUPLICATE",
                    fmt::format("Merged into request {}, which reports the same problem.",
                                r.merged_into().into_event_id())};
    case pb::Record::kReturned:
      return Update{"OPEN", WithReason(fmt::format("Returned by {} to be passed on",
                                                   name(r.returned().department())),
                                       r.returned().reason())};
    case pb::Record::kWhistled: {
      const pb::Department* d = city.FindDepartment(r.whistled().department());
      std::string sentence =
          fmt::format("{} called in the next level up", name(r.whistled().department()));
      if (d != nullptr) sentence += fmt::format(" ({} level)", LevelName(LevelAbove(d->level())));
      return Update{"OPEN", WithReason(std::move(sentence), r.whistled().reason())};
    }
    case pb::Record::kEscalated: {
      const pb::Escalated& up = r.escalated();
      if (up.cause() == pb::ESCALATION_WHISTLE) return std::nullopt;
      return Update{"OPEN",
                    fmt::format("Escalated from {} to {} level: {}.", LevelName(up.from_level()),
                                LevelName(up.to_level()), CauseWords(up.cause()))};
    }
    case pb::Record::kMarkedOverdue: {
      const pb::MarkedOverdue& m = r.marked_overdue();
      const bool held = m.cause() == pb::ESCALATION_RESOLVE_DEADLINE && !m.holder().empty();
      std::string sentence = fmt::format("Overdue at city level: {}", CauseWords(m.cause()));
      if (held) sentence += fmt::format(" by {}", name(m.holder()));
      sentence += "; it is now under supervision.";
      return Update{held ? "INVESTIGATING" : "OPEN", std::move(sentence)};
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

// --- Formats -----------------------------------------------------------------------------------

Result<Resource> ParseFormat(std::string_view segment) {
  const size_t dot = segment.rfind('.');
  Resource resource{std::string(segment.substr(0, dot)), Format::kXml};
  if (dot != std::string_view::npos) {
    const std::string extension = Lowercase(segment.substr(dot + 1));
    if (extension == "json") {
      resource.format = Format::kJson;
    } else if (extension != "xml") {
      return BadRequest(fmt::format("format '{}' is not served: use .xml or .json",
                                    Quote(segment.substr(dot + 1))));
    }
  }
  if (resource.name.empty()) {
    return BadRequest(fmt::format("'{}' names no resource", Quote(segment)));
  }
  return resource;
}

std::string_view ContentType(Format format) {
  return format == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

std::string Render(const Json& doc, Format format, std::string_view xml_root) {
  if (format == Format::kXml) return ToXml(doc, xml_root);
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Language ParseLanguage(std::string_view tag) {
  const std::string lower = Lowercase(tag);
  const bool english = lower == "en" || lower.rfind("en-", 0) == 0 || lower.rfind("en_", 0) == 0;
  return english ? Language::kEn : Language::kZh;
}

// --- Errors, discovery, services ---------------------------------------------------------------

Json ErrorDocument(int code, std::string_view description) {
  return Json::array({Json{{"code", code}, {"description", description}}});
}

Json DiscoveryDocument(const DiscoveryInfo& info) {
  const std::string changeset = FormatIso8601(info.changeset_ms, info.utc_offset_minutes);
  return Json{
      {"changeset", changeset},
      {"contact", info.contact},
      {"key_service", info.key_service},
      {"endpoints", Json::array({Json{
                        {"specification", kSpecification},
                        {"url", info.base_url},
                        {"changeset", changeset},
                        {"type", "production"},
                        {"formats", Json::array({"text/xml", "application/json"})},
                    }})},
  };
}

Json ServicesDocument(const City& city, Language language) {
  Json services = Json::array();
  for (const pb::Category& c : city.config().categories()) {
    std::string keywords;
    for (const std::string& k : c.keywords()) keywords += (keywords.empty() ? "" : ", ") + k;
    services.push_back(Json{
        {"service_code", c.code()},
        {"service_name", ServiceName(c, language)},
        {"description", c.description()},
        {"metadata", !c.attributes().empty()},
        {"type", "realtime"},
        {"keywords", keywords},
        {"group", c.group()},
    });
  }
  return services;
}

Result<Json> ServiceDefinitionDocument(const City& city, std::string_view service_code) {
  const pb::Category* category = city.FindCategory(service_code);
  if (category == nullptr) {
    return NotFound(
        fmt::format("service_code '{}' is not a service of this city", Quote(service_code)));
  }
  std::vector<const Attribute*> ordered;
  for (const Attribute& a : category->attributes()) ordered.push_back(&a);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Attribute* a, const Attribute* b) { return a->order() < b->order(); });
  Json attributes = Json::array();
  for (const Attribute* a : ordered) {
    Json values = Json::array();
    for (const pb::AttributeValue& v : a->values()) {
      values.push_back(Json{{"key", v.key()}, {"name", v.name()}});
    }
    attributes.push_back(Json{
        {"variable", true},
        {"code", a->code()},
        {"datatype", DatatypeName(a->datatype())},
        {"required", a->required()},
        {"datatype_description", a->datatype_description()},
        {"order", a->order()},
        {"description", a->description()},
        {"values", std::move(values)},
    });
  }
  return Json{{"service_code", category->code()}, {"attributes", std::move(attributes)}};
}

// --- POST requests -----------------------------------------------------------------------------

Status CheckJurisdiction(const Params& params, std::string_view served) {
  auto [begin, end] = params.equal_range("jurisdiction_id");
  for (auto it = begin; it != end; ++it) {
    if (!it->second.empty() && it->second != served) {
      return NotFound(
          fmt::format("jurisdiction_id '{}' is not served here; this endpoint serves '{}'",
                      Quote(it->second), served));
    }
  }
  return Status::Ok();
}

Result<pb::Report> ParseReportForm(const Params& form, const City& city, std::string_view client) {
  pb::Report report;
  auto code = SingleParam(form, "service_code");
  if (!code.ok()) return code.status();
  if (code->empty()) return BadRequest("service_code is required");
  const pb::Category* category = city.FindCategory(*code);
  if (category == nullptr) {
    return BadRequest(fmt::format("service_code '{}' is not a service of this city", Quote(*code)));
  }
  report.set_category(*code);
  if (Status s = ParseLocation(form, city, &report); !s.ok()) return s;
  if (Status s = ParseDetails(form, &report); !s.ok()) return s;
  if (Status s = ParseAttributes(form, *category, &report); !s.ok()) return s;
  report.set_source(pb::SOURCE_OPEN311);
  report.set_reporter(std::string(client));
  return report;
}

Json PostResponseDocument(std::string_view service_request_id, std::string_view token,
                          std::string_view service_notice,
                          std::optional<std::string_view> account_id) {
  Json request = Json::object();
  if (!service_request_id.empty()) request["service_request_id"] = service_request_id;
  if (!token.empty()) request["token"] = token;
  request["service_notice"] = service_notice;
  request["account_id"] = account_id ? Json(*account_id) : Json(nullptr);
  return Json::array({std::move(request)});
}

Json TokenDocument(std::string_view token, std::string_view service_request_id) {
  return Json::array({Json{
      {"service_request_id", service_request_id.empty() ? Json(nullptr) : Json(service_request_id)},
      {"token", token},
  }});
}

// --- GET requests ------------------------------------------------------------------------------

std::string_view StatusOf(pb::EventState state) {
  switch (state) {
    case pb::STATE_RESOLVED:
    case pb::STATE_CLOSED:
    case pb::STATE_CANCELLED:
    case pb::STATE_MERGED:
      return "closed";
    default:
      return "open";
  }
}

Json RequestDocument(const pb::Event& e, const City& city, int32_t utc_offset_minutes,
                     Language language, const RequestExtras& extras) {
  const pb::Report& report = e.report();
  const pb::Category* category = city.FindCategory(report.category());
  const pb::Region* grid = city.FindRegion(e.grid());
  pb::Point where = report.position();
  const bool located = report.has_position() || city.GridCentre(e.grid(), &where);
  auto time = [&](int64_t ms) { return FormatIso8601(ms, utc_offset_minutes); };
  return Json{
      {"service_request_id", std::to_string(e.id())},
      {"status", StatusOf(e.state())},
      {"status_notes", StatusNotes(e, city, extras.resolution_note)},
      {"service_name", category != nullptr ? ServiceName(*category, language) : report.category()},
      {"service_code", report.category()},
      {"description", report.description()},
      {"agency_responsible", AgencyResponsible(e, city)},
      {"service_notice", ""},
      {"requested_datetime", time(e.created_at_ms())},
      {"updated_datetime", time(LastChange(e, extras.last_change_ms))},
      {"expected_datetime", IsUnresolved(e.state()) && e.resolve_deadline_ms() != 0
                                ? Json(time(e.resolve_deadline_ms()))
                                : Json(nullptr)},
      {"address", !report.address().empty() ? report.address()
                  : grid != nullptr         ? grid->name()
                                            : std::string()},
      {"address_id", e.grid()},
      {"zipcode", ""},
      {"lat", located ? Json(where.lat()) : Json(nullptr)},
      {"long", located ? Json(where.lon()) : Json(nullptr)},
      {"media_url", report.media_urls().empty() ? std::string() : report.media_urls(0)},
      {"extended_attributes", ExtendedAttributes(e, city)},
  };
}

Result<uint64_t> ParseRequestId(std::string_view text) {
  uint64_t id = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, id);
  if (text.empty() || text.front() < '0' || text.front() > '9' || ec != std::errc() || ptr != end) {
    return BadRequest(
        fmt::format("service_request_id '{}' is not a request id (a decimal number)", Quote(text)));
  }
  return id;
}

Result<DateRange> ParseDateRange(const Params& query, int32_t utc_offset_minutes) {
  DateRange range;
  for (auto [key, bound] :
       {std::pair{"start_date", &range.start_ms}, std::pair{"end_date", &range.end_ms}}) {
    auto text = SingleParam(query, key);
    if (!text.ok()) return text.status();
    if (text->empty()) continue;
    auto ms = ParseIso8601(*text, utc_offset_minutes);
    if (!ms.ok()) return BadRequest(fmt::format("{}: {}", key, ms.status().message()));
    *bound = *ms;
  }
  if (range.start_ms && range.end_ms && *range.start_ms > *range.end_ms) {
    return BadRequest("start_date is after end_date");
  }
  return range;
}

Result<RequestQuery> ParseRequestQuery(const Params& query, const City& city,
                                       int32_t utc_offset_minutes) {
  RequestQuery q;
  for (const std::string& item : ListParam(query, "service_request_id")) {
    auto id = ParseRequestId(item);
    if (!id.ok()) return id.status();
    q.ids.push_back(*id);
  }
  if (q.ids.size() > static_cast<size_t>(kMaxSearchResults)) {
    return BadRequest(fmt::format("{} service_request_ids; at most {} are answered at once",
                                  q.ids.size(), kMaxSearchResults));
  }
  if (!q.ids.empty()) return q;  // "This overrides all other arguments."

  for (std::string& code : ListParam(query, "service_code")) {
    if (city.FindCategory(code) == nullptr) {
      return BadRequest(
          fmt::format("service_code '{}' is not a service of this city", Quote(code)));
    }
    q.service_codes.push_back(std::move(code));
  }
  const std::vector<std::string> statuses = ListParam(query, "status");
  if (!statuses.empty()) q.open = q.closed = false;
  for (const std::string& status : statuses) {
    const std::string lower = Lowercase(status);
    if (lower == "open") {
      q.open = true;
    } else if (lower == "closed") {
      q.closed = true;
    } else {
      return BadRequest(fmt::format("status '{}' is neither open nor closed", Quote(status)));
    }
  }
  auto dates = ParseDateRange(query, utc_offset_minutes);
  if (!dates.ok()) return dates.status();
  q.dates = *dates;
  if (q.dates.start_ms && q.dates.end_ms &&
      *q.dates.end_ms - *q.dates.start_ms > kDefaultSearchDays * kDayMs) {
    return BadRequest(
        fmt::format("start_date to end_date spans more than {} days", kDefaultSearchDays));
  }
  return q;
}

// --- Updates -----------------------------------------------------------------------------------

std::optional<Json> UpdateDocument(const pb::Record& record, const City& city,
                                   int32_t utc_offset_minutes) {
  std::optional<Update> update = UpdateOf(record, city);
  if (!update) return std::nullopt;
  return Json{
      {"update_id", std::to_string(record.seq())},
      {"service_request_id", std::to_string(record.event_id())},
      {"status", update->status},
      {"updated_datetime", FormatIso8601(record.at_ms(), utc_offset_minutes)},
      {"description", std::move(update->description)},
      {"media_url", ""},
  };
}

}  // namespace whistle::open311
