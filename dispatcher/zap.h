// ZapHandler: the dispatcher's ZeroMQ authentication handler (ZAP, RFC 27).
//
// Both server sockets of the dispatcher are CURVE servers, the front door with the ZAP domain
// "whistle" and the bus with "whistle-bus"; during each handshake libzmq asks the handler on
// inproc://zeromq.zap.01 whether the client's public key may in. A key is let in when it belongs
// to an active principal, whose name becomes the connection's User-Id: the server reads the
// principal of every request from that property, never from anything the client sends. On the
// bus only a principal that reads the whole log is let in (MaySubscribe, authorization.h): the
// bus is the log, live, and cannot withhold a record from one subscriber.
// Anything else is refused: unknown and revoked keys, a principal the bus is not for, another
// mechanism (NULL, PLAIN), another domain.
//
// libzmq lets a CURVE client in without asking anyone when no handler is bound, so the server
// also proves at start that an unknown key is refused (Server::Start) before serving.
//
// Threading: the handler answers on a thread of its own; SetKeys may be called from any thread.
// `on_refused` is called on the handler's thread, for each handshake refused.
#pragma once

#include <atomic>
#include <functional>
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
  // (another handler in the same context). `on_refused(bus)` hears of every handshake refused,
  // on the bus (true) or elsewhere (false); it must outlive the handler.
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t& context,
                                                   std::function<void(bool bus)> on_refused = {});
  ~ZapHandler();  // stops the thread

  // The keys let in from now on, by raw 32-byte CURVE public key.
  void SetKeys(std::unordered_map<std::string, ZapKey> keys);

 private:
  explicit ZapHandler(zmq::context_t& context);
  void Run();
  // The reply's status code, status text and user id for one request's frames.
  struct Verdict {
    const char* code;
    std::string text;
    std::string user_id;
    bool bus = false;  // asked for the bus's domain
  };
  Verdict Judge(const std::vector<zmq::message_t>& request);

  zmq::socket_t socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::unordered_map<std::string, ZapKey> keys_;  // guarded by mu_
  std::function<void(bool bus)> on_refused_;
};

}  // namespace whistle
