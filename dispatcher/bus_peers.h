// BusPeers: the bus's subscribed connections, by whose they are, so that one principal's can be
// cut off while the others' go on.
//
// A ZeroMQ PUB socket cannot drop one peer. The bus is an XPUB that hands every subscription up
// (ZMQ_XPUB_VERBOSE) with the connection's User-Id (the principal ZAP let in), its peer address
// and the descriptor it arrived on (ZMQ_SRCFD). Cut shuts that TCP connection down under libzmq
// (shutdown(2), never close: the descriptor stays libzmq's), which then sees the peer gone and
// closes it. The client reconnects, and the handshake's ZAP check refuses a revoked key. A send
// libzmq had under way fails with EPIPE, which it takes as the peer gone; the SIGPIPE that comes
// with it (libzmq sends without MSG_NOSIGNAL) stays pending on its I/O thread, which blocks every
// signal (seen with strace: 90 EPIPEs in 200 cuts under load, the process unharmed).
//
// A descriptor is only a number: by the time a subscription is read or a cut is due, its
// connection may have closed and the number gone to another. So each connection is remembered
// with both ends' addresses, read from the descriptor when its subscription is recorded (and
// checked against the subscription's own peer address), and a cut shuts a descriptor down only
// while it still joins the same two ends; an entry that no longer does is forgotten. What is left
// is the instant between that check and shutdown(2): a connection that closes and whose number is
// taken in it would be the one cut, and would reconnect.
//
// At most one entry a descriptor: the table is bounded by the process's open-file limit.
// Threading: one thread (the server's loop).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace whistle {

class BusPeers {
 public:
  // Remembers the connection on `fd` as `principal`'s, from a subscription it sent from
  // `peer_ip` (the message's Peer-Address). False, and nothing remembered, when `fd` is no
  // longer a connected socket from that address: the connection has gone already.
  bool Record(int fd, std::string principal, std::string_view peer_ip);

  // Shuts down every remembered connection whose principal `keep` says no to; returns how many
  // were cut. Entries whose descriptor no longer joins the same two ends are forgotten, not cut.
  size_t CutUnless(const std::function<bool(const std::string& principal)>& keep);

  // Forgets `fd`'s entry when the descriptor no longer joins its two ends (the connection closed:
  // a monitor's DISCONNECTED). An entry whose connection is still there is kept.
  void Forget(int fd);

  size_t size() const { return peers_.size(); }

 private:
  struct Ends {
    sockaddr_storage local{};
    socklen_t local_size = 0;
    sockaddr_storage peer{};
    socklen_t peer_size = 0;
    bool operator==(const Ends& other) const;
  };
  struct Peer {
    std::string principal;
    Ends ends;
  };
  // Both ends of the socket `fd`, or false when it is not a connected socket.
  static bool ReadEnds(int fd, Ends* out);

  std::unordered_map<int, Peer> peers_;
};

}  // namespace whistle
