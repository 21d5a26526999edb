#include "agents/gateway/gateway_metrics.h"

#include <algorithm>

namespace whistle::gateway {

std::string_view ApiOf(std::string_view path) {
  if (path.starts_with("/open311/")) return "open311";
  if (path.starts_with("/hotline/")) return "hotline";
  if (path == "/console/api/stream") return "console_stream";
  if (path.starts_with("/console/api/")) return "console_api";
  if (path == "/console" || path.starts_with("/console/")) return "console_page";
  if (path == "/metrics") return "metrics";
  if (path == "/healthz") return "healthz";
  return "other";
}

void GatewayMetrics::CountRequest(std::string_view path, std::string_view method, int status,
                                  std::optional<uint64_t> micros) {
  std::string_view api = ApiOf(path);
  size_t index = static_cast<size_t>(std::find(std::begin(kApis), std::end(kApis), api) - std::begin(kApis));
  // A live console page is open for hours: its "latency" says nothing.
  if (api != "console_stream" && micros) latency_micros_[index].Record(*micros);
  std::lock_guard lock(mu_);
  // Methods other than these are counted together: the label set stays small whatever comes.
  std::string m = method == "GET" || method == "POST" || method == "HEAD" ? std::string(method) : "OTHER";
  ++requests_[{std::string(api), m, status}];
}

void GatewayMetrics::CountDispatcherAnswer(pb::StatusCode code) {
  auto c = static_cast<size_t>(code);
  if (c >= answers_.size()) c = pb::STATUS_INTERNAL;
  answers_[c].fetch_add(1, std::memory_order_relaxed);
}

void GatewayMetrics::WriteTo(PrometheusText& out) const {
  out.Counter("whistle_gateway_http_requests_total", "HTTP requests answered, by API, method and status.");
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, n] : requests_) {
      const auto& [api, method, status] = key;
      out.Sample("whistle_gateway_http_requests_total",
                 {{"api", api}, {"method", method}, {"status", std::to_string(status)}}, static_cast<double>(n));
    }
  }
  for (size_t i = 0; i < std::size(kApis); ++i) {
    if (kApis[i] == "console_stream") continue;
    out.Histogram("whistle_gateway_http_request_seconds",
                  i == 0 ? "An HTTP request, from routing to the handler's return, by API." : "",
                  latency_micros_[i].Snapshot(), kMicrosBounds, 1e6, {{"api", std::string(kApis[i])}});
  }
  out.Counter("whistle_gateway_dispatcher_answers_total", "The dispatcher's answers to the gateway, by status code.");
  for (size_t c = 0; c < answers_.size(); ++c) {
    uint64_t n = answers_[c].load(std::memory_order_relaxed);
    if (n > 0 && pb::StatusCode_IsValid(static_cast<int>(c))) {
      out.Sample("whistle_gateway_dispatcher_answers_total",
                 {{"code", pb::StatusCode_Name(static_cast<pb::StatusCode>(c))}}, static_cast<double>(n));
    }
  }
}

}  // namespace whistle::gateway
