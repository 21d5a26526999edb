// Making principals from a client: a key pair made on this machine, its key file written, and
// only the public key sent to the dispatcher (CreatePrincipal needs an admin's connection).
#pragma once

#include <string>

#include "agents/client.h"
#include "whistle/curve_keys.h"
#include "whistle/status.h"
#include "whistle/wire.pb.h"

namespace whistle {

// Registers `principal` (its public_key is filled in here) with a fresh key pair whose key file,
// naming `server_public_key`, is written to `key_path` before the request goes out; a file
// already there is never replaced (BAD_REQUEST, nothing sent). The file is removed when the
// dispatcher refuses (BUSY included); kept when the outcome is unknown (no answer, or UNAVAILABLE:
// repeat with the same request id and the key from the file). Returns the dispatcher's answer;
// `*sent`, when given, says whether the request went out at all (not when the file failed).
Result<pb::Response> CreatePrincipalWithKeyFile(Client& admin, const std::string& server_public_key,
                                                pb::Request request, const std::string& key_path,
                                                bool* sent = nullptr);

// For tools that set a city up: the principal's key file, with the principal registered. Reuses
// both when the file exists and the dispatcher knows its key as that principal's; otherwise makes
// them. FAILED when the name exists with another key.
Result<pb::KeyFile> EnsurePrincipal(Client& admin, const std::string& server_public_key,
                                    pb::Principal principal, const std::string& key_path);

}  // namespace whistle
