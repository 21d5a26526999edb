// ZapHandler: the dispatcher's ZeroMQ authentication handler (ZAP, RFC 27).
//
// Every server socket of the dispatcher is a CURVE server with the ZAP domain "whistle"; during
// each handshake libzmq asks the handler on inproc://zeromq.zap.01 whether the client's public
// key may in. A key is let in when it belongs to an active principal, whose name becomes the
// connection's User-Id: the server reads the principal of every request from that property,
// never from anything the client sends. Anything else is refused: unknown and revoked keys,
// another mechanism (NULL, PLAIN), another domain.
//
// libzmq lets a CURVE client in without asking anyone when no handler is bound, so the server
// also proves at start that an unknown key is refused (Server::Start) before serving.
//
// Threading: the handler answers on a thread of its own; SetKeys may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include <zmq.hpp>

#include "whistle/status.h"

namespace whistle {

inline constexpr char kZapDomain[] = "whistle";

class ZapHandler {
 public:
  // Binds the ZAP endpoint in `context` and starts answering. UNAVAILABLE when it cannot bind
  // (another handler in the same context).
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t& context);
  ~ZapHandler();  // stops the thread

  // The keys let in from now on: raw 32-byte CURVE public key -> principal name.
  void SetKeys(std::unordered_map<std::string, std::string> keys);

  uint64_t accepted() const { return accepted_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  explicit ZapHandler(zmq::context_t& context);
  void Run();
  // The reply's status code, status text and user id for one request's frames.
  struct Verdict {
    const char* code;
    std::string text;
    std::string user_id;
  };
  Verdict Judge(const std::vector<zmq::message_t>& request);

  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::unordered_map<std::string, std::string> keys_;  // guarded by mu_
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace whistle
