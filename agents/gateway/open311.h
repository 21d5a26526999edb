// The Open311 GeoReport v2 representation layer: documents the gateway serves and the request
// parameters it reads, with no network and no state (http://wiki.open311.org/GeoReport_v2, and
// FixMyStreet's "service request updates" extension for GET servicerequestupdates).
//
// Every function here is pure: it reads its arguments and the immutable City, so any thread may
// call it. Documents are Json values (xml.h) rendered by Render() as XML or JSON; each document
// names the XML root it is served under (the k*Root constants). Bad input is answered with a
// BAD_REQUEST (or NOT_FOUND) Status whose message names the parameter, ready to be sent back in
// an ErrorDocument. No exception crosses this interface.
//
// What the gateway decided where GeoReport v2 leaves room:
//   * Format: "requests.json" is JSON, "requests.xml" XML, and a name without an extension is
//     XML, the format every server must offer (FixMyStreet's own sample URLs omit it). Any other
//     extension is refused rather than guessed at.
//   * An empty parameter is the same as an absent one, everywhere (the spec says so for POST).
//   * Locations: we cannot geocode offline. address_id is a grid code of the city; a lone
//     address_string is accepted only when it is exactly a grid's code or name.
//   * Privacy: request documents never carry personal fields (contact name, phone, email, device
//     or account id, the reporter, the claiming agent).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/gateway/xml.h"
#include "dispatcher/city.h"
#include "whistle/event.pb.h"
#include "whistle/status.h"

namespace whistle::open311 {

// Form and query parameters as cpp-httplib gives them (httplib::Params): repeated keys allowed,
// values already percent-decoded.
using Params = std::multimap<std::string, std::string>;

// XML root element of each document.
inline constexpr std::string_view kDiscoveryRoot = "discovery";
inline constexpr std::string_view kServicesRoot = "services";
inline constexpr std::string_view kServiceDefinitionRoot = "service_definition";
inline constexpr std::string_view kRequestsRoot = "service_requests";  // GET/POST requests, tokens
inline constexpr std::string_view kErrorsRoot = "errors";
inline constexpr std::string_view kUpdatesRoot = "service_request_updates";

inline constexpr std::string_view kSpecification = "http://wiki.open311.org/GeoReport_v2";
// GET requests without dates covers the 90 days up to end_date (or now), with a start_date alone
// the 90 days from it; it returns at most 1000 requests. The caller applies both.
inline constexpr int kDefaultSearchDays = 90;
inline constexpr int kMaxSearchResults = 1000;
// How deep GET requests may page: (page - 1) x page_size results skipped at most. Each page is
// found by walking the events from the newest, so a deeper one costs the dispatcher more; past
// this, a client narrows the dates instead (the answer says so).
inline constexpr int64_t kMaxSearchOffset = 10000;
inline constexpr size_t kMaxDescriptionChars = 4000;  // POST requests' description, in characters

// --- Formats -----------------------------------------------------------------------------------

enum class Format { kXml, kJson };

// A resource named by a path segment, and the format asked for.
struct Resource {
  std::string name;
  Format format = Format::kXml;
};

// "requests.json" -> {"requests", kJson}; "requests.XML" -> {"requests", kXml};
// "requests" -> {"requests", kXml}. The extension is what follows the last dot.
// BAD_REQUEST for another extension ("requests.csv") or an empty name (".json").
Result<Resource> ParseFormat(std::string_view segment);

// "text/xml; charset=utf-8" or "application/json; charset=utf-8".
std::string_view ContentType(Format format);

// The body for `doc`: ToXml(doc, xml_root), or compact JSON in UTF-8 (bytes that are not UTF-8
// become U+FFFD rather than throwing).
std::string Render(const Json& doc, Format format, std::string_view xml_root);

// Which of a category's names service_name shows.
enum class Language { kZh, kEn };
// "en", "en-US", "en_GB" (any case) -> kEn; anything else, the empty tag included -> kZh.
Language ParseLanguage(std::string_view tag);

// --- Errors, discovery, services ---------------------------------------------------------------

// [{"code": 400, "description": "..."}]; XML root kErrorsRoot, items <error>.
Json ErrorDocument(int code, std::string_view description);

struct DiscoveryInfo {
  std::string base_url;      // the GeoReport v2 endpoint, e.g. "https://311.example.cn/v2"
  int64_t changeset_ms = 0;  // when the service list last changed (configuration load time)
  int32_t utc_offset_minutes = 0;
  std::string contact;      // who answers for the API
  std::string key_service;  // where a client asks for an API key
};
// {changeset, contact, key_service, endpoints: [{specification, url, changeset,
// type "production", formats ["text/xml", "application/json"]}]}; XML root kDiscoveryRoot.
Json DiscoveryDocument(const DiscoveryInfo& info);

// One service per category, in configuration order: service_code (the category code),
// service_name, description, metadata (true iff it has attributes), type "realtime", keywords
// (comma-joined), group. XML root kServicesRoot.
Json ServicesDocument(const City& city, Language language);

// {service_code, attributes: [{variable true, code, datatype, required, datatype_description,
// order, description, values: [{key, name}]}]}, attributes sorted by `order` (configuration
// order among equals). NOT_FOUND when the code is not a category. XML root
// kServiceDefinitionRoot.
Result<Json> ServiceDefinitionDocument(const City& city, std::string_view service_code);

// --- POST requests -----------------------------------------------------------------------------

// OK when no jurisdiction_id is given or it is `served`; NOT_FOUND naming both otherwise (the
// spec's 404 "jurisdiction_id provided was not found"). For GET and POST alike.
Status CheckJurisdiction(const Params& params, std::string_view served);

// The report a POST requests form describes, for the dispatcher's Submit:
//   service_code          required, a category of the city (-> category)
//   lat + long            both or neither; finite WGS-84 degrees inside a grid of the city
//                         (-> position, grid)
//   address_id            a grid code of the city (-> address_id, grid; it wins over lat/long)
//   address_string        -> address; alone, it must be exactly one grid's code or name
//                         (one of lat+long, address_id, address_string is required)
//   description           at most kMaxDescriptionChars characters
//   email, phone, device_id, account_id       -> contact_email, contact_phone, device_id, ...
//   first_name, last_name -> contact_name "first last"
//   media_url             -> media_urls
//   attribute[code]=v, attribute[code][]=v (repeatable for a multivaluelist) -> attributes,
//                         in the category's order, checked by CheckAnswers
// source is SOURCE_OPEN311 and reporter `client`. Other parameters (api_key, jurisdiction_id,
// ...) are ignored. A single-valued parameter given twice, text that is not UTF-8, or a
// malformed attribute key is a BAD_REQUEST naming the parameter.
Result<pb::Report> ParseReportForm(const Params& form, const City& city, std::string_view client);

// [{service_request_id, token, service_notice, account_id}] answering a POST. An empty
// service_request_id or token is left out (the spec returns one or the other); account_id is
// null unless given. XML root kRequestsRoot.
Json PostResponseDocument(std::string_view service_request_id, std::string_view token,
                          std::string_view service_notice,
                          std::optional<std::string_view> account_id);

// [{service_request_id, token}] for GET tokens/{token}; service_request_id is null while the
// request is not created yet (empty argument). XML root kRequestsRoot.
Json TokenDocument(std::string_view token, std::string_view service_request_id);

// --- GET requests ------------------------------------------------------------------------------

// "open" for SUBMITTED, DISPATCHED, CLAIMED, IN_PROGRESS, REOPENED; "closed" for RESOLVED,
// CLOSED, CANCELLED, MERGED.
std::string_view StatusOf(pb::EventState state);

// What a caller may know beyond the event itself.
struct RequestExtras {
  std::string resolution_note;  // the latest Resolved record's note, shown in status_notes
  int64_t last_change_ms = 0;   // the latest record's time; updated_datetime is never earlier
};

// One request of GET requests / GET requests/{id}, keys in the spec's order:
//   service_request_id (decimal string), status, status_notes (a sentence: level, who holds it,
//   the resolution, merged into N, overdue), service_name, service_code, description,
//   agency_responsible (the lead department, else the resolver, else the candidates),
//   service_notice "", requested_datetime (created), updated_datetime (the newest of the event's
//   timestamps and extras.last_change_ms), expected_datetime (the resolve deadline while
//   unresolved, else null), address (the report's, else the grid's name), address_id (the grid),
//   zipcode "", lat, long (the report's position, else the grid's centre, else null), media_url
//   (the first, else "");
// then extended_attributes {state (lowercase), level, escalations, overdue, supervised,
//   claimed_by (the lead's name or ""), merged_into (id or ""), attributes [{code, values}]}.
// Times are ISO 8601 at `utc_offset_minutes`. Never a personal field.
Json RequestDocument(const pb::Event& event, const City& city, int32_t utc_offset_minutes,
                     Language language, const RequestExtras& extras = {});

// A service_request_id: decimal digits only, fitting uint64. BAD_REQUEST otherwise.
Result<uint64_t> ParseRequestId(std::string_view text);

// An inclusive time window; an absent bound is open.
struct DateRange {
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
};
// start_date and end_date by ParseIso8601 (no zone = `utc_offset_minutes`). BAD_REQUEST naming
// the parameter when one does not parse or start_date is after end_date.
Result<DateRange> ParseDateRange(const Params& query, int32_t utc_offset_minutes);

struct RequestQuery {
  std::vector<uint64_t> ids;               // service_request_id; when given, nothing else counts
  std::vector<std::string> service_codes;  // empty = every service
  bool open = true;                        // status filter: which statuses to include
  bool closed = true;
  DateRange dates;
};
// The GET requests query. Comma lists (also repeated parameters) for service_request_id,
// service_code (categories of the city) and status (open, closed); blanks around items are
// ignored. As the spec says, service_request_id overrides every other parameter, which is then
// not read at all. start_date..end_date may span at most kDefaultSearchDays. At most
// kMaxSearchResults ids. BAD_REQUEST naming the parameter and the offending item.
Result<RequestQuery> ParseRequestQuery(const Params& query, const City& city,
                                       int32_t utc_offset_minutes);

// --- GET servicerequestupdates (FixMyStreet extension) ----------------------------------------

// The update a record makes visible, or nullopt when it changes nothing a reporter follows.
// {update_id (record seq), service_request_id (event id), status, updated_datetime (record
// time), description (a sentence naming departments and quoting the note or reason),
// media_url ""}; XML root kUpdatesRoot, items <request_update>.
//
//   record                       status       why
//   Dispatched, first            OPEN         the event's event_seq 1, right after Submitted
//   Dispatched, later            -            the record before it (Escalated, Returned,
//                                             Reopened) already told the story
//   Claimed                      INVESTIGATING
//   Released                     OPEN         offered again
//   Progressed                   IN_PROGRESS
//   Resolved                     FIXED
//   Closed                       FIXED        either cause: CLOSED only follows RESOLVED, and
//                                             FixMyStreet shows CLOSED as a generic "closed"
//                                             that would hide the fix
//   Reopened                     OPEN
//   Cancelled                    NO_FURTHER_ACTION
//   MergedInto                   DUPLICATE
//   Returned                     OPEN         passed to another department or level: still ours
//   Whistled                     OPEN         the next level is called in
//   Escalated, whistle           -            the Whistled record before it said so
//   Escalated, other causes      OPEN         climbs a level, offered again
//   MarkedOverdue, claim         OPEN         nobody has taken it on
//   MarkedOverdue, resolve       INVESTIGATING  the holder still has it
//   Submitted, ReportLinked, Supervised, FeedbackGiven, AssistJoined, DeadlinesReplanned,
//   ModeChanged                  -
// INTERNAL_REFERRAL and NOT_COUNCILS_RESPONSIBILITY are never used: FixMyStreet counts both as
// closed states (its db/fixture.sql), and a returned or escalated event is still being handled.
std::optional<Json> UpdateDocument(const pb::Record& record, const City& city,
                                   int32_t utc_offset_minutes);

}  // namespace whistle::open311
