// whistle-city, the main job (README.md's first command), run briefly as real processes: the
// dispatcher, the gateway, the desks and the reporters it starts, on the sample city.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/integration/dispatcher_process.h"
#include "tests/testing/temp_dir.h"
#include "tools/process.h"

namespace whistle {
namespace {

using testing::Binary;

// A port on 127.0.0.1 held by a listening socket of this process until it is destroyed.
class HeldPort {
 public:
  HeldPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~HeldPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

// Runs whistle-city to its end; its exit status, and what it printed in *out.
int RunCity(const testing::TempDir& dir, std::vector<std::string> extra, std::string* out) {
  std::vector<std::string> args = {Binary("tools/whistle-city"), "--data=" + dir.Sub("city"), "--reporters=1",
                                   "--reports-per-day=20000"};
  args.insert(args.end(), extra.begin(), extra.end());
  int status = WaitFor(Spawn(args, dir.Sub("city.out"), /*merge_stderr=*/true));
  *out = ReadWholeFile(dir.Sub("city.out"));
  return status;
}

TEST_CASE("whistle-city that cannot start its gateway stops the dispatcher it started, and runs next time") {
  testing::TempDir dir;
  std::string out;
  {
    HeldPort taken;  // the console's port, taken: the gateway cannot listen
    CHECK(RunCity(dir, {"--duration-s=2", fmt::format("--console-port={}", taken.port())}, &out) == 1);
    CAPTURE(out);
    CHECK(out.find("the gateway did not start") != std::string::npos);
  }
  // A dispatcher left running would hold the store's lock: this run could not start its own.
  int status = RunCity(dir, {"--duration-s=3"}, &out);
  CAPTURE(out);
  CHECK(status == 0);
  CHECK(out.find("operations console: http://127.0.0.1:") != std::string::npos);
  CHECK(out.find("whistle-city report: city time ") != std::string::npos);
  CHECK(out.find("reporters sent ") != std::string::npos);
  CHECK(out.find(", unanswered 0") != std::string::npos);
  CHECK(out.find("ack latency of ") != std::string::npos);
  CHECK(out.find("dispatcher exited 0, gateway 0") != std::string::npos);
  CHECK(out.find("exited with an error") == std::string::npos);
}

TEST_CASE("whistle-city told to stop by SIGTERM stops its processes and says it was cut short") {
  testing::TempDir dir;
  pid_t city = Spawn({Binary("tools/whistle-city"), "--data=" + dir.Sub("city"), "--reporters=1",
                      "--duration-s=600"},
                     dir.Sub("city.out"), /*merge_stderr=*/true);
  testing::WaitUntilReady(&city, "whistle-city", [&] {
    return ReadWholeFile(dir.Sub("city.out")).find("operations console: ") != std::string::npos;
  });
  kill(city, SIGTERM);
  CHECK(WaitFor(city) == 1);
  std::string out = ReadWholeFile(dir.Sub("city.out"));
  CAPTURE(out);
  CHECK(out.find("whistle-city report: ") != std::string::npos);
  CHECK(out.find("dispatcher exited 0, gateway 0; cut short by a signal") != std::string::npos);
  // Nothing of it is left running: the next run takes the store.
  CHECK(RunCity(dir, {"--duration-s=1"}, &out) == 0);
}

}  // namespace
}  // namespace whistle
