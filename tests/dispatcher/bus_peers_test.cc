// BusPeers on real loopback TCP connections: a connection is cut only while its descriptor still
// joins the two ends it had when its subscription was recorded.
#include "dispatcher/bus_peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <doctest/doctest.h>

namespace whistle {
namespace {

// A listening socket on 127.0.0.1 and an ephemeral port.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t size = sizeof address_;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &size) == 0);
  }
  ~Listener() { ::close(fd_); }

  // A connection to the listener: the client's descriptor and the accepted one.
  struct Connection {
    int client = -1;
    int server = -1;
  };
  Connection Connect() {
    Connection c;
    c.client = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(c.client >= 0);
    REQUIRE(::connect(c.client, reinterpret_cast<const sockaddr*>(&address_), sizeof address_) == 0);
    c.server = ::accept(fd_, nullptr, nullptr);
    REQUIRE(c.server >= 0);
    return c;
  }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

// True when the peer has shut the connection down: a read sees its end, not "nothing yet".
bool PeerShutDown(int client) {
  char byte;
  return ::recv(client, &byte, 1, MSG_DONTWAIT) == 0;
}

bool StillOpen(int client) {
  char byte;
  return ::recv(client, &byte, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

auto KeepNone = [](const std::string&) { return false; };

TEST_CASE("a revoked principal's bus connection is shut down, another's is left alone") {
  Listener listener;
  auto alice = listener.Connect();
  auto bob = listener.Connect();
  BusPeers peers;
  CHECK(peers.Record(alice.server, "alice", "127.0.0.1"));
  CHECK(peers.Record(bob.server, "bob", "127.0.0.1"));
  CHECK(peers.size() == 2);

  CHECK(peers.CutUnless([](const std::string& p) { return p != "alice"; }) == 1);
  CHECK(PeerShutDown(alice.client));
  CHECK(StillOpen(bob.client));
  CHECK(peers.size() == 1);  // alice's entry is gone with her connection
  CHECK(peers.CutUnless([](const std::string& p) { return p != "alice"; }) == 0);
  CHECK(StillOpen(bob.client));
  for (int fd : {alice.client, alice.server, bob.client, bob.server}) ::close(fd);
}

TEST_CASE("a subscription whose connection is gone, or came from another address, is not recorded") {
  Listener listener;
  auto c = listener.Connect();
  BusPeers peers;
  CHECK_FALSE(peers.Record(c.server, "alice", "10.1.2.3"));  // the descriptor joins another peer
  CHECK_FALSE(peers.Record(-1, "alice", "127.0.0.1"));       // an inproc peer has no descriptor
  ::close(c.server);
  CHECK_FALSE(peers.Record(c.server, "alice", "127.0.0.1"));  // closed
  CHECK(peers.size() == 0);
  ::close(c.client);
}

TEST_CASE("a descriptor reused by another connection is forgotten, not cut") {
  Listener listener;
  auto first = listener.Connect();
  BusPeers peers;
  REQUIRE(peers.Record(first.server, "alice", "127.0.0.1"));
  const int fd = first.server;
  ::close(first.server);
  ::close(first.client);
  // The lowest free descriptor: the one alice's connection had.
  auto second = listener.Connect();
  REQUIRE(second.server == fd);

  CHECK(peers.CutUnless(KeepNone) == 0);
  CHECK(StillOpen(second.client));
  CHECK(peers.size() == 0);
  ::close(second.server);
  ::close(second.client);
}

TEST_CASE("Forget drops an entry once its connection has closed, and keeps one still connected") {
  Listener listener;
  auto c = listener.Connect();
  BusPeers peers;
  REQUIRE(peers.Record(c.server, "alice", "127.0.0.1"));
  peers.Forget(c.server);  // a DISCONNECTED read late, of an earlier connection on that number
  CHECK(peers.size() == 1);
  ::close(c.server);
  peers.Forget(c.server);
  CHECK(peers.size() == 0);
  peers.Forget(12345);  // never recorded
  ::close(c.client);
}

}  // namespace
}  // namespace whistle
