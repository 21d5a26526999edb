// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2, with the
// FixMyStreet service request updates extension and paging (page, page_size) on GET requests.
// GET endpoints are public and never show personal data; POST requests needs an Open311
// client's api_key.
#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <httplib.h>

#include "agents/gateway/gateway.h"
#include "agents/gateway/open311.h"
#include "agents/gateway/responses.h"

namespace whistle::gateway {
namespace {

constexpr std::string_view kOpen311RequestPrefix = "open311/";
constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr uint32_t kMaxLogPagesPerUpdatesQuery = 50;

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

open311::Language LanguageOf(const httplib::Request& req) {
  std::string tag = req.get_param_value("lang");
  if (tag.empty()) tag = req.get_header_value("Accept-Language");
  return open311::ParseLanguage(tag);
}

// A positive integer parameter, `fallback` when absent or empty.
Result<int64_t> PositiveParam(const httplib::Request& req, const char* name, int64_t fallback, int64_t max) {
  std::string text = req.get_param_value(name);
  if (text.empty()) return fallback;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > max) return BadRequest(fmt::format("{} must be a number from 1 to {}", name, max));
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > max) return BadRequest(fmt::format("{} must be a number from 1 to {}", name, max));
  return v;
}

std::vector<pb::EventState> StatesFor(const open311::RequestQuery& q) {
  if (q.open && q.closed) return {};
  if (q.open) return {pb::STATE_DISPATCHED, pb::STATE_CLAIMED, pb::STATE_IN_PROGRESS};
  return {pb::STATE_RESOLVED, pb::STATE_CLOSED, pb::STATE_CANCELLED, pb::STATE_MERGED};
}

}  // namespace

void Gateway::Open311Discovery(const httplib::Request& req, httplib::Response& res) {
  open311::DiscoveryInfo info;
  info.base_url = base_url() + "/open311/v2";
  info.changeset_ms = started_ms_;
  info.utc_offset_minutes = city_->settings().utc_offset_minutes();
  info.contact = config_.contact();
  info.key_service = config_.key_service();
  WriteOpen311(req, res, 200, open311::DiscoveryDocument(info), open311::kDiscoveryRoot);
}

void Gateway::Open311Services(const httplib::Request& req, httplib::Response& res) {
  WriteOpen311(req, res, 200, open311::ServicesDocument(*city_, LanguageOf(req)), open311::kServicesRoot);
}

void Gateway::Open311ServiceDefinition(const httplib::Request& req, httplib::Response& res) {
  auto doc = open311::ServiceDefinitionDocument(*city_, std::string(req.matches[1]));
  if (!doc.ok()) return WriteStatus(req, res, doc.status());
  WriteOpen311(req, res, 200, *doc, open311::kServiceDefinitionRoot);
}

void Gateway::Open311PostForm(const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& read) {
  httplib::Request form = req;  // the body's fields join the query's, as cpp-httplib's own reading does
  const size_t limit = config_.max_body_bytes();
  bool over = false;
  const bool read_whole = read([&](const char* data, size_t size) {
    over = form.body.size() + size > limit;
    if (!over) form.body.append(data, size);
    return !over;
  });
  // A declared length over the limit is refused before routing (routes.cc); this is the backstop.
  if (over) return WriteError(req, res, 413, "the request body is over the limit");
  if (!read_whole) return WriteError(req, res, 400, "the request body could not be read whole");
  if (form.get_header_value("Content-Type").starts_with("application/x-www-form-urlencoded")) {
    httplib::detail::parse_query_text(form.body, form.params);
  }
  Open311PostRequest(form, res);
}

void Gateway::Open311PostRequest(const httplib::Request& req, httplib::Response& res) {
  const pb::GatewayClient* client = Authenticate(req);
  if (client == nullptr || client->kind() != pb::GatewayClient::KIND_OPEN311) {
    return WriteError(req, res, 403,
                      req.get_param_value("api_key").empty() ? "api_key is required" : "api_key is not valid");
  }
  if (Status s = open311::CheckJurisdiction(req.params, config_.jurisdiction_id()); !s.ok()) {
    return WriteStatus(req, res, s);
  }
  auto report = open311::ParseReportForm(req.params, *city_, client->name());
  if (!report.ok()) return WriteStatus(req, res, report.status());
  // The token is the Submit's request id: GET tokens/{token} finds the request through it.
  std::string token = Client::NewRequestId();
  pb::Request request;
  request.set_request_id(std::string(kOpen311RequestPrefix) + token);
  *request.mutable_submit()->mutable_report() = *report;
  auto answer = ExpectOk(Call(std::move(request)));
  if (!answer.ok()) return WriteStatus(req, res, answer.status());
  const pb::EventView& view = answer->event();
  std::string notice =
      view.linked_as_duplicate()
          ? fmt::format("已并入同一问题的工单 {} / joined request {} about the same problem",
                        view.event().id(), view.event().id())
          : fmt::format("已派发至{}处置 / routed to the {} level", LevelNameZh(view.event().level()),
                        LevelName(view.event().level()));
  std::optional<std::string_view> account;
  if (!report->account_id().empty()) account = report->account_id();
  WriteOpen311(req, res, 201,
               open311::PostResponseDocument(std::to_string(view.event().id()), token, notice, account),
               open311::kRequestsRoot);
}

void Gateway::Open311GetRequest(const httplib::Request& req, httplib::Response& res) {
  auto id = open311::ParseRequestId(std::string(req.matches[1]));
  if (!id.ok()) return WriteStatus(req, res, id.status());
  pb::Request request;
  request.mutable_get()->set_event_id(*id);
  request.mutable_get()->set_with_history(true);
  auto answer = ExpectOk(Call(std::move(request)));
  if (!answer.ok()) return WriteStatus(req, res, answer.status());
  open311::RequestExtras extras;
  for (const pb::Record& r : answer->event().history()) {
    if (r.has_resolved()) extras.resolution_note = r.resolved().note();
    extras.last_change_ms = std::max(extras.last_change_ms, r.at_ms());
  }
  open311::Json doc = open311::Json::array();
  doc.push_back(open311::RequestDocument(answer->event().event(), *city_,
                                         city_->settings().utc_offset_minutes(), LanguageOf(req), extras));
  WriteOpen311(req, res, 200, doc, open311::kRequestsRoot);
}

void Gateway::Open311GetRequests(const httplib::Request& req, httplib::Response& res) {
  const int32_t offset = city_->settings().utc_offset_minutes();
  auto q = open311::ParseRequestQuery(req.params, *city_, offset);
  if (!q.ok()) return WriteStatus(req, res, q.status());
  auto page = PositiveParam(req, "page", 1, 1000000);
  auto page_size = PositiveParam(req, "page_size", open311::kMaxSearchResults, open311::kMaxSearchResults);
  if (!page.ok()) return WriteStatus(req, res, page.status());
  if (!page_size.ok()) return WriteStatus(req, res, page_size.status());
  const open311::Language lang = LanguageOf(req);
  open311::Json doc = open311::Json::array();

  if (!q->ids.empty()) {  // service_request_id overrides every other filter
    for (uint64_t id : q->ids) {
      pb::Request request;
      request.mutable_get()->set_event_id(id);
      auto answer = ExpectOk(Call(std::move(request)));
      if (!answer.ok() && answer.status().code() == pb::STATUS_NOT_FOUND) continue;  // unknown ids are left out
      if (!answer.ok()) return WriteStatus(req, res, answer.status());
      doc.push_back(open311::RequestDocument(answer->event().event(), *city_, offset, lang));
    }
    return WriteOpen311(req, res, 200, doc, open311::kRequestsRoot);
  }

  // The standard's defaults: the 90 days up to end_date (or now), at most 1000 results. A
  // start_date alone searches the 90 days from it (up to now), never every day since: the window
  // is what bounds the events a search walks.
  const int64_t window = open311::kDefaultSearchDays * kDayMs;
  int64_t start, end;
  if (q->dates.end_ms) {
    end = *q->dates.end_ms;
    start = q->dates.start_ms.value_or(end - window);
    if (start > end) return WriteError(req, res, 400, "start_date is after end_date");
  } else if (q->dates.start_ms) {
    start = *q->dates.start_ms;
    end = std::max(start, std::min(NowMs(), start + window));  // one still to come finds nothing yet
  } else {
    end = NowMs();
    start = end - window;
  }
  if ((*page - 1) * *page_size > open311::kMaxSearchOffset) {
    return WriteError(req, res, 400,
                      fmt::format("page {} of {} starts past the first {} results: narrow the search with "
                                  "start_date and end_date",
                                  *page, *page_size, open311::kMaxSearchOffset));
  }
  pb::ListQuery list;
  list.set_city(true);
  list.set_created_from_ms(start);
  list.set_created_before_ms(end + 1);
  for (const std::string& code : q->service_codes) list.add_categories(code);
  for (pb::EventState s : StatesFor(*q)) list.add_states(s);
  list.set_page_size(static_cast<uint32_t>(city_->settings().max_page_size()));
  int64_t skip = (*page - 1) * *page_size;
  while (static_cast<int64_t>(doc.size()) < *page_size) {
    pb::Request request;
    *request.mutable_list() = list;
    auto answer = ExpectOk(Call(std::move(request)));
    if (!answer.ok()) return WriteStatus(req, res, answer.status());
    for (const pb::Event& e : answer->list().events()) {
      if (skip > 0) {
        --skip;
      } else if (static_cast<int64_t>(doc.size()) < *page_size) {
        doc.push_back(open311::RequestDocument(e, *city_, offset, lang));
      }
    }
    if (answer->list().next_cursor().empty()) break;
    list.set_cursor(answer->list().next_cursor());
  }
  WriteOpen311(req, res, 200, doc, open311::kRequestsRoot);
}

void Gateway::Open311Token(const httplib::Request& req, httplib::Response& res) {
  std::string token = req.matches[1];
  pb::Request request;
  request.mutable_get()->set_submit_request_id(std::string(kOpen311RequestPrefix) + token);
  auto answer = ExpectOk(Call(std::move(request)));
  if (!answer.ok()) {
    if (answer.status().code() == pb::STATUS_NOT_FOUND) {
      return WriteError(req, res, 404, fmt::format("no request has token '{}'", token.substr(0, 64)));
    }
    return WriteStatus(req, res, answer.status());
  }
  WriteOpen311(req, res, 200, open311::TokenDocument(token, std::to_string(answer->event().event().id())),
               open311::kRequestsRoot);
}

void Gateway::Open311Updates(const httplib::Request& req, httplib::Response& res) {
  const int32_t offset = city_->settings().utc_offset_minutes();
  auto dates = open311::ParseDateRange(req.params, offset);
  if (!dates.ok()) return WriteStatus(req, res, dates.status());
  // FixMyStreet asks for a window; without one, the last day.
  int64_t end = dates->end_ms.value_or(NowMs());
  int64_t start = dates->start_ms.value_or(end - kDayMs);
  if (start > end && dates->end_ms) return WriteError(req, res, 400, "start_date is after end_date");
  end = std::max(end, start);
  open311::Json doc = open311::Json::array();
  pb::LogQuery log;
  log.set_from_ms(start);
  for (uint32_t pages = 0; pages < kMaxLogPagesPerUpdatesQuery; ++pages) {
    pb::Request request;
    *request.mutable_log() = log;
    auto answer = ExpectOk(Call(std::move(request)));
    if (!answer.ok()) return WriteStatus(req, res, answer.status());
    const auto& records = answer->log().records();
    for (const pb::Record& r : records) {
      if (r.at_ms() > end || doc.size() >= open311::kMaxSearchResults) {
        return WriteOpen311(req, res, 200, doc, open311::kUpdatesRoot);
      }
      if (auto update = open311::UpdateDocument(r, *city_, offset)) doc.push_back(std::move(*update));
    }
    if (records.empty()) break;
    log.set_from_ms(0);
    log.set_after_seq(records.rbegin()->seq());
  }
  WriteOpen311(req, res, 200, doc, open311::kUpdatesRoot);
}

}  // namespace whistle::gateway
