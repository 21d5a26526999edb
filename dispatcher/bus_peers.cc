#include "dispatcher/bus_peers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace whistle {
namespace {

// The address part of `a` as text ("127.0.0.1", "::1"), as libzmq writes Peer-Address; "" for
// other families (an ipc:// peer has none).
std::string IpOf(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text, sizeof text);
  }
  return text;
}

}  // namespace

bool BusPeers::Ends::operator==(const Ends& other) const {
  return local_size == other.local_size && peer_size == other.peer_size &&
         std::memcmp(&local, &other.local, local_size) == 0 && std::memcmp(&peer, &other.peer, peer_size) == 0;
}

bool BusPeers::ReadEnds(int fd, Ends* out) {
  if (fd < 0) return false;
  out->local_size = sizeof out->local;
  out->peer_size = sizeof out->peer;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&out->local), &out->local_size) == 0 &&
         getpeername(fd, reinterpret_cast<sockaddr*>(&out->peer), &out->peer_size) == 0;
}

void BusPeers::Accept(int fd) {
  Ends ends;
  if (!ReadEnds(fd, &ends)) return;
  auto it = peers_.find(fd);
  if (it != peers_.end() && it->second.ends == ends) return;  // known already, maybe named
  peers_[fd] = Peer{"", ends};
}

bool BusPeers::Record(int fd, const std::string& principal, std::string_view peer_ip) {
  // A subscription again on a connection already named: nothing to read (verbose passes each).
  auto it = peers_.find(fd);
  if (it != peers_.end() && !principal.empty() && it->second.principal == principal) return true;
  Ends ends;
  if (!ReadEnds(fd, &ends) || IpOf(ends.peer) != peer_ip) return false;
  peers_[fd] = Peer{principal, ends};
  return true;
}

size_t BusPeers::CutUnless(const std::function<bool(const std::string& principal)>& keep) {
  size_t cut = 0;
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (!it->second.principal.empty() && keep(it->second.principal)) {
      ++it;
      continue;
    }
    Ends now;
    if (ReadEnds(it->first, &now) && now == it->second.ends && shutdown(it->first, SHUT_RDWR) == 0) ++cut;
    it = peers_.erase(it);
  }
  return cut;
}

void BusPeers::Forget(int fd) {
  auto it = peers_.find(fd);
  if (it == peers_.end()) return;
  Ends now;
  if (!ReadEnds(fd, &now) || !(now == it->second.ends)) peers_.erase(it);
}

}  // namespace whistle
