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

#include <doctest/doctest.h>

#include "dispatcher/city_loader.h"
#include "tests/testing/test_city.h"
#include "tools/process.h"

namespace whistle::testing {

std::optional<pb::Response> SendRawFrames(zmq::context_t& context, const std::string& front,
                                          const std::vector<std::string>& frames,
                                          const ClientCredentials& credentials) {
  zmq::socket_t s(context, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  ApplyCredentials(s, credentials);
  s.connect(front);
  for (size_t i = 0; i < frames.size(); ++i) {
    s.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, std::chrono::milliseconds(10000));  // generous: CI machines are busy
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  zmq::message_t reply;
  (void)s.recv(reply, zmq::recv_flags::none);
  pb::Response r;
  if (!r.ParseFromArray(reply.data(), static_cast<int>(reply.size()))) {
    throw std::runtime_error("the dispatcher answered something that is not a whistle.pb.Response");
  }
  return r;
}

pb::Request WaterReport(const std::string& grid, const std::string& request_id) {
  pb::Request r;
  r.set_request_id(request_id);
  pb::Report* report = r.mutable_submit()->mutable_report();
  report->set_category("water");
  report->set_grid(grid);
  report->set_reporter("grid-worker-7");
  report->set_contact_phone("13900000000");
  return r;
}

pb::Response CallOk(Client& client, pb::Request r) {
  auto answer = client.Call(std::move(r));
  REQUIRE_MESSAGE(answer.ok(), answer.status().ToString());
  REQUIRE_MESSAGE(answer->code() == pb::STATUS_OK, answer->message());
  return *answer;
}

std::string Binary(const std::string& relative) { return std::string(WHISTLE_BUILD_DIR) + "/" + relative; }

void WaitUntilReady(pid_t* pid, const std::string& what, const std::function<bool()>& ready) {
  for (int i = 0; i < 2000; ++i) {
    if (ready()) return;
    int status;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      throw std::runtime_error(what + " exited during start-up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error(what + " was not ready within 20 s");
}

DispatcherProcess::DispatcherProcess(const pb::CityConfig& city, std::vector<std::string> extra_args,
                                     Auth auth)
    : extra_args_(std::move(extra_args)), auth_(auth) {
  std::ofstream(dir_.Sub("city.json")) << FormatCityConfig(city, ConfigFormat::kJson);
  Start();
}

DispatcherProcess::~DispatcherProcess() {
  if (running()) Kill();
}

void DispatcherProcess::Start() { StartOn("tcp://127.0.0.1:*", "tcp://127.0.0.1:*"); }

void DispatcherProcess::StartOnSamePorts() {
  if (front_.empty() || bus_.empty()) throw std::logic_error("StartOnSamePorts before a first Start");
  StartOn(front_, bus_);
}

void DispatcherProcess::StartOn(const std::string& front, const std::string& bus) {
  std::string endpoints = dir_.Sub("endpoints");
  std::filesystem::remove(endpoints);
  std::vector<std::string> args = {
      Binary("dispatcher/whistle-dispatcher"),
      auth_ == Auth::kKeys ? "--keys=" + keys_dir() : std::string("--dev-no-auth"),
      "--data=" + data_dir(),
      "--config=" + dir_.Sub("city.json"),
      "--front=" + front,
      "--bus=" + bus,
      "--endpoints-file=" + endpoints};
  front_.clear();  // a restart on new ports must never hand out the old ones
  bus_.clear();
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = whistle::Spawn(args, "");
  // The endpoints file is written after both sockets are bound, whole and renamed into place.
  WaitUntilReady(&pid_, "whistle-dispatcher", [&] { return whistle::ReadEndpoints(endpoints, &front_, &bus_); });
  metrics_url_.clear();
  std::ifstream lines(endpoints);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("metrics=")) metrics_url_ = line.substr(8);
  }
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
