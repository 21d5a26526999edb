// BusPeers on real loopback TCP connections: what is cut at a revocation, and that a connection is
// cut only while its descriptor still joins the two ends it had when it was recorded.
#include "dispatcher/bus_peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include <doctest/doctest.h>

namespace whistle {
namespace {

// A descriptor closed when it goes out of scope (also when a REQUIRE ends the test early).
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// A listening socket on 127.0.0.1 and an ephemeral port.
class Listener {
 public:
  Listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_.get() >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_.get(), 8) == 0);
    socklen_t size = sizeof address_;
    REQUIRE(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address_), &size) == 0);
  }

  // A connection to the listener: the client's end and the accepted one.
  struct Connection {
    Fd client;
    Fd server;
  };
  Connection Connect() {
    Connection c;
    c.client.Reset(::socket(AF_INET, SOCK_STREAM, 0));
    REQUIRE(c.client.get() >= 0);
    REQUIRE(::connect(c.client.get(), reinterpret_cast<const sockaddr*>(&address_), sizeof address_) == 0);
    c.server.Reset(::accept(fd_.get(), nullptr, nullptr));
    REQUIRE(c.server.get() >= 0);
    return c;
  }

 private:
  Fd fd_;
  sockaddr_in address_{};
};

// True when the peer shut the connection down: within 5 s a read sees its end.
bool PeerShutDown(const Fd& client) {
  pollfd p{client.get(), POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return false;
  char byte;
  return ::recv(client.get(), &byte, 1, MSG_DONTWAIT) == 0;
}

// True when the connection is still open and silent.
bool StillOpen(const Fd& client) {
  char byte;
  return ::recv(client.get(), &byte, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool KeepNone(const std::string&) { return false; }
bool KeepAllButAlice(const std::string& principal) { return principal != "alice"; }

TEST_CASE("a revoked principal's bus connection is shut down, another's is left alone") {
  Listener listener;
  auto alice = listener.Connect();
  auto bob = listener.Connect();
  BusPeers peers;
  peers.Accept(alice.server.get());
  peers.Accept(bob.server.get());
  CHECK(peers.Record(alice.server.get(), "alice", "127.0.0.1"));
  CHECK(peers.Record(bob.server.get(), "bob", "127.0.0.1"));
  CHECK(peers.Record(bob.server.get(), "bob", "127.0.0.1"));  // verbose: each subscription comes up
  CHECK(peers.size() == 2);

  CHECK(peers.CutUnless(KeepAllButAlice) == 1);
  CHECK(PeerShutDown(alice.client));
  CHECK(StillOpen(bob.client));
  CHECK(peers.size() == 1);  // alice's entry is gone with her connection
  CHECK(peers.CutUnless(KeepAllButAlice) == 0);
  CHECK(StillOpen(bob.client));
}

TEST_CASE("a connection accepted and not yet named by a subscription is cut at a revocation") {
  Listener listener;
  auto named = listener.Connect();
  auto unnamed = listener.Connect();
  BusPeers peers;
  peers.Accept(named.server.get());
  peers.Accept(unnamed.server.get());
  REQUIRE(peers.Record(named.server.get(), "bob", "127.0.0.1"));
  CHECK(peers.CutUnless(KeepAllButAlice) == 1);
  CHECK(PeerShutDown(unnamed.client));
  CHECK(StillOpen(named.client));
}

TEST_CASE("a subscription whose connection is gone, or came from another address, names nothing") {
  Listener listener;
  auto c = listener.Connect();
  BusPeers peers;
  CHECK_FALSE(peers.Record(c.server.get(), "alice", "10.1.2.3"));  // it joins another peer
  CHECK_FALSE(peers.Record(-1, "alice", "127.0.0.1"));             // no descriptor (inproc)
  CHECK(peers.size() == 0);
  peers.Accept(c.server.get());
  CHECK_FALSE(peers.Record(c.server.get(), "alice", "10.1.2.3"));
  CHECK(peers.size() == 1);  // still unnamed: cut at the next revocation
  const int fd = c.server.get();
  c.server.Reset();
  CHECK_FALSE(peers.Record(fd, "alice", "127.0.0.1"));  // closed
  CHECK(peers.size() == 1);
  peers.Accept(fd);  // an accept read after its close: ignored
  CHECK(peers.size() == 1);
  CHECK(peers.CutUnless(KeepNone) == 0);  // the unnamed entry's connection is gone: forgotten
  CHECK(peers.size() == 0);
}

TEST_CASE("an accept read after the connection's first subscription leaves it named") {
  Listener listener;
  auto c = listener.Connect();
  BusPeers peers;
  REQUIRE(peers.Record(c.server.get(), "bob", "127.0.0.1"));
  peers.Accept(c.server.get());
  CHECK(peers.CutUnless(KeepAllButAlice) == 0);  // bob's, so kept
  CHECK(StillOpen(c.client));
  CHECK(peers.size() == 1);
}

TEST_CASE("a descriptor reused by another connection is forgotten, not cut") {
  Listener listener;
  auto first = listener.Connect();
  auto second = listener.Connect();
  BusPeers peers;
  peers.Accept(first.server.get());
  REQUIRE(peers.Record(first.server.get(), "alice", "127.0.0.1"));
  // The first connection closes and its number goes to the second.
  REQUIRE(::dup2(second.server.get(), first.server.get()) == first.server.get());
  CHECK(peers.CutUnless(KeepNone) == 0);
  CHECK(StillOpen(second.client));
  CHECK(peers.size() == 0);
}

TEST_CASE("Forget drops an entry once its connection has closed, and keeps one still connected") {
  Listener listener;
  auto c = listener.Connect();
  BusPeers peers;
  peers.Accept(c.server.get());
  REQUIRE(peers.Record(c.server.get(), "alice", "127.0.0.1"));
  peers.Forget(c.server.get());  // read before libzmq closed it
  CHECK(peers.size() == 1);
  const int fd = c.server.get();
  c.server.Reset();
  peers.Forget(fd);
  CHECK(peers.size() == 0);
  peers.Forget(12345);  // never recorded
}

}  // namespace
}  // namespace whistle
