// MetricsHttp: a Prometheus endpoint, GET /metrics on a port of its own (whistle-dispatcher's and
// whistle-gateway's --metrics-listen=ADDRESS:PORT). It serves what `render` returns, called on
// this endpoint's thread: the dispatcher's reads ServerMetrics, the gateway's its own counters,
// both safe from any thread. Anything else gets 404. Read-only, no personal data; keep it on a
// management network.
//
// Threading: its own listening thread; Stop() (or the destructor) from any other thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "whistle/status.h"

namespace httplib {
class Server;
}

namespace whistle {

class MetricsHttp {
 public:
  // BAD_REQUEST when `address` is not HOST:PORT.
  static Status CheckAddress(const std::string& address);
  // Listens on `address` ("127.0.0.1:9570"; port 0 = any free port). BAD_REQUEST as CheckAddress;
  // UNAVAILABLE when it cannot listen.
  static Result<std::unique_ptr<MetricsHttp>> Start(const std::string& address,
                                                    std::function<std::string()> render);
  ~MetricsHttp();
  MetricsHttp(const MetricsHttp&) = delete;
  MetricsHttp& operator=(const MetricsHttp&) = delete;

  // "http://address:port/metrics"
  const std::string& url() const { return url_; }
  void Stop();

 private:
  MetricsHttp() = default;

  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::string url_;
};

}  // namespace whistle
