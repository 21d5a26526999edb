#include "whistle/metrics_http.h"

#include <charconv>
#include <chrono>

#include <fmt/format.h>
#include <httplib.h>

#include "whistle/prometheus.h"

namespace whistle {

namespace {

struct HostPort {
  std::string host;
  int port;
};

Result<HostPort> ParseAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    auto [end, ec] = std::from_chars(address.data() + colon + 1, address.data() + address.size(), port);
    if (ec != std::errc() || end != address.data() + address.size()) port = -1;
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    return BadRequest(fmt::format("metrics address '{}' is not HOST:PORT", address));
  }
  return HostPort{address.substr(0, colon), port};
}

}  // namespace

Status MetricsHttp::CheckAddress(const std::string& address) { return ParseAddress(address).status(); }

Result<std::unique_ptr<MetricsHttp>> MetricsHttp::Start(const std::string& address,
                                                        std::function<std::string()> render) {
  auto parsed = ParseAddress(address);
  if (!parsed.ok()) return parsed.status();
  const std::string host = parsed->host;
  int port = parsed->port;
  std::unique_ptr<MetricsHttp> m(new MetricsHttp());
  m->http_ = std::make_unique<httplib::Server>();
  m->http_->Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), std::string(PrometheusText::kContentType));
  });
  if (port == 0) {
    port = m->http_->bind_to_any_port(host);
  } else if (!m->http_->bind_to_port(host, port)) {
    port = -1;
  }
  if (port < 0) return Unavailable(fmt::format("cannot listen on {} for metrics", address));
  m->url_ = fmt::format("http://{}:{}/metrics", host, port);
  httplib::Server* http = m->http_.get();
  m->thread_ = std::thread([http] { http->listen_after_bind(); });
  // stop() does nothing before the accept loop runs: wait for it, so Stop() always stops.
  while (!http->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return m;
}

MetricsHttp::~MetricsHttp() { Stop(); }

void MetricsHttp::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace whistle
