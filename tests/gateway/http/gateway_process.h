// GatewayProcess: a real whistle-gateway child process in front of a DispatcherProcess, on a port
// the OS picks, with an Open311 app ("app-1"), a second Open311 app ("app-2") and the 12345
// hotline ("hotline") as clients. Kill() is kill -9.
#pragma once

#include <sys/types.h>

#include <string>

#include <httplib.h>

#include "tests/testing/temp_dir.h"
#include "whistle/config.pb.h"

namespace whistle::testing {

inline constexpr char kApp1Key[] = "app-1-key-0123456789";
inline constexpr char kApp2Key[] = "app-2-key-0123456789";
inline constexpr char kHotlineKey[] = "hotline-key-0123456789";

// The port in a file whistle-gateway --endpoints-file wrote; 0 until it is there.
int ReadGatewayPort(const std::string& endpoints_file);
// The metrics URL in that file (with --metrics-listen); "" when there is none.
std::string ReadGatewayMetricsUrl(const std::string& endpoints_file);

// Writes `bytes` as they are on a new connection to 127.0.0.1:`port` and reads the first answer:
// its status (0 when none came within `timeout_s`), and its body into `body` when given. For
// requests an HTTP client library would not send.
int SendRawHttp(int port, const std::string& bytes, std::string* body = nullptr, int timeout_s = 15);
// Writes `first`, reads its answer, then writes `next` on the same connection and reads all that
// comes until the gateway closes it or `timeout_s` pass: everything read.
std::string RawHttpThenMore(int port, const std::string& first, const std::string& next, int timeout_s = 15);

class GatewayProcess {
 public:
  // `city` must be the dispatcher's; `callback_url` is the hotline's receiver; `key_file` the
  // gateway's CURVE key for a dispatcher with keys ("" for --dev-no-auth).
  // `console`: the operations console on, with `console_key_file` ("" for --dev-no-auth), at
  // most 2 pages open at once and sessions checked again every second.
  GatewayProcess(const pb::CityConfig& city, std::string front, std::string bus,
                 std::string callback_url, uint32_t max_body_bytes = 4096,
                 const std::string& key_file = "", bool console = false,
                 const std::string& console_key_file = "");
  ~GatewayProcess();  // SIGKILL if still running

  void Start();  // (again) on the same data directory and port
  void Kill();
  int Terminate();  // SIGTERM, then reap; the exit status

  int port() const { return port_; }
  // A client of this gateway (keep-alive off, 15 s timeouts).
  httplib::Client Http() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace whistle::testing
