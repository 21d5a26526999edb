// BusPeers: the bus's TCP connections and whose each is, so that when principals are revoked
// their connections can be cut off while the others' go on.
//
// A ZeroMQ PUB socket cannot drop one peer. The bus is an XPUB that hands every subscription up
// (ZMQ_XPUB_VERBOSE) with the connection's User-Id (the principal ZAP let in), its peer address
// and the descriptor it arrived on (ZMQ_SRCFD, deprecated in libzmq 4.3 but there). Its socket
// monitor reports each connection accepted, by descriptor. So a connection is remembered from
// its accept, with no principal yet, and named by its first subscription.
//
// CutUnless shuts down every remembered connection that is not named for a principal to keep:
// the revoked principals' and the unnamed ones (still in their handshake, or let in but not
// subscribed; a subscription the server has not read yet may already be in libzmq's table, so
// an unnamed connection is not known to receive nothing). shutdown(2), never close: the
// descriptor stays libzmq's, which sees the peer gone and closes it. The client reconnects, and
// the handshake's ZAP check refuses a revoked key and lets the others in again. A send libzmq
// had under way fails with EPIPE, which it takes as the peer gone; the SIGPIPE that comes with it
// (libzmq sends without MSG_NOSIGNAL) stays pending on its I/O thread, which blocks every signal
// (seen with strace: 90 EPIPEs in 200 cuts under load, the process unharmed).
//
// A descriptor is only a number, and the server reads the monitor's events and the subscriptions
// some time after they happened: the connection may have closed and its number gone to another.
// So each connection is remembered with both its ends' addresses, read when its accept (or its
// subscription) is read, and shut down only while its descriptor still joins the same two ends;
// an entry that no longer does is forgotten. Where the number was reused before the event was
// read, the newer connection is the one remembered, and may be cut in the older one's place;
// then it reconnects. Or, from the same address (one host, one NAT), an older connection's last
// subscription may name the newer one: if that newer one's principal is revoked before its own
// subscription is read, it is not cut at the revocation, may hear the rest of one batch, and is
// cut when its subscription is read (docs/SECURITY.md, "Not covered").
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
  // A connection accepted on `fd` (the monitor's ACCEPTED), not named yet. Ignored when `fd` is
  // no longer a connected socket, or is that connection already (named by a subscription read
  // before its accept).
  void Accept(int fd);

  // Names the connection on `fd` as `principal`'s, from a subscription it sent from `peer_ip`
  // (the message's Peer-Address). False, and the connection left as it was, when `fd` is no
  // longer a connected socket from that address.
  bool Record(int fd, const std::string& principal, std::string_view peer_ip);

  // Shuts down every remembered connection that is unnamed or whose principal `keep` says no to;
  // returns how many were cut. Entries whose descriptor no longer joins the same two ends are
  // forgotten, not cut.
  size_t CutUnless(const std::function<bool(const std::string& principal)>& keep);

  // Forgets `fd`'s entry when the descriptor no longer joins its two ends (the monitor's
  // DISCONNECTED). Best effort: libzmq reports a disconnection before it closes the descriptor,
  // so an entry read at once is kept, to be replaced by the number's next accept or dropped by a
  // cut.
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
    std::string principal;  // "" until its first subscription is read
    Ends ends;
  };
  // Both ends of the socket `fd`, or false when it is not a connected socket.
  static bool ReadEnds(int fd, Ends* out);

  std::unordered_map<int, Peer> peers_;
};

}  // namespace whistle
