// The operations console's endpoints (console.h; docs/OPERATIONS.md): the page, its JSON API
// under /console/api, and its live stream. Every API answer but login needs a session; errors
// are {"error": message, "code": dispatcher status name}.
#include <chrono>
#include <regex>

#include <fmt/format.h>
#include <httplib.h>
#include <sodium.h>
#include <nlohmann/json.hpp>

#include "agents/gateway/console.h"
#include "agents/gateway/console_assets.h"
#include "agents/gateway/gateway.h"
#include "dispatcher/authorization.h"
#include "dispatcher/privacy.h"
#include "dispatcher/stats.h"

namespace whistle::gateway {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::string_view kCookie = "whistle_console";
constexpr size_t kMaxTicketBytes = 512;
constexpr size_t kMaxNoteBytes = 2000;
constexpr uint32_t kEventsPage = 50;
constexpr auto kStreamKeepAlive = 2s;

void ConsoleError(httplib::Response& res, int status, std::string_view message, std::string_view code) {
  WriteJson(res, status, {{"error", message}, {"code", code}});
}

void ConsoleStatus(httplib::Response& res, const Status& s) {
  std::string code = pb::StatusCode_Name(s.code());
  if (code.starts_with("STATUS_")) code = code.substr(7);
  ConsoleError(res, HttpStatusFor(s.code()), s.message(), code);
}

std::string CookieValue(const httplib::Request& req, std::string_view name) {
  std::string header = req.get_header_value("Cookie");
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view part = rest.substr(0, end);
    while (part.starts_with(' ')) part.remove_prefix(1);
    if (part.size() > name.size() && part.starts_with(name) && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return "";
}

// A JSON object body, or an error answered. Only application/json is taken: a cross-site form
// cannot send it without asking first (CORS), which is what keeps the session cookie's actions
// to this page.
std::optional<json> JsonBody(const httplib::Request& req, httplib::Response& res) {
  if (req.get_header_value("Content-Type").find("application/json") != 0) {
    ConsoleError(res, 415, "send Content-Type: application/json", "BAD_REQUEST");
    return std::nullopt;
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    ConsoleError(res, 400, "the body is not a JSON object", "BAD_REQUEST");
    return std::nullopt;
  }
  return body;
}

std::string StringField(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A List cursor as the page carries it (libsodium's hex).
std::string ConsoleHex(std::string_view bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  hex.pop_back();
  return hex;
}

std::optional<std::string> ConsoleUnhex(std::string_view hex) {
  std::string bytes(hex.size() / 2, '\0');
  size_t length = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), hex.data(), hex.size(), nullptr,
                     &length, &end) != 0 ||
      end != hex.data() + hex.size()) {
    return std::nullopt;
  }
  bytes.resize(length);
  return bytes;
}

}  // namespace

void Gateway::RouteConsole() {
  httplib::Server& s = *http_;
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  s.Get("/console", [](Req, Res r) { r.set_redirect("/console/"); });
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    std::string path = asset.path == "index.html" ? "/console/" : fmt::format("/console/{}", asset.path);
    s.Get(path, [&asset](Req, Res r) {
      r.set_content(asset.data.data(), asset.data.size(), asset.content_type.data());
      r.set_header("Cache-Control", "no-cache");
      // Nothing but this origin, and never inside another site's frame (a supervisor's buttons
      // must not be clicked through someone else's page).
      r.set_header("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
      r.set_header("X-Frame-Options", "DENY");
      r.set_header("X-Content-Type-Options", "nosniff");
    });
  }
  const std::string api = "/console/api";
  s.Post(api + "/login", [this](Req q, Res r) { ConsoleLogin(q, r); });
  s.Post(api + "/logout", [this](Req q, Res r) {
    std::string session = CookieValue(q, kCookie);
    sessions_->Close(session);
    hub_->CloseSession(session);
    r.set_header("Set-Cookie", fmt::format("{}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0", kCookie));
    WriteJson(r, 200, json::object());
  });
  s.Get(api + "/me", [this](Req q, Res r) {
    if (auto session = ConsoleSessionOf(q, r)) WriteJson(r, 200, {{"principal", PrincipalJson(session->principal)}});
  });
  s.Get(api + "/city", [this](Req q, Res r) {
    if (ConsoleSessionOf(q, r)) r.set_content(city_json_, "application/json");
  });
  s.Get(api + "/board", [this](Req q, Res r) {
    if (!ConsoleSessionOf(q, r)) return;
    pb::Request request;
    request.mutable_board();
    ConsoleAnswer(r, ConsoleCall(std::move(request), ""), [](const pb::Response& a) { return BoardJson(a.board()); });
  });
  s.Get(api + "/events", [this](Req q, Res r) { ConsoleEvents(q, r); });
  s.Get(api + R"(/events/(\d{1,19}))", [this](Req q, Res r) {
    if (!ConsoleSessionOf(q, r)) return;
    pb::Request request;
    request.mutable_get()->set_event_id(std::stoull(q.matches[1]));
    request.mutable_get()->set_with_history(true);
    ConsoleAnswer(r, ConsoleCall(std::move(request), ""), [](const pb::Response& a) { return EventPageJson(a.event()); });
  });
  s.Get(api + "/ranks", [this](Req q, Res r) { ConsoleRanks(q, r); });
  s.Post(api + R"(/events/(\d{1,19})/supervise)", [this](Req q, Res r) {
    auto session = ConsoleSessionOf(q, r);
    if (!session) return;
    auto body = JsonBody(q, r);
    if (!body) return;
    std::string note = StringField(*body, "note");
    if (note.size() > kMaxNoteBytes) return ConsoleError(r, 400, "the note is too long", "BAD_REQUEST");
    pb::Request request;
    request.mutable_supervise()->set_event_id(std::stoull(q.matches[1]));
    request.mutable_supervise()->set_note(note);
    ConsoleAnswer(r, ConsoleCall(std::move(request), session->ticket), [](const pb::Response&) { return json{{"ok", true}}; });
  });
  s.Post(api + "/mode", [this](Req q, Res r) {
    auto session = ConsoleSessionOf(q, r);
    if (!session) return;
    auto body = JsonBody(q, r);
    if (!body) return;
    std::string mode = StringField(*body, "mode");
    if (mode != "normal" && mode != "emergency") {
      return ConsoleError(r, 400, "mode is normal or emergency", "BAD_REQUEST");
    }
    pb::Request request;
    request.mutable_set_mode()->set_region(StringField(*body, "region"));
    request.mutable_set_mode()->set_mode(mode == "normal" ? pb::MODE_NORMAL : pb::MODE_EMERGENCY);
    ConsoleAnswer(r, ConsoleCall(std::move(request), session->ticket), [](const pb::Response& a) {
      return json{{"region", a.mode().region()},
                  {"mode", a.mode().mode() == pb::MODE_EMERGENCY ? "emergency" : "normal"},
                  {"replanned_events", a.mode().replanned_events()}};
    });
  });
  s.Get(api + "/stream", [this](Req q, Res r) { ConsoleStreamRoute(q, r); });
}

Result<pb::Response> Gateway::ConsoleCall(pb::Request request, const std::string& ticket) {
  request.set_acting_ticket(ticket);
  // A command gets its request id here, so the pool's retries after a lost answer are safe.
  if (request.request_id().empty() && (request.has_supervise() || request.has_set_mode())) {
    request.set_request_id(Client::NewRequestId());
  }
  return console_clients_->Call(std::move(request));
}

void Gateway::ConsoleAnswer(httplib::Response& res, const Result<pb::Response>& answer,
                            const std::function<nlohmann::json(const pb::Response&)>& render) {
  if (!answer.ok()) return ConsoleStatus(res, answer.status());
  if (answer->code() != pb::STATUS_OK) return ConsoleStatus(res, Status(answer->code(), answer->message()));
  // The dispatcher answers a console no personal data; one run --dev-no-auth answers everyone
  // everything. The page never shows a reporter's contact, whichever it is.
  pb::Response stripped = *answer;
  StripPersonalData(&stripped);
  WriteJson(res, 200, render(stripped));
}

std::optional<ConsoleSession> Gateway::ConsoleSessionOf(const httplib::Request& req, httplib::Response& res) {
  auto session = LiveSession(CookieValue(req, kCookie));
  if (!session) ConsoleError(res, 401, "log in with a console ticket (whistlectl console-ticket)", "UNAUTHENTICATED");
  return session;
}

std::optional<ConsoleSession> Gateway::LiveSession(const std::string& id) {
  auto session = sessions_->Find(id);
  const std::chrono::seconds recheck(config_.console().recheck_seconds());
  if (!session || std::chrono::steady_clock::now() - session->checked < recheck) return session;
  // The dispatcher says whether the ticket still holds: a revoked principal is logged out here.
  pb::Request whoami;
  whoami.mutable_whoami();
  auto answer = ConsoleCall(std::move(whoami), session->ticket);
  if (!answer.ok()) return session;  // the dispatcher is away: keep serving what the gateway can
  if (answer->code() != pb::STATUS_OK) {
    sessions_->Close(id);
    hub_->CloseSession(id);
    return std::nullopt;
  }
  sessions_->Checked(id);
  return session;
}

void Gateway::ConsoleLogin(const httplib::Request& req, httplib::Response& res) {
  auto body = JsonBody(req, res);
  if (!body) return;
  std::string ticket = StringField(*body, "ticket");
  while (!ticket.empty() && std::isspace(static_cast<unsigned char>(ticket.back()))) ticket.pop_back();
  while (!ticket.empty() && std::isspace(static_cast<unsigned char>(ticket.front()))) ticket.erase(0, 1);
  if (ticket.empty() || ticket.size() > kMaxTicketBytes) {
    return ConsoleError(res, 401, "paste the ticket whistlectl console-ticket printed", "UNAUTHENTICATED");
  }
  // The dispatcher checks the ticket: WhoAmI carried on it answers the ticket's principal.
  pb::Request whoami;
  whoami.mutable_whoami();
  auto answer = ConsoleCall(std::move(whoami), ticket);
  if (!answer.ok()) return ConsoleStatus(res, answer.status());
  if (answer->code() != pb::STATUS_OK) {
    return ConsoleError(res, 401, answer->message(), "UNAUTHENTICATED");
  }
  pb::Principal principal = answer->principal();
  principal.clear_public_key();
  // The console's pages show the whole city (it reads through its own principal), so only those
  // who may read the whole city log in: not a reporter's app, a department's desk, or a
  // supervisor of one region.
  const bool city_reader = principal.role() == pb::ROLE_VIEWER || principal.role() == pb::ROLE_ADMIN ||
                           (principal.role() == pb::ROLE_SUPERVISOR && principal.region().empty()) ||
                           principal.role() == pb::ROLE_DEV;
  if (!city_reader) {
    return ConsoleError(res, 403,
                        fmt::format("{} '{}' may not log in: the console shows the whole city, for viewers, "
                                    "admins and supervisors of the whole city",
                                    RoleName(principal.role()), principal.name()),
                        "PERMISSION_DENIED");
  }
  std::vector<std::string> ended;
  std::string id = sessions_->Open(ticket, principal, &ended);
  for (const std::string& old_session : ended) hub_->CloseSession(old_session);
  auto session = sessions_->Find(id);
  auto left = session ? std::chrono::duration_cast<std::chrono::seconds>(session->expires - std::chrono::system_clock::now())
                      : std::chrono::seconds(0);
  res.set_header("Set-Cookie", fmt::format("{}={}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}", kCookie,
                                           id, std::max<int64_t>(left.count(), 0)));
  WriteJson(res, 200, {{"principal", PrincipalJson(principal)}});
}

void Gateway::ConsoleEvents(const httplib::Request& req, httplib::Response& res) {
  if (!ConsoleSessionOf(req, res)) return;
  std::string grid = req.get_param_value("grid");
  const pb::Region* region = city_->FindRegion(grid);
  if (region == nullptr || region->level() != pb::LEVEL_GRID) {
    return ConsoleError(res, 404, fmt::format("no grid '{}'", grid.substr(0, 64)), "NOT_FOUND");
  }
  auto cursor = ConsoleUnhex(req.get_param_value("cursor"));
  if (!cursor) return ConsoleError(res, 400, "the cursor is not the one a page gave", "BAD_REQUEST");
  pb::Request request;
  pb::ListQuery* q = request.mutable_list();
  q->set_region(grid);
  q->set_page_size(kEventsPage);
  q->set_cursor(*cursor);
  ConsoleAnswer(res, ConsoleCall(std::move(request), ""), [](const pb::Response& a) {
    json events = json::array();
    for (const pb::Event& e : a.list().events()) events.push_back(EventBriefJson(e));
    return json{{"events", events}, {"next_cursor", ConsoleHex(a.list().next_cursor())}};
  });
}

void Gateway::ConsoleRanks(const httplib::Request& req, httplib::Response& res) {
  if (!ConsoleSessionOf(req, res)) return;
  std::string month = req.get_param_value("month");
  if (month.empty()) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    month = MonthOf(now.count(), city_->settings().utc_offset_minutes());
  }
  std::string of = req.has_param("of") ? req.get_param_value("of") : "departments";
  pb::Request request;
  pb::RanksQuery* q = request.mutable_ranks();
  q->set_month(month);
  if (of == "departments") {
    q->set_departments(true);
  } else if (of == "community" || of == "street" || of == "county") {
    q->set_region_level(of == "community" ? pb::LEVEL_COMMUNITY : of == "street" ? pb::LEVEL_STREET : pb::LEVEL_COUNTY);
  } else {
    return ConsoleError(res, 400, "of is departments, community, street or county", "BAD_REQUEST");
  }
  ConsoleAnswer(res, ConsoleCall(std::move(request), ""), [](const pb::Response& a) { return RanksJson(a.ranks()); });
}

void Gateway::ConsoleStreamRoute(const httplib::Request& req, httplib::Response& res) {
  auto found = ConsoleSessionOf(req, res);
  if (!found) return;
  std::string session = CookieValue(req, kCookie);
  auto opened = hub_->Open(session, found->principal.name());
  if (!opened.ok()) return ConsoleError(res, 503, opened.status().message(), "BUSY");
  std::shared_ptr<ConsoleStream> stream = std::move(opened).value();
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, stream, session](size_t, httplib::DataSink& sink) {
        auto events = stream->Take(kStreamKeepAlive);
        // Closed (the gateway stops, logout, or the page fell too far behind), or the session
        // expired: end it.
        if (!events || !LiveSession(session)) {
          sink.done();
          return true;
        }
        // A quiet page gets a comment line: writing is how a page that went away is noticed
        // (the second write after it left fails), which frees its thread and its place.
        std::string out = events->empty() ? std::string(":\n\n") : std::move(*events);
        if (!sink.write(out.data(), out.size())) {
          stream->Close();
          return false;
        }
        return true;
      },
      [stream](bool) { stream->Close(); });
}

}  // namespace whistle::gateway
