// CURVE key pairs and key files: what the dispatcher and its clients need to open an
// authenticated, encrypted ZeroMQ connection (CurveZMQ, RFC 26; identity via ZAP, RFC 27).
//
// A key file is a pb::KeyFile in text format with mode 0600: the owner's key pair and, for a
// client, the dispatcher's public key. Secret keys are created where they are used and never sent:
// the dispatcher makes its own on first start, whistlectl makes a client's and sends only the
// public key in CreatePrincipal.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "whistle/keys.pb.h"
#include "whistle/status.h"

namespace whistle {

inline constexpr size_t kCurveKeyBytes = 32;
inline constexpr size_t kCurveKeyZ85Chars = 40;

// A fresh key pair, Z85-encoded. Start-up failure (no CURVE in libzmq) throws.
pb::KeyFile NewKeyPair(std::string name);
// The 32 raw bytes of a Z85 key, or BAD_REQUEST.
Result<std::string> DecodeZ85Key(std::string_view z85);
std::string EncodeZ85Key(std::string_view raw32);

// Reads and checks a key file (both keys decode; a client file has the server's key).
Result<pb::KeyFile> ReadKeyFile(const std::string& path);
// Writes a new key file whole, with mode 0600 (a temporary file, fsync, then renamed to `path`
// without replacing, or hard-linked there, and the directory synced). Never replaces a file
// already at `path`: a key file may be the only copy of a principal's secret. BAD_REQUEST then,
// naming it; UNAVAILABLE when the disk refuses (the file may then be there all the same).
Status WriteKeyFile(const std::string& path, const pb::KeyFile& key);

// The dispatcher's side of a socket: CURVE server with `key`, ZAP domain `domain`.
void MakeCurveServer(zmq::socket_t& socket, const pb::KeyFile& key, const std::string& domain);
// A client socket: CURVE client with its key pair and the dispatcher's public key.
// REQUIRES: key.server_public_key() is set.
void MakeCurveClient(zmq::socket_t& socket, const pb::KeyFile& key);

// The outcome of a socket's first handshake.
enum class Handshake { kSucceeded, kRefused, kTimedOut };
// Connects `socket` to `endpoint` and waits for its first handshake to finish, watching it with a
// socket monitor: kRefused when the server refused the key (ZAP) or the mechanism (a client
// without CURVE); a connection lost mid-handshake is waited out. A server refusing the mechanism
// often closes before the client has read its greeting (the client sees a lost connection and
// reconnects), so on a loaded machine that refusal can take several reconnect rounds (100 ms
// each) to be recognised. The dispatcher's start-up
// self-test, Client and the security tests use it.
Handshake ConnectAndAwaitHandshake(zmq::context_t& context, zmq::socket_t& socket,
                                   const std::string& endpoint, std::chrono::milliseconds timeout);

// Credentials a client connects with: none (a dispatcher in --dev-no-auth mode) or a key file.
using ClientCredentials = std::optional<pb::KeyFile>;
// A client's --key flag: "" = none; otherwise the key file, which must name the server's key.
Result<ClientCredentials> ReadCredentials(const std::string& key_file);
inline void ApplyCredentials(zmq::socket_t& socket, const ClientCredentials& credentials) {
  if (credentials) MakeCurveClient(socket, *credentials);
}

}  // namespace whistle
