#include "whistle/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

namespace whistle {

pb::KeyFile NewKeyPair(std::string name) {
  char public_key[kCurveKeyZ85Chars + 1];
  char secret_key[kCurveKeyZ85Chars + 1];
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    throw std::runtime_error(fmt::format("cannot make a CURVE key pair: {} (is libzmq built with "
                                         "libsodium?)", zmq_strerror(zmq_errno())));
  }
  pb::KeyFile key;
  key.set_name(std::move(name));
  key.set_public_key(public_key);
  key.set_secret_key(secret_key);
  return key;
}

Result<std::string> DecodeZ85Key(std::string_view z85) {
  if (z85.size() != kCurveKeyZ85Chars) {
    return BadRequest(fmt::format("a CURVE key is {} Z85 characters, not {}", kCurveKeyZ85Chars,
                                  z85.size()));
  }
  std::string text(z85);
  std::string raw(kCurveKeyBytes, '\0');
  if (zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), text.c_str()) == nullptr) {
    return BadRequest("a CURVE key must be Z85 text");
  }
  return raw;
}

std::string EncodeZ85Key(std::string_view raw32) {
  WHISTLE_CHECK(raw32.size() == kCurveKeyBytes, "a CURVE key is 32 bytes, not %zu", raw32.size());
  char text[kCurveKeyZ85Chars + 1];
  zmq_z85_encode(text, reinterpret_cast<const uint8_t*>(raw32.data()), raw32.size());
  return text;
}

Result<pb::KeyFile> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("cannot read key file {}: {}", path, std::strerror(errno)));
  std::stringstream text;
  text << in.rdbuf();
  pb::KeyFile key;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &key)) {
    return BadRequest(fmt::format("{} is not a whistle.pb.KeyFile in text format", path));
  }
  for (const auto& [field, value] : {std::pair{"public_key", key.public_key()},
                                     std::pair{"secret_key", key.secret_key()}}) {
    if (auto raw = DecodeZ85Key(value); !raw.ok()) {
      return BadRequest(fmt::format("{}: {}: {}", path, field, raw.status().message()));
    }
  }
  if (!key.server_public_key().empty()) {
    if (auto raw = DecodeZ85Key(key.server_public_key()); !raw.ok()) {
      return BadRequest(fmt::format("{}: server_public_key: {}", path, raw.status().message()));
    }
  }
  return key;
}

Status WriteKeyFile(const std::string& path, const pb::KeyFile& key) {
  std::string text;
  google::protobuf::TextFormat::PrintToString(key, &text);
  text = "# whistle CURVE key: keep secret (mode 0600)\n" + text;
  // A name of this process's own, created afresh: neither a leftover nor a planted link is written
  // through.
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  // Renamed into place without replacing what is there: the whole file appears, or nothing does.
  // Where the filesystem does not know that flag (NFS), a hard link does the same.
  bool linked = false;
  if (ok) {
    linked = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0;
    if (!linked && (errno == EINVAL || errno == ENOSYS)) linked = ::link(tmp.c_str(), path.c_str()) == 0;
    if (!linked) saved = errno;
  }
  ::unlink(tmp.c_str());  // gone already when renamed
  if (!linked && saved == EEXIST) {
    return BadRequest(fmt::format("{} exists: a new key goes to a new file, and this one is kept", path));
  }
  if (!linked) return Unavailable(fmt::format("cannot write {}: {}", path, std::strerror(saved)));
  // The new name lasts through a power cut only once its directory is synced: a first start must
  // not keep the admin's principal in the store and lose the admin's key file.
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    saved = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    return Unavailable(fmt::format("{} is written, but its directory could not be synced: {}", path,
                                   std::strerror(saved)));
  }
  ::close(dir_fd);
  return Status::Ok();
}

Result<ClientCredentials> ReadCredentials(const std::string& key_file) {
  if (key_file.empty()) return ClientCredentials();
  auto key = ReadKeyFile(key_file);
  if (!key.ok()) return key.status();
  if (key->server_public_key().empty()) {
    return BadRequest(fmt::format("{} has no server_public_key: it is not a client's key file", key_file));
  }
  return ClientCredentials(std::move(key).value());
}

void MakeCurveServer(zmq::socket_t& socket, const pb::KeyFile& key, const std::string& domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, key.secret_key());
  socket.set(zmq::sockopt::zap_domain, domain);
}

void MakeCurveClient(zmq::socket_t& socket, const pb::KeyFile& key) {
  WHISTLE_CHECK(!key.server_public_key().empty(), "key '%s' has no server_public_key",
                key.name().c_str());
  socket.set(zmq::sockopt::curve_serverkey, key.server_public_key());
  socket.set(zmq::sockopt::curve_publickey, key.public_key());
  socket.set(zmq::sockopt::curve_secretkey, key.secret_key());
}

Handshake ConnectAndAwaitHandshake(zmq::context_t& context, zmq::socket_t& socket,
                                   const std::string& endpoint, std::chrono::milliseconds timeout) {
  static std::atomic<uint64_t> monitors{0};
  std::string address = fmt::format("inproc://whistle-handshake-monitor-{}", monitors.fetch_add(1));
  constexpr int kEvents = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                          ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
  if (zmq_socket_monitor(socket.handle(), address.c_str(), kEvents) != 0) {
    throw zmq::error_t();
  }
  zmq::socket_t events(context, zmq::socket_type::pair);
  events.set(zmq::sockopt::linger, 0);
  events.connect(address);
  socket.connect(endpoint);
  Handshake outcome = Handshake::kTimedOut;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (outcome == Handshake::kTimedOut) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    zmq::pollitem_t item{events.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, left);
    if (!(item.revents & ZMQ_POLLIN)) continue;
    zmq::message_t event, where;
    (void)events.recv(event, zmq::recv_flags::none);
    if (event.more()) (void)events.recv(where, zmq::recv_flags::none);
    if (event.size() < 2) continue;
    uint16_t id;
    std::memcpy(&id, event.data(), sizeof id);
    // NO_DETAIL is also what a connection lost mid-handshake reports (a dispatcher restarting):
    // the socket reconnects by itself, so keep watching.
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) continue;
    outcome = id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED ? Handshake::kSucceeded : Handshake::kRefused;
  }
  zmq_socket_monitor(socket.handle(), nullptr, 0);
  return outcome;
}

}  // namespace whistle
