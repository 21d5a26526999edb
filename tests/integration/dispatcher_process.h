// DispatcherProcess: a real whistle-dispatcher child process on loopback ports the OS picks,
// with its own data directory and the test city. Kill() is kill -9; Terminate() is SIGTERM.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "agents/client.h"
#include "tests/testing/temp_dir.h"
#include "whistle/curve_keys.h"
#include "whistle/wire.pb.h"
#include "tests/testing/test_city.h"

namespace whistle::testing {

// Sends `frames` as one message on a fresh DEALER socket (CURVE with `credentials`, if any) and
// returns the answer, if one came within 10 s: for bad input a Client would never send.
std::optional<pb::Response> SendRawFrames(zmq::context_t& context, const std::string& front,
                                          const std::vector<std::string>& frames,
                                          const ClientCredentials& credentials = {});

// `r`'s answer from `client`, which must be OK (a doctest REQUIRE otherwise).
pb::Response CallOk(Client& client, pb::Request r);

// A Submit of a water report in `grid` by grid worker 7, with a contact phone (13900000000).
pb::Request WaterReport(const std::string& grid, const std::string& request_id = "");

// A binary of this build, e.g. Binary("agents/whistle-agent").
std::string Binary(const std::string& relative);

// Polls `ready` every 10 ms until it is true. Throws std::runtime_error naming `what` when the
// child `*pid` exits first (and sets *pid to -1) or 20 s pass.
void WaitUntilReady(pid_t* pid, const std::string& what, const std::function<bool()>& ready);

// How the dispatcher authenticates: --dev-no-auth, or CURVE keys in keys_dir() (the first start
// makes server.key and the first admin's admin.key there).
enum class Auth { kDevNoAuth, kKeys };

class DispatcherProcess {
 public:
  // Writes `city` as JSON and starts the dispatcher; waits until its endpoints are bound.
  explicit DispatcherProcess(const pb::CityConfig& city = TestCityConfig(),
                             std::vector<std::string> extra_args = {}, Auth auth = Auth::kDevNoAuth);
  ~DispatcherProcess();  // SIGKILL if still running

  void Start();             // (again) on the same data directory; new ports
  // Again on the ports of the last start, as a daemon with fixed endpoints restarts. The old
  // process must be gone (Kill or Terminate).
  void StartOnSamePorts();
  void Kill();              // SIGKILL, then reap
  int Terminate();          // SIGTERM, then reap; returns the exit status
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  const std::string& front() const { return front_; }
  const std::string& bus() const { return bus_; }
  // With --metrics-listen: "http://host:port/metrics"; "" otherwise.
  const std::string& metrics_url() const { return metrics_url_; }
  std::string data_dir() const { return dir_.Sub("data"); }
  std::string keys_dir() const { return dir_.Sub("keys"); }
  // Auth::kKeys: the first admin's key file.
  std::string admin_key() const { return keys_dir() + "/admin.key"; }

 private:
  void StartOn(const std::string& front, const std::string& bus);

  TempDir dir_;
  std::vector<std::string> extra_args_;
  Auth auth_;
  pid_t pid_ = -1;
  std::string front_, bus_, metrics_url_;
};

}  // namespace whistle::testing
