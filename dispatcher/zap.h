// ZapHandler: the dispatcher's ZeroMQ authentication handler (ZAP, RFC 27).
//
// Both server sockets of the dispatcher are CURVE servers, the front door with the ZAP domain
// "whistle" and the bus with "whistle-bus"; during each handshake libzmq asks the handler on
// inproc://zeromq.zap.01 whether the client's public key may in. A key is let in when it belongs
// to an active principal, whose name becomes the connection's User-Id: the server reads the
// principal of every request from that property, never from anything the client sends. On the
// bus only a principal whose role may read the log (LogQuery) is let in: the bus is the log, live.
// Anything else is refused: unknown and revoked keys, a role the bus is not for, another
// mechanism (NULL, PLAIN), another domain.
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

inline constexpr char kZapDomain[] = "whistle";         // the front door
inline constexpr char kBusZapDomain[] = "whistle-bus";  // the bus

// A key the handler lets in: whose it is, and whether it may subscribe to the bus.
struct ZapKey {
  std::string principal;
  bool may_subscribe = false;
};

class ZapHandler {
 public:
  // Binds the ZAP endpoint in `context` and starts answering. UNAVAILABLE when it cannot bind
  // (another handler in the same context).
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t& context);
  ~ZapHandler();  // stops the thread

  // The keys let in from now on, by raw 32-byte CURVE public key.
  void SetKeys(std::unordered_map<std::string, ZapKey> keys);

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
  std::unordered_map<std::string, ZapKey> keys_;  // guarded by mu_
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace whistle
