// Server: the dispatcher on ZeroMQ. One engine thread (the caller of Run) owns the engine.
//
//   front door  ROUTER  request/reply: each message one pb::Request, answered by one pb::Response
//                       carrying the request's correlation id
//   bus         PUB     [topic, pb::Notification] for every committed record, in sequence order
//
// Each turn of the loop: wait for requests or the next timer; drain what is waiting (bounded);
// apply it as ONE engine batch (one synced write); send the replies; publish the records.
// Bad frames (not a Request, too large) are answered BAD_REQUEST / TOO_LARGE at once and never
// reach the engine. Overload: a turn takes at most `max_batch` requests into its batch; when more
// are waiting, it reads up to `busy_window` of them too, answers the Submits among them BUSY at
// once (the client retries with the same request id) and keeps the rest in the batch: claims,
// progress, resolves and timers are never shed, and nothing is dropped silently.
//
// Topics: "all" (every record), "d/<department>" (records of events the department is offered,
// leads or assists), "r/<region code>" (events in the region: grid, community, street, county,
// city), "e/<event id>". A subscriber that sees a gap in sequence numbers, or starts
// late, reads what it missed through the front door (LogQuery).
//
// Threading: Run() on one thread; Stop() from any thread or a signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "dispatcher/engine.h"
#include "whistle/status.h"

namespace whistle {

struct ServerOptions {
  std::string front_endpoint = "tcp://127.0.0.1:5570";
  std::string bus_endpoint = "tcp://127.0.0.1:5571";
  size_t max_request_bytes = 64 * 1024;  // larger requests get TOO_LARGE
  size_t max_batch = 512;                // requests applied in one batch
  size_t busy_window = 4096;             // requests read past a full batch; their Submits get BUSY
  // Without authentication (the Security issue), every request acts as this principal.
  std::string dev_principal = "dev";
};

class Server {
 public:
  // Binds both sockets. REQUIRES: `engine` outlives the server.
  static Result<std::unique_ptr<Server>> Start(zmq::context_t& context, Engine& engine,
                                               ServerOptions options);
  // The endpoints actually bound (a ":*" port resolved to the one the OS chose).
  const std::string& front_endpoint() const { return front_endpoint_; }
  const std::string& bus_endpoint() const { return bus_endpoint_; }

  // Serves until Stop(): finishes the batch in hand, then returns. Returns the engine's health
  // (not OK when a write failed and the engine stopped).
  Status Run();
  void Stop() { stop_.store(true); }

 private:
  Server(zmq::context_t& context, Engine& engine, ServerOptions options);
  void Turn();
  void Publish();

  Engine& engine_;
  ServerOptions options_;
  zmq::socket_t front_;
  zmq::socket_t bus_;
  std::string front_endpoint_;
  std::string bus_endpoint_;
  std::atomic<bool> stop_{false};
};

}  // namespace whistle
