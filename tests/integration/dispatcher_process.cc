#include "tests/integration/dispatcher_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "dispatcher/city_loader.h"
#include "tests/testing/test_city.h"
#include "tools/process.h"

namespace whistle::testing {

std::string Binary(const std::string& relative) { return std::string(WHISTLE_BUILD_DIR) + "/" + relative; }

DispatcherProcess::DispatcherProcess(const pb::CityConfig& city, std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  std::ofstream(dir_.Sub("city.json")) << FormatCityConfig(city, ConfigFormat::kJson);
  Start();
}

DispatcherProcess::~DispatcherProcess() {
  if (running()) Kill();
}

void DispatcherProcess::Start() {
  std::string endpoints = dir_.Sub("endpoints");
  std::filesystem::remove(endpoints);
  front_.clear();  // a restart binds new ports: never hand out the old ones
  bus_.clear();
  std::vector<std::string> args = {
      Binary("dispatcher/whistle-dispatcher"),
      "--dev-no-auth",
      "--data=" + data_dir(),
      "--config=" + dir_.Sub("city.json"),
      "--front=tcp://127.0.0.1:*",
      "--bus=tcp://127.0.0.1:*",
      "--endpoints-file=" + endpoints};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = whistle::Spawn(args, "");
  // Wait for the endpoints file (written after both sockets are bound), at most 20 s.
  for (int i = 0; i < 2000; ++i) {
    // The file is written whole and renamed into place, so a complete read is the whole file.
    if (whistle::ReadEndpoints(endpoints, &front_, &bus_)) return;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("whistle-dispatcher exited during start-up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("whistle-dispatcher did not bind within 20 s");
}

void DispatcherProcess::Kill() {
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int DispatcherProcess::Terminate() {
  kill(pid_, SIGTERM);
  int status = WaitFor(pid_);
  pid_ = -1;
  return status;
}

}  // namespace whistle::testing
