// Every endpoint of the gateway, in one table, and the error documents for what no handler
// answered (unknown paths, bodies over the limit, a handler that threw).
#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <httplib.h>

#include "agents/gateway/gateway.h"
#include "agents/gateway/open311.h"
#include "agents/gateway/responses.h"

namespace whistle::gateway {
namespace {

// cpp-httplib (0.11) holds a body to the payload limit only when a Content-Length announces it: a
// chunked body, or one read until the connection closes (it reads one for POST, PUT, PATCH, DELETE
// and PRI), grows without bound, before any handler can check the caller's key, and a compressed
// one is inflated past the limit. A declared length over the limit it reads whole, and throws
// away, before it answers 413: a thread held as long as the client likes. Such requests are
// refused before their body is read (the pre-routing handler runs first); no client of the
// gateway needs them. The status and the message, or nullopt when the request may go on.
std::optional<std::pair<int, std::string>> RefusedBodyFraming(const httplib::Request& q, size_t max_body_bytes) {
  if (q.has_header("Transfer-Encoding")) {
    return std::pair{411, std::string("a request body must come with a Content-Length, not chunked")};
  }
  if (const std::string coding = q.get_header_value("Content-Encoding"); !coding.empty() && coding != "identity") {
    return std::pair{415, fmt::format("request bodies are taken uncompressed, not '{}'", coding.substr(0, 32))};
  }
  if (!q.has_header("Content-Length")) {
    if (q.method == "GET" || q.method == "HEAD" || q.method == "OPTIONS") return std::nullopt;
    return std::pair{411, std::string("a request body must come with a Content-Length")};
  }
  if (q.get_header_value_count("Content-Length") > 1) {
    return std::pair{400, std::string("one Content-Length, not several")};
  }
  const std::string declared = q.get_header_value("Content-Length");
  uint64_t length = 0;
  const auto [end, error] = std::from_chars(declared.data(), declared.data() + declared.size(), length);
  if (error != std::errc() || end != declared.data() + declared.size()) {
    return std::pair{400, std::string("Content-Length is not a number")};
  }
  if (length > max_body_bytes) return std::pair{413, std::string("the request body is over the limit")};
  return std::nullopt;
}

}  // namespace

void Gateway::Route() {
  httplib::Server& s = *http_;
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  const std::string fmt = R"(\.(xml|json))";
  const std::string v2 = "/open311/v2";
  s.Get(v2 + "/discovery" + fmt, [this](Req q, Res r) { Open311Discovery(q, r); });
  s.Get(v2 + "/services" + fmt, [this](Req q, Res r) { Open311Services(q, r); });
  s.Get(v2 + R"(/services/([^/]+))" + fmt, [this](Req q, Res r) { Open311ServiceDefinition(q, r); });
  s.Post(v2 + "/requests" + fmt, [this](Req q, Res r, const httplib::ContentReader& read) {
    Open311PostForm(q, r, read);
  });
  s.Get(v2 + "/requests" + fmt, [this](Req q, Res r) { Open311GetRequests(q, r); });
  s.Get(v2 + R"(/requests/([^/]+))" + fmt, [this](Req q, Res r) { Open311GetRequest(q, r); });
  s.Get(v2 + R"(/tokens/([^/]+))" + fmt, [this](Req q, Res r) { Open311Token(q, r); });
  s.Get(v2 + "/servicerequestupdates" + fmt, [this](Req q, Res r) { Open311Updates(q, r); });
  s.Post("/hotline/v1/orders", [this](Req q, Res r) { HotlinePostOrder(q, r); });
  // The order number is the rest of the path, decoded: it may hold '/' (sent as %2F).
  s.Get(R"(/hotline/v1/orders/(.+))", [this](Req q, Res r) { HotlineGetOrder(q, r); });
  // Healthy while the hotline's changes are followed: 503 when they are not, saying why.
  s.Get("/healthz", [this](Req, Res r) {
    if (Status failed = Failure(); !failed.ok()) {
      r.status = 503;
      r.set_content("not following the dispatcher: " + failed.message() + "\n", "text/plain");
    } else if (feed_rewound_.load()) {
      r.status = 503;
      r.set_content("not following the dispatcher: this gateway's data holds changes the dispatcher no "
                    "longer has (docs/OPERATIONS.md, \"Backups\")\n", "text/plain");
    } else {
      r.set_content("ok\n", "text/plain");
    }
  });
  if (config_.metrics_listen().empty()) {  // otherwise on a port of its own (Start)
    s.Get("/metrics", [this](Req, Res r) { r.set_content(Prometheus(), std::string(PrometheusText::kContentType)); });
  }
  if (hub_) RouteConsole();

  // Every request is counted and timed (the handler runs on the thread that routed it). One
  // cpp-httplib refuses before routing (a malformed request line) is counted untimed.
  static thread_local std::chrono::steady_clock::time_point started{};
  s.set_pre_routing_handler([max_body_bytes = config_.max_body_bytes()](Req q, Res r) {
    started = std::chrono::steady_clock::now();
    if (auto refused = RefusedBodyFraming(q, max_body_bytes)) {
      WriteError(q, r, refused->first, refused->second);  // the connection closes after it (below)
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([this](Req q, const httplib::Response& r) {
    std::optional<uint64_t> micros;
    if (started != std::chrono::steady_clock::time_point{}) {
      micros = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count());
    }
    started = {};
    metrics_.CountRequest(q.path, q.method, r.status, micros);
  });

  s.set_payload_max_length(config_.max_body_bytes());
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_keep_alive_timeout(5);
  // One request a connection. A refused request's body is left unread, and cpp-httplib keeps a
  // connection open whatever the answer says (a HEAD's, a Range's, one it answers before routing):
  // what followed could be taken for a request of its own. The TLS proxy in front keeps its
  // clients' connections; its own to the gateway are on the same host.
  s.set_keep_alive_max_count(1);
  s.set_tcp_nodelay(true);  // small answers: do not wait for delayed ACKs (40 ms a request)
  // A handler that throws has a bug; say so, and keep serving.
  s.set_exception_handler([](Req q, Res r, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    }
    std::fprintf(stderr, "whistle-gateway: %s %s threw: %s\n", q.method.c_str(), q.path.c_str(), what.c_str());
    r.status = 500;
    r.body.clear();
  });
  // Errors no handler described (404 for unknown paths, 413 over the body limit, 500 above).
  s.set_error_handler(httplib::Server::HandlerWithResponse([](Req q, Res r) {
    if (!r.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    switch (r.status) {
      case 404: message = fmt::format("no endpoint {} {}", q.method, q.path); break;
      case 413: message = "the request body is over the limit"; break;
      case 405: message = "method not allowed"; break;
      case 500: message = "internal error; the gateway logged it"; break;
      default: message = fmt::format("HTTP {}", r.status);
    }
    WriteError(q, r, r.status, message);
    return httplib::Server::HandlerResponse::Handled;
  }));
}

}  // namespace whistle::gateway
