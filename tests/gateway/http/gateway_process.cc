#include "tests/gateway/http/gateway_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "dispatcher/city_loader.h"
#include "tests/integration/dispatcher_process.h"
#include "tools/process.h"

namespace whistle::testing {

int ReadGatewayPort(const std::string& endpoints_file) {
  // "http=http://127.0.0.1:PORT\n" and maybe a "metrics=" line, or nothing yet.
  std::string text = ReadWholeFile(endpoints_file);
  std::string first = text.substr(0, text.find('\n'));
  auto colon = first.rfind(':');
  if (!first.starts_with("http=") || colon == std::string::npos) return 0;
  return std::atoi(first.c_str() + colon + 1);
}

std::string ReadGatewayMetricsUrl(const std::string& endpoints_file) {
  std::istringstream in(ReadWholeFile(endpoints_file));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("metrics=")) return line.substr(8);
  }
  return "";
}

namespace {

// Writes each of `writes` on a new connection, reading after each until `enough` says so (given
// all that came), the peer closes, or `timeout_s` pass. Everything read.
std::string RawExchange(int port, const std::vector<std::string>& writes, int timeout_s,
                        const std::function<bool(const std::string&, size_t nth)>& enough) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("RawExchange: no socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    timeval timeout{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char buffer[4096];
    bool open = true;
    for (size_t nth = 0; nth < writes.size() && open; ++nth) {
      // MSG_NOSIGNAL: a peer that closed must not kill the test with SIGPIPE.
      (void)::send(fd, writes[nth].data(), writes[nth].size(), MSG_NOSIGNAL);
      while (!enough(got, nth)) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) {
          open = false;
          break;
        }
        got.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  return got;
}

// The length of the first whole answer in `got`, or 0 while it is not all there.
size_t FirstAnswerLength(const std::string& got) {
  const size_t end = got.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  const size_t at = got.find("Content-Length: ");
  const size_t length = at != std::string::npos && at < end ? std::stoul(got.substr(at + 16)) : 0;
  return got.size() >= end + 4 + length ? end + 4 + length : 0;
}

}  // namespace

int SendRawHttp(int port, const std::string& bytes, std::string* body, int timeout_s) {
  std::string got =
      RawExchange(port, {bytes}, timeout_s, [](const std::string& g, size_t) { return FirstAnswerLength(g) > 0; });
  if (const size_t length = FirstAnswerLength(got); length > 0) got.resize(length);
  if (!got.starts_with("HTTP/1.1 ") || got.size() < 12) return 0;
  if (body != nullptr) {
    const size_t end = got.find("\r\n\r\n");
    *body = end == std::string::npos ? "" : got.substr(end + 4);
  }
  return std::stoi(got.substr(9, 3));
}

std::string RawHttpThenMore(int port, const std::string& first, const std::string& next, int timeout_s) {
  return RawExchange(port, {first, next}, timeout_s, [](const std::string& g, size_t nth) {
    return nth == 0 && FirstAnswerLength(g) > 0;  // then read to the end
  });
}

GatewayProcess::GatewayProcess(const pb::CityConfig& city, std::string front, std::string bus,
                               std::string callback_url, uint32_t max_body_bytes,
                               const std::string& key_file, bool console,
                               const std::string& console_key_file) {
  std::ofstream(dir_.Sub("city.json")) << FormatCityConfig(city, ConfigFormat::kJson);
  std::ofstream(dir_.Sub("gateway.textproto")) << fmt::format(
      R"(front_endpoint: "{}"
bus_endpoint: "{}"
data_dir: "{}"
city_config: "{}"
max_body_bytes: {}
callback_timeout_ms: 2000
callback_max_backoff_ms: 200
clients {{ name: "app-1" api_key: "{}" kind: KIND_OPEN311 }}
clients {{ name: "app-2" api_key: "{}" kind: KIND_OPEN311 }}
clients {{ name: "hotline" api_key: "{}" kind: KIND_HOTLINE callback_url: "{}" }}
key_file: "{}"
{}
)",
      front, bus, dir_.Sub("data"), dir_.Sub("city.json"), max_body_bytes, kApp1Key, kApp2Key,
      kHotlineKey, callback_url, key_file,
      console ? fmt::format(R"(console {{ enabled: true key_file: "{}" max_streams: 2 recheck_seconds: 1 }})", console_key_file) : "");
  Start();
}

GatewayProcess::~GatewayProcess() {
  if (pid_ > 0) Kill();
}

void GatewayProcess::Start() {
  std::string endpoints = dir_.Sub("endpoints");
  std::filesystem::remove(endpoints);
  pid_ = Spawn({Binary("agents/gateway/whistle-gateway"), "--gateway-config=" + dir_.Sub("gateway.textproto"),
                fmt::format("--port={}", port_), "--endpoints-file=" + endpoints},
               "");
  WaitUntilReady(&pid_, "whistle-gateway", [&] { return (port_ = ReadGatewayPort(endpoints)) > 0; });
}

void GatewayProcess::Kill() {
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int GatewayProcess::Terminate() {
  kill(pid_, SIGTERM);
  int status = WaitFor(pid_);
  pid_ = -1;
  return status;
}

httplib::Client GatewayProcess::Http() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_keep_alive(false);
  client.set_read_timeout(15, 0);
  client.set_connection_timeout(5, 0);
  return client;
}

}  // namespace whistle::testing
